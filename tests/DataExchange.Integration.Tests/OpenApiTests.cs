using System.Text.Json;
using DataExchange.Integration.Tests.Infrastructure;
using Xunit;

namespace DataExchange.Integration.Tests;

/// <summary>Ingestion publishes an OpenAPI document describing its HTTP commands.</summary>
[Collection(MarketCollection.Name)]
public sealed class OpenApiTests(MarketFixture market)
{
    [Fact]
    public Task Ingestion_serves_an_openapi_document_with_its_commands() => market.Run(async () =>
    {
        using var http = new HttpClient { BaseAddress = new Uri(market.IngestionUrl) };
        using var response = await http.GetAsync("/openapi/v1.json");
        Assert.True(response.IsSuccessStatusCode, $"GET /openapi/v1.json answered {(int)response.StatusCode}");
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var paths = doc.RootElement.GetProperty("paths");
        foreach (var path in new[] { "/tasks", "/tasks/{taskId}", "/sellers", "/sellers/{sellerId}/observations" })
            Assert.True(paths.TryGetProperty(path, out _), $"the document has no path {path}");
        Assert.True(paths.GetProperty("/tasks").TryGetProperty("post", out var post));
        Assert.Equal("SubmitPredictionTask", post.GetProperty("operationId").GetString());
    });
}

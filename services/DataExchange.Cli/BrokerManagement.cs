using System.Net.Http.Headers;
using System.Text;

namespace DataExchange.Cli;

/// <summary>
/// RabbitMQ's management API as the operator's account reaches it: the credentials and vhost of the AMQP URI, the API at
/// --management (default: the URI's host, port DX_RABBIT_MGMT_PORT or 55673).
/// </summary>
public sealed class BrokerManagement : IDisposable
{
    public BrokerManagement(string amqpUri, string? managementUrl)
    {
        Amqp = new Uri(amqpUri);
        var userInfo = Uri.UnescapeDataString(Amqp.UserInfo);
        var path = Amqp.AbsolutePath.Trim('/');
        Vhost = path.Length == 0 ? "/" : Uri.UnescapeDataString(path);
        var api = managementUrl ?? $"http://{Amqp.Host}:{Environment.GetEnvironmentVariable("DX_RABBIT_MGMT_PORT") ?? "55673"}/";
        Http = new HttpClient { BaseAddress = new Uri(api), Timeout = TimeSpan.FromSeconds(15) };
        if (userInfo.Length > 0)
            Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(userInfo)));
    }

    public Uri Amqp { get; }
    public string Vhost { get; }
    public HttpClient Http { get; }
    public string VhostPath => Uri.EscapeDataString(Vhost);

    public static string Escape(string name) => Uri.EscapeDataString(name);

    public void Dispose() => Http.Dispose();
}

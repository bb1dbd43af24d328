using DataExchange.Contracts;
using DataExchange.Ingestion.Sellers;
using DataExchange.Ingestion.Tasks;
using DataExchange.ServiceDefaults;
using DataExchange.ServiceDefaults.Storage;
using JasperFx.Events.Projections;

var builder = WebApplication.CreateBuilder(args);
builder.AddMarketServiceDefaults(ServiceSchemas.Ingestion,
    store =>
    {
        store.Projections.Snapshot<Seller>(SnapshotLifecycle.Inline);
        store.Projections.Snapshot<BuyerTask>(SnapshotLifecycle.Inline);
    },
    bus =>
    {
        bus.AddConsumer<RegisterSellerConsumer>();
        bus.AddConsumer<AppendFeatureObservationsConsumer>();
        bus.AddBatchConsumer<SubmitPredictionTaskConsumer, SubmitPredictionTask>(ServiceSchemas.Ingestion);
    });
builder.Services.AddScoped<SellerCommands>();
builder.Services.AddScoped<SubmitTaskHandler>();
builder.Services.AddOpenApi();
builder.Services.AddProblemDetails();
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.NumberHandling |= System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals);

var app = builder.Build();
app.MapMarketDefaults();
app.MapOpenApi();
app.MapSellerEndpoints();
app.MapTaskEndpoints();
app.Run();

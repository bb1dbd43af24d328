using System.Diagnostics;
using DataExchange.Contracts;
using DataExchange.Mechanism;
using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using Marten;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace DataExchange.ServiceDefaults;

/// <summary>
/// Everything a DataExchange service shares: its own Marten schema with an event forwarder to the bus, MassTransit
/// on RabbitMQ with retries and endpoint names prefixed by the service, OpenTelemetry, and health endpoints.
/// A service's Program.cs is then the list of what it hosts.
/// </summary>
public static class MarketServiceDefaults
{
    /// <param name="service">The service's name: its Marten schema, its queue prefix and its telemetry name.</param>
    /// <param name="configureStore">Documents and projections of the service.</param>
    /// <param name="configureBus">Consumers of the service.</param>
    public static WebApplicationBuilder AddMarketServiceDefaults(this WebApplicationBuilder builder, string service,
        Action<StoreOptions>? configureStore = null, Action<IBusRegistrationConfigurator>? configureBus = null)
    {
        var settings = MarketSettings.From(builder.Configuration, service);
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton<MarketMetrics>();
        builder.Services.AddSingleton(ParticipantKeys.From(builder.Configuration));
        builder.Services.AddSingleton(Resilience.ConcurrencyRetry());
        builder.Services.AddSingleton<Replicas.SellerSeriesStore>();

        var dispatcher = new CommittedEventDispatcher();
        builder.Services.AddSingleton(dispatcher);
        builder.Services.AddMarten(opts =>
            {
                Storage.MarketStore.Configure(opts, settings.Postgres, service);
                opts.Listeners.Add(dispatcher);
                opts.Schema.For<RevokedParticipant>();
                opts.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
                if (otlp) opts.OpenTelemetry.TrackConnections = JasperFx.OpenTelemetry.TrackLevel.Normal;
                configureStore?.Invoke(opts);
            })
            .UseLightweightSessions()
            .ApplyAllDatabaseChangesOnStartup()
            .AddSubscriptionWithServices<EventForwarder>(ServiceLifetime.Singleton, o =>
            {
                o.Name = "bus-forwarder";
                o.Options.BatchSize = 500;
            })
            .AddAsyncDaemon(DaemonMode.HotCold);

        builder.Services.AddHostedService<TopologyDeclaration>();
        builder.Services.AddMassTransit(x =>
        {
            x.SetEndpointNameFormatter(new KebabCaseEndpointNameFormatter(service, false));
            x.AddConsumer<ParticipantRevokedConsumer>();
            configureBus?.Invoke(x);
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(new Uri(settings.RabbitMq));
                BusJson.Configure(cfg);
                cfg.PrefetchCount = settings.Prefetch;
                // Transient faults (a conflicting write, a dropped connection) are retried in process; what still
                // fails lands in the endpoint's _error queue with its exception.
                cfg.UseMessageRetry(r =>
                {
                    // About two minutes in all: long enough for a replica to catch up with the seller events it waits for.
                    r.Exponential(16, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200));
                    r.Ignore<PermanentFailureException>();
                });
                cfg.ConfigureEndpoints(context);
            });
        });

        builder.Services.AddHostedService<DispatcherAttachment>();
        builder.Services.AddHostedService<RevocationLoader>();
        builder.Services.AddHealthChecks();
        AddTelemetry(builder, service, otlp);
        return builder;
    }

    private static void AddTelemetry(WebApplicationBuilder builder, string service, bool otlp)
    {
        if (!otlp)
        {
            // Nothing is exported, but the trace must still run from service to service (each event records the trace
            // of what caused it): activities are created for propagation only, unrecorded, without the SDK. Recording
            // every span and metric that nobody exports cost about a tenth of the services' CPU time in a burst.
            // The meters still count (dotnet-counters reads them without an exporter).
            PropagationOnly.Start();
            return;
        }
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(builder.Configuration["OTEL_SERVICE_NAME"] ?? $"dataexchange-{service}"))
            .WithTracing(t => t
                .AddSource("MassTransit", MarketTelemetry.SourceName, "Marten", "Npgsql")
                .AddAspNetCoreInstrumentation(o => o.Filter = ctx => !ctx.Request.Path.StartsWithSegments("/health"))
                .AddHttpClientInstrumentation()
                .AddOtlpExporter())
            .WithMetrics(m => m
                .AddMeter("MassTransit", "Marten", MarketTelemetry.SourceName)
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddOtlpExporter());
    }

    /// <summary>
    /// Without an exporter: the bus's, the market's and ASP.NET Core's activities exist (so W3C context flows through
    /// messages, requests and the events' headers) but record no data.
    /// </summary>
    private static class PropagationOnly
    {
        private static ActivityListener? _listener;

        public static void Start()
        {
            if (_listener is not null) return;
            _listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name is "MassTransit" or MarketTelemetry.SourceName or "Microsoft.AspNetCore",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
                SampleUsingParentId = (ref ActivityCreationOptions<string> _) => ActivitySamplingResult.PropagationData,
            };
            ActivitySource.AddActivityListener(_listener);
        }
    }

    /// <summary>/health/live answers while the process runs; /health/ready once the bus and the store are reachable.</summary>
    public static WebApplication MapMarketDefaults(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready");
        return app;
    }
}

/// <summary>How the services batch: many messages per transaction is what keeps the database from being the bottleneck.</summary>
public static class MarketBatches
{
    /// <summary>
    /// How long a partial batch waits for more messages. Batches form from the load itself: what arrived (and was
    /// prefetched) while the previous batch worked is taken at once, so a lone task does not wait and a burst still
    /// fills its batches. (A fixed 20 ms window had cost every hop of a lone task 20 ms.)
    /// </summary>
    public static readonly TimeSpan TimeLimit = TimeSpan.FromMilliseconds(1);

    /// <summary>Batch options for a consumer of <c>Batch&lt;T&gt;</c>: up to 32 messages or TimeLimit, whichever first, two batches at a time.</summary>
    public static void Configure(BatchOptions o) => Configure(o, messageLimit: 32, concurrency: 2);

    public static void Configure(BatchOptions o, int messageLimit, int concurrency) =>
        o.SetMessageLimit(messageLimit).SetTimeLimit(TimeLimit).SetConcurrencyLimit(concurrency);
}

/// <summary>Where a service finds its servers, and the market's parameters (section "Market").</summary>
public sealed record MarketSettings(string Service, string Postgres, string RabbitMq, ushort Prefetch, MarketParameters Parameters)
{
    public static MarketSettings From(IConfiguration configuration, string service)
    {
        var postgres = configuration.GetConnectionString("Postgres") ?? configuration["DX_POSTGRES"]
            ?? throw new InvalidOperationException("ConnectionStrings:Postgres (or DX_POSTGRES) is not set.");
        var rabbit = configuration.GetConnectionString("RabbitMq") ?? configuration["DX_RABBITMQ"]
            ?? throw new InvalidOperationException("ConnectionStrings:RabbitMq (or DX_RABBITMQ) is not set.");
        var market = configuration.GetSection("Market");
        var defaults = MarketParameters.Default;
        var parameters = new MarketParameters
        {
            ExpectedTasks = market.GetValue("ExpectedTasks", defaults.ExpectedTasks),
            ShapleyPermutations = market.GetValue("ShapleyPermutations", defaults.ShapleyPermutations),
            RobustnessLambda = market.GetValue("RobustnessLambda", defaults.RobustnessLambda),
            RidgeAlpha = market.GetValue("RidgeAlpha", defaults.RidgeAlpha),
            IntegralPoints = market.GetValue("IntegralPoints", defaults.IntegralPoints),
            MarketFeeRate = market.GetValue("FeeRate", defaults.MarketFeeRate),
            ExactShapley = market.GetValue("ExactShapley", defaults.ExactShapley),
            PayoutRule = market.GetValue<string?>("PayoutRule") is { } rule ? PayoutRules.Parse(rule) : defaults.PayoutRule,
            SimilarityThreshold = market.GetValue("SimilarityThreshold", defaults.SimilarityThreshold),
            Allocation = market.GetValue<string?>("Allocation") is { } allocation ? SettingNames.Parse<AllocationKind>(allocation, "Market:Allocation") : defaults.Allocation,
            TaskKind = market.GetValue<string?>("TaskKind") is { } kind ? SettingNames.Parse<TaskKind>(kind, "Market:TaskKind") : defaults.TaskKind,
            Similarity = market.GetValue<string?>("Similarity") is { } similarity ? SettingNames.Parse<SimilarityKind>(similarity, "Market:Similarity") : defaults.Similarity,
            ShapleyTarget = market.GetValue<double?>("ShapleyEpsilon") is { } eps
                ? new ShapleyAccuracy(eps, market.GetValue("ShapleyDelta", 0.1)) : null,
        }.Validate();
        return new MarketSettings(service, postgres, rabbit, configuration.GetValue<ushort>("Bus:Prefetch", 64), parameters);
    }

    /// <summary>The price grid terms every service derives the same grid from.</summary>
    public PriceGridTerms GridTerms => new(Parameters.MinPrice, Parameters.MaxPrice, Parameters.Lipschitz, Parameters.ExpectedTasks);
}

/// <summary>Bus serialisation shared by services and clients.</summary>
public static class BusJson
{
    /// <summary>
    /// Non-finite numbers travel as "NaN"/"Infinity" instead of failing the sender's serialiser, so the market can
    /// refuse them with a reason naming the field (a buyer's bug must become a TaskRejected, not a lost message).
    /// Bodies are written compact, not indented (MassTransit's default): a series of 400 numbers one per indented
    /// line is half whitespace, which every hop wrote, sent, stored in the broker and read past again.
    /// </summary>
    public static void Configure(IBusFactoryConfigurator cfg) => cfg.ConfigureJsonSerializerOptions(o =>
    {
        o.NumberHandling |= System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals;
        o.WriteIndented = false;
        return o;
    });
}

/// <summary>Names of the market's own telemetry.</summary>
public static class MarketTelemetry
{
    public const string SourceName = "DataExchange";
    public static readonly ActivitySource Source = new(SourceName);
}

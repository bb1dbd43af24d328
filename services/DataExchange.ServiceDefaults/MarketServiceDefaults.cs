using System.Diagnostics;
using DataExchange.Participants;
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
/// on RabbitMQ with retries and endpoint names prefixed by the service, participant-key authentication, OpenTelemetry,
/// and health endpoints.
/// A service's Program.cs is then the list of what it hosts.
/// </summary>
public static class MarketServiceDefaults
{
    /// <param name="service">The service's name (<see cref="Storage.ServiceSchemas"/>): its Marten schema, its queue prefix and its telemetry name.</param>
    /// <param name="configureStore">Documents and projections of the service.</param>
    /// <param name="configureBus">Consumers of the service.</param>
    public static WebApplicationBuilder AddMarketServiceDefaults(this WebApplicationBuilder builder, string service,
        Action<StoreOptions>? configureStore = null, Action<IBusRegistrationConfigurator>? configureBus = null)
    {
        var settings = ServiceSettings.From(builder.Configuration, service);
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton<MarketMetrics>();
        builder.Services.AddSingleton(Resilience.ConcurrencyRetry());
        builder.Services.AddParticipantAuthentication(builder.Configuration);

        var dispatcher = new CommittedEventDispatcher();
        builder.Services.AddSingleton(dispatcher);
        builder.Services.AddMarten(opts =>
            {
                Storage.MarketStore.Configure(opts, settings.Postgres, service);
                opts.Listeners.Add(dispatcher);
                ParticipantAuthentication.ConfigureStore(opts);
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
            ParticipantAuthentication.AddConsumers(x);
            configureBus?.Invoke(x);
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(new Uri(settings.RabbitMq));
                cfg.ConfigureJsonSerializerOptions(DataExchange.Contracts.BusWireFormat.Apply);
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

    /// <summary>/health/live answers while the process runs; /health/ready once the bus and the store are reachable.</summary>
    public static WebApplication MapMarketDefaults(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready");
        return app;
    }
}


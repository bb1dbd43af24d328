using Marten;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DataExchange.Participants;

/// <summary>What a service registers so that its HTTP endpoints know who calls them (ServiceDefaults calls these for every service).</summary>
public static class ParticipantAuthentication
{
    /// <summary>The keys (secret from configuration), the participant-key scheme as the default, the policies, and the revocation list loaded at start.</summary>
    public static IServiceCollection AddParticipantAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(ParticipantKeys.From(configuration));
        services.AddAuthentication(ParticipantKeyAuthenticationHandler.SchemeName)
            .AddScheme<ParticipantKeyOptions, ParticipantKeyAuthenticationHandler>(ParticipantKeyAuthenticationHandler.SchemeName, _ => { });
        services.AddAuthorization(ParticipantPolicies.Add);
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationHandler, OwnIdHandler>();
        services.AddHostedService<RevocationLoader>();
        return services;
    }

    /// <summary>The revocation list's document in the service's own schema.</summary>
    public static void ConfigureStore(StoreOptions options) => options.Schema.For<RevokedParticipant>();

    /// <summary>Every service hears revocations and refuses the key at once.</summary>
    public static void AddConsumers(IBusRegistrationConfigurator bus) => bus.AddConsumer<ParticipantRevokedConsumer>();
}

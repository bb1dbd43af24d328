using System.Globalization;
using DataExchange.Contracts;
using DataExchange.Participants;
using DataExchange.ServiceDefaults;
using MassTransit;

namespace DataExchange.Cli.Participants;

/// <summary><c>dx participants add|list|revoke</c>: the operator's console for participants' accounts.</summary>
public static class ParticipantsCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is not ("add" or "list" or "revoke")) throw new UsageException("participants: say add, list or revoke (see dx help)");
        var verb = args[0];
        var a = new Arguments(args[1..], new HashSet<string> { "--json" });
        var rabbit = RabbitMqOption.From(a);
        var management = a.String("--management");
        var json = a.Flag("--json");
        a.RejectUnknown();
        var keys = ParticipantKeys.FromEnvironment();
        using var broker = new BrokerManagement(rabbit, management);
        var accounts = new ParticipantAccounts(broker, keys);
        var ct = CancellationToken.None;
        switch (verb)
        {
            case "add":
                if (a.Positional.Count != 2) throw new UsageException("participants add: say the role (buyer or seller) and the id");
                if (!keys.Configured) throw new UsageException("DX_KEY_SECRET is not set: a participant's HTTP key is issued with the market's secret");
                var c = accounts.AddAsync(a.Positional[0], a.Positional[1], ct).GetAwaiter().GetResult();
                if (json) stdout.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { role = c.Role, id = c.Id, amqp = c.AmqpUri, apiKey = c.ApiKey }));
                else
                {
                    stdout.WriteLine($"{c.Role} {c.Id}");
                    stdout.WriteLine($"  AMQP URI : {c.AmqpUri}");
                    stdout.WriteLine($"  API key  : {c.ApiKey}   (HTTP header {ParticipantKeys.Header})");
                    stdout.WriteLine($"  queue    : {ParticipantBus.Queue(c.Role, c.Id)} (durable: what the market sends it waits there)");
                    if (c.Role == "buyer") stdout.WriteLine($"  tasks to : exchange {ParticipantBus.SubmitExchange(c.Id)}");
                }
                return 0;
            case "list":
                var list = accounts.ListAsync(ct).GetAwaiter().GetResult();
                if (list.Count == 0) stdout.WriteLine("no participants");
                foreach (var p in list)
                    stdout.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,-7} {1,-32} queue {2} ({3} waiting)", p.Role, p.Id, ParticipantBus.Queue(p.Role, p.Id), p.QueuedMessages));
                return 0;
            default:
                if (a.Positional.Count != 1) throw new UsageException("participants revoke: say the id");
                var revoked = accounts.RevokeAsync(a.Positional[0], (m, token) => AnnounceAsync(rabbit, m, token), ct).GetAwaiter().GetResult();
                stdout.WriteLine(revoked ? $"revoked {a.Positional[0]}: its broker account, queue and HTTP key are closed" : $"no participant '{a.Positional[0]}'");
                return revoked ? 0 : 1;
        }
    }

    /// <summary>Tells every service to refuse the participant's HTTP key (published with the operator's account).</summary>
    public static async Task AnnounceAsync(string rabbit, ParticipantRevoked revoked, CancellationToken ct)
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(new Uri(rabbit));
            BusJson.Configure(cfg);
        });
        await bus.StartAsync(ct);
        try { await bus.Publish(revoked, ct); }
        finally { await bus.StopAsync(CancellationToken.None); }
    }
}

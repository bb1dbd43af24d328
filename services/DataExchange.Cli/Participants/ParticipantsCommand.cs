using System.CommandLine;
using System.Globalization;
using DataExchange.Client;
using DataExchange.Contracts;
using DataExchange.Participants;
using DataExchange.ServiceDefaults;

namespace DataExchange.Cli.Participants;

/// <summary><c>dx participants add|list|revoke</c>: the operator's console for participants' accounts.</summary>
public static class ParticipantsCommand
{
    public static Command Create()
    {
        var role = new Argument<string>("ROLE") { Description = "buyer or seller" };
        var id = new Argument<string>("ID") { Description = "the participant's id" };
        var (addRabbit, addManagement, json) = (ServerOptions.RabbitMq("the operator's bus account (default DX_RABBITMQ)"), Errors.ErrorsCommand.Management(),
            Opt.Flag("--json", "print the credentials as one JSON line"));
        var add = new Command("add", "make a participant: its own broker account (generated password) with permission on its own names only, its durable " +
            "queue (bound to what the market sends it and to the public prices), a buyer's task exchange; prints its AMQP URI and HTTP API key " +
            "(needs DX_KEY_SECRET)").With(role, id, addRabbit, addManagement, json);
        add.SetAction(r =>
        {
            var keys = ParticipantKeys.FromEnvironment();
            if (!keys.Configured) throw new UsageException("DX_KEY_SECRET is not set: a participant's HTTP key is issued with the market's secret");
            using var broker = new BrokerManagement(r.RabbitMqOf(addRabbit), r.GetValue(addManagement));
            var c = new ParticipantAccounts(broker, keys).AddAsync(r.GetValue(role)!, r.GetValue(id)!, CancellationToken.None).GetAwaiter().GetResult();
            var stdout = r.Out();
            if (r.GetValue(json)) stdout.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { role = c.Role, id = c.Id, amqp = c.AmqpUri, apiKey = c.ApiKey }));
            else
            {
                stdout.WriteLine($"{c.Role} {c.Id}");
                stdout.WriteLine($"  AMQP URI : {c.AmqpUri}");
                stdout.WriteLine($"  API key  : {c.ApiKey}   (HTTP header {ParticipantKeys.Header})");
                stdout.WriteLine($"  queue    : {ParticipantBus.Queue(c.Role, c.Id)} (durable: what the market sends it waits there)");
                if (c.Role == "buyer") stdout.WriteLine($"  tasks to : exchange {ParticipantBus.SubmitExchange(c.Id)}");
            }
            return 0;
        });
        var (listRabbit, listManagement) = (ServerOptions.RabbitMq("the operator's bus account (default DX_RABBITMQ)"), Errors.ErrorsCommand.Management());
        var list = new Command("list", "the participants, with what waits in each queue").With(listRabbit, listManagement);
        list.SetAction(r =>
        {
            using var broker = new BrokerManagement(r.RabbitMqOf(listRabbit), r.GetValue(listManagement));
            var participants = new ParticipantAccounts(broker, ParticipantKeys.FromEnvironment()).ListAsync(CancellationToken.None).GetAwaiter().GetResult();
            if (participants.Count == 0) r.Out().WriteLine("no participants");
            foreach (var p in participants)
                r.Out().WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,-7} {1,-32} queue {2} ({3} waiting)", p.Role, p.Id, ParticipantBus.Queue(p.Role, p.Id), p.QueuedMessages));
            return 0;
        });
        var revokedId = new Argument<string>("ID") { Description = "the participant's id" };
        var (revokeRabbit, revokeManagement) = (ServerOptions.RabbitMq("the operator's bus account (default DX_RABBITMQ)"), Errors.ErrorsCommand.Management());
        var revoke = new Command("revoke", "close a participant: broker account, connections, queue and HTTP key").With(revokedId, revokeRabbit, revokeManagement);
        revoke.SetAction(r =>
        {
            var (rabbit, who) = (r.RabbitMqOf(revokeRabbit), r.GetValue(revokedId)!);
            using var broker = new BrokerManagement(rabbit, r.GetValue(revokeManagement));
            var revoked = new ParticipantAccounts(broker, ParticipantKeys.FromEnvironment())
                .RevokeAsync(who, (m, token) => AnnounceAsync(rabbit, m, token), CancellationToken.None).GetAwaiter().GetResult();
            r.Out().WriteLine(revoked ? $"revoked {who}: its broker account, queue and HTTP key are closed" : $"no participant '{who}'");
            return revoked ? 0 : 1;
        });
        return new Command("participants", "the operator's console for participants' accounts").With(add, list, revoke);
    }

    /// <summary>Tells every service to refuse the participant's HTTP key (published with the operator's account).</summary>
    public static async Task AnnounceAsync(string rabbit, ParticipantRevoked revoked, CancellationToken ct)
    {
        var bus = MarketBus.Create(rabbit);
        await bus.StartAsync(ct);
        try { await bus.Publish(revoked, ct); }
        finally { await bus.StopAsync(CancellationToken.None); }
    }
}

using Xunit;

// The collections share one machine's CPU and one PostgreSQL/RabbitMQ: run them one after another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(DataExchange.Benchmarks.MechanismBenchmarks).Assembly).Run(args);

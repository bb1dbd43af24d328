using BenchmarkDotNet.Running;

if (args is ["--permutations-needed"]) DataExchange.Benchmarks.PermutationsNeeded.Run(Console.Out);
else BenchmarkSwitcher.FromAssembly(typeof(DataExchange.Benchmarks.MechanismBenchmarks).Assembly).Run(args);

using BenchmarkDotNet.Running;

if (args is ["--permutations-needed"]) DataExchange.Benchmarks.PermutationsNeeded.Run(Console.Out);
else if (args is ["--stratified-needed"]) DataExchange.Benchmarks.PermutationsNeeded.RunStratified(Console.Out);
else if (args is ["--profile-large", ..])
    DataExchange.Benchmarks.LargeMarketProfile.Run(Console.Out, args.Length > 1 ? int.Parse(args[1]) : 200, args.Length > 2 ? int.Parse(args[2]) : 4000,
        args.Length > 3 ? int.Parse(args[3]) : Environment.ProcessorCount, args.Length > 4 && args[4] == "parts");
else if (args is ["--latency-floor", ..]) await DataExchange.Benchmarks.LatencyFloor.Run(Console.Out, args.Length > 1 ? int.Parse(args[1]) : 200);
else if (args is ["--latency-floor-echo", var kind, var run]) await DataExchange.Benchmarks.LatencyFloor.Echo(kind, run);
else BenchmarkSwitcher.FromAssembly(typeof(DataExchange.Benchmarks.MechanismBenchmarks).Assembly).Run(args);

return DataExchange.Cli.Dx.Run(args, Console.Out, Console.Error);

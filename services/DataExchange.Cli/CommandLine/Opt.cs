using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace DataExchange.Cli;

/// <summary>A command-line mistake: names the option and what is wrong with it (exit code 2).</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Typed options whose parse errors name the option and the problem ("--sellers: 'zero' is not a whole number",
/// "--perms: 0 is out of range [1, 2147483647]"), as dx has always said them; System.CommandLine reports them.
/// </summary>
internal static class Opt
{
    public static Option<int> Int(string name, int fallback, int min, int max, string description) => new(name)
    {
        Description = description, HelpName = "N", DefaultValueFactory = _ => fallback,
        CustomParser = r => ParseInt(r, name, min, max) ?? fallback,
    };

    public static Option<int?> OptionalInt(string name, int min, int max, string description) => new(name)
    {
        Description = description, HelpName = "N", CustomParser = r => ParseInt(r, name, min, max),
    };

    public static Option<ulong> ULong(string name, ulong fallback, string description) => new(name)
    {
        Description = description, HelpName = "S", DefaultValueFactory = _ => fallback,
        CustomParser = r => ulong.TryParse(Token(r), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
            : Error(r, $"{name}: '{Token(r)}' is not a non-negative whole number", fallback),
    };

    public static Option<double> Double(string name, double fallback, string description) => new(name)
    {
        Description = description, HelpName = "X", DefaultValueFactory = _ => fallback,
        CustomParser = r => ParseDouble(r, name) ?? fallback,
    };

    public static Option<double?> OptionalDouble(string name, string description) => new(name)
    {
        Description = description, HelpName = "X", CustomParser = r => ParseDouble(r, name),
    };

    public static Option<string?> Text(string name, string helpName, string description) => new(name) { Description = description, HelpName = helpName };

    public static Option<bool> Flag(string name, string description) => new(name) { Description = description, Arity = ArgumentArity.Zero };

    /// <summary>An ISO-8601 date or time, UTC unless it carries an offset.</summary>
    public static Option<DateTimeOffset?> Time(string name, string example, string description) => new(name)
    {
        Description = description, HelpName = "TIME",
        CustomParser = r => DateTimeOffset.TryParse(Token(r), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t : Error<DateTimeOffset?>(r, $"{name}: '{Token(r)}' is not {example}", null),
    };

    /// <summary>One of a market setting's names (SettingNames), e.g. --allocation noise|sampling; null when not given.</summary>
    public static Option<T?> Setting<T>(string name, string description) where T : struct, Enum => new(name)
    {
        Description = description, HelpName = string.Join("|", DataExchange.Mechanism.SettingNames.Names<T>()),
        CustomParser = r => DataExchange.Mechanism.SettingNames.TryParse<T>(Token(r), out var value) ? value
            : Error<T?>(r, $"{name}: '{Token(r)}' is not one of {string.Join(", ", DataExchange.Mechanism.SettingNames.Names<T>())}", null),
    };

    /// <summary>Whether the option was on the command line (not its default).</summary>
    public static bool Given(this ParseResult r, Option option) => r.GetResult(option) is { Implicit: false };

    public static TextWriter Out(this ParseResult r) => r.InvocationConfiguration.Output;
    public static TextWriter Err(this ParseResult r) => r.InvocationConfiguration.Error;

    public static Command With(this Command command, params Symbol[] symbols)
    {
        foreach (var s in symbols)
            switch (s)
            {
                case Option o: command.Options.Add(o); break;
                case Argument a: command.Arguments.Add(a); break;
                case Command c: command.Subcommands.Add(c); break;
            }
        return command;
    }

    private static int? ParseInt(ArgumentResult r, string name, int min, int max)
    {
        var s = Token(r);
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)) return Error<int?>(r, $"{name}: '{s}' is not a whole number", null);
        if (v < min || v > max) return Error<int?>(r, $"{name}: {v} is out of range [{min}, {max}]", null);
        return v;
    }

    private static double? ParseDouble(ArgumentResult r, string name) =>
        double.TryParse(Token(r), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v
            : Error<double?>(r, $"{name}: '{Token(r)}' is not a finite number", null);

    private static string Token(ArgumentResult r) => r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";

    private static T Error<T>(ArgumentResult r, string message, T value)
    {
        r.AddError(message);
        return value;
    }
}

using System.Globalization;

namespace DataExchange.Cli;

/// <summary>A command-line mistake: names the option and what is wrong with it.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>Minimal "--name value" / "--flag" parsing that refuses unknown options and malformed values.</summary>
public sealed class Arguments
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public Arguments(IEnumerable<string> args, IReadOnlySet<string> flags)
    {
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var a = list[i];
            if (!a.StartsWith("--", StringComparison.Ordinal)) { Positional.Add(a); continue; }
            var eq = a.IndexOf('=');
            if (eq > 0) { _values[a[..eq]] = a[(eq + 1)..]; continue; }
            if (flags.Contains(a)) { _values[a] = null; continue; }
            if (i + 1 >= list.Count) throw new UsageException($"{a}: needs a value");
            _values[a] = list[++i];
        }
    }

    public List<string> Positional { get; } = new();

    public bool Flag(string name)
    {
        _used.Add(name);
        return _values.ContainsKey(name);
    }

    public string? String(string name)
    {
        _used.Add(name);
        return _values.TryGetValue(name, out var v) ? v : null;
    }

    public int Int(string name, int fallback, int min, int max = int.MaxValue)
    {
        var s = String(name);
        if (s is null) return fallback;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)) throw new UsageException($"{name}: '{s}' is not a whole number");
        if (v < min || v > max) throw new UsageException($"{name}: {v} is out of range [{min}, {max}]");
        return v;
    }

    public ulong ULong(string name, ulong fallback)
    {
        var s = String(name);
        if (s is null) return fallback;
        if (!ulong.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)) throw new UsageException($"{name}: '{s}' is not a non-negative whole number");
        return v;
    }

    public double Double(string name, double fallback)
    {
        var s = String(name);
        if (s is null) return fallback;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
            throw new UsageException($"{name}: '{s}' is not a finite number");
        return v;
    }

    /// <summary>Refuses options that no one asked for (typos must not pass silently).</summary>
    public void RejectUnknown()
    {
        var unknown = _values.Keys.Where(k => !_used.Contains(k)).ToList();
        if (unknown.Count > 0) throw new UsageException($"{unknown[0]}: unknown option (see dx help)");
        if (Positional.Count > 0) throw new UsageException($"'{Positional[0]}': unexpected argument");
    }
}

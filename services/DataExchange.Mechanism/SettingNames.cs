namespace DataExchange.Mechanism;

/// <summary>The settings' names as the command line and recorded terms spell them: the enum names in lower case.</summary>
public static class SettingNames
{
    public static string Name<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    public static IReadOnlyList<string> Names<T>() where T : struct, Enum => Enum.GetValues<T>().Select(Name).ToArray();

    public static bool TryParse<T>(string? name, out T value) where T : struct, Enum
    {
        foreach (var v in Enum.GetValues<T>())
        {
            if (!string.Equals(Name(v), name, StringComparison.OrdinalIgnoreCase)) continue;
            value = v;
            return true;
        }
        value = default;
        return false;
    }

    /// <summary>A setting by name, any case; ArgumentOutOfRangeException naming <paramref name="field"/> and the choices otherwise.</summary>
    public static T Parse<T>(string? name, string field) where T : struct, Enum =>
        TryParse<T>(name, out var value) ? value
            : throw new ArgumentOutOfRangeException(field, name, $"must be one of {string.Join(", ", Names<T>())}");
}

using System.Diagnostics;
using System.Text;

namespace DataExchange.Integration.Tests.Infrastructure;

/// <summary>
/// The <c>dx</c> command line as a child process (<c>dotnet services/DataExchange.Cli/bin/Release/net10.0/dx.dll</c>), as a
/// user runs it: its own process, so it can be killed with SIGKILL and started again. Only the environment given is
/// passed on of DX_* (no operator secret unless the test gives it).
/// </summary>
public sealed class DxProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _out = new(), _err = new();

    private DxProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public string Stdout { get { lock (_out) return _out.ToString(); } }
    public string Stderr { get { lock (_err) return _err.ToString(); } }

    public static DxProcess Start(string repoRoot, string name, IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var dll = Path.Combine(repoRoot, "services", "DataExchange.Cli", "bin", "Release", "net10.0", "dx.dll");
        if (!File.Exists(dll)) throw new InvalidOperationException($"{dll} is missing: build the solution in Release first");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = repoRoot };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("DX_", StringComparison.Ordinal)).ToList()) psi.Environment.Remove(key);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) psi.Environment[key] = value;
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var dx = new DxProcess(process, name);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (dx._out) dx._out.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (dx._err) dx._err.AppendLine(e.Data); };
        if (!process.Start()) throw new InvalidOperationException($"dx {name} did not start");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return dx;
    }

    /// <summary>Waits until stderr contains <paramref name="text"/>; false if the process exits or the time passes first.</summary>
    public Task<bool> StderrContainsAsync(string text, TimeSpan timeout, CancellationToken ct) =>
        MarketFixture.EventuallyAsync(() => Task.FromResult(Stderr.Contains(text, StringComparison.Ordinal) || _process.HasExited), timeout, ct)
            .ContinueWith(t => t.Result && Stderr.Contains(text, StringComparison.Ordinal), ct, TaskContinuationOptions.None, TaskScheduler.Default);

    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // the redirected streams drained
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown hooks, nothing flushed that was not already written.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try { await KillAsync(); } catch (InvalidOperationException) { }
        _process.Dispose();
    }
}

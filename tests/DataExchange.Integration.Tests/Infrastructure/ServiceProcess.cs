using System.Diagnostics;
using System.Net;
using System.Text;

namespace DataExchange.Integration.Tests.Infrastructure;

/// <summary>
/// One market service as a child process (<c>dotnet services/DataExchange.X/bin/Release/net10.0/DataExchange.X.dll</c>)
/// on a loopback port the service binds itself (port 0), its stdout and stderr captured to a log file.
/// </summary>
/// <remarks>
/// The service picks its port and says which (Kestrel's "Now listening on:" line). A port found free here and handed to
/// the service would race: two services started together were once given the same port, the second failed to bind, and
/// its health check was answered by the first.
/// </remarks>
public sealed class ServiceProcess : IAsyncDisposable
{
    private const string ListeningLine = "Now listening on: ";
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly object _gate = new();
    private readonly TaskCompletionSource<string> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _closed;

    private ServiceProcess(string name, string logPath, Process process, StreamWriter log)
    {
        Name = name;
        LogPath = logPath;
        _process = process;
        _log = log;
    }

    /// <summary>Instance name (e.g. "pricing-2"), its base URL (once it listens: after WaitReadyAsync) and log file.</summary>
    public string Name { get; }
    public string Url => _listening.Task.IsCompletedSuccessfully ? _listening.Task.Result : throw new InvalidOperationException($"{Name} has not said where it listens yet");
    public string LogPath { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    public static ServiceProcess Start(string name, string dll, IReadOnlyDictionary<string, string?> environment, string logDirectory)
    {
        Directory.CreateDirectory(logDirectory);
        var logPath = Path.Combine(logDirectory, $"{name}.log");
        var log = new StreamWriter(new FileStream(logPath, FileMode.Create, FileAccess.Write, FileShare.ReadWrite), Encoding.UTF8) { AutoFlush = true };
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(dll);
        foreach (var (key, value) in environment)
        {
            if (value is null) psi.Environment.Remove(key);
            else psi.Environment[key] = value;
        }
        psi.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var service = new ServiceProcess(name, logPath, process, log);
        process.OutputDataReceived += (_, e) => service.Write(e.Data);
        process.ErrorDataReceived += (_, e) => service.Write(e.Data is null ? null : "[stderr] " + e.Data);
        process.Exited += (_, _) => service._listening.TrySetException(new InvalidOperationException($"{name} exited before it listened"));
        if (!process.Start()) throw new InvalidOperationException($"{name}: dotnet {dll} did not start");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        service.Write($"[it] started pid {process.Id} (it picks its own port)");
        return service;
    }

    private void Write(string? line)
    {
        if (line is null) return;
        if (line.IndexOf(ListeningLine, StringComparison.Ordinal) is var at and >= 0)
            _listening.TrySetResult(line[(at + ListeningLine.Length)..].Trim());
        lock (_gate)
            if (!_closed) _log.WriteLine(line);
    }

    /// <summary>Waits until /health/ready answers 200 (bus and store reachable); fails with the log's tail otherwise.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        string url;
        try
        {
            url = await _listening.Task.WaitAsync(timeout, ct);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Name} did not say where it listens ('{ListeningLine}...') within {timeout.TotalSeconds:0} s.\n{Tail(80)}");
        }
        catch (InvalidOperationException)
        {
            await _process.WaitForExitAsync(ct);
            throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} before it listened.\n{Tail(80)}");
        }
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(5) };
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} before it was ready.\n{Tail(80)}");
            try
            {
                using var response = await http.GetAsync("/health/ready", ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Write($"[it] ready after {clock.Elapsed.TotalSeconds:0.0} s");
                    return;
                }
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"{Name} not ready on {Url}/health/ready after {timeout.TotalSeconds:0} s.\n{Tail(80)}");
            await Task.Delay(200, ct);
        }
    }

    /// <summary>The last lines of the service's log.</summary>
    public string Tail(int lines)
    {
        string[] all;
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            all = reader.ReadToEnd().Split('\n');
        }
        catch (IOException e)
        {
            return $"----- {Name}: cannot read {LogPath}: {e.Message}";
        }
        var tail = all.Skip(Math.Max(0, all.Length - lines));
        return $"----- {Name} (pid {_process.Id}{(_process.HasExited ? ", exited" : "")}), last {lines} lines of {LogPath}:\n{string.Join('\n', tail)}";
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                await _process.WaitForExitAsync(cts.Token);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            Write($"[it] kill: {e.Message}");
        }
        lock (_gate)
        {
            _closed = true;
            _log.Dispose();
        }
        _process.Dispose();
    }

}

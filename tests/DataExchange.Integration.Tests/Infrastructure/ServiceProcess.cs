using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace DataExchange.Integration.Tests.Infrastructure;

/// <summary>
/// One market service as a child process (<c>dotnet services/DataExchange.X/bin/Release/net10.0/DataExchange.X.dll</c>)
/// on a free loopback port, its stdout and stderr captured to a log file.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly object _gate = new();
    private bool _closed;

    private ServiceProcess(string name, string url, string logPath, Process process, StreamWriter log)
    {
        Name = name;
        Url = url;
        LogPath = logPath;
        _process = process;
        _log = log;
    }

    /// <summary>Instance name (e.g. "pricing-2"), its base URL and log file.</summary>
    public string Name { get; }
    public string Url { get; }
    public string LogPath { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    public static ServiceProcess Start(string name, string dll, IReadOnlyDictionary<string, string?> environment, string logDirectory)
    {
        var port = FreePort();
        var url = $"http://127.0.0.1:{port}";
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
        psi.Environment["ASPNETCORE_URLS"] = url;
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var service = new ServiceProcess(name, url, logPath, process, log);
        process.OutputDataReceived += (_, e) => service.Write(e.Data);
        process.ErrorDataReceived += (_, e) => service.Write(e.Data is null ? null : "[stderr] " + e.Data);
        if (!process.Start()) throw new InvalidOperationException($"{name}: dotnet {dll} did not start");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        service.Write($"[it] started pid {process.Id} on {url}");
        return service;
    }

    private void Write(string? line)
    {
        if (line is null) return;
        lock (_gate)
            if (!_closed) _log.WriteLine(line);
    }

    /// <summary>Waits until /health/ready answers 200 (bus and store reachable); fails with the log's tail otherwise.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
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

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>
    /// A port for a service: never one already handed to another service of this test run, and below the kernel's
    /// ephemeral range (32768 and up), which outgoing connections draw from. Asking the kernel for port 0 and passing
    /// the number on raced: it gave two services started together the same port, the second failed to bind, and its
    /// health check was answered by the first.
    /// </summary>
    private static int FreePort()
    {
        lock (HandedOut)
            for (var attempt = 1; ; attempt++)
            {
                var port = Random.Shared.Next(20_000, 32_000);
                if (!HandedOut.Add(port)) continue;
                try
                {
                    var listener = new TcpListener(IPAddress.Loopback, port);
                    listener.Start();
                    listener.Stop();
                    return port;
                }
                catch (SocketException) when (attempt < 200) { } // in use by something else: try another
            }
    }
}

using FunctionalDruid.Host.Api;
using FunctionalDruid.Host.Config;

namespace FunctionalDruid.Host;

/// <summary>
/// Composition root: builds the one process that plays every Druid role from a config.
/// Tests start it in-process on a free loopback port; Program.Main starts it from the
/// command line.
/// </summary>
public sealed class DruidServer : IAsyncDisposable
{
    readonly WebApplication _app;
    public ServerConfig Config { get; }
    public int Port { get; private set; }
    public string BaseUrl => $"http://127.0.0.1:{Port}";

    DruidServer(WebApplication app, ServerConfig config)
    {
        _app = app;
        Config = config;
    }

    public static DruidServer Create(ServerConfig config)
    {
        Directory.CreateDirectory(config.DataDir);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fff "; });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("FunctionalDruid", LogLevel.Information);
        builder.WebHost.UseUrls($"http://{config.Host}:{config.Port}");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 1L << 30);
        var app = builder.Build();
        StatusEndpoints.Map(app);
        return new DruidServer(app, config);
    }

    public async Task StartAsync()
    {
        await _app.StartAsync();
        var address = _app.Urls.First();
        Port = new Uri(address).Port;
    }

    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

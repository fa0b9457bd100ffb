using FunctionalDruid.Host.Api;
using FunctionalDruid.Host.Config;
using FunctionalDruid.Host.Indexing;
using FunctionalDruid.Host.Metadata;
using FunctionalDruid.Host.Querying;
using FunctionalDruid.Host.Storage;
using FunctionalDruid.Host.Streaming;

namespace FunctionalDruid.Host;

/// <summary>
/// Composition root: builds the one process that plays every Druid role (overlord,
/// coordinator, broker, historical, indexer) from a config. Tests start it in-process on a
/// free loopback port; Program.Main starts it from the command line.
/// </summary>
public sealed class DruidServer : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly IMetadataStore _store;
    readonly SegmentCache _cache;
    readonly TaskQueue _tasks;
    readonly Timer _cacheSync;
    readonly SupervisorManager _supervisors;

    public ServerConfig Config { get; }
    public int Port { get; private set; }
    public string BaseUrl => $"http://127.0.0.1:{Port}";

    DruidServer(WebApplication app, ServerConfig config, IMetadataStore store, SegmentCache cache, TaskQueue tasks, SupervisorManager supervisors)
    {
        _supervisors = supervisors;
        _app = app;
        Config = config;
        _store = store;
        _cache = cache;
        _tasks = tasks;
        // Other processes sharing the metadata store may publish: look for changes regularly.
        _cacheSync = new Timer(_ => SyncQuietly(), null, Timeout.Infinite, Timeout.Infinite);
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
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("FunctionalDruid");

        var store = MetadataStoreFactory.Create(config.MetadataType, config.MetadataUri, config.MetadataUser, config.MetadataPassword,
            config.DataDir, config.Get("druid.metadata.storage.tables.base", "druid"));
        store.Initialize();
        var deepStorage = new LocalDeepStorage(config.StorageDirectory);
        var cache = new SegmentCache(store, config.SegmentCacheDirectory, log);
        var tasks = new TaskQueue(store, config, deepStorage, cache, log);
        tasks.FailOrphanedTasks();
        cache.Sync();
        // Streaming: supervisors restart from the metadata store; their tasks' rows are queryable.
        var supervisors = new SupervisorManager(new StreamTaskContext(store, deepStorage, cache, tasks, log), config);
        tasks.AddRunner(supervisors);
        supervisors.StartFromStore();
        var queries = new QueryService(cache, supervisors);

        StatusEndpoints.Map(app);
        TaskEndpoints.Map(app, tasks);
        QueryEndpoints.Map(app, queries, cache);
        CoordinatorEndpoints.Map(app, store, cache);
        SupervisorEndpoints.Map(app, supervisors);
        SqlEndpoints.Map(app, new SqlService(cache, store, queries, $"{config.Host}:{config.Port}"));
        return new DruidServer(app, config, store, cache, tasks, supervisors);
    }

    void SyncQuietly()
    {
        try { _cache.Sync(); }
        catch (Exception e) { _app.Logger.LogWarning("Segment cache sync failed: {Message}", e.Message); }
    }

    public async Task StartAsync()
    {
        await _app.StartAsync();
        // With --port 0 the OS picks the port: read back what Kestrel bound.
        var addresses = _app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses;
        Port = new Uri(addresses.First()).Port;
        _cacheSync.Change(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
    }

    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        await _cacheSync.DisposeAsync();
        await _app.StopAsync();
        _supervisors.Dispose();
        _tasks.Dispose();
        _cache.Dispose();
        _store.Dispose();
        await _app.DisposeAsync();
    }
}

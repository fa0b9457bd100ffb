using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using FunctionalDruid.Core;
using FunctionalDruid.Host.Config;
using FunctionalDruid.Host.Metadata;
using FunctionalDruid.Host.Storage;

namespace FunctionalDruid.Host.Indexing;

/// <summary>An invalid task submission: the JSON path and the problem (HTTP 400).</summary>
public sealed class InvalidTaskException(string message) : Exception(message);

/// <summary>
/// The overlord's task queue: accepts tasks, records them in the metadata store, runs them on
/// worker slots (druid.worker.capacity) and keeps their status and reports.
/// </summary>
public sealed class TaskQueue : IDisposable
{
    readonly IMetadataStore _store;
    readonly ServerConfig _config;
    readonly LocalDeepStorage _deepStorage;
    readonly SegmentCache _cache;
    readonly ILogger _log;
    readonly SemaphoreSlim _slots;
    readonly ConcurrentDictionary<string, RunningTask> _running = new();
    readonly ConcurrentDictionary<string, object> _publishLocks = new();
    readonly string _tasksDir;
    readonly CancellationTokenSource _stopping = new();
    readonly List<IExternalTaskRunner> _externalRunners = [];

    /// <summary>Runners of tasks that are not queued here (Kafka tasks started by supervisors),
    /// so the task API shows their runner status and reports and can shut them down.</summary>
    public void AddRunner(IExternalTaskRunner runner) => _externalRunners.Add(runner);

    /// <summary>One publish at a time per data source, shared by every kind of task.</summary>
    public object PublishLock(string dataSource) => _publishLocks.GetOrAdd(dataSource, _ => new object());

    sealed record RunningTask(string Id, string DataSource, IngestionProgress Progress, CancellationTokenSource Cancel, long StartedAt)
    {
        public volatile bool Started;
        public Task? Work;
    }

    public TaskQueue(IMetadataStore store, ServerConfig config, LocalDeepStorage deepStorage, SegmentCache cache, ILogger log)
    {
        _store = store;
        _config = config;
        _deepStorage = deepStorage;
        _cache = cache;
        _log = log;
        _slots = new SemaphoreSlim(config.WorkerCapacity);
        _tasksDir = Path.Combine(config.DataDir, "tasks");
        Directory.CreateDirectory(_tasksDir);
    }

    /// <summary>Tasks still marked active belonged to a process that died: they failed.</summary>
    public void FailOrphanedTasks()
    {
        foreach (var task in _store.GetTasks(active: true))
        {
            var status = new TaskStatusPayload(task.Id, TaskState.Failed, -1,
                "Task was still running when the server stopped; it did not complete and published nothing");
            _store.UpdateTaskStatus(task.Id, status.ToJson(), false);
            _log.LogWarning("Task {Task} was running when the server stopped; marked FAILED", task.Id);
        }
        // No task of this process has started yet, so every work dir is a dead task's: its
        // intermediate persists are worthless (a stream task's range is read again from the
        // stored offsets), including those of a task killed after it recorded its end.
        foreach (var taskDir in Directory.EnumerateDirectories(_tasksDir))
            IntermediatePersists.Discard(Path.Combine(taskDir, "work"));
    }

    /// <summary>Validates and queues a task; returns its id.</summary>
    public string Submit(string body)
    {
        var result = IngestSpec.parseTaskText(body);
        if (result.IsError) throw new InvalidTaskException(Api.DruidErrors.AtPath(result.ErrorValue.Item1, result.ErrorValue.Item2));
        // Valid for Core means valid JSON object: this parse only keeps the payload to store.
        var json = (JsonObject)JsonNode.Parse(Json.normalizeComments(body), documentOptions: Json.documentOptions)!;
        var spec = result.ResultValue;
        IReadOnlyList<InputSplit> splits;
        try { splits = InputFiles.Resolve(spec.InputSource, _config.AllowedLocalInputDirs); }
        catch (InputSourceException e) { throw new InvalidTaskException("spec.ioConfig.inputSource: " + e.Message); }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var id = spec.TaskId?.Value ?? $"{spec.TaskType}_{spec.DataSource}_{RandomSuffix()}_{Time.formatIso(now)}";
        json["id"] = id;
        json["dataSource"] = spec.DataSource;
        var record = new TaskRecord(id, Time.formatIso(now), spec.DataSource, spec.TaskType, json.ToJsonString(),
            new TaskStatusPayload(id, TaskState.Running, -1, null).ToJson(), true, id);
        try { _store.InsertTask(record); }
        catch (DuplicateTaskException) { throw new InvalidTaskException($"Task [{id}] already exists"); }

        var running = new RunningTask(id, spec.DataSource, new IngestionProgress(), CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token), now);
        _running[id] = running;
        running.Work = Task.Run(() => Execute(running, spec, splits));
        return id;
    }

    static string RandomSuffix()
    {
        const string letters = "abcdefghijklmnopqrstuvwxyz";
        return string.Create(8, 0, (span, _) => { for (var i = 0; i < span.Length; i++) span[i] = letters[Random.Shared.Next(letters.Length)]; });
    }

    async Task Execute(RunningTask task, IngestSpec.IngestSpec spec, IReadOnlyList<InputSplit> splits)
    {
        string status = TaskState.Failed;
        string? error = null;
        IReadOnlyList<string> published = [];
        try
        {
            await _slots.WaitAsync(task.Cancel.Token);
            try
            {
                task.Started = true;
                var publishLock = PublishLock(spec.DataSource);
                var runner = new BatchIndexTask(task.Id, spec, splits, _store, _deepStorage, WorkDir(task.Id),
                    task.Progress, publishLock, _log);
                published = runner.Run(task.Cancel.Token);
                _cache.Sync();
                status = TaskState.Success;
            }
            finally { _slots.Release(); }
        }
        catch (OperationCanceledException) { error = _stopping.IsCancellationRequested ? "Server stopped while the task was running" : "Shutdown request from user"; }
        catch (TaskFailure f) { error = f.Message; }
        catch (Exception e)
        {
            error = $"{e.GetType().Name}: {e.Message}";
            _log.LogError(e, "Task {Task} failed unexpectedly", task.Id);
        }
        var duration = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - task.StartedAt;
        WriteReport(task, status, error, published);
        if (_stopping.IsCancellationRequested && status != TaskState.Success)
        {
            // The process is going down: leave the task active so the next start reports it.
            _running.TryRemove(task.Id, out _);
            return;
        }
        _store.UpdateTaskStatus(task.Id, new TaskStatusPayload(task.Id, status, duration, error).ToJson(), false);
        _running.TryRemove(task.Id, out _);
        _log.LogInformation("Task {Task} finished: {Status}{Error}", task.Id, status, error is null ? "" : " - " + error);
    }

    void WriteReport(RunningTask task, string status, string? error, IReadOnlyList<string> published) =>
        SaveReport(task.Id, BuildReport(task.Id, task.Progress,
            // Druid reports the state a task reached: a failed batch task stopped building segments.
            status == TaskState.Success ? "COMPLETED" : "BUILD_SEGMENTS", error, published));

    /// <summary>Keeps a finished task's report where the task API finds it after a restart
    /// (Druid's task log storage); external runners (Kafka tasks) use it too.</summary>
    public void SaveReport(string id, JsonObject report)
    {
        var path = ReportPath(id);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, report.ToJsonString());
    }

    static JsonObject BuildReport(string id, IngestionProgress progress, string state, string? error, IReadOnlyList<string>? published) => new()
    {
        ["ingestionStatsAndErrors"] = new JsonObject
        {
            ["type"] = "ingestionStatsAndErrors",
            ["taskId"] = id,
            ["payload"] = new JsonObject
            {
                ["ingestionState"] = state,
                ["unparseableEvents"] = new JsonObject { ["buildSegments"] = progress.ParseErrors() },
                ["rowStats"] = new JsonObject { ["buildSegments"] = progress.RowStats() },
                ["errorMsg"] = error,
                ["segmentAvailabilityConfirmed"] = error is null,
                ["segmentsPublished"] = published is null ? null : new JsonArray(published.Select(p => (JsonNode?)JsonValue.Create(p)).ToArray()),
            },
        },
    };

    string ReportPath(string id) => Path.Combine(_tasksDir, Sanitize(id), "report.json");

    /// <summary>A task's scratch folder (intermediate persists), removed when the task ends.</summary>
    public string WorkDir(string taskId) => Path.Combine(_tasksDir, Sanitize(taskId), "work");

    static string Sanitize(string id) => id.Replace('/', '_').Replace(':', '-');

    public TaskRecord? Get(string id) => _store.GetTask(id);

    /// <summary>Druid's runner status: where a task stands in the queue.</summary>
    public string RunnerStatus(string id) => _running.TryGetValue(id, out var t) ? (t.Started ? "RUNNING" : "PENDING")
        : _externalRunners.Select(r => r.RunnerStatus(id)).FirstOrDefault(s => s is not null) ?? "NONE";

    public JsonObject? Report(string id)
    {
        if (_running.TryGetValue(id, out var t)) return BuildReport(id, t.Progress, "BUILD_SEGMENTS", null, null);
        foreach (var runner in _externalRunners)
            if (runner.Report(id) is { } external) return external;
        var path = ReportPath(id);
        return File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject : null;
    }

    public IReadOnlyList<TaskRecord> List(bool? active, string? dataSource) => _store.GetTasks(active, dataSource);

    /// <summary>Asks a running task to stop; false when it is not running here.</summary>
    public bool Shutdown(string id)
    {
        if (!_running.TryGetValue(id, out var t)) return _externalRunners.Any(r => r.Shutdown(id));
        t.Cancel.Cancel();
        return true;
    }

    /// <summary>Waits for the running tasks to notice the stop (used on server shutdown).</summary>
    public void Dispose()
    {
        _stopping.Cancel();
        var work = _running.Values.Select(t => t.Work).OfType<Task>().ToArray();
        try { Task.WaitAll(work, TimeSpan.FromSeconds(10)); } catch (AggregateException) { }
    }
}

/// <summary>Runs tasks outside the queue's worker slots (e.g. Kafka tasks); null/false for ids it does not know.</summary>
public interface IExternalTaskRunner
{
    string? RunnerStatus(string id);
    JsonObject? Report(string id);
    bool Shutdown(string id);
}

using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using FunctionalDruid.Core;
using FunctionalDruid.Host.Indexing;
using FunctionalDruid.Host.Metadata;
using FunctionalDruid.Host.Storage;
using Microsoft.FSharp.Collections;
using StreamPartition = FunctionalDruid.Core.KafkaOffsets.StreamPartition;

namespace FunctionalDruid.Host.Streaming;

/// <summary>What a Kafka task needs from the server.</summary>
public sealed record StreamTaskContext(IMetadataStore Store, LocalDeepStorage DeepStorage, SegmentCache Cache, TaskQueue Tasks, ILogger Log);

/// <summary>
/// A Kafka indexing task (Druid's index_kafka): reads its partitions from its start offsets with
/// a manually assigned consumer, rolls rows up in memory (snapshots serve realtime queries),
/// and once the supervisor sets end offsets reads up to them, then publishes its segments and
/// moves the stored offsets from start to end in one metadata transaction, and waits for handoff.
/// </summary>
public sealed class KafkaIndexTask
{
    readonly TaskGroupRun _group;
    readonly StreamTaskContext _ctx;
    readonly KafkaSpec.SupervisorSpec _spec;
    readonly IngestSpec.IngestSpec _ingest;
    readonly CancellationTokenSource _cancel;
    readonly CancellationToken _serverStopping;
    readonly object _gate = new();
    readonly Rollup.Intake _intake;
    readonly Rollup.IncrementalIndex _probe;
    readonly Dictionary<int, List<PersistedPart>> _parts = [];
    readonly IntermediatePersists _persists;
    readonly string _workDir;
    readonly Dictionary<StreamPartition, long> _positions = [];
    readonly List<Input.RowResult> _results = [];
    bool _dirty;
    bool _workReleased;
    long _unparseable;
    long _appendedRows, _appendedSegments;
    volatile string _state = "NOT_STARTED";
    volatile string _status = TaskState.Running;
    volatile string? _error;
    IReadOnlyList<string> _published = [];
    readonly long _createdAt;
    readonly bool _multiTopic;

    public KafkaIndexTask(string id, TaskGroupRun group, StreamTaskContext ctx, CancellationToken serverStopping)
    {
        Id = id;
        _group = group;
        _ctx = ctx;
        _spec = group.Spec;
        _ingest = group.Spec.Ingest;
        _serverStopping = serverStopping;
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(serverStopping);
        _intake = new Rollup.Intake(_ingest);
        _probe = new Rollup.IncrementalIndex(_ingest);
        foreach (var (p, o) in group.Start.Select(kv => (kv.Key, kv.Value))) _positions[p] = o;
        _workDir = ctx.Tasks.WorkDir(id);
        _persists = new IntermediatePersists(_workDir, "persist", MaxBytesInMemory);
        _createdAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        _multiTopic = group.Spec.IoConfig.Topic is null;
    }

    public string Id { get; }
    public IngestionProgress Progress { get; } = new();
    public string Status => _status;
    public string? Error => _error;
    public bool IsAlive => _status == TaskState.Running;
    public bool ServerStopping { get; private set; }
    public Task? Work { get; private set; }
    public long CreatedAt => _createdAt;

    public FSharpMap<StreamPartition, long> Positions
    {
        get { lock (_gate) return MapModule.OfSeq(_positions.Select(kv => Tuple.Create(kv.Key, kv.Value))); }
    }

    /// <summary>Runs <paramref name="action"/> while none of the tasks handles a message (each
    /// handles its messages under its gate).</summary>
    public static void WhileNoneReads(IReadOnlyList<KafkaIndexTask> tasks, Action action)
    {
        var taken = 0;
        try
        {
            for (; taken < tasks.Count; taken++) Monitor.Enter(tasks[taken]._gate);
            action();
        }
        finally
        {
            while (taken-- > 0) Monitor.Exit(tasks[taken]._gate);
        }
    }

    public void Start() => Work = Task.Factory.StartNew(Run, TaskCreationOptions.LongRunning);

    /// <summary>Stops the task at once: nothing more is read or published.</summary>
    public void Kill(string reason)
    {
        _error ??= reason;
        _cancel.Cancel();
    }

    void Run()
    {
        var cancel = _cancel.Token;
        var io = _spec.IoConfig;
        try
        {
            _state = "BUILD_SEGMENTS";
            using (var consumer = KafkaClients.Consumer(io, $"kafka-supervisor-{_spec.DataSource}", _ctx.Log))
            {
                consumer.Assign(_group.Start.Select(kv => new TopicPartitionOffset(KafkaClients.TopicPartitionOf(io, kv.Key), new Offset(kv.Value))));
                Read(consumer, cancel);
                consumer.Close();
            }
            Publish(cancel);
            Handoff(cancel);
            _state = "COMPLETED";
            Finish(TaskState.Success, null);
        }
        catch (OperationCanceledException)
        {
            ServerStopping = _serverStopping.IsCancellationRequested;
            Finish(TaskState.Failed, _error ?? "Server stopped while the task was running");
        }
        catch (TaskFailure f) { Finish(TaskState.Failed, f.Message); }
        catch (KafkaException e) { Finish(TaskState.Failed, $"Kafka: {e.Error.Reason}"); }
        catch (Exception e)
        {
            _ctx.Log.LogError(e, "Kafka task {Task} failed unexpectedly", Id);
            Finish(TaskState.Failed, $"{e.GetType().Name}: {e.Message}");
        }
        finally { ReleaseWorkDir(); }
    }

    /// <summary>The persists are of no use once the task ends: published, or read again by a
    /// later task. Only a published group whose segments the cache does not serve yet still
    /// answers queries from them, so those few are read back into memory first.</summary>
    void ReleaseWorkDir()
    {
        lock (_gate)
        {
            if (_status == TaskState.Success && !HandoffConfirmed)
                foreach (var list in _parts.Values)
                    for (var i = 0; i < list.Count; i++) list[i] = PersistedPart.Held(list[i].Content);
            else
                // Rows of a task that failed or was handed off are answered elsewhere (a later
                // task, the published segments); its spilled parts are about to be deleted.
                _parts.Clear();
            _workReleased = true;
            IntermediatePersists.Discard(_workDir);
        }
    }

    void Finish(string status, string? error)
    {
        _error = error;
        try { _ctx.Tasks.SaveReport(Id, Report()); }
        catch (Exception e) { _ctx.Log.LogWarning("Kafka task {Task}: could not save its report: {Message}", Id, e.Message); }
        // A server going down leaves the task active, so the next start reports it as orphaned.
        if (!(ServerStopping && status != TaskState.Success))
        {
            var duration = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - _createdAt;
            try { _ctx.Store.UpdateTaskStatus(Id, new TaskStatusPayload(Id, status, duration, error).ToJson(), false); }
            catch (Exception e) { _ctx.Log.LogWarning("Kafka task {Task}: could not record its status: {Message}", Id, e.Message); }
        }
        // Only now does the supervisor stop listing the task: the task API already answers its
        // final status, so nobody sees a task that is neither in the supervisor nor finished.
        _status = status;
        if (error is not null) _ctx.Log.LogWarning("Kafka task {Task} finished {Status}: {Error}", Id, status, error);
    }

    // ------------------------------------------------------------------ reading

    void Read(IConsumer<Ignore, byte[]> consumer, CancellationToken cancel)
    {
        var reader = new Input.RowReader(_ingest.InputFormat, null);
        var paused = new HashSet<StreamPartition>();
        var pollTimeout = TimeSpan.FromMilliseconds(Math.Max(1, _spec.IoConfig.PollTimeoutMillis));
        var maxRows = IngestSpec.persistThresholdRows(_ingest.Tuning);
        var maxBytes = MaxBytesInMemory;
        var lastPersist = Environment.TickCount64;
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            if (_group.End is { } end)
            {
                var done = true;
                lock (_gate)
                    foreach (var (p, stop) in end.Select(kv => (kv.Key, kv.Value)))
                    {
                        if (_positions[p] < stop) { done = false; continue; }
                        if (paused.Add(p)) consumer.Pause([KafkaClients.TopicPartitionOf(_spec.IoConfig, p)]);
                    }
                if (done) return;
            }
            var message = consumer.Consume(pollTimeout);
            if (message is not null && !message.IsPartitionEOF)
            {
                var counters = Rollup.RowCounters.Zero();
                long bytes = 0;
                lock (_gate)
                {
                    var end2 = _group.End;
                    var handled = 0;
                    do
                    {
                        if (!message.IsPartitionEOF) bytes += Handle(message, reader, end2, counters);
                    } while (++handled < 4096 && (message = consumer.Consume(TimeSpan.Zero)) is not null);
                    _dirty = true;
                }
                Progress.Add(counters, bytes);
            }
            if (_intake.Rows >= maxRows || _intake.Bytes >= maxBytes
                || Environment.TickCount64 - lastPersist >= _spec.Tuning.IntermediatePersistPeriodMillis)
            {
                lock (_gate) SnapshotLocked();
                lastPersist = Environment.TickCount64;
            }
        }
    }

    long MaxBytesInMemory => _ingest.Tuning.MaxBytesInMemory > 0 ? _ingest.Tuning.MaxBytesInMemory : Math.Max(32L << 20, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 12);

    long Handle(ConsumeResult<Ignore, byte[]> message, Input.RowReader reader, FSharpMap<StreamPartition, long>? end, Rollup.RowCounters counters)
    {
        var p = _multiTopic ? KafkaOffsets.topicPartition(message.Topic, message.Partition.Value) : KafkaOffsets.singleTopicPartition(message.Partition.Value);
        var offset = message.Offset.Value;
        if (!_positions.TryGetValue(p, out var position) || offset < position) return 0;
        if (end is not null && end.TryFind(p) is { } stop && offset >= stop.Value) return 0;
        _positions[p] = offset + 1;
        var value = message.Message.Value;
        if (value is null || value.Length == 0)
        {
            counters.Unparseable++;
            RecordParseError($"Empty message at partition [{p}] offset [{offset}]");
            return 0;
        }
        _results.Clear();
        reader.ReadUtf8Lines(value, _results);
        foreach (var read in _results)
        {
            switch (read)
            {
                case Input.RowResult.Unparseable bad:
                    counters.Unparseable++;
                    RecordParseError(bad.message);
                    continue;
                case Input.RowResult.Row row:
                    Add(row.Item, counters);
                    break;
            }
        }
        return value.Length;
    }

    void Add(Input.InputRow row, Rollup.RowCounters counters)
    {
        if (!SupervisorLogic.isUnbounded(_group.Window))
        {
            var time = _probe.TimeOf(row);
            if (time.IsOk && !SupervisorLogic.accepts(_group.Window, time.ResultValue.Item2))
            {
                counters.ThrownAway++;
                return;
            }
        }
        var outcome = _intake.Add(row);
        if (Rollup.countOutcome(counters, outcome) is { } parseError) RecordParseError(parseError.Value);
    }

    void RecordParseError(string message)
    {
        Progress.SaveParseError(message);
        if (_ingest.Tuning.LogParseExceptions) _ctx.Log.LogWarning("Task {Task}: {Message}", Id, message);
        if (++_unparseable > _ingest.Tuning.MaxParseExceptions)
            throw new TaskFailure($"Max parse exceptions [{_ingest.Tuning.MaxParseExceptions}] exceeded; last: {message}");
    }

    /// <summary>Moves what the index holds into immutable snapshots (the task's persists), in
    /// memory while they fit maxBytesInMemory, in the task's work dir beyond it.</summary>
    void SnapshotLocked()
    {
        foreach (var persisted in _intake.Persist()) PartsOf(persisted.Item1).Add(new PersistedPart(persisted.Item2, _persists));
        foreach (var closed in _intake.TakeClosed())
            foreach (var content in closed.Item2) PartsOf(closed.Item1).Add(new PersistedPart(content, _persists));
        foreach (var list in _parts.Values)
            RealtimeParts.Compact(_ingest, list, p => p.Rows, p => p.Content,
                merged => new PersistedPart(merged, _persists), p => p.Discard(_persists));
        _dirty = false;
    }

    List<PersistedPart> PartsOf(int key) => _parts.TryGetValue(key, out var l) ? l : _parts[key] = [];

    /// <summary>The rows read so far, as snapshots the query engine can scan.</summary>
    public List<SegmentContent> RealtimeContents()
    {
        lock (_gate)
        {
            // Once the work dir is gone nothing may be spilled or read back from it.
            if (_dirty && !_workReleased) SnapshotLocked();
            return _parts.Values.SelectMany(l => l).Select(p => p.Content).ToList();
        }
    }

    // ------------------------------------------------------------------ publishing

    void Publish(CancellationToken cancel)
    {
        _state = "BUILD_SEGMENTS";
        List<FSharpList<SegmentContent>> groups;
        lock (_gate)
        {
            SnapshotLocked();
            foreach (var closed in _intake.CloseAll())
                foreach (var content in closed.Item2) PartsOf(closed.Item1).Add(PersistedPart.Held(content));
            // Spilled persists are read back here and merged with the rest into the published segments.
            groups = _parts.OrderBy(kv => kv.Key).Select(kv => ListModule.OfSeq(kv.Value.Select(p => p.Content).ToList())).ToList();
        }
        var merged = Rollup.mergeGroups(_ingest, ListModule.OfSeq(groups))
            .Select(g => Rollup.merge(_ingest, g)).Where(m => m is not null).Select(m => m!.Value).ToList();
        var chunks = Rollup.chunkPartitions(_ingest, ListModule.OfSeq(merged)).ToList();
        var end = _group.End!;
        // Rows past the end belong to the next generation: publishing them would count them twice.
        foreach (var (p, position) in Positions.Select(kv => (kv.Key, kv.Value)))
            if (end.TryFind(p) is { } stop && position > stop.Value)
                throw new TaskFailure($"Read partition [{p}] up to offset [{position}], past its end offset [{stop.Value}]");
        var ds = _spec.DataSource;
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            lock (_ctx.Tasks.PublishLock(ds))
            {
                cancel.ThrowIfCancellationRequested();
                var storedText = _ctx.Store.GetCommitMetadata(ds);
                var stored = StoredOffsets.Parse(storedText);
                var decision = KafkaOffsets.decideCommit(stored, _group.Start, end);
                if (decision is KafkaOffsets.CommitDecision<StreamPartition>.Commit commit)
                {
                    if (TryCommit(chunks, storedText, commit.Item, cancel)) return;
                    continue;
                }
                if (decision.IsAlreadyCommitted)
                {
                    _ctx.Log.LogInformation("Kafka task {Task}: its offsets were already committed by a replica or an earlier attempt", Id);
                    return;
                }
                if (decision is KafkaOffsets.CommitDecision<StreamPartition>.Mismatch mismatch)
                    throw new TaskFailure($"The stored offsets do not match this task's offsets: {mismatch.Item}");
            }
            // An earlier range of these partitions is still publishing: its commit comes first.
            cancel.WaitHandle.WaitOne(100);
        }
    }

    bool TryCommit(List<FSharpList<SegmentContent>> chunks, string? storedText, FSharpMap<StreamPartition, long> newOffsets, CancellationToken cancel)
    {
        var ds = _spec.DataSource;
        var existing = _ctx.Store.GetUsedSegments(ds).Select(r => Segment.ofJson(r.Payload)).Where(r => r.IsOk).Select(r => r.ResultValue).ToList();
        Publish.Plan plan;
        try { plan = Core.Publish.plan(_ingest, ListModule.OfSeq(existing), ListModule.OfSeq(chunks), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()); }
        catch (Core.Publish.PublishConflict conflict) { throw new TaskFailure(conflict.Data0); }
        var now = Time.formatIso(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var existingIntervals = existing.Select(s => s.Interval).ToHashSet();
        long appendedRows = 0, appendedSegments = 0;
        var records = new List<SegmentRecord>();
        foreach (var planned in plan.Segments)
        {
            cancel.ThrowIfCancellationRequested();
            var pushed = _ctx.DeepStorage.Push(planned.Segment, SegmentFormat.write(planned.Content));
            if (existingIntervals.Contains(pushed.Interval)) { appendedSegments++; appendedRows += planned.Content.Times.Length; }
            records.Add(new SegmentRecord(Segment.segmentId(pushed), ds, Time.formatIso(pushed.Interval.Start), Time.formatIso(pushed.Interval.End),
                pushed.Version, true, true, Segment.toJson(pushed), now));
        }
        var commit = new DataSourceCommit(ds, storedText, KafkaOffsets.metadataJson(_spec.IoConfig.Stream, newOffsets));
        if (_ctx.Store.PublishSegments(records, commit) != CommitOutcome.Committed) return false;
        _published = records.Select(r => r.Id).ToList();
        _appendedRows = appendedRows;
        _appendedSegments = appendedSegments;
        _group.Committed(_published.ToList());
        _ctx.Log.LogInformation("Kafka task {Task}: published {Count} segments and offsets {Offsets}", Id, records.Count, commit.New);
        return true;
    }

    void Handoff(CancellationToken cancel)
    {
        _state = "SEGMENT_AVAILABILITY_WAIT";
        var published = _published;
        if (published.Count > 0) _ctx.Cache.Sync();
        var timeout = _spec.Tuning.HandoffConditionTimeoutMillis;
        var deadline = Environment.TickCount64 + (timeout <= 0 ? long.MaxValue / 2 : timeout);
        // A segment that failed to load, or that the retention rules do not load, will never be
        // served: waiting for it would hang forever. Druid's handoff notifier likewise counts a
        // segment no load rule matches as handed off.
        while (published.Any(id => !_ctx.Cache.IsLoaded(id) && !_ctx.Cache.IsRuledOut(id) && !_ctx.Cache.Failures.ContainsKey(id)))
        {
            if (Environment.TickCount64 > deadline) break;
            cancel.WaitHandle.WaitOne(50);
            cancel.ThrowIfCancellationRequested();
            _ctx.Cache.Sync();
        }
        HandoffConfirmed = published.All(id => _ctx.Cache.IsLoaded(id) || _ctx.Cache.IsRuledOut(id));
        _group.HandedOffAt ??= DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    }

    public bool HandoffConfirmed { get; private set; }

    public IReadOnlyList<string> Published => _published;

    /// <summary>Druid's ingestionStatsAndErrors report, plus how many rows went into intervals that already had segments.</summary>
    public JsonObject Report() => new()
    {
        ["ingestionStatsAndErrors"] = new JsonObject
        {
            ["type"] = "ingestionStatsAndErrors",
            ["taskId"] = Id,
            ["payload"] = new JsonObject
            {
                ["ingestionState"] = _state,
                ["unparseableEvents"] = new JsonObject { ["buildSegments"] = Progress.ParseErrors() },
                ["rowStats"] = new JsonObject { ["buildSegments"] = Progress.RowStats() },
                ["errorMsg"] = _error,
                ["segmentAvailabilityConfirmed"] = HandoffConfirmed,
                ["segmentsPublished"] = new JsonArray(_published.Select(p => (JsonNode?)JsonValue.Create(p)).ToArray()),
                ["lateData"] = new JsonObject { ["rowsAppendedToExistingIntervals"] = _appendedRows, ["segmentsAppendedToExistingIntervals"] = _appendedSegments },
                ["currentOffsets"] = OffsetsJson(Positions),
            },
        },
    };

    public static JsonObject OffsetsJson(FSharpMap<StreamPartition, long> offsets)
    {
        var o = new JsonObject();
        foreach (var kv in offsets) o[kv.Key.ToString()] = kv.Value;
        return o;
    }
}

/// <summary>The stored offsets of a data source (empty when none are stored or they belong to another stream type).</summary>
public static class StoredOffsets
{
    public static FSharpMap<StreamPartition, long> Parse(string? text)
    {
        if (string.IsNullOrEmpty(text)) return MapModule.Empty<StreamPartition, long>();
        var parsed = KafkaOffsets.parseStreamMetadataText(text);
        return parsed.IsOk ? parsed.ResultValue.Item2 : MapModule.Empty<StreamPartition, long>();
    }
}

/// <summary>One intermediate persist of a Kafka task: in memory, or a segment file in the task's
/// work dir that realtime queries and the publish read back (kept while the GC lets it be).</summary>
sealed class PersistedPart
{
    readonly SegmentContent? _memory;
    readonly string? _path;
    readonly WeakReference<SegmentContent>? _read;

    public PersistedPart(SegmentContent content, IntermediatePersists persists)
    {
        Rows = content.Times.Length;
        _path = persists.SpillIfOverBudget(content);
        if (_path is null) _memory = content;
        else _read = new WeakReference<SegmentContent>(content);
    }

    PersistedPart(SegmentContent content)
    {
        _memory = content;
        Rows = content.Times.Length;
    }

    /// <summary>Rows of the part, known without reading a spilled part back.</summary>
    public int Rows { get; }

    /// <summary>Held in memory outside the budget (the last rows, about to be merged and published).</summary>
    public static PersistedPart Held(SegmentContent content) => new(content);

    public SegmentContent Content
    {
        get
        {
            if (_memory is not null) return _memory;
            if (_read!.TryGetTarget(out var content)) return content;
            content = IntermediatePersists.Read(_path!);
            _read.SetTarget(content);
            return content;
        }
    }

    /// <summary>Merged into a bigger persist: its memory returns to the budget, its file goes.</summary>
    public void Discard(IntermediatePersists persists)
    {
        if (_memory is not null) persists.Released(_memory);
        else File.Delete(_path!);
    }
}

using System.Text.Json.Nodes;
using Confluent.Kafka;
using FunctionalDruid.Core;
using FunctionalDruid.Host.Indexing;
using FunctionalDruid.Host.Metadata;
using Microsoft.FSharp.Collections;
using StreamPartition = FunctionalDruid.Core.KafkaOffsets.StreamPartition;

namespace FunctionalDruid.Host.Streaming;

/// <summary>
/// Druid's Kafka supervisor for one data source: every period it discovers the topic's
/// partitions, ends the reading of task groups that have read for taskDuration (they then
/// publish), starts the next generation of each task group from where the previous one ends
/// (or from the stored offsets, made durable first), and replaces failed groups from the
/// stored offsets. Decisions come from Core (SupervisorLogic, KafkaOffsets).
/// </summary>
public sealed class KafkaSupervisor : IDisposable
{
    readonly StreamTaskContext _ctx;
    readonly object _gate = new();
    readonly Dictionary<int, TaskGroupRun> _reading = [];
    readonly List<TaskGroupRun> _publishing = [];
    readonly List<(TaskGroupRun Group, long At)> _finished = [];
    readonly Queue<JsonObject> _recentErrors = new();
    readonly CancellationTokenSource _stopping = new();
    readonly Action<KafkaIndexTask> _registerTask;
    readonly SemaphoreSlim _nudge = new(0);
    readonly Task _loop;
    IConsumer<Ignore, byte[]>? _offsetsConsumer;
    List<StreamPartition> _partitions = [];
    FSharpMap<StreamPartition, long> _latest = MapModule.Empty<StreamPartition, long>();
    string? _offsetsLastUpdated;
    string _detailedState = "PENDING";
    bool _everConnected;
    volatile bool _terminating;

    public KafkaSupervisor(KafkaSpec.SupervisorSpec spec, StreamTaskContext ctx, Action<KafkaIndexTask> registerTask)
    {
        Spec = spec;
        _ctx = ctx;
        _registerTask = registerTask;
        _loop = Task.Factory.StartNew(Loop, TaskCreationOptions.LongRunning).Unwrap();
    }

    public KafkaSpec.SupervisorSpec Spec { get; private set; }
    public string Id => Spec.Id;
    /// <summary>True once a terminated supervisor's last tasks have finished.</summary>
    public bool Finished { get; private set; }

    async Task Loop()
    {
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Spec.IoConfig.StartDelayMillis), _stopping.Token);
            while (!_stopping.IsCancellationRequested)
            {
                try
                {
                    RunOnce(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                    _failedRuns = 0;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    RecordError(e.Message);
                    _ctx.Log.LogWarning("Supervisor {Id}: {Message}", Id, e.Message);
                    if (++_failedRuns >= SupervisorLogic.unhealthinessThreshold) _detailedState = "UNHEALTHY_SUPERVISOR";
                }
                if (Finished) return;
                await _nudge.WaitAsync(TimeSpan.FromMilliseconds(Math.Max(10, Spec.IoConfig.PeriodMillis)), _stopping.Token);
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Runs the next iteration now instead of waiting for the period.</summary>
    public void Nudge() => _nudge.Release();

    void RecordError(string message)
    {
        lock (_recentErrors)
        {
            _recentErrors.Enqueue(new JsonObject
            {
                ["timestamp"] = Time.formatIso(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
                ["exceptionClass"] = "org.apache.druid.java.util.common.ISE",
                ["message"] = message,
                ["streamException"] = false,
            });
            while (_recentErrors.Count > 10) _recentErrors.Dequeue();
        }
    }

    int _failedRuns;

    static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>One iteration of the supervisor.</summary>
    void RunOnce(long now)
    {
        lock (_gate)
        {
            var spec = Spec;
            var io = spec.IoConfig;
            CleanUp(now);
            if (_terminating)
            {
                foreach (var g in _reading.Values.ToList()) EndReading(g, now);
                if (_publishing.Count == 0) Finished = true;
                return;
            }
            var (partitions, error) = KafkaClients.Partitions(io, TimeSpan.FromSeconds(5), _ctx.Log);
            if (partitions is null)
            {
                RecordError(error!);
                _detailedState = _everConnected ? "LOST_CONTACT_WITH_STREAM" : "UNABLE_TO_CONNECT_TO_STREAM";
                return;
            }
            _everConnected = true;
            _partitions = partitions;
            _offsetsConsumer ??= KafkaClients.Consumer(io, $"kafka-supervisor-{spec.DataSource}", _ctx.Log);
            FSharpMap<StreamPartition, long> earliest;
            try
            {
                (earliest, _latest) = KafkaClients.Watermarks(_offsetsConsumer, io, partitions, TimeSpan.FromSeconds(5));
                _offsetsLastUpdated = Time.formatIso(now);
            }
            catch (KafkaException e)
            {
                RecordError($"Unable to fetch the offsets of [{io.Stream}]: {e.Error.Reason}");
                _detailedState = "LOST_CONTACT_WITH_STREAM";
                return;
            }
            foreach (var g in _reading.Values.ToList())
                if (spec.Suspended || SupervisorLogic.shouldStopReading(g.CreatedAt, io.TaskDurationMillis, now)) EndReading(g, now);
            if (spec.Suspended)
            {
                _detailedState = "SUSPENDED";
                return;
            }
            foreach (var assignment in SupervisorLogic.assignStreamPartitions(io.TaskCount, ListModule.OfSeq(partitions)))
            {
                if (_reading.TryGetValue(assignment.Item1, out var current))
                {
                    // A topic that started to match the pattern: the group's next generation reads
                    // it (Druid's repartition), so the reading one ends now and publishes.
                    if (assignment.Item2.All(current.Start.ContainsKey)) continue;
                    EndReading(current, now);
                }
                StartGroup(assignment.Item1, assignment.Item2.ToList(), earliest, now);
            }
            _detailedState = "RUNNING";
        }
    }

    /// <summary>Drops finished groups; replaces failed ones (their range is read again from the stored offsets).</summary>
    void CleanUp(long now)
    {
        foreach (var g in _reading.Values.ToList())
            if (g.AllFailed)
            {
                _reading.Remove(g.GroupId);
                RecordError($"Task group [{g.GroupId}] failed: {g.Replicas.Select(r => r.Error).FirstOrDefault(e => e is not null)}");
            }
            else
            {
                // A failed replica is replaced while its twins keep reading: the newcomer reads the
                // group's range from its start offsets, and the commit rule lets only one publish count.
                var failed = g.Replicas.Where(r => r.Status == TaskState.Failed && !r.ServerStopping && !g.Replaced.Contains(r.Id)).ToList();
                var replace = SupervisorLogic.replicasToReplace(g.Spec.IoConfig.Replicas, g.Replaced.Count, ListModule.OfSeq(failed.Select(r => r.Id))).ToHashSet();
                foreach (var r in failed.Where(r => replace.Contains(r.Id)))
                {
                    g.Replaced.Add(r.Id);
                    RecordError($"Task [{r.Id}] of task group [{g.GroupId}] failed ({r.Error}); starting a replacement from the group's start offsets");
                    StartReplica(g, now);
                }
            }
        foreach (var g in _publishing.ToList())
        {
            var timedOut = g.PublishingSince is { } since && SupervisorLogic.completionTimedOut(since, Spec.IoConfig.CompletionTimeoutMillis, now);
            if (g.Succeeded)
            {
                _publishing.Remove(g);
                _finished.Add((g, now));
            }
            else if (g.AllFailed || timedOut)
            {
                _publishing.Remove(g);
                foreach (var r in g.Replicas) r.Kill("Publishing did not complete within completionTimeout; the range will be read again");
                // Later groups of these partitions started from this group's end, which was never committed.
                foreach (var later in _reading.Values.Where(r => r.Start.Keys.Intersect(g.Start.Keys).Any()).ToList())
                {
                    foreach (var t in later.Replicas) t.Kill("An earlier task group of its partitions failed to publish");
                    _reading.Remove(later.GroupId);
                }
                foreach (var later in _publishing.Where(p => p.CreatedAt > g.CreatedAt && p.Start.Keys.Intersect(g.Start.Keys).Any()).ToList())
                {
                    foreach (var t in later.Replicas) t.Kill("An earlier task group of its partitions failed to publish");
                    _publishing.Remove(later);
                }
                RecordError($"Publishing task group [{g.GroupId}] failed: {g.Replicas.Select(r => r.Error).FirstOrDefault(e => e is not null)}");
            }
        }
        // Handed-off groups answer queries until the cache serves their segments; a minute is ample.
        _finished.RemoveAll(f => now - f.At > 60_000);
    }

    void EndReading(TaskGroupRun g, long now)
    {
        // The end is taken from the replicas' positions and given to them while none of them
        // handles a message: otherwise a replica reads on past the position it reported, keeps
        // rows beyond the end it then gets, and the next generation reads those rows again.
        var alive = g.Replicas.Where(r => r.IsAlive).ToList();
        KafkaIndexTask.WhileNoneReads(alive, () =>
            g.EndReading(KafkaOffsets.endOffsets(g.Start, ListModule.OfSeq(alive.Select(r => r.Positions).ToList())), now));
        _reading.Remove(g.GroupId);
        _publishing.Add(g);
    }

    void StartGroup(int groupId, List<StreamPartition> partitions, FSharpMap<StreamPartition, long> earliest, long now)
    {
        var spec = Spec;
        var ds = spec.DataSource;
        FSharpMap<StreamPartition, long> start;
        // The start offsets are made durable before anything is read, under the publish lock so
        // that no publish moves them in between.
        lock (_ctx.Tasks.PublishLock(ds))
        {
            while (true)
            {
                var storedText = _ctx.Store.GetCommitMetadata(ds);
                var stored = StoredOffsets.Parse(storedText);
                var check = KafkaOffsets.checkStoredOffsets(stored, ListModule.OfSeq(partitions), earliest, _latest,
                    spec.IoConfig.UseEarliestOffset, spec.Tuning.ResetOffsetAutomatically);
                if (check is KafkaOffsets.StartCheck<StreamPartition>.Unavailable unavailable) throw new InvalidOperationException(unavailable.Item);
                if (check is KafkaOffsets.StartCheck<StreamPartition>.Reset reset)
                {
                    var resetCommit = new DataSourceCommit(ds, storedText, KafkaOffsets.metadataJson(spec.IoConfig.Stream, reset.Item1));
                    if (_ctx.Store.PublishSegments([], resetCommit) == CommitOutcome.Committed)
                        foreach (var note in reset.Item2)
                        {
                            RecordError(note);
                            _ctx.Log.LogWarning("Supervisor {Id}: {Message}", Id, note);
                        }
                    continue;
                }
                var fromStore = KafkaOffsets.startOffsets(stored, ListModule.OfSeq(partitions), earliest, _latest, spec.IoConfig.UseEarliestOffset);
                // A partition whose previous range is still publishing continues where that range ends.
                start = MapModule.OfSeq(fromStore.Select(kv =>
                {
                    var pending = _publishing.Where(p => p.End is not null && p.End.ContainsKey(kv.Key)).Select(p => p.End![kv.Key]).DefaultIfEmpty(kv.Value).Max();
                    return Tuple.Create(kv.Key, Math.Max(pending, kv.Value));
                }));
                var durable = KafkaOffsets.withStartOffsets(stored, fromStore);
                if (durable is null) break;
                var commit = new DataSourceCommit(ds, storedText, KafkaOffsets.metadataJson(spec.IoConfig.Stream, durable.Value));
                if (_ctx.Store.PublishSegments([], commit) == CommitOutcome.Committed) break;
            }
        }
        var group = new TaskGroupRun(groupId, start, now, spec);
        for (var i = 0; i < spec.IoConfig.Replicas; i++) StartReplica(group, now);
        _reading[groupId] = group;
    }

    void StartReplica(TaskGroupRun group, long now)
    {
        var ds = group.Spec.DataSource;
        var id = SupervisorLogic.taskId(ds, RandomSuffix());
        var task = new KafkaIndexTask(id, group, _ctx, _stopping.Token);
        _ctx.Store.InsertTask(new TaskRecord(id, Time.formatIso(now), ds, "index_kafka", TaskPayload(id, group).ToJsonString(),
            new TaskStatusPayload(id, TaskState.Running, -1, null).ToJson(), true, SupervisorLogic.taskGroupIdOf(ds)));
        _registerTask(task);
        // Added only once recorded, so a replica in the group always has a task row to update.
        group.AddReplica(task);
        task.Start();
    }

    static string RandomSuffix()
    {
        const string letters = "abcdefghijklmnopqrstuvwxyz";
        return string.Create(8, 0, (span, _) => { for (var i = 0; i < span.Length; i++) span[i] = letters[Random.Shared.Next(letters.Length)]; });
    }

    /// <summary>Druid's KafkaIndexTask JSON (the fields clients read).</summary>
    JsonObject TaskPayload(string id, TaskGroupRun group)
    {
        var io = Spec.IoConfig;
        JsonObject SequenceNumbers(string type, FSharpMap<StreamPartition, long> offsets) => new()
        {
            ["type"] = type,
            ["stream"] = io.Stream,
            ["topic"] = io.Stream,
            ["partitionSequenceNumberMap"] = KafkaIndexTask.OffsetsJson(offsets),
            ["partitionOffsetMap"] = KafkaIndexTask.OffsetsJson(offsets),
        };
        var consumer = new JsonObject();
        foreach (var (k, v) in io.ConsumerProperties.Select(p => (p.Item1, p.Item2))) consumer[k] = v;
        return new JsonObject
        {
            ["type"] = "index_kafka",
            ["id"] = id,
            ["groupId"] = SupervisorLogic.taskGroupIdOf(Spec.DataSource),
            ["resource"] = new JsonObject { ["availabilityGroup"] = $"index_kafka_{Spec.DataSource}_{group.GroupId}_{group.CreatedAt}", ["requiredCapacity"] = 1 },
            ["dataSource"] = Spec.DataSource,
            ["ioConfig"] = new JsonObject
            {
                ["type"] = "kafka",
                ["taskGroupId"] = group.GroupId,
                ["baseSequenceName"] = $"index_kafka_{Spec.DataSource}_{group.GroupId}_{group.CreatedAt}",
                ["startSequenceNumbers"] = SequenceNumbers("start", group.Start),
                ["endSequenceNumbers"] = SequenceNumbers("end", MapModule.OfSeq(group.Start.Select(kv => Tuple.Create(kv.Key, long.MaxValue)))),
                ["consumerProperties"] = consumer,
                ["pollTimeout"] = io.PollTimeoutMillis,
                ["multiTopic"] = io.Topic is null,
                ["useTransaction"] = true,
                ["minimumMessageTime"] = group.Window.Earliest == long.MinValue ? null : Time.formatIso(group.Window.Earliest),
                ["maximumMessageTime"] = group.Window.Latest == long.MaxValue ? null : Time.formatIso(group.Window.Latest),
            },
        };
    }

    // ------------------------------------------------------------------ operations

    /// <summary>A new spec: the reading groups publish what they read; the next ones use the new spec.</summary>
    public void Update(KafkaSpec.SupervisorSpec spec)
    {
        lock (_gate)
        {
            Spec = spec;
            var now = Now();
            foreach (var g in _reading.Values.ToList()) EndReading(g, now);
        }
        Nudge();
    }

    /// <summary>Stops every task at once, then runs <paramref name="change"/> (e.g. on the stored offsets).</summary>
    public void KillAllThen(Action change)
    {
        List<KafkaIndexTask> tasks;
        lock (_gate)
        {
            tasks = _reading.Values.Concat(_publishing).SelectMany(g => g.Replicas).ToList();
            foreach (var t in tasks) t.Kill("Killed by the supervisor: its offsets were reset");
            _reading.Clear();
            _publishing.Clear();
            _finished.Clear();
        }
        try { Task.WaitAll(tasks.Select(t => t.Work).OfType<Task>().ToArray(), TimeSpan.FromSeconds(30)); } catch (AggregateException) { }
        lock (_ctx.Tasks.PublishLock(Spec.DataSource)) change();
        Nudge();
    }

    /// <summary>Reading ends now; the supervisor goes away once its tasks have published.</summary>
    public void Terminate()
    {
        _terminating = true;
        Nudge();
    }

    public IEnumerable<TaskGroupRun> Groups()
    {
        lock (_gate) return _reading.Values.Concat(_publishing).Concat(_finished.Select(f => f.Group)).ToList();
    }

    public string DetailedState => _terminating ? "STOPPING" : _detailedState;
    public bool Healthy => DetailedState is not ("UNHEALTHY_SUPERVISOR" or "UNHEALTHY_TASKS" or "UNABLE_TO_CONNECT_TO_STREAM" or "LOST_CONTACT_WITH_STREAM");

    /// <summary>Druid's supervisor status report payload.</summary>
    public JsonObject StatusPayload()
    {
        lock (_gate)
        {
            var now = Now();
            var io = Spec.IoConfig;
            JsonObject TaskReport(KafkaIndexTask t, TaskGroupRun g, string type)
            {
                var current = t.Positions;
                return new JsonObject
                {
                    ["id"] = t.Id,
                    ["startingOffsets"] = KafkaIndexTask.OffsetsJson(g.Start),
                    ["startTime"] = Time.formatIso(g.CreatedAt),
                    ["remainingSeconds"] = type == "ACTIVE" ? SupervisorLogic.remainingSeconds(g.CreatedAt, io.TaskDurationMillis, now) : 0,
                    ["type"] = type,
                    ["currentOffsets"] = KafkaIndexTask.OffsetsJson(current),
                    ["lag"] = KafkaIndexTask.OffsetsJson(KafkaOffsets.lag(_latest, current)),
                };
            }
            var stored = StoredOffsets.Parse(_ctx.Store.GetCommitMetadata(Spec.DataSource));
            var minimumLag = KafkaOffsets.lag(_latest, MapModule.OfSeq(_latest.Select(kv =>
            {
                var read = _reading.Values.SelectMany(g => g.Replicas.Where(r => r.IsAlive).Select(r => r.Positions))
                    .Where(m => m.ContainsKey(kv.Key)).Select(m => m[kv.Key]).DefaultIfEmpty(stored.TryFind(kv.Key)?.Value ?? kv.Value).Max();
                return Tuple.Create(kv.Key, read);
            })));
            JsonArray errors;
            lock (_recentErrors) errors = new JsonArray(_recentErrors.Select(e => (JsonNode?)e.DeepClone()).ToArray());
            var detailed = DetailedState;
            return new JsonObject
            {
                ["dataSource"] = Spec.DataSource,
                ["stream"] = io.Stream,
                ["partitions"] = _partitions.Count,
                ["replicas"] = io.Replicas,
                ["durationSeconds"] = io.TaskDurationMillis / 1000,
                ["activeTasks"] = new JsonArray(_reading.Values.SelectMany(g => g.Replicas.Where(r => r.IsAlive).Select(r => (JsonNode?)TaskReport(r, g, "ACTIVE"))).ToArray()),
                ["publishingTasks"] = new JsonArray(_publishing.SelectMany(g => g.Replicas.Where(r => r.IsAlive).Select(r => (JsonNode?)TaskReport(r, g, "PUBLISHING"))).ToArray()),
                ["latestOffsets"] = KafkaIndexTask.OffsetsJson(_latest),
                ["minimumLag"] = KafkaIndexTask.OffsetsJson(minimumLag),
                ["aggregateLag"] = Math.Max(0, minimumLag.Sum(kv => Math.Max(0, kv.Value))),
                ["offsetsLastUpdated"] = _offsetsLastUpdated,
                ["suspended"] = Spec.Suspended,
                ["healthy"] = Healthy,
                ["state"] = SupervisorLogic.stateOf(detailed),
                ["detailedState"] = detailed,
                ["recentErrors"] = errors,
            };
        }
    }

    public FSharpMap<StreamPartition, long> Latest { get { lock (_gate) return _latest; } }
    public FSharpMap<StreamPartition, long> Earliest()
    {
        lock (_gate)
        {
            if (_offsetsConsumer is null) return MapModule.Empty<StreamPartition, long>();
            try { return KafkaClients.Watermarks(_offsetsConsumer, Spec.IoConfig, _partitions, TimeSpan.FromSeconds(5)).Earliest; }
            catch (KafkaException) { return MapModule.Empty<StreamPartition, long>(); }
        }
    }

    /// <summary>Server shutdown: tasks stop where they are, nothing is published (the next start reads again from the stored offsets).</summary>
    public void Dispose()
    {
        _stopping.Cancel();
        List<Task> work;
        lock (_gate) work = _reading.Values.Concat(_publishing).SelectMany(g => g.Replicas).Select(r => r.Work).OfType<Task>().ToList();
        try { Task.WaitAll(work.Append(_loop).ToArray(), TimeSpan.FromSeconds(30)); } catch (AggregateException) { }
        lock (_gate)
        {
            _offsetsConsumer?.Dispose();
            _offsetsConsumer = null;
        }
    }
}

using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using FunctionalDruid.Core;
using FunctionalDruid.Host.Config;
using FunctionalDruid.Host.Indexing;
using FunctionalDruid.Host.Metadata;
using FunctionalDruid.Host.Querying;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using StreamPartition = FunctionalDruid.Core.KafkaOffsets.StreamPartition;

namespace FunctionalDruid.Host.Streaming;

/// <summary>An invalid supervisor request (HTTP 400).</summary>
public sealed class InvalidSupervisorException(string message) : Exception(message);

/// <summary>
/// The overlord's supervisor manager: keeps every supervisor spec version in the metadata
/// store, runs one supervisor per live spec (restarted from the store when the server starts),
/// answers the supervisor API, serves the realtime rows of Kafka tasks to queries and their
/// status and reports to the task API.
/// </summary>
public sealed class SupervisorManager : IRealtimeSegments, IExternalTaskRunner, IDisposable
{
    const string Tombstone = "NoopSupervisorSpec";
    readonly StreamTaskContext _ctx;
    readonly ServerConfig _config;
    readonly ConcurrentDictionary<string, KafkaSupervisor> _supervisors = new();
    readonly ConcurrentDictionary<string, KafkaIndexTask> _tasks = new();
    readonly object _gate = new();
    readonly List<KafkaSupervisor> _retired = [];

    public SupervisorManager(StreamTaskContext ctx, ServerConfig config)
    {
        _ctx = ctx;
        _config = config;
    }

    /// <summary>Server-wide timing overrides (druid.supervisor.override.taskDuration etc.), mainly for tests.</summary>
    KafkaSpec.SupervisorSpec WithOverrides(KafkaSpec.SupervisorSpec spec)
    {
        FSharpOption<long>? Setting(string name)
        {
            var text = _config.Get($"druid.supervisor.override.{name}");
            if (text is null) return null;
            return KafkaSpec.tryParseDurationMillis(text) ?? throw new ConfigException($"druid.supervisor.override.{name} must be a duration, got \"{text}\"");
        }
        return KafkaSpec.withTimings(Setting("taskDuration"), Setting("period"), Setting("startDelay"), Setting("intermediatePersistPeriod"),
            Setting("completionTimeout"), spec);
    }

    static bool IsTombstone(string payload) => JsonNode.Parse(payload)?["type"]?.GetValue<string>() == Tombstone;

    /// <summary>Restarts the supervisors whose latest spec is live (after a restart or a crash).</summary>
    public void StartFromStore()
    {
        foreach (var record in _ctx.Store.GetLatestSupervisors())
        {
            if (IsTombstone(record.Payload)) continue;
            var parsed = KafkaSpec.parseText(record.Payload);
            if (parsed.IsError)
            {
                _ctx.Log.LogError("Supervisor {Id}: stored spec is invalid: {Problem}", record.SpecId, parsed.ErrorValue.Item2);
                continue;
            }
            Run(WithOverrides(parsed.ResultValue));
        }
    }

    void Run(KafkaSpec.SupervisorSpec spec) =>
        _supervisors[spec.Id] = new KafkaSupervisor(spec, _ctx, t => _tasks[t.Id] = t);

    /// <summary>Creates or updates a supervisor; returns its id.</summary>
    public string Submit(string body)
    {
        var parsed = KafkaSpec.parseText(body);
        if (parsed.IsError) throw new InvalidSupervisorException(Api.DruidErrors.AtPath(parsed.ErrorValue.Item1, parsed.ErrorValue.Item2));
        var json = (JsonObject)JsonNode.Parse(Json.normalizeComments(body), documentOptions: Json.documentOptions)!;
        return Save(parsed.ResultValue, json);
    }

    string Save(KafkaSpec.SupervisorSpec spec, JsonObject json)
    {
        lock (_gate)
        {
            json["suspended"] = spec.Suspended;
            _ctx.Store.InsertSupervisor(spec.Id, json.ToJsonString());
            var effective = WithOverrides(spec);
            var existing = _supervisors.GetValueOrDefault(spec.Id);
            if (existing is not null && Terminated(existing)) _retired.Add(existing);
            if (existing is null || existing.Finished || Terminated(existing)) Run(effective);
            else existing.Update(effective);
            return spec.Id;
        }
    }

    KafkaSupervisor Require(string id) =>
        _supervisors.TryGetValue(id, out var s) && !s.Finished && !Terminated(s) ? s : throw new KeyNotFoundException($"Cannot find any supervisor with id: [{id}]");

    static bool Terminated(KafkaSupervisor s) => s.DetailedState == "STOPPING";

    public IReadOnlyList<string> Ids() => Live().Select(s => s.Id).Order(StringComparer.Ordinal).ToList();

    IEnumerable<KafkaSupervisor> Live() => _supervisors.Values.Where(s => !s.Finished && !Terminated(s));

    public JsonNode? SpecOf(string id)
    {
        Require(id);
        var latest = _ctx.Store.GetSupervisorHistory(id).FirstOrDefault();
        return latest is null ? null : Normalized(latest.Payload);
    }

    /// <summary>A stored spec in Druid's current form with defaults filled (tombstones as they are).</summary>
    static JsonNode? Normalized(string payload)
    {
        if (IsTombstone(payload)) return JsonNode.Parse(payload);
        var normalized = KafkaSpecJson.normalizeText(payload);
        return JsonNode.Parse(normalized.IsOk ? normalized.ResultValue : payload);
    }

    public JsonObject StateOf(string id)
    {
        var s = Require(id);
        return new JsonObject
        {
            ["id"] = id,
            ["state"] = SupervisorLogic.stateOf(s.DetailedState),
            ["detailedState"] = s.DetailedState,
            ["healthy"] = s.Healthy,
            ["suspended"] = s.Spec.Suspended,
        };
    }

    public JsonArray Full() => new(Live().OrderBy(s => s.Id, StringComparer.Ordinal).Select(s =>
    {
        var o = StateOf(s.Id);
        o["spec"] = SpecOf(s.Id);
        return (JsonNode?)o;
    }).ToArray());

    public JsonArray States() => new(Live().OrderBy(s => s.Id, StringComparer.Ordinal).Select(s => (JsonNode?)StateOf(s.Id)).ToArray());

    public JsonObject Status(string id) => new()
    {
        ["id"] = id,
        ["generationTime"] = Time.formatIso(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
        ["payload"] = Require(id).StatusPayload(),
    };

    public JsonArray? History(string id)
    {
        var history = _ctx.Store.GetSupervisorHistory(id);
        if (history.Count == 0) return null;
        return new JsonArray(history.Select(h => (JsonNode?)new JsonObject { ["spec"] = Normalized(h.Payload), ["version"] = h.CreatedDate }).ToArray());
    }

    public JsonObject AllHistory()
    {
        var o = new JsonObject();
        foreach (var id in _ctx.Store.GetLatestSupervisors().Select(r => r.SpecId)) o[id] = History(id);
        return o;
    }

    /// <summary>Suspends or resumes; returns the updated spec, as Druid does.</summary>
    public JsonNode SetSuspended(string id, bool suspended)
    {
        var s = Require(id);
        var json = (JsonObject)SpecOf(id)!;
        if (s.Spec.Suspended == suspended)
            throw new InvalidSupervisorException($"[{id}] is already {(suspended ? "suspended" : "running")}");
        json["suspended"] = suspended;
        var parsed = KafkaSpec.parseText(json.ToJsonString());
        Save(parsed.ResultValue, json);
        return json;
    }

    /// <summary>Druid's hard reset: the stored offsets are cleared and every task stops; reading restarts from useEarliestOffset.</summary>
    public void Reset(string id)
    {
        var s = Require(id);
        s.KillAllThen(() => _ctx.Store.DeleteCommitMetadata(s.Spec.DataSource));
    }

    /// <summary>Per-partition reset: what it would skip or re-read, applied unless this is a preview.</summary>
    public JsonObject ResetOffsets(string id, string body, bool preview)
    {
        var s = Require(id);
        var parsed = KafkaOffsets.parseStreamMetadataText(body);
        if (parsed.IsError) throw new InvalidSupervisorException(Api.DruidErrors.AtPath(parsed.ErrorValue.Item1, parsed.ErrorValue.Item2));
        var (stream, requested) = (parsed.ResultValue.Item1, parsed.ResultValue.Item2);
        if (stream != "" && stream != s.Spec.IoConfig.Stream)
            throw new InvalidSupervisorException($"Stream [{stream}] does not match the supervisor's stream [{s.Spec.IoConfig.Stream}]");
        var storedNow = StoredOffsets.Parse(_ctx.Store.GetCommitMetadata(s.Spec.DataSource));
        var effects = KafkaOffsets.resetPreview(storedNow, requested, s.Earliest(), s.Latest);
        var result = new JsonObject
        {
            ["id"] = id,
            ["applied"] = !preview,
            ["partitions"] = new JsonArray(effects.Select(e => (JsonNode?)new JsonObject
            {
                ["partition"] = e.Partition.IsMultiTopic ? JsonValue.Create(e.Partition.ToString()) : JsonValue.Create(e.Partition.Partition),
                ["currentOffset"] = e.Current is { } c ? c.Value : null,
                ["requestedOffset"] = e.Requested,
                ["skippedMessages"] = e.Skipped,
                ["rereadMessages"] = e.Reread,
                ["outOfRange"] = e.OutOfRange,
            }).ToArray()),
        };
        if (preview) return result;
        var ds = s.Spec.DataSource;
        var topic = s.Spec.IoConfig.Stream;
        s.KillAllThen(() =>
        {
            var storedText = _ctx.Store.GetCommitMetadata(ds);
            var next = KafkaOffsets.applyReset(StoredOffsets.Parse(storedText), requested);
            _ctx.Store.PublishSegments([], new DataSourceCommit(ds, storedText, KafkaOffsets.metadataJson(topic, next)));
        });
        return result;
    }

    public void Terminate(string id)
    {
        var s = Require(id);
        lock (_gate)
        {
            _ctx.Store.InsertSupervisor(id, new JsonObject
            {
                ["type"] = Tombstone,
                ["id"] = id,
                ["dataSources"] = new JsonArray(s.Spec.DataSource),
                ["suspended"] = false,
            }.ToJsonString());
            s.Terminate();
        }
    }

    public void SuspendAll() { foreach (var s in Live().ToList()) if (!s.Spec.Suspended) SetSuspended(s.Id, true); }
    public void ResumeAll() { foreach (var s in Live().ToList()) if (s.Spec.Suspended) SetSuspended(s.Id, false); }
    public void TerminateAll() { foreach (var s in Live().ToList()) Terminate(s.Id); }

    // ------------------------------------------------------------------ realtime rows

    public IEnumerable<QuerySlices.SegmentSlice> SlicesFor(string dataSource, IReadOnlyList<Time.Interval> intervals, IReadOnlySet<string> leasedSegmentIds)
    {
        var slices = new List<QuerySlices.SegmentSlice>();
        foreach (var s in _supervisors.Values.Where(s => s.Spec.DataSource == dataSource))
        foreach (var group in s.Groups())
        {
            // Handed off: the cache serves the group's segments, or the retention rules keep them unserved.
            if (group.PublishedIds is { } ids && ids.All(id => leasedSegmentIds.Contains(id) || _ctx.Cache.IsRuledOut(id))) continue;
            if (group.Contributor is not { } task) continue;
            var i = 0;
            foreach (var content in task.RealtimeContents())
            {
                var n = i++;
                if (!intervals.Any(q => q.Start < content.Interval.End && content.Interval.Start < q.End)) continue;
                slices.Add(new QuerySlices.SegmentSlice($"{task.Id}_realtime_{n}", content, content.Interval));
            }
        }
        return slices;
    }

    // ------------------------------------------------------------------ the task API

    public string? RunnerStatus(string id) => _tasks.TryGetValue(id, out var t) ? (t.IsAlive ? "RUNNING" : "NONE") : null;
    public JsonObject? Report(string id) => _tasks.TryGetValue(id, out var t) ? t.Report() : null;

    public bool Shutdown(string id)
    {
        if (!_tasks.TryGetValue(id, out var t) || !t.IsAlive) return false;
        t.Kill("Shutdown request from user");
        return true;
    }

    public void Dispose()
    {
        foreach (var s in _supervisors.Values.Concat(_retired)) s.Dispose();
        _supervisors.Clear();
    }
}

using System.Collections.Concurrent;
using FunctionalDruid.Core;
using FunctionalDruid.Host.Metadata;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace FunctionalDruid.Host.Storage;

/// <summary>A published segment served from the local cache: the memory-mapped file and its
/// reader. Queries hold a lease so a segment that stops being used is unmapped only after the
/// last query over it finishes.</summary>
public sealed class LoadedSegment
{
    readonly MappedFile _file;
    int _leases = 1; // the cache's own lease, given up on unload

    internal LoadedSegment(string id, Segment.DataSegment segment, MappedFile file, SegmentReader reader)
    {
        Id = id;
        Segment = segment;
        _file = file;
        Reader = reader;
    }

    public string Id { get; }
    public Segment.DataSegment Segment { get; }
    public SegmentReader Reader { get; }

    SegmentContent? _content;

    /// <summary>The segment's columns decoded once, on first query (the engine's input).</summary>
    public SegmentContent Content => _content ??= SegmentFormat.readContent(Reader);

    public bool TryLease()
    {
        while (true)
        {
            var n = Volatile.Read(ref _leases);
            if (n == 0) return false;
            if (Interlocked.CompareExchange(ref _leases, n + 1, n) == n) return true;
        }
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _leases) == 0) ((IDisposable)_file).Dispose();
    }
}

/// <summary>Loads used segments from deep storage into the local segment cache and serves them
/// (Druid's historical role), following the retention rules (Druid's coordinator role). The
/// metadata store is the source of truth for segments and rules.</summary>
public sealed class SegmentCache : IDisposable
{
    readonly IMetadataStore _store;
    readonly string _cacheDir;
    readonly ILogger _log;
    readonly ConcurrentDictionary<string, LoadedSegment> _loaded = new();
    readonly ConcurrentDictionary<string, string> _failures = new();
    readonly ConcurrentDictionary<string, byte> _ruledOut = new();
    readonly object _syncGate = new();

    public SegmentCache(IMetadataStore store, string cacheDir, ILogger log)
    {
        _store = store;
        _cacheDir = cacheDir;
        _log = log;
        Directory.CreateDirectory(cacheDir);
    }

    /// <summary>Segments that could not be loaded, with the reason (shown in load status).</summary>
    public IReadOnlyDictionary<string, string> Failures => _failures;

    public bool IsLoaded(string segmentId) => _loaded.ContainsKey(segmentId);

    /// <summary>The rows of a loaded segment (what <c>sys.segments.num_rows</c> reports: Druid
    /// counts a segment's rows once a server serves it); null when not loaded.</summary>
    public long? RowCountOf(string segmentId) => _loaded.TryGetValue(segmentId, out var s) ? s.Reader.RowCount : null;

    /// <summary>Used segments left unloaded because their first matching retention rule does
    /// not load them, and segments this cache marked unused because a drop rule matched them.
    /// Handoff counts them as done: nothing will ever serve them.</summary>
    public bool IsRuledOut(string segmentId) => _ruledOut.ContainsKey(segmentId);

    /// <summary>The current retention rules of a data source, then the default rules.</summary>
    public (FSharpList<RetentionRules.Rule> Own, FSharpList<RetentionRules.Rule> Defaults) RulesFor(string dataSource)
    {
        var all = _store.GetAllRules();
        return (ParseStored(all, dataSource, ListModule.Empty<RetentionRules.Rule>()), ParseStored(all, RetentionRules.DefaultRulesKey, RetentionRules.defaultRules));
    }

    FSharpList<RetentionRules.Rule> ParseStored(IReadOnlyDictionary<string, string> all, string dataSource, FSharpList<RetentionRules.Rule> absent)
    {
        if (!all.TryGetValue(dataSource, out var payload)) return absent;
        var parsed = RetentionRules.tryParseRules(payload);
        if (parsed.IsOk) return parsed.ResultValue;
        _log.LogWarning("Ignoring unreadable retention rules of {DataSource}: {Problem}", dataSource, parsed.ErrorValue.Item2);
        return absent;
    }

    /// <summary>Makes the loaded set equal to the used segments that the retention rules load,
    /// and, as Druid's coordinator does, marks segments that a drop rule matches as unused.</summary>
    public void Sync()
    {
        lock (_syncGate)
        {
            var used = _store.GetUsedSegments();
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var allRules = _store.GetAllRules();
            var defaults = ParseStored(allRules, RetentionRules.DefaultRulesKey, RetentionRules.defaultRules);
            var rulesByDataSource = new Dictionary<string, FSharpList<RetentionRules.Rule>>(StringComparer.Ordinal);
            var wanted = new HashSet<string>();
            var dropped = new List<string>();
            foreach (var record in used)
            {
                if (!rulesByDataSource.TryGetValue(record.DataSource, out var own))
                    rulesByDataSource[record.DataSource] = own = ParseStored(allRules, record.DataSource, ListModule.Empty<RetentionRules.Rule>());
                var matched = RetentionRules.firstMatch(now, own, defaults, IntervalOf(record));
                if (RetentionRules.shouldLoad(matched)) { wanted.Add(record.Id); _ruledOut.TryRemove(record.Id, out _); continue; }
                _ruledOut[record.Id] = 0;
                if (RetentionRules.isDrop(matched)) dropped.Add(record.Id);
            }
            if (dropped.Count > 0)
            {
                var marked = _store.MarkSegmentsUnused(dropped);
                _log.LogInformation("Retention rules: marked {Count} segments unused", marked);
            }
            foreach (var record in used)
            {
                if (!wanted.Contains(record.Id) || _loaded.ContainsKey(record.Id) || _failures.ContainsKey(record.Id)) continue;
                try
                {
                    _loaded[record.Id] = Load(record);
                }
                catch (Exception e)
                {
                    _failures[record.Id] = e.Message;
                    _log.LogError("Could not load segment {Id}: {Message}", record.Id, e.Message);
                }
            }
            foreach (var id in _loaded.Keys.Where(id => !wanted.Contains(id)).ToList())
                if (_loaded.TryRemove(id, out var gone)) gone.Release();
            foreach (var id in _failures.Keys.Where(id => !wanted.Contains(id)).ToList())
                _failures.TryRemove(id, out _);
        }
    }

    static Time.Interval IntervalOf(SegmentRecord record)
    {
        var start = Time.tryParseInstant(record.Start);
        var end = Time.tryParseInstant(record.End);
        return new Time.Interval(
            start is null ? Time.minInstant : start.Value,
            end is null ? Time.maxInstant : end.Value);
    }

    LoadedSegment Load(SegmentRecord record)
    {
        var segment = Segment.ofJson(record.Payload) switch
        {
            { IsOk: true } ok => ok.ResultValue,
            var error => throw new InvalidDataException($"Bad segment payload: {error.ErrorValue}"),
        };
        var source = Publish.localPath(segment) is { } p ? p.Value : throw new InvalidDataException("Segment has no local loadSpec path");
        var target = Path.Combine(_cacheDir, Sanitize(record.DataSource), Sanitize(record.Id), "index.fdseg");
        if (!File.Exists(target) || new FileInfo(target).Length != new FileInfo(source).Length)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var temp = target + ".tmp";
            File.Copy(source, temp, overwrite: true);
            File.Move(temp, target, overwrite: true);
        }
        var file = new MappedFile(target);
        var opened = SegmentFormat.tryOpen(file.Memory);
        if (opened.IsError)
        {
            ((IDisposable)file).Dispose();
            throw new InvalidDataException($"Segment file {target} is unreadable: {opened.ErrorValue}");
        }
        return new LoadedSegment(record.Id, segment, file, opened.ResultValue);
    }

    /// <summary>Leases the loaded segments of a data source; release each when done.</summary>
    public List<LoadedSegment> Lease(string dataSource)
    {
        var leased = new List<LoadedSegment>();
        foreach (var s in _loaded.Values)
            if (s.Segment.DataSource == dataSource && s.TryLease()) leased.Add(s);
        return leased;
    }

    public IReadOnlyCollection<string> DataSources() => _loaded.Values.Select(s => s.Segment.DataSource).Distinct().Order(StringComparer.Ordinal).ToList();

    static string Sanitize(string name) => name.Replace('/', '_').Replace('\\', '_').Replace(':', '-');

    public void Dispose()
    {
        foreach (var id in _loaded.Keys.ToList())
            if (_loaded.TryRemove(id, out var s)) s.Release();
    }
}

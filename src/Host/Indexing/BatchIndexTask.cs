using System.Text;
using FunctionalDruid.Core;
using FunctionalDruid.Host.Metadata;
using FunctionalDruid.Host.Storage;
using Microsoft.FSharp.Collections;

namespace FunctionalDruid.Host.Indexing;

/// <summary>Thrown when a task cannot finish; the message becomes the task's errorMsg.</summary>
public sealed class TaskFailure(string message) : Exception(message);

/// <summary>
/// Runs a native batch task (index, index_parallel): reads the input splits (in parallel for
/// index_parallel with maxNumConcurrentSubTasks &gt; 1), rolls rows up through Core's
/// incremental index with intermediate persists, merges each time chunk, partitions it, pushes
/// the segment files to deep storage and publishes them in one metadata transaction.
/// </summary>
public sealed class BatchIndexTask(
    string taskId,
    IngestSpec.IngestSpec spec,
    IReadOnlyList<InputSplit> splits,
    IMetadataStore store,
    LocalDeepStorage deepStorage,
    string workDir,
    IngestionProgress progress,
    object publishLock,
    ILogger log)
{
    /// <summary>Spills happen at this many bytes when the spec leaves maxBytesInMemory at 0.</summary>
    static long DefaultMaxBytes => Math.Max(64L << 20, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 6);

    long _unparseableSoFar;
    int _workers = 1;

    bool Dynamic => spec.Tuning.Partitions.IsDynamic;

    public IReadOnlyList<string> Run(CancellationToken cancel)
    {
        Directory.CreateDirectory(workDir);
        try
        {
            var workers = spec.TaskType == "index_parallel" ? Math.Max(1, Math.Min(spec.Tuning.MaxNumConcurrentSubTasks, splits.Count)) : 1;
            _workers = workers;
            var assignments = Enumerable.Range(0, workers).Select(w => splits.Where((_, i) => i % workers == w).ToList()).ToList();
            var results = new List<List<SegmentContent>>[workers];
            if (workers == 1) results[0] = RunWorker(0, assignments[0], cancel);
            else Parallel.For(0, workers, new ParallelOptions { CancellationToken = cancel, MaxDegreeOfParallelism = workers },
                w => results[w] = RunWorker(w, assignments[w], cancel));
            cancel.ThrowIfCancellationRequested();

            // Dynamic partitioning: every group is one segment already (best-effort rollup).
            // Hashed: all of a time chunk's rows merge first, then split by hash (perfect rollup).
            List<FSharpList<SegmentContent>> chunks;
            if (Dynamic)
                chunks = results.SelectMany(r => r)
                    .AsParallel().AsOrdered().WithCancellation(cancel)
                    .Select(group => Rollup.merge(spec, ListModule.OfSeq(group)))
                    .Where(merged => merged is not null)
                    .Select(merged => merged!.Value)
                    .GroupBy(c => c.Interval.Start)
                    .OrderBy(g => g.Key)
                    .Select(g => ListModule.OfSeq(g))
                    .ToList();
            else
                chunks = results.SelectMany(r => r).SelectMany(group => group)
                    .GroupBy(c => c.Interval.Start)
                    .OrderBy(g => g.Key)
                    .AsParallel().AsOrdered().WithCancellation(cancel)
                    .Select(g =>
                    {
                        var merged = Rollup.merge(spec, ListModule.OfSeq(g));
                        return merged is null ? FSharpList<SegmentContent>.Empty : Rollup.partition(spec, merged.Value);
                    })
                    .ToList();
            return PublishChunks(chunks, cancel);
        }
        finally
        {
            try { Directory.Delete(workDir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Row intake of one worker: Druid's dynamic segments (rollup within a segment), or
    /// one index for all chunks when rollup must be perfect.</summary>
    sealed class Intake
    {
        readonly IngestSpec.IngestSpec _spec;
        readonly Rollup.DynamicSegments? _dynamic;
        Rollup.IncrementalIndex? _index;

        public Intake(IngestSpec.IngestSpec spec)
        {
            _spec = spec;
            if (spec.Tuning.Partitions is IngestSpec.PartitionsSpec.Dynamic d)
                _dynamic = new Rollup.DynamicSegments(spec, d.maxRowsPerSegment, d.maxTotalRows);
            else _index = new Rollup.IncrementalIndex(spec);
        }

        public Rollup.RowOutcome Add(Input.InputRow row) => _dynamic is not null ? _dynamic.Add(row) : _index!.Add(row);
        public int Rows => _dynamic?.OpenRows ?? _index!.RowCount;
        public long Bytes => _dynamic?.OpenBytes ?? _index!.EstimatedBytes;

        /// <summary>Snapshots to persist, keyed by the segment they belong to (-1: the chunk index).</summary>
        public List<(int Key, SegmentContent Content)> Persist()
        {
            if (_dynamic is not null)
                return _dynamic.PersistOpen().SelectMany(p => p.Item2.Select(c => (p.Item1, c))).ToList();
            var snapshot = _index!.Snapshot().Select(c => (-1, c)).ToList();
            _index = new Rollup.IncrementalIndex(_spec);
            return snapshot;
        }

        public List<(int Key, List<SegmentContent> Contents)> Closed(bool all)
        {
            if (_dynamic is not null)
                return (all ? _dynamic.CloseAll() : _dynamic.TakeClosed()).Select(p => (p.Item1, p.Item2.ToList())).ToList();
            return all ? [(-1, _index!.Snapshot().ToList())] : [];
        }
    }

    /// <summary>One worker: rolls up its splits, persisting snapshots when memory limits are hit,
    /// and returns groups of contents; each group is merged into one segment (dynamic) or into
    /// its time chunk (hashed).</summary>
    List<List<SegmentContent>> RunWorker(int worker, List<InputSplit> mySplits, CancellationToken cancel)
    {
        var maxRows = IngestSpec.persistThresholdRows(spec.Tuning);
        // The default budget is shared by the task's workers; an explicit one is per worker, like
        // Druid's per-sub-task setting.
        var maxBytes = spec.Tuning.MaxBytesInMemory > 0 ? spec.Tuning.MaxBytesInMemory : DefaultMaxBytes / _workers;
        var intake = new Intake(spec);
        var persisted = new Dictionary<int, List<string>>();
        var finished = new List<(int Key, List<SegmentContent> Contents)>();
        var counters = Rollup.RowCounters.Zero();
        long bytes = 0;
        var seen = 0;
        var persistSequence = 0;
        long retainedBytes = 0;
        // Counters reach the report even when the worker fails (e.g. too many parse errors).
        try
        {
            foreach (var split in mySplits)
            {
                IEnumerable<string> lines;
                try { lines = split.ReadLines(); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new TaskFailure($"Cannot read {split.Description}: {e.Message}"); }
                var counted = CountBytes(lines, n => bytes += n);
                foreach (var result in Input.readLines(spec.InputFormat, counted))
                {
                    if (++seen % 4096 == 0) cancel.ThrowIfCancellationRequested();
                    if (result is Input.RowResult.Unparseable bad)
                    {
                        counters.Unparseable++;
                        RecordParseError(bad.message);
                        continue;
                    }
                    var outcome = intake.Add(((Input.RowResult.Row)result).Item);
                    switch (outcome)
                    {
                        case Rollup.RowOutcome.Unparseable u:
                            counters.Unparseable++;
                            RecordParseError(u.message);
                            break;
                        case Rollup.RowOutcome.IngestedWithError e:
                            counters.Processed++;
                            counters.ProcessedWithError++;
                            RecordParseError(e.message);
                            break;
                        default:
                            if (outcome.IsThrownAway) counters.ThrownAway++;
                            else counters.Processed++;
                            break;
                    }
                    finished.AddRange(intake.Closed(all: false));
                    if (intake.Rows >= maxRows || (seen % 1024 == 0 && intake.Bytes >= maxBytes))
                    {
                        // Snapshots stay in memory while they fit the byte budget (columnar, far
                        // smaller than the index that made them); beyond it they spill to files.
                        foreach (var (key, content) in intake.Persist())
                        {
                            var size = EstimatedBytes(content);
                            if (retainedBytes + size <= maxBytes)
                            {
                                retainedBytes += size;
                                finished.Add((key, [content]));
                                continue;
                            }
                            var path = Path.Combine(workDir, $"persist-{worker}-{persistSequence++}.fdseg");
                            File.WriteAllBytes(path, SegmentFormat.write(content));
                            if (!persisted.TryGetValue(key, out var list)) persisted[key] = list = [];
                            list.Add(path);
                        }
                        finished.AddRange(intake.Closed(all: false));
                    }
                }
            }
        }
        finally
        {
            progress.Add(counters, bytes);
        }
        finished.AddRange(intake.Closed(all: true));
        var groups = new List<List<SegmentContent>>();
        // Keys number segments in the order they opened, which is the order Druid allocates
        // their partition numbers in.
        foreach (var group in finished.GroupBy(f => f.Key).OrderBy(g => g.Key))
        {
            var contents = group.SelectMany(g => g.Contents).ToList();
            if (persisted.Remove(group.Key, out var paths)) contents.AddRange(paths.Select(ReadPersisted));
            groups.Add(contents);
        }
        foreach (var (_, paths) in persisted) groups.Add(paths.Select(ReadPersisted).ToList());
        return groups;
    }

    /// <summary>Rough heap size of a snapshot: times, one int or number per cell, dictionary text.</summary>
    static long EstimatedBytes(SegmentContent content)
    {
        long rows = content.Times.Length;
        long bytes = rows * 8 + rows * 8 * content.Metrics.Length;
        foreach (var (_, column) in content.Dimensions)
        {
            bytes += rows * 8;
            if (column is ColumnData.Strings s)
                foreach (var v in s.Item.Dictionary) bytes += 24 + 2L * (v?.Length ?? 0);
        }
        return bytes;
    }

    static SegmentContent ReadPersisted(string path)
    {
        var opened = SegmentFormat.tryOpen(new ReadOnlyMemory<byte>(File.ReadAllBytes(path)));
        if (opened.IsError) throw new TaskFailure($"Intermediate persist {path} is unreadable: {opened.ErrorValue}");
        return SegmentFormat.readContent(opened.ResultValue);
    }

    void RecordParseError(string message)
    {
        progress.SaveParseError(message);
        if (spec.Tuning.LogParseExceptions) log.LogWarning("Task {Task}: {Message}", taskId, message);
        var total = Interlocked.Increment(ref _unparseableSoFar);
        if (total > spec.Tuning.MaxParseExceptions)
            throw new TaskFailure($"Max parse exceptions [{spec.Tuning.MaxParseExceptions}] exceeded; last: {message}");
    }

    static IEnumerable<string> CountBytes(IEnumerable<string> lines, Action<long> add)
    {
        foreach (var line in lines)
        {
            add(Encoding.UTF8.GetByteCount(line) + 1);
            yield return line;
        }
    }

    IReadOnlyList<string> PublishChunks(List<FSharpList<SegmentContent>> chunks, CancellationToken cancel)
    {
        // One publish at a time per data source: versions and partition numbers depend on what
        // is already published.
        lock (publishLock)
        {
            cancel.ThrowIfCancellationRequested();
            var existing = store.GetUsedSegments(spec.DataSource)
                .Select(r => Segment.ofJson(r.Payload))
                .Where(r => r.IsOk)
                .Select(r => r.ResultValue)
                .ToList();
            Publish.Plan plan;
            try
            {
                plan = Publish.plan(spec, ListModule.OfSeq(existing), ListModule.OfSeq(chunks), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            }
            catch (Publish.PublishConflict conflict)
            {
                throw new TaskFailure(conflict.Data0);
            }
            // Segment files are independent: write and push them on every core, then publish
            // them all in one transaction.
            var now = Time.formatIso(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            var records = plan.Segments
                .AsParallel().AsOrdered().WithCancellation(cancel)
                .Select(planned =>
                {
                    var pushed = deepStorage.Push(planned.Segment, SegmentFormat.write(planned.Content));
                    return new SegmentRecord(Segment.segmentId(pushed), pushed.DataSource, Time.formatIso(pushed.Interval.Start),
                        Time.formatIso(pushed.Interval.End), pushed.Version, true, true, Segment.toJson(pushed), now);
                })
                .ToList();
            if (records.Count > 0 || plan.MarkUnused.Length > 0)
                store.PublishSegments(records, null, plan.MarkUnused.ToList());
            log.LogInformation("Task {Task}: published {Count} segments, marked {Unused} unused", taskId, records.Count, plan.MarkUnused.Length);
            return records.Select(r => r.Id).ToList();
        }
    }
}

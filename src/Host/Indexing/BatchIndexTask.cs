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

            // Core decides what merges with what and how chunks split; merges run on every core.
            var groups = Rollup.mergeGroups(spec, ListModule.OfSeq(results.SelectMany(r => r).Select(ListModule.OfSeq)));
            var merged = groups
                .AsParallel().AsOrdered().WithCancellation(cancel)
                .Select(group => Rollup.merge(spec, group))
                .Where(m => m is not null)
                .Select(m => m!.Value)
                .ToList();
            var chunks = Rollup.chunkPartitions(spec, ListModule.OfSeq(merged)).ToList();
            return PublishChunks(chunks, cancel);
        }
        finally
        {
            IntermediatePersists.Discard(workDir);
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
        var intake = new Rollup.Intake(spec);
        var persisted = new Dictionary<int, List<string>>();
        var finished = new List<(int Key, List<SegmentContent> Contents)>();
        var counters = Rollup.RowCounters.Zero();
        long bytes = 0;
        var seen = 0;
        var spill = new IntermediatePersists(workDir, $"persist-{worker}", maxBytes);
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
                    if (Rollup.countOutcome(counters, outcome) is { } parseError) RecordParseError(parseError.Value);
                    TakeClosed(intake, finished);
                    if (intake.Rows >= maxRows || (seen % 1024 == 0 && intake.Bytes >= maxBytes))
                    {
                        foreach (var (key, content) in intake.Persist().Select(p => (p.Item1, p.Item2)))
                        {
                            if (spill.SpillIfOverBudget(content) is not { } path)
                            {
                                finished.Add((key, [content]));
                                continue;
                            }
                            if (!persisted.TryGetValue(key, out var list)) persisted[key] = list = [];
                            list.Add(path);
                        }
                        TakeClosed(intake, finished);
                    }
                }
            }
        }
        finally
        {
            progress.Add(counters, bytes);
        }
        finished.AddRange(intake.CloseAll().Select(c => (c.Item1, c.Item2.ToList())));
        var groups = new List<List<SegmentContent>>();
        // Keys number segments in the order they opened, which is the order Druid allocates
        // their partition numbers in.
        foreach (var group in finished.GroupBy(f => f.Key).OrderBy(g => g.Key))
        {
            var contents = group.SelectMany(g => g.Contents).ToList();
            if (persisted.Remove(group.Key, out var paths)) contents.AddRange(paths.Select(IntermediatePersists.Read));
            groups.Add(contents);
        }
        foreach (var (_, paths) in persisted) groups.Add(paths.Select(IntermediatePersists.Read).ToList());
        return groups;
    }

    /// <summary>Moves closed segments into the finished list; runs after every row, so the
    /// common case (nothing closed) allocates nothing.</summary>
    static void TakeClosed(Rollup.Intake intake, List<(int Key, List<SegmentContent> Contents)> finished)
    {
        var closed = intake.TakeClosed();
        if (closed.IsEmpty) return;
        foreach (var (key, contents) in closed) finished.Add((key, contents.ToList()));
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

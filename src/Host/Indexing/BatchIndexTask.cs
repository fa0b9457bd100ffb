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

    public IReadOnlyList<string> Run(CancellationToken cancel)
    {
        Directory.CreateDirectory(workDir);
        try
        {
            var workers = spec.TaskType == "index_parallel" ? Math.Max(1, Math.Min(spec.Tuning.MaxNumConcurrentSubTasks, splits.Count)) : 1;
            var assignments = Enumerable.Range(0, workers).Select(w => splits.Where((_, i) => i % workers == w).ToList()).ToList();
            var results = new List<SegmentContent>[workers];
            if (workers == 1) results[0] = RunWorker(0, assignments[0], cancel);
            else Parallel.For(0, workers, new ParallelOptions { CancellationToken = cancel, MaxDegreeOfParallelism = workers },
                w => results[w] = RunWorker(w, assignments[w], cancel));
            cancel.ThrowIfCancellationRequested();

            var chunks = results.SelectMany(r => r)
                .GroupBy(c => c.Interval.Start)
                .OrderBy(g => g.Key)
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

    /// <summary>One worker: rolls up its splits, persisting snapshots when memory limits are hit,
    /// and returns every snapshot (persisted ones read back).</summary>
    List<SegmentContent> RunWorker(int worker, List<InputSplit> mySplits, CancellationToken cancel)
    {
        var maxRows = spec.Tuning.MaxRowsInMemory;
        var maxBytes = spec.Tuning.MaxBytesInMemory > 0 ? spec.Tuning.MaxBytesInMemory : DefaultMaxBytes;
        var index = new Rollup.IncrementalIndex(spec);
        var persisted = new List<string>();
        var counters = Rollup.RowCounters.Zero();
        long bytes = 0;
        var checkEvery = 0;
        foreach (var split in mySplits)
        {
            IEnumerable<string> lines;
            try { lines = split.ReadLines(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new TaskFailure($"Cannot read {split.Description}: {e.Message}"); }
            var counted = CountBytes(lines, n => bytes += n);
            foreach (var result in Input.readLines(spec.InputFormat, counted))
            {
                if (++checkEvery % 4096 == 0) cancel.ThrowIfCancellationRequested();
                if (result is Input.RowResult.Unparseable bad)
                {
                    counters.Unparseable++;
                    RecordParseError(bad.message);
                    continue;
                }
                var row = ((Input.RowResult.Row)result).Item;
                var outcome = index.Add(row);
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
                if (index.RowCount >= maxRows || (index.RowCount % 1024 == 0 && index.EstimatedBytes >= maxBytes))
                {
                    persisted.AddRange(Persist(worker, persisted.Count, index));
                    index = new Rollup.IncrementalIndex(spec);
                }
            }
        }
        progress.Add(counters, bytes);
        var contents = index.Snapshot().ToList();
        foreach (var path in persisted)
        {
            var opened = SegmentFormat.tryOpen(new ReadOnlyMemory<byte>(File.ReadAllBytes(path)));
            if (opened.IsError) throw new TaskFailure($"Intermediate persist {path} is unreadable: {opened.ErrorValue}");
            contents.Add(SegmentFormat.readContent(opened.ResultValue));
        }
        return contents;
    }

    IEnumerable<string> Persist(int worker, int sequence, Rollup.IncrementalIndex index)
    {
        var paths = new List<string>();
        var part = 0;
        foreach (var content in index.Snapshot())
        {
            var path = Path.Combine(workDir, $"persist-{worker}-{sequence}-{part++}.fdseg");
            File.WriteAllBytes(path, SegmentFormat.write(content));
            paths.Add(path);
        }
        log.LogInformation("Task {Task}: persisted {Rows} rows in {Files} intermediate files", taskId, index.RowCount, paths.Count);
        return paths;
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
            var records = new List<SegmentRecord>();
            foreach (var planned in plan.Segments)
            {
                var pushed = deepStorage.Push(planned.Segment, SegmentFormat.write(planned.Content));
                var id = Segment.segmentId(pushed);
                records.Add(new SegmentRecord(id, pushed.DataSource, Time.formatIso(pushed.Interval.Start), Time.formatIso(pushed.Interval.End),
                    pushed.Version, true, true, Segment.toJson(pushed), Time.formatIso(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())));
            }
            if (records.Count > 0 || plan.MarkUnused.Length > 0)
                store.PublishSegments(records, null, plan.MarkUnused.ToList());
            log.LogInformation("Task {Task}: published {Count} segments, marked {Unused} unused", taskId, records.Count, plan.MarkUnused.Length);
            return records.Select(r => r.Id).ToList();
        }
    }
}

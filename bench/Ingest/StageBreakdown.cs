using System.Diagnostics;
using FunctionalDruid.Core;
using Microsoft.FSharp.Collections;

namespace FunctionalDruid.Bench.Ingest;

/// <summary>One stage's share of a single-threaded ingestion.</summary>
public sealed record Stage(string Name, TimeSpan Time, bool Parallel);

/// <summary>
/// Where ingestion time goes: drives Core's pipeline the way the host's batch task does
/// (parse, roll up, persist at maxRowsInMemory, read persists back, merge each time chunk,
/// partition, write the segment files), but on one thread with a stopwatch around each stage.
/// The worker stages run in parallel in the server; merge, partition and the final write run
/// once per time chunk after every worker has finished.
/// </summary>
public static class StageBreakdown
{
    public static IReadOnlyList<Stage> Run(GeneratedData data, string taskSpec, string workDir)
    {
        var parsed = IngestSpec.parseTaskText(taskSpec);
        if (parsed.IsError) throw new InvalidOperationException($"Spec does not parse: {parsed.ErrorValue}");
        var spec = parsed.ResultValue;
        Directory.CreateDirectory(workDir);

        var readOnly = Stopwatch.StartNew();
        long lineCount = 0;
        foreach (var file in data.Files)
            foreach (var _ in File.ReadLines(file)) lineCount++;
        readOnly.Stop();

        long parseTicks = 0, addTicks = 0, snapshotTicks = 0, persistWriteTicks = 0;
        var contents = new List<SegmentContent>();
        var persisted = new List<string>();
        foreach (var file in data.Files)
        {
            // One worker per file, as the task runs it with one split per core.
            var index = new Rollup.IncrementalIndex(spec);
            using var rows = Input.readLines(spec.InputFormat, File.ReadLines(file)).GetEnumerator();
            while (true)
            {
                var t0 = Stopwatch.GetTimestamp();
                if (!rows.MoveNext()) { parseTicks += Stopwatch.GetTimestamp() - t0; break; }
                var t1 = Stopwatch.GetTimestamp();
                if (rows.Current is Input.RowResult.Row row) index.Add(row.Item);
                var t2 = Stopwatch.GetTimestamp();
                parseTicks += t1 - t0;
                addTicks += t2 - t1;
                if (index.RowCount >= spec.Tuning.MaxRowsInMemory)
                {
                    var (s, w) = Persist(index, workDir, persisted);
                    snapshotTicks += s;
                    persistWriteTicks += w;
                    index = new Rollup.IncrementalIndex(spec);
                }
            }
            var t3 = Stopwatch.GetTimestamp();
            contents.AddRange(index.Snapshot());
            snapshotTicks += Stopwatch.GetTimestamp() - t3;
        }

        var readBack = Stopwatch.StartNew();
        foreach (var path in persisted)
        {
            var opened = SegmentFormat.tryOpen(new ReadOnlyMemory<byte>(File.ReadAllBytes(path)));
            if (opened.IsError) throw new InvalidOperationException(opened.ErrorValue);
            contents.Add(SegmentFormat.readContent(opened.ResultValue));
        }
        readBack.Stop();

        var merge = Stopwatch.StartNew();
        var merged = contents.GroupBy(c => c.Interval.Start)
            .Select(g => Rollup.merge(spec, ListModule.OfSeq(g)))
            .Where(m => m is not null)
            .Select(m => m!.Value)
            .ToList();
        merge.Stop();

        var partition = Stopwatch.StartNew();
        var segments = merged.SelectMany(m => Partitioning.partition(spec, m)).ToList();
        partition.Stop();

        var write = Stopwatch.StartNew();
        var part = 0;
        foreach (var segment in segments) File.WriteAllBytes(Path.Combine(workDir, $"segment-{part++}.fdseg"), SegmentFormat.write(segment));
        write.Stop();

        Directory.Delete(workDir, recursive: true);
        return
        [
            new Stage($"read lines only (reference, {lineCount:N0} lines)", readOnly.Elapsed, true),
            new Stage("read + JSON parse to InputRow", Stopwatch.GetElapsedTime(0, parseTicks), true),
            new Stage("IncrementalIndex.Add (timestamp, encode, rollup)", Stopwatch.GetElapsedTime(0, addTicks), true),
            new Stage($"persist: snapshot/sort ({persisted.Count} persists)", Stopwatch.GetElapsedTime(0, snapshotTicks), true),
            new Stage("persist: SegmentFormat.write + file", Stopwatch.GetElapsedTime(0, persistWriteTicks), true),
            new Stage("read persists back", readBack.Elapsed, true),
            new Stage($"merge ({contents.Count} pieces -> {merged.Sum(m => m.Times.Length):N0} rows)", merge.Elapsed, false),
            new Stage($"partition ({segments.Count} segments)", partition.Elapsed, false),
            new Stage("write segment files", write.Elapsed, false),
        ];
    }

    static (long Snapshot, long Write) Persist(Rollup.IncrementalIndex index, string workDir, List<string> persisted)
    {
        var t0 = Stopwatch.GetTimestamp();
        var snapshot = index.Snapshot();
        var t1 = Stopwatch.GetTimestamp();
        foreach (var content in snapshot)
        {
            var path = Path.Combine(workDir, $"persist-{persisted.Count}.fdseg");
            File.WriteAllBytes(path, SegmentFormat.write(content));
            persisted.Add(path);
        }
        return (t1 - t0, Stopwatch.GetTimestamp() - t1);
    }
}

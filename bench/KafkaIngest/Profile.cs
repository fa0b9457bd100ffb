using System.Diagnostics;
using System.Text;
using FunctionalDruid.Core;
using FunctionalDruid.Host.Streaming;
using Microsoft.FSharp.Collections;

namespace FunctionalDruid.Bench.KafkaIngest;

/// <summary>
/// Where a Kafka task's CPU goes, without Kafka: the bench's messages as the consumer hands them
/// over (UTF-8 bytes), driven on one thread through the task's stages with a stopwatch around
/// each: parse (bytes to rows), append (rows into the rollup intake), and the realtime
/// snapshots a query every `snapshotEvery` messages forces.
/// </summary>
public static class Profile
{
    public static void Run(string specText, List<byte[]> messages, int snapshotEvery)
    {
        var spec = KafkaSpec.parseText(specText);
        if (spec.IsError) throw new InvalidOperationException($"spec: {spec.ErrorValue}");
        var ingest = spec.ResultValue.Ingest;
        for (var round = 0; round < 3; round++)
        {
            var reader = new Input.RowReader(ingest.InputFormat, null);
            var intake = new Rollup.Intake(ingest);
            var parts = new Dictionary<int, List<SegmentContent>>();
            var counters = Rollup.RowCounters.Zero();
            long persistTicks = 0, parseTicks = 0, appendTicks = 0, snapshotTicks = 0;
            var rows = new List<Input.InputRow>(snapshotEvery);
            var results = new List<Input.RowResult>();
            var gcBefore = GC.GetTotalAllocatedBytes(true);
            var snapshots = 0;
            for (var start = 0; start < messages.Count; start += snapshotEvery)
            {
                var stop = Math.Min(messages.Count, start + snapshotEvery);
                var t0 = Stopwatch.GetTimestamp();
                rows.Clear();
                for (var i = start; i < stop; i++)
                {
                    results.Clear();
                    reader.ReadUtf8Lines(messages[i], results);
                    foreach (var r in results)
                        if (r is Input.RowResult.Row row) rows.Add(row.Item);
                }
                var t1 = Stopwatch.GetTimestamp();
                foreach (var row in rows) Rollup.countOutcome(counters, intake.Add(row));
                var t2 = Stopwatch.GetTimestamp();
                foreach (var persisted in intake.Persist()) PartsOf(parts, persisted.Item1).Add(persisted.Item2);
                foreach (var closed in intake.TakeClosed()) PartsOf(parts, closed.Item1).AddRange(closed.Item2);
                var tm = Stopwatch.GetTimestamp();
                persistTicks += tm - t2;
                foreach (var list in parts.Values) RealtimeParts.Compact(ingest, list);
                snapshots++;
                var t3 = Stopwatch.GetTimestamp();
                parseTicks += t1 - t0;
                appendTicks += t2 - t1;
                snapshotTicks += t3 - t2;
            }
            var allocated = GC.GetTotalAllocatedBytes(true) - gcBefore;
            var total = parseTicks + appendTicks + snapshotTicks;
            double Us(long ticks) => ticks * 1e6 / Stopwatch.Frequency / messages.Count;
            Console.WriteLine($"profile round {round + 1}: {messages.Count:N0} messages, {counters.Processed:N0} rows, {snapshots} snapshots, one thread");
            Console.WriteLine($"  parse    {Us(parseTicks):F3} µs/msg");
            Console.WriteLine($"  append   {Us(appendTicks):F3} µs/msg");
            Console.WriteLine($"  snapshot {Us(snapshotTicks):F3} µs/msg (persist {Us(persistTicks):F3}, merge parts {Us(snapshotTicks - persistTicks):F3})");
            Console.WriteLine($"  total    {Us(total):F3} µs/msg = {messages.Count / (total / (double)Stopwatch.Frequency):N0} msg/s per core; {allocated / (double)messages.Count:F0} bytes allocated/msg");
        }
    }

    static List<SegmentContent> PartsOf(Dictionary<int, List<SegmentContent>> parts, int key) =>
        parts.TryGetValue(key, out var l) ? l : parts[key] = [];
}

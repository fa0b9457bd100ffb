using System.Diagnostics;
using System.Runtime.InteropServices;
using FunctionalDruid.Core;
using Microsoft.FSharp.Collections;

// Single-threaded, so rows/s is rows/s per core. Each figure is the best of --repeat runs
// over a column larger than the caches (default 32M rows: 256 MB of int64, 128 MB of int32).
int rows = 32 * 1024 * 1024;
int repeat = 7;
for (int i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--rows") rows = int.Parse(args[i + 1]);
    if (args[i] == "--repeat") repeat = int.Parse(args[i + 1]);
}

var rnd = new Random(42);
var longs = new long[rows];
var ints = new int[rows];
for (int i = 0; i < rows; i++) { ints[i] = rnd.Next(0, 1000); longs[i] = ints[i] * 1_000_003L; }
// A filter mask keeping about half the rows, in runs (as a dictionary filter on sorted data would).
var mask = new ulong[(rows + 63) / 64];
for (int w = 0; w < mask.Length; w++) mask[w] = rnd.Next(4) switch { 0 => 0UL, 1 => ulong.MaxValue, _ => (ulong)rnd.NextInt64() };
var sparse = new ulong[mask.Length];
for (int w = 0; w < sparse.Length; w++) sparse[w] = (ulong)rnd.NextInt64() & (ulong)rnd.NextInt64() & (ulong)rnd.NextInt64();

double Measure(string name, int count, long bytes, Func<long> body)
{
    long check = 0;
    double best = double.MaxValue;
    for (int r = 0; r < repeat; r++)
    {
        var sw = Stopwatch.StartNew();
        check ^= body();
        best = Math.Min(best, sw.Elapsed.TotalSeconds);
    }
    double rate = count / best;
    Console.WriteLine($"{name,-34} {rate / 1e9,7:F2} B rows/s   {bytes / best / 1e9,6:F1} GB/s   (check {check & 0xffff})");
    return rate;
}

Console.WriteLine($"{rows:N0} rows, best of {repeat}, one thread, {(System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "Vector256" : "no Vector256")}");
Console.WriteLine("-- int64 column");
Measure("memory read (same bytes)", rows, rows * 8L, () => (long)Kernels.readWords(MemoryMarshal.Cast<long, ulong>(longs.AsSpan())));
Measure("SUM", rows, rows * 8L, () => Kernels.sumInt64(longs));
Measure("MIN", rows, rows * 8L, () => Kernels.minInt64(longs));
Measure("MAX", rows, rows * 8L, () => Kernels.maxInt64(longs));
Measure("masked SUM (~50% rows)", rows, rows * 8L, () => Kernels.sumInt64Masked(longs, mask, 0, rows));
Measure("masked SUM (~12% rows, scattered)", rows, rows * 8L, () => Kernels.sumInt64Masked(longs, sparse, 0, rows));
bool found = false;
Measure("masked MIN (~50% rows)", rows, rows * 8L, () => Kernels.minInt64Masked(longs, mask, 0, rows, ref found));
Console.WriteLine("-- int32 column");
Measure("memory read (same bytes)", rows, rows * 4L, () => (long)Kernels.readWords(MemoryMarshal.Cast<int, ulong>(ints.AsSpan())));
Measure("SUM (int32 accumulator)", rows, rows * 4L, () => Kernels.sumInt32(ints));
Measure("SUM (int64 accumulator)", rows, rows * 4L, () => Kernels.sumInt32Wide(ints));
Measure("masked SUM (~50% rows)", rows, rows * 4L, () => Kernels.sumInt32Masked(ints, mask, 0, rows));

// The same through the engine: a timeseries (count, longSum, longMax) over one segment.
Console.WriteLine("-- engine: timeseries granularity all over one segment");
var times = new long[rows];
for (int i = 0; i < rows; i++) times[i] = 1_577_836_800_000L + i / 16;
var dict = new[] { "a", "b", "c", "d" };
var ids = new int[rows];
for (int i = 0; i < rows; i++) ids[i] = (i / 4096) % 4;
var content = new SegmentContent(
    new Time.Interval(times[0], times[rows - 1] + 1), times,
    ListModule.OfSeq(new[] { Tuple.Create("d", ColumnData.NewStrings(new StringColumnData(dict, ids, null, true))) }),
    ListModule.OfSeq(new[] { Tuple.Create("v", ColumnData.NewLongs(longs, null)) }), "{}");
var slice = new QuerySlices.SegmentSlice("s", content, content.Interval);
foreach (var (label, filter) in new[] { ("no filter", ""), ("filter d in (a, c)", ",\"filter\":{\"type\":\"in\",\"dimension\":\"d\",\"values\":[\"a\",\"c\"]}") })
{
    var text = "{\"queryType\":\"timeseries\",\"dataSource\":\"t\",\"intervals\":\"2000/2100\",\"granularity\":\"all\"" + filter +
               ",\"aggregations\":[{\"type\":\"count\",\"name\":\"c\"},{\"type\":\"longSum\",\"name\":\"s\",\"fieldName\":\"v\"},{\"type\":\"longMax\",\"name\":\"m\",\"fieldName\":\"v\"}]}";
    var q = QueryParseSurface.parseText(text).ResultValue;
    Measure($"timeseries, {label}", rows, rows * 8L, () => Json.OutModule.toText(false, Engine.run(q, ListModule.OfSeq(new[] { slice }))).Length);
}
Console.WriteLine("-- engine: grouping over one segment");
foreach (var (label, body) in new[] {
    ("topN on d by longSum", "\"queryType\":\"topN\",\"dimension\":\"d\",\"metric\":\"s\",\"threshold\":3"),
    ("groupBy d, hour", "\"queryType\":\"groupBy\",\"dimensions\":[\"d\",{\"type\":\"extraction\",\"dimension\":\"__time\",\"outputName\":\"h\",\"extractionFn\":{\"type\":\"timeFormat\",\"format\":\"H\"}}]") })
{
    var text = "{" + body + ",\"dataSource\":\"t\",\"intervals\":\"2000/2100\",\"granularity\":\"all\"" +
               ",\"aggregations\":[{\"type\":\"count\",\"name\":\"c\"},{\"type\":\"longSum\",\"name\":\"s\",\"fieldName\":\"v\"}]}";
    var q = QueryParseSurface.parseText(text).ResultValue;
    Measure(label, rows, rows * 8L, () => Json.OutModule.toText(false, Engine.run(q, ListModule.OfSeq(new[] { slice }))).Length);
}

// LIKE '%text%' decided once per dictionary value: the engine's search against String.Contains
// (the reference, what it used before) over URL-like values, whose frequent '.' and '/' start
// false matches.
Console.WriteLine("-- LIKE '%text%' over 3,000,000 URL-like dictionary values");
var words = new[] { "bubu", "google", "sport", "roveto", "news", "kari", "tomo", "vekode", "zuzurave", "ranitopo", "info", "html" };
var hosts = new[] { ".org", ".com", ".ru", ".net", ".info" };
var urls = new string[3_000_000];
for (int i = 0; i < urls.Length; i++)
{
    string W() => words[rnd.Next(words.Length)];
    var host = (rnd.Next(50) == 0 ? "www.google" : W()) + hosts[rnd.Next(hosts.Length)];
    urls[i] = $"{(rnd.Next(2) == 0 ? "http" : "https")}://{host}/{W()}/{W()}/{W()}.html?id={rnd.Next(1_000_000)}";
}
foreach (var text in new[] { "google", ".google.", "Google" })
{
    var like = ExprOps.likePredicate("%" + text + "%", null).ResultValue;
    var reference = Measure($"String.Contains \"{text}\"", urls.Length, 0, () => urls.Count(u => u.Contains(text, StringComparison.Ordinal)));
    var ours = Measure($"LIKE '%{text}%'", urls.Length, 0, () => urls.Count(u => like.Invoke(u)));
    Console.WriteLine($"{"",-34} ratio ours / reference time {reference / ours:F2}");
}

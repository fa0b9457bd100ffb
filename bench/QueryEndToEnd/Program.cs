using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using FunctionalDruid.Core;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace FunctionalDruid.Bench.QueryEndToEnd;

/// <summary>
/// End-to-end query benchmark: generates a datasource (timestamps over a few days, six string
/// dimensions of growing cardinality, three metrics), builds one Core segment per day through
/// Core's segment format, loads the same rows into DuckDB, then times six native queries on
/// Core's engine against the equivalent SQL on DuckDB and prints per-query times, the ratio
/// ours / DuckDB, and the median ratio. A query our engine rejects prints "not supported yet".
/// </summary>
public static class Program
{
    const string Usage = """
        Usage: dotnet run -c Release --project bench/QueryEndToEnd -- [options]
          --rows N     rows to generate (default 10000000)
          --days N     days the timestamps cover, one segment per day (default 3)
          --runs N     timed runs per query after one warm-up run; the median is reported (default 5)
          --seed N     random seed (default 42)
        """;

    static readonly string[] Dimensions = ["d1", "d2", "d3", "d4", "d5", "d6"];
    static readonly int[] Cardinalities = [10, 100, 1_000, 10_000, 100_000, 5];
    const long Day = 86_400_000L;
    static readonly long Origin = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    /// <summary>The rows of one day, column by column.</summary>
    sealed record DayRows(long Start, long[] Times, int[][] DimIds, long[] M1, long[] M2, double[] M3);

    public static int Main(string[] args)
    {
        long rows = 10_000_000; int days = 3, runs = 5, seed = 42;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--rows": rows = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--days": days = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--runs": runs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine(Usage); return 2;
            }
        }
        if (rows <= 0 || days <= 0 || runs <= 0) { Console.Error.WriteLine(Usage); return 2; }

        Log($"Generating {rows:N0} rows over {days} days ...");
        var data = Generate(rows, days, seed);
        var dictionaries = Dimensions.Select((d, k) => Enumerable.Range(0, Cardinalities[k]).Select(v => $"{d}_v{v}").ToArray()).ToArray();

        Log("Building Core segments (write + open + decode through the segment format) ...");
        var clock = Stopwatch.StartNew();
        var slices = data.Select(d => BuildSlice(d, dictionaries)).ToList();
        Log($"Segments ready in {clock.Elapsed.TotalSeconds:N1} s");

        Log("Loading the same rows into DuckDB (in-memory, one thread per core) ...");
        clock.Restart();
        using var duck = new DuckDBConnection("DataSource=:memory:");
        duck.Open();
        Execute(duck, $"SET threads = {Environment.ProcessorCount}");
        Execute(duck, "CREATE TABLE t (ts TIMESTAMP, d1 VARCHAR, d2 VARCHAR, d3 VARCHAR, d4 VARCHAR, d5 VARCHAR, d6 VARCHAR, m1 BIGINT, m2 BIGINT, m3 DOUBLE)");
        LoadDuck(duck, data, dictionaries);
        Log($"DuckDB loaded in {clock.Elapsed.TotalSeconds:N1} s");
        data = null; // let the generator's arrays go before timing
        GC.Collect();

        var interval = $"{Iso(Origin)}/{Iso(Origin + days * Day)}";
        var queries = Queries(interval);
        var results = new List<(string Name, double? Ours, double Duck, string? Note)>();
        var sliceList = ListModule.OfSeq(slices);
        var source = FuncConvert.FromFunc<string, FSharpList<Time.Interval>, FSharpList<QuerySlices.SegmentSlice>>((_, _) => sliceList);
        var context = new QuerySlices.RunContext(CancellationToken.None, new ParallelRunner());
        foreach (var (name, native, sql) in queries)
        {
            double? ours = null;
            string? note = null;
            try
            {
                var parsed = QueryParseSurface.parseText(native);
                if (parsed.IsError) throw new NotSupportedException(parsed.ErrorValue.Item2);
                var query = parsed.ResultValue;
                string RunOurs() => Json.OutModule.toText(false, QueryExecution.execute(context, source, query));
                var text = RunOurs();
                note = text.Length > 90 ? text[..90] + "..." : text;
                ours = MedianMillis(runs, () => RunOurs());
            }
            catch (Exception e)
            {
                note = "not supported yet: " + FirstLine(e);
            }
            var duckMs = MedianMillis(runs, () => ReadAll(duck, sql));
            results.Add((name, ours, duckMs, note));
            Log($"{name}: ours {(ours is { } o ? $"{o:N1} ms" : "-")}, DuckDB {duckMs:N1} ms");
        }

        Console.WriteLine();
        Console.WriteLine($"Query end-to-end, {rows:N0} rows, {days} segments, {Environment.ProcessorCount} cores, median of {runs} runs");
        Console.WriteLine($"{"query",-22} {"ours ms",10} {"DuckDB ms",10} {"ratio",7}  first result / note");
        var ratios = new List<double>();
        foreach (var (name, ours, duckMs, note) in results)
        {
            var ratio = ours is { } o ? o / Math.Max(duckMs, 0.001) : (double?)null;
            if (ratio is { } r) ratios.Add(r);
            Console.WriteLine($"{name,-22} {(ours is { } x ? x.ToString("N2", CultureInfo.InvariantCulture) : "-"),10} {duckMs.ToString("N1", CultureInfo.InvariantCulture),10} {(ratio is { } y ? y.ToString("N2", CultureInfo.InvariantCulture) : "-"),7}  {note}");
        }
        if (ratios.Count > 0)
        {
            ratios.Sort();
            var median = ratios.Count % 2 == 1 ? ratios[ratios.Count / 2] : (ratios[ratios.Count / 2 - 1] + ratios[ratios.Count / 2]) / 2;
            Console.WriteLine($"median ratio ours / DuckDB over {ratios.Count} supported queries: {median.ToString("N2", CultureInfo.InvariantCulture)} (≤ 1.0 means at least as fast)");
        }
        return 0;
    }

    /// <summary>The six queries as (name, native JSON, DuckDB SQL).</summary>
    static List<(string, string, string)> Queries(string interval) =>
    [
        ("timeseries by hour",
         $$"""{"queryType":"timeseries","dataSource":"bench","intervals":"{{interval}}","granularity":"hour","aggregations":[{"type":"count","name":"rows"},{"type":"longSum","name":"m1","fieldName":"m1"},{"type":"doubleSum","name":"m3","fieldName":"m3"}]}""",
         "SELECT date_trunc('hour', ts) AS h, count(*), sum(m1), sum(m3) FROM t GROUP BY 1 ORDER BY 1"),
        ("filtered timeseries",
         $$"""{"queryType":"timeseries","dataSource":"bench","intervals":"{{interval}}","granularity":"hour","filter":{"type":"selector","dimension":"d1","value":"d1_v3"},"aggregations":[{"type":"count","name":"rows"},{"type":"longSum","name":"m1","fieldName":"m1"}]}""",
         "SELECT date_trunc('hour', ts) AS h, count(*), sum(m1) FROM t WHERE d1 = 'd1_v3' GROUP BY 1 ORDER BY 1"),
        ("topN d3 by sum(m1)",
         $$"""{"queryType":"topN","dataSource":"bench","intervals":"{{interval}}","granularity":"all","dimension":"d3","metric":"m1","threshold":10,"aggregations":[{"type":"longSum","name":"m1","fieldName":"m1"}]}""",
         "SELECT d3, sum(m1) AS s FROM t GROUP BY d3 ORDER BY s DESC LIMIT 10"),
        ("groupBy d1, d2",
         $$"""{"queryType":"groupBy","dataSource":"bench","intervals":"{{interval}}","granularity":"all","dimensions":["d1","d2"],"aggregations":[{"type":"count","name":"rows"},{"type":"longSum","name":"m2","fieldName":"m2"}]}""",
         "SELECT d1, d2, count(*), sum(m2) FROM t GROUP BY d1, d2 ORDER BY d1, d2"),
        ("count distinct d4",
         $$"""{"queryType":"timeseries","dataSource":"bench","intervals":"{{interval}}","granularity":"all","aggregations":[{"type":"cardinality","name":"users","fields":["d4"],"round":true}]}""",
         "SELECT approx_count_distinct(d4) FROM t"),
        ("scan limit 100",
         $$"""{"queryType":"scan","dataSource":"bench","intervals":"{{interval}}","columns":["__time","d1","m1"],"resultFormat":"compactedList","limit":100}""",
         "SELECT epoch_ms(ts), d1, m1 FROM t LIMIT 100"),
    ];

    static List<DayRows> Generate(long rows, int days, int seed)
    {
        var random = new Random(seed);
        var result = new List<DayRows>();
        for (var d = 0; d < days; d++)
        {
            var n = (int)(rows / days + (d < rows % days ? 1 : 0));
            var start = Origin + d * Day;
            var times = new long[n];
            for (var i = 0; i < n; i++) times[i] = start + (long)(i * (double)Day / n);
            var ids = new int[Dimensions.Length][];
            for (var k = 0; k < Dimensions.Length; k++)
            {
                ids[k] = new int[n];
                // Squaring a uniform draw skews values toward low ids, as real dimensions are.
                for (var i = 0; i < n; i++) { var u = random.NextDouble(); ids[k][i] = (int)(u * u * Cardinalities[k]); }
            }
            var m1 = new long[n]; var m2 = new long[n]; var m3 = new double[n];
            for (var i = 0; i < n; i++) { m1[i] = random.Next(1000); m2[i] = random.Next(100_000); m3[i] = Math.Round(random.NextDouble() * 100, 3); }
            result.Add(new DayRows(start, times, ids, m1, m2, m3));
        }
        return result;
    }

    static QuerySlices.SegmentSlice BuildSlice(DayRows day, string[][] dictionaries)
    {
        var none = FSharpOption<bool[]>.None;
        var dims = Dimensions.Select((name, k) => Tuple.Create(name,
            ColumnData.NewStrings(new StringColumnData(dictionaries[k], day.DimIds[k], FSharpOption<int[][]>.None, true)))).ToList();
        var metrics = new List<Tuple<string, ColumnData>>
        {
            Tuple.Create("m1", ColumnData.NewLongs(day.M1, none)),
            Tuple.Create("m2", ColumnData.NewLongs(day.M2, none)),
            Tuple.Create("m3", ColumnData.NewDoubles(day.M3, none)),
        };
        var interval = new Time.Interval(day.Start, day.Start + Day);
        var content = new SegmentContent(interval, day.Times, ListModule.OfSeq(dims), ListModule.OfSeq(metrics),
            """{"aggregators":[],"timestampSpec":{"column":"ts"},"queryGranularity":"NONE","rollup":false}""");
        // Through the segment format, so the engine reads what a published segment holds.
        var bytes = SegmentFormat.write(content);
        var reader = SegmentFormat.tryOpen(new ReadOnlyMemory<byte>(bytes));
        if (reader.IsError) throw new InvalidDataException(reader.ErrorValue);
        var decoded = SegmentFormat.readContent(reader.ResultValue);
        return new QuerySlices.SegmentSlice($"bench_{Iso(day.Start)}_{Iso(day.Start + Day)}_v1", decoded, interval);
    }

    static void LoadDuck(DuckDBConnection duck, List<DayRows> data, string[][] dictionaries)
    {
        using var appender = duck.CreateAppender("t");
        foreach (var day in data)
            for (var i = 0; i < day.Times.Length; i++)
            {
                var row = appender.CreateRow();
                row.AppendValue(DateTimeOffset.FromUnixTimeMilliseconds(day.Times[i]).UtcDateTime);
                for (var k = 0; k < Dimensions.Length; k++) row.AppendValue(dictionaries[k][day.DimIds[k][i]]);
                row.AppendValue(day.M1[i]).AppendValue(day.M2[i]).AppendValue(day.M3[i]).EndRow();
            }
    }

    static double MedianMillis(int runs, Action action)
    {
        action(); // warm-up
        var times = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            action();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }

    static void ReadAll(DuckDBConnection duck, string sql)
    {
        using var command = duck.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new object[reader.FieldCount];
        while (reader.Read()) reader.GetValues(values);
    }

    static void Execute(DuckDBConnection duck, string sql)
    {
        using var command = duck.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    static string FirstLine(Exception e)
    {
        while (e is AggregateException { InnerException: { } inner }) e = inner;
        var message = e.Message.Split('\n')[0];
        return message.Length > 100 ? message[..100] + "..." : message;
    }

    static string Iso(long millis) => DateTimeOffset.FromUnixTimeMilliseconds(millis).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    static void Log(string message) => Console.Error.WriteLine($"{DateTime.Now:HH:mm:ss} {message}");
}

/// <summary>Per-segment work on all cores, as the server runs it.</summary>
sealed class ParallelRunner : QuerySlices.ISegmentRunner
{
    public T[] Map<T>(int count, FSharpFunc<int, T> work)
    {
        var results = new T[count];
        Parallel.For(0, count, i => results[i] = work.Invoke(i));
        return results;
    }
}

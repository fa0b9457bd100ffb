using System.Diagnostics;
using System.Globalization;

namespace FunctionalDruid.Bench.ClickBench;

/// <summary>
/// ClickBench on our server: the 43 queries (Druid's variant, EventTime mapped to __time) over
/// a generated hits-shaped table, sent over HTTP to the in-process server after an
/// index_parallel ingestion, and the same queries on DuckDB over the same files in the same run.
/// Prints per-query times, ratios ours / DuckDB, whether the answers agree, and the totals.
/// Exit code 1 when a query fails or the answers differ. See bench/README.md.
/// </summary>
public static class Program
{
    sealed record Options(long Rows, string? DataFolder, int Runs, int Seed, bool SkipDuckDb, int TimeoutSeconds, int[]? Only, bool Explain, string? ServerFolder, bool Allocations);

    const string Usage = """
        Usage: dotnet run -c Release --project bench/ClickBench -- [options]
          --rows N         rows to generate (default 10000000)
          --data DIR       folder for the generated JSON (kept, and reused when rows/seed match);
                           default: a temporary folder deleted at the end
          --runs K         timed runs per query and engine; the best is reported, as ClickBench
                           reports the best of its 3 runs (default 3)
          --seed N         base random seed (default 42)
          --timeout S      per-query timeout of our server in seconds (default 600)
          --only 1,5,33    run only these queries (1-based)
          --no-duckdb      skip DuckDB (no ratios, no result check)
          --explain        print our plan of each query (EXPLAIN PLAN FOR) instead of timing it
          --server-dir DIR our server's data folder, kept; when it already holds all the rows
                           the ingestion is skipped (for repeated runs while tuning)
          --allocations    print what each query allocated, by type (sampled), after its runs
        """;

    const double SlowRunSeconds = 30;

    public static async Task<int> Main(string[] args)
    {
        Options options;
        try { options = ParseArgs(args); }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }
        var cores = Environment.ProcessorCount;
        var ourQueries = ReadQueries("queries.sql");
        var duckQueries = ReadQueries("queries.duckdb.sql");
        if (ourQueries.Length != 43 || duckQueries.Length != 43) throw new InvalidDataException("expected 43 queries in each file");
        var scratch = Path.Combine(Path.GetTempPath(), $"fd-clickbench-{Environment.ProcessId}");
        var dataFolder = options.DataFolder ?? Path.Combine(scratch, "input");
        try
        {
            Log($"Generating {options.Rows:N0} rows under {dataFolder} ...");
            var clock = Stopwatch.StartNew();
            var data = HitsGenerator.GenerateOrReuse(dataFolder, options.Rows, cores, options.Seed);
            Log($"Input ready: {data.Bytes / 1e6:N0} MB in {clock.Elapsed.TotalSeconds:N1} s");

            var timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);
            await using var ours = await DruidSide.Start(options.ServerFolder ?? Path.Combine(scratch, "server"), timeout);
            TimeSpan ingest;
            if (options.ServerFolder is not null && await ours.HoldsRows(data.Rows))
            {
                ingest = TimeSpan.Zero;
                Log($"Our server already holds the {data.Rows:N0} rows: ingestion skipped");
            }
            else
            {
                Log($"Ingesting into our server (index_parallel, {cores} sub-tasks, DAY segments, no rollup) ...");
                ingest = await ours.Ingest(data, cores, TimeSpan.FromHours(2));
                Log($"Ingested in {ingest.TotalSeconds:N1} s");
            }

            using var duck = options.SkipDuckDb ? null : new DuckSide(cores);
            if (duck is not null)
            {
                Log("Loading the same files into DuckDB ...");
                Log($"DuckDB loaded in {duck.Load(data).TotalSeconds:N1} s");
            }
            GC.Collect();

            if (options.Explain)
            {
                for (var q = 0; q < 43; q++)
                    if (options.Only is not { } selected || selected.Contains(q + 1))
                        Console.WriteLine($"Q{q + 1}: {(await ours.Sql("EXPLAIN PLAN FOR " + ourQueries[q], timeout)).Rows.ToJsonString()}");
                return 0;
            }
            var results = new List<QueryResult>();
            using var sampler = options.Allocations ? new AllocationSampler() : null;
            for (var q = 0; q < 43; q++)
            {
                if (options.Only is { } only && !only.Contains(q + 1)) continue;
                sampler?.Start();
                var result = await RunQuery(q, ourQueries[q], duckQueries[q], ours, duck, options.Runs, timeout);
                results.Add(result);
                Log($"Q{q + 1}: ours {Ms(result.OursBest)}, DuckDB {Ms(result.DuckBest)}, {result.Verdict}");
                if (sampler is not null) Log($"Q{q + 1} allocated (all runs, sampled) {sampler.Stop(8)}");
            }
            Report(options, cores, data, ingest, results);
            return results.All(r => r.Ok) ? 0 : 1;
        }
        finally
        {
            if (Directory.Exists(scratch))
                try { Directory.Delete(scratch, true); } catch (IOException) { }
        }
    }

    sealed record QueryResult(int Number, double? OursBest, double? OursMedian, double? DuckBest, int? OursRows, int? DuckRows, string Verdict, bool Ok, OurCosts Costs);

    /// What our runs of a query cost the process besides wall time (diagnostics: the server is
    /// in-process): CPU time of the fastest run, and over all runs the gen-2 collections and the
    /// time the garbage collector paused the process; and the fastest run's minor page faults
    /// (fresh memory the kernel had to map: on a VM, as costly as the work itself).
    sealed record OurCosts(double CpuMs, int Gen2, double PauseMs, long Faults);

    /// The process's minor page faults so far (Linux; 0 elsewhere).
    static long MinorFaults()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            // Fields after the command name (which may hold spaces) start after its ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[7], CultureInfo.InvariantCulture);
        }
        catch (IOException) { return 0; }
        catch (UnauthorizedAccessException) { return 0; }
    }

    static async Task<QueryResult> RunQuery(int q, string ourSql, string duckSql, DruidSide ours, DuckSide? duck, int runs, TimeSpan timeout)
    {
        var ourTimes = new List<double>();
        object?[][]? ourRows = null;
        string? failure = null;
        var process = Process.GetCurrentProcess();
        var gen2Before = GC.CollectionCount(2);
        var pauseBefore = GC.GetTotalPauseDuration();
        var bestCpu = double.MaxValue;
        var bestFaults = 0L;
        for (var r = 0; r < runs; r++)
        {
            try
            {
                process.Refresh();
                var cpuBefore = process.TotalProcessorTime;
                var faultsBefore = MinorFaults();
                var (rows, took) = await ours.Sql(ourSql, timeout);
                var faults = MinorFaults() - faultsBefore;
                process.Refresh();
                if (ourTimes.Count == 0 || took.TotalMilliseconds < ourTimes.Min())
                    (bestCpu, bestFaults) = ((process.TotalProcessorTime - cpuBefore).TotalMilliseconds, faults);
                ourTimes.Add(took.TotalMilliseconds);
                ourRows ??= ResultCheck.FromDruid(rows);
                if (took.TotalSeconds > SlowRunSeconds) break; // one run says enough, and saves minutes
            }
            catch (Exception e) when (e is InvalidOperationException or HttpRequestException or TaskCanceledException)
            {
                failure = "FAILED: " + FirstLine(e.Message);
                break;
            }
        }
        var costs = new OurCosts(bestCpu == double.MaxValue ? 0 : bestCpu, GC.CollectionCount(2) - gen2Before, (GC.GetTotalPauseDuration() - pauseBefore).TotalMilliseconds, bestFaults);
        double? duckBest = null;
        object?[][]? duckRows = null;
        if (duck is not null)
        {
            var duckTimes = new List<double>();
            for (var r = 0; r < runs; r++)
            {
                var (rows, took) = duck.Query(duckSql);
                duckTimes.Add(took.TotalMilliseconds);
                duckRows ??= ResultCheck.FromDuck(rows);
            }
            duckBest = duckTimes.Min();
        }
        string verdict;
        bool ok;
        if (failure is not null) (verdict, ok) = (failure, false);
        else if (duckRows is null) (verdict, ok) = ("answered", true);
        else
        {
            var diff = ResultCheck.Compare(Check.ForQueries[q], ourRows!, duckRows);
            (verdict, ok) = diff is null ? ("same", true) : ("DIFFERENT: " + diff, false);
        }
        ourTimes.Sort();
        return new QueryResult(q + 1,
            ourTimes.Count > 0 && failure is null ? ourTimes[0] : null,
            ourTimes.Count > 0 && failure is null ? ourTimes[ourTimes.Count / 2] : null,
            duckBest, ourRows?.Length, duckRows?.Length, verdict, ok, costs);
    }

    static void Report(Options options, int cores, HitsData data, TimeSpan ingest, List<QueryResult> results)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine();
        Console.WriteLine($"ClickBench, {data.Rows:N0} rows ({data.Bytes / 1e6:N0} MB JSON), {cores} cores, best of {options.Runs} runs; ingestion {ingest.TotalSeconds:N1} s");
        Console.WriteLine($"{"Q",3} {"ours ms",10} {"median",10} {"DuckDB ms",10} {"ratio",7} {"rows",11} {"cpu ms",9} {"gen2",5} {"pause ms",9} {"kfaults",8}  result");
        foreach (var r in results)
        {
            var ratio = r.OursBest is { } o && r.DuckBest is { } d ? (o / Math.Max(d, 0.001)).ToString("N2", inv) : "-";
            var rows = $"{(r.OursRows?.ToString(inv) ?? "-")}/{(r.DuckRows?.ToString(inv) ?? "-")}";
            Console.WriteLine($"{r.Number,3} {Ms(r.OursBest),10} {Ms(r.OursMedian),10} {Ms(r.DuckBest),10} {ratio,7} {rows,11} {r.Costs.CpuMs.ToString("N0", inv),9} {r.Costs.Gen2,5} {r.Costs.PauseMs.ToString("N0", inv),9} {(r.Costs.Faults / 1000.0).ToString("N1", inv),8}  {r.Verdict}");
        }
        var answered = results.Count(r => r.OursBest is not null);
        var agree = results.Count(r => r.Ok);
        Console.WriteLine($"answered {answered}/{results.Count}, same result as DuckDB (or answered, without DuckDB) {agree}/{results.Count}");
        var timed = results.Where(r => r.OursBest is not null && r.DuckBest is not null).ToList();
        if (timed.Count == 0) return;
        var ourTotal = timed.Sum(r => r.OursBest!.Value);
        var duckTotal = timed.Sum(r => r.DuckBest!.Value);
        // ClickBench's summary: geometric mean of per-query ratios, each time shifted by 10 ms.
        var geo = Math.Exp(timed.Average(r => Math.Log((r.OursBest!.Value + 10) / (r.DuckBest!.Value + 10))));
        Console.WriteLine($"total over {timed.Count} queries: ours {ourTotal.ToString("N0", inv)} ms, DuckDB {duckTotal.ToString("N0", inv)} ms, ratio {(ourTotal / duckTotal).ToString("N2", inv)}; geometric mean of ratios (+10 ms) {geo.ToString("N2", inv)}");
    }

    static string[] ReadQueries(string file) =>
        File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, file)).Where(l => l.Trim().Length > 0).ToArray();

    static Options ParseArgs(string[] args)
    {
        long rows = 10_000_000; string? data = null, serverDir = null; int runs = 3, seed = 42, timeout = 600; int[]? only = null; bool skip = false, explain = false, allocations = false;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--rows": rows = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--data": data = Next(); break;
                case "--server-dir": serverDir = Next(); break;
                case "--runs": runs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--timeout": timeout = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--only": only = Next().Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--no-duckdb": skip = true; break;
                case "--explain": explain = true; skip = true; break;
                case "--allocations": allocations = true; break;
                default: throw new ArgumentException($"Unknown option {args[i]}");
            }
        }
        if (rows <= 0 || runs <= 0 || timeout <= 0) throw new ArgumentException("--rows, --runs and --timeout must be positive");
        return new Options(rows, data, runs, seed, skip, timeout, only, explain, serverDir, allocations);
    }

    static string Ms(double? ms) => ms is { } m ? m.ToString("N1", CultureInfo.InvariantCulture) : "-";

    static string FirstLine(string message)
    {
        var line = message.Split('\n')[0];
        return line.Length > 160 ? line[..160] + "..." : line;
    }

    static void Log(string message) => Console.Error.WriteLine($"{DateTime.Now:HH:mm:ss} {message}");
}

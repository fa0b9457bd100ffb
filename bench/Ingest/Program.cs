using System.Globalization;
using System.Text;

namespace FunctionalDruid.Bench.Ingest;

/// <summary>
/// Ingestion benchmark: generates JSON lines, ingests them with an index_parallel task into the
/// in-process server, loads and rolls up the same files with DuckDB, and prints both, with the
/// ratio ours / DuckDB. Run with -c Release; see bench/README.md.
/// </summary>
public static class Program
{
    sealed record Options(long Rows, string? DataFolder, int Parts, int Seed, bool Profile, bool SkipDuckDb, long WarmUpRows);

    const string Usage = """
        Usage: dotnet run -c Release --project bench/Ingest -- [options]
          --rows N        rows to generate (default 5000000)
          --data DIR      folder for the generated JSON (kept, and reused when rows/parts/seed match);
                          default: a temporary folder deleted at the end
          --parts N       input files = splits = concurrent sub-tasks (default: number of cores)
          --seed N        base random seed (default 42)
          --warm-up N     rows of the warm-up ingestion run before the measured one (default 50000; 0 = none)
          --profile       also run the single-threaded stage breakdown (parse, rollup, persist, merge, write)
          --no-duckdb     skip the DuckDB comparison
        """;

    public static async Task<int> Main(string[] args)
    {
        Options options;
        try { options = ParseArgs(args); }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }
        var cores = Environment.ProcessorCount;
        var scratch = Path.Combine(Path.GetTempPath(), $"fd-bench-{Environment.ProcessId}");
        var dataFolder = options.DataFolder ?? Path.Combine(scratch, "input");
        try
        {
            Log($"Generating {options.Rows:N0} rows in {options.Parts} files under {dataFolder} ...");
            var generation = System.Diagnostics.Stopwatch.StartNew();
            var data = DataGenerator.GenerateOrReuse(dataFolder, options.Rows, options.Parts, options.Seed);
            Log($"Input ready: {data.Bytes / 1e6:N0} MB in {generation.Elapsed.TotalSeconds:N1} s");

            Log($"Ingesting with index_parallel, maxNumConcurrentSubTasks = {options.Parts} ...");
            var warmUp = options.WarmUpRows > 0
                ? DataGenerator.GenerateOrReuse(Path.Combine(scratch, "warm-up"), options.WarmUpRows, options.Parts, options.Seed + 1000)
                : null;
            var loadBefore = LoadAverage();
            var ours = await DruidBench.Run(data, warmUp, options.Parts, Path.Combine(scratch, "server"), TimeSpan.FromMinutes(60));
            Log($"Ingestion done in {ours.Wall.TotalSeconds:N2} s");
            var loadAfter = LoadAverage();

            DuckDbResult? duck = null;
            if (!options.SkipDuckDb)
            {
                Log("Loading the same files into DuckDB ...");
                duck = DuckDbBench.Run(data, cores);
                Log($"DuckDB load {duck.Load.TotalSeconds:N2} s, rollup {duck.Rollup.TotalSeconds:N2} s, single pass {duck.SinglePass.TotalSeconds:N2} s");
            }

            IReadOnlyList<Stage>? stages = null;
            if (options.Profile)
            {
                Log("Stage breakdown (single thread) ...");
                stages = StageBreakdown.Run(data, DruidBench.TaskSpec(data.Folder, options.Parts), Path.Combine(scratch, "profile"));
            }

            Console.WriteLine();
            Console.WriteLine(Report(data, options, cores, ours, duck, stages, $"{loadBefore} before, {loadAfter} after our ingestion, {LoadAverage()} at the end"));
            return Agrees(data, ours, duck) ? 0 : 1;
        }
        finally
        {
            // A --data folder lives outside scratch and is kept for the next run.
            TryDelete(scratch);
        }
    }

    static Options ParseArgs(string[] args)
    {
        var o = new Options(5_000_000, null, Environment.ProcessorCount, 42, false, false, 50_000);
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            long Number(string s) => long.TryParse(s.Replace("_", ""), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
                ? n : throw new ArgumentException($"Expected a positive whole number, got \"{s}\"");
            o = args[i] switch
            {
                "--rows" => o with { Rows = Number(Next()) },
                "--data" => o with { DataFolder = Path.GetFullPath(Next()) },
                "--parts" => o with { Parts = (int)Number(Next()) },
                "--seed" => o with { Seed = (int)Number(Next()) },
                "--profile" => o with { Profile = true },
                "--warm-up" => o with { WarmUpRows = Next() is "0" ? 0 : Number(args[i]) },
                "--no-duckdb" => o with { SkipDuckDb = true },
                "--help" or "-h" => throw new ArgumentException("FunctionalDruid ingestion benchmark"),
                var other => throw new ArgumentException($"Unknown option {other}"),
            };
        }
        return o;
    }

    /// <summary>Both engines must have rolled up to the same rows and sums, or the timing compares
    /// different work.</summary>
    static bool Agrees(GeneratedData data, DruidResult ours, DuckDbResult? duck)
    {
        var ok = ours.Stored.InputRows == data.Rows;
        if (duck is null) return ok;
        var d = duck.Rolled;
        return ok && d.RolledUpRows == ours.Stored.RolledUpRows && d.InputRows == ours.Stored.InputRows
               && d.LongSums.SequenceEqual(ours.Stored.LongSums)
               && d.DoubleSums.Zip(ours.Stored.DoubleSums).All(p => Math.Abs(p.First - p.Second) <= 1e-9 * Math.Max(1, Math.Abs(p.First)));
    }

    static string Report(GeneratedData data, Options options, int cores, DruidResult ours, DuckDbResult? duck, IReadOnlyList<Stage>? stages, string load)
    {
        var sb = new StringBuilder();
        var rows = (double)data.Rows;
        var seconds = ours.Wall.TotalSeconds;
        sb.AppendLine($"== FunctionalDruid ingestion benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC ==");
        sb.AppendLine($"machine: {cores} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GiB, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
        sb.AppendLine($"load:    1-minute load average {load} (other work on the machine skews both engines)");
        sb.AppendLine($"input:   {data.Rows:N0} JSON lines, {data.Bytes / 1e6:N0} MB in {data.Files.Count} files (seed {options.Seed}); 10 string dims (Zipf s=1), 3 long + 2 double metrics");
        sb.AppendLine();
        sb.AppendLine("FunctionalDruid index_parallel (HTTP submit -> SUCCESS)");
        Row(sb, "wall time", $"{seconds:N2} s (task duration {ours.TaskDurationMs / 1000.0:N2} s; {(options.WarmUpRows > 0 ? $"after a {options.WarmUpRows:N0}-row warm-up task" : "no warm-up")})");
        Row(sb, "throughput", $"{rows / seconds:N0} rows/s, {rows / seconds / cores:N0} rows/s per core (target >= 250,000 per core: {(rows / seconds / cores >= 250_000 ? "met" : "NOT met")})");
        var t = ours.Timeline;
        Row(sb, "timeline", $"workers done {At(t.FirstWorkerDone)} / {At(t.AllWorkersDone)}, published {At(t.Published)}, SUCCESS {At(t.Success)} (after submit)");
        Row(sb, "input rate", $"{data.Bytes / 1e6 / seconds:N1} MB/s");
        Row(sb, "rolled-up rows", $"{ours.Stored.RolledUpRows:N0} ({ours.Stored.RolledUpRows / rows:P1} of input; sum(count) = {ours.Stored.InputRows:N0})");
        Row(sb, "segments", $"{ours.SegmentCount} segments, {ours.SegmentBytes / 1e6:N1} MB ({(double)ours.SegmentBytes / data.Bytes:P1} of input, {(double)ours.SegmentBytes / Math.Max(1, ours.Stored.RolledUpRows):N1} bytes/row)");
        Row(sb, "memory (ingest)", $"max working set {Mb(ours.Memory.MaxWorkingSet)}, max managed heap {Mb(ours.Memory.MaxManagedHeap)}, process peak working set {Mb(ours.Memory.ProcessPeakWorkingSet)}");
        var gc = ours.Gc;
        Row(sb, "GC (ingest)", $"{gc.AllocatedBytes / 1e9:N1} GB allocated ({gc.AllocatedBytes / rows:N0} B/row), collections gen0/1/2 {gc.Gen0}/{gc.Gen1}/{gc.Gen2}, paused {gc.Paused.TotalSeconds:N2} s ({gc.Paused.TotalSeconds / seconds:P0} of wall)");
        if (duck is not null)
        {
            var loadAndRollup = duck.Load + duck.Rollup;
            sb.AppendLine();
            sb.AppendLine($"DuckDB {DuckDBVersion()} in-process, {cores} threads (timestamp read as {duck.TimestampType})");
            Row(sb, "load", $"{duck.Load.TotalSeconds:N2} s ({rows / duck.Load.TotalSeconds:N0} rows/s)");
            Row(sb, "rollup of table", $"{duck.Rollup.TotalSeconds:N2} s");
            Row(sb, "load + rollup", $"{loadAndRollup.TotalSeconds:N2} s ({rows / loadAndRollup.TotalSeconds:N0} rows/s)");
            Row(sb, "rollup from files", $"{duck.SinglePass.TotalSeconds:N2} s (one pass, no table)");
            Row(sb, "rolled-up rows", $"{duck.Rolled.RolledUpRows:N0}");
            Row(sb, "memory (whole phase)", $"max working set {Mb(duck.Memory.MaxWorkingSet)} (process incl. our server's leftovers)");
            sb.AppendLine();
            sb.AppendLine("Ratio ours / DuckDB (time; lower is better, 1.0 = as fast as DuckDB)");
            Row(sb, "vs load", $"{seconds / duck.Load.TotalSeconds:N2}x");
            Row(sb, "vs load + rollup", $"{seconds / loadAndRollup.TotalSeconds:N2}x");
            Row(sb, "vs one-pass rollup", $"{seconds / duck.SinglePass.TotalSeconds:N2}x");
            Row(sb, "same result", Agrees(data, ours, duck) ? "yes (rolled-up rows, sum(count) and all metric sums match)" : "NO: rolled-up rows or sums differ");
        }
        if (stages is not null)
        {
            sb.AppendLine();
            sb.AppendLine("Stage breakdown, one thread, same pipeline as the task (worker stages run in parallel in the server)");
            var measured = stages.Skip(1).Sum(s => s.Time.TotalSeconds);
            foreach (var s in stages)
            {
                var share = s == stages[0] ? "" : $" {s.Time.TotalSeconds / measured,6:P0}";
                sb.AppendLine($"  {(s.Parallel ? "[workers]" : "[serial] "),-9} {s.Name,-58} {s.Time.TotalSeconds,8:N2} s {1e6 * s.Time.TotalSeconds / rows,7:N2} us/row{share}");
            }
        }
        return sb.ToString();
    }

    static string DuckDBVersion() => typeof(DuckDB.NET.Data.DuckDBConnection).Assembly.GetName().Version?.ToString(3) ?? "";

    static void Row(StringBuilder sb, string label, string value) => sb.AppendLine($"  {label,-22} {value}");

    static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
    }

    static string At(TimeSpan? t) => t is { } v ? $"{v.TotalSeconds:N1} s" : "?";

    static string Mb(long bytes) => $"{bytes / (1024.0 * 1024):N0} MiB";

    static void Log(string message) => Console.WriteLine($"{DateTime.Now:HH:mm:ss.fff} {message}");

    static void TryDelete(string folder)
    {
        try { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
        catch (IOException) { }
    }
}

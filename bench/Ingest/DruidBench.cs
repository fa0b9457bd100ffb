using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using FunctionalDruid.Host;
using FunctionalDruid.Host.Config;

namespace FunctionalDruid.Bench.Ingest;

/// <summary>What one ingestion into our server measured, and what the data looks like after it.</summary>
public sealed record DruidResult(
    TimeSpan Wall,
    long TaskDurationMs,
    MemoryPeaks Memory,
    Totals Stored,
    long SegmentCount,
    long SegmentBytes,
    TaskTimeline Timeline,
    GcActivity Gc);

/// <summary>Garbage collections during the ingestion and the time the runtime was paused for them.</summary>
public sealed record GcActivity(int Gen0, int Gen1, int Gen2, TimeSpan Paused, long AllocatedBytes)
{
    public static GcActivity Now() => new(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes());
    public GcActivity Since(GcActivity start) => new(Gen0 - start.Gen0, Gen1 - start.Gen1, Gen2 - start.Gen2, Paused - start.Paused, AllocatedBytes - start.AllocatedBytes);
}

/// <summary>When, after submission, the task passed each visible milestone (null when the poll
/// missed it): every worker done rolling up (its row counts reach the task report), segments
/// published in the metadata store, and SUCCESS (after the segment cache has loaded them).</summary>
public sealed record TaskTimeline(TimeSpan? FirstWorkerDone, TimeSpan? AllWorkersDone, TimeSpan? Published, TimeSpan Success);

/// <summary>Row count and metric sums of a rolled-up table, used to check both engines agree.</summary>
public sealed record Totals(long RolledUpRows, long InputRows, long[] LongSums, double[] DoubleSums);

/// <summary>
/// Starts the real server in-process (temporary data dir, free port, SQLite metadata), submits
/// an index_parallel task over HTTP exactly as a Druid client would, and waits for it.
/// </summary>
public static class DruidBench
{
    public const string DataSource = "bench";

    public static string TaskSpec(string inputFolder, int concurrentSubTasks, string dataSource = DataSource)
    {
        var metrics = new JsonArray { new JsonObject { ["type"] = "count", ["name"] = "count" } };
        foreach (var m in DataGenerator.LongMetrics) metrics.Add(new JsonObject { ["type"] = "longSum", ["name"] = m, ["fieldName"] = m });
        foreach (var m in DataGenerator.DoubleMetrics) metrics.Add(new JsonObject { ["type"] = "doubleSum", ["name"] = m, ["fieldName"] = m });
        var spec = new JsonObject
        {
            ["type"] = "index_parallel",
            ["spec"] = new JsonObject
            {
                ["dataSchema"] = new JsonObject
                {
                    ["dataSource"] = dataSource,
                    ["timestampSpec"] = new JsonObject { ["column"] = "timestamp", ["format"] = "iso" },
                    ["dimensionsSpec"] = new JsonObject { ["dimensions"] = new JsonArray(DataGenerator.Dimensions.Select(d => (JsonNode?)d).ToArray()) },
                    ["metricsSpec"] = metrics,
                    ["granularitySpec"] = new JsonObject
                    {
                        ["type"] = "uniform",
                        ["segmentGranularity"] = "DAY",
                        ["queryGranularity"] = "MINUTE",
                        ["rollup"] = true,
                    },
                },
                ["ioConfig"] = new JsonObject
                {
                    ["type"] = "index_parallel",
                    ["inputSource"] = new JsonObject { ["type"] = "local", ["baseDir"] = inputFolder, ["filter"] = DataGenerator.FilePattern },
                    ["inputFormat"] = new JsonObject { ["type"] = "json" },
                },
                ["tuningConfig"] = new JsonObject
                {
                    ["type"] = "index_parallel",
                    ["maxNumConcurrentSubTasks"] = concurrentSubTasks,
                },
            },
        };
        return spec.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Ingests <paramref name="data"/> and measures it. A small warm-up ingestion into
    /// another data source runs first, so the figures are those of a running server rather than
    /// of just-in-time compilation.</summary>
    public static async Task<DruidResult> Run(GeneratedData data, GeneratedData? warmUp, int concurrentSubTasks, string serverDataDir, TimeSpan timeout)
    {
        var config = ServerConfig.FromArgs(["--port", "0", "--data-dir", serverDataDir], new Dictionary<string, string>());
        await using var server = DruidServer.Create(config);
        await server.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(server.BaseUrl), Timeout = TimeSpan.FromMinutes(5) };
        if (warmUp is not null) await WarmUp(client, warmUp, concurrentSubTasks, timeout);
        var spec = TaskSpec(data.Folder, concurrentSubTasks);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var sampler = new MemorySampler();
        var gcAtStart = GcActivity.Now();
        var cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var submitted = await Post(client, "/druid/indexer/v1/task", spec);
        var taskId = submitted["task"]!.GetValue<string>();
        var escapedId = Uri.EscapeDataString(taskId);
        TimeSpan? firstWorker = null, allWorkers = null, published = null;
        JsonNode status;
        while (true)
        {
            status = (await Get(client, $"/druid/indexer/v1/task/{escapedId}/status"))["status"]!;
            if (status["status"]!.GetValue<string>() != "RUNNING") break;
            if (clock.Elapsed > timeout) throw new TimeoutException($"Task {taskId} still running after {timeout}");
            if (allWorkers is null)
            {
                // Workers report their row counts once, when they finish their splits.
                var processed = (await Get(client, $"/druid/indexer/v1/task/{escapedId}/reports"))["ingestionStatsAndErrors"]?["payload"]?["rowStats"]?["buildSegments"]?["processed"]?.GetValue<long>() ?? 0;
                if (processed > 0) firstWorker ??= clock.Elapsed;
                if (processed >= data.Rows) allWorkers = clock.Elapsed;
            }
            else if (published is null && (await Get(client, $"/druid/coordinator/v1/metadata/datasources/{DataSource}/segments")).AsArray().Count > 0)
                published = clock.Elapsed;
            await Task.Delay(50);
        }
        var wall = clock.Elapsed;
        // Rows per second of process CPU time: steadier than wall time on a shared machine.
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart).TotalSeconds;
        Console.WriteLine($"process CPU during the task {cpu:N2} s = {data.Rows / cpu:N0} rows/s per core of CPU time");
        var memory = sampler.Stop();
        var gc = GcActivity.Now().Since(gcAtStart);
        if (status["status"]!.GetValue<string>() != "SUCCESS")
            throw new InvalidOperationException($"Task {taskId} ended {status["status"]}: {status["errorMsg"]}");

        var stored = await QueryTotals(client);
        var segments = (await Get(client, $"/druid/coordinator/v1/metadata/datasources/{DataSource}/segments?full")).AsArray();
        var segmentBytes = segments.Sum(s => s!["size"]!.GetValue<long>());
        return new DruidResult(wall, status["duration"]!.GetValue<long>(), memory, stored, segments.Count, segmentBytes,
            new TaskTimeline(firstWorker, allWorkers, published, wall), gc);
    }

    static async Task WarmUp(HttpClient client, GeneratedData warmUp, int concurrentSubTasks, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var taskId = (await Post(client, "/druid/indexer/v1/task", TaskSpec(warmUp.Folder, concurrentSubTasks, "bench_warmup")))["task"]!.GetValue<string>();
        while (true)
        {
            var status = (await Get(client, $"/druid/indexer/v1/task/{Uri.EscapeDataString(taskId)}/status"))["status"]!;
            var code = status["status"]!.GetValue<string>();
            if (code == "SUCCESS") return;
            if (code != "RUNNING") throw new InvalidOperationException($"Warm-up task ended {code}: {status["errorMsg"]}");
            if (clock.Elapsed > timeout) throw new TimeoutException("Warm-up task still running");
            await Task.Delay(50);
        }
    }

    /// <summary>A timeseries over everything: the query-time count aggregator counts stored
    /// (rolled-up) rows; the sums of the ingested metrics must match the input's.</summary>
    static async Task<Totals> QueryTotals(HttpClient client)
    {
        var aggregations = new JsonArray
        {
            new JsonObject { ["type"] = "count", ["name"] = "rolled_up_rows" },
            new JsonObject { ["type"] = "longSum", ["name"] = "input_rows", ["fieldName"] = "count" },
        };
        foreach (var m in DataGenerator.LongMetrics) aggregations.Add(new JsonObject { ["type"] = "longSum", ["name"] = m, ["fieldName"] = m });
        foreach (var m in DataGenerator.DoubleMetrics) aggregations.Add(new JsonObject { ["type"] = "doubleSum", ["name"] = m, ["fieldName"] = m });
        var query = new JsonObject
        {
            ["queryType"] = "timeseries",
            ["dataSource"] = DataSource,
            ["granularity"] = "all",
            ["intervals"] = new JsonArray { "1000-01-01/3000-01-01" },
            ["aggregations"] = aggregations,
        };
        var answer = (await Post(client, "/druid/v2", query.ToJsonString())).AsArray();
        if (answer.Count != 1) throw new InvalidOperationException($"Expected one timeseries row, got: {answer.ToJsonString()}");
        var result = answer[0]!["result"]!;
        return new Totals(
            result["rolled_up_rows"]!.GetValue<long>(),
            result["input_rows"]!.GetValue<long>(),
            DataGenerator.LongMetrics.Select(m => result[m]!.GetValue<long>()).ToArray(),
            DataGenerator.DoubleMetrics.Select(m => result[m]!.GetValue<double>()).ToArray());
    }

    static async Task<JsonNode> Post(HttpClient client, string path, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(path, content);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"POST {path} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    static async Task<JsonNode> Get(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"GET {path} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }
}

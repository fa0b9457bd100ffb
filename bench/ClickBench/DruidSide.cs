using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using FunctionalDruid.Host;
using FunctionalDruid.Host.Config;

namespace FunctionalDruid.Bench.ClickBench;

/// <summary>
/// Our server in-process (temporary data dir, free port, SQLite metadata): ingests the files
/// with an index_parallel task (no rollup, DAY segments) and answers the queries over
/// <c>POST /druid/v2/sql</c> exactly as a Druid client would send them.
/// </summary>
public sealed class DruidSide : IAsyncDisposable
{
    public const string DataSource = "hits";
    readonly DruidServer server;
    readonly HttpClient client;

    DruidSide(DruidServer server, TimeSpan queryTimeout)
    {
        this.server = server;
        client = new HttpClient { BaseAddress = new Uri(server.BaseUrl), Timeout = queryTimeout + TimeSpan.FromSeconds(30) };
    }

    public static async Task<DruidSide> Start(string dataDir, TimeSpan queryTimeout)
    {
        var config = ServerConfig.FromArgs(["--port", "0", "--data-dir", dataDir], new Dictionary<string, string>());
        var server = DruidServer.Create(config);
        await server.StartAsync();
        return new DruidSide(server, queryTimeout);
    }

    public static string TaskSpec(string inputFolder, int concurrentSubTasks)
    {
        var dimensions = new JsonArray(HitsGenerator.Columns
            .Select(c => (JsonNode?)new JsonObject { ["name"] = c.Name, ["type"] = c.DruidType }).ToArray());
        var spec = new JsonObject
        {
            ["type"] = "index_parallel",
            ["spec"] = new JsonObject
            {
                ["dataSchema"] = new JsonObject
                {
                    ["dataSource"] = DataSource,
                    ["timestampSpec"] = new JsonObject { ["column"] = "EventTime", ["format"] = "millis" },
                    ["dimensionsSpec"] = new JsonObject { ["dimensions"] = dimensions },
                    ["granularitySpec"] = new JsonObject
                    {
                        ["type"] = "uniform",
                        ["segmentGranularity"] = "DAY",
                        ["queryGranularity"] = "NONE",
                        ["rollup"] = false,
                    },
                },
                ["ioConfig"] = new JsonObject
                {
                    ["type"] = "index_parallel",
                    ["inputSource"] = new JsonObject { ["type"] = "local", ["baseDir"] = inputFolder, ["filter"] = HitsGenerator.FilePattern },
                    ["inputFormat"] = new JsonObject { ["type"] = "json" },
                },
                ["tuningConfig"] = new JsonObject
                {
                    ["type"] = "index_parallel",
                    ["maxNumConcurrentSubTasks"] = concurrentSubTasks,
                },
            },
        };
        return spec.ToJsonString();
    }

    /// <summary>Whether SQL already sees exactly these many rows (a kept data folder).</summary>
    public async Task<bool> HoldsRows(long rows)
    {
        // Stored segments are announced shortly after start: give them a few seconds.
        for (var attempt = 0; attempt < 50; attempt++)
        {
            try
            {
                var (answer, _) = await Sql("SELECT COUNT(*) FROM hits", TimeSpan.FromMinutes(1));
                if (answer.Count == 1 && answer[0]![0]!.GetValue<long>() == rows) return true;
            }
            catch (InvalidOperationException) { /* table not visible (yet) */ }
            await Task.Delay(200);
        }
        return false;
    }

    /// <summary>Submits the task, waits for SUCCESS, then until SQL sees every row.</summary>
    public async Task<TimeSpan> Ingest(HitsData data, int concurrentSubTasks, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var taskId = (await Post("/druid/indexer/v1/task", TaskSpec(data.Folder, concurrentSubTasks)))["task"]!.GetValue<string>();
        while (true)
        {
            var status = (await Get($"/druid/indexer/v1/task/{Uri.EscapeDataString(taskId)}/status"))["status"]!;
            var code = status["status"]!.GetValue<string>();
            if (code == "SUCCESS") break;
            if (code != "RUNNING") throw new InvalidOperationException($"Task {taskId} ended {code}: {status["errorMsg"]}");
            if (clock.Elapsed > timeout) throw new TimeoutException($"Task {taskId} still running after {timeout}");
            await Task.Delay(200);
        }
        var took = clock.Elapsed;
        while (true)
        {
            try
            {
                var (rows, _) = await Sql("SELECT COUNT(*) FROM hits", TimeSpan.FromMinutes(1));
                if (rows.Count == 1 && rows[0]![0]!.GetValue<long>() == data.Rows) return took;
            }
            catch (InvalidOperationException) { /* table not visible yet */ }
            if (clock.Elapsed > timeout) throw new TimeoutException("Segments not all queryable");
            await Task.Delay(200);
        }
    }

    /// <summary>Runs one query; the rows as Druid's array result format returns them, and the
    /// wall time of the HTTP request (serialisation included, as ClickBench's curl measures).
    /// COUNT(DISTINCT) is exact (useApproximateCountDistinct false) so both engines agree.</summary>
    public async Task<(JsonArray Rows, TimeSpan Took)> Sql(string sql, TimeSpan timeout)
    {
        var body = new JsonObject
        {
            ["query"] = sql,
            ["resultFormat"] = "array",
            ["context"] = new JsonObject { ["useApproximateCountDistinct"] = false, ["timeout"] = (long)timeout.TotalMilliseconds },
        };
        var clock = Stopwatch.StartNew();
        var answer = await Post("/druid/v2/sql", body.ToJsonString());
        return (answer.AsArray(), clock.Elapsed);
    }

    async Task<JsonNode> Post(string path, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(path, content);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"HTTP {(int)response.StatusCode}: {(text.Length > 400 ? text[..400] : text)}");
        return JsonNode.Parse(text)!;
    }

    async Task<JsonNode> Get(string path)
    {
        using var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"GET {path} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    public async ValueTask DisposeAsync()
    {
        client.Dispose();
        await server.DisposeAsync();
    }
}

using System.Diagnostics;
using System.Net.Http;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using FunctionalDruid.Host;
using FunctionalDruid.Host.Config;

namespace FunctionalDruid.Bench.KafkaIngest;

/// <summary>
/// Produces seed-shaped JSON messages to librdkafka's mock cluster, then starts a Kafka
/// supervisor (useEarliestOffset) on the in-process server and measures the time until a
/// timeseries query counts every message: messages/s from produce to queryable, wall-clock and
/// per core of process CPU time (the mock brokers run in this process too, so the per-core
/// figure is conservative).
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var messages = 1_000_000;
        var warmUp = 100_000;
        int? partitionsArg = null;
        for (var i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--messages") messages = int.Parse(args[++i]);
            else if (args[i] == "--partitions") partitionsArg = int.Parse(args[++i]);
            else if (args[i] == "--warm-up") warmUp = int.Parse(args[++i]);
        }
        if (args.Contains("--profile"))
        {
            Profile.Run(SupervisorSpec("bench", "localhost:9092", 1), Messages(messages).ToList(), 5_000);
            return 0;
        }
        // librdkafka's mock brokers keep about 5 MB per partition; stay well under it.
        var partitions = partitionsArg ?? Math.Max(2, (messages + 39_999) / 40_000);
        using var cluster = new MockCluster(1);
        cluster.CreateTopic("bench", partitions);
        Console.WriteLine($"producing {messages:N0} messages to {partitions} partitions at {cluster.Bootstraps} ...");
        var producer = Stopwatch.StartNew();
        Produce(cluster.Bootstraps, "bench", messages, partitions);
        Console.WriteLine($"  produced in {producer.Elapsed.TotalSeconds:F1} s");

        if (args.Contains("--consume-only"))
        {
            ConsumeOnly(cluster.Bootstraps, messages, partitions);
            return 0;
        }
        var dataDir = Path.Combine(Path.GetTempPath(), $"fd-kafka-bench-{Environment.ProcessId}");
        var config = ServerConfig.FromArgs(["--port", "0", "--data-dir", dataDir, "--druid.supervisor.override.startDelay", "0",
            "--druid.supervisor.override.period", "200"], new Dictionary<string, string>());
        await using var server = DruidServer.Create(config);
        await server.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        var taskCount = Math.Min(partitions, Environment.ProcessorCount);
        if (warmUp > 0)
        {
            // The same ingestion on a small topic first, so JIT compilation is not measured
            // (a server ingests for hours; bench/Ingest warms up the same way).
            var warmUpPartitions = Math.Max(2, (warmUp + 39_999) / 40_000);
            cluster.CreateTopic("warmup", warmUpPartitions);
            Produce(cluster.Bootstraps, "warmup", warmUp, warmUpPartitions);
            var warmClock = Stopwatch.StartNew();
            (await http.PostAsync("/druid/indexer/v1/supervisor", new StringContent(SupervisorSpec("warmup", cluster.Bootstraps, taskCount), Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
            while (await Count(http, "warmup") < warmUp)
                if (warmClock.Elapsed > TimeSpan.FromMinutes(5)) { Console.Error.WriteLine("warm-up gave up"); return 1; }
            (await http.PostAsync("/druid/indexer/v1/supervisor/warmup/terminate", null)).EnsureSuccessStatusCode();
            Console.WriteLine($"  warm-up: {warmUp:N0} messages queryable in {warmClock.Elapsed.TotalSeconds:F1} s, supervisor terminated");
            await Task.Delay(1000);
        }
        var spec = SupervisorSpec("bench", cluster.Bootstraps, taskCount);
        var threadsBefore = ThreadCpu.Sample();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        (await http.PostAsync("/druid/indexer/v1/supervisor", new StringContent(spec, Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        long counted = 0;
        while (counted < messages)
        {
            counted = await Count(http, "bench");
            if (args.Contains("--progress")) Console.WriteLine($"  {clock.Elapsed.TotalSeconds:F1} s: {counted:N0}");
            if (clock.Elapsed > TimeSpan.FromMinutes(10)) { Console.Error.WriteLine($"gave up at {counted:N0}"); return 1; }
        }
        var seconds = clock.Elapsed.TotalSeconds;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        Console.WriteLine($"queryable: {counted:N0} messages in {seconds:F2} s = {counted / seconds:N0} messages/s wall-clock");
        Console.WriteLine($"  process CPU {cpu:F2} s = {counted / cpu:N0} messages/s per core ({Environment.ProcessorCount} cores)");
        var threadsAfter = ThreadCpu.Sample();
        var brokers = ThreadCpu.Delta(threadsBefore, threadsAfter).Where(kv => kv.Key.StartsWith("librdkafka")).Sum(kv => kv.Value);
        Console.WriteLine($"  CPU by thread (librdkafka threads: {brokers:F2} s, both the mock brokers and the task's consumers):");
        ThreadCpu.Print(threadsBefore, threadsAfter, counted);
        try { Directory.Delete(dataDir, true); } catch (IOException) { }
        return 0;
    }

    /// <summary>Rows of the data source a query counts now (realtime and published).</summary>
    static async Task<long> Count(HttpClient http, string dataSource)
    {
        await Task.Delay(100);
        var query = $$"""{"queryType":"timeseries","dataSource":"{{dataSource}}","intervals":["2019-01-01/2020-01-01"],"granularity":"all","aggregations":[{"type":"longSum","name":"n","fieldName":"count"}]}""";
        var body = await (await http.PostAsync("/druid/v2", new StringContent(query, Encoding.UTF8, "application/json"))).Content.ReadAsStringAsync();
        return JsonNode.Parse(body) is JsonArray { Count: > 0 } rows ? rows[0]!["result"]!["n"]!.GetValue<long>() : 0;
    }

    static string SupervisorSpec(string dataSource, string bootstraps, int taskCount) => $$$"""
            {"type":"kafka","spec":{
              "dataSchema":{"dataSource":"{{{dataSource}}}","timestampSpec":{"column":"timestamp","format":"auto"},
                "dimensionsSpec":{"dimensions":["city","platform"]},
                "metricsSpec":[{"type":"count","name":"count"},{"type":"longSum","name":"click","fieldName":"click"}],
                "granularitySpec":{"segmentGranularity":"DAY","queryGranularity":"NONE","rollup":false}},
              "ioConfig":{"topic":"{{{dataSource}}}","taskCount":{{{taskCount}}},"replicas":1,"taskDuration":"PT1H","useEarliestOffset":true,
                "inputFormat":{"type":"json"},"consumerProperties":{"bootstrap.servers":"{{{bootstraps}}}"}},
              "tuningConfig":{"type":"kafka"} } }
            """;

    /// <summary>The bench's messages: seed-shaped JSON, as UTF-8.</summary>
    static IEnumerable<byte[]> Messages(int messages)
    {
        var cities = new[] { "beijing", "shanghai", "hangzhou", "shenzhen" };
        var platforms = new[] { "pc", "mobile", "pad" };
        var random = new Random(42);
        for (var i = 0; i < messages; i++)
        {
            var ts = 1559347200000L + random.NextInt64(5L * 86_400_000L);
            yield return Encoding.UTF8.GetBytes($$"""{"timestamp":"{{ts}}","city":"{{cities[random.Next(4)]}}","platform":"{{platforms[random.Next(3)]}}","click":"{{random.Next(10)}}"}""");
        }
    }

    /// <summary>The Kafka client's own cost: one consumer reads every message and does nothing with it.</summary>
    static void ConsumeOnly(string bootstraps, int messages, int partitions)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig { BootstrapServers = bootstraps, GroupId = "x", EnableAutoCommit = false })
            .SetLogHandler((_, _) => { }).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset("bench", new Partition(p), Offset.Beginning)));
        var before = ThreadCpu.Sample();
        var thread = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        long bytes = 0;
        for (var n = 0; n < messages;)
        {
            var m = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (m is null || m.IsPartitionEOF) continue;
            bytes += m.Message.Value.Length;
            n++;
        }
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - thread).TotalSeconds;
        Console.WriteLine($"consumed {messages:N0} messages ({bytes:N0} bytes) in {clock.Elapsed.TotalSeconds:F2} s, process CPU {cpu:F2} s = {cpu * 1e6 / messages:F2} µs/msg");
        ThreadCpu.Print(before, ThreadCpu.Sample(), messages);
    }

    static void Produce(string bootstraps, string topic, int messages, int partitions)
    {
        using var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstraps, LingerMs = 20, BatchSize = 1 << 20, QueueBufferingMaxMessages = 1_000_000,
        }).SetLogHandler((_, _) => { }).Build();
        var failed = 0;
        void Report(DeliveryReport<Null, byte[]> r) { if (r.Error.IsError) Interlocked.Increment(ref failed); }
        var i = 0;
        foreach (var value in Messages(messages))
        {
            while (true)
            {
                try { producer.Produce(new TopicPartition(topic, new Partition(i % partitions)), new Message<Null, byte[]> { Value = value }, Report); break; }
                catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull) { producer.Poll(TimeSpan.FromMilliseconds(10)); }
            }
            i++;
        }
        producer.Flush(TimeSpan.FromMinutes(5));
        if (failed > 0) throw new InvalidOperationException($"{failed} messages were not delivered");
    }
}

/// <summary>librdkafka's mock cluster through its C API (the Debian-loadable build of the redist package).</summary>
sealed class MockCluster : IDisposable
{
    delegate nint ConfNew();
    delegate int ConfSet(nint conf, string name, string value, StringBuilder err, nuint size);
    delegate nint KafkaNew(int type, nint conf, StringBuilder err, nuint size);
    delegate nint ClusterNew(nint rk, int brokers);
    delegate nint Bootstrap(nint mc);
    delegate int TopicCreate(nint mc, string topic, int partitions, int replication);
    delegate void Destroy(nint handle);

    readonly nint _lib, _rk, _mc;

    public MockCluster(int brokers)
    {
        var root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages", "librdkafka.redist");
        var path = Directory.GetDirectories(root).OrderDescending()
            .Select(d => Path.Combine(d, "runtimes", "linux-x64", "native", "centos8-librdkafka.so")).First(File.Exists);
        _lib = NativeLibrary.Load(path);
        var err = new StringBuilder(512);
        var conf = Fn<ConfNew>("rd_kafka_conf_new")();
        Fn<ConfSet>("rd_kafka_conf_set")(conf, "log_level", "0", err, 512);
        _rk = Fn<KafkaNew>("rd_kafka_new")(0, conf, err, 512);
        _mc = Fn<ClusterNew>("rd_kafka_mock_cluster_new")(_rk, brokers);
        Bootstraps = Marshal.PtrToStringAnsi(Fn<Bootstrap>("rd_kafka_mock_cluster_bootstraps")(_mc))!;
    }

    T Fn<T>(string name) where T : Delegate => Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(_lib, name));

    public string Bootstraps { get; }

    public void CreateTopic(string topic, int partitions)
    {
        var result = Fn<TopicCreate>("rd_kafka_mock_topic_create")(_mc, topic, partitions, 1);
        if (result != 0) throw new InvalidOperationException($"topic create failed: {result}");
    }

    public void Dispose()
    {
        Fn<Destroy>("rd_kafka_mock_cluster_destroy")(_mc);
        Fn<Destroy>("rd_kafka_destroy")(_rk);
    }
}

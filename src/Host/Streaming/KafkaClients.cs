using Confluent.Kafka;
using FunctionalDruid.Core;
using Microsoft.FSharp.Collections;

namespace FunctionalDruid.Host.Streaming;

/// <summary>
/// The only place that talks to Kafka: consumers with manual assignment that never commit
/// offsets to Kafka (the metadata store holds the offsets that count), partition discovery and
/// watermark offsets. Everything is configured from the spec's consumerProperties alone.
/// </summary>
public static class KafkaClients
{
    /// <summary>Properties Druid always sets on its consumers, whatever the spec says.</summary>
    static readonly Dictionary<string, string> Forced = new()
    {
        ["enable.auto.commit"] = "false",
        ["enable.auto.offset.store"] = "false",
        // An assigned offset that no longer exists is an error to report, never a silent jump.
        ["auto.offset.reset"] = "error",
    };

    static ConsumerConfig ConsumerConfigFor(KafkaSpec.KafkaIoConfig io, string groupId)
    {
        var config = new ConsumerConfig();
        foreach (var (key, value) in io.ConsumerProperties.Select(p => (p.Item1, p.Item2)))
            config.Set(key, value);
        config.Set("group.id", config.Get("group.id") ?? groupId);
        foreach (var (key, value) in Forced) config.Set(key, value);
        config.Set("socket.connection.setup.timeout.ms", config.Get("socket.connection.setup.timeout.ms") ?? "3000");
        config.Set("reconnect.backoff.max.ms", config.Get("reconnect.backoff.max.ms") ?? "1000");
        return config;
    }

    public static IConsumer<Ignore, byte[]> Consumer(KafkaSpec.KafkaIoConfig io, string groupId, ILogger log) =>
        new ConsumerBuilder<Ignore, byte[]>(ConsumerConfigFor(io, groupId))
            // Broker outages surface here; the client reconnects by itself, reading resumes.
            .SetErrorHandler((_, e) => log.LogDebug("Kafka consumer: {Reason}", e.Reason))
            .SetLogHandler((_, _) => { })
            .Build();

    /// <summary>The topic's partition ids, or an error message when the cluster cannot be reached.</summary>
    public static (List<int>? Partitions, string? Error) Partitions(KafkaSpec.KafkaIoConfig io, TimeSpan timeout, ILogger log)
    {
        try
        {
            var config = new AdminClientConfig();
            foreach (var (key, value) in io.ConsumerProperties.Select(p => (p.Item1, p.Item2)))
                if (key is "bootstrap.servers" or "security.protocol" || key.StartsWith("sasl.") || key.StartsWith("ssl."))
                    config.Set(key, value);
            config.Set("socket.connection.setup.timeout.ms", "3000");
            using var admin = new AdminClientBuilder(config).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
            var topic = io.Topic is { } t ? t.Value : null;
            var metadata = topic is null ? admin.GetMetadata(timeout) : admin.GetMetadata(topic, timeout);
            var regex = io.TopicPattern is { } p ? new System.Text.RegularExpressions.Regex("^" + p.Value + "$") : null;
            var matching = metadata.Topics.Where(m => topic is not null ? m.Topic == topic : regex!.IsMatch(m.Topic)).ToList();
            var missing = matching.FirstOrDefault(m => m.Error.IsError);
            if (missing is not null) return (null, $"Topic [{missing.Topic}] is not available: {missing.Error.Reason}");
            if (matching.Count == 0) return (null, $"Topic [{io.Stream}] does not exist");
            // With a pattern the partitions of several topics would need their own numbering;
            // the first matching topic is read (a documented limitation).
            return (matching[0].Partitions.Select(x => x.PartitionId).Order().ToList(), null);
        }
        catch (KafkaException e)
        {
            return (null, $"Unable to fetch the partitions of [{io.Stream}]: {e.Error.Reason}");
        }
    }

    /// <summary>Earliest and latest offsets of the partitions.</summary>
    public static (FSharpMap<int, long> Earliest, FSharpMap<int, long> Latest) Watermarks(
        IConsumer<Ignore, byte[]> consumer, string topic, IEnumerable<int> partitions, TimeSpan timeout)
    {
        var earliest = new List<Tuple<int, long>>();
        var latest = new List<Tuple<int, long>>();
        foreach (var p in partitions)
        {
            var w = consumer.QueryWatermarkOffsets(new TopicPartition(topic, new Partition(p)), timeout);
            earliest.Add(Tuple.Create(p, w.Low.Value));
            latest.Add(Tuple.Create(p, w.High.Value));
        }
        return (MapModule.OfSeq(earliest), MapModule.OfSeq(latest));
    }
}

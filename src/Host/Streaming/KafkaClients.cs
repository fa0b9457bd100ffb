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

    /// <summary>
    /// The partitions to read, or an error message when the cluster cannot be reached: those of the
    /// one <c>topic</c>, or of every topic <c>topicPattern</c> matches (a topic created later is
    /// found on the next call).
    /// </summary>
    public static (List<KafkaOffsets.StreamPartition>? Partitions, string? Error) Partitions(KafkaSpec.KafkaIoConfig io, TimeSpan timeout, ILogger log)
    {
        try
        {
            var config = new AdminClientConfig();
            foreach (var (key, value) in io.ConsumerProperties.Select(p => (p.Item1, p.Item2)))
                if (key is "bootstrap.servers" or "security.protocol" || key.StartsWith("sasl.") || key.StartsWith("ssl."))
                    config.Set(key, value);
            config.Set("socket.connection.setup.timeout.ms", "3000");
            using var admin = new AdminClientBuilder(config).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
            var metadata = io.Topic is { } topic ? admin.GetMetadata(topic.Value, timeout) : admin.GetMetadata(timeout);
            var byName = metadata.Topics.GroupBy(m => m.Topic).ToDictionary(g => g.Key, g => g.First());
            var reading = SupervisorLogic.topicsToRead(io, ListModule.OfSeq(byName.Keys));
            var missing = reading.Select(t => byName[t]).FirstOrDefault(m => m.Error.IsError);
            if (missing is not null) return (null, $"Topic [{missing.Topic}] is not available: {missing.Error.Reason}");
            if (reading.IsEmpty) return (null, io.Topic is not null ? $"Topic [{io.Stream}] does not exist" : $"No topic matches the topicPattern [{io.Stream}]");
            var partitions = reading
                .SelectMany(t => byName[t].Partitions.Select(x => SupervisorLogic.streamPartitionOf(io, t, x.PartitionId)))
                .Order().ToList();
            return (partitions, null);
        }
        catch (KafkaException e)
        {
            return (null, $"Unable to fetch the partitions of [{io.Stream}]: {e.Error.Reason}");
        }
    }

    /// <summary>The Kafka topic-partition a supervisor's partition key names.</summary>
    public static TopicPartition TopicPartitionOf(KafkaSpec.KafkaIoConfig io, KafkaOffsets.StreamPartition p) =>
        new(SupervisorLogic.topicOf(io, p), new Partition(p.Partition));

    /// <summary>Earliest and latest offsets of the partitions.</summary>
    public static (FSharpMap<KafkaOffsets.StreamPartition, long> Earliest, FSharpMap<KafkaOffsets.StreamPartition, long> Latest) Watermarks(
        IConsumer<Ignore, byte[]> consumer, KafkaSpec.KafkaIoConfig io, IEnumerable<KafkaOffsets.StreamPartition> partitions, TimeSpan timeout)
    {
        var earliest = new List<Tuple<KafkaOffsets.StreamPartition, long>>();
        var latest = new List<Tuple<KafkaOffsets.StreamPartition, long>>();
        foreach (var p in partitions)
        {
            var w = consumer.QueryWatermarkOffsets(TopicPartitionOf(io, p), timeout);
            earliest.Add(Tuple.Create(p, w.Low.Value));
            latest.Add(Tuple.Create(p, w.High.Value));
        }
        return (MapModule.OfSeq(earliest), MapModule.OfSeq(latest));
    }
}

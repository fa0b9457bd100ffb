using FunctionalDruid.Core;
using Microsoft.FSharp.Collections;
using StreamPartition = FunctionalDruid.Core.KafkaOffsets.StreamPartition;

namespace FunctionalDruid.Host.Streaming;

/// <summary>
/// One generation of a task group: the replicas that read the same partitions from the same
/// start offsets, and, once the supervisor ends their reading, stop at the same end offsets.
/// Whichever replica commits first records the segments it published here, which is what the
/// realtime view uses to stop answering for the group once those segments are served.
/// </summary>
public sealed class TaskGroupRun(int groupId, FSharpMap<StreamPartition, long> start, long createdAt, KafkaSpec.SupervisorSpec spec)
{
    public int GroupId { get; } = groupId;
    public FSharpMap<StreamPartition, long> Start { get; } = start;
    public long CreatedAt { get; } = createdAt;
    public KafkaSpec.SupervisorSpec Spec { get; } = spec;
    public SupervisorLogic.MessageWindow Window { get; } = SupervisorLogic.messageWindow(spec.IoConfig, createdAt);
    volatile KafkaIndexTask[] _replicas = [];
    /// <summary>The group's tasks, failed ones included; replaced as a whole so queries can read it while a replica is added.</summary>
    public IReadOnlyList<KafkaIndexTask> Replicas => _replicas;
    public void AddReplica(KafkaIndexTask task)
    {
        lock (this) _replicas = [.. _replicas, task];
    }

    /// <summary>Failed replicas the supervisor has already replaced (touched under the supervisor's lock only).</summary>
    public HashSet<string> Replaced { get; } = [];

    volatile FSharpMap<StreamPartition, long>? _end;
    /// <summary>Set once by the supervisor when reading ends; replicas read up to it, then publish.</summary>
    public FSharpMap<StreamPartition, long>? End => _end;
    public long? PublishingSince { get; private set; }

    public void EndReading(FSharpMap<StreamPartition, long> end, long now)
    {
        PublishingSince = now;
        _end = end;
    }

    volatile IReadOnlySet<string>? _publishedIds;
    /// <summary>The ids of the segments this group's committed publish wrote (empty when it wrote none).</summary>
    public IReadOnlySet<string>? PublishedIds => _publishedIds;
    public void Committed(IReadOnlyCollection<string> ids) => _publishedIds ??= ids.ToHashSet();

    public long? HandedOffAt { get; set; }

    public bool AnyAlive => Replicas.Any(r => r.IsAlive);
    public bool AllFailed => Replicas.Count > 0 && Replicas.All(r => r.Status == Indexing.TaskState.Failed);
    public bool Succeeded => Replicas.Any(r => r.Status == Indexing.TaskState.Success) && !AnyAlive;

    /// <summary>The one replica whose rows queries see: the first that is still healthy.</summary>
    public KafkaIndexTask? Contributor => Replicas.FirstOrDefault(r => r.Status != Indexing.TaskState.Failed);
}

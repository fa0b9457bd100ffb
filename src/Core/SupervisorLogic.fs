/// The Kafka supervisor's decisions as pure functions of explicit inputs (the time is always
/// an argument): which task group reads which partition, when a group stops reading, which
/// message times a task accepts, and the names Druid gives tasks.
module FunctionalDruid.Core.SupervisorLogic

open System
open FunctionalDruid.Core
open FunctionalDruid.Core.KafkaSpec

/// Druid's assignment: partition p belongs to task group p mod taskCount.
let taskGroupOf (taskCount: int) (partition: int) : int = partition % (max 1 taskCount)

/// The partitions of each task group that has any, in ascending group order.
let assignPartitions (taskCount: int) (partitions: int list) : (int * int list) list =
    partitions
    |> List.distinct
    |> List.sort
    |> List.groupBy (taskGroupOf taskCount)
    |> List.sortBy fst

/// A reading group hands over to publishing once it has read for taskDuration.
let shouldStopReading (startedAt: int64) (taskDurationMillis: int64) (now: int64) : bool =
    now - startedAt >= taskDurationMillis

/// Seconds a reading group has left, as the status report shows them.
let remainingSeconds (startedAt: int64) (taskDurationMillis: int64) (now: int64) : int64 =
    max 0L ((startedAt + taskDurationMillis - now) / 1000L)

/// A publishing group that has not handed off within completionTimeout is abandoned and its
/// range read again by a new group (its offsets were never committed).
let completionTimedOut (publishingSince: int64) (completionTimeoutMillis: int64) (now: int64) : bool =
    now - publishingSince >= completionTimeoutMillis

/// The message times a task group accepts: Druid drops messages older than the group's
/// creation minus lateMessageRejectionPeriod (or before lateMessageRejectionStartDateTime)
/// and newer than its end of reading plus earlyMessageRejectionPeriod. Unset, all pass.
type MessageWindow = { Earliest: int64; Latest: int64 }

let messageWindow (io: KafkaIoConfig) (groupCreatedAt: int64) : MessageWindow =
    let earliest =
        match io.LateMessageRejectionStartDateTime, io.LateMessageRejectionPeriodMillis with
        | Some t, _ -> t
        | None, Some p -> groupCreatedAt - p
        | None, None -> Int64.MinValue
    let latest =
        match io.EarlyMessageRejectionPeriodMillis with
        | Some p -> groupCreatedAt + io.TaskDurationMillis + p
        | None -> Int64.MaxValue
    { Earliest = earliest; Latest = latest }

let accepts (window: MessageWindow) (time: int64) : bool = time >= window.Earliest && time <= window.Latest

let isUnbounded (window: MessageWindow) = window.Earliest = Int64.MinValue && window.Latest = Int64.MaxValue

/// How often a task group replaces failed replicas, per replica, before it stops: a failure
/// every replica meets (too many parse exceptions, say) would otherwise replace forever.
let maxReplacementsPerReplica = 3

/// The failed replicas (in order) a reading group replaces now, given how many it already
/// replaced; each replacement reads the group's range from its start offsets.
let replicasToReplace (replicas: int) (alreadyReplaced: int) (newlyFailed: string list) : string list =
    List.truncate (max 0 (maxReplacementsPerReplica * replicas - alreadyReplaced)) newlyFailed

/// Druid's druid.supervisor.unhealthinessThreshold: this many failed runs in a row make the
/// supervisor UNHEALTHY_SUPERVISOR.
let unhealthinessThreshold = 3

/// Druid's Kafka task ids: `index_kafka_<dataSource>_<random>`; the group id names the
/// supervisor's task family.
let taskId (dataSource: string) (random: string) : string = sprintf "index_kafka_%s_%s" dataSource random
let taskGroupIdOf (dataSource: string) : string = sprintf "index_kafka_%s" dataSource

/// The supervisor's generic state from its detailed one (Druid's mapping).
let stateOf (detailed: string) : string =
    match detailed with
    | "PENDING" | "CONNECTING_TO_STREAM" | "DISCOVERING_INITIAL_TASKS" | "CREATING_TASKS" -> "PENDING"
    | "RUNNING" | "IDLE" -> "RUNNING"
    | "SUSPENDED" -> "SUSPENDED"
    | "STOPPING" -> "STOPPING"
    | "UNABLE_TO_CONNECT_TO_STREAM" | "LOST_CONTACT_WITH_STREAM" | "UNHEALTHY_SUPERVISOR" -> "UNHEALTHY_SUPERVISOR"
    | "UNHEALTHY_TASKS" -> "UNHEALTHY_TASKS"
    | other -> other

/// Java's String.hashCode (UTF-16 code units, wrapping arithmetic), which Druid's multi-topic
/// assignment is defined by.
let javaStringHash (s: string) : int =
    let mutable h = 0
    for c in s do h <- 31 * h + int c
    h

/// Druid's task group of a partition read through `topicPattern`: the hash of topic and
/// partition mod taskCount, so partitions of every matching topic spread over the groups.
/// (Java's Math.abs leaves Int32.MinValue negative; here it is taken as 2^31.)
let taskGroupOfTopicPartition (taskCount: int) (topic: string) (partition: int) : int =
    let h = 31 * javaStringHash topic + partition
    int (abs (int64 h) % int64 (max 1 taskCount))

/// How Druid keys a multi-topic partition in stored offsets and status reports: "topic:partition".
let multiTopicKey (topic: string) (partition: int) : string = sprintf "%s:%d" topic partition

let tryParseMultiTopicKey (key: string) : (string * int) option =
    let colon = key.LastIndexOf ':'
    if colon <= 0 then None
    else
        match Int32.TryParse(key.AsSpan(colon + 1), Globalization.NumberStyles.None, Globalization.CultureInfo.InvariantCulture) with
        | true, p -> Some(key.Substring(0, colon), p)
        | _ -> None

/// The task group of any partition a supervisor reads: Druid's partition-mod rule for the single
/// `topic`, its topic-hash rule for the topics a `topicPattern` matches.
let taskGroupOfStreamPartition (taskCount: int) (partition: KafkaOffsets.StreamPartition) : int =
    if partition.IsMultiTopic then taskGroupOfTopicPartition taskCount partition.Topic partition.Partition
    else taskGroupOf taskCount partition.Partition

/// The partitions of each task group that has any, in ascending group and partition order.
let assignStreamPartitions (taskCount: int) (partitions: KafkaOffsets.StreamPartition list) : (int * KafkaOffsets.StreamPartition list) list =
    partitions
    |> List.distinct
    |> List.sort
    |> List.groupBy (taskGroupOfStreamPartition taskCount)
    |> List.sortBy fst

/// Druid matches `topicPattern` against the whole topic name (Java's Matcher.matches): a topic
/// that contains a match but does not match as a whole is not read.
let topicPatternRegex (pattern: string) : Text.RegularExpressions.Regex =
    Text.RegularExpressions.Regex(@"\A(?:" + pattern + @")\z", Text.RegularExpressions.RegexOptions.CultureInvariant)

/// Kafka's own topics, which a consumer's topic listing leaves out (exclude.internal.topics).
let private internalTopics = set [ "__consumer_offsets"; "__transaction_state" ]

/// The topics a supervisor reads, in ordinal order: the one `topic` if the cluster has it, or
/// every topic the pattern matches, Kafka's internal topics excepted.
let topicsToRead (io: KafkaIoConfig) (clusterTopics: string list) : string list =
    match io.Topic, io.TopicPattern with
    | Some t, _ -> clusterTopics |> List.filter ((=) t)
    | None, Some p ->
        let regex = topicPatternRegex p
        clusterTopics |> List.filter (fun t -> regex.IsMatch t && not (internalTopics.Contains t)) |> List.distinct |> List.sortWith (fun a b -> String.CompareOrdinal(a, b))
    | None, None -> []

/// How a supervisor keys a partition of a topic it reads: by number alone for a single `topic`
/// (the stored form Druid has always used), "topic:partition" under a `topicPattern`.
let streamPartitionOf (io: KafkaIoConfig) (topic: string) (partition: int) : KafkaOffsets.StreamPartition =
    if io.TopicPattern.IsSome && io.Topic.IsNone then KafkaOffsets.topicPartition topic partition
    else KafkaOffsets.singleTopicPartition partition

/// The Kafka topic a partition key is read from.
let topicOf (io: KafkaIoConfig) (partition: KafkaOffsets.StreamPartition) : string =
    if partition.IsMultiTopic then partition.Topic else io.Stream

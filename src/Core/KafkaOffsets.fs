/// Kafka offsets as the metadata store keeps them, and the rule that makes stream ingestion
/// exactly-once: a task's segments are published in the same transaction that moves the
/// stored offsets of its partitions from the task's start offsets to its end offsets, and
/// nothing else ever moves them forward.
module FunctionalDruid.Core.KafkaOffsets

open System
open System.Globalization
open FunctionalDruid.Core
open FunctionalDruid.Core.Json

/// Partition -> offset of the next message to read.
type OffsetMap = Map<int, int64>

/// Druid's KafkaTopicPartition: a partition of the supervisor's one `topic` (Topic is "", the
/// key is the partition number) or of one of the topics its `topicPattern` matches (the key is
/// "topic:partition"). Ordered by topic, then partition number.
[<Struct>]
type StreamPartition =
    { Topic: string
      Partition: int }
    member this.IsMultiTopic = this.Topic.Length > 0
    /// The key Druid writes in stored offsets, task ioConfigs and status reports.
    override this.ToString() =
        if this.Topic.Length = 0 then this.Partition.ToString(CultureInfo.InvariantCulture)
        else this.Topic + ":" + this.Partition.ToString(CultureInfo.InvariantCulture)

let singleTopicPartition (partition: int) : StreamPartition = { Topic = ""; Partition = partition }
let topicPartition (topic: string) (partition: int) : StreamPartition = { Topic = topic; Partition = partition }

/// Druid's reading of a key: text after the last ':' is the partition of the topic before it;
/// a bare number is a partition of the single topic.
let tryParseStreamPartition (key: string) : StreamPartition option =
    let colon = key.LastIndexOf ':'
    let number = if colon < 0 then key else key.Substring(colon + 1)
    match Int32.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture) with
    | true, p when colon < 0 -> Some(singleTopicPartition p)
    | true, p when colon > 0 -> Some(topicPartition (key.Substring(0, colon)) p)
    | _ -> None

/// Offsets keyed the way a supervisor keys them, single- or multi-topic.
type StreamOffsets = Map<StreamPartition, int64>

/// Druid's KafkaDataSourceMetadata JSON, partitions in ascending order so that equal maps are
/// equal text (the store compares and swaps text).
let metadataJson (stream: string) (offsets: Map<'k, int64>) : string =
    let partitions =
        offsets |> Map.toList |> List.map (fun (p, o) -> string p, Out.Long o)
    Out.toText false
        (Out.Object
            [ "type", Out.String "kafka"
              "partitions",
              Out.Object
                  [ "type", Out.String "end"
                    "stream", Out.String stream
                    "topic", Out.String stream
                    "partitionSequenceNumberMap", Out.Object partitions
                    "partitionOffsetMap", Out.Object partitions ] ])

let private offsetMapOf (n: Node) : OffsetMap =
    properties n
    |> List.map (fun (k, v) ->
        match Int32.TryParse(k, NumberStyles.None, CultureInfo.InvariantCulture) with
        | true, p -> p, asInt64 v
        | _ -> fail v (sprintf "Partition [%s] is not a partition number" k))
    |> Map.ofList

/// The stream and offsets in a stored or posted metadata document; Druid's older
/// (`partitionOffsetMap`) and newer (`partitionSequenceNumberMap`) spellings both work.
let private metadataWith (offsetsOf: Node -> 'offsets) (n: Node) : string * 'offsets =
    let n = expectObject n
    let partitions = expectObject (field n "partitions")
    let stream = optString partitions "stream" |> Option.orElse (optString partitions "topic") |> Option.defaultValue ""
    let map =
        match tryField partitions "partitionSequenceNumberMap" |> Option.orElse (tryField partitions "partitionOffsetMap") with
        | Some m -> offsetsOf m
        | None -> fail partitions "partitionSequenceNumberMap is required but missing"
    stream, map

let parseMetadata (n: Node) : string * OffsetMap = metadataWith offsetMapOf n

let parseMetadataText (text: string) : Result<string * OffsetMap, string * string> = Json.run text parseMetadata

let private streamOffsetsOf (n: Node) : StreamOffsets =
    properties n
    |> List.map (fun (k, v) ->
        match tryParseStreamPartition k with
        | Some p -> p, asInt64 v
        | None -> fail v (sprintf "Partition [%s] is neither a partition number nor topic:partition" k))
    |> Map.ofList

/// As parseMetadata, with keys of either form: "3" (single topic) or "topic:3" (topicPattern).
let parseStreamMetadata (n: Node) : string * StreamOffsets = metadataWith streamOffsetsOf n

let parseStreamMetadataText (text: string) : Result<string * StreamOffsets, string * string> = Json.run text parseStreamMetadata

/// What a publish of the offset range [start, end) may do, given the stored offsets.
[<RequireQualifiedAccess>]
type CommitDecision<'k when 'k: comparison> =
    /// Publish, swapping the stored offsets for these.
    | Commit of Map<'k, int64>
    /// A replica or an earlier attempt already committed this range: succeed, write nothing.
    | AlreadyCommitted
    /// An earlier range of these partitions is not committed yet: wait and ask again.
    | NotYet of string
    /// The stored offsets contradict the range (a reset, or a range that overlaps another).
    | Mismatch of string

type private Verdict =
    | Fresh
    | Neutral
    | Done
    | Early of string
    | Conflict of string

/// Druid's check (start offsets must equal the stored ones), extended so that replicas and
/// retries are idempotent and a range that is early waits instead of failing.
let decideCommit (stored: Map<'k, int64>) (start: Map<'k, int64>) (finish: Map<'k, int64>) : CommitDecision<'k> =
    let verdicts =
        [ for KeyValue(p, s) in start do
            let e = defaultArg (Map.tryFind p finish) s
            match Map.tryFind p stored with
            | None -> yield Conflict(sprintf "no stored offset for partition [%s]" (string p))
            | Some cur when cur = s -> yield (if e = s then Neutral else Fresh)
            | Some cur when cur >= e -> yield Done
            | Some cur when cur < s -> yield Early(sprintf "partition [%s] is stored at %d, before this range's start %d" (string p) cur s)
            | Some cur -> yield Conflict(sprintf "partition [%s] is stored at %d, inside this range [%d, %d)" (string p) cur s e) ]
    let has f = verdicts |> List.exists f
    let anyDone = has (fun v -> v = Done)
    let anyFresh = has (fun v -> v = Fresh)
    match verdicts |> List.tryPick (function Conflict m -> Some m | _ -> None),
          verdicts |> List.tryPick (function Early m -> Some m | _ -> None) with
    | Some m, _ -> CommitDecision.Mismatch m
    | None, Some m when not anyDone -> CommitDecision.NotYet m
    | None, Some _ -> CommitDecision.Mismatch "the stored offsets show part of this range committed and part of it not reached yet"
    | None, None when anyDone && anyFresh -> CommitDecision.Mismatch "the stored offsets show part of this range committed and part not"
    | None, None when anyDone -> CommitDecision.AlreadyCommitted
    | None, None ->
        let merged = start |> Map.fold (fun (acc: Map<'k, int64>) p s -> Map.add p (defaultArg (Map.tryFind p finish) s) acc) stored
        CommitDecision.Commit merged

/// The stored offsets extended with start offsets for partitions that have none, so a task
/// group's start is durable before its tasks read; None when nothing needs writing.
let withStartOffsets (stored: Map<'k, int64>) (start: Map<'k, int64>) : Map<'k, int64> option =
    let missing = start |> Map.filter (fun p _ -> not (Map.containsKey p stored))
    if missing.IsEmpty then None else Some(Map.fold (fun acc p o -> Map.add p o acc) stored missing)

/// Where each task group starts: the stored offset of each partition, else the earliest or
/// latest offset the stream has.
let startOffsets (stored: Map<'k, int64>) (partitions: 'k list) (earliest: Map<'k, int64>) (latest: Map<'k, int64>) (useEarliest: bool) : Map<'k, int64> =
    partitions
    |> List.map (fun p ->
        match Map.tryFind p stored with
        | Some o -> p, o
        | None -> p, defaultArg (Map.tryFind p (if useEarliest then earliest else latest)) 0L)
    |> Map.ofList

/// Where replicas stop: the furthest any of them read, per partition, never before the start.
let endOffsets (start: Map<'k, int64>) (replicaPositions: Map<'k, int64> list) : Map<'k, int64> =
    start |> Map.map (fun p s -> replicaPositions |> List.fold (fun acc m -> max acc (defaultArg (Map.tryFind p m) s)) s)

/// Messages each partition still has to deliver to reach the latest offset.
let lag (latest: Map<'k, int64>) (current: Map<'k, int64>) : Map<'k, int64> =
    current |> Map.map (fun p c -> match Map.tryFind p latest with Some l -> l - c | None -> 0L)

/// What a resetOffsets request would do to one partition.
type ResetEffect<'k> =
    { Partition: 'k
      Current: int64 option
      Requested: int64
      /// Messages that would never be ingested (moving forward).
      Skipped: int64
      /// Messages that would be ingested again (moving back over committed data).
      Reread: int64
      /// The requested offset lies outside what the stream still holds.
      OutOfRange: bool }

let resetPreview (stored: Map<'k, int64>) (requested: Map<'k, int64>) (earliest: Map<'k, int64>) (latest: Map<'k, int64>) : ResetEffect<'k> list =
    [ for KeyValue(p, r) in requested do
        let cur = Map.tryFind p stored
        let lo = defaultArg (Map.tryFind p earliest) 0L
        let hi = defaultArg (Map.tryFind p latest) Int64.MaxValue
        yield
            { Partition = p
              Current = cur
              Requested = r
              Skipped = (match cur with Some c when r > c -> r - c | _ -> 0L)
              Reread = (match cur with Some c when r < c -> c - r | _ -> 0L)
              OutOfRange = r < lo || r > hi } ]

/// The stored offsets after a resetOffsets: the requested partitions replaced.
let applyReset (stored: Map<'k, int64>) (requested: Map<'k, int64>) : Map<'k, int64> =
    Map.fold (fun acc p o -> Map.add p o acc) stored requested

/// A stored offset the stream no longer holds: retention deleted the messages before it, or
/// the topic was recreated and has fewer messages than the offset says were read.
type UnavailableOffset<'k> = { Partition: 'k; Stored: int64; Earliest: int64; Latest: int64 }

let unavailableOffsets (stored: Map<'k, int64>) (partitions: 'k list) (earliest: Map<'k, int64>) (latest: Map<'k, int64>) : UnavailableOffset<'k> list =
    [ for p in List.sort partitions do
        match Map.tryFind p stored, Map.tryFind p earliest, Map.tryFind p latest with
        | Some s, Some lo, Some hi when s < lo || s > hi -> yield { Partition = p; Stored = s; Earliest = lo; Latest = hi }
        | _ -> () ]

/// What the supervisor does before starting a task group whose stored offsets may be gone.
[<RequireQualifiedAccess>]
type StartCheck<'k when 'k: comparison> =
    | Available
    /// resetOffsetAutomatically: these stored offsets replace the unavailable ones (earliest or
    /// latest per useEarliestOffset); one message per reset partition for the recent errors.
    | Reset of Map<'k, int64> * string list
    /// Without resetOffsetAutomatically nothing is skipped silently: the group does not start.
    | Unavailable of string

let checkStoredOffsets (stored: Map<'k, int64>) (partitions: 'k list) (earliest: Map<'k, int64>) (latest: Map<'k, int64>)
                       (useEarliest: bool) (resetAutomatically: bool) : StartCheck<'k> =
    match unavailableOffsets stored partitions earliest latest with
    | [] -> StartCheck.Available
    | gone when resetAutomatically ->
        let target (u: UnavailableOffset<'k>) = if useEarliest then u.Earliest else u.Latest
        let reset = gone |> List.fold (fun acc u -> Map.add u.Partition (target u) acc) stored
        let notes =
            gone |> List.map (fun u ->
                sprintf "Previous sequenceNumber [%d] is no longer available for partition [%s] (earliest: [%d], latest: [%d]) - automatically resetting offset to [%d] (%s)"
                    u.Stored (string u.Partition) u.Earliest u.Latest (target u) (if useEarliest then "useEarliestOffset is true: messages may be read again" else "useEarliestOffset is false: messages may be skipped"))
        StartCheck.Reset(reset, notes)
    | u :: _ ->
        StartCheck.Unavailable(
            sprintf "Previous sequenceNumber [%d] is no longer available for partition [%s] (earliest: [%d], latest: [%d]). You can clear the previous sequenceNumber and start reading from a valid message by using the supervisor's reset API."
                u.Stored (string u.Partition) u.Earliest u.Latest)

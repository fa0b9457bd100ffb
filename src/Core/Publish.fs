/// Which segments a batch ingestion publishes: their versions and shard specs, and which
/// existing segments they make unused. Druid's rules: an overwrite takes one new version,
/// higher than every version it overlaps, and overshadows what it covers once complete; an
/// append adds partitions to the version already serving each time chunk.
module FunctionalDruid.Core.Publish

open FunctionalDruid.Core
open FunctionalDruid.Core.Segment

/// A segment to write: its record (without load spec and size, known after the push) and rows.
type PlannedSegment = { Segment: DataSegment; Content: SegmentContent }

type Plan =
    { Segments: PlannedSegment list
      /// Existing segments this publish makes unused (overshadowed or dropped).
      MarkUnused: string list }

exception PublishConflict of string

let private recordFor (dataSource: string) (version: string) (shard: ShardSpec) (content: SegmentContent) =
    { DataSource = dataSource
      Interval = content.Interval
      Version = version
      LoadSpec = []
      Dimensions = content.Dimensions |> List.map fst
      Metrics = content.Metrics |> List.map fst
      ShardSpec = shard
      BinaryVersion = 9
      Size = 0L
      LastCompactionState = None }

let private shardFor (spec: IngestSpec.IngestSpec) (partition: int) (count: int) =
    match spec.Tuning.Partitions with
    | IngestSpec.PartitionsSpec.Hashed(_, _, dims) -> Hashed(partition, count, partition, count, dims, Some "murmur3_32_abs")
    | IngestSpec.PartitionsSpec.Dynamic _ -> Numbered(partition, count)

/// Plans the publish of `chunks` (the partitions of each time chunk, in order) given the
/// data source's used segments and the current time.
let plan (spec: IngestSpec.IngestSpec) (existing: DataSegment list) (chunks: SegmentContent list list) (now: int64) : Plan =
    let chunks = chunks |> List.filter (fun parts -> not parts.IsEmpty)
    let overlapping (i: Time.Interval) = existing |> List.filter (fun s -> s.Interval.Overlaps i)
    if spec.AppendToExisting then
        let planned =
            chunks
            |> List.collect (fun parts ->
                let interval = parts.Head.Interval
                let serving = Timeline.visible existing interval
                match overlapping interval with
                | [] ->
                    // Nothing there yet: a fresh version whose partitions later appends can join.
                    let version = newVersion now None
                    parts |> List.mapi (fun i c -> { Segment = recordFor spec.DataSource version (Numbered(i, 0)) c; Content = c })
                | _ ->
                    match serving with
                    | [ (_, version, members) ] when members |> List.forall (fun s -> s.Interval = interval) ->
                        let sameChunk = existing |> List.filter (fun s -> s.Interval = interval && s.Version = version)
                        let next = (sameChunk |> List.map (fun s -> partitionNum s.ShardSpec) |> List.max) + 1
                        let core = sameChunk |> List.map (fun s -> corePartitions s.ShardSpec) |> List.max
                        parts |> List.mapi (fun i c -> { Segment = recordFor spec.DataSource version (Numbered(next + i, core)) c; Content = c })
                    | _ ->
                        raise (PublishConflict(sprintf "Cannot append to [%s]: existing segments there use a different segment granularity; reindex with appendToExisting=false or match the existing granularity" (Time.formatInterval interval))))
        { Segments = planned; MarkUnused = [] }
    else
        let intervals = chunks |> List.map (fun parts -> parts.Head.Interval)
        let covered = intervals |> List.collect overlapping
        let previousMax = covered |> List.map (fun s -> s.Version) |> List.sortDescending |> List.tryHead
        let version = newVersion now previousMax
        let planned =
            chunks
            |> List.collect (fun parts ->
                let count = parts.Length
                parts |> List.mapi (fun i c -> { Segment = recordFor spec.DataSource version (shardFor spec i count) c; Content = c }))
        let all = existing @ (planned |> List.map (fun p -> p.Segment))
        let overshadowed = Timeline.overshadowed all
        let existingIds = existing |> List.map segmentId |> Set.ofList
        // dropExisting: whatever lies wholly inside the spec's intervals goes, rows or not.
        let dropped =
            if not spec.DropExisting then Set.empty
            else
                let within = defaultArg spec.GranularitySpec.Intervals []
                existing
                |> List.filter (fun s -> within |> List.exists (fun i -> i.ContainsInterval s.Interval))
                |> List.map segmentId
                |> Set.ofList
        { Segments = planned
          MarkUnused = Set.union (Set.intersect overshadowed existingIds) dropped |> Set.toList }

/// The record of a segment once its file is in local deep storage.
let pushedToLocal (s: DataSegment) (path: string) (size: int64) : DataSegment =
    { s with LoadSpec = [ "type", "local"; "path", path ]; Size = size }

/// The local deep-storage path of a pushed segment, if it has one.
let localPath (s: DataSegment) : string option =
    s.LoadSpec |> List.tryFind (fun (k, _) -> k = "path") |> Option.map snd

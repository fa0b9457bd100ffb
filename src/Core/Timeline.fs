/// Druid's versioned interval timeline: which segments answer a query for each part of time,
/// and which segments are overshadowed by newer versions.
///
/// Segments of the same interval and version form one partition set. A set is complete when
/// its core partitions 0..n-1 are all present (appended partitions beyond n join it); only
/// complete sets are visible, and at each instant the visible set is the complete one with the
/// highest version. Druid refuses two overlapping intervals with the same version; here the
/// one whose interval starts first (then ends first) wins, so every input has an answer.
module FunctionalDruid.Core.Timeline

open System
open System.Collections.Generic
open FunctionalDruid.Core.Time
open FunctionalDruid.Core.Segment

/// What the timeline needs to know about a segment.
[<Struct>]
type Placement =
    { Interval: Interval
      Version: string
      PartitionNum: int
      /// Size of the core partition set; 0 when any partition alone is complete.
      CorePartitions: int }

let placementOf (s: DataSegment) : Placement =
    { Interval = s.Interval
      Version = s.Version
      PartitionNum = partitionNum s.ShardSpec
      CorePartitions = corePartitions s.ShardSpec }

/// Druid's completeness walk over a partition set sorted by partition number: the first
/// partition must start the set, each next one must follow its predecessor, and some
/// partition must end it. With a core count n, partition 0 starts, n-1 ends, core partitions
/// follow one another and appended ones (>= n) follow anything before them; with no core
/// count every partition both starts and ends the set.
let private isCompleteSorted (partitions: struct (int * int)[]) : bool =
    let isStart (struct (n, c)) = c <= 0 || n = 0
    let isEnd (struct (n, c)) = c <= 0 || n = c - 1
    let follows (struct (prev, _)) (struct (n, c)) = if n < c then n = prev + 1 else n > prev
    if partitions.Length = 0 || not (isStart partitions.[0]) then false
    elif isEnd partitions.[0] then true
    else
        let mutable i = 1
        let mutable result = None
        while result.IsNone && i < partitions.Length do
            if not (follows partitions.[i - 1] partitions.[i]) then result <- Some false
            elif isEnd partitions.[i] then result <- Some true
            i <- i + 1
        defaultArg result false

/// Whether a set of (partitionNum, corePartitions) pairs of one interval and version is complete.
let isComplete (partitions: seq<int * int>) : bool =
    partitions
    |> Seq.distinctBy fst
    |> Seq.sortBy fst
    |> Seq.map (fun (n, c) -> struct (n, c))
    |> Array.ofSeq
    |> isCompleteSorted

/// One interval and version with its partitions, sorted by partition number.
type private PartitionSet<'T> =
    { SetInterval: Interval
      SetVersion: string
      Members: 'T list
      Complete: bool }

[<Struct>]
type private Piece = { Start: int64; End: int64; Set: int }

/// A timeline built once from a set of used segments, for many lookups.
type Timeline<'T> =
        private
            { Sets: PartitionSet<'T>[]
              /// Disjoint, sorted by start, adjacent pieces of the same set merged.
              Pieces: Piece[] }

let private groupIntoSets (placement: 'T -> Placement) (segments: seq<'T>) : PartitionSet<'T>[] =
    let groups = Dictionary<struct (int64 * int64 * string), ResizeArray<struct (int * int * 'T)>>()
    let order = ResizeArray<struct (int64 * int64 * string)>()
    for s in segments do
        let p = placement s
        let key = struct (p.Interval.Start, p.Interval.End, p.Version)
        match groups.TryGetValue key with
        | true, members -> members.Add(struct (p.PartitionNum, p.CorePartitions, s))
        | _ ->
            let members = ResizeArray()
            members.Add(struct (p.PartitionNum, p.CorePartitions, s))
            groups.[key] <- members
            order.Add key
    [| for key in order do
           let struct (start, finish, version) = key
           // A partition number seen twice is one partition (Druid keeps the first it was given).
           let members =
               groups.[key].ToArray()
               |> Array.distinctBy (fun (struct (n, _, _)) -> n)
               |> Array.sortBy (fun (struct (n, _, _)) -> n)
           { SetInterval = { Start = start; End = finish }
             SetVersion = version
             Members = members |> Array.map (fun (struct (_, _, s)) -> s) |> List.ofArray
             Complete = members |> Array.map (fun (struct (n, c, _)) -> struct (n, c)) |> isCompleteSorted } |]

/// Higher version first; among equal versions the earlier interval.
let private precedence (sets: PartitionSet<'T>[]) =
    { new IComparer<int> with
        member _.Compare(a, b) =
            let x, y = sets.[a], sets.[b]
            let byVersion = String.CompareOrdinal(y.SetVersion, x.SetVersion)
            if byVersion <> 0 then byVersion
            elif x.SetInterval.Start <> y.SetInterval.Start then compare x.SetInterval.Start y.SetInterval.Start
            elif x.SetInterval.End <> y.SetInterval.End then compare x.SetInterval.End y.SetInterval.End
            else compare a b }

/// Sweeps the boundaries of the complete sets in time order, keeping the sets that cover the
/// current stretch ordered by precedence; the first of them owns the stretch.
let private sweep (sets: PartitionSet<'T>[]) : Piece[] =
    let candidates =
        [| for i in 0 .. sets.Length - 1 do
               if sets.[i].Complete && sets.[i].SetInterval.Start < sets.[i].SetInterval.End then i |]
        |> Array.sortBy (fun i -> sets.[i].SetInterval.Start)
    let boundaries =
        candidates
        |> Array.collect (fun i -> [| sets.[i].SetInterval.Start; sets.[i].SetInterval.End |])
        |> Array.distinct
        |> Array.sort
    let active = SortedSet<int>(precedence sets)
    let byEnd = PriorityQueue<int, int64>()
    let pieces = ResizeArray<Piece>()
    let mutable next = 0
    for b in 0 .. boundaries.Length - 2 do
        let here = boundaries.[b]
        while byEnd.Count > 0 && sets.[byEnd.Peek()].SetInterval.End <= here do
            active.Remove(byEnd.Dequeue()) |> ignore
        while next < candidates.Length && sets.[candidates.[next]].SetInterval.Start = here do
            active.Add candidates.[next] |> ignore
            byEnd.Enqueue(candidates.[next], sets.[candidates.[next]].SetInterval.End)
            next <- next + 1
        if active.Count > 0 then
            let owner = active.Min
            let stretchEnd = boundaries.[b + 1]
            let last = pieces.Count - 1
            if last >= 0 && pieces.[last].Set = owner && pieces.[last].End = here then
                pieces.[last] <- { pieces.[last] with End = stretchEnd }
            else pieces.Add { Start = here; End = stretchEnd; Set = owner }
    pieces.ToArray()

let build (placement: 'T -> Placement) (segments: seq<'T>) : Timeline<'T> =
    let sets = groupIntoSets placement segments
    { Sets = sets; Pieces = sweep sets }

/// Index of the first piece that ends after `t`.
let private firstPieceEndingAfter (pieces: Piece[]) (t: int64) : int =
    let mutable lo = 0
    let mutable hi = pieces.Length
    while lo < hi do
        let mid = (lo + hi) >>> 1
        if pieces.[mid].End <= t then lo <- mid + 1 else hi <- mid
    lo

/// For each part of `query` that has data: that part, the version serving it and all
/// partitions of that version's set, in time order (Druid's TimelineObjectHolders, trimmed
/// to the query).
let lookup (timeline: Timeline<'T>) (query: Interval) : (Interval * string * 'T list) list =
    if query.Start >= query.End then []
    else
        let pieces = timeline.Pieces
        let result = ResizeArray()
        let mutable i = firstPieceEndingAfter pieces query.Start
        while i < pieces.Length && pieces.[i].Start < query.End do
            let p = pieces.[i]
            let set = timeline.Sets.[p.Set]
            result.Add(({ Start = max p.Start query.Start; End = min p.End query.End }, set.SetVersion, set.Members))
            i <- i + 1
        List.ofSeq result

/// Whether every instant of the set's interval is served by a set of a strictly higher version
/// (Druid's rule for marking segments unused after an overwrite; an incomplete newer set
/// overshadows nothing, and a set that is merely not served is not overshadowed).
let private isOvershadowedSet (timeline: Timeline<'T>) (set: PartitionSet<'T>) : bool =
    let interval = set.SetInterval
    if interval.Start >= interval.End then false
    else
        let pieces = timeline.Pieces
        let mutable i = firstPieceEndingAfter pieces interval.Start
        let mutable covered = interval.Start
        let mutable failed = false
        while not failed && covered < interval.End do
            if i >= pieces.Length || pieces.[i].Start > covered
               || String.CompareOrdinal(timeline.Sets.[pieces.[i].Set].SetVersion, set.SetVersion) <= 0 then
                failed <- true
            else
                covered <- pieces.[i].End
                i <- i + 1
        not failed

/// The segments that no query will ever need because newer complete versions cover them.
let overshadowedMembers (timeline: Timeline<'T>) : 'T list =
    [ for set in timeline.Sets do
          if isOvershadowedSet timeline set then yield! set.Members ]

let visibleBy (placement: 'T -> Placement) (segments: seq<'T>) (query: Interval) : (Interval * string * 'T list) list =
    lookup (build placement segments) query

let visible (segments: seq<DataSegment>) (query: Interval) : (Interval * string * DataSegment list) list =
    visibleBy placementOf segments query

/// Ids of the segments fully covered by complete sets of higher versions.
let overshadowed (segments: seq<DataSegment>) : Set<string> =
    build placementOf segments |> overshadowedMembers |> List.map segmentId |> Set.ofList

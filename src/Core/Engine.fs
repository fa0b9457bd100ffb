/// Runs native queries over the visible parts of segments and prints results in Druid's
/// shapes: the dispatcher over the per-kind engines. Timeseries, topN and groupBy aggregate
/// each segment on its own (in parallel on the run's runner) and merge the partials.
module FunctionalDruid.Core.Engine

open System.Collections.Generic
open System.Threading
open FunctionalDruid.Core
open FunctionalDruid.Core.Query

/// One segment as the engine sees it (declared with the shared slice helpers).
type SegmentSlice = QuerySlices.SegmentSlice

let condense = QuerySlices.condense

/// Hash partitions of a merge with dimensions (2^bits): enough that one partition's table of
/// a few million groups stays small, few enough that a handful of groups costs nothing.
let private partitionBits (plan: GroupingEngine.Plan) = if plan.Dimensions.Length = 0 then 0 else 6

/// Groups of finished partials a partitioned merge holds back before merging: past this many,
/// partitions merge as segments finish (memory stays bounded) instead of after the last one.
let private heldBackGroups = 16_000_000L

/// The merged groups of a timeseries, topN or groupBy by hash partition (at most
/// `heldBackLimit` groups of partials held back; of each partition, the groups `keep` selects):
/// one partial per segment, run by the context's runner, merged by hash partition. Each
/// partition takes the partials in segment order (so sums of doubles come out
/// the same every time). With dimensions and plain number states, merging waits for the last
/// segment (unless too many groups are held back): partition 0 merges first, and its ratio of
/// merged to offered groups sizes the other partitions' arrays at once (growing them step by
/// step touches twice the memory); then partitions merge in parallel. Otherwise, or past the
/// bound, a worker that finishes a segment merges every partition it finds free. With every
/// partial held back, `shortcut` may answer from them instead (Choice1Of2); otherwise the
/// merger (Choice2Of2).
let private mergedPartitions (heldBackLimit: int64) (keep: GroupingEngine.Partial -> int[] option) (shortcut: GroupingEngine.Partial[] -> GroupingEngine.Partial option)
                             (ctx: QuerySlices.RunContext) (plan: GroupingEngine.Plan) (slices: SegmentSlice list) : Choice<GroupingEngine.Partial, GroupMerging.PartitionedMerger> =
    let segments = Array.ofList slices
    let count = segments.Length
    let bits = partitionBits plan
    let merger = GroupMerging.PartitionedMerger(plan, bits)
    let partitions = merger.Partitions
    let finished = Array.zeroCreate<GroupMerging.PartitionedPartial> count
    // Partitions still to merge each partial; it is let go when none is left.
    let pending = Array.create count partitions
    let gates = Array.init partitions (fun _ -> obj ())
    let merged = Array.zeroCreate<int> partitions
    let mergeFinished (q: int) =
        while merged.[q] < finished.Length && not (obj.ReferenceEquals(Volatile.Read(&finished.[merged.[q]]), null)) do
            let i = merged.[q]
            merger.Add(q, finished.[i])
            if Interlocked.Decrement(&pending.[i]) = 0 then finished.[i] <- Unchecked.defaultof<_>
            merged.[q] <- i + 1
    let mergeIfFree (q: int) =
        if Monitor.TryEnter gates.[q] then
            try mergeFinished q
            finally Monitor.Exit gates.[q]
    let heldBack = [| 0L |]
    // Held-back partials are bounded by their groups, which bounds memory only while states
    // are plain numbers (a sketch per group may be large).
    let plainStates = plan.Aggregations |> Array.forall (fun spec -> (GroupAggregators.create None spec).MergesInAnyOrder)
    let mergingEarly = [| bits = 0 || not plainStates |]
    ctx.Runner.Map(count, fun i ->
        ctx.Cancel.ThrowIfCancellationRequested()
        let partial = GroupingEngine.runSegment plan segments.[i].Content segments.[i].Serves
        Volatile.Write(&finished.[i], GroupMerging.partitionGroups plan bits partial)
        if Volatile.Read(&mergingEarly.[0]) || Interlocked.Add(&heldBack.[0], int64 partial.Count) > heldBackLimit then
            Volatile.Write(&mergingEarly.[0], true)
            // Workers start at different partitions so that they rarely meet at a gate.
            for k in 0 .. partitions - 1 do mergeIfFree ((i + k) % partitions))
    |> ignore
    // Every partial held back: `shortcut` may answer from them without merging them all.
    match (if mergingEarly.[0] then None else shortcut (finished |> Array.map (fun p -> p.Partial))) with
    | Some answered -> Choice1Of2 answered
    | None ->
    if not mergingEarly.[0] then
        lock gates.[0] (fun () -> mergeFinished 0)
        let offered (q: int) = finished |> Array.sumBy (fun p -> int64 (p.Starts.[q + 1] - p.Starts.[q]))
        let ratio = float (merger.GroupsIn 0) / float (max 1L (offered 0))
        for q in 1 .. partitions - 1 do
            merger.Reserve(q, int (min (ceil (ratio * 1.05 * float (offered q))) (float (1 <<< 26))) + 16)
    ctx.Runner.Map(partitions, fun q ->
        lock gates.[q] (fun () -> mergeFinished q)
        merger.Finish(q, keep)) |> ignore
    Choice2Of2 merger

/// The indices of the `k` largest of `counts.[0 .. n - 1]` (any of equal ones), by a min-heap.
let private largestCounts (counts: int64[]) (n: int) (k: int) : int[] =
    if n <= k then Array.init n id
    else
        let heap = Array.init k id
        let less (a: int) (b: int) = counts.[a] < counts.[b]
        let rec down (i: int) =
            let left = 2 * i + 1
            if left < k then
                let smaller = if left + 1 < k && less heap.[left + 1] heap.[left] then left + 1 else left
                if less heap.[smaller] heap.[i] then
                    let t = heap.[i]
                    heap.[i] <- heap.[smaller]
                    heap.[smaller] <- t
                    down smaller
        for i in k / 2 - 1 .. -1 .. 0 do down i
        for g in k .. n - 1 do
            if counts.[g] > counts.[heap.[0]] then
                heap.[0] <- g
                down 0
        heap

/// Each group's state of the count aggregator `countAgg`.
let private countsIn (countAgg: int) (p: GroupingEngine.Partial) = let struct (counts, _) = p.Aggregators.[countAgg].LongStates() in counts

/// The groups of the segments' partials that can be among the first `k` by the count
/// aggregator `countAgg`, merged, or None when too many can (then merge them all). A threshold
/// algorithm: each partial's k largest counts, merged, are lower bounds of those groups'
/// totals, so the k-th largest of them, τ, is at most the k-th largest total; a group whose
/// total reaches τ has a count of at least τ / m in one of the m partials. Groups whose hash is
/// one of those are merged from every partial, so their totals (and every other aggregator)
/// are exact; every group left out totals less than τ and cannot be among the first k. On
/// skewed keys (URLs, users) a few hundred groups merge instead of millions.
let mergedTopByCount (plan: GroupingEngine.Plan) (countAgg: int) (k: int) (partials: GroupingEngine.Partial[]) : GroupingEngine.Partial option =
    let countsOf = countsIn countAgg
    let withGroups = partials |> Array.filter (fun p -> p.Count > 0)
    let total = withGroups |> Array.sumBy (fun p -> int64 p.Count)
    let bounds = GroupMerging.Merger(plan)
    for p in withGroups do
        let top = largestCounts (countsOf p) p.Count k
        Array.sortInPlace top
        bounds.Add(GroupMerging.subset plan p top)
    let boundCounts = countsOf (bounds.Result())
    let tau = if bounds.Count < k then 0L else (largestCounts boundCounts bounds.Count k |> Array.map (fun g -> boundCounts.[g]) |> Array.min)
    let m = int64 withGroups.Length
    let reaches (counts: int64[]) (g: int) = counts.[g] * m >= tau
    let mutable offered = 0L
    for p in withGroups do
        let counts = countsOf p
        for g in 0 .. p.Count - 1 do
            if reaches counts g then offered <- offered + 1L
    // Many groups can reach the first k (near-unique keys): a whole merge is cheaper.
    if tau <= 0L || offered * 8L > total then None
    else
        let hashes = HashSet<int>()
        for p in withGroups do
            let counts = countsOf p
            for g in 0 .. p.Count - 1 do
                if reaches counts g then hashes.Add p.Hashes.[g] |> ignore
        let merged = GroupMerging.Merger(plan)
        for p in partials do
            let chosen = [| for g in 0 .. p.Count - 1 do if hashes.Contains p.Hashes.[g] then yield g |]
            if chosen.Length > 0 then merged.AddRange(GroupMerging.subset plan p chosen, 0, chosen.Length)
            // Every partial's first time and covered buckets, groups chosen from it or not.
            merged.AddBounds p
        Some(merged.Result())

/// The groups `mergedPartitions` answered with, as one partial.
let private resultOf (merged: Choice<GroupingEngine.Partial, GroupMerging.PartitionedMerger>) =
    match merged with
    | Choice1Of2 answered -> answered
    | Choice2Of2 merger -> merger.Result()

/// The merged groups as one partial (see `mergedPartitions`).
let mergedGroupsKeeping (heldBackLimit: int64) (keep: GroupingEngine.Partial -> int[] option) (ctx: QuerySlices.RunContext) (plan: GroupingEngine.Plan) (slices: SegmentSlice list) =
    resultOf (mergedPartitions heldBackLimit keep (fun _ -> None) ctx plan slices)

/// `mergedGroupsKeeping` keeping every group.
let mergedGroupsHolding (heldBackLimit: int64) = mergedGroupsKeeping heldBackLimit (fun _ -> None)

/// Of the merged parts (disjoint groups, exact totals), the groups that can be among the first
/// `k` by the count aggregator `countAgg`, as one partial: a group counting less than the k-th
/// largest count has k groups before it. On near-unique keys (an OFFSET 1000 over half a
/// million groups) the order then compares a thousand groups, not every group tied at a count
/// of one in a partition's own first k.
let private reachingTheCountOf (ctx: QuerySlices.RunContext) (plan: GroupingEngine.Plan) (limitKeeps: GroupingEngine.Partial -> int[] option)
                               (countAgg: int) (k: int) (parts: GroupingEngine.Partial[]) =
    let countsOf = countsIn countAgg
    let tops = ctx.Runner.Map(parts.Length, fun q ->
        let counts = countsOf parts.[q]
        largestCounts counts parts.[q].Count k |> Array.map (fun g -> counts.[g]))
    let candidates = Array.concat tops
    let kth = if candidates.Length < k then System.Int64.MinValue else (Array.sortInPlace candidates; candidates.[candidates.Length - k])
    let kept = ctx.Runner.Map(parts.Length, fun i ->
        let part = parts.[i]
        let counts = countsOf part
        let reaching = [| for g in 0 .. part.Count - 1 do if counts.[g] >= kth then yield g |]
        // Where most groups reach it (unique keys all counting one) a copy would cost more
        // than it saves: the limit's own order cuts the part.
        let part = if reaching.Length * 2 > part.Count then part else GroupMerging.subset plan part reaching
        match limitKeeps part with
        | Some groups -> GroupMerging.subset plan part groups
        | None -> part)
    GroupMerging.concatenate plan kept

/// A timeseries, topN or groupBy finished into Druid's result shape. A groupBy whose limit
/// keeps few of many groups keeps, of each hash partition, only the groups that could make the
/// result (its order is total, so the top of all is the top of the partitions' tops); the first
/// k by a count keep the groups reaching the k-th count of all.
let private aggregate (ctx: QuerySlices.RunContext) (q: NativeQuery) (slices: SegmentSlice list) : Json.Out =
    let plan = (QueryResults.plan q).Value
    let countTop = QueryResults.countOrderedTop q |> Option.filter (fun _ -> plan.Dimensions.Length > 0)
    // The first k by a count: of the partials held back, only groups that can make it merge.
    let shortcut =
        match countTop with
        | Some(countAgg, k) -> mergedTopByCount plan countAgg k
        | None -> fun _ -> None
    let limitKeeps = QueryResults.groupsTheLimitKeeps q
    // The first k by a count cut their parts once the k-th count of all is known.
    let keep = if countTop.IsSome then (fun _ -> None) else limitKeeps
    let merged =
        match mergedPartitions heldBackGroups keep shortcut ctx plan slices, countTop with
        | Choice2Of2 merger, Some(countAgg, k) -> reachingTheCountOf ctx plan limitKeeps countAgg k (merger.Parts())
        | other, _ -> resultOf other
    QueryResults.finish q plan merged

/// A groupBy without subtotals as segment contents (its rows read as a query data source),
/// skipping the JSON result; other queries answer None. `ordered`: as in the result, rather
/// than in any order within a time. Read in any order, plain groups come as one content per
/// hash partition of the merge: the groups stay where they were merged (no copy into one
/// table), and a query reading them runs on the parts in parallel.
let groupByContentsWith (ctx: QuerySlices.RunContext) (ordered: bool) (q: NativeQuery) (slices: SegmentSlice list) : SegmentContent list option =
    match q.Kind with
    | QueryKind.GroupBy g when g.SubtotalsSpec.IsNone ->
        let plan = (QueryResults.plan q).Value
        let merged =
            match mergedPartitions heldBackGroups (fun _ -> None) (fun _ -> None) ctx plan slices with
            | Choice2Of2 merger -> merger
            | Choice1Of2 _ -> invalidOp "no shortcut was offered"
        let parts = merged.Parts() |> Array.filter (fun p -> p.Count > 0)
        if not ordered && QueryResults.isPlainContent g && parts.Length > 1 then
            // Parts become contents in parallel (a part's strings are interned into its
            // dictionary: hundreds of ms over millions of groups).
            Some(List.ofArray (ctx.Runner.Map(parts.Length, fun i -> QueryResults.groupByContent false q g parts.[i])))
        else Some [ QueryResults.groupByContent ordered q g (merged.Result()) ]
    | _ -> None

/// Runs a query over the slices the timeline made visible for its intervals, with the
/// run's cancellation and per-segment runner.
let runWith (ctx: QuerySlices.RunContext) (q: NativeQuery) (slices: SegmentSlice list) : Json.Out =
    match q.Kind with
    | QueryKind.Timeseries _ | QueryKind.TopN _ | QueryKind.GroupBy _ -> aggregate ctx q slices
    | QueryKind.Scan sq -> ScanEngine.run ctx q sq slices
    | QueryKind.Search spec -> SearchEngine.run ctx q spec slices
    | QueryKind.TimeBoundary b -> MetadataEngine.timeBoundary ctx q b slices
    | QueryKind.SegmentMetadata smq -> MetadataEngine.segmentMetadata ctx q smq slices
    | QueryKind.DataSourceMetadata -> MetadataEngine.dataSourceMetadata slices

/// Runs a query in order on the calling thread, without cancellation.
let run (q: NativeQuery) (slices: SegmentSlice list) : Json.Out = runWith QuerySlices.sequential q slices

/// Merging the partials of segments (`GroupingEngine`): groups looked up by hash, bucket and
/// key columns in one open-addressing table, or split into hash partitions merged each on its
/// own; merges are associative, and a partition takes partials in segment order so that sums
/// of doubles come out the same every run.
module FunctionalDruid.Core.GroupMerging

open System
open System.Collections.Generic
open FunctionalDruid.Core
open FunctionalDruid.Core.GroupAggregators
open FunctionalDruid.Core.GroupKeys
open FunctionalDruid.Core.GroupingEngine

/// `column` with groups `groups.[0 .. n - 1]` of `source` appended; a column of general values
/// when `source` holds another kind.
let private withAppended (column: KeyColumn) (source: KeyColumn) (groups: int[]) (n: int) : KeyColumn =
    if column.AppendSelected(source, groups, n) then column
    else
        let general = ValueKeys.Of column
        general.AppendSelected(source, groups, n) |> ignore
        general :> KeyColumn

/// Groups together with states that merge from partials; `Add` is associative and the group
/// order is the order of first appearance. Groups are found through an open-addressing table
/// of group numbers over the groups' hashes, buckets and key columns.
type Merger(plan: Plan) =
    let aggs = plan.Aggregations |> Array.map (create None)
    let covered = HashSet<int64>()
    let mutable firstTime = Int64.MaxValue
    let mutable count = 0
    // Each group's bucket start; null while every group has `sharedBucket` (granularity `all`).
    let mutable buckets: int64[] = null
    let mutable sharedBucket = 0L
    let mutable hashes = Array.zeroCreate<int> 16
    // Made like the first partial's columns; a column turns into `ValueKeys` when a partial
    // brings one of another kind.
    let mutable columns: KeyColumn[] = null
    // Per slot the group's hash (high half) and group number + 1 (low half; 0: empty), at most
    // half full: a probe reads one entry, and a different hash is told apart without reading
    // the group's own arrays.
    let mutable slots = Array.zeroCreate<int64> 32
    let mutable slotBits = 5
    let slotOf (hash: int) = int ((uint32 hash * 2654435769u) >>> (32 - slotBits))
    // Per partial merged: each group's target, and the partial's groups that are new (kept
    // from partial to partial: a query merges millions of groups in thousands of ranges).
    let mutable targetScratch: int[] = [||]
    let mutable addedScratch: int[] = [||]
    let entryOf (hash: int) (group: int) = (int64 hash <<< 32) ||| int64 (uint32 (group + 1))
    let rehash () =
        let old = slots
        slotBits <- slotBits + 1
        slots <- Array.zeroCreate (1 <<< slotBits)
        let last = slots.Length - 1
        for entry in old do
            if entry <> 0L then
                let mutable s = slotOf (int (entry >>> 32))
                while slots.[s] <> 0L do s <- (s + 1) &&& last
                slots.[s] <- entry
    /// Merges groups [start, start + count) of `p` (not its covered buckets and first time:
    /// `AddBounds`). Groups are looked up first; the new ones are appended afterwards, a column
    /// at a time (a probe meeting a group new from `p` compares it in `p`).
    member _.AddRange(p: Partial, start: int, groupCount: int) =
        let pBuckets = p.Buckets
        if isNull columns then
            columns <- p.KeyColumns |> Array.map (fun c -> c.EmptyLike hashes.Length)
            if pBuckets.IsShared then sharedBucket <- pBuckets.Shared else buckets <- Array.zeroCreate hashes.Length
        elif isNull buckets && not (pBuckets.IsShared && pBuckets.Shared = sharedBucket) then
            buckets <- GroupBuckets.AllIn(sharedBucket).ToArray(count, hashes.Length)
        // Every group here and in `p` in the same bucket: keys alone tell groups apart.
        let oneBucket = isNull buckets
        let before = count
        if targetScratch.Length < groupCount then
            targetScratch <- Array.zeroCreate groupCount
            addedScratch <- Array.zeroCreate groupCount
        let targets = targetScratch
        let added = addedScratch
        let source = p.KeyColumns
        // Whether group g of `held` has the keys of group i of `p`.
        let sameKeys (held: KeyColumn[]) (g: int) (i: int) =
            let mutable same = true
            let mutable d = 0
            while same && d < source.Length do
                same <- held.[d].EqualsAt(g, source.[d], i)
                d <- d + 1
            same
        for k in 0 .. groupCount - 1 do
            let i = start + k
            let hash = p.Hashes.[i]
            let bucket = pBuckets.[i]
            let last = slots.Length - 1
            let mutable s = slotOf hash
            let mutable result = -1
            while result < 0 do
                let entry = slots.[s]
                let candidate = int (uint32 entry) - 1
                if entry = 0L then
                    added.[count - before] <- i
                    slots.[s] <- entryOf hash count
                    result <- count
                    count <- count + 1
                elif int (entry >>> 32) = hash
                     && (if candidate >= before then
                             let j = added.[candidate - before]
                             (oneBucket || pBuckets.[j] = bucket) && sameKeys source j i
                         else (oneBucket || buckets.[candidate] = bucket) && sameKeys columns candidate i) then
                    result <- candidate
                else s <- (s + 1) &&& last
            if count * 2 > slots.Length then rehash ()
            targets.[k] <- result
        let n = count - before
        if n > 0 then
            hashes <- grow hashes count
            for k in 0 .. n - 1 do hashes.[before + k] <- p.Hashes.[added.[k]]
            if not oneBucket then
                buckets <- grow buckets count
                for k in 0 .. n - 1 do buckets.[before + k] <- pBuckets.[added.[k]]
            for d in 0 .. columns.Length - 1 do columns.[d] <- withAppended columns.[d] source.[d] added n
        for a in 0 .. aggs.Length - 1 do
            aggs.[a].EnsureGroups count
            aggs.[a].MergeRange(targets, start, groupCount, p.Aggregators.[a])
    /// Makes room for `n` groups before the first partial: the arrays, and the lookup table
    /// at the size it would have grown to (growing step by step touches twice the memory and
    /// moves every entry at each step).
    member _.Reserve(n: int) =
        if count = 0 && isNull columns then
            hashes <- grow hashes n
            for a in aggs do a.EnsureGroups n
            let mutable bits = slotBits
            while (1L <<< bits) < 2L * int64 n && bits < 30 do bits <- bits + 1
            if bits > slotBits then
                slotBits <- bits
                slots <- Array.zeroCreate (1 <<< bits)
    /// Groups so far.
    member _.Count = count
    /// Takes in the covered buckets and first time of `p`.
    member _.AddBounds(p: Partial) =
        for b in p.CoveredBuckets do covered.Add b |> ignore
        firstTime <- min firstTime p.FirstTime
    /// Merges every group of `p` with its covered buckets and first time.
    member this.Add(p: Partial) =
        this.AddRange(p, 0, p.Count)
        this.AddBounds p
    member _.Result() : Partial =
        let columns = if isNull columns then plan.Dimensions |> Array.map (fun _ -> ValueKeys([||]) :> KeyColumn) else columns
        { Count = count; Buckets = (if isNull buckets then GroupBuckets.AllIn sharedBucket else GroupBuckets.PerGroup buckets)
          KeyColumns = columns; Hashes = hashes; Aggregators = aggs; CoveredBuckets = Seq.toArray covered; FirstTime = firstTime }

/// Partials of disjoint groups as one, their groups in order (no lookups: nothing merges).
let concatenate (plan: Plan) (parts: Partial[]) : Partial =
    let total = parts |> Array.sumBy (fun p -> p.Count)
    let shared =
        match parts |> Array.filter (fun p -> p.Count > 0) |> Array.map (fun p -> if p.Buckets.IsShared then Some p.Buckets.Shared else None) |> Array.distinct with
        | [| Some start |] -> Some start
        | [||] -> Some Time.minInstant
        | _ -> None
    let buckets = if shared.IsSome then null else Array.zeroCreate<int64> total
    let hashes = Array.zeroCreate<int> total
    let aggs = plan.Aggregations |> Array.map (create None)
    for a in aggs do a.EnsureGroups total
    let mutable columns: KeyColumn[] = null
    let mutable offset = 0
    for p in parts do
        if p.Count > 0 then
            if isNull columns then columns <- p.KeyColumns |> Array.map (fun c -> c.EmptyLike(total))
            if not (isNull buckets) then
                for g in 0 .. p.Count - 1 do buckets.[offset + g] <- p.Buckets.[g]
            Array.blit p.Hashes 0 hashes offset p.Count
            for d in 0 .. columns.Length - 1 do
                if not (columns.[d].AppendAll p.KeyColumns.[d]) then
                    let general = ValueKeys.Of columns.[d]
                    general.AppendAll p.KeyColumns.[d] |> ignore
                    columns.[d] <- general
            let targets = Array.init p.Count (fun g -> offset + g)
            for a in 0 .. aggs.Length - 1 do aggs.[a].MergeAll(targets, p.Aggregators.[a])
            offset <- offset + p.Count
    let columns = if isNull columns then plan.Dimensions |> Array.map (fun _ -> ValueKeys([||]) :> KeyColumn) else columns
    { Count = total; Buckets = (match shared with Some start -> GroupBuckets.AllIn start | None -> GroupBuckets.PerGroup buckets)
      KeyColumns = columns; Hashes = hashes; Aggregators = aggs
      CoveredBuckets = parts |> Seq.collect (fun p -> p.CoveredBuckets) |> Seq.distinct |> Seq.toArray
      FirstTime = parts |> Array.fold (fun t p -> min t p.FirstTime) Int64.MaxValue }

/// A partial whose groups are ordered by hash partition: partition q's groups are
/// [Starts.[q], Starts.[q + 1]).
type PartitionedPartial = { Partial: Partial; Starts: int[] }

/// The partition of a group hash among 2^bits: bits of another product than the merge table's
/// slot, so one partition's groups still spread over its whole table.
let private partitionOf (bits: int) (hash: int) = if bits = 0 then 0 else int ((uint32 hash * 0x85EBCA77u) >>> (32 - bits))

/// The partial with its groups moved into partition order (a counting sort over their hashes,
/// stable within a partition), so that merging one partition reads a contiguous range rather
/// than every cache line of the partial.
let partitionGroups (plan: Plan) (bits: int) (p: Partial) : PartitionedPartial =
    if bits = 0 then { Partial = p; Starts = [| 0; p.Count |] } else
    let n = p.Count
    let starts = Array.zeroCreate<int> ((1 <<< bits) + 1)
    for g in 0 .. n - 1 do
        let q = partitionOf bits p.Hashes.[g]
        starts.[q + 1] <- starts.[q + 1] + 1
    for q in 1 .. starts.Length - 1 do starts.[q] <- starts.[q] + starts.[q - 1]
    let next = Array.copy starts
    let positions = Array.zeroCreate<int> n
    for g in 0 .. n - 1 do
        let q = partitionOf bits p.Hashes.[g]
        positions.[g] <- next.[q]
        next.[q] <- next.[q] + 1
    let hashes = Array.zeroCreate<int> n
    for g in 0 .. n - 1 do hashes.[positions.[g]] <- p.Hashes.[g]
    let aggregators =
        Array.map2 (fun spec (source: GroupAgg) ->
            let moved = create None spec
            moved.EnsureGroups n
            if moved.MergesInAnyOrder then moved.MergeAll(positions, source)
            else
                // New groups in increasing order: gather rather than scatter.
                let order = Array.zeroCreate<int> n
                for g in 0 .. n - 1 do order.[positions.[g]] <- g
                for k in 0 .. n - 1 do moved.MergeFrom(k, source, order.[k])
            moved) plan.Aggregations p.Aggregators
    let moved =
        { p with
            Buckets = p.Buckets.Permuted(positions, n); Hashes = hashes; Aggregators = aggregators
            KeyColumns = p.KeyColumns |> Array.map (fun c -> c.Permuted positions) }
    { Partial = moved; Starts = starts }

/// Groups `groups` of `p`, in that order, with its covered buckets and first time (the few
/// groups a limit keeps out of many).
let subset (plan: Plan) (p: Partial) (groups: int[]) : Partial =
    let k = groups.Length
    let aggregators =
        Array.map2 (fun spec (source: GroupAgg) ->
            let kept = create None spec
            kept.EnsureGroups k
            for j in 0 .. k - 1 do kept.MergeFrom(j, source, groups.[j])
            kept) plan.Aggregations p.Aggregators
    let keyColumns = p.KeyColumns |> Array.map (fun c -> withAppended (c.EmptyLike k) c groups k)
    { p with
        Count = k; Buckets = (if p.Buckets.IsShared then p.Buckets else GroupBuckets.PerGroup(groups |> Array.map (fun g -> p.Buckets.[g]))); Hashes = groups |> Array.map (fun g -> p.Hashes.[g])
        Aggregators = aggregators; KeyColumns = keyColumns }

/// Merges partials one hash partition at a time: each partition has a merger of its own, so
/// partitions merge in parallel and each one's table is a fraction of the whole (fewer cache
/// misses). A partition must take partials in the same order as every other one for results
/// to be the same on every run; the result holds partition 0's groups first, then 1's, ...
type PartitionedMerger(plan: Plan, bits: int) =
    let mergers = Array.init (1 <<< bits) (fun _ -> Merger(plan))
    let finished = Array.zeroCreate<Partial> mergers.Length
    member _.Partitions = mergers.Length
    /// Groups merged into partition q so far.
    member _.GroupsIn(q: int) = mergers.[q].Count
    /// Makes room in partition q for `n` groups before its first partial.
    member _.Reserve(q: int, n: int) = mergers.[q].Reserve n
    /// Merges partition q of `p` (partition 0 also takes its covered buckets and first time).
    member _.Add(q: int, p: PartitionedPartial) =
        let count = p.Starts.[q + 1] - p.Starts.[q]
        if count > 0 then mergers.[q].AddRange(p.Partial, p.Starts.[q], count)
        if q = 0 then mergers.[0].AddBounds p.Partial
    /// Partition q's merged groups (after its last partial), cut to those `keep` selects
    /// when it selects some (a limit over many groups: the rest never need to be copied).
    member _.Finish(q: int, keep: Partial -> int[] option) =
        let p = mergers.[q].Result()
        finished.[q] <- match keep p with Some groups -> subset plan p groups | None -> p
    /// Each partition's groups (disjoint; partition 0 holds the covered buckets and first time).
    member _.Parts() : Partial[] =
        Array.init mergers.Length (fun q -> if obj.ReferenceEquals(finished.[q], null) then mergers.[q].Result() else finished.[q])
    member this.Result() : Partial = concatenate plan (this.Parts())

/// One partial from many (associative; an empty list gives an empty partial).
let merge (plan: Plan) (partials: Partial list) : Partial =
    let m = Merger(plan)
    for p in partials do m.Add p
    m.Result()

/// The aggregation engine shared by timeseries, topN and groupBy. A segment is processed on
/// its own into a `Partial` (group keys as values plus aggregator states); partials merge
/// associatively, so segments may run in any order or in parallel.
///
/// Within a segment: the filter becomes a row mask, time buckets become row ranges found by
/// binary search on the sorted `__time`, and each dimension becomes one dictionary id per row
/// (extraction functions and filtered specs are applied once per dictionary value). Group
/// keys are composed from ids into one long (bit fields) when they fit, an id array otherwise.
/// Without dimensions a bucket is one group and aggregators run vector kernels over its range.
module FunctionalDruid.Core.GroupingEngine

open System
open System.Collections.Generic
open System.Runtime.InteropServices
open System.Text.RegularExpressions
open FunctionalDruid.Core
open FunctionalDruid.Core.Query
open FunctionalDruid.Core.SegmentColumns
open FunctionalDruid.Core.GroupAggregators
open FunctionalDruid.Core.GroupKeys
open FunctionalDruid.Core.GroupDimensions

/// What to aggregate, independent of segments.
type Plan =
    { Granularity: Time.Granularity
      Dimensions: DimensionSpec[]
      Aggregations: AggregatorSpec[]
      Filter: Filter.Filter option
      VirtualColumns: VirtualColumn list
      /// Condensed (sorted, non-overlapping) query intervals.
      Intervals: Time.Interval list
      /// Collect the buckets a segment covers, for timeseries zero-filling.
      ZeroFill: bool
      /// The query's per-segment lookup tables, reused from segment to segment.
      Tables: LongTupleIndexes }

/// Aggregated groups of one or more segments: group g has time bucket `Buckets.[g]` and the
/// key value `KeyColumns.[d].ValueAt g` of dimension d, typed by the dimension's output type.
/// Arrays may be longer than `Count`.
type Partial =
    { Count: int
      Buckets: GroupBuckets
      KeyColumns: KeyColumn[]
      /// Each group's hash (`GroupKeys.hashesOf`), computed where groups are made (segments
      /// run in parallel), not where the single-threaded merge looks them up.
      Hashes: int[]
      Aggregators: GroupAgg[]
      /// Bucket starts between the segments' first and last rows inside the query intervals
      /// (zero-fill candidates), when the plan asks for them.
      CoveredBuckets: int64[]
      /// The earliest row time inside the query intervals (Int64.MaxValue when none); with
      /// granularity `all` results are stamped with it.
      FirstTime: int64 }
    /// The key values of group g, one per dimension.
    member p.KeyValues(g: int) : Value[] = p.KeyColumns |> Array.map (fun c -> c.ValueAt g)

/// At most this many empty buckets are zero-filled per segment (Druid's `none` granularity
/// would otherwise ask for one per millisecond).
let maxZeroFilledBuckets = 1_000_000

let private lowerBound (times: int64[]) (lo: int) (hi: int) (t: int64) =
    let mutable lo = lo
    let mutable hi = hi
    while lo < hi do
        let mid = (lo + hi) >>> 1
        if times.[mid] < t then lo <- mid + 1 else hi <- mid
    lo

/// Keys of ids too wide for one long: compared and hashed element by element, without the
/// generic structural comparer's per-element dispatch.
let private idArrayComparer =
    { new IEqualityComparer<int[]> with
        member _.Equals(a, b) = ReadOnlySpan<int>(a).SequenceEqual(ReadOnlySpan<int>(b))
        member _.GetHashCode(a) =
            let mutable h = 17
            for x in a do h <- h * 31 + x
            h }

/// The index of `key` in `keys`, appended (and entered in `table`) when new: one table lookup.
let inline private indexOf (table: Dictionary<'k, int>) (keys: ResizeArray<'k>) (key: 'k) : int =
    let mutable found = false
    let slot = &CollectionsMarshal.GetValueRefOrAddDefault(table, key, &found)
    if not found then
        slot <- keys.Count
        keys.Add key
    slot

let private bitsFor (count: int) = if count <= 1 then 0 else 64 - System.Numerics.BitOperations.LeadingZeroCount(uint64 (count - 1))

// ---- one segment -------------------------------------------------------------------------

/// Row ranges of the segment inside the query intervals and the part of time it serves, as
/// (start, end, firstRow, endRow).
let private rowRanges (plan: Plan) (times: int64[]) (serves: Time.Interval) =
    [ for i in plan.Intervals do
        let s = max i.Start serves.Start
        let e = min i.End serves.End
        if s < e then
            let lo = lowerBound times 0 times.Length s
            let hi = lowerBound times lo times.Length e
            yield s, e, lo, hi ]

/// Calls `f bucketStart lo hi` for each non-empty bucket's row range, in time order.
let private forEachBucket (plan: Plan) (times: int64[]) (ranges: (int64 * int64 * int * int) list) (f: int64 -> int -> int -> unit) =
    for (_, _, lo, hi) in ranges do
        if lo < hi then
            match plan.Granularity with
            | Time.Granularity.All -> f Time.minInstant lo hi
            | g ->
                let mutable r = lo
                while r < hi do
                    let b = Time.bucketStart g times.[r]
                    let e = Time.nextBucket g b
                    let next = lowerBound times r hi e
                    f b r next
                    r <- next

let private batchSize = 4096

/// A plain dimension on a number column of its output type, read as raw numbers (a long, or a
/// double's bits) and null flags (null when none): grouping needs no ids for it.
let private rawNumbers (columns: Columns) (spec: DimensionSpec) : (int64[] * bool[] * ColumnType) option =
    match spec with
    | DimensionSpec.Default(dimension, _, t) ->
        match columns.Column dimension, t with
        | Some(ColumnData.Longs(values, nulls)), ColumnType.Long -> Some(values, Option.toObj nulls, ColumnType.Long)
        | Some(ColumnData.Doubles(values, nulls)), (ColumnType.Double | ColumnType.Float) ->
            Some(Array.map BitConverter.DoubleToInt64Bits values, Option.toObj nulls, ColumnType.Double)
        | _ -> None
    | _ -> None

/// Groups single-value rows by keys of raw numbers: one table lookup per row on a key of
/// [bucket index | ids of the other dimensions | null flags of the number ones] followed by the
/// numbers, instead of an id per number and then a lookup of the composed ids (high-cardinality
/// numbers such as user ids cost a table lookup each). None when the packed part needs more
/// than 62 bits.
let private groupByRawNumbers (plan: Plan) (times: int64[]) (ranges: (int64 * int64 * int * int) list) (mask: uint64[]) (aggs: GroupAgg[])
                              (raw: (int64[] * bool[] * ColumnType) option[]) (ids: DimIds option[]) : (int * GroupBuckets * KeyColumn[]) option =
    let dimCount = raw.Length
    let bucketBits = if plan.Granularity = Time.Granularity.All then 0 else bitsFor (times.Length + 1)
    let fieldBits (d: int) =
        match raw.[d], ids.[d] with
        | Some(_, nulls, _), _ -> if isNull nulls then 0 else 1
        | None, Some d -> bitsFor d.Count
        | None, None -> 0
    let widths = Array.init dimCount fieldBits
    let shifts = Array.scan (+) bucketBits widths
    if shifts.[dimCount] > 62 then None
    else
    let rawDims = [| for d in 0 .. dimCount - 1 do if raw.[d].IsSome then yield d |]
    let idDims = [| for d in 0 .. dimCount - 1 do if ids.[d].IsSome then yield d |]
    let width = 1 + rawDims.Length
    let rawValues = rawDims |> Array.map (fun d -> let (values, _, _) = raw.[d].Value in values)
    let rawNulls = rawDims |> Array.map (fun d -> let (_, nulls, _) = raw.[d].Value in nulls)
    // Sized for the rows kept, up to a bound (few-valued numbers should not pay for a table
    // per row; tables are handed from segment to segment). Aggregator states start at a
    // chunk's worth and double as groups come: a subquery's 64 parts of 9,000 regions would
    // otherwise zero 65,536 states per aggregator each.
    let kept = if isNull mask then times.Length else Kernels.countMasked mask 0 times.Length
    let expected = min 65_536 kept
    let mutable sized = false
    let table = plan.Tables.Take(width, max 16 expected)
    for a in aggs do a.EnsureGroups(min batchSize kept)
    let key = Array.zeroCreate<int64> width
    // One number alone makes the key (no bucket, other dimension or null flag beside it) and
    // its values span a small range: a group is found by indexing an array with the value,
    // the table only sees each value's first row.
    let denseBase, dense =
        if bucketBits = 0 && idDims.Length = 0 && rawDims.Length = 1 && isNull rawNulls.[0] && kept > 4096 then
            let values = rawValues.[0]
            let mutable lo = Int64.MaxValue
            let mutable hi = Int64.MinValue
            for v in values do
                if v < lo then lo <- v
                if v > hi then hi <- v
            // (hi - lo overflows, to a negative, for values far apart.)
            if hi >= lo && hi - lo >= 0L && hi - lo < 65_536L then lo, Array.create (int (hi - lo) + 1) -1 else 0L, null
        else 0L, null
    let rows = Array.zeroCreate<int> batchSize
    let groups = Array.zeroCreate<int> batchSize
    let packed = Array.zeroCreate<int64> batchSize
    let bucketStarts = ResizeArray<int64>()
    let bucketIndexOf = Dictionary<int64, int>()
    forEachBucket plan times ranges (fun b lo hi ->
        let bi = indexOf bucketIndexOf bucketStarts b
        let mutable start = lo
        while start < hi do
            let stop = min hi (start + batchSize)
            let n = Kernels.collectRows mask start stop rows
            for i in 0 .. n - 1 do packed.[i] <- int64 bi
            for d in idDims do
                let dimIds = ids.[d].Value.Ids
                let shift = shifts.[d]
                for i in 0 .. n - 1 do packed.[i] <- packed.[i] ||| (int64 dimIds.[rows.[i]] <<< shift)
            for j in 0 .. rawDims.Length - 1 do
                let nulls = rawNulls.[j]
                if not (isNull nulls) then
                    let flag = 1L <<< shifts.[rawDims.[j]]
                    for i in 0 .. n - 1 do
                        if nulls.[rows.[i]] then packed.[i] <- packed.[i] ||| flag
            if not (isNull dense) then
                let values = rawValues.[0]
                for i in 0 .. n - 1 do
                    let slot = int (values.[rows.[i]] - denseBase)
                    let mutable g = dense.[slot]
                    if g < 0 then
                        key.[0] <- 0L
                        key.[1] <- values.[rows.[i]]
                        g <- table.IdOf key
                        dense.[slot] <- g
                    groups.[i] <- g
            else
                for i in 0 .. n - 1 do
                    let r = rows.[i]
                    key.[0] <- packed.[i]
                    for j in 0 .. rawDims.Length - 1 do
                        let nulls = rawNulls.[j]
                        key.[j + 1] <- if not (isNull nulls) && nulls.[r] then 0L else rawValues.[j].[r]
                    groups.[i] <- table.IdOf key
            // Mostly new keys in the first chunk (ids, timestamps): one group per kept row is
            // likely, so the table and states are sized for all of them at once.
            if not sized && n >= 1024 then
                sized <- true
                if table.Count * 8 >= n * 7 && expected < kept then
                    table.Reserve kept
                    for a in aggs do a.EnsureGroups kept
            for a in aggs do
                a.EnsureGroups table.Count
                a.AddRows(rows, groups, n)
            start <- stop)
    let count = table.Count
    let keys = table.Keys
    let packedOf (g: int) = keys.[g * width]
    let field (g: int) (d: int) = int ((packedOf g >>> shifts.[d]) &&& ((1L <<< widths.[d]) - 1L))
    let buckets =
        if bucketBits = 0 then GroupBuckets.AllIn Time.minInstant
        else GroupBuckets.PerGroup(Array.init count (fun g -> bucketStarts.[int (packedOf g &&& ((1L <<< bucketBits) - 1L))]))
    let columns =
        Array.init dimCount (fun d ->
            match raw.[d], ids.[d] with
            | Some(_, nulls, kind), _ ->
                let j = Array.IndexOf(rawDims, d)
                let isNullAt = if isNull nulls then null else Array.init count (fun g -> field g d = 1)
                let numberAt (g: int) = if not (isNull isNullAt) && isNullAt.[g] then 0L else keys.[g * width + 1 + j]
                if kind = ColumnType.Long then longKeys (Array.init count numberAt) isNullAt count
                else doubleKeys (Array.init count (numberAt >> BitConverter.Int64BitsToDouble)) isNullAt count
            | None, Some dimension -> keyColumnOf plan.Dimensions.[d] dimension (Array.init count (fun g -> field g d))
            | None, None -> ValueKeys(Array.create count Value.Null) :> KeyColumn)
    // The groups are copied out; the table serves a later segment.
    plan.Tables.Give table
    Some(count, buckets, columns)

/// Aggregates one segment (its rows that the `serves` interval and the query intervals keep).
let runSegment (plan: Plan) (content: SegmentContent) (serves: Time.Interval) : Partial =
    let columns = Columns(content, plan.VirtualColumns)
    let times = content.Times
    let ranges = rowRanges plan times serves
    let aggs = plan.Aggregations |> Array.map (create (Some columns))
    let matching = plan.Filter |> Option.map (FilterBitmaps.matching columns)
    columns.RowsOfInterest <- matching
    let mask = match matching with Some rows -> rows.Words | None -> null
    // As Druid, empty buckets are filled between the segment's first and last row (the last
    // one's bucket included), not over the whole segment interval.
    let covered =
        if plan.ZeroFill && plan.Granularity <> Time.Granularity.All && times.Length > 0 then
            let dataStart = times.[0]
            let dataEnd = Time.nextBucket plan.Granularity (Time.bucketStart plan.Granularity times.[times.Length - 1])
            [| for (s, e, _, _) in ranges do
                 let s, e = max s dataStart, min e dataEnd
                 if s < e then
                     yield! Time.bucketsOf plan.Granularity { Start = s; End = e } |> Seq.truncate maxZeroFilledBuckets |> Seq.map (fun b -> b.Start) |]
        else [||]
    let firstTime = ranges |> List.fold (fun t (_, _, lo, hi) -> if lo < hi then min t times.[lo] else t) Int64.MaxValue
    let groupCount, groupBuckets, keyColumns =
      if plan.Dimensions.Length = 0 then
        let groupOfBucket = Dictionary<int64, int>()
        let buckets = ResizeArray<int64>()
        forEachBucket plan times ranges (fun b lo hi ->
            let matched = if isNull mask then hi - lo else Kernels.countMasked mask lo hi
            if matched > 0 then
                let g = indexOf groupOfBucket buckets b
                for a in aggs do
                    a.EnsureGroups buckets.Count
                    a.AddRange(lo, hi, mask, g))
        buckets.Count, GroupBuckets.PerGroup(buckets.ToArray()), [||]
      else
        let raw = plan.Dimensions |> Array.map (rawNumbers columns)
        let idsOfOthers = Array.map2 (fun spec (r: _ option) -> if r.IsSome then None else Some(dimIds columns spec)) plan.Dimensions raw
        let byRawNumbers =
            if raw |> Array.forall Option.isNone || idsOfOthers |> Array.exists (function Some d -> not (isNull d.Multi) | None -> false) then None
            else groupByRawNumbers plan times ranges mask aggs raw idsOfOthers
        match byRawNumbers with
        | Some grouped -> grouped
        | None ->
        let dims = Array.map2 (fun spec (d: DimIds option) -> match d with Some d -> d | None -> dimIds columns spec) plan.Dimensions idsOfOthers
        let dimCount = dims.Length
        let bucketStarts = ResizeArray<int64>()
        let bucketBits = if plan.Granularity = Time.Granularity.All then 0 else bitsFor (times.Length + 1)
        let widths = dims |> Array.map (fun d -> bitsFor d.Count)
        let shifts = Array.zeroCreate<int> dimCount
        let mutable total = bucketBits
        for d in 0 .. dimCount - 1 do
            shifts.[d] <- total
            total <- total + widths.[d]
        let keysFitOneLong = total <= 62
        let dense = if keysFitOneLong && total <= 18 then Array.create (1 <<< total) -1 else null
        // No more groups than kept rows, nor than combinations of ids: aggregator states are
        // sized once rather than grown by copying.
        let maxGroups =
            let kept = match matching with Some rows -> rows.Count() | None -> times.Length
            let buckets = if plan.Granularity = Time.Granularity.All then 1L else int64 kept
            dims |> Array.fold (fun bound d -> if bound >= int64 kept then bound else bound * int64 (max 1 d.Count)) buckets
            |> min (int64 kept) |> int
        for a in aggs do a.EnsureGroups maxGroups
        let byLong = LongIndex(if isNull dense then min maxGroups (1 <<< 20) else 0)
        let byArray = Dictionary<int[], int>(idArrayComparer)
        let denseKeys = ResizeArray<int64>()
        let longGroupCount () = if isNull dense then byLong.Count else denseKeys.Count
        let groupArrayKeys = ResizeArray<int[]>()
        let scratchKey = Array.zeroCreate<int> (dimCount + 1)
        let rows = Array.zeroCreate<int> batchSize
        let groups = Array.zeroCreate<int> batchSize
        let mutable pending = 0
        let flush () =
            if pending > 0 then
                for a in aggs do
                    a.EnsureGroups(longGroupCount ())
                    a.EnsureGroups groupArrayKeys.Count
                    a.AddRows(rows, groups, pending)
                pending <- 0
        let emit (row: int) (g: int) =
            rows.[pending] <- row
            groups.[pending] <- g
            pending <- pending + 1
            if pending = batchSize then flush ()
        let slotOfLong (key: int64) =
            if not (isNull dense) then
                let k = int key
                let g = dense.[k]
                if g >= 0 then g
                else
                    let g = denseKeys.Count
                    dense.[k] <- g
                    denseKeys.Add key
                    g
            else byLong.IdOf key
        let slotOfArray () =
            match byArray.TryGetValue scratchKey with
            | true, g -> g
            | _ ->
                let g = groupArrayKeys.Count
                let copy = Array.copy scratchKey
                byArray.[copy] <- g
                groupArrayKeys.Add copy
                g
        let multiDims = [| for d in 0 .. dimCount - 1 do if not (isNull dims.[d].Multi) then yield d |]
        let positions = Array.zeroCreate<int> multiDims.Length
        let processRow (bucketIndex: int) (r: int) =
            // Single-value dimensions first, then every combination of multi-value ones.
            let mutable baseKey = int64 bucketIndex
            scratchKey.[dimCount] <- bucketIndex
            for d in 0 .. dimCount - 1 do
                let ids = dims.[d].Ids
                if not (isNull ids) then
                    let id = ids.[r]
                    if keysFitOneLong then baseKey <- baseKey ||| (int64 id <<< shifts.[d]) else scratchKey.[d] <- id
            if multiDims.Length = 0 then emit r (if keysFitOneLong then slotOfLong baseKey else slotOfArray ())
            else
                Array.Clear positions
                let mutable running = true
                while running do
                    let mutable key = baseKey
                    for m in 0 .. multiDims.Length - 1 do
                        let d = multiDims.[m]
                        let id = dims.[d].Multi.[r].[positions.[m]]
                        if keysFitOneLong then key <- key ||| (int64 id <<< shifts.[d]) else scratchKey.[d] <- id
                    emit r (if keysFitOneLong then slotOfLong key else slotOfArray ())
                    // Advance the odometer over the multi-value dimensions.
                    let mutable m = multiDims.Length - 1
                    let mutable carry = true
                    while carry && m >= 0 do
                        positions.[m] <- positions.[m] + 1
                        if positions.[m] < dims.[multiDims.[m]].Multi.[r].Length then carry <- false
                        else
                            positions.[m] <- 0
                            m <- m - 1
                    if carry then running <- false
        let rowScratch = Array.zeroCreate<int> (min times.Length 65536)
        let chunkKeys = Array.zeroCreate<int64> batchSize
        let bucketIndexOf = Dictionary<int64, int>()
        forEachBucket plan times ranges (fun b lo hi ->
            let bi = indexOf bucketIndexOf bucketStarts b
            if multiDims.Length = 0 && keysFitOneLong then
                // Single-value dimensions: keys are composed column by column over a chunk of
                // rows, then looked up; the chunk is the aggregators' batch.
                let mutable start = lo
                while start < hi do
                    flush ()
                    let stop = min hi (start + batchSize)
                    let n = Kernels.collectRows mask start stop rows
                    let bucketPart = int64 bi
                    for i in 0 .. n - 1 do chunkKeys.[i] <- bucketPart
                    for d in 0 .. dimCount - 1 do
                        let ids = dims.[d].Ids
                        let shift = shifts.[d]
                        for i in 0 .. n - 1 do chunkKeys.[i] <- chunkKeys.[i] ||| (int64 ids.[rows.[i]] <<< shift)
                    for i in 0 .. n - 1 do groups.[i] <- slotOfLong chunkKeys.[i]
                    pending <- n
                    start <- stop
            elif isNull mask then
                for r in lo .. hi - 1 do processRow bi r
            else
                // Chunks of at most 65536 rows keep the scratch small.
                let mutable start = lo
                while start < hi do
                    let stop = min hi (start + rowScratch.Length)
                    let n = Kernels.collectRows mask start stop rowScratch
                    for i in 0 .. n - 1 do processRow bi rowScratch.[i]
                    start <- stop)
        flush ()
        let groupCount = if keysFitOneLong then longGroupCount () else groupArrayKeys.Count
        // Granularity `all` has one bucket, index 0.
        let bucketsOf (bucketIndexOf: int -> int) =
            if bucketBits = 0 then GroupBuckets.AllIn Time.minInstant
            else GroupBuckets.PerGroup(Array.init groupCount (fun g -> bucketStarts.[bucketIndexOf g]))
        let buckets, idsOf =
            if keysFitOneLong then
                let keys = if isNull dense then byLong.Keys else denseKeys.ToArray()
                bucketsOf (fun g -> int (keys.[g] &&& ((1L <<< bucketBits) - 1L))),
                fun d -> Array.init groupCount (fun g -> int ((keys.[g] >>> shifts.[d]) &&& ((1L <<< widths.[d]) - 1L)))
            else
                let keys = groupArrayKeys.ToArray()
                bucketsOf (fun g -> keys.[g].[dimCount]), fun d -> Array.init groupCount (fun g -> keys.[g].[d])
        groupCount, buckets, Array.init dimCount (fun d -> keyColumnOf plan.Dimensions.[d] dims.[d] (idsOf d))
    { Count = groupCount; Buckets = groupBuckets; KeyColumns = keyColumns
      Hashes = hashesOf groupBuckets keyColumns groupCount
      Aggregators = aggs; CoveredBuckets = covered; FirstTime = firstTime }

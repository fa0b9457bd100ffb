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
      ZeroFill: bool }

/// Aggregated groups of one or more segments: group g has time bucket `Buckets.[g]` and the
/// key value `KeyColumns.[d].ValueAt g` of dimension d, typed by the dimension's output type.
/// Arrays may be longer than `Count`.
type Partial =
    { Count: int
      Buckets: int64[]
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

// ---- array group keys -------------------------------------------------------------------------

/// Group keys are strings; a typed array (grouped whole, never exploded) is keyed by a
/// self-delimiting text that keeps element types, marked so it cannot collide with a string.
module ArrayKey =
    let private marker = '\u0001'

    let encode (elements: Value[]) : string =
        let b = Text.StringBuilder()
        b.Append(marker) |> ignore
        for e in elements do
            match e with
            | Value.Null -> b.Append('n') |> ignore
            | Value.Long l -> b.Append('l').Append(l.ToString(Globalization.CultureInfo.InvariantCulture)).Append(';') |> ignore
            | Value.Double d -> b.Append('d').Append(d.ToString("R", Globalization.CultureInfo.InvariantCulture)).Append(';') |> ignore
            | other ->
                let text = Value.toStringOrNull other
                b.Append('s').Append(text.Length).Append(':').Append(text) |> ignore
        b.ToString()

    let isKey (s: string) = not (isNull s) && s.Length > 0 && s.[0] = marker

    let decode (s: string) : Value =
        let items = ResizeArray<Value>()
        let mutable i = 1
        let readUntil (stop: char) =
            let e = s.IndexOf(stop, i + 1)
            let text = s.Substring(i + 1, e - i - 1)
            i <- e + 1
            text
        while i < s.Length do
            match s.[i] with
            | 'n' ->
                items.Add Value.Null
                i <- i + 1
            | 'l' -> items.Add(Value.Long(Int64.Parse(readUntil ';', Globalization.CultureInfo.InvariantCulture)))
            | 'd' -> items.Add(Value.Double(Double.Parse(readUntil ';', Globalization.CultureInfo.InvariantCulture)))
            | _ ->
                let length = int (readUntil ':')
                items.Add(Value.String(s.Substring(i, length)))
                i <- i + length
        Value.Array(items.ToArray())

/// A dimension value's text read as the dimension's output type (as Druid casts group keys).
let private typedDimension (outputType: ColumnType) (s: string) : Value =
    if isNull s then Value.Null
    elif ArrayKey.isKey s then ArrayKey.decode s
    else
        match outputType with
        | ColumnType.Long ->
            // Plain integer text (the usual key of a long dimension) parses directly.
            match Int64.TryParse(s, Globalization.NumberStyles.AllowLeadingSign, Globalization.CultureInfo.InvariantCulture) with
            | true, l -> Value.Long l
            | _ -> match Value.toLong (Value.String s) with Some l -> Value.Long l | None -> Value.Null
        | ColumnType.Double | ColumnType.Float -> match Value.parseDoubleText s with Some d -> Value.Double d | None -> Value.Null
        | _ -> Value.String s

let rec private outputType (d: DimensionSpec) =
    match d with
    | DimensionSpec.Default(_, _, t) | DimensionSpec.Extraction(_, _, t, _) -> t
    | DimensionSpec.ListFiltered(i, _, _) | DimensionSpec.RegexFiltered(i, _) | DimensionSpec.PrefixFiltered(i, _) -> outputType i

// ---- dimensions as ids ----------------------------------------------------------------------

/// One dimension of one segment as ids: `Ids` for single-value rows or `Multi` (never empty
/// arrays) for multi-value ones; `Sources` maps ids to the values extraction functions read
/// and `Texts` to their text (made only when asked: numbers need no text to group).
type private DimIds =
    { Ids: int[]; Multi: int[][]; Count: int; Texts: Lazy<string[]>; Sources: Lazy<Value[]>
      /// A number column's ids: the value of each id, as in `numericIds`.
      Numbers: NumberIds option }

/// The number of each id of a number column: a long, a double's bits or a float's bits, as
/// `Kind` says; `NullId` (-1 when none) stands for null.
and private NumberIds = { Keys: int64[]; NullId: int; Kind: ColumnType }

let private textsOf (values: string[]) = Lazy<string[]>.CreateFromValue values
let private stringSources (values: string[]) = values |> Array.map (fun v -> if isNull v then Value.Null else Value.String v)
/// Values of a string dictionary, made only if an extraction asks for them (a filter may keep
/// few of a large dictionary's values).
let private lazySources (values: string[]) = lazy (stringSources values)

/// Initial capacity of per-segment tables that may hold a value per row: growing a table
/// of many distinct values by doubling costs more than the lookups themselves.
let private expectedDistinct (rows: int) = min rows 65_536

/// `keys` identify values (a long, or a double's bits); `nulls` flags null rows (or is null).
/// Only `rows` (when given: the rows the query's filter kept) get ids; grouping reads no other.
let private numericIds (rows: Bitmap.RowSet option) (keys: int64[]) (nulls: bool[]) (kind: ColumnType) : DimIds =
    let n = keys.Length
    let byKey = LongIndex(expectedDistinct n)
    let mutable anyNull = false
    let mutable lastKey = 0L
    let mutable lastId = -1
    let ids = Array.zeroCreate<int> n
    for r in 0 .. n - 1 do
        if (match rows with Some set -> set.Contains r | None -> true) then
            ids.[r] <-
                if not (isNull nulls) && nulls.[r] then
                    anyNull <- true
                    -1
                else
                    let k = keys.[r]
                    // Sorted columns (`__time`) repeat the previous key; skip the lookup then.
                    if k = lastKey && lastId >= 0 then lastId
                    else
                        let id = byKey.IdOf k
                        lastKey <- k
                        lastId <- id
                        id
    // Null rows take the id after the numbers'.
    let nullId = if anyNull then byKey.Count else -1
    if anyNull then
        for r in 0 .. n - 1 do
            if ids.[r] < 0 then ids.[r] <- nullId
    let idKeys = Array.init (byKey.Count + (if anyNull then 1 else 0)) (fun id -> if id < byKey.Count then byKey.Keys.[id] else 0L)
    let numbers = { Keys = idKeys; NullId = nullId; Kind = kind }
    let valueOfKey (k: int64) =
        match kind with
        | ColumnType.Long -> Value.Long k
        | ColumnType.Double -> Value.Double(BitConverter.Int64BitsToDouble k)
        | _ -> Value.Double(float (BitConverter.Int32BitsToSingle(int k)))
    let sources = lazy (numbers.Keys |> Array.mapi (fun id k -> if id = nullId then Value.Null else valueOfKey k))
    { Ids = ids; Multi = null; Count = numbers.Keys.Length; Texts = lazy (sources.Value |> Array.map Value.toStringOrNull)
      Sources = sources; Numbers = Some numbers }

let private arrayIds (n: int) (column: ColumnData) : DimIds =
    let byKey = Dictionary<string, int>(StringComparer.Ordinal)
    let values = ResizeArray<string>()
    let sources = ResizeArray<Value>()
    let ids = Array.zeroCreate<int> n
    for r in 0 .. n - 1 do
        let cell = column.Cell r
        let key = match cell with Value.Array xs -> ArrayKey.encode xs | _ -> null
        let lookup = if isNull key then "" else key
        ids.[r] <-
            match byKey.TryGetValue lookup with
            | true, id -> id
            | _ ->
                let id = values.Count
                byKey.[lookup] <- id
                values.Add key
                sources.Add cell
                id
    { Ids = ids; Multi = null; Count = values.Count; Texts = textsOf (values.ToArray()); Sources = Lazy<Value[]>.CreateFromValue(sources.ToArray()); Numbers = None }

/// Nested JSON groups by its compact text: equal values have equal text.
let private jsonIds (n: int) (column: ColumnData) : DimIds =
    let interner = QuerySlices.StringInterner()
    let ids = Array.init n (fun r -> interner.Id(Value.toStringOrNull (column.Cell r)))
    let values = interner.Values
    { Ids = ids; Multi = null; Count = values.Length; Texts = textsOf values; Sources = lazySources values; Numbers = None }

let private baseIds (columns: Columns) (dimension: string) : DimIds =
    let n = columns.RowCount
    match columns.Column dimension with
    | Some(ColumnData.Strings s) ->
        match s.MultiIds with
        | None -> { Ids = s.Ids; Multi = null; Count = s.Dictionary.Length; Texts = textsOf s.Dictionary; Sources = lazySources s.Dictionary; Numbers = None }
        | Some multi ->
            let mutable values = s.Dictionary
            let nullId =
                match Array.tryFindIndex isNull values with
                | Some i -> i
                | None ->
                    values <- Array.append values [| null |]
                    values.Length - 1
            let nullRow = [| nullId |]
            { Ids = null; Multi = multi |> Array.map (fun ids -> if ids.Length = 0 then nullRow else ids)
              Count = values.Length; Texts = textsOf values; Sources = lazySources values; Numbers = None }
    | Some(ColumnData.Longs(v, nulls)) -> numericIds columns.RowsOfInterest v (Option.toObj nulls) ColumnType.Long
    | Some(ColumnData.Doubles(v, nulls)) ->
        numericIds columns.RowsOfInterest (Array.map BitConverter.DoubleToInt64Bits v) (Option.toObj nulls) ColumnType.Double
    | Some(ColumnData.Floats(v, nulls)) ->
        numericIds columns.RowsOfInterest (v |> Array.map (fun x -> int64 (BitConverter.SingleToInt32Bits x))) (Option.toObj nulls) ColumnType.Float
    | Some(ColumnData.LongArrays _ | ColumnData.DoubleArrays _ | ColumnData.StringArrays _ as column) -> arrayIds n column
    | Some(ColumnData.Complex(ComplexJson.TypeName, _) as column) -> jsonIds n column
    | Some(ColumnData.Complex _) | None -> { Ids = Array.zeroCreate n; Multi = null; Count = 1; Texts = textsOf [| null |]; Sources = lazySources [| null |]; Numbers = None }

/// Maps every id through `newIdOf` (a table over old ids); dropped ids (-1) leave multi-value
/// rows, and a row left empty, or a single value dropped, becomes `nullId`.
let private remap (d: DimIds) (newIdOf: int[]) (nullId: int) (values: string[]) : DimIds =
    let nullRow = [| nullId |]
    let texts, sources = textsOf values, lazySources values
    if isNull d.Multi then
        // Rows outside the query's filter may hold an id no value has (see `numericIds`).
        { Ids = d.Ids |> Array.map (fun id -> let x = (if id < newIdOf.Length then newIdOf.[id] else -1) in if x < 0 then nullId else x)
          Multi = null; Count = values.Length; Texts = texts; Sources = sources; Numbers = None }
    else
        { Ids = null
          Multi =
            d.Multi |> Array.map (fun ids ->
                let mapped = ids |> Array.choose (fun id -> let x = newIdOf.[id] in if x < 0 then None else Some x)
                if mapped.Length = 0 then nullRow else mapped)
          Count = values.Length; Texts = texts; Sources = sources; Numbers = None }

let rec private dimIds (columns: Columns) (spec: DimensionSpec) : DimIds =
    let keepOnly (inner: DimensionSpec) (keep: string -> bool) =
        let d = dimIds columns inner
        let interner = QuerySlices.StringInterner()
        let newIdOf = d.Texts.Value |> Array.map (fun v -> if keep v then interner.Id v else -1)
        let nullId = interner.Id null
        remap d newIdOf nullId interner.Values
    match spec with
    | DimensionSpec.Default(dimension, _, _) -> baseIds columns dimension
    | DimensionSpec.Extraction(dimension, _, _, fn) when dimension = timeColumn ->
        // `__time` is sorted: extract once per run of equal times, with no dictionary of times.
        let extract = Extraction.compile fn
        let interner = QuerySlices.StringInterner()
        let times = columns.Times
        let ids = Array.zeroCreate<int> times.Length
        let mutable last = 0L
        let mutable lastId = -1
        for r in 0 .. times.Length - 1 do
            let t = times.[r]
            if lastId < 0 || t <> last then
                lastId <- interner.Id(extract (Value.Long t))
                last <- t
            ids.[r] <- lastId
        let values = interner.Values
        { Ids = ids; Multi = null; Count = values.Length; Texts = textsOf values; Sources = lazySources values; Numbers = None }
    | DimensionSpec.Extraction(dimension, _, _, fn) ->
        let d = baseIds columns dimension
        let extract = Extraction.compile fn
        let interner = QuerySlices.StringInterner()
        let newIdOf = d.Sources.Value |> Array.map (fun v -> interner.Id(extract v))
        let nullId = interner.Id null
        remap d newIdOf nullId interner.Values
    | DimensionSpec.ListFiltered(inner, list, whitelist) ->
        let set = HashSet<string>(list, StringComparer.Ordinal)
        keepOnly inner (fun v -> not (isNull v) && set.Contains v = whitelist)
    | DimensionSpec.RegexFiltered(inner, pattern) ->
        let regex = Regex(@"\A(?:" + pattern + @")\z", RegexOptions.CultureInvariant)
        keepOnly inner (fun v -> not (isNull v) && regex.IsMatch v)
    | DimensionSpec.PrefixFiltered(inner, prefix) -> keepOnly inner (fun v -> not (isNull v) && v.StartsWith(prefix, StringComparison.Ordinal))

/// The group key value of an id, made once and only for ids that form groups: numbers already
/// of the output type keep their value, other values are read from their text as the output
/// type says.
let private keyValueOf (spec: DimensionSpec) (d: DimIds) : int -> Value =
    let t = outputType spec
    let made = Array.zeroCreate<Value> d.Count
    fun id ->
        let known = made.[id]
        if not (obj.ReferenceEquals(known, null)) then known
        else
            let value =
                // Number columns have their values already; string ones only their text.
                if d.Numbers.IsSome || d.Sources.IsValueCreated then
                    match d.Sources.Value.[id], t with
                    | Value.Null, _ -> Value.Null
                    | (Value.Long _ as source), ColumnType.Long
                    | (Value.Double _ as source), (ColumnType.Double | ColumnType.Float) -> source
                    | _ -> typedDimension t d.Texts.Value.[id]
                else typedDimension t d.Texts.Value.[id]
            made.[id] <- value
            value

/// The key column of groups whose ids of dimension `spec` are `ids`: number columns of the
/// output type are copied number by number, strings text by text; other values go through
/// `keyValueOf` (one value per id).
let private keyColumnOf (spec: DimensionSpec) (d: DimIds) (ids: int[]) : KeyColumn =
    let t = outputType spec
    let n = ids.Length
    let numbers (convert: int64 -> 'T) (make: 'T[] -> bool[] -> KeyColumn) (numbers: NumberIds) =
        let values = Array.zeroCreate<'T> n
        let nulls = if numbers.NullId >= 0 then Array.zeroCreate<bool> n else null
        for g in 0 .. n - 1 do
            let id = ids.[g]
            if id = numbers.NullId then nulls.[g] <- true else values.[g] <- convert numbers.Keys.[id]
        make values nulls
    let throughValues () : KeyColumn =
        let valueOf = keyValueOf spec d
        let values = Array.init n (fun g -> valueOf ids.[g])
        let fits (isKind: Value -> bool) = values |> Array.forall (fun v -> v = Value.Null || isKind v)
        let nullsOf () = if values |> Array.contains Value.Null then values |> Array.map (fun v -> v = Value.Null) else null
        match t with
        | ColumnType.Long when fits (function Value.Long _ -> true | _ -> false) ->
            LongKeys(values |> Array.map (function Value.Long l -> l | _ -> 0L), nullsOf (), n)
        | ColumnType.Double | ColumnType.Float when fits (function Value.Double _ -> true | _ -> false) ->
            DoubleKeys(values |> Array.map (function Value.Double x -> x | _ -> 0.0), nullsOf (), n)
        | _ -> ValueKeys values
    match d.Numbers, t with
    | Some ns, ColumnType.Long when ns.Kind = ColumnType.Long -> numbers id (fun v nulls -> LongKeys(v, nulls, n)) ns
    | Some ns, (ColumnType.Double | ColumnType.Float) when ns.Kind = ColumnType.Double ->
        numbers BitConverter.Int64BitsToDouble (fun v nulls -> DoubleKeys(v, nulls, n)) ns
    | Some ns, (ColumnType.Double | ColumnType.Float) when ns.Kind = ColumnType.Float ->
        numbers (fun k -> float (BitConverter.Int32BitsToSingle(int k))) (fun v nulls -> DoubleKeys(v, nulls, n)) ns
    | _, (ColumnType.Long | ColumnType.Double | ColumnType.Float) -> throughValues ()
    | _ ->
        // Text is the key of a string output, unless it encodes an array.
        let texts = d.Texts.Value
        let keys = Array.init n (fun g -> texts.[ids.[g]])
        if keys |> Array.exists ArrayKey.isKey then throughValues () else TextKeys keys

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
    let groupBuckets, keyColumns =
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
        buckets.ToArray(), [||]
      else
        let dims = plan.Dimensions |> Array.map (dimIds columns)
        let dimCount = dims.Length
        let bucketStarts = ResizeArray<int64>()
        let bucketBits = if plan.Granularity = Time.Granularity.All then 0 else bitsFor (times.Length + 1)
        let widths = dims |> Array.map (fun d -> bitsFor d.Count)
        let shifts = Array.zeroCreate<int> dimCount
        let mutable total = bucketBits
        for d in 0 .. dimCount - 1 do
            shifts.[d] <- total
            total <- total + widths.[d]
        let longKeys = total <= 62
        let dense = if longKeys && total <= 18 then Array.create (1 <<< total) -1 else null
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
                    if longKeys then baseKey <- baseKey ||| (int64 id <<< shifts.[d]) else scratchKey.[d] <- id
            if multiDims.Length = 0 then emit r (if longKeys then slotOfLong baseKey else slotOfArray ())
            else
                Array.Clear positions
                let mutable running = true
                while running do
                    let mutable key = baseKey
                    for m in 0 .. multiDims.Length - 1 do
                        let d = multiDims.[m]
                        let id = dims.[d].Multi.[r].[positions.[m]]
                        if longKeys then key <- key ||| (int64 id <<< shifts.[d]) else scratchKey.[d] <- id
                    emit r (if longKeys then slotOfLong key else slotOfArray ())
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
            let bi =
                match bucketIndexOf.TryGetValue b with
                | true, i -> i
                | _ ->
                    let i = bucketStarts.Count
                    bucketIndexOf.[b] <- i
                    bucketStarts.Add b
                    i
            if multiDims.Length = 0 && longKeys then
                // Single-value dimensions: keys are composed column by column over a chunk of
                // rows, then looked up; the chunk is the aggregators' batch.
                let mutable start = lo
                while start < hi do
                    flush ()
                    let stop = min hi (start + batchSize)
                    let n =
                        if isNull mask then
                            for i in 0 .. stop - start - 1 do rows.[i] <- start + i
                            stop - start
                        else Kernels.collectRows mask start stop rows
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
        let groupCount = if longKeys then longGroupCount () else groupArrayKeys.Count
        let bucketOf (bucketIndex: int) = if bucketBits = 0 then Time.minInstant else bucketStarts.[bucketIndex]
        let buckets, idsOf =
            if longKeys then
                let keys = if isNull dense then byLong.Keys else denseKeys.ToArray()
                Array.init groupCount (fun g -> bucketOf (int (keys.[g] &&& ((1L <<< bucketBits) - 1L)))),
                fun d -> Array.init groupCount (fun g -> int ((keys.[g] >>> shifts.[d]) &&& ((1L <<< widths.[d]) - 1L)))
            else
                let keys = groupArrayKeys.ToArray()
                Array.init groupCount (fun g -> bucketOf keys.[g].[dimCount]), fun d -> Array.init groupCount (fun g -> keys.[g].[d])
        buckets, Array.init dimCount (fun d -> keyColumnOf plan.Dimensions.[d] dims.[d] (idsOf d))
    { Count = groupBuckets.Length; Buckets = groupBuckets; KeyColumns = keyColumns
      Hashes = hashesOf groupBuckets keyColumns groupBuckets.Length
      Aggregators = aggs; CoveredBuckets = covered; FirstTime = firstTime }

// ---- merging -----------------------------------------------------------------------------

/// Groups together with states that merge from partials; `Add` is associative and the group
/// order is the order of first appearance. Groups are found through an open-addressing table
/// of group numbers over the groups' hashes, buckets and key columns.
type Merger(plan: Plan) =
    let aggs = plan.Aggregations |> Array.map (create None)
    let covered = HashSet<int64>()
    let mutable firstTime = Int64.MaxValue
    let mutable count = 0
    let mutable buckets = Array.zeroCreate<int64> 16
    let mutable hashes = Array.zeroCreate<int> 16
    // Made like the first partial's columns; a column turns into `ValueKeys` when a partial
    // brings one of another kind.
    let mutable columns: KeyColumn[] = null
    // Group number + 1 per slot (0: empty), at most half full.
    let mutable slots = Array.zeroCreate<int> 32
    let mutable slotBits = 5
    let slotOf (hash: int) = int ((uint32 hash * 2654435769u) >>> (32 - slotBits))
    let rehash () =
        slotBits <- slotBits + 1
        slots <- Array.zeroCreate (1 <<< slotBits)
        let last = slots.Length - 1
        for g in 0 .. count - 1 do
            let mutable s = slotOf hashes.[g]
            while slots.[s] <> 0 do s <- (s + 1) &&& last
            slots.[s] <- g + 1
    let append (p: Partial) (i: int) =
        if count = buckets.Length then
            buckets <- Array.append buckets (Array.zeroCreate buckets.Length)
            hashes <- Array.append hashes (Array.zeroCreate hashes.Length)
        buckets.[count] <- p.Buckets.[i]
        hashes.[count] <- p.Hashes.[i]
        for d in 0 .. columns.Length - 1 do
            if not (columns.[d].TryAppend(p.KeyColumns.[d], i)) then
                let general = ValueKeys.Of columns.[d]
                general.TryAppend(p.KeyColumns.[d], i) |> ignore
                columns.[d] <- general
        count <- count + 1
    /// The group of group i of `p`, added when new.
    let groupOf (p: Partial) (i: int) =
        let hash = p.Hashes.[i]
        let bucket = p.Buckets.[i]
        let source = p.KeyColumns
        let last = slots.Length - 1
        let mutable s = slotOf hash
        let mutable result = -1
        while result < 0 do
            let candidate = slots.[s] - 1
            if candidate < 0 then
                append p i
                slots.[s] <- count
                result <- count - 1
            elif hashes.[candidate] = hash && buckets.[candidate] = bucket
                 && (let mutable same = true
                     let mutable d = 0
                     while same && d < source.Length do
                         same <- columns.[d].EqualsAt(candidate, source.[d], i)
                         d <- d + 1
                     same) then
                result <- candidate
            else s <- (s + 1) &&& last
        if count * 2 > slots.Length then rehash ()
        result
    member _.Add(p: Partial) =
        if isNull columns then columns <- p.KeyColumns |> Array.map (fun c -> c.EmptyLike())
        // Groups first, then each aggregator's states in one pass.
        let targets = Array.init p.Count (groupOf p)
        for a in 0 .. aggs.Length - 1 do
            aggs.[a].EnsureGroups count
            aggs.[a].MergeAll(targets, p.Aggregators.[a])
        for b in p.CoveredBuckets do covered.Add b |> ignore
        firstTime <- min firstTime p.FirstTime
    member _.Result() : Partial =
        let columns = if isNull columns then plan.Dimensions |> Array.map (fun _ -> ValueKeys([||]) :> KeyColumn) else columns
        { Count = count; Buckets = buckets; KeyColumns = columns; Hashes = hashes
          Aggregators = aggs; CoveredBuckets = Seq.toArray covered; FirstTime = firstTime }

/// One partial from many (associative; an empty list gives an empty partial).
let merge (plan: Plan) (partials: Partial list) : Partial =
    let m = Merger(plan)
    for p in partials do m.Add p
    m.Result()

/// Runs every segment and merges, sequentially.
let run (plan: Plan) (segments: (SegmentContent * Time.Interval) list) : Partial =
    let m = Merger(plan)
    for (content, serves) in segments do m.Add(runSegment plan content serves)
    m.Result()

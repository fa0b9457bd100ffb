/// The ingestion row pipeline and the in-memory incremental index:
/// input row -> timestampSpec -> transforms -> filter -> dimensions and metrics -> rollup
/// keyed on (queryGranularity-truncated time, dimension values). Group keys are integer
/// dictionary ids in one flat array; metrics accumulate in columnar accumulators.
module FunctionalDruid.Core.Rollup

open System
open System.Collections.Generic
open FunctionalDruid.Core
open FunctionalDruid.Core.IngestSpec
open FunctionalDruid.Core.Partitioning

/// Druid's task-report row counters.
type RowCounters =
    { mutable Processed: int64
      mutable ProcessedWithError: int64
      mutable Unparseable: int64
      mutable ThrownAway: int64 }
    static member Zero() = { Processed = 0L; ProcessedWithError = 0L; Unparseable = 0L; ThrownAway = 0L }
    member this.Add(o: RowCounters) =
        this.Processed <- this.Processed + o.Processed
        this.ProcessedWithError <- this.ProcessedWithError + o.ProcessedWithError
        this.Unparseable <- this.Unparseable + o.Unparseable
        this.ThrownAway <- this.ThrownAway + o.ThrownAway

/// What happened to one input row.
[<RequireQualifiedAccess>]
type RowOutcome =
    | Ingested
    /// Ingested, but some value could not be converted (stored as null).
    | IngestedWithError of message: string
    | ThrownAway
    | Unparseable of message: string

/// Counts one row's outcome the way Druid's task report does; returns the message to keep as
/// a parse exception, if any.
let countOutcome (counters: RowCounters) (outcome: RowOutcome) : string option =
    match outcome with
    | RowOutcome.Ingested ->
        counters.Processed <- counters.Processed + 1L
        None
    | RowOutcome.IngestedWithError message ->
        counters.Processed <- counters.Processed + 1L
        counters.ProcessedWithError <- counters.ProcessedWithError + 1L
        Some message
    | RowOutcome.ThrownAway ->
        counters.ThrownAway <- counters.ThrownAway + 1L
        None
    | RowOutcome.Unparseable message ->
        counters.Unparseable <- counters.Unparseable + 1L
        Some message

// ---- dimension encoders --------------------------------------------------------------------

/// Structural equality for multi-value id arrays.
let private idArrays =
    { new IEqualityComparer<int[]> with
        member _.Equals(x, y) = x.AsSpan().SequenceEqual(ReadOnlySpan y)
        member _.GetHashCode(ids) =
            let mutable h = 17
            for i in ids do h <- h * 31 + i
            h }

/// Values numbered in first-seen order; id 0 is the null value given.
type private Interner<'T>(nullValue: 'T, comparer: IEqualityComparer<'T>) =
    let items = List<'T>()
    let ids = Dictionary<'T, int>(comparer)
    do items.Add nullValue
    member _.Id(v: 'T) =
        match ids.TryGetValue v with
        | true, id -> id
        | _ ->
            let id = items.Count
            items.Add v
            ids.[v] <- id
            id
    member _.Item with get (i: int) = items.[i]
    member _.Count = items.Count
    member _.ToArray() = items.ToArray()

/// Maps a dimension's row values to one int per row; 0 is always null. String encoders use
/// even codes for single values (2 * value id) and odd codes for multi-value rows
/// (2 * combination id + 1), so a row key stays one int per dimension.
type DimensionEncoder(schema: DimensionSchema) =
    let values = Interner<string>(null, StringComparer.Ordinal)
    let combos = Interner<int[]>([||], idArrays)
    let numbers = Interner<Value>(Value.Null, HashIdentity.Structural)
    /// Whole nested values of `auto` and `json` dimensions (coerced first under castToType).
    let trees = Interner<Nested.JsonTree>(Nested.JsonTree.Null, HashIdentity.Structural)
    let castTo = match schema.Type with DimensionType.Auto c -> c | _ -> None

    member _.Schema = schema
    member _.IsString = schema.Type = DimensionType.String
    member _.IsNested = schema.Type.IsNested

    /// Encodes a nested value; the string says why it became null, if it did.
    member _.EncodeTree(t: Nested.JsonTree) : struct (int * string) =
        let id (t: Nested.JsonTree) = match t with Nested.JsonTree.Null -> 0 | t -> trees.Id t
        match castTo with
        | None -> struct (id t, null)
        | Some target ->
            match AutoType.coerce target t with
            | Some v -> struct (id v, null)
            | None ->
                struct (0, sprintf "Cannot coerce column [%s] input to requested type [%s]" schema.Name target.ColumnType.DruidName)
    member private _.StringId(s: string) = if isNull s then 0 else values.Id s

    member private this.EncodeStrings(v: Value) : int =
        match v with
        | Value.Null -> 0
        | Value.Array [||] -> 0
        | Value.Array [| single |] -> 2 * this.StringId(Value.toStringOrNull single)
        | Value.Array xs ->
            let strs = xs |> Array.map Value.toStringOrNull
            let strs =
                match schema.MultiValueHandling with
                | MultiValueHandling.Array -> strs
                | MultiValueHandling.SortedArray -> Array.sortWith (fun a b -> String.CompareOrdinal(a, b)) strs
                | MultiValueHandling.SortedSet -> strs |> Array.distinct |> Array.sortWith (fun a b -> String.CompareOrdinal(a, b))
            if strs.Length = 1 then 2 * this.StringId strs.[0]
            else
                2 * combos.Id(strs |> Array.map this.StringId) + 1
        | v -> 2 * this.StringId(Value.toStringOrNull v)

    member private _.NumberId(v: Value) = numbers.Id v

    /// Encodes a row value; the string says why a value became null, if it did.
    member this.Encode(v: Value) : struct (int * string) =
        let convert (f: Value -> Value option) (typeName: string) =
            match v with
            | Value.Null | Value.Array [||] -> struct (0, null)
            | _ ->
                match f v with
                | Some n -> struct (this.NumberId n, null)
                | None -> struct (0, sprintf "Could not convert value [%s] to %s for dimension [%s]" (Value.toStringOrNull v) typeName schema.Name)
        match schema.Type with
        | DimensionType.String -> struct (this.EncodeStrings v, null)
        | DimensionType.Auto _ | DimensionType.Json -> this.EncodeTree(Nested.ofValue v)
        | DimensionType.Long -> convert (Value.toLong >> Option.map Value.Long) "long"
        | DimensionType.Double -> convert (Value.toDouble >> Option.map Value.Double) "double"
        | DimensionType.Float -> convert (Value.toDouble >> Option.map (fun d -> Value.Double(float (float32 d)))) "float"

    /// The values behind a code (strings: one entry per value; numbers: one Value).
    member _.StringsOf(code: int) : string[] =
        if code &&& 1 = 0 then [| values.[code / 2] |] else combos.[code / 2] |> Array.map (fun i -> values.[i])
    member _.NumberOf(code: int) : Value = numbers.[code]

    /// Rank of every code in Druid's dimension order (null first, then ascending), for
    /// sorting rows; codes are the key values seen in `usedCodes`.
    member this.Comparer() : IComparer<int> =
        match schema.Type with
        | DimensionType.String ->
            // Rank single values by sorted dictionary order; combos compare element-wise.
            let order = Array.init values.Count id
            Array.sortInPlaceWith (fun a b -> String.CompareOrdinal(values.[a], values.[b])) order
            let rank = Array.zeroCreate values.Count
            order |> Array.iteri (fun r id -> rank.[id] <- r)
            let ranksOf (code: int) = if code &&& 1 = 0 then [| rank.[code / 2] |] else combos.[code / 2] |> Array.map (fun i -> rank.[i])
            { new IComparer<int> with
                member _.Compare(a, b) =
                    if a = b then 0
                    elif a &&& 1 = 0 && b &&& 1 = 0 then compare rank.[a / 2] rank.[b / 2]
                    else
                        let ra, rb = ranksOf a, ranksOf b
                        let mutable i = 0
                        let mutable c = 0
                        while c = 0 && i < ra.Length && i < rb.Length do
                            c <- compare ra.[i] rb.[i]
                            i <- i + 1
                        if c <> 0 then c else compare ra.Length rb.Length }
        | DimensionType.Auto _ | DimensionType.Json ->
            { new IComparer<int> with
                member _.Compare(a, b) = if a = b then 0 else AutoType.compareTrees trees.[a] trees.[b] }
        | _ ->
            let asDouble (v: Value) = match v with Value.Long l -> float l | Value.Double d -> d | _ -> Double.NegativeInfinity
            { new IComparer<int> with
                member _.Compare(a, b) =
                    if a = b then 0
                    elif a = 0 then -1
                    elif b = 0 then 1
                    else
                        match numbers.[a], numbers.[b] with
                        | Value.Long x, Value.Long y -> compare x y
                        | x, y -> compare (asDouble x) (asDouble y) }

    /// The column for rows whose codes are `codes`, in that order.
    member _.ToColumn(codes: int[]) : ColumnData =
        let n = codes.Length
        match schema.Type with
        | DimensionType.String ->
            let multi = codes |> Array.exists (fun c -> c &&& 1 = 1)
            let dictionary = values.ToArray()
            if multi then
                let rows = codes |> Array.map (fun c -> if c &&& 1 = 0 then (if c = 0 then [| 0 |] else [| c / 2 |]) else combos.[c / 2])
                ColumnData.Strings { Dictionary = dictionary; Ids = Array.zeroCreate n; MultiIds = Some rows; HasBitmapIndex = schema.CreateBitmapIndex }
            else
                ColumnData.Strings { Dictionary = dictionary; Ids = codes |> Array.map (fun c -> c / 2); MultiIds = None; HasBitmapIndex = schema.CreateBitmapIndex }
        | DimensionType.Json -> AutoType.toColumn AutoType.AutoType.Json (codes |> Array.map (fun c -> trees.[c]))
        | DimensionType.Auto(Some target) -> AutoType.toColumn target (codes |> Array.map (fun c -> trees.[c]))
        | DimensionType.Auto None ->
            // The type comes from the values of these rows only (one segment's column);
            // each distinct value is coerced once.
            let used = Array.zeroCreate<bool> trees.Count
            for c in codes do used.[c] <- true
            let types = AutoType.TypeSet()
            for c in 1 .. used.Length - 1 do
                if used.[c] then types.Add trees.[c]
            let target = types.Logical
            let coerced = Array.init trees.Count (fun c -> if used.[c] then defaultArg (AutoType.coerce target trees.[c]) Nested.JsonTree.Null else Nested.JsonTree.Null)
            AutoType.toColumn target (codes |> Array.map (fun c -> coerced.[c]))
        | _ ->
            let hasNull = codes |> Array.exists (fun c -> c = 0)
            let nulls = if hasNull then Some(codes |> Array.map (fun c -> c = 0)) else None
            match schema.Type with
            | DimensionType.Long -> ColumnData.Longs(codes |> Array.map (fun c -> match numbers.[c] with Value.Long l -> l | _ -> 0L), nulls)
            | DimensionType.Float -> ColumnData.Floats(codes |> Array.map (fun c -> match numbers.[c] with Value.Double d -> float32 d | _ -> 0.0f), nulls)
            | _ -> ColumnData.Doubles(codes |> Array.map (fun c -> match numbers.[c] with Value.Double d -> d | _ -> 0.0), nulls)

// ---- the group table -----------------------------------------------------------------------

/// Rollup groups keyed by (time, one code per dimension), stored flat with a stride; an
/// open-addressing table of group ids finds them without allocating per row.
type private GroupTable(initialDims: int, rollup: bool) =
    let mutable dims = initialDims
    let mutable stride = 2 + initialDims
    let mutable keys : int[] = Array.zeroCreate (stride * 1024)
    let mutable count = 0
    let mutable slots : int[] = Array.zeroCreate 2048 // group + 1; 0 = empty

    let hashOf (k: ReadOnlySpan<int>) =
        let mutable h = 0x9E3779B9u
        for i in 0 .. k.Length - 1 do
            h <- (h ^^^ uint32 k.[i]) * 0x01000193u
            h <- h ^^^ (h >>> 15)
        int (h &&& 0x7FFFFFFFu)

    let keySpan (g: int) = ReadOnlySpan<int>(keys, g * stride, stride)

    let rehash (size: int) =
        slots <- Array.zeroCreate size
        let mask = size - 1
        for g in 0 .. count - 1 do
            let mutable s = hashOf (keySpan g) &&& mask
            while slots.[s] <> 0 do s <- (s + 1) &&& mask
            slots.[s] <- g + 1

    member _.Count = count
    member _.Dims = dims
    member _.Time(g: int) = (int64 keys.[g * stride] <<< 32) ||| (int64 (uint32 keys.[g * stride + 1]))
    member _.Code(g: int, d: int) = keys.[g * stride + 2 + d]

    /// Widens every key by one null dimension (a dimension discovered mid-ingestion).
    member _.AddDimension() =
        let newStride = stride + 1
        let newKeys = Array.zeroCreate (max (newStride * 1024) (newStride * (count * 2)))
        for g in 0 .. count - 1 do
            Array.blit keys (g * stride) newKeys (g * newStride) stride
        keys <- newKeys
        stride <- newStride
        dims <- dims + 1
        if rollup then rehash slots.Length

    /// The group of a key given in `scratch` (length = stride), created when new.
    member _.FindOrAdd(scratch: int[]) : int =
        let add () =
            if (count + 1) * stride > keys.Length then
                let bigger = Array.zeroCreate (keys.Length * 2)
                Array.blit keys 0 bigger 0 (count * stride)
                keys <- bigger
            Array.blit scratch 0 keys (count * stride) stride
            count <- count + 1
            count - 1
        let key = ReadOnlySpan<int>(scratch, 0, stride)
        if not rollup then add ()
        else
            if count * 2 >= slots.Length then rehash (slots.Length * 2)
            let mask = slots.Length - 1
            let mutable s = hashOf key &&& mask
            let mutable found = -1
            while found < 0 && slots.[s] <> 0 do
                let g = slots.[s] - 1
                if key.SequenceEqual(keySpan g) then found <- g else s <- (s + 1) &&& mask
            if found >= 0 then found
            else
                let g = add ()
                slots.[s] <- g + 1
                g

    member _.BytesPerGroup = stride * 4 + 8

// ---- the incremental index -----------------------------------------------------------------

/// Input columns that never become discovered dimensions: the timestamp column, the
/// exclusions, and the metrics' names and input fields.
let private excludedFromDiscovery (spec: IngestSpec) =
    let s = HashSet<string>(StringComparer.Ordinal)
    s.Add spec.TimestampSpec.Column |> ignore
    s.Add "__time" |> ignore
    for e in spec.DimensionsSpec.Exclusions do s.Add e |> ignore
    for m in spec.Metrics do
        s.Add(Aggregation.name m) |> ignore
        for f in Aggregation.inputFields m do s.Add f |> ignore
    s

/// Schema discovery (`useSchemaDiscovery`) makes every discovered column `auto`; plain
/// schemaless ingestion makes them strings.
let private discoveredType (spec: IngestSpec) =
    if spec.DimensionsSpec.UseSchemaDiscovery then DimensionType.Auto None else DimensionType.String

/// Rows of one ingestion, rolled up in memory until the host persists a snapshot.
/// A declared non-nested dimension reading a field the parser kept only as a tree (a list
/// holding lists or maps): the scalar form Druid stores for it.
let private nestedAsScalar (row: Input.InputRow) (name: string) : Value =
    match row.NestedOnly |> Array.tryFind (fun (n, _) -> n = name) with
    | Some(_, tree) -> Nested.stringDimensionValue tree
    | None -> Value.Null

type IncrementalIndex(spec: IngestSpec) =
    let gs = spec.GranularitySpec
    let encoders = List<DimensionEncoder>()
    let dimIndex = Dictionary<string, int>(StringComparer.Ordinal)
    let excluded = excludedFromDiscovery spec
    let discover = spec.DimensionsSpec.IsSchemaless
    do
        for d in spec.DimensionsSpec.Dimensions do
            dimIndex.[d.Name] <- encoders.Count
            encoders.Add(DimensionEncoder d)
    let table = GroupTable(encoders.Count, gs.Rollup)
    let accumulators = spec.Metrics |> List.map Aggregation.createAccumulator |> Array.ofList
    let mutable scratch : int[] = Array.zeroCreate (2 + encoders.Count)
    let transforms = spec.TransformSpec.Transforms |> Array.ofList
    let compiledTransforms = transforms |> Array.map (fun t -> Expr.compile t.Expression)
    let rowFilter = spec.TransformSpec.Filter |> Option.map Filter.compile
    let transformValues : Value[] = Array.zeroCreate transforms.Length
    let transformIndex = transforms |> Array.mapi (fun i t -> t.Name, i) |> dict
    let queryBuckets = TimeBuckets.BucketCache gs.QueryGranularity
    let segmentBuckets = TimeBuckets.BucketCache gs.SegmentGranularity
    let intervalOk (t: int64) =
        match gs.Intervals with
        | None -> true
        | Some intervals ->
            let b = { Time.Interval.Start = segmentBuckets.Start t; Time.Interval.End = 0L }
            let b = { b with End = Time.nextBucket gs.SegmentGranularity b.Start }
            intervals |> List.exists (fun i -> i.Overlaps b)

    member private _.AddDimension(schema: DimensionSchema) =
        dimIndex.[schema.Name] <- encoders.Count
        encoders.Add(DimensionEncoder schema)
        table.AddDimension()
        scratch <- Array.zeroCreate (2 + encoders.Count)

    member _.RowCount = table.Count
    member _.Dimensions = encoders |> Seq.map (fun e -> e.Schema) |> List.ofSeq
    member _.EstimatedBytes =
        int64 table.Count * int64 (table.BytesPerGroup + (accumulators |> Array.sumBy (fun a -> a.BytesPerGroup)))

    /// Runs one parsed input row through the pipeline.
    /// The row's parsed timestamp and its time after a `__time` transform, if any.
    /// The row's parsed timestamp and its time after a `__time` transform, if any: the one
    /// place that decides a row's time (an unusable one makes the row unparseable).
    member _.TimeOf(row: Input.InputRow) : Result<struct (int64 * int64), string> =
        match TimestampSpec.extract spec.TimestampSpec (row.Get spec.TimestampSpec.Column) with
        | Error message -> Error message
        | Ok parsed ->
            match transformIndex.TryGetValue "__time" with
            | true, i ->
                let get (name: string) = if name = "__time" then Value.Long parsed else row.Get name
                match (try Ok(compiledTransforms.[i] get) with e -> Error e.Message) with
                | Error problem -> Error(sprintf "Transform [__time] failed: %s" problem)
                | Ok v ->
                    match Value.toLong v with
                    | Some t -> Ok(struct (parsed, t))
                    | None -> Error "Transform [__time] did not produce a timestamp"
            | _ -> Ok(struct (parsed, parsed))

    member this.Add(row: Input.InputRow) : RowOutcome =
        match this.TimeOf row with
        | Error message -> RowOutcome.Unparseable message
        | Ok(struct (parsed, time)) -> this.AddAt(row, parsed, time)

    /// Adds a row whose times `TimeOf` already decided.
    member this.AddAt(row: Input.InputRow, parsedTime: int64, time: int64) : RowOutcome =
        let raw (name: string) = row.Get name
        let mutable failure = null
        if transforms.Length > 0 then
            let rawWithTime (name: string) = if name = "__time" then Value.Long parsedTime else raw name
            for i in 0 .. transforms.Length - 1 do
                transformValues.[i] <-
                    if transforms.[i].Name = "__time" then Value.Long time
                    else
                        try compiledTransforms.[i] rawWithTime
                        with e ->
                            failure <- sprintf "Transform [%s] failed: %s" transforms.[i].Name e.Message
                            Value.Null
        let get (name: string) =
            if name = "__time" then Value.Long time
            elif transforms.Length = 0 then raw name
            else
                match transformIndex.TryGetValue name with
                | true, i -> transformValues.[i]
                | _ -> raw name
        let treeOf (name: string) =
            if name = "__time" then Nested.JsonTree.Long time
            elif transforms.Length = 0 then row.Tree name
            else
                match transformIndex.TryGetValue name with
                | true, i -> Nested.ofValue transformValues.[i]
                | _ -> row.Tree name
        if (match rowFilter with Some matches -> not (matches get) | None -> false) then
            RowOutcome.ThrownAway
        elif not (intervalOk time) then RowOutcome.ThrownAway
        else
            if discover then
                let nestedToo = spec.DimensionsSpec.UseSchemaDiscovery
                for KeyValue(name, v) in row do
                    if not (dimIndex.ContainsKey name) && not (excluded.Contains name) then
                        match v with
                        | Value.Null -> ()
                        | _ -> this.AddDimension { Name = name; Type = discoveredType spec; MultiValueHandling = MultiValueHandling.SortedArray; CreateBitmapIndex = true }
                if nestedToo && not (isNull row.NestedOnly) then
                    for name, _ in row.NestedOnly do
                        if not (dimIndex.ContainsKey name) && not (excluded.Contains name) then
                            this.AddDimension { Name = name; Type = discoveredType spec; MultiValueHandling = MultiValueHandling.SortedArray; CreateBitmapIndex = true }
                for t in transforms do
                    if t.Name <> "__time" && not (dimIndex.ContainsKey t.Name) && not (excluded.Contains t.Name) then
                        this.AddDimension { Name = t.Name; Type = discoveredType spec; MultiValueHandling = MultiValueHandling.SortedArray; CreateBitmapIndex = true }
            let bucket = queryBuckets.Start time
            scratch.[0] <- int (bucket >>> 32)
            scratch.[1] <- int bucket
            for d in 0 .. encoders.Count - 1 do
                let encoder = encoders.[d]
                let struct (code, err) =
                    if encoder.IsNested then encoder.EncodeTree(treeOf encoder.Schema.Name)
                    else
                        match get encoder.Schema.Name with
                        | Value.Null when not (isNull row.NestedOnly) && encoder.Schema.Type = DimensionType.String -> encoder.Encode(nestedAsScalar row encoder.Schema.Name)
                        | v -> encoder.Encode v
                scratch.[2 + d] <- code
                if not (isNull err) && isNull failure then failure <- err
            let g = table.FindOrAdd scratch
            for a in accumulators do a.Add(g, time, get)
            if isNull failure then RowOutcome.Ingested else RowOutcome.IngestedWithError failure

    /// Adds row `row` of an already rolled-up segment content (spill merge, re-indexing).
    /// Adds every row of an already rolled-up content (spill merge, re-indexing). A string
    /// column's values are encoded once per dictionary entry in use, not once per row.
    member internal this.AddContent(content: SegmentContent, sources: Aggregation.IngestAccumulator[]) =
        let dims = content.Dimensions |> List.map (fun (name, column) -> this.EnsureDimension(name, column.Type), column) |> Array.ofList
        let n = content.Times.Length
        let codes =
            dims
            |> Array.map (fun (d, column) ->
                let encoder = encoders.[d]
                let encode (v: Value) = let struct (code, _) = encoder.Encode v in code
                match column with
                | ColumnData.Strings s when s.MultiIds.IsNone ->
                    let remap = Array.create s.Dictionary.Length -1
                    let out = Array.zeroCreate n
                    for row in 0 .. n - 1 do
                        let id = s.Ids.[row]
                        if remap.[id] < 0 then
                            let v = s.Dictionary.[id]
                            remap.[id] <- encode (if isNull v then Value.Null else Value.String v)
                        out.[row] <- remap.[id]
                    out
                | _ when encoder.IsNested ->
                    Array.init n (fun row -> let struct (code, _) = encoder.EncodeTree(AutoType.treeOfCell column row) in code)
                | _ -> Array.init n (fun row -> encode (column.Cell row)))
        for row in 0 .. n - 1 do
            let t = content.Times.[row]
            scratch.[0] <- int (t >>> 32)
            scratch.[1] <- int t
            Array.fill scratch 2 encoders.Count 0
            for k in 0 .. dims.Length - 1 do
                scratch.[2 + fst dims.[k]] <- codes.[k].[row]
            let g = table.FindOrAdd scratch
            for i in 0 .. accumulators.Length - 1 do
                accumulators.[i].Merge(g, sources.[i], row)

    member internal this.EnsureDimension(name: string, columnType: ColumnType) : int =
        match dimIndex.TryGetValue name with
        | true, d -> d
        | _ ->
            let t =
                match columnType with
                | ColumnType.Long -> DimensionType.Long
                | ColumnType.Double -> DimensionType.Double
                | ColumnType.Float -> DimensionType.Float
                | ColumnType.Array _ | ColumnType.Complex ComplexJson.TypeName -> DimensionType.Auto None
                | _ -> DimensionType.String
            this.AddDimension { Name = name; Type = t; MultiValueHandling = MultiValueHandling.Array; CreateBitmapIndex = true }
            dimIndex.[name]

    /// The rolled-up rows, one content per segment-granularity bucket, each sorted by time
    /// then dimension values (Druid's row order).
    member _.Snapshot() : SegmentContent list =
        let n = table.Count
        let comparers = encoders |> Seq.map (fun e -> e.Comparer()) |> Array.ofSeq
        let order = Array.init n id
        let compareDimensions =
            { new IComparer<int> with
                member _.Compare(a, b) =
                    let mutable r = 0
                    let mutable d = 0
                    while r = 0 && d < comparers.Length do
                        r <- comparers.[d].Compare(table.Code(a, d), table.Code(b, d))
                        d <- d + 1
                    if r <> 0 then r else compare a b }
        // Rows sort by time, then dimension values, then group id: a primitive-key sort on
        // time first, then only runs of equal times compare dimension values.
        let times = Array.init n table.Time
        Array.Sort(times, order)
        let mutable start = 0
        while start < n do
            let mutable stop = start + 1
            while stop < n && times.[stop] = times.[start] do stop <- stop + 1
            if stop - start > 1 then Array.Sort(order, start, stop - start, compareDimensions)
            start <- stop
        let metadata = SegmentSpecJson.segmentMetadataJson spec
        // Rows in time order: each segment bucket is one run of them.
        let buckets = List<int64 * int[]>()
        let mutable runStart = 0
        while runStart < n do
            let bucket = segmentBuckets.Start times.[runStart]
            let bucketEnd = Time.nextBucket gs.SegmentGranularity bucket
            let mutable runEnd = runStart + 1
            while runEnd < n && times.[runEnd] < bucketEnd do runEnd <- runEnd + 1
            buckets.Add((bucket, order.[runStart .. runEnd - 1]))
            runStart <- runEnd
        buckets.ToArray()
        |> Array.map (fun (bucketStart, groups) ->
            { Interval = { Start = bucketStart; End = Time.nextBucket gs.SegmentGranularity bucketStart }
              Times = groups |> Array.map table.Time
              // A segment holds only the dimensions that have a value in it, as Druid's do;
              // an auto (nested) dimension is kept even when every row is null, as Druid
              // lists such columns.
              Dimensions =
                  encoders
                  |> Seq.mapi (fun d e -> e, groups |> Array.map (fun g -> table.Code(g, d)))
                  |> Seq.filter (fun (e, codes) -> e.IsNested || codes |> Array.exists (fun c -> c <> 0))
                  |> Seq.map (fun (e, codes) -> e.Schema.Name, e.ToColumn codes)
                  |> List.ofSeq
              Metrics = List.zip spec.Metrics (List.ofArray accumulators) |> List.map (fun (m, a) -> Aggregation.name m, a.ToColumn groups)
              Metadata = metadata })
        |> List.ofArray

/// Best-effort rollup the way Druid's dynamic partitioning does it: rows go to the open
/// segment of their time chunk in arrival order, a segment closes once it holds
/// maxRowsPerSegment rows and every open one closes at maxTotalRows, and rows roll up only
/// within their segment. Segments are identified by a sequence number; persisting hands the
/// host snapshots to keep with that number.
type DynamicSegments(spec: IngestSpec, maxRowsPerSegment: int, maxTotalRows: int64 option) =
    let probe = IncrementalIndex spec
    let openByChunk = Dictionary<int64, int>()
    let indexes = Dictionary<int, IncrementalIndex>()
    let persistedRows = Dictionary<int, int>()
    let closed = List<int * SegmentContent list>()
    let mutable nextKey = 0
    let chunks = TimeBuckets.BucketCache spec.GranularitySpec.SegmentGranularity
    /// rows of the open segments, in memory and persisted (kept as rows come, not summed per row)
    let mutable totalRows = 0L

    let close (key: int) =
        totalRows <- totalRows - int64 indexes.[key].RowCount - int64 persistedRows.[key]
        closed.Add((key, indexes.[key].Snapshot()))
        indexes.Remove key |> ignore
        persistedRows.Remove key |> ignore

    member _.OpenRows = indexes.Values |> Seq.sumBy (fun i -> i.RowCount)
    member _.OpenBytes = indexes.Values |> Seq.sumBy (fun i -> i.EstimatedBytes)

    member _.Add(row: Input.InputRow) : RowOutcome =
        match probe.TimeOf row with
        | Error message -> RowOutcome.Unparseable message
        | Ok(struct (parsed, time)) ->
            let chunk = chunks.Start time
            let key =
                match openByChunk.TryGetValue chunk with
                | true, k when indexes.ContainsKey k -> k
                | _ ->
                    let k = nextKey
                    nextKey <- nextKey + 1
                    openByChunk.[chunk] <- k
                    indexes.[k] <- IncrementalIndex spec
                    persistedRows.[k] <- 0
                    k
            let index = indexes.[key]
            let rowsBefore = index.RowCount
            let outcome = index.AddAt(row, parsed, time)
            totalRows <- totalRows + int64 (index.RowCount - rowsBefore)
            if index.RowCount + persistedRows.[key] >= maxRowsPerSegment then close key
            match maxTotalRows with
            | Some total when totalRows >= total ->
                for k in List.ofSeq indexes.Keys do close k
            | _ -> ()
            outcome

    /// Snapshots of every open segment, which restart empty (the host persists them).
    member _.PersistOpen() : (int * SegmentContent list) list =
        [ for k in List.ofSeq indexes.Keys do
            let index = indexes.[k]
            if index.RowCount > 0 then
                persistedRows.[k] <- persistedRows.[k] + index.RowCount
                yield k, index.Snapshot()
                indexes.[k] <- IncrementalIndex spec ]

    /// Segments closed since the last call, with their in-memory rows.
    member _.TakeClosed() : (int * SegmentContent list) list =
        // Called after every row: nothing to hand over must cost nothing.
        if closed.Count = 0 then []
        else
            let taken = List.ofSeq closed
            closed.Clear()
            taken

    member this.CloseAll() : (int * SegmentContent list) list =
        for k in List.ofSeq indexes.Keys do close k
        this.TakeClosed()

/// Merges contents of the same time chunk (spilled persists, parallel workers) into one,
/// rolling up again when the spec rolls up.
let merge (spec: IngestSpec) (contents: SegmentContent list) : SegmentContent option =
    match contents with
    | [] -> None
    | [ single ] -> Some single
    | _ ->
        let index = IncrementalIndex({ spec with TransformSpec = { Transforms = []; Filter = None } })
        for content in contents do
            let sources =
                spec.Metrics
                |> List.map (fun m ->
                    match content.Metrics |> List.tryFind (fun (n, _) -> n = Aggregation.name m) with
                    | Some(_, col) -> Aggregation.accumulatorOfColumn m col
                    | None -> failwithf "Merged content lacks metric [%s]" (Aggregation.name m))
                |> Array.ofList
            index.AddContent(content, sources)
        index.Snapshot() |> List.tryHead

// ---- from rows to published segments -------------------------------------------------------

/// One worker's row intake, by the spec's partitioning: Druid's dynamic segments (rollup
/// within each segment), or one index for every time chunk when rollup must be perfect
/// (hashed). Snapshots and closed segments carry a key: the dynamic segment's number, or -1.
type Intake(spec: IngestSpec) =
    let dynamicSegments =
        match spec.Tuning.Partitions with
        | PartitionsSpec.Dynamic(maxRows, maxTotal) -> Some(DynamicSegments(spec, maxRows, maxTotal))
        | PartitionsSpec.Hashed _ -> None
    let mutable index = IncrementalIndex spec

    member _.Add(row: Input.InputRow) : RowOutcome =
        match dynamicSegments with
        | Some d -> d.Add row
        | None -> index.Add row

    member _.Rows = match dynamicSegments with Some d -> d.OpenRows | None -> index.RowCount
    member _.Bytes = match dynamicSegments with Some d -> d.OpenBytes | None -> index.EstimatedBytes

    /// Snapshots of what is in memory, which starts over empty (the host persists them).
    member _.Persist() : (int * SegmentContent) list =
        match dynamicSegments with
        | Some d -> d.PersistOpen() |> List.collect (fun (key, contents) -> contents |> List.map (fun c -> key, c))
        | None ->
            let snapshot = index.Snapshot() |> List.map (fun c -> -1, c)
            index <- IncrementalIndex spec
            snapshot

    /// Dynamic segments that closed since the last call.
    member _.TakeClosed() : (int * SegmentContent list) list =
        match dynamicSegments with
        | Some d -> d.TakeClosed()
        | None -> []

    /// Everything still in memory, at the end of the input.
    member _.CloseAll() : (int * SegmentContent list) list =
        match dynamicSegments with
        | Some d -> d.CloseAll()
        | None -> [ -1, index.Snapshot() ]

/// The groups of contents that each merge into one: a dynamic segment's own snapshots, or
/// for hashed partitioning every snapshot of a time chunk from every worker (perfect rollup).
let mergeGroups (spec: IngestSpec) (groups: SegmentContent list list) : SegmentContent list list =
    match spec.Tuning.Partitions with
    | PartitionsSpec.Dynamic _ -> groups
    | PartitionsSpec.Hashed _ ->
        groups |> List.concat |> List.groupBy (fun c -> c.Interval.Start) |> List.sortBy fst |> List.map snd

/// The partitions of each time chunk, in time order, from the merged groups: each dynamic
/// segment is a partition of its chunk; a hashed chunk splits by hash.
let chunkPartitions (spec: IngestSpec) (merged: SegmentContent list) : SegmentContent list list =
    match spec.Tuning.Partitions with
    | PartitionsSpec.Dynamic _ ->
        merged |> List.groupBy (fun c -> c.Interval.Start) |> List.sortBy fst |> List.map snd
    | PartitionsSpec.Hashed _ -> merged |> List.map (partition spec)

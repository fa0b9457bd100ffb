/// Turns merged groups into Druid's result shapes: post-aggregators, timeseries zero-fill,
/// grand totals and limits, topN ordering and thresholds, groupBy having, limit specs and
/// subtotals. Aggregator values print finalized; post-aggregators read intermediate values
/// (`fieldAccess`) or finalized ones (`finalizingFieldAccess`), as in Druid.
module FunctionalDruid.Core.QueryResults

open System
open System.Collections.Generic
open FunctionalDruid.Core
open FunctionalDruid.Core.Query
open FunctionalDruid.Core.GroupingEngine
open FunctionalDruid.Core.GroupMerging
open FunctionalDruid.Core.GroupKeys

let private toOut = QuerySlices.toOut

// ---- post-aggregators ------------------------------------------------------------------------

let private asDouble = KeyValue.asDouble

/// A post-aggregator over a row's intermediate values (`raw`) and finalized values.
let rec compilePost (p: PostAggregator) : (string -> Value) -> (string -> Value) -> Value =
    match p with
    | PostAggregator.FieldAccess(_, f) -> fun raw _ -> raw f
    | PostAggregator.FinalizingFieldAccess(_, f) -> fun _ finalized -> finalized f
    | PostAggregator.HyperUniqueCardinality(_, f, round) ->
        fun raw _ ->
            match asDouble (raw f) with
            | Some d -> if round then Value.Long(Hll.roundEstimate d) else Value.Double d
            | None -> Value.Null
    | PostAggregator.Constant(_, v) -> fun _ _ -> v
    | PostAggregator.Expression(_, e) ->
        let compiled = Expr.compile e
        fun raw _ -> compiled raw
    | PostAggregator.Arithmetic(_, fn, fields) | PostAggregator.OrderedArithmetic(_, fn, fields, _) ->
        let parts = fields |> List.map compilePost |> Array.ofList
        let combine: float -> float -> float =
            match fn with
            | "+" -> (+)
            | "-" -> (-)
            | "*" -> (*)
            | "/" -> fun a b -> if b = 0.0 then 0.0 else a / b
            | "quotient" -> (/)
            | _ -> fun a b -> Math.Pow(a, b)
        fun raw finalized ->
            // SQL-compatible null handling: any null operand makes the result null.
            let values = parts |> Array.map (fun part -> asDouble (part raw finalized))
            if values.Length = 0 || values |> Array.exists Option.isNone then Value.Null
            else Value.Double(values |> Array.map Option.get |> Array.reduce combine)
    | PostAggregator.Greatest(_, asLong, fields) | PostAggregator.Least(_, asLong, fields) ->
        let greatest = match p with PostAggregator.Greatest _ -> true | _ -> false
        let parts = fields |> List.map compilePost |> Array.ofList
        fun raw finalized ->
            let values = parts |> Array.choose (fun part -> asDouble (part raw finalized))
            if values.Length = 0 then Value.Null
            else
                let pick = if greatest then Array.max values else Array.min values
                if asLong then Value.Long(int64 pick) else Value.Double pick

// ---- result rows -------------------------------------------------------------------------------

/// One finished row: bucket, typed dimension values, finalized aggregators and, once asked
/// for (most rows of a limited result never are), post-aggregators.
type private Row = { Bucket: int64; Dims: Value[]; Aggs: Value[]; Raw: Value[]; mutable Posts: Value[] }

/// Builds rows from groups: dims and aggregator values, then post-aggregators in order.
type private RowBuilder(dims: DimensionSpec list, aggs: AggregatorSpec list, posts: PostAggregator list) =
    let dimArr = Array.ofList dims
    let aggArr = Array.ofList aggs
    let postArr = posts |> List.map (fun p -> p.Name, compilePost p) |> Array.ofList
    let names = Dictionary<string, int * int>(StringComparer.Ordinal)
    do
        dimArr |> Array.iteri (fun i d -> names.[d.OutputName] <- (0, i))
        aggArr |> Array.iteri (fun i a -> names.[Aggregation.name a] <- (1, i))
        postArr |> Array.iteri (fun i (n, _) -> names.[n] <- (2, i))
    member _.Dims = dimArr
    member _.Aggs = aggArr
    member _.PostNames = postArr |> Array.map fst
    /// A row from typed dimension values and intermediate aggregator values.
    member _.Build(bucket: int64, typed: Value[], raw: Value[]) : Row =
        let finalized = Array.init aggArr.Length (fun i -> Aggregation.finalize aggArr.[i] raw.[i])
        { Bucket = bucket; Dims = typed; Aggs = finalized; Raw = raw; Posts = (if postArr.Length = 0 then [||] else null) }
    /// The row's post-aggregator values, computed on first use.
    member _.Posts(row: Row) : Value[] =
        if isNull row.Posts then
            let posts = Array.zeroCreate<Value> postArr.Length
            let mutable computed = 0
            let lookup (useRaw: bool) (name: string) =
                match names.TryGetValue name with
                | true, (0, i) -> row.Dims.[i]
                | true, (1, i) -> if useRaw then row.Raw.[i] else row.Aggs.[i]
                | true, (_, i) when i < computed -> posts.[i]
                | _ -> Value.Null
            let rawGet = lookup true
            let finalGet = lookup false
            for i in 0 .. postArr.Length - 1 do
                posts.[i] <- (snd postArr.[i]) rawGet finalGet
                computed <- i + 1
            row.Posts <- posts
        row.Posts
    /// A named value of a finished row (dimension, finalized aggregator or post-aggregator).
    member this.Value(row: Row, name: string) : Value =
        match names.TryGetValue name with
        | true, (0, i) -> row.Dims.[i]
        | true, (1, i) -> row.Aggs.[i]
        | true, (_, i) -> this.Posts(row).[i]
        | _ -> Value.Null
    member _.IsDimension(name: string) = match names.TryGetValue name with | true, (0, _) -> true | _ -> false
    member _.IsPostAggregator(name: string) = match names.TryGetValue name with | true, (2, _) -> true | _ -> false
    /// An ascending comparison of groups of `p` by a limit column, on the stored keys or
    /// states without a value per group, where it orders as the column's values do: a
    /// dimension in its natural order, an aggregator whose final value is its long state.
    member _.TypedGroupCompare (p: Partial) (c: OrderByColumn) : (int -> int -> int) option =
        match names.TryGetValue c.Column with
        | true, (0, i) when c.Ordering = Ordering.StringOrdering.Lexicographic ->
            let column = p.KeyColumns.[i]
            Some(fun a b -> column.CompareAt(a, b))
        | true, (1, i) ->
            match aggArr.[i], p.Aggregators.[i].LongStates() with
            | (AggregatorSpec.HyperUnique _ | AggregatorSpec.Cardinality _), _ -> None
            | _, struct (null, _) -> None
            | _, struct (longs, null) -> Some(fun a b -> compare longs.[a] longs.[b])
            | _, struct (longs, seen) ->
                // Nulls first, as `KeyValue.compare`.
                Some(fun a b ->
                    match seen.[a], seen.[b] with
                    | true, true -> compare longs.[a] longs.[b]
                    | false, false -> 0
                    | false, true -> -1
                    | true, false -> 1)
        | _ -> None
    /// A named dimension or finalized aggregator of a group not made a row (null otherwise).
    member _.GroupValue(p: Partial, group: int, name: string) : Value =
        match names.TryGetValue name with
        | true, (0, i) -> p.KeyColumns.[i].ValueAt group
        | true, (1, i) -> Aggregation.finalize aggArr.[i] (p.Aggregators.[i].Raw group)
        | _ -> Value.Null
    /// The fields of a row: dimensions, aggregators, post-aggregators.
    member this.Fields(row: Row) : (string * Json.Out) list =
        [ for i in 0 .. dimArr.Length - 1 -> dimArr.[i].OutputName, toOut row.Dims.[i] ]
        @ [ for i in 0 .. aggArr.Length - 1 -> Aggregation.name aggArr.[i], toOut row.Aggs.[i] ]
        @ (let posts = this.Posts row in [ for i in 0 .. postArr.Length - 1 -> fst postArr.[i], toOut posts.[i] ])

let private rawValues (p: Partial) (g: int) = p.Aggregators |> Array.map (fun a -> a.Raw g)

let private compareValues = KeyValue.compare

/// Orders groups of `p` by bucket, then key values.
let private groupCompare (p: Partial) (x: int) (y: int) : int =
    let mutable c = compare p.Buckets.[x] p.Buckets.[y]
    let mutable d = 0
    while c = 0 && d < p.KeyColumns.Length do
        c <- p.KeyColumns.[d].CompareAt(x, y)
        d <- d + 1
    c

let private stamp (zone: NodaTime.DateTimeZone) (t: int64) = Json.Out.String(Time.formatInZone zone t)

// ---- timeseries ------------------------------------------------------------------------------

let timeseries (ts: TimeseriesQuery) (p: Partial) : Json.Out =
    let builder = RowBuilder([], ts.Aggregations, ts.PostAggregations)
    let groupOf = Dictionary<int64, int>()
    for g in 0 .. p.Count - 1 do groupOf.[p.Buckets.[g]] <- g
    let empty = ts.Aggregations |> List.map Aggregation.emptyValue |> Array.ofList
    let rowOf (bucket: int64) =
        match groupOf.TryGetValue bucket with
        | true, g -> builder.Build(bucket, [||], rawValues p g)
        | _ -> builder.Build(bucket, [||], empty)
    let zone = Time.granularityZone ts.Granularity
    let rows =
        if ts.Granularity = Time.Granularity.All then
            if p.FirstTime = Int64.MaxValue then []
            else [ Time.formatIso p.FirstTime, rowOf Time.minInstant ]
        else
            let buckets = SortedSet<int64>(Seq.init p.Count (fun g -> p.Buckets.[g]))
            if not ts.SkipEmptyBuckets then
                for b in p.CoveredBuckets do buckets.Add b |> ignore
            [ for b in buckets -> Time.formatInZone zone b, rowOf b ]
    let rows = if ts.Descending then List.rev rows else rows
    let rows = match ts.Limit with Some l -> List.truncate l rows | None -> rows
    let result (r: Row) = Json.Out.Object(builder.Fields r)
    let out = rows |> List.map (fun (t, r) -> Json.Out.Object [ "timestamp", Json.Out.String t; "result", result r ])
    let total =
        if ts.GrandTotal && not rows.IsEmpty then
            let aggs = ts.Aggregations |> List.map (GroupAggregators.create None) |> Array.ofList
            for a in aggs do a.EnsureGroups 1
            for g in 0 .. p.Count - 1 do
                for i in 0 .. aggs.Length - 1 do aggs.[i].MergeFrom(0, p.Aggregators.[i], g)
            let raw = if p.Count = 0 then empty else aggs |> Array.map (fun a -> a.Raw 0)
            [ Json.Out.Object [ "timestamp", Json.Out.Null; "result", result (builder.Build(0L, [||], raw)) ] ]
        else []
    Json.Out.Array(out @ total)

/// The `k` smallest rows under an order (ties in input order), sorted: candidates collect in
/// a buffer of 2k; when it fills it is sorted and cut to k, whose last row then turns away
/// every later row not smaller. A LIMIT over many groups costs about a scan, and no row is
/// ever shifted (an insertion-sorted buffer of 1,010 groups spent most of an OFFSET 1000
/// query moving them).
let private smallestSorted (compare: 'r -> 'r -> int) (k: int) (rows: 'r[]) : 'r[] =
    if k <= 0 then [||] else
    // Row indexes, ordered by row and then by index: the order is total, the cut stable.
    let byRow = ComparisonIdentity.FromFunction(fun (a: int) (b: int) ->
        let c = compare rows.[a] rows.[b]
        if c <> 0 then c else a.CompareTo b)
    let capacity = min rows.Length (2 * k)
    let buffer = Array.zeroCreate<int> capacity
    let mutable count = 0
    let mutable bound = -1 // the k-th smallest so far, once the buffer was first cut
    let cut () =
        Array.Sort(buffer, 0, count, byRow)
        count <- k
        bound <- buffer.[k - 1]
    for i in 0 .. rows.Length - 1 do
        if bound < 0 || compare rows.[i] rows.[bound] < 0 then
            if count = capacity then cut ()
            // A later row that ties the bound loses to it (input order).
            if bound < 0 || compare rows.[i] rows.[bound] < 0 then
                buffer.[count] <- i
                count <- count + 1
    Array.Sort(buffer, 0, count, byRow)
    Array.init (min k count) (fun j -> rows.[buffer.[j]])

// ---- topN ------------------------------------------------------------------------------------

let topN (t: TopNQuery) (p: Partial) : Json.Out =
    let builder = RowBuilder([ t.Dimension ], t.Aggregations, t.PostAggregations)
    // Each bucket's top rows among items (rows, or groups not yet made rows) read through
    // `valueOf` (a named metric) and `dimOf`; `rowOf` makes the kept items rows.
    let topRows (items: 'a[]) (bucketOf: 'a -> int64) (valueOf: 'a -> string -> Value) (dimOf: 'a -> Value) (rowOf: 'a -> Row) =
        let rec comparer (m: TopNMetric) : 'a -> 'a -> int =
            match m with
            | TopNMetric.Numeric name ->
                // Largest first; nulls last; ties by dimension value.
                fun a b ->
                    let c = compareValues (valueOf b name) (valueOf a name)
                    if c <> 0 then c else compareValues (dimOf a) (dimOf b)
            | TopNMetric.Inverted inner ->
                let c = comparer inner
                fun a b -> c b a
            | TopNMetric.Dimension(ordering, _) ->
                fun a b -> Ordering.compareWith ordering (Value.toStringOrNull (dimOf a)) (Value.toStringOrNull (dimOf b))
        let keep =
            match t.Metric with
            | TopNMetric.Dimension(ordering, Some stop) | TopNMetric.Inverted(TopNMetric.Dimension(ordering, Some stop)) ->
                let inverted = match t.Metric with TopNMetric.Inverted _ -> true | _ -> false
                fun item ->
                    let c = Ordering.compareWith ordering (Value.toStringOrNull (dimOf item)) stop
                    if inverted then c < 0 else c > 0
            | _ -> fun _ -> true
        // Ties order by the dimension value, unique per bucket: the order is total.
        let compare = comparer t.Metric
        items |> Array.filter keep |> Array.groupBy bucketOf |> Array.sortBy fst
        |> Array.map (fun (bucket, group) ->
            let top =
                if t.Threshold < group.Length / 4 then smallestSorted compare t.Threshold group
                else group |> Array.sortWith compare |> Array.truncate t.Threshold
            bucket, Array.map rowOf top)
    let zone = Time.granularityZone t.Granularity
    let build (i: int) = builder.Build(p.Buckets.[i], p.KeyValues i, rawValues p i)
    let rec metricName (m: TopNMetric) =
        match m with
        | TopNMetric.Numeric name -> Some name
        | TopNMetric.Inverted inner -> metricName inner
        | TopNMetric.Dimension _ -> None
    let byBucket =
        match metricName t.Metric with
        | Some name when builder.IsPostAggregator name ->
            topRows (Array.init p.Count build) (fun r -> r.Bucket) (fun r n -> builder.Value(r, n)) (fun r -> r.Dims.[0]) id
        | name ->
            // Only the metric is read for every group; rows are made for the groups kept.
            let metric =
                match name with
                | Some name -> Array.init p.Count (fun i -> builder.GroupValue(p, i, name))
                | None -> [||]
            let dimension = Array.init p.Count p.KeyColumns.[0].ValueAt
            topRows (Array.init p.Count id) (fun i -> p.Buckets.[i]) (fun i _ -> metric.[i]) (fun i -> dimension.[i]) build
    Json.Out.Array
        [ for (bucket, top) in byBucket ->
            let timestamp = if t.Granularity = Time.Granularity.All then Json.Out.String(Time.formatIso p.FirstTime) else stamp zone bucket
            Json.Out.Object [ "timestamp", timestamp; "result", Json.Out.Array [ for r in top -> Json.Out.Object(builder.Fields r) ] ] ]

// ---- groupBy ---------------------------------------------------------------------------------

let rec private havingHolds (builder: RowBuilder) (h: Having) (row: Row) : bool =
    let number name = asDouble (builder.Value(row, name))
    let target v = (asDouble v).Value
    match h with
    | Having.Always -> true
    | Having.GreaterThan(name, v) -> match number name with Some x -> x > target v | None -> false
    | Having.LessThan(name, v) -> match number name with Some x -> x < target v | None -> false
    | Having.EqualTo(name, v) -> match number name with Some x -> x = target v | None -> false
    | Having.DimSelector(dim, value) -> String.Equals(Value.toStringOrNull (builder.Value(row, dim)), Option.toObj value)
    | Having.Filter f -> Filter.matchesRow (fun name -> builder.Value(row, name)) f
    | Having.And hs -> hs |> List.forall (fun x -> havingHolds builder x row)
    | Having.Or hs -> hs |> List.exists (fun x -> havingHolds builder x row)
    | Having.Not x -> not (havingHolds builder x row)

/// A groupBy's result order over items (rows, or groups not yet made rows), read through
/// `bucketOf`, `valueOf` (a named output) and `dimCompare` (bucket, then dimension values):
/// the dimension order, which is total within a bucket, and the limit spec's column order
/// when it has columns.
let private resultOrder (q: NativeQuery) (g: GroupByQuery) (builder: RowBuilder)
                        (bucketOf: 'a -> int64) (valueOf: 'a -> string -> Value) (dimCompare: 'a -> 'a -> int)
                        (typedCompare: OrderByColumn -> ('a -> 'a -> int) option) =
    let sortByDimsFirst = match q.ContextValue "sortByDimsFirst" with Some v -> v.Trim().ToLowerInvariant() = "true" | None -> false
    let byLimitColumns =
        match g.LimitSpec with
        | Some l when not l.Columns.IsEmpty ->
            let columnCompare (c: OrderByColumn) : 'a -> 'a -> int =
                match typedCompare c with
                | Some ascending -> if c.Descending then fun a b -> ascending b a else ascending
                | None ->
                fun a b ->
                    let va, vb = valueOf a c.Column, valueOf b c.Column
                    let r =
                        if builder.IsDimension c.Column && c.Ordering <> Ordering.StringOrdering.Lexicographic then
                            Ordering.compareWith c.Ordering (Value.toStringOrNull va) (Value.toStringOrNull vb)
                        else compareValues va vb
                    if c.Descending then -r else r
            let columns = l.Columns |> List.map columnCompare
            let byColumns (a: 'a) (b: 'a) =
                let mutable r = 0
                let mutable rest = columns
                while r = 0 && not rest.IsEmpty do
                    r <- rest.Head a b
                    rest <- rest.Tail
                r
            let full (a: 'a) (b: 'a) =
                if sortByDimsFirst then (let r = byColumns a b in if r <> 0 then r else compare (bucketOf a) (bucketOf b))
                else (let r = compare (bucketOf a) (bucketOf b) in if r <> 0 then r else byColumns a b)
            Some full
        | _ -> None
    // Groups are unique per bucket, so the limit columns then the dimensions order them
    // totally: a top-k selection gives the same rows as a stable full sort.
    let total =
        match byLimitColumns with
        | Some full -> fun a b -> (let r = full a b in if r <> 0 then r else dimCompare a b)
        | None -> dimCompare
    dimCompare, byLimitColumns, total

/// The groups of `p` that a groupBy's limit keeps (offset included), in result order, chosen
/// by reading only the ordering columns of every group (rows are made for the groups kept);
/// None without a limit, with a having, or with a post-aggregator among the ordering columns.
let private limitedGroups (q: NativeQuery) (g: GroupByQuery) (builder: RowBuilder) (p: Partial) : int[] option =
    match g.Having, g.LimitSpec with
    | None, Some({ Limit = Some n } as l) when l.Columns |> List.forall (fun c -> not (builder.IsPostAggregator c.Column)) ->
        let typed = builder.TypedGroupCompare p
        let columnValues = Dictionary<string, Value[]>(StringComparer.Ordinal)
        for c in l.Columns do
            if not (columnValues.ContainsKey c.Column) && (typed c).IsNone then
                columnValues.[c.Column] <- Array.init p.Count (fun i -> builder.GroupValue(p, i, c.Column))
        let _, _, total =
            resultOrder q g builder (fun (i: int) -> p.Buckets.[i]) (fun i name -> columnValues.[name].[i]) (groupCompare p) typed
        Some(smallestSorted total (l.Offset + n) (Array.init p.Count id))
    | _ -> None

/// For a topN or groupBy of granularity `all` whose result is the first k groups by a count
/// (a `count` aggregator, filtered or not), descending: that aggregator's index and k (topN's
/// threshold; a groupBy's offset + limit, its limit ordered first by the count). Counts are
/// never negative, which is what lets the merge skip groups that cannot reach the first k
/// (`Engine`).
let countOrderedTop (q: NativeQuery) : (int * int) option =
    let rec isCount (spec: AggregatorSpec) =
        match spec with
        | AggregatorSpec.Count _ -> true
        | AggregatorSpec.Filtered(_, _, inner) -> isCount inner
        | _ -> false
    let countIndex (aggregations: AggregatorSpec list) (dimensions: DimensionSpec list) (posts: PostAggregator list) (name: string) =
        let shadowed = dimensions |> List.exists (fun d -> d.OutputName = name) || posts |> List.exists (fun p -> p.Name = name)
        match [ for i, a in List.indexed aggregations do if Aggregation.name a = name then yield i ] with
        | [ i ] when not shadowed && isCount aggregations.[i] -> Some i
        | _ -> None
    match q.Kind with
    | QueryKind.TopN({ Granularity = Time.Granularity.All; Metric = TopNMetric.Numeric name } as t) when t.Threshold > 0 ->
        countIndex t.Aggregations [ t.Dimension ] t.PostAggregations name |> Option.map (fun i -> i, t.Threshold)
    | QueryKind.GroupBy({ Granularity = Time.Granularity.All; SubtotalsSpec = None; Having = None
                          LimitSpec = Some { Limit = Some n; Offset = offset; Columns = first :: _ } } as g) when first.Descending && n > 0 ->
        countIndex g.Aggregations g.Dimensions g.PostAggregations first.Column
        |> Option.filter (fun _ -> int64 offset + int64 n < int64 Int32.MaxValue)
        |> Option.map (fun i -> i, offset + n)
    | _ -> None

/// For a groupBy whose limit keeps few of many groups, the groups of any part of the merged
/// groups (ascending; None: all) that can be in the result: under the result's total order,
/// the first groups of the whole are among the first groups of its parts.
let groupsTheLimitKeeps (q: NativeQuery) : Partial -> int[] option =
    match q.Kind with
    | QueryKind.GroupBy({ SubtotalsSpec = None; LimitSpec = Some { Limit = Some n; Offset = offset } } as g) ->
        let builder = RowBuilder(g.Dimensions, g.Aggregations, g.PostAggregations)
        fun p ->
            // Worth choosing only where most groups go (a large offset keeps many of each part).
            if (int64 offset + int64 n) * 4L >= int64 p.Count then None
            else limitedGroups q g builder p |> Option.map Array.sort
    | _ -> fun _ -> None

/// Having, ordering, offset and limit over one set of groups.
let private finishGroups (q: NativeQuery) (g: GroupByQuery) (builder: RowBuilder) (p: Partial) : Row list =
    let build (i: int) = builder.Build(p.Buckets.[i], p.KeyValues i, rawValues p i)
    let fewOfMany =
        match g.LimitSpec with
        | Some({ Limit = Some n } as l) when int64 l.Offset + int64 n < int64 p.Count / 4L ->
            limitedGroups q g builder p |> Option.map (Array.skip (min l.Offset p.Count))
        | _ -> None
    match fewOfMany with
    | Some kept -> kept |> Array.map build |> List.ofArray
    | None ->
    let rows = Array.init p.Count build
    let rows = match g.Having with Some h -> rows |> Array.filter (havingHolds builder h) | None -> rows
    let dimCompare, byLimitColumns, total =
        let byBucketThenDimensions (a: Row) (b: Row) =
            let mutable c = compare a.Bucket b.Bucket
            let mutable i = 0
            while c = 0 && i < a.Dims.Length do
                c <- compareValues a.Dims.[i] b.Dims.[i]
                i <- i + 1
            c
        resultOrder q g builder (fun (r: Row) -> r.Bucket) (fun r name -> builder.Value(r, name)) byBucketThenDimensions (fun _ -> None)
    match g.LimitSpec with
    | Some({ Limit = Some n } as l) when int64 l.Offset + int64 n < int64 rows.Length / 4L ->
        smallestSorted total (l.Offset + n) rows |> Array.skip (min l.Offset rows.Length) |> List.ofArray
    | _ ->
    let natural = Array.sortWith dimCompare rows
    let ordered =
        match byLimitColumns with
        | Some full -> List.sortWith full (List.ofArray natural)
        | None -> List.ofArray natural
    match g.LimitSpec with
    | Some l ->
        let skipped = if l.Offset >= ordered.Length then [] else List.skip l.Offset ordered
        match l.Limit with Some n -> List.truncate n skipped | None -> skipped
    | None -> ordered

let groupBy (q: NativeQuery) (g: GroupByQuery) (plan: Plan) (p: Partial) : Json.Out =
    let builder = RowBuilder(g.Dimensions, g.Aggregations, g.PostAggregations)
    let zone = Time.granularityZone g.Granularity
    let allStamp =
        match q.Intervals |> List.sortBy (fun i -> i.Start) with
        | first :: _ -> Time.formatIso first.Start
        | [] -> Time.formatIso Time.minInstant
    let event (r: Row) =
        Json.Out.Object
            [ "version", Json.Out.String "v1"
              "timestamp", (if g.Granularity = Time.Granularity.All then Json.Out.String allStamp else stamp zone r.Bucket)
              "event", Json.Out.Object(builder.Fields r) ]
    match g.SubtotalsSpec with
    | None -> Json.Out.Array(finishGroups q g builder p |> List.map event)
    | Some subtotals ->
        let outputs = g.Dimensions |> List.map (fun d -> d.OutputName) |> Array.ofList
        Json.Out.Array
            [ for subset in subtotals do
                // Dimensions left out of the subtotal are null, so their groups merge.
                let columns =
                    outputs |> Array.mapi (fun d o ->
                        if List.contains o subset then p.KeyColumns.[d] else ValueKeys(Array.create p.Count Value.Null) :> KeyColumn)
                let m = Merger(plan)
                m.Add { p with KeyColumns = columns; Hashes = hashesOf p.Buckets columns p.Count; CoveredBuckets = [||] }
                yield! finishGroups q g builder (m.Result()) |> List.map event ]

/// A groupBy's output names in result order: dimensions, aggregators, post-aggregators.
let private fieldNamesOf (g: GroupByQuery) =
    [| for d in g.Dimensions -> d.OutputName
       for a in g.Aggregations -> Aggregation.name a
       for p in g.PostAggregations -> p.Name |]

/// Whether a groupBy's content is its groups as they are (no having, post-aggregators,
/// limit or order, no output name twice): then any part of the groups is a part of the content.
let isPlainContent (g: GroupByQuery) =
    let fieldNames = fieldNamesOf g
    g.Having.IsNone && g.PostAggregations.IsEmpty && Array.distinct fieldNames = fieldNames
    && (match g.LimitSpec with None -> true | Some l -> l.Limit.IsNone && l.Columns.IsEmpty && l.Offset = 0)

/// A groupBy's result rows as segment content, the way a query data source reads them: the
/// same rows, columns and times as the JSON result read back, without building the JSON (a
/// subquery's result of a million groups would otherwise travel through text). Unless
/// `ordered`, rows of one time may come in any order (the reader aggregates them anyway).
let groupByContent (ordered: bool) (q: NativeQuery) (g: GroupByQuery) (p: Partial) : SegmentContent =
    let builder = RowBuilder(g.Dimensions, g.Aggregations, g.PostAggregations)
    let zone = Time.granularityZone g.Granularity
    let readBack (stamp: string) = defaultArg (Time.tryParseInstant stamp) 0L
    let allTime =
        match q.Intervals |> List.sortBy (fun i -> i.Start) with
        | first :: _ -> readBack (Time.formatIso first.Start)
        | [] -> readBack (Time.formatIso Time.minInstant)
    let timeOfBucket = Dictionary<int64, int64>()
    let timeOf (bucket: int64) =
        if g.Granularity = Time.Granularity.All then allTime
        else
            match timeOfBucket.TryGetValue bucket with
            | true, t -> t
            | _ ->
                let t = readBack (Time.formatInZone zone bucket)
                timeOfBucket.[bucket] <- t
                t
    let rec plain (v: Value) =
        match v with
        | Value.String null -> Value.Null
        | Value.Array xs -> Value.Array(Array.map plain xs)
        | other -> other
    let fieldNames = fieldNamesOf g
    if isPlainContent g then
        // Groups in the result's order (time bucket, then dimensions), read column by column
        // straight from the keys and aggregator states: no result rows are built.
        let order = Array.init p.Count id
        let byBucketThenDimensions (x: int) (y: int) = let c = groupCompare p x y in if c <> 0 then c else compare x y
        if ordered || g.Granularity <> Time.Granularity.All then Array.Sort(order, Comparison byBucketThenDimensions)
        // Typed keys and plain number states become columns directly; other values are read
        // into columns of the type they suggest, as when the JSON result is read back.
        let built (name: string) (typed: ColumnData option) (valueAt: int -> Value) =
            match typed with
            | Some column -> name, column
            | None -> name, QuerySlices.columnOfValues (order |> Array.map (fun i -> plain (valueAt i)))
        let dimensionColumns =
            builder.Dims |> Array.mapi (fun d spec ->
                let keys = p.KeyColumns.[d]
                built spec.OutputName (keys.ColumnOf order) keys.ValueAt)
        let aggregatorColumns =
            builder.Aggs |> Array.mapi (fun a spec ->
                let state = p.Aggregators.[a]
                let rec finalizedAsIs (spec: AggregatorSpec) =
                    match spec with
                    | AggregatorSpec.Count _ | AggregatorSpec.Numeric _ -> true
                    | AggregatorSpec.Filtered(_, _, inner) -> finalizedAsIs inner
                    | _ -> false
                built (Aggregation.name spec) (if finalizedAsIs spec then state.ColumnOf order else None) (fun i -> Aggregation.finalize spec (state.Raw i)))
        let columns = if p.Count = 0 then [] else List.ofArray (Array.append dimensionColumns aggregatorColumns)
        QuerySlices.contentOfBuiltColumns columns (order |> Array.map (fun i -> timeOf p.Buckets.[i]))
    else
    let rows = finishGroups q g builder p |> Array.ofList
    // Later fields of the same name win, as when the JSON object is read back.
    let names = if rows.Length = 0 then [||] else Array.distinct fieldNames
    let slotOf = fieldNames |> Array.map (fun n -> Array.IndexOf(names, n))
    let cells =
        rows |> Array.map (fun r ->
            let cell = Array.create names.Length Value.Null
            let dims, aggs = r.Dims.Length, r.Aggs.Length
            for i in 0 .. dims - 1 do cell.[slotOf.[i]] <- plain r.Dims.[i]
            for i in 0 .. aggs - 1 do cell.[slotOf.[dims + i]] <- plain r.Aggs.[i]
            let posts = builder.Posts r
            for i in 0 .. posts.Length - 1 do cell.[slotOf.[dims + aggs + i]] <- plain posts.[i]
            cell)
    QuerySlices.contentOfRows [ for n in names -> n, None ] (rows |> Array.map (fun r -> timeOf r.Bucket)) cells

// ---- planning --------------------------------------------------------------------------------

/// The grouping plan of a timeseries, topN or groupBy query.
let plan (q: NativeQuery) : Plan option =
    let make granularity dims aggs zeroFill =
        Some
            { Granularity = granularity
              Dimensions = Array.ofList dims
              Aggregations = Array.ofList aggs
              Filter = q.Filter
              VirtualColumns = q.VirtualColumns
              Intervals = q.Intervals |> List.sortBy (fun i -> i.Start) |> List.fold (fun (acc: Time.Interval list) i ->
                              match acc with
                              | last :: rest when i.Start <= last.End -> { last with End = max last.End i.End } :: rest
                              | _ -> i :: acc) [] |> List.rev
              ZeroFill = zeroFill
              Tables = GroupKeys.LongTupleIndexes() }
    match q.Kind with
    | QueryKind.Timeseries ts -> make ts.Granularity [] ts.Aggregations (not ts.SkipEmptyBuckets)
    | QueryKind.TopN t -> make t.Granularity [ t.Dimension ] t.Aggregations false
    | QueryKind.GroupBy g -> make g.Granularity g.Dimensions g.Aggregations false
    | _ -> None

/// The result of a timeseries, topN or groupBy query from its merged groups.
let finish (q: NativeQuery) (plan: Plan) (p: Partial) : Json.Out =
    match q.Kind with
    | QueryKind.Timeseries ts -> timeseries ts p
    | QueryKind.TopN t -> topN t p
    | QueryKind.GroupBy g -> groupBy q g plan p
    | other -> invalidArg "q" (sprintf "not an aggregating query: %A" other)

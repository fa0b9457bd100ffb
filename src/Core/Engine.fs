/// Runs native queries over the visible parts of segments and prints results in Druid's
/// shapes. Each segment arrives decoded into columns (`SegmentContent`) together with the part
/// of its interval the timeline lets it serve.
module FunctionalDruid.Core.Engine

open System
open System.Collections.Generic
open FunctionalDruid.Core
open FunctionalDruid.Core.Query

/// One segment as the engine sees it (declared with the shared slice helpers).
type SegmentSlice = QuerySlices.SegmentSlice

let condense = QuerySlices.condense

/// First row index with time >= t.
let private lowerBound (times: int64[]) (t: int64) =
    let mutable lo = 0
    let mutable hi = times.Length
    while lo < hi do
        let mid = (lo + hi) >>> 1
        if times.[mid] < t then lo <- mid + 1 else hi <- mid
    lo

/// Row ranges [lo, hi) of a slice that fall inside the query intervals and its served part.
let private rowRanges (slice: SegmentSlice) (intervals: Time.Interval list) =
    [ for i in intervals do
        let s = max i.Start slice.Serves.Start
        let e = min i.End slice.Serves.End
        if s < e then
            let lo = lowerBound slice.Content.Times s
            let hi = lowerBound slice.Content.Times e
            if lo < hi then yield s, e, lo, hi ]

/// Column lookup for one slice; `__time` is the row's timestamp.
type private Columns(content: SegmentContent) =
    let byName = Dictionary<string, ColumnData>(StringComparer.Ordinal)
    do
        for (n, c) in content.Dimensions @ content.Metrics do byName.[n] <- c
    member _.Cell(name: string, row: int) : Value =
        if name = "__time" then Value.Long content.Times.[row]
        else
            match byName.TryGetValue name with
            | true, c -> c.Cell row
            | _ -> Value.Null
    member _.Has(name: string) = name = "__time" || byName.ContainsKey name

/// The row filter of a slice: a dictionary-level predicate for one-column string filters
/// (evaluated once per dictionary value), row-by-row evaluation otherwise.
let private rowMatcher (filter: Filter.Filter option) (content: SegmentContent) (columns: Columns) : int -> bool =
    match filter with
    | None -> fun _ -> true
    | Some f ->
        let column =
            match Filter.singleColumnPredicate f with
            | Some(name, predicate) ->
                (content.Dimensions |> List.tryFind (fun (n, _) -> n = name))
                |> Option.bind (fun (_, c) ->
                    match c with
                    | ColumnData.Strings s when s.MultiIds.IsNone ->
                        let ok = s.Dictionary |> Array.map (fun v -> predicate (if isNull v then Value.Null else Value.String v))
                        Some(fun row -> ok.[s.Ids.[row]])
                    | _ -> None)
            | None -> None
        match column with
        | Some m -> m
        | None -> fun row -> Filter.matchesRow (fun name -> columns.Cell(name, row)) f

let rec private toOut (v: Value) : Json.Out =
    match v with
    | Value.Null -> Json.Out.Null
    | Value.Long l -> Json.Out.Long l
    | Value.Double d -> Json.Out.Double d
    | Value.String s -> Json.Out.String s
    | Value.Array xs -> Json.Out.Array(xs |> Array.map toOut |> List.ofArray)

// ---- post-aggregators -----------------------------------------------------------------------

let private asDouble (v: Value) : float option =
    match v with
    | Value.Long l -> Some(float l)
    | Value.Double d -> Some d
    | Value.String s -> Value.parseDoubleText s
    | _ -> None

/// A post-aggregator as a function of the row's values so far (aggregators, then earlier
/// post-aggregators by name).
let rec private compilePost (p: PostAggregator) : (string -> Value) -> Value =
    match p with
    | PostAggregator.FieldAccess(_, f) | PostAggregator.FinalizingFieldAccess(_, f) | PostAggregator.HyperUniqueCardinality(_, f, _) -> fun get -> get f
    | PostAggregator.Constant(_, v) -> fun _ -> v
    | PostAggregator.Expression(_, e) -> Expr.compile e
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
        fun get ->
            // SQL-compatible null handling: any null operand makes the result null.
            let values = parts |> Array.map (fun part -> asDouble (part get))
            if values.Length = 0 || values |> Array.exists Option.isNone then Value.Null
            else Value.Double(values |> Array.map Option.get |> Array.reduce combine)
    | PostAggregator.Greatest(_, asLong, fields) | PostAggregator.Least(_, asLong, fields) ->
        let greatest = match p with PostAggregator.Greatest _ -> true | _ -> false
        let parts = fields |> List.map compilePost |> Array.ofList
        fun get ->
            let values = parts |> Array.choose (fun part -> asDouble (part get))
            if values.Length = 0 then Value.Null
            else
                let pick = if greatest then Array.max values else Array.min values
                if asLong then Value.Long(int64 pick) else Value.Double pick

let private compilePostAggregations (posts: PostAggregator list) =
    posts |> List.map (fun p -> p.Name, compilePost p)

/// Appends the post-aggregator values to a row of aggregator values, in order.
let private withPostAggregations (posts: (string * ((string -> Value) -> Value)) list) (aggregated: (string * Value) list) =
    if posts.IsEmpty then aggregated
    else
        let values = Dictionary<string, Value>(StringComparer.Ordinal)
        for (k, v) in aggregated do values.[k] <- v
        let get (name: string) = match values.TryGetValue name with | true, v -> v | _ -> Value.Null
        aggregated
        @ [ for (name, f) in posts ->
                let v = f get
                values.[name] <- v
                name, v ]

// ---- timeseries ----------------------------------------------------------------------------

let private timeseries (q: NativeQuery) (ts: TimeseriesQuery) (slices: SegmentSlice list) : Json.Out =
    let intervals = condense q.Intervals
    let groups = Dictionary<int64, int>()
    let accumulators = ts.Aggregations |> List.map Aggregation.createAccumulator |> Array.ofList
    let allBuckets = SortedSet<int64>()
    let mutable earliestRow = Int64.MaxValue
    for slice in slices do
        let columns = Columns slice.Content
        let matches = rowMatcher q.Filter slice.Content columns
        let times = slice.Content.Times
        for (s, e, lo, hi) in rowRanges slice intervals do
            if ts.Granularity = Time.Granularity.All then earliestRow <- min earliestRow times.[lo]
            else
                for b in Time.bucketsOf ts.Granularity { Start = s; End = e } do allBuckets.Add b.Start |> ignore
            for row in lo .. hi - 1 do
                if matches row then
                    let bucket = if ts.Granularity = Time.Granularity.All then 0L else Time.bucketStart ts.Granularity times.[row]
                    let g =
                        match groups.TryGetValue bucket with
                        | true, g -> g
                        | _ ->
                            let g = groups.Count
                            groups.[bucket] <- g
                            g
                    let get name = columns.Cell(name, row)
                    for a in accumulators do a.Add(g, times.[row], get)
    let zone = Time.granularityZone ts.Granularity
    let posts = compilePostAggregations ts.PostAggregations
    let resultOf (bucket: int64) =
        let aggregated =
            match groups.TryGetValue bucket with
            | true, g ->
                List.zip ts.Aggregations (List.ofArray accumulators) |> List.map (fun (spec: AggregatorSpec, a: Aggregation.IngestAccumulator) -> Aggregation.name spec, Aggregation.resultOf spec (a.ToColumn [| g |]))
            | _ -> ts.Aggregations |> List.map (fun spec -> Aggregation.name spec, Aggregation.emptyValue spec)
        Json.Out.Object(withPostAggregations posts aggregated |> List.map (fun (name, v) -> name, toOut v))
    let rows =
        if ts.Granularity = Time.Granularity.All then
            if earliestRow = Int64.MaxValue then []
            else [ Time.formatIso earliestRow, resultOf 0L ]
        else
            [ for b in allBuckets do
                if not ts.SkipEmptyBuckets || groups.ContainsKey b then
                    yield Time.formatInZone zone b, resultOf b ]
    let rows = if ts.Descending then List.rev rows else rows
    Json.Out.Array(rows |> List.map (fun (t, r) -> Json.Out.Object [ "timestamp", Json.Out.String t; "result", r ]))

/// Runs a query over the slices the timeline made visible for its intervals, with the
/// run's cancellation and per-segment runner.
let runWith (ctx: QuerySlices.RunContext) (q: NativeQuery) (slices: SegmentSlice list) : Json.Out =
    match q.Kind with
    | QueryKind.Timeseries ts -> timeseries q ts slices
    | QueryKind.Scan sq -> ScanEngine.run ctx q sq slices
    | QueryKind.Search spec -> SearchEngine.run ctx q spec slices
    | QueryKind.TimeBoundary b -> MetadataEngine.timeBoundary ctx q b slices
    | QueryKind.SegmentMetadata smq -> MetadataEngine.segmentMetadata ctx q smq slices
    | QueryKind.DataSourceMetadata -> MetadataEngine.dataSourceMetadata slices
    | other -> raise (NotSupportedException(sprintf "Query kind %A is not supported yet" other))

/// Runs a query in order on the calling thread, without cancellation.
let run (q: NativeQuery) (slices: SegmentSlice list) : Json.Out = runWith QuerySlices.sequential q slices

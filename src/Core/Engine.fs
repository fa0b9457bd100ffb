/// Runs native queries over the visible parts of segments and prints results in Druid's
/// shapes. Each segment arrives decoded into columns (`SegmentContent`) together with the part
/// of its interval the timeline lets it serve.
module FunctionalDruid.Core.Engine

open System
open System.Collections.Generic
open FunctionalDruid.Core
open FunctionalDruid.Core.Query

/// One segment as the engine sees it: its id, its rows and the interval it serves.
type SegmentSlice = { Id: string; Content: SegmentContent; Serves: Time.Interval }

/// Sorted, merged query intervals (Druid condenses overlapping ones before running).
let condense (intervals: Time.Interval list) : Time.Interval list =
    intervals
    |> List.sortBy (fun i -> i.Start)
    |> List.fold (fun (acc: Time.Interval list) (i: Time.Interval) ->
        match acc with
        | last :: rest when i.Start <= last.End -> { last with Time.Interval.End = max last.End i.End } :: rest
        | _ -> i :: acc) []
    |> List.rev

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

// ---- scan ----------------------------------------------------------------------------------

let private scan (q: NativeQuery) (sq: ScanQuery) (slices: SegmentSlice list) : Json.Out =
    let intervals = condense q.Intervals
    let picked = List<struct (int * int)>()
    let sliceArr = slices |> Array.ofList
    let columnsOf = sliceArr |> Array.map (fun s -> Columns s.Content)
    for si in 0 .. sliceArr.Length - 1 do
        let slice = sliceArr.[si]
        let matches = rowMatcher q.Filter slice.Content columnsOf.[si]
        for (_, _, lo, hi) in rowRanges slice intervals do
            for row in lo .. hi - 1 do
                if matches row then picked.Add(struct (si, row))
    let timeOf (struct (si: int, row: int)) = sliceArr.[si].Content.Times.[row]
    let ordered =
        match sq.Order with
        | ScanOrder.NoOrder -> picked.ToArray()
        | ScanOrder.Ascending -> picked.ToArray() |> Array.sortBy timeOf
        | ScanOrder.Descending -> picked.ToArray() |> Array.sortBy timeOf |> Array.rev
    let skipped = ordered |> Array.skip (int (min sq.Offset (int64 ordered.Length)))
    let limited = match sq.Limit with Some l when l < int64 skipped.Length -> Array.truncate (int l) skipped | _ -> skipped
    let columnsFor (slice: SegmentSlice) =
        if not sq.Columns.IsEmpty then sq.Columns
        else "__time" :: (slice.Content.Dimensions |> List.map fst) @ (slice.Content.Metrics |> List.map fst)
    // Consecutive rows of one segment form a batch of at most batchSize events.
    let batches = List<Json.Out>()
    let mutable i = 0
    while i < limited.Length do
        let struct (si, _) = limited.[i]
        let mutable j = i
        while j < limited.Length && j - i < sq.BatchSize && (let struct (sj, _) = limited.[j] in sj = si) do
            j <- j + 1
        let slice = sliceArr.[si]
        let cols = columnsFor slice
        let events =
            [ for k in i .. j - 1 ->
                let struct (_, row) = limited.[k]
                if sq.Compacted then Json.Out.Array [ for c in cols -> toOut (columnsOf.[si].Cell(c, row)) ]
                else Json.Out.Object [ for c in cols -> c, toOut (columnsOf.[si].Cell(c, row)) ] ]
        batches.Add(
            Json.Out.Object
                [ "segmentId", Json.Out.String slice.Id
                  "columns", Json.Out.Array(cols |> List.map Json.Out.String)
                  "events", Json.Out.Array events ])
        i <- j
    Json.Out.Array(List.ofSeq batches)

// ---- timeBoundary --------------------------------------------------------------------------

let private timeBoundary (q: NativeQuery) (bound: Bound) (slices: SegmentSlice list) : Json.Out =
    let intervals = condense q.Intervals
    let mutable minT = Int64.MaxValue
    let mutable maxT = Int64.MinValue
    for slice in slices do
        let columns = Columns slice.Content
        let matches = rowMatcher q.Filter slice.Content columns
        for (_, _, lo, hi) in rowRanges slice intervals do
            for row in lo .. hi - 1 do
                if matches row then
                    let t = slice.Content.Times.[row]
                    if t < minT then minT <- t
                    if t > maxT then maxT <- t
    if minT = Int64.MaxValue then Json.Out.Array []
    else
        let result =
            match bound with
            | Bound.Both -> [ "minTime", Json.Out.String(Time.formatIso minT); "maxTime", Json.Out.String(Time.formatIso maxT) ]
            | Bound.MinTime -> [ "minTime", Json.Out.String(Time.formatIso minT) ]
            | Bound.MaxTime -> [ "maxTime", Json.Out.String(Time.formatIso maxT) ]
        let stamp = if bound = Bound.MaxTime then maxT else minT
        Json.Out.Array [ Json.Out.Object [ "timestamp", Json.Out.String(Time.formatIso stamp); "result", Json.Out.Object result ] ]

/// Runs a query over the slices the timeline made visible for its intervals.
let run (q: NativeQuery) (slices: SegmentSlice list) : Json.Out =
    match q.Kind with
    | QueryKind.Timeseries ts -> timeseries q ts slices
    | QueryKind.Scan sq -> scan q sq slices
    | QueryKind.TimeBoundary b -> timeBoundary q b slices

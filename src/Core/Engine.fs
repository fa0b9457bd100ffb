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

let private toOut = QueryResults.toOut

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

/// A timeseries, topN or groupBy over the slices: each segment aggregates on its own
/// (`GroupingEngine.runSegment`, safe to run in parallel), then partials merge and finish.
let aggregate (q: NativeQuery) (slices: SegmentSlice list) : Json.Out =
    let plan = (QueryResults.plan q).Value
    let partials = slices |> List.map (fun s -> GroupingEngine.runSegment plan s.Content s.Serves)
    QueryResults.finish q plan (GroupingEngine.merge plan partials)

/// Runs a query over the slices the timeline made visible for its intervals.
let run (q: NativeQuery) (slices: SegmentSlice list) : Json.Out =
    match q.Kind with
    | QueryKind.Timeseries _ | QueryKind.TopN _ | QueryKind.GroupBy _ -> aggregate q slices
    | QueryKind.Scan sq -> scan q sq slices
    | QueryKind.TimeBoundary b -> timeBoundary q b slices

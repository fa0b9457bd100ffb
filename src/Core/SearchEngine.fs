/// The search query: which values of which dimensions match a search rule, with the number
/// of rows holding each, per time bucket: `[{timestamp, result:[{dimension, value, count}]}]`.
module FunctionalDruid.Core.SearchEngine

open System
open System.Collections.Generic
open System.Text.RegularExpressions
open FunctionalDruid.Core
open FunctionalDruid.Core.Query
open FunctionalDruid.Core.QuerySlices

/// The match rule of a search query over one value.
let predicate (q: Extraction.SearchQuery) : string -> bool =
    match q with
    | Extraction.Contains(value, true) -> fun s -> s.Contains(value, StringComparison.Ordinal)
    | Extraction.Contains(value, false) -> fun s -> s.Contains(value, StringComparison.OrdinalIgnoreCase)
    | Extraction.Fragment(values, caseSensitive) ->
        let comparison = if caseSensitive then StringComparison.Ordinal else StringComparison.OrdinalIgnoreCase
        fun s -> values |> List.forall (fun v -> s.Contains(v, comparison))
    | Extraction.SearchRegex pattern ->
        let regex = Regex(pattern, RegexOptions.CultureInvariant)
        fun s -> regex.IsMatch s

/// Hits of one slice: counts per (bucket, dimension, value), and the earliest time the
/// slice covers inside the query (the timestamp of an `all` bucket).
let searchSlice (ctx: RunContext) (q: NativeQuery) (spec: SearchSpec) (slice: SegmentSlice) : Dictionary<struct (int64 * string * string), int64> * int64 option =
    let counts = Dictionary<struct (int64 * string * string), int64>()
    let columns = SliceColumns(slice.Content, q.VirtualColumns)
    let matches = rowMatcher q.Filter columns
    let test = predicate spec.Query
    let dimensions =
        match spec.SearchDimensions with
        | Some dims -> dims |> List.map (fun d -> d.Dimension, d.OutputName)
        | None -> slice.Content.Dimensions |> List.map (fun (n, _) -> n, n)
    let bucketOf (t: int64) = if spec.Granularity = Time.Granularity.All then 0L else Time.bucketStart spec.Granularity t
    let add (bucket: int64) (dimension: string) (value: string) =
        let key = struct (bucket, dimension, value)
        match counts.TryGetValue key with
        | true, c -> counts.[key] <- c + 1L
        | _ -> counts.[key] <- 1L
    let ranges = rowRanges slice (condense q.Intervals)
    let times = slice.Content.Times
    // Per dimension: a per-row visitor that adds the row's matching values.
    let visitors =
        dimensions |> List.map (fun (dimension, outputName) ->
            match columns.Stored dimension with
            | Some(ColumnData.Strings s) ->
                let ok = s.Dictionary |> Array.map (fun v -> not (isNull v) && test v)
                match s.MultiIds with
                | None -> fun row bucket -> (let id = s.Ids.[row] in if ok.[id] then add bucket outputName s.Dictionary.[id])
                | Some multi -> fun row bucket -> for id in multi.[row] do if ok.[id] then add bucket outputName s.Dictionary.[id]
            | _ ->
                fun row bucket ->
                    for v in Value.toStrings (columns.Cell(dimension, row)) do
                        if not (isNull v) && test v then add bucket outputName v)
        |> Array.ofList
    let cancellation = CancellationCheck ctx
    for (_, _, lo, hi) in ranges do
        for row in lo .. hi - 1 do
            cancellation.Tick()
            if matches row then
                let bucket = bucketOf times.[row]
                for visit in visitors do visit row bucket
    let earliest = ranges |> List.tryHead |> Option.map (fun (s, _, _, _) -> s)
    counts, earliest

let run (ctx: RunContext) (q: NativeQuery) (spec: SearchSpec) (slices: SegmentSlice list) : Json.Out =
    let slices = Array.ofList slices
    let perSlice = ctx.Runner.Map(slices.Length, fun i -> searchSlice ctx q spec slices.[i])
    let total = Dictionary<struct (int64 * string * string), int64>()
    for (counts, _) in perSlice do
        for kv in counts do
            match total.TryGetValue kv.Key with
            | true, c -> total.[kv.Key] <- c + kv.Value
            | _ -> total.[kv.Key] <- kv.Value
    let earliest = perSlice |> Array.choose snd
    if earliest.Length = 0 then Json.Out.Array []
    else
        let compareHits (struct (_, d1: string, v1: string)) (struct (_, d2: string, v2: string)) =
            match Ordering.compareWith spec.Sort v1 v2 with
            | 0 -> String.CompareOrdinal(d1, d2)
            | c -> c
        let resultOf (keys: struct (int64 * string * string) seq) =
            keys
            |> Seq.sortWith compareHits
            |> Seq.truncate spec.Limit
            |> Seq.map (fun (struct (_, d, v) as key) ->
                Json.Out.Object [ "dimension", Json.Out.String d; "value", Json.Out.String v; "count", Json.Out.Long total.[key] ])
            |> List.ofSeq
        if spec.Granularity = Time.Granularity.All then
            Json.Out.Array
                [ Json.Out.Object
                    [ "timestamp", Json.Out.String(Time.formatIso (Array.min earliest))
                      "result", Json.Out.Array(resultOf total.Keys) ] ]
        else
            let zone = Time.granularityZone spec.Granularity
            Json.Out.Array
                [ for bucket, keys in total.Keys |> Seq.groupBy (fun (struct (b, _, _)) -> b) |> Seq.sortBy fst ->
                    Json.Out.Object
                        [ "timestamp", Json.Out.String(Time.formatInZone zone bucket)
                          "result", Json.Out.Array(resultOf keys) ] ]

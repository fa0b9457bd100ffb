/// Queries about the data rather than over it: timeBoundary, segmentMetadata and
/// dataSourceMetadata, in Druid's result shapes.
module FunctionalDruid.Core.MetadataEngine

open System
open System.Collections.Generic
open System.Text.Json
open FunctionalDruid.Core
open FunctionalDruid.Core.Query
open FunctionalDruid.Core.QuerySlices

let private iso (t: int64) = Json.Out.String(Time.formatIso t)

// ---- timeBoundary --------------------------------------------------------------------------

/// The first and last matching row time of one slice, if any row matches.
let private boundsOfSlice (ctx: RunContext) (q: NativeQuery) (slice: SegmentSlice) : (int64 * int64) option =
    let times = slice.Content.Times
    let ranges = rowRanges slice (condense q.Intervals)
    match q.Filter with
    | None ->
        // Rows are sorted by time: the ends of the ranges are the answer.
        match ranges with
        | [] -> None
        | _ ->
            let (_, _, lo, _) = List.head ranges
            let (_, _, _, hi) = List.last ranges
            Some(times.[lo], times.[hi - 1])
    | Some _ ->
        let matches = rowMatcher q.Filter (SliceColumns(slice.Content, q.VirtualColumns))
        let mutable minT = Int64.MaxValue
        let mutable maxT = Int64.MinValue
        let cancellation = CancellationCheck ctx
        for (_, _, lo, hi) in ranges do
            for row in lo .. hi - 1 do
                cancellation.Tick()
                if matches row then
                    let t = times.[row]
                    if t < minT then minT <- t
                    if t > maxT then maxT <- t
        if minT = Int64.MaxValue then None else Some(minT, maxT)

let timeBoundary (ctx: RunContext) (q: NativeQuery) (bound: Bound) (slices: SegmentSlice list) : Json.Out =
    let slices = Array.ofList slices
    let bounds = ctx.Runner.Map(slices.Length, fun i -> boundsOfSlice ctx q slices.[i]) |> Array.choose id
    if bounds.Length = 0 then Json.Out.Array []
    else
        let minT = bounds |> Array.map fst |> Array.min
        let maxT = bounds |> Array.map snd |> Array.max
        let result =
            match bound with
            | Bound.Both -> [ "minTime", iso minT; "maxTime", iso maxT ]
            | Bound.MinTime -> [ "minTime", iso minT ]
            | Bound.MaxTime -> [ "maxTime", iso maxT ]
        let stamp = if bound = Bound.MaxTime then maxT else minT
        Json.Out.Array [ Json.Out.Object [ "timestamp", iso stamp; "result", Json.Out.Object result ] ]

// ---- dataSourceMetadata --------------------------------------------------------------------

/// The latest event time of any segment (Druid ignores the query's intervals here).
let dataSourceMetadata (slices: SegmentSlice list) : Json.Out =
    let latest = slices |> List.choose (fun s -> let t = s.Content.Times in if t.Length = 0 then None else Some t.[t.Length - 1])
    match latest with
    | [] -> Json.Out.Array []
    | ts ->
        let maxT = List.max ts
        Json.Out.Array [ Json.Out.Object [ "timestamp", iso maxT; "result", Json.Out.Object [ "maxIngestedEventTime", iso maxT ] ] ]

// ---- segmentMetadata -----------------------------------------------------------------------

let rec private outOf (e: JsonElement) : Json.Out =
    match e.ValueKind with
    | JsonValueKind.Object -> Json.Out.Object [ for p in e.EnumerateObject() -> p.Name, outOf p.Value ]
    | JsonValueKind.Array -> Json.Out.Array [ for x in e.EnumerateArray() -> outOf x ]
    | JsonValueKind.String -> Json.Out.String(e.GetString())
    | JsonValueKind.True -> Json.Out.Bool true
    | JsonValueKind.False -> Json.Out.Bool false
    | JsonValueKind.Number ->
        let raw = e.GetRawText()
        if raw.IndexOfAny [| '.'; 'e'; 'E' |] >= 0 then Json.Out.Double(e.GetDouble()) else Json.Out.Long(e.GetInt64())
    | _ -> Json.Out.Null

/// One column's analysis, before printing.
type ColumnAnalysis =
    { TypeSignature: string
      TypeName: string
      HasMultipleValues: bool
      HasNulls: bool
      Size: int64
      Cardinality: int option
      MinValue: string option
      MaxValue: string option
      ErrorMessage: string option }

/// One segment's (or the merged) analysis, before printing.
type SegmentAnalysis =
    { Id: string
      Intervals: Time.Interval list option
      Columns: (string * ColumnAnalysis) list
      Size: int64
      NumRows: int64
      /// None: not asked for, or unknown/unmergeable; entries may be None with lenient merge.
      Aggregators: (string * string option) list option
      TimestampSpec: string option
      QueryGranularity: string option
      Rollup: bool option }

let private has (smq: SegmentMetadataQuery) (a: AnalysisType) = List.contains a smq.AnalysisTypes

let private javaLength (s: string) = if isNull s then 0L else int64 s.Length

let private analyzeColumn (smq: SegmentMetadataQuery) (rows: int) (column: ColumnData) : ColumnAnalysis =
    let size = has smq AnalysisType.Size
    let numeric (signature: string) (width: int64) (nulls: bool[] option) =
        { TypeSignature = signature
          TypeName = signature
          HasMultipleValues = false
          HasNulls = (match nulls with Some n -> Array.exists id n | None -> false)
          Size = (if size then width * int64 rows else 0L)
          Cardinality = None
          MinValue = None
          MaxValue = None
          ErrorMessage = None }
    match column with
    | ColumnData.Longs(_, n) -> numeric "LONG" 8L n
    | ColumnData.Doubles(_, n) -> numeric "DOUBLE" 8L n
    | ColumnData.Floats(_, n) -> numeric "FLOAT" 4L n
    | ColumnData.Complex(t, _) ->
        { numeric (sprintf "COMPLEX<%s>" t) 0L None with TypeName = t; Size = 0L }
    | ColumnData.LongArrays a -> { numeric "ARRAY<LONG>" 0L a.RowNulls with Size = 0L }
    | ColumnData.DoubleArrays a -> { numeric "ARRAY<DOUBLE>" 0L a.RowNulls with Size = 0L }
    | ColumnData.StringArrays a -> { numeric "ARRAY<STRING>" 0L a.RowNulls with Size = 0L }
    | ColumnData.Strings s ->
        let sorted = s.Dictionary |> Array.sortWith (fun a b -> Ordering.compareWith Ordering.StringOrdering.Lexicographic a b)
        let textSize =
            if not size then 0L
            else
                match s.MultiIds with
                | Some multi -> multi |> Array.sumBy (fun ids -> ids |> Array.sumBy (fun id -> javaLength s.Dictionary.[id]))
                | None -> s.Ids |> Array.sumBy (fun id -> javaLength s.Dictionary.[id])
        let minmax = has smq AnalysisType.MinMax && sorted.Length > 0
        { TypeSignature = "STRING"
          TypeName = "STRING"
          HasMultipleValues = s.MultiIds |> Option.exists (Array.exists (fun ids -> ids.Length > 1))
          HasNulls =
            Array.exists isNull s.Dictionary
            || (s.MultiIds |> Option.exists (Array.exists (fun ids -> ids.Length = 0)))
          Size = textSize
          Cardinality = (if has smq AnalysisType.Cardinality then Some s.Dictionary.Length else None)
          MinValue = (if minmax then Some sorted.[0] else None)
          MaxValue = (if minmax then Some sorted.[sorted.Length - 1] else None)
          ErrorMessage = None }

let private includes (smq: SegmentMetadataQuery) (name: string) =
    match smq.ToInclude with
    | ColumnIncluderator.All -> true
    | ColumnIncluderator.NoColumns -> false
    | ColumnIncluderator.List names -> name = "__time" || List.contains name names

/// Stored aggregators as Druid reports them: each one's combining form, by name.
let private storedAggregators (metadata: JsonElement option) : (string * string option) list option =
    match metadata with
    | Some m ->
        match m.TryGetProperty "aggregators" with
        | true, aggs when aggs.ValueKind = JsonValueKind.Array ->
            Some
                [ for a in aggs.EnumerateArray() ->
                    let spec = Aggregation.parse (Json.ofElement a "aggregators")
                    Aggregation.name spec, Some(Aggregation.toJson (Aggregation.combining spec)) ]
        | _ -> None
    | None -> None

let private metadataField (metadata: JsonElement option) (key: string) : string option =
    match metadata with
    | Some m ->
        match m.TryGetProperty key with
        | true, v when v.ValueKind <> JsonValueKind.Null -> Some(v.GetRawText())
        | _ -> None
    | None -> None

let analyzeSegment (smq: SegmentMetadataQuery) (slice: SegmentSlice) : SegmentAnalysis =
    let content = slice.Content
    let rows = content.Times.Length
    use doc = (try JsonDocument.Parse(if String.IsNullOrWhiteSpace content.Metadata then "{}" else content.Metadata) with _ -> JsonDocument.Parse "{}")
    let metadata = if doc.RootElement.ValueKind = JsonValueKind.Object then Some doc.RootElement else None
    let timeColumn = analyzeColumn smq rows (ColumnData.Longs(content.Times, None))
    let columns =
        ("__time", timeColumn) :: [ for (name, c) in content.Dimensions @ content.Metrics -> name, analyzeColumn smq rows c ]
        |> List.filter (fun (name, _) -> includes smq name)
        |> List.sortWith (fun (a, _) (b, _) -> String.CompareOrdinal(a, b))
    { Id = slice.Id
      Intervals = (if has smq AnalysisType.Interval then Some [ content.Interval ] else None)
      Columns = columns
      Size = columns |> List.sumBy (fun (_, c) -> c.Size)
      NumRows = int64 rows
      Aggregators = (if has smq AnalysisType.Aggregators then storedAggregators metadata else None)
      TimestampSpec = (if has smq AnalysisType.TimestampSpec then metadataField metadata "timestampSpec" else None)
      QueryGranularity = (if has smq AnalysisType.QueryGranularity then metadataField metadata "queryGranularity" else None)
      Rollup = (if has smq AnalysisType.Rollup then metadataField metadata "rollup" |> Option.map (fun r -> r = "true") else None) }

// ---- merging ---------------------------------------------------------------------------------

let private minOf (a: string option) (b: string option) =
    match a, b with
    | Some x, Some y -> Some(if Ordering.compareLexicographic x y <= 0 then x else y)
    | x, None | None, x -> x

let private maxOf (a: string option) (b: string option) =
    match a, b with
    | Some x, Some y -> Some(if Ordering.compareLexicographic x y >= 0 then x else y)
    | x, None | None, x -> x

let private mergeColumn (a: ColumnAnalysis) (b: ColumnAnalysis) : ColumnAnalysis =
    if a.ErrorMessage.IsSome then a
    elif b.ErrorMessage.IsSome then b
    elif a.TypeSignature <> b.TypeSignature then
        { a with ErrorMessage = Some(sprintf "error:cannot_merge_diff_types: [%s] and [%s]" a.TypeSignature b.TypeSignature) }
    else
        { a with
            HasMultipleValues = a.HasMultipleValues || b.HasMultipleValues
            HasNulls = a.HasNulls || b.HasNulls
            Size = a.Size + b.Size
            Cardinality =
                match a.Cardinality, b.Cardinality with
                | Some x, Some y -> Some(max x y)
                | x, None | None, x -> x
            MinValue = minOf a.MinValue b.MinValue
            MaxValue = maxOf a.MaxValue b.MaxValue }

let private sameOrNone (values: 'a option list) : 'a option =
    match List.distinct values with
    | [ Some v ] -> Some v
    | _ -> None

let private mergeAggregators (lenient: bool) (all: (string * string option) list option list) =
    if all.IsEmpty then None
    elif not lenient && all |> List.exists Option.isNone then None
    else
        let known = all |> List.choose id
        let names = known |> List.collect (List.map fst) |> List.distinct
        let merged =
            [ for name in names ->
                let specs = known |> List.choose (List.tryFind (fun (n, _) -> n = name)) |> List.map snd |> List.distinct
                name, (match specs with [ one ] -> one | _ -> None) ]
        if not lenient && merged |> List.exists (fun (_, spec) -> spec.IsNone) then None
        elif known.IsEmpty then None
        else Some merged

let merge (smq: SegmentMetadataQuery) (analyses: SegmentAnalysis list) : SegmentAnalysis =
    let columns =
        analyses
        |> List.collect (fun a -> a.Columns)
        |> List.groupBy fst
        |> List.map (fun (name, cs) -> name, cs |> List.map snd |> List.reduce mergeColumn)
        |> List.sortWith (fun (a, _) (b, _) -> String.CompareOrdinal(a, b))
    { Id = "merged"
      Intervals =
        if has smq AnalysisType.Interval then Some(condense (analyses |> List.collect (fun a -> defaultArg a.Intervals [])))
        else None
      Columns = columns
      Size = analyses |> List.sumBy (fun a -> a.Size)
      NumRows = analyses |> List.sumBy (fun a -> a.NumRows)
      Aggregators =
        if has smq AnalysisType.Aggregators then mergeAggregators smq.LenientAggregatorMerge (analyses |> List.map (fun a -> a.Aggregators))
        else None
      TimestampSpec = sameOrNone (analyses |> List.map (fun a -> a.TimestampSpec))
      QueryGranularity = sameOrNone (analyses |> List.map (fun a -> a.QueryGranularity))
      Rollup = sameOrNone (analyses |> List.map (fun a -> a.Rollup)) }

// ---- printing --------------------------------------------------------------------------------

let private rawOut (raw: string) =
    use doc = JsonDocument.Parse raw
    outOf doc.RootElement

let private optString (s: string option) = match s with Some v -> Json.Out.String v | None -> Json.Out.Null

/// Druid prints simple granularities as their name and `none`/`all` as typed objects.
let private granularityOut (raw: string) =
    match raw with
    | "\"NONE\"" -> Json.Out.Object [ "type", Json.Out.String "none" ]
    | "\"ALL\"" -> Json.Out.Object [ "type", Json.Out.String "all" ]
    | other -> rawOut other

let toOut (a: SegmentAnalysis) : Json.Out =
    let column (c: ColumnAnalysis) =
        Json.Out.Object
            [ "typeSignature", Json.Out.String c.TypeSignature
              "type", Json.Out.String c.TypeName
              "hasMultipleValues", Json.Out.Bool c.HasMultipleValues
              "hasNulls", Json.Out.Bool c.HasNulls
              "size", Json.Out.Long c.Size
              "cardinality", (match c.Cardinality with Some n -> Json.Out.Long(int64 n) | None -> Json.Out.Null)
              "minValue", optString c.MinValue
              "maxValue", optString c.MaxValue
              "errorMessage", optString c.ErrorMessage ]
    Json.Out.Object
        [ "id", Json.Out.String a.Id
          "intervals", (match a.Intervals with Some ivs -> Json.Out.Array(ivs |> List.map (Time.formatInterval >> Json.Out.String)) | None -> Json.Out.Null)
          "columns", Json.Out.Object(a.Columns |> List.map (fun (n, c) -> n, column c))
          "size", Json.Out.Long a.Size
          "numRows", Json.Out.Long a.NumRows
          "aggregators",
          (match a.Aggregators with
           | Some aggs -> Json.Out.Object(aggs |> List.map (fun (n, spec) -> n, (match spec with Some raw -> rawOut raw | None -> Json.Out.Null)))
           | None -> Json.Out.Null)
          "timestampSpec", (match a.TimestampSpec with Some raw -> rawOut raw | None -> Json.Out.Null)
          "queryGranularity", (match a.QueryGranularity with Some raw -> granularityOut raw | None -> Json.Out.Null)
          "rollup", (match a.Rollup with Some r -> Json.Out.Bool r | None -> Json.Out.Null) ]

/// Druid's `druid.query.segmentMetadata.defaultHistory`: without intervals, a query reads
/// the week before the end of the latest segment.
let defaultHistoryMillis = 7L * 86_400_000L

/// One analysis per segment (a segment split by the timeline counts once), in time order,
/// or one merged analysis.
let segmentMetadata (ctx: RunContext) (q: NativeQuery) (smq: SegmentMetadataQuery) (slices: SegmentSlice list) : Json.Out =
    let slices =
        match q.Intervals, slices with
        | [ all ], _ :: _ when all = Time.eternity ->
            let latestEnd = slices |> List.map (fun s -> s.Content.Interval.End) |> List.max
            slices |> List.filter (fun s -> s.Content.Interval.End > latestEnd - defaultHistoryMillis)
        | _ -> slices
    let segments =
        slices
        |> List.distinctBy (fun s -> s.Id)
        |> List.sortBy (fun s -> s.Content.Interval.Start, s.Id)
        |> Array.ofList
    let analyses =
        ctx.Runner.Map(segments.Length, fun i ->
            ctx.Cancel.ThrowIfCancellationRequested()
            analyzeSegment smq segments.[i])
        |> List.ofArray
    match analyses with
    | [] -> Json.Out.Array []
    | _ when smq.Merge -> Json.Out.Array [ toOut (merge smq analyses) ]
    | _ -> Json.Out.Array(analyses |> List.map toOut)

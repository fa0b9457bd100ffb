/// Runs a native query whatever its data source: tables and unions read the slices the host
/// provides; inline rows and subquery results become a segment of their own, so every
/// engine path reads them like stored data.
module FunctionalDruid.Core.QueryExecution

open System
open FunctionalDruid.Core
open FunctionalDruid.Core.Query
open FunctionalDruid.Core.QuerySlices

/// A query that cannot run as asked (an unsupported combination rather than bad JSON).
exception UnsupportedQuery of string

/// The visible slices of one table for the given intervals (provided by the host).
type SliceSource = string -> Time.Interval list -> SegmentSlice list

let private instantOf (o: Json.Out) : int64 =
    match o with
    | Json.Out.String s -> defaultArg (Time.tryParseInstant s) 0L
    | Json.Out.Long l -> l
    | _ -> 0L

let rec private valueOf (o: Json.Out) : Value =
    match o with
    | Json.Out.Null -> Value.Null
    | Json.Out.Bool b -> Value.String(if b then "true" else "false")
    | Json.Out.Long l -> Value.Long l
    | Json.Out.Double d -> Value.Double d
    | Json.Out.String s -> if isNull s then Value.Null else Value.String s
    | Json.Out.Array xs -> Value.Array(xs |> List.map valueOf |> Array.ofList)
    | Json.Out.Object _ -> Value.Null

let private fieldsOf (o: Json.Out) = match o with Json.Out.Object fs -> fs | _ -> []
let private itemsOf (o: Json.Out) = match o with Json.Out.Array xs -> xs | _ -> []
let private fieldOf (key: string) (o: Json.Out) = fieldsOf o |> List.tryFind (fun (k, _) -> k = key) |> Option.map snd

/// The rows of a query's results, as (time, named cells), the way Druid reads a subquery.
let private resultRows (inner: NativeQuery) (result: Json.Out) : (int64 * (string * Value) list) list =
    let timeOf (row: Json.Out) = fieldOf "timestamp" row |> Option.map instantOf |> Option.defaultValue 0L
    let cells (o: Json.Out option) = o |> Option.map fieldsOf |> Option.defaultValue [] |> List.map (fun (k, v) -> k, valueOf v)
    match inner.Kind with
    | QueryKind.GroupBy _ -> [ for row in itemsOf result -> timeOf row, cells (fieldOf "event" row) ]
    | QueryKind.Timeseries _ -> [ for row in itemsOf result -> timeOf row, cells (fieldOf "result" row) ]
    | QueryKind.TopN _ ->
        [ for bucket in itemsOf result do
            for entry in fieldOf "result" bucket |> Option.map itemsOf |> Option.defaultValue [] ->
                timeOf bucket, cells (Some entry) ]
    | QueryKind.Scan _ ->
        [ for batch in itemsOf result do
            let columns = fieldOf "columns" batch |> Option.map itemsOf |> Option.defaultValue [] |> List.map (function Json.Out.String s -> s | _ -> "")
            for event in fieldOf "events" batch |> Option.map itemsOf |> Option.defaultValue [] do
                let named =
                    match event with
                    | Json.Out.Array values -> List.zip columns (values |> List.map valueOf)
                    | other -> cells (Some other)
                let time = named |> List.tryFind (fun (k, _) -> k = "__time") |> Option.bind (snd >> Value.toLong) |> Option.defaultValue 0L
                yield time, named |> List.filter (fun (k, _) -> k <> "__time") ]
    | other -> raise (UnsupportedQuery(sprintf "A query data source of type %s is not supported; use groupBy, timeseries, topN or scan" ((sprintf "%A" other).Split(' ').[0])))

/// A segment of result rows: columns in first-seen order, types from the values.
let contentOfResults (inner: NativeQuery) (result: Json.Out) : SegmentContent =
    let rows = resultRows inner result |> Array.ofList
    let names = Collections.Generic.List<string>()
    for (_, cells) in rows do
        for (k, _) in cells do
            if not (names.Contains k) then names.Add k
    let index = names |> Seq.mapi (fun i n -> n, i) |> dict
    let cells =
        rows |> Array.map (fun (_, named) ->
            let row = Array.create names.Count Value.Null
            for (k, v) in named do row.[index.[k]] <- v
            row)
    contentOfRows [ for n in names -> n, None ] (rows |> Array.map fst) cells

/// Runs a query, resolving its data source recursively.
let rec execute (ctx: RunContext) (slicesOf: SliceSource) (q: NativeQuery) : Json.Out =
    ctx.Cancel.ThrowIfCancellationRequested()
    match q.DataSource with
    | DataSource.Table name -> Engine.runWith ctx q (slicesOf name q.Intervals)
    | DataSource.Union names -> Engine.runWith ctx q (names |> List.collect (fun n -> slicesOf n q.Intervals))
    | DataSource.Inline(columns, rows) ->
        let timeIndex = columns |> List.tryFindIndex (fun (n, _) -> n = "__time")
        let times = rows |> List.map (fun r -> match timeIndex with Some i -> defaultArg (Value.toLong r.[i]) 0L | None -> 0L) |> Array.ofList
        let kept = columns |> List.indexed |> List.filter (fun (i, _) -> Some i <> timeIndex)
        let cells = rows |> List.map (fun r -> kept |> List.map (fun (i, _) -> r.[i]) |> Array.ofList) |> Array.ofList
        let content = contentOfRows [ for (_, (n, t)) in kept -> n, Some t ] times cells
        Engine.runWith ctx q [ sliceOfContent "inline" content ]
    | DataSource.Query inner ->
        let innerResult = execute ctx slicesOf inner
        Engine.runWith ctx q [ sliceOfContent "query" (contentOfResults inner innerResult) ]
    | DataSource.Join _ -> raise (UnsupportedQuery "Join data sources are not supported yet")

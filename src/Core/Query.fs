/// Native Druid queries parsed from their JSON. This landing covers what verifying
/// ingestion needs — scan, timeseries, timeBoundary — with Druid's JSON shapes; the query
/// engine issue completes the surface.
module FunctionalDruid.Core.Query

open System
open FunctionalDruid.Core
open FunctionalDruid.Core.Json

[<RequireQualifiedAccess>]
type ScanOrder =
    | Ascending
    | Descending
    | NoOrder

type ScanQuery =
    { Columns: string list
      Limit: int64 option
      Offset: int64
      Compacted: bool
      Order: ScanOrder
      BatchSize: int }

/// Post-aggregators compute from the finalized aggregator values (and earlier
/// post-aggregators) of one result row.
[<RequireQualifiedAccess>]
type PostAggregator =
    /// `+ - * / quotient pow` over doubles; `/` gives 0 for a zero divisor, as Druid's does.
    | Arithmetic of name: string * fn: string * fields: PostAggregator list
    | FieldAccess of name: string * fieldName: string
    | Constant of name: string * value: Value
    | Expression of name: string * expression: Expr.Expr
    | Greatest of name: string * asLong: bool * fields: PostAggregator list
    | Least of name: string * asLong: bool * fields: PostAggregator list
    member this.Name =
        match this with
        | Arithmetic(n, _, _) | FieldAccess(n, _) | Constant(n, _) | Expression(n, _) | Greatest(n, _, _) | Least(n, _, _) -> n

type TimeseriesQuery =
    { Granularity: Time.Granularity
      Aggregations: AggregatorSpec list
      PostAggregations: PostAggregator list
      Descending: bool
      SkipEmptyBuckets: bool }

[<RequireQualifiedAccess>]
type Bound =
    | Both
    | MinTime
    | MaxTime

[<RequireQualifiedAccess>]
type QueryKind =
    | Scan of ScanQuery
    | Timeseries of TimeseriesQuery
    | TimeBoundary of Bound

type NativeQuery =
    { DataSource: string
      Intervals: Time.Interval list
      Filter: Filter.Filter option
      Kind: QueryKind
      Context: (string * string) list }
    member this.ContextValue(key: string) = this.Context |> List.tryFind (fun (k, _) -> k = key) |> Option.map snd

let private supported = [ "scan"; "timeseries"; "timeBoundary" ]

let private parseDataSource (n: Node) : string =
    if isString n then asString n
    else
        let n = expectObject n
        match requiredString n "type" with
        | "table" -> requiredString n "name"
        | other -> fail (field n "type") (sprintf "dataSource type [%s] is not supported yet; use a table name" other)

let private parseIntervals (n: Node option) (required: bool) (q: Node) : Time.Interval list =
    let one (i: Node) =
        match Time.tryParseInterval (asString i) with
        | Some iv -> iv
        | None -> fail i (sprintf "Invalid interval [%s]" (asString i))
    match n with
    | None -> if required then fail q "intervals is required but missing" else [ Time.eternity ]
    | Some n when isString n -> [ one n ]
    | Some n when isArray n -> elements n |> List.map one
    | Some n ->
        // {"type":"intervals","intervals":[...]} (Druid's MultipleIntervalSegmentSpec)
        elements (field n "intervals") |> List.map one

let private contextOf (n: Node) =
    match tryField n "context" with
    | Some c when isObject c -> properties c |> List.map (fun (k, v) -> k, (if isString v then asString v else rawText v))
    | _ -> []

let private arithmeticFns = [ "+"; "-"; "*"; "/"; "quotient"; "pow" ]

let rec private parsePostAggregator (n: Node) : PostAggregator =
    let n = expectObject n
    // Druid lets a nested post-aggregator (an arithmetic field) go unnamed.
    let name = stringOr n "name" ""
    let fields () = elements (field n "fields") |> List.map parsePostAggregator
    match requiredString n "type" with
    | "arithmetic" ->
        let fn = requiredString n "fn"
        if not (List.contains fn arithmeticFns) then
            fail (field n "fn") (sprintf "Unknown arithmetic function [%s]; expected one of %s" fn (String.Join(", ", arithmeticFns)))
        PostAggregator.Arithmetic(name, fn, fields ())
    | "fieldAccess" | "finalizingFieldAccess" -> PostAggregator.FieldAccess(name, requiredString n "fieldName")
    | "constant" ->
        let v = field n "value"
        let raw = rawText v
        let value =
            if raw.IndexOfAny [| '.'; 'e'; 'E' |] >= 0 then Value.Double(asFloat v)
            else Value.Long(asInt64 v)
        PostAggregator.Constant(name, value)
    | "expression" ->
        match Expr.parse (requiredString n "expression") with
        | Ok e -> PostAggregator.Expression(name, e)
        | Error problem -> fail (field n "expression") problem
    | "doubleGreatest" -> PostAggregator.Greatest(name, false, fields ())
    | "longGreatest" -> PostAggregator.Greatest(name, true, fields ())
    | "doubleLeast" -> PostAggregator.Least(name, false, fields ())
    | "longLeast" -> PostAggregator.Least(name, true, fields ())
    | other -> fail (field n "type") (sprintf "postAggregator type [%s] is not supported yet" other)

let private boolContext (ctx: (string * string) list) (key: string) =
    ctx |> List.tryFind (fun (k, _) -> k = key) |> Option.map (fun (_, v) -> v.Trim().ToLowerInvariant() = "true") |> Option.defaultValue false

let parse (n: Node) : NativeQuery =
    let n = expectObject n
    let queryType = requiredString n "queryType"
    let dataSource = parseDataSource (field n "dataSource")
    let filter = tryField n "filter" |> Option.map Filter.parse
    let context = contextOf n
    let kind =
        match queryType with
        | "scan" ->
            let resultFormat = stringOr n "resultFormat" "list"
            let compacted =
                match resultFormat with
                | "list" -> false
                | "compactedList" -> true
                | other -> fail (field n "resultFormat") (sprintf "Unknown resultFormat [%s]; expected list or compactedList" other)
            let order =
                match (stringOr n "order" "none").ToLowerInvariant() with
                | "ascending" -> ScanOrder.Ascending
                | "descending" -> ScanOrder.Descending
                | "none" -> ScanOrder.NoOrder
                | other -> fail (field n "order") (sprintf "Unknown order [%s]; expected ascending, descending or none" other)
            let limit = optInt64 n "limit" |> Option.filter (fun l -> l > 0L)
            let offset = int64Or n "offset" 0L
            if offset < 0L then fail (field n "offset") "offset must not be negative"
            let batchSize = intOr n "batchSize" 20480
            if batchSize <= 0 then fail (field n "batchSize") "batchSize must be positive"
            QueryKind.Scan
                { Columns = defaultArg (optStringList n "columns") []
                  Limit = limit
                  Offset = offset
                  Compacted = compacted
                  Order = order
                  BatchSize = batchSize }
        | "timeseries" ->
            let granularity = tryField n "granularity" |> Option.map IngestSpec.parseGranularity |> Option.defaultValue Time.Granularity.All
            let aggs = match tryField n "aggregations" with Some a -> elements a |> List.map Aggregation.parse | None -> []
            let posts = match tryField n "postAggregations" with Some p -> elements p |> List.map parsePostAggregator | None -> []
            match (List.map Aggregation.name aggs @ List.map (fun (p: PostAggregator) -> p.Name) posts) |> List.countBy id |> List.tryFind (fun (_, c) -> c > 1) with
            | Some(name, _) -> fail (field n "aggregations") (sprintf "Duplicate output name [%s]" name)
            | None -> ()
            QueryKind.Timeseries
                { Granularity = granularity
                  Aggregations = aggs
                  PostAggregations = posts
                  Descending = boolOr n "descending" false
                  SkipEmptyBuckets = boolContext context "skipEmptyBuckets" }
        | "timeBoundary" ->
            match optString n "bound" with
            | None -> QueryKind.TimeBoundary Bound.Both
            | Some "minTime" -> QueryKind.TimeBoundary Bound.MinTime
            | Some "maxTime" -> QueryKind.TimeBoundary Bound.MaxTime
            | Some other -> fail (field n "bound") (sprintf "Unknown bound [%s]; expected minTime or maxTime" other)
        | other ->
            fail (field n "queryType") (sprintf "Query type [%s] is not supported yet; supported: %s" other (String.Join(", ", supported)))
    let intervals = parseIntervals (tryField n "intervals") (queryType <> "timeBoundary") n
    { DataSource = dataSource; Intervals = intervals; Filter = filter; Kind = kind; Context = context }

let parseText (text: string) : Result<NativeQuery, string * string> = Json.run text parse

/// The data source a query names, read leniently (for routing and unknown-source checks).
let dataSourceOf (q: NativeQuery) = q.DataSource

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
    /// `finalizingFieldAccess`: the aggregator's finalized value (a rounded estimate, say),
    /// where `fieldAccess` reads the intermediate one.
    | FinalizingFieldAccess of name: string * fieldName: string
    /// `hyperUniqueCardinality`: the estimate of a hyperUnique/cardinality aggregator.
    | HyperUniqueCardinality of name: string * fieldName: string * round: bool
    /// `arithmetic` with an `ordering` (`numericFirst`): same value, only sorting differs.
    | OrderedArithmetic of name: string * fn: string * fields: PostAggregator list * ordering: string
    member this.Name =
        match this with
        | Arithmetic(n, _, _) | FieldAccess(n, _) | Constant(n, _) | Expression(n, _) | Greatest(n, _, _) | Least(n, _, _)
        | FinalizingFieldAccess(n, _) | HyperUniqueCardinality(n, _, _) | OrderedArithmetic(n, _, _, _) -> n

/// How a query reads one dimension into an output column (topN, groupBy, search).
[<RequireQualifiedAccess>]
type DimensionSpec =
    | Default of dimension: string * outputName: string * outputType: ColumnType
    | Extraction of dimension: string * outputName: string * outputType: ColumnType * fn: Extraction.ExtractionFn
    /// Multi-value filtering: keeps (whitelist) or drops the listed values of each row.
    | ListFiltered of inner: DimensionSpec * values: string list * isWhitelist: bool
    | RegexFiltered of inner: DimensionSpec * pattern: string
    | PrefixFiltered of inner: DimensionSpec * prefix: string
    member this.Dimension =
        match this with
        | Default(d, _, _) | Extraction(d, _, _, _) -> d
        | ListFiltered(i, _, _) | RegexFiltered(i, _) | PrefixFiltered(i, _) -> i.Dimension
    member this.OutputName =
        match this with
        | Default(_, o, _) | Extraction(_, o, _, _) -> o
        | ListFiltered(i, _, _) | RegexFiltered(i, _) | PrefixFiltered(i, _) -> i.OutputName

/// An `expression` virtual column: a named Druid expression every query part can read
/// like a stored column.
type VirtualColumn =
    { Name: string
      Expression: string
      Parsed: Expr.Expr
      /// None lets the type follow the expression's result.
      OutputType: ColumnType option }

/// groupBy `having` specs, applied to finished result rows.
[<RequireQualifiedAccess>]
type Having =
    | Filter of Filter.Filter
    | GreaterThan of aggregation: string * value: Value
    | LessThan of aggregation: string * value: Value
    | EqualTo of aggregation: string * value: Value
    | DimSelector of dimension: string * value: string option
    | And of Having list
    | Or of Having list
    | Not of Having
    | Always

type OrderByColumn =
    { Column: string
      Descending: bool
      Ordering: Ordering.StringOrdering }

/// groupBy's `default` limit spec.
type LimitSpec =
    { Columns: OrderByColumn list
      Limit: int option
      Offset: int }

[<RequireQualifiedAccess>]
type TopNMetric =
    | Numeric of metric: string
    | Inverted of TopNMetric
    /// Orders by the dimension value itself; `previousStop` pages past earlier results.
    | Dimension of ordering: Ordering.StringOrdering * previousStop: string option

type TimeseriesQuery =
    { Granularity: Time.Granularity
      Aggregations: AggregatorSpec list
      PostAggregations: PostAggregator list
      Descending: bool
      /// From the context (`skipEmptyBuckets`, boolean or string).
      SkipEmptyBuckets: bool
      /// From the context (`grandTotal`): a last row with totals and a null timestamp.
      GrandTotal: bool
      Limit: int option }

type TopNQuery =
    { Granularity: Time.Granularity
      Dimension: DimensionSpec
      Metric: TopNMetric
      Threshold: int
      Aggregations: AggregatorSpec list
      PostAggregations: PostAggregator list }

type GroupByQuery =
    { Granularity: Time.Granularity
      Dimensions: DimensionSpec list
      Aggregations: AggregatorSpec list
      PostAggregations: PostAggregator list
      Having: Having option
      LimitSpec: LimitSpec option
      /// Each entry lists output names of `Dimensions` to group by in one more pass.
      SubtotalsSpec: string list list option }

type SearchSpec =
    { Granularity: Time.Granularity
      /// None searches every string dimension.
      SearchDimensions: DimensionSpec list option
      Query: Extraction.SearchQuery
      Sort: Ordering.StringOrdering
      Limit: int }

[<RequireQualifiedAccess>]
type AnalysisType =
    | Cardinality
    | Size
    | Interval
    | Aggregators
    | QueryGranularity
    | Rollup
    | MinMax
    | TimestampSpec

[<RequireQualifiedAccess>]
type ColumnIncluderator =
    | All
    | NoColumns
    | List of string list

type SegmentMetadataQuery =
    { AnalysisTypes: AnalysisType list
      Merge: bool
      LenientAggregatorMerge: bool
      ToInclude: ColumnIncluderator }

[<RequireQualifiedAccess>]
type Bound =
    | Both
    | MinTime
    | MaxTime

[<RequireQualifiedAccess>]
type JoinType =
    | Inner
    | Left
    | Right
    | Full

/// Where a query reads rows from.
[<RequireQualifiedAccess>]
type DataSource =
    | Table of name: string
    /// Tables with the same schema read as one; results merge.
    | Union of names: string list
    /// Rows carried in the query itself (Druid's `inline`).
    | Inline of columns: (string * ColumnType) list * rows: Value[] list
    /// The results of another native query, read as rows.
    | Query of NativeQuery
    /// Planned by the SQL layer: right-side columns are read with `RightPrefix`.
    | Join of left: DataSource * right: DataSource * rightPrefix: string * condition: Expr.Expr * joinType: JoinType

and [<RequireQualifiedAccess>] QueryKind =
    | Timeseries of TimeseriesQuery
    | TopN of TopNQuery
    | GroupBy of GroupByQuery
    | Scan of ScanQuery
    | Search of SearchSpec
    | TimeBoundary of Bound
    | SegmentMetadata of SegmentMetadataQuery
    | DataSourceMetadata

and NativeQuery =
    { DataSource: DataSource
      Intervals: Time.Interval list
      Filter: Filter.Filter option
      VirtualColumns: VirtualColumn list
      Kind: QueryKind
      /// Context values as text (numbers and booleans arrive as JSON or as strings).
      Context: (string * string) list }
    member this.ContextValue(key: string) = this.Context |> List.tryFind (fun (k, _) -> k = key) |> Option.map snd

/// The table names a data source reads, in order (for routing and unknown-source checks).
let rec tableNames (d: DataSource) : string list =
    match d with
    | DataSource.Table n -> [ n ]
    | DataSource.Union ns -> ns
    | DataSource.Inline _ -> []
    | DataSource.Query q -> tableNames q.DataSource
    | DataSource.Join(l, r, _, _, _) -> tableNames l @ tableNames r

let private supported = [ "scan"; "timeseries"; "timeBoundary" ]

let parseDataSource (n: Node) : DataSource =
    if isString n then DataSource.Table(asString n)
    else
        let n = expectObject n
        match requiredString n "type" with
        | "table" -> DataSource.Table(requiredString n "name")
        | other -> fail (field n "type") (sprintf "dataSource type [%s] is not supported yet; use a table name" other)

let parseIntervals (n: Node option) (required: bool) (q: Node) : Time.Interval list =
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

let contextOf (n: Node) =
    match tryField n "context" with
    | Some c when isObject c -> properties c |> List.map (fun (k, v) -> k, (if isString v then asString v else rawText v))
    | _ -> []

let private arithmeticFns = [ "+"; "-"; "*"; "/"; "quotient"; "pow" ]

let rec parsePostAggregator (n: Node) : PostAggregator =
    let n = expectObject n
    // Druid lets a nested post-aggregator (an arithmetic field) go unnamed.
    let name = stringOr n "name" ""
    let fields () = elements (field n "fields") |> List.map parsePostAggregator
    match requiredString n "type" with
    | "arithmetic" ->
        let fn = requiredString n "fn"
        if not (List.contains fn arithmeticFns) then
            fail (field n "fn") (sprintf "Unknown arithmetic function [%s]; expected one of %s" fn (String.Join(", ", arithmeticFns)))
        match optString n "ordering" with
        | None -> PostAggregator.Arithmetic(name, fn, fields ())
        | Some "numericFirst" -> PostAggregator.OrderedArithmetic(name, fn, fields (), "numericFirst")
        | Some other -> fail (field n "ordering") (sprintf "Unknown ordering [%s]; expected numericFirst or null" other)
    | "fieldAccess" -> PostAggregator.FieldAccess(name, requiredString n "fieldName")
    | "finalizingFieldAccess" -> PostAggregator.FinalizingFieldAccess(name, requiredString n "fieldName")
    | "hyperUniqueCardinality" -> PostAggregator.HyperUniqueCardinality(name, requiredString n "fieldName", boolOr n "round" false)
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

let boolContext (ctx: (string * string) list) (key: string) =
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
                  SkipEmptyBuckets = boolContext context "skipEmptyBuckets"
                  GrandTotal = boolContext context "grandTotal"
                  Limit = optInt n "limit" }
        | "timeBoundary" ->
            match optString n "bound" with
            | None -> QueryKind.TimeBoundary Bound.Both
            | Some "minTime" -> QueryKind.TimeBoundary Bound.MinTime
            | Some "maxTime" -> QueryKind.TimeBoundary Bound.MaxTime
            | Some other -> fail (field n "bound") (sprintf "Unknown bound [%s]; expected minTime or maxTime" other)
        | other ->
            fail (field n "queryType") (sprintf "Query type [%s] is not supported yet; supported: %s" other (String.Join(", ", supported)))
    let intervals = parseIntervals (tryField n "intervals") (queryType <> "timeBoundary") n
    { DataSource = dataSource; Intervals = intervals; Filter = filter; VirtualColumns = []; Kind = kind; Context = context }

let parseText (text: string) : Result<NativeQuery, string * string> = Json.run text parse


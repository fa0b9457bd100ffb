/// The entry point for parsing native queries: every data source (`table`, `union`,
/// `inline`, `query`), lenient intervals, virtual columns, context, and the query kinds
/// scan, search, timeBoundary, segmentMetadata and dataSourceMetadata. The kinds of the
/// aggregating queries (timeseries, topN, groupBy) come from `QueryParse.parseAggregatingKind`.
module FunctionalDruid.Core.QueryParseSurface

open System
open System.Text.Json.Nodes
open FunctionalDruid.Core
open FunctionalDruid.Core.Json
open FunctionalDruid.Core.Query

let surfaceKinds = [ "scan"; "search"; "timeBoundary"; "segmentMetadata"; "dataSourceMetadata" ]

/// Intervals as one string, an array, or Druid's `{"type":"intervals","intervals":[...]}`;
/// each in the lenient forms Time.tryParseInterval reads.
let parseIntervals (n: Node option) : Time.Interval list =
    let one (i: Node) =
        match Time.tryParseInterval (asString i) with
        | Some iv -> iv
        | None -> fail i (sprintf "Invalid interval [%s]; expected start/end, start/period or period/end in ISO-8601" (asString i))
    match n with
    | None -> [ Time.eternity ]
    | Some n when isString n -> [ one n ]
    | Some n when isArray n -> elements n |> List.map one
    | Some n ->
        match tryField n "type" |> Option.map asString with
        | Some "segments" -> elements (field n "segments") |> List.map (fun s -> one (field s "itvl"))
        | _ -> elements (field n "intervals") |> List.map one

let parseColumnType (n: Node) : ColumnType =
    let text = asString n
    match text.ToUpperInvariant() with
    | "STRING" -> ColumnType.String
    | "LONG" -> ColumnType.Long
    | "FLOAT" -> ColumnType.Float
    | "DOUBLE" -> ColumnType.Double
    | u when u.StartsWith "COMPLEX<" && u.EndsWith ">" -> ColumnType.Complex(text.Substring(8, text.Length - 9))
    | u when u.StartsWith "ARRAY<" -> ColumnType.String
    | _ -> fail n (sprintf "Unknown column type [%s]; expected STRING, LONG, FLOAT, DOUBLE or COMPLEX<...>" text)

/// Context values as text: strings as they are, numbers and booleans as their JSON text.
let parseContext (n: Node) : (string * string) list =
    match tryField n "context" with
    | Some c when isObject c -> properties c |> List.map (fun (k, v) -> k, (if isString v then asString v else rawText v))
    | _ -> []

/// A context flag given as a boolean or as the string "true"/"false".
let contextFlag (q: NativeQuery) (key: string) : bool =
    match q.ContextValue key with
    | Some v -> v.Trim().Equals("true", StringComparison.OrdinalIgnoreCase)
    | None -> false

/// The `timeout` context value in milliseconds; None when absent, 0 means no timeout.
let contextTimeout (q: NativeQuery) : int64 option =
    q.ContextValue "timeout" |> Option.bind (fun v -> Value.parseLongText v)

let contextQueryId (q: NativeQuery) : string option =
    q.ContextValue "queryId" |> Option.filter (fun s -> not (String.IsNullOrWhiteSpace s))

let private parseInline (n: Node) : DataSource =
    let names = elements (field n "columnNames") |> List.map asString
    let types =
        match tryField n "columnTypes" with
        | Some t -> elements t |> List.map (fun t -> if isNull t then ColumnType.String else parseColumnType t)
        | None -> names |> List.map (fun _ -> ColumnType.String)
    if types.Length <> names.Length then fail (field n "columnTypes") (sprintf "columnTypes has %d entries but columnNames has %d" types.Length names.Length)
    let cell (t: ColumnType) (v: Node) =
        if isNull v then Value.Null
        else
            match t, kind v with
            | _, Text.Json.JsonValueKind.Array -> Value.Array(elements v |> List.map (fun x -> if isNull x then Value.Null else Value.String(asString x)) |> Array.ofList)
            | ColumnType.Long, _ -> Value.Long(asInt64 v)
            | (ColumnType.Double | ColumnType.Float), _ -> Value.Double(asFloat v)
            | _ -> Value.String(asString v)
    let rows =
        elements (field n "rows") |> List.map (fun r ->
            let cells = elements r
            if cells.Length <> names.Length then fail r (sprintf "row has %d values but there are %d columns" cells.Length names.Length)
            List.map2 cell types cells |> Array.ofList)
    DataSource.Inline(List.zip names types, rows)

/// A join condition taken apart: either a constant (true joins every pair, false none) or
/// equalities between a left-side expression and a right-side column (without its prefix).
[<RequireQualifiedAccess>]
type JoinKeys =
    | Constant of bool
    | Equalities of (Expr.Expr * string) list

/// Druid's rule for native join conditions: a conjunction of equalities, each between an
/// expression of left-side columns and one right-side column reference.
let joinKeys (rightPrefix: string) (conditionText: string) (condition: Expr.Expr) : Result<JoinKeys, string> =
    let isRight (name: string) = name.StartsWith(rightPrefix, StringComparison.Ordinal)
    let leftOnly (e: Expr.Expr) = Expr.requiredColumns e |> List.forall (isRight >> not)
    let rec conjuncts (e: Expr.Expr) =
        match e with
        | ExprSyntax.Expr.Binary(ExprSyntax.And, a, b) -> conjuncts a @ conjuncts b
        | other -> [ other ]
    let equality (e: Expr.Expr) =
        match e with
        | ExprSyntax.Expr.Binary(ExprSyntax.Equal, ExprSyntax.Expr.Identifier r, l) when isRight r && leftOnly l -> Some(l, r.Substring rightPrefix.Length)
        | ExprSyntax.Expr.Binary(ExprSyntax.Equal, l, ExprSyntax.Expr.Identifier r) when isRight r && leftOnly l -> Some(l, r.Substring rightPrefix.Length)
        | _ -> None
    match condition with
    | ExprSyntax.Expr.Literal v when Expr.requiredColumns condition |> List.isEmpty -> Ok(JoinKeys.Constant(Expr.isTruthy v))
    | _ ->
        let parts = conjuncts condition |> List.map equality
        if parts |> List.forall Option.isSome then Ok(JoinKeys.Equalities(parts |> List.choose id))
        else Error(sprintf "Cannot build hash-join matcher on non-equi-join condition: %s" conditionText)

let private parseJoinType (n: Node) : JoinType =
    match (asString n).ToUpperInvariant() with
    | "INNER" -> JoinType.Inner
    | "LEFT" -> JoinType.Left
    | "RIGHT" -> JoinType.Right
    | "FULL" -> JoinType.Full
    | other -> fail n (sprintf "Unknown joinType [%s]; expected INNER, LEFT, RIGHT or FULL" (asString n))

let private parseJoin (parseSource: Node -> DataSource) (n: Node) : DataSource =
    let left = parseSource (field n "left")
    let rightNode = field n "right"
    let right =
        match tryField rightNode "type" |> Option.filter isString |> Option.map asString with
        | Some "lookup" -> fail (field rightNode "type") "dataSource type [lookup] is not supported yet as the right side of a join; use inline, query or table"
        | _ -> parseSource rightNode
    match right with
    | DataSource.Union _ -> fail rightNode "the right side of a join must be an inline, query or table data source"
    | _ -> ()
    let prefixNode = field n "rightPrefix"
    let rightPrefix = asString prefixNode
    if String.IsNullOrEmpty rightPrefix then fail prefixNode "rightPrefix must not be null or empty"
    if "__time".StartsWith(rightPrefix, StringComparison.Ordinal) then fail prefixNode (sprintf "rightPrefix [%s] must not be a prefix of __time" rightPrefix)
    let conditionNode = field n "condition"
    let conditionText = asString conditionNode
    let condition =
        match Expr.parse conditionText with
        | Ok e -> e
        | Error problem -> fail conditionNode problem
    match joinKeys rightPrefix conditionText condition with
    | Ok _ -> ()
    | Error problem -> fail conditionNode problem
    DataSource.Join(left, right, rightPrefix, condition, parseJoinType (field n "joinType"))

let rec private parseDataSourceWith (parseQuery: Node -> NativeQuery) (n: Node) : DataSource =
    if isString n then DataSource.Table(asString n)
    else
        let n = expectObject n
        match requiredString n "type" with
        | "table" -> DataSource.Table(requiredString n "name")
        | "union" ->
            let names =
                elements (field n "dataSources") |> List.map (fun d ->
                    match parseDataSourceWith parseQuery d with
                    | DataSource.Table name -> name
                    | _ -> fail d "a union may only hold tables")
            if names.IsEmpty then fail (field n "dataSources") "a union needs at least one data source"
            DataSource.Union names
        | "inline" -> parseInline n
        | "query" -> DataSource.Query(parseQuery (field n "query"))
        | "join" -> parseJoin (parseDataSourceWith parseQuery) n
        | other -> fail (field n "type") (sprintf "dataSource type [%s] is not supported yet; expected table, union, inline, query or join" other)

// ---- the kinds parsed here ------------------------------------------------------------------

let private parseScan (n: Node) : ScanQuery =
    let compacted =
        match stringOr n "resultFormat" "list" with
        | "list" -> false
        | "compactedList" -> true
        | "valueVector" -> fail (field n "resultFormat") "resultFormat [valueVector] is not supported yet"
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
    { Columns = defaultArg (optStringList n "columns") []
      Limit = limit
      Offset = offset
      Compacted = compacted
      Order = order
      BatchSize = batchSize }

let private parseSearchQuery (q: Node) : Extraction.SearchQuery =
    let q = expectObject q
    let typeNode = field q "type"
    match asString typeNode with
    | "contains" -> Extraction.Contains(requiredString q "value", boolOr q "caseSensitive" false)
    | "insensitive_contains" -> Extraction.Contains(requiredString q "value", false)
    | "fragment" -> Extraction.Fragment(elements (field q "values") |> List.map asString, boolOr q "caseSensitive" false)
    | "regex" ->
        let patternNode = field q "pattern"
        let pattern = asString patternNode
        try Text.RegularExpressions.Regex(pattern) |> ignore
        with :? ArgumentException -> fail patternNode (sprintf "Invalid regular expression [%s]" pattern)
        Extraction.SearchRegex pattern
    | t -> fail typeNode (sprintf "Unknown search query type [%s]; expected contains, insensitive_contains, fragment or regex" t)

/// A search dimension: a name or a `default` dimension spec.
let private parseSearchDimension (n: Node) : DimensionSpec =
    if isString n then DimensionSpec.Default(asString n, asString n, ColumnType.String)
    else
        let n = expectObject n
        match stringOr n "type" "default" with
        | "default" ->
            let d = requiredString n "dimension"
            DimensionSpec.Default(d, stringOr n "outputName" d, ColumnType.String)
        | other -> fail (field n "type") (sprintf "searchDimensions entry of type [%s] is not supported yet; use a name or a default spec" other)

let private parseSearch (n: Node) : SearchSpec =
    let sort =
        match tryField n "sort" with
        | None -> Ordering.StringOrdering.Lexicographic
        | Some s ->
            let typeNode = if isObject s then field s "type" else s
            match Ordering.tryParse (asString typeNode) with
            | Some o -> o
            | None -> fail typeNode (sprintf "Unknown search sort [%s]; expected lexicographic, alphanumeric, strlen or numeric" (asString typeNode))
    let limit = intOr n "limit" 1000
    if limit <= 0 then fail (field n "limit") "limit must be positive"
    { Granularity = tryField n "granularity" |> Option.map IngestSpec.parseGranularity |> Option.defaultValue Time.Granularity.All
      SearchDimensions = tryField n "searchDimensions" |> Option.map (fun d -> (if isArray d then elements d else [ d ]) |> List.map parseSearchDimension)
      Query = parseSearchQuery (field n "query")
      Sort = sort
      Limit = limit }

let private analysisTypeOf (n: Node) : AnalysisType =
    match (asString n).ToLowerInvariant() with
    | "cardinality" -> AnalysisType.Cardinality
    | "size" -> AnalysisType.Size
    | "interval" -> AnalysisType.Interval
    | "aggregators" -> AnalysisType.Aggregators
    | "querygranularity" -> AnalysisType.QueryGranularity
    | "rollup" -> AnalysisType.Rollup
    | "minmax" -> AnalysisType.MinMax
    | "timestampspec" -> AnalysisType.TimestampSpec
    | other -> fail n (sprintf "Unknown analysisType [%s]; expected cardinality, size, interval, aggregators, queryGranularity, rollup, minmax or timestampSpec" other)

let private parseSegmentMetadata (n: Node) : SegmentMetadataQuery =
    let includes =
        match tryField n "toInclude" with
        | None -> ColumnIncluderator.All
        | Some t ->
            match requiredString t "type" with
            | "all" -> ColumnIncluderator.All
            | "none" -> ColumnIncluderator.NoColumns
            | "list" -> ColumnIncluderator.List(elements (field t "columns") |> List.map asString)
            | other -> fail (field t "type") (sprintf "Unknown toInclude type [%s]; expected all, none or list" other)
    { AnalysisTypes =
        match tryField n "analysisTypes" with
        | Some a -> elements a |> List.map analysisTypeOf |> List.distinct
        | None -> [ AnalysisType.Cardinality; AnalysisType.Interval; AnalysisType.MinMax ]
      Merge = boolOr n "merge" false
      LenientAggregatorMerge = boolOr n "lenientAggregatorMerge" false
      ToInclude = includes }

let private parseBound (n: Node) : Bound =
    match optString n "bound" with
    | None -> Bound.Both
    | Some "minTime" -> Bound.MinTime
    | Some "maxTime" -> Bound.MaxTime
    | Some other -> fail (field n "bound") (sprintf "Unknown bound [%s]; expected minTime or maxTime" other)

// ---- the whole query ------------------------------------------------------------------------

let rec parse (n: Node) : NativeQuery =
    let n = expectObject n
    let queryType = requiredString n "queryType"
    let dataSource = parseDataSourceWith parse (field n "dataSource")
    let virtualColumns = QueryParse.parseVirtualColumns n
    let filter = tryField n "filter" |> Option.map Filter.parse
    let context = parseContext n
    let kind =
        match queryType with
        | "scan" -> QueryKind.Scan(parseScan n)
        | "search" -> QueryKind.Search(parseSearch n)
        | "timeBoundary" -> QueryKind.TimeBoundary(parseBound n)
        | "segmentMetadata" -> QueryKind.SegmentMetadata(parseSegmentMetadata n)
        | "dataSourceMetadata" -> QueryKind.DataSourceMetadata
        | "select" -> fail (field n "queryType") "Query type [select] was removed from Druid (0.17); use scan"
        | "timeseries" | "topN" | "groupBy" -> QueryParse.parseAggregatingKind queryType n context
        | other ->
            fail (field n "queryType")
                (sprintf "Unknown query type [%s]; expected one of timeseries, topN, groupBy, %s" other (String.Join(", ", surfaceKinds)))
    if queryType <> "timeBoundary" && queryType <> "segmentMetadata" && queryType <> "dataSourceMetadata" && not (hasField n "intervals") then
        fail n "intervals is required but missing"
    let intervals = parseIntervals (tryField n "intervals")
    { DataSource = dataSource; Intervals = intervals; Filter = filter; VirtualColumns = virtualColumns; Kind = kind; Context = context }

let parseText (text: string) : Result<NativeQuery, string * string> = Json.run text parse

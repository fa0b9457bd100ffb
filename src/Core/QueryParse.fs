/// Parsers for the aggregating native queries (timeseries, topN, groupBy) and their parts:
/// dimension specs, virtual columns, having specs, limit specs and topN metric specs, in
/// Druid's JSON shapes, plus post-aggregators. QueryParseSurface.parse reads the whole query.
module FunctionalDruid.Core.QueryParse

open System
open FunctionalDruid.Core
open FunctionalDruid.Core.Json
open FunctionalDruid.Core.Query

let private outputTypeOf (n: Node) : ColumnType =
    match tryField n "outputType" with
    | None -> ColumnType.String
    | Some t ->
        let scalar (text: string) =
            match text with
            | "STRING" -> Some ColumnType.String
            | "LONG" -> Some ColumnType.Long
            | "FLOAT" -> Some ColumnType.Float
            | "DOUBLE" -> Some ColumnType.Double
            | _ -> None
        let text = (asString t).Trim().ToUpperInvariant()
        let arrayElement = if text.StartsWith "ARRAY<" && text.EndsWith ">" then scalar (text.Substring(6, text.Length - 7)) else None
        match scalar text, arrayElement with
        | Some scalarType, _ -> scalarType
        | None, Some element -> ColumnType.Array element
        | None, None -> fail t (sprintf "Unknown outputType [%s]; expected STRING, LONG, FLOAT, DOUBLE or ARRAY<STRING|LONG|DOUBLE>" text)

let private checkRegex (n: Node) =
    let pattern = asString n
    try Text.RegularExpressions.Regex(pattern) |> ignore
    with :? ArgumentException -> fail n (sprintf "Invalid regular expression [%s]" pattern)
    pattern

/// A dimension spec: a column name, or a `default`, `extraction` (also with the legacy
/// `dimExtractionFn` key), `lookup` (inline map), `listFiltered`, `regexFiltered` or
/// `prefixFiltered` object.
let rec parseDimensionSpec (node: Node) : DimensionSpec =
    if isString node then
        let d = asString node
        DimensionSpec.Default(d, d, ColumnType.String)
    else
        let n = expectObject node
        let delegateSpec () = parseDimensionSpec (field n "delegate")
        match stringOr n "type" "default" with
        | "default" ->
            let d = requiredString n "dimension"
            DimensionSpec.Default(d, stringOr n "outputName" d, outputTypeOf n)
        | "extraction" ->
            let d = requiredString n "dimension"
            let fnNode =
                match tryField n "extractionFn", tryField n "dimExtractionFn" with
                | Some f, _ | None, Some f -> f
                | None, None -> fail n "extractionFn is required but missing"
            DimensionSpec.Extraction(d, stringOr n "outputName" d, outputTypeOf n, Extraction.parse fnNode)
        | "lookup" ->
            let d = requiredString n "dimension"
            let lookupNode =
                match tryField n "lookup" with
                | Some l -> l
                | None -> fail n "registered lookups (name) are not supported; give an inline map lookup"
            let asFn =
                // The spec's own options wrap the inline map as a lookup extraction function.
                let map = properties (field lookupNode "map") |> List.map (fun (k, v) -> k, (if isNull v then null else asString v))
                let replaceWith = optString n "replaceMissingValueWith" |> Option.filter (fun s -> s <> "")
                Extraction.ExtractionFn.Lookup(map, boolOr n "retainMissingValue" false, replaceWith, boolOr n "optimize" true)
            DimensionSpec.Extraction(d, stringOr n "outputName" d, ColumnType.String, asFn)
        | "listFiltered" ->
            let inner = delegateSpec ()
            let values = match tryField n "values" with Some v -> elements v |> List.map asString | None -> fail n "values cannot be null"
            DimensionSpec.ListFiltered(inner, values, boolOr n "isWhitelist" true)
        | "regexFiltered" ->
            let inner = delegateSpec ()
            DimensionSpec.RegexFiltered(inner, checkRegex (field n "pattern"))
        | "prefixFiltered" ->
            let inner = delegateSpec ()
            DimensionSpec.PrefixFiltered(inner, requiredString n "prefix")
        | t -> fail (field n "type") (sprintf "Unknown dimensionSpec type [%s]" t)

/// `virtualColumns`: only `expression` columns exist without extensions.
let parseVirtualColumns (n: Node) : VirtualColumn list =
    match tryField n "virtualColumns" with
    | None -> []
    | Some list ->
        let columns =
            elements list |> List.map (fun v ->
                let v = expectObject v
                let typeNode = field v "type"
                match asString typeNode with
                | "expression" ->
                    let name = requiredString v "name"
                    if name = "__time" then fail (field v "name") "virtualColumn name[__time] not allowed"
                    let exprNode = field v "expression"
                    let text = asString exprNode
                    let parsed = match Expr.parse text with Ok e -> e | Error problem -> fail exprNode problem
                    let outputType = if hasField v "outputType" then Some(outputTypeOf v) else None
                    { Name = name; Expression = text; Parsed = parsed; OutputType = outputType }
                | t -> fail typeNode (sprintf "Unknown virtualColumn type [%s]" t))
        match columns |> List.countBy (fun c -> c.Name) |> List.tryFind (fun (_, c) -> c > 1) with
        | Some(name, _) -> fail list (sprintf "Duplicate virtualColumns are not allowed: [%s]" name)
        | None -> columns

/// A JSON number (or numeric string) as a Long when whole, else a Double.
let private numberValue (n: Node) : Value =
    let text = if isString n then (asString n).Trim() else rawText n
    match Value.parseLongText text with
    | Some l -> Value.Long l
    | None ->
        match Value.parseDoubleText text with
        | Some d -> Value.Double d
        | None -> fail n (sprintf "expected a number but found \"%s\"" text)

/// groupBy `having` specs.
let rec parseHaving (node: Node) : Having =
    let n = expectObject node
    let typeNode = field n "type"
    let compared () = requiredString n "aggregation", numberValue (field n "value")
    let specs () = elements (field n "havingSpecs") |> List.map parseHaving
    match asString typeNode with
    | "filter" -> Having.Filter(Filter.parse (field n "filter"))
    | "greaterThan" -> Having.GreaterThan(compared ())
    | "lessThan" -> Having.LessThan(compared ())
    | "equalTo" -> Having.EqualTo(compared ())
    | "dimSelector" ->
        if hasField n "extractionFn" then fail (field n "extractionFn") "extractionFn is not supported in dimSelector having specs"
        Having.DimSelector(requiredString n "dimension", optString n "value")
    | "and" -> Having.And(specs ())
    | "or" -> Having.Or(specs ())
    | "not" -> Having.Not(parseHaving (field n "havingSpec"))
    | "always" -> Having.Always
    | t -> fail typeNode (sprintf "Unknown having type [%s]" t)

let private orderingOfNode (n: Node) : Ordering.StringOrdering =
    let nameNode = if isObject n then field n "type" else n
    let name = asString nameNode
    match Ordering.tryParse name with
    | Some o -> o
    | None -> fail nameNode (sprintf "Unknown ordering [%s]" name)

let private orderByColumn (n: Node) : OrderByColumn =
    if isString n then { Column = asString n; Descending = false; Ordering = Ordering.StringOrdering.Lexicographic }
    else
        let n = expectObject n
        let descending =
            match tryField n "direction" with
            | None -> false
            | Some d ->
                match (asString d).Trim().ToLowerInvariant() with
                | "ascending" | "asc" -> false
                | "descending" | "desc" -> true
                | other -> fail d (sprintf "Unknown direction [%s]; expected ascending or descending" other)
        { Column = requiredString n "dimension"
          Descending = descending
          Ordering = tryField n "dimensionOrder" |> Option.map orderingOfNode |> Option.defaultValue Ordering.StringOrdering.Lexicographic }

/// groupBy's `default` limit spec.
let parseLimitSpec (node: Node) : LimitSpec =
    let n = expectObject node
    match stringOr n "type" "default" with
    | "default" -> ()
    | t -> fail (field n "type") (sprintf "Unknown limitSpec type [%s]" t)
    let limit = optInt n "limit"
    match limit with
    | Some l when l <= 0 -> fail (field n "limit") (sprintf "limit[%d] must be >0" l)
    | _ -> ()
    let offset = intOr n "offset" 0
    if offset < 0 then fail (field n "offset") (sprintf "offset[%d] must be >= 0" offset)
    { Columns = (match tryField n "columns" with Some c -> elements c |> List.map orderByColumn | None -> [])
      Limit = limit
      Offset = offset }

/// topN `metric`: a metric name, or `numeric`, `inverted`, `dimension` and the legacy
/// `lexicographic` / `alphaNumeric` specs.
let rec parseTopNMetric (node: Node) : TopNMetric =
    if isString node then TopNMetric.Numeric(asString node)
    else
        let n = expectObject node
        let typeNode = field n "type"
        let previousStop () = optString n "previousStop"
        match asString typeNode with
        | "numeric" -> TopNMetric.Numeric(requiredString n "metric")
        | "inverted" -> TopNMetric.Inverted(parseTopNMetric (field n "metric"))
        | "dimension" ->
            let ordering = tryField n "ordering" |> Option.map orderingOfNode |> Option.defaultValue Ordering.StringOrdering.Lexicographic
            TopNMetric.Dimension(ordering, previousStop ())
        | "lexicographic" -> TopNMetric.Dimension(Ordering.StringOrdering.Lexicographic, previousStop ())
        | "alphaNumeric" -> TopNMetric.Dimension(Ordering.StringOrdering.Alphanumeric, previousStop ())
        | t -> fail typeNode (sprintf "Unknown topN metric type [%s]" t)

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

/// A context flag given as a boolean or as the string "true"/"false".
let boolContext (ctx: (string * string) list) (key: string) =
    ctx |> List.tryFind (fun (k, _) -> k = key) |> Option.map (fun (_, v) -> v.Trim().ToLowerInvariant() = "true") |> Option.defaultValue false

let private aggregationsOf (n: Node) = match tryField n "aggregations" with Some a -> elements a |> List.map Aggregation.parse | None -> []
let private postAggregationsOf (n: Node) = match tryField n "postAggregations" with Some p -> elements p |> List.map parsePostAggregator | None -> []
let private granularityOf (n: Node) =
    tryField n "granularity" |> Option.map IngestSpec.parseGranularity |> Option.defaultValue Time.Granularity.All

let rec private postFields (p: PostAggregator) : string list =
    match p with
    | PostAggregator.FieldAccess(_, f) | PostAggregator.FinalizingFieldAccess(_, f) | PostAggregator.HyperUniqueCardinality(_, f, _) -> [ f ]
    | PostAggregator.Arithmetic(_, _, fields) | PostAggregator.OrderedArithmetic(_, _, fields, _)
    | PostAggregator.Greatest(_, _, fields) | PostAggregator.Least(_, _, fields) -> List.collect postFields fields
    | PostAggregator.Constant _ | PostAggregator.Expression _ -> []

/// Druid's checks on output names: no name twice, and every field a post-aggregator reads
/// is an earlier output.
let private checkOutputs (n: Node) (otherNames: string list) (aggs: AggregatorSpec list) (posts: PostAggregator list) =
    let names = otherNames @ List.map Aggregation.name aggs @ List.map (fun (p: PostAggregator) -> p.Name) posts
    match names |> List.countBy id |> List.tryFind (fun (_, c) -> c > 1) with
    | Some(name, _) -> fail (field n "aggregations") (sprintf "Duplicate output name [%s]" name)
    | None -> ()
    let mutable known = set (otherNames @ List.map Aggregation.name aggs)
    posts |> List.iteri (fun i p ->
        let missing = postFields p |> List.filter (fun f -> not (known.Contains f)) |> List.distinct
        if not missing.IsEmpty then
            raise (JsonError(indexPath (childPath n.Path "postAggregations") i,
                             sprintf "Missing fields [[%s]] for postAggregator [%s]" (String.Join(", ", missing)) p.Name))
        known <- known.Add p.Name)

let private parseTimeseries (n: Node) (context: (string * string) list) : QueryKind =
    let aggs = aggregationsOf n
    let posts = postAggregationsOf n
    checkOutputs n [] aggs posts
    let limit = optInt n "limit"
    match limit with
    | Some l when l <= 0 -> fail (field n "limit") (sprintf "limit[%d] must be >0" l)
    | _ -> ()
    QueryKind.Timeseries
        { Granularity = granularityOf n
          Aggregations = aggs
          PostAggregations = posts
          Descending = boolOr n "descending" false
          SkipEmptyBuckets = boolContext context "skipEmptyBuckets"
          GrandTotal = boolContext context "grandTotal"
          Limit = limit }

let private parseTopN (n: Node) : QueryKind =
    let dimension =
        match tryField n "dimension" with
        | Some d -> parseDimensionSpec d
        | None -> fail n "dimensionSpec can't be null"
    let metric =
        match tryField n "metric" with
        | Some m -> parseTopNMetric m
        | None -> fail n "must specify a metric"
    let threshold =
        match tryField n "threshold" with
        | Some t -> asInt t
        | None -> fail n "threshold is required but missing"
    if threshold = 0 then fail (field n "threshold") "Threshold cannot be equal to 0."
    let aggs = aggregationsOf n
    let posts = postAggregationsOf n
    checkOutputs n [ dimension.OutputName ] aggs posts
    let rec metricName m = match m with TopNMetric.Numeric name -> Some name | TopNMetric.Inverted inner -> metricName inner | _ -> None
    match metricName metric with
    | Some name when not (List.contains name (List.map Aggregation.name aggs @ List.map (fun (p: PostAggregator) -> p.Name) posts)) ->
        fail (field n "metric") (sprintf "Must have an AggregatorFactory or PostAggregator for metric[%s], gave aggs[%s] and postAggs[%s]" name
                                    (String.Join(", ", List.map Aggregation.name aggs)) (String.Join(", ", posts |> List.map (fun p -> p.Name))))
    | _ -> ()
    QueryKind.TopN
        { Granularity = granularityOf n
          Dimension = dimension
          Metric = metric
          Threshold = threshold
          Aggregations = aggs
          PostAggregations = posts }

let private parseGroupBy (n: Node) : QueryKind =
    let dims = match tryField n "dimensions" with Some d -> elements d |> List.map parseDimensionSpec | None -> []
    let aggs = aggregationsOf n
    let posts = postAggregationsOf n
    checkOutputs n (dims |> List.map (fun d -> d.OutputName)) aggs posts
    let subtotals =
        tryField n "subtotalsSpec"
        |> Option.map (fun s ->
            let outputs = dims |> List.map (fun d -> d.OutputName)
            elements s |> List.map (fun one ->
                let names = elements one |> List.map asString
                if names |> List.exists (fun name -> not (List.contains name outputs)) then
                    fail one (sprintf "Subtotal spec [%s] is either not a subset of top level dimensions." (String.Join(", ", names)))
                names))
    QueryKind.GroupBy
        { Granularity = granularityOf n
          Dimensions = dims
          Aggregations = aggs
          PostAggregations = posts
          Having = tryField n "having" |> Option.map parseHaving
          LimitSpec = tryField n "limitSpec" |> Option.map parseLimitSpec
          SubtotalsSpec = subtotals }

/// The kind of a timeseries, topN or groupBy query (the rest of the query is read by the
/// caller, QueryParseSurface.parse).
let parseAggregatingKind (queryType: string) (n: Node) (context: (string * string) list) : QueryKind =
    match queryType with
    | "timeseries" -> parseTimeseries n context
    | "topN" -> parseTopN n
    | "groupBy" -> parseGroupBy n
    | other -> invalidArg "queryType" (sprintf "%s is not an aggregating query type" other)

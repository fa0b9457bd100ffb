/// Native queries the planner builds → Druid's JSON (EXPLAIN PLAN FOR shows it; filtered
/// aggregators carry their filter as JSON text), and JSON results → values.
module FunctionalDruid.Sql.NativeJson

open System
open System.Text.Json
open FunctionalDruid.Core
open FunctionalDruid.Core.Query

type Out = Json.Out

let rec ofElement (e: JsonElement) : Out =
    match e.ValueKind with
    | JsonValueKind.Object -> Out.Object [ for p in e.EnumerateObject() -> p.Name, ofElement p.Value ]
    | JsonValueKind.Array -> Out.Array [ for x in e.EnumerateArray() -> ofElement x ]
    | JsonValueKind.String -> Out.String(e.GetString())
    | JsonValueKind.Number ->
        match e.TryGetInt64() with
        | true, l -> Out.Long l
        | _ -> Out.Double(e.GetDouble())
    | JsonValueKind.True -> Out.Bool true
    | JsonValueKind.False -> Out.Bool false
    | _ -> Out.Null

let ofText (text: string) : Out =
    use doc = JsonDocument.Parse text
    ofElement doc.RootElement

let rec valueOut (v: Value) : Out =
    match v with
    | Value.Null -> Out.Null
    | Value.Long l -> Out.Long l
    | Value.Double d -> Out.Double d
    | Value.String s -> Out.String s
    | Value.Array xs -> Out.Array(xs |> Array.map valueOut |> List.ofArray)

let rec outValue (o: Out) : Value =
    match o with
    | Out.Null -> Value.Null
    | Out.Bool b -> Value.Long(if b then 1L else 0L)
    | Out.Long l -> Value.Long l
    | Out.Double d -> Value.Double d
    | Out.String s -> if isNull s then Value.Null else Value.String s
    | Out.Array xs -> Value.Array(xs |> List.map outValue |> Array.ofList)
    | Out.Object _ -> Value.String(Json.Out.toText false o)

let private str (s: string) = Out.String s

let rec filterOut (f: Filter.Filter) : Out =
    match f with
    | Filter.Selector(d, v) -> Out.Object [ "type", str "selector"; "dimension", str d; "value", (match v with Some s -> str s | None -> Out.Null) ]
    | Filter.Equality(c, t, v) -> Out.Object [ "type", str "equals"; "column", str c; "matchValueType", str t; "matchValue", valueOut v ]
    | Filter.In(d, vs) -> Out.Object [ "type", str "in"; "dimension", str d; "values", Out.Array(vs |> List.map (function Some s -> str s | None -> Out.Null)) ]
    | Filter.Range r ->
        Out.Object
            [ yield "type", str "range"
              yield "column", str r.Column
              yield "matchValueType", str r.MatchValueType
              if r.Lower <> Value.Null then yield "lower", valueOut r.Lower
              if r.Upper <> Value.Null then yield "upper", valueOut r.Upper
              if r.LowerOpen then yield "lowerOpen", Out.Bool true
              if r.UpperOpen then yield "upperOpen", Out.Bool true ]
    | Filter.Null c -> Out.Object [ "type", str "null"; "column", str c ]
    | Filter.Like(d, p, e) -> Out.Object [ yield "type", str "like"; yield "dimension", str d; yield "pattern", str p; match e with Some e -> yield "escape", str e | None -> () ]
    | Filter.Expression(text, _) -> Out.Object [ "type", str "expression"; "expression", str text ]
    | Filter.True -> Out.Object [ "type", str "true" ]
    | Filter.False -> Out.Object [ "type", str "false" ]
    | Filter.And fs -> Out.Object [ "type", str "and"; "fields", Out.Array(List.map filterOut fs) ]
    | Filter.Or fs -> Out.Object [ "type", str "or"; "fields", Out.Array(List.map filterOut fs) ]
    | Filter.Not f -> Out.Object [ "type", str "not"; "field", filterOut f ]
    | other -> Out.Object [ "type", str "unknown"; "description", str (sprintf "%A" other) ]

let filterText (f: Filter.Filter) = Json.Out.toText false (filterOut f)

let rec private postOut (p: PostAggregator) : Out =
    match p with
    | PostAggregator.Arithmetic(n, fn, fields) -> Out.Object [ "type", str "arithmetic"; "name", str n; "fn", str fn; "fields", Out.Array(List.map postOut fields) ]
    | PostAggregator.FieldAccess(n, f) -> Out.Object [ "type", str "fieldAccess"; "name", str n; "fieldName", str f ]
    | PostAggregator.Constant(n, v) -> Out.Object [ "type", str "constant"; "name", str n; "value", valueOut v ]
    | PostAggregator.Expression(n, e) -> Out.Object [ "type", str "expression"; "name", str n; "expression", str (ExprText.toText e) ]
    | PostAggregator.Greatest(n, asLong, fs) -> Out.Object [ "type", str (if asLong then "longGreatest" else "doubleGreatest"); "name", str n; "fields", Out.Array(List.map postOut fs) ]
    | PostAggregator.Least(n, asLong, fs) -> Out.Object [ "type", str (if asLong then "longLeast" else "doubleLeast"); "name", str n; "fields", Out.Array(List.map postOut fs) ]
    | PostAggregator.FinalizingFieldAccess(n, f) -> Out.Object [ "type", str "finalizingFieldAccess"; "name", str n; "fieldName", str f ]
    | PostAggregator.HyperUniqueCardinality(n, f, round) ->
        Out.Object [ yield "type", str "hyperUniqueCardinality"; yield "name", str n; yield "fieldName", str f; if round then yield "round", Out.Bool true ]
    | PostAggregator.OrderedArithmetic(n, fn, fields, ordering) ->
        Out.Object [ "type", str "arithmetic"; "name", str n; "fn", str fn; "fields", Out.Array(List.map postOut fields); "ordering", str ordering ]

let private dimensionOut (d: DimensionSpec) : Out =
    match d with
    | DimensionSpec.Default(dim, output, t) -> Out.Object [ "type", str "default"; "dimension", str dim; "outputName", str output; "outputType", str t.DruidName ]
    | other -> Out.Object [ "type", str "default"; "dimension", str other.Dimension; "outputName", str other.OutputName ]

let private granularityOut (g: Time.Granularity) : Out =
    match g with
    | Time.Granularity.Period(p, zone, origin, _) ->
        Out.Object
            [ yield "type", str "period"
              yield "period", str (Time.formatPeriod p)
              yield "timeZone", str zone.Id
              match origin with Some o -> yield "origin", str (Time.formatIso o) | None -> () ]
    | g ->
        match Time.granularityName g with
        | Some n -> str (n.ToLowerInvariant())
        | None -> str "all"

let private orderingName (o: Ordering.StringOrdering) = (sprintf "%A" o).ToLowerInvariant()

let rec queryOut (q: NativeQuery) : Out =
    let dataSource =
        match q.DataSource with
        | DataSource.Table n -> Out.Object [ "type", str "table"; "name", str n ]
        | DataSource.Query inner -> Out.Object [ "type", str "query"; "query", queryOut inner ]
        | DataSource.Inline(cols, rows) ->
            Out.Object [ "type", str "inline"; "columnNames", Out.Array(cols |> List.map (fst >> str)); "columnTypes", Out.Array(cols |> List.map (fun (_, t) -> str t.DruidName))
                         "rows", Out.Array(rows |> List.map (fun r -> Out.Array(r |> Array.map valueOut |> List.ofArray))) ]
        | DataSource.Union ns -> Out.Object [ "type", str "union"; "dataSources", Out.Array(ns |> List.map (fun n -> Out.Object [ "type", str "table"; "name", str n ])) ]
        | DataSource.Join(l, r, prefix, cond, jt) ->
            Out.Object [ "type", str "join"; "rightPrefix", str prefix; "condition", str (ExprText.toText cond); "joinType", str ((sprintf "%A" jt).ToUpperInvariant()) ]
    let intervals = Out.Object [ "type", str "intervals"; "intervals", Out.Array(q.Intervals |> List.map (Time.formatInterval >> str)) ]
    let common =
        [ "dataSource", dataSource
          "intervals", intervals
          if not q.VirtualColumns.IsEmpty then
              "virtualColumns",
              Out.Array(
                  q.VirtualColumns
                  |> List.map (fun v ->
                      Out.Object
                          [ yield "type", str "expression"
                            yield "name", str v.Name
                            yield "expression", str v.Expression
                            match v.OutputType with Some t -> yield "outputType", str t.DruidName | None -> () ])
              )
          match q.Filter with Some f -> "filter", filterOut f | None -> () ]
    let aggs (a: AggregatorSpec list) = Out.Array(a |> List.map (Aggregation.toJson >> ofText))
    let posts (p: PostAggregator list) = Out.Array(List.map postOut p)
    let context = "context", Out.Object(q.Context |> List.map (fun (k, v) -> k, str v))
    let fields =
        match q.Kind with
        | QueryKind.Timeseries t ->
            [ "queryType", str "timeseries" ] @ common
            @ [ "granularity", granularityOut t.Granularity; "aggregations", aggs t.Aggregations; "postAggregations", posts t.PostAggregations
                if t.Descending then "descending", Out.Bool true
                match t.Limit with Some l -> "limit", Out.Long(int64 l) | None -> ()
                context ]
        | QueryKind.TopN t ->
            let rec metric m =
                match m with
                | TopNMetric.Numeric n -> Out.Object [ "type", str "numeric"; "metric", str n ]
                | TopNMetric.Inverted inner -> Out.Object [ "type", str "inverted"; "metric", metric inner ]
                | TopNMetric.Dimension(o, _) -> Out.Object [ "type", str "dimension"; "ordering", str (orderingName o) ]
            [ "queryType", str "topN" ] @ common
            @ [ "granularity", granularityOut t.Granularity; "dimension", dimensionOut t.Dimension; "metric", metric t.Metric; "threshold", Out.Long(int64 t.Threshold)
                "aggregations", aggs t.Aggregations; "postAggregations", posts t.PostAggregations; context ]
        | QueryKind.GroupBy g ->
            [ "queryType", str "groupBy" ] @ common
            @ [ "granularity", granularityOut g.Granularity
                "dimensions", Out.Array(List.map dimensionOut g.Dimensions)
                "aggregations", aggs g.Aggregations
                "postAggregations", posts g.PostAggregations
                match g.Having with
                | Some(Having.Filter f) -> "having", Out.Object [ "type", str "filter"; "filter", filterOut f ]
                | _ -> ()
                match g.LimitSpec with
                | Some l ->
                    "limitSpec",
                    Out.Object
                        [ yield "type", str "default"
                          yield "columns", Out.Array(l.Columns |> List.map (fun c -> Out.Object [ "dimension", str c.Column; "direction", str (if c.Descending then "descending" else "ascending"); "dimensionOrder", str (orderingName c.Ordering) ]))
                          match l.Limit with Some n -> yield "limit", Out.Long(int64 n) | None -> ()
                          if l.Offset > 0 then yield "offset", Out.Long(int64 l.Offset) ]
                | None -> ()
                match g.SubtotalsSpec with
                | Some s -> "subtotalsSpec", Out.Array(s |> List.map (fun set -> Out.Array(List.map str set)))
                | None -> ()
                context ]
        | QueryKind.Scan s ->
            [ "queryType", str "scan" ] @ common
            @ [ "resultFormat", str (if s.Compacted then "compactedList" else "list")
                match s.Limit with Some l -> "limit", Out.Long l | None -> ()
                if s.Offset > 0L then "offset", Out.Long s.Offset
                "columns", Out.Array(List.map str s.Columns)
                "order", str (match s.Order with ScanOrder.Ascending -> "ascending" | ScanOrder.Descending -> "descending" | ScanOrder.NoOrder -> "none")
                context ]
        | other -> [ "queryType", str ((sprintf "%A" other).Split(' ').[0]) ] @ common @ [ context ]
    Out.Object fields

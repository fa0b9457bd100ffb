/// Druid SQL plans `COUNT(DISTINCT x)` beside other aggregates (`SUM(y)`, `COUNT(*)` …
/// `GROUP BY z`) as a groupBy by (z, x) with the other aggregates, re-aggregated by z. Every
/// aggregate then goes through all (z, x) groups, millions of them for x a user id. The sums,
/// counts, minima and maxima re-aggregate to what a groupBy by z alone gives, so the outer query
/// can read two subqueries instead: the (z, x) groups without aggregators, for the distinct
/// counts, and a groupBy by z with the aggregators, for the rest. Each outer aggregator reads
/// columns that only one of them has (the other's rows are null to it), so the outer query over
/// both answers exactly what it answers over the one it names.
module FunctionalDruid.Core.Reaggregation

open FunctionalDruid.Core
open FunctionalDruid.Core.Query

/// Whether re-aggregating the long outputs of `inner` over groups with `op` gives `inner` over
/// their rows: sums of counts and of long sums, minima of long minima, maxima of long maxima.
let rec private reaggregatesAs (op: NumericOp) (inner: AggregatorSpec) =
    match inner with
    | AggregatorSpec.Count _ -> op = NumericOp.Sum
    | AggregatorSpec.Numeric n -> n.Type = NumericType.Long && n.Op = op
    | AggregatorSpec.Filtered(_, _, spec) -> reaggregatesAs op spec
    | _ -> false

/// An outer aggregator: a count of inner groups whose dimension is not null (Some(Choice1Of2
/// dimension)), or a long re-aggregation of an inner aggregator (Some(Choice2Of2 name)).
let private outerUse (innerDims: Map<string, DimensionSpec>) (innerAggs: Map<string, AggregatorSpec>) (spec: AggregatorSpec) =
    match spec with
    | AggregatorSpec.Filtered(_, filterJson, AggregatorSpec.Count _) ->
        match Json.run filterJson Filter.parse with
        | Ok(Filter.Not(Filter.Null column)) when innerDims.ContainsKey column -> Some(Choice1Of2 column)
        | _ -> None
    | AggregatorSpec.Numeric { Type = NumericType.Long; Op = op; FieldName = Some field; Expression = None } ->
        match innerAggs.TryFind field with
        | Some inner when reaggregatesAs op inner -> Some(Choice2Of2 field)
        | _ -> None
    | _ -> None

/// For an outer topN or groupBy that fits (see the module comment), the two subqueries it can
/// read instead of its own: the inner groups without aggregators, and the inner groupBy by the
/// outer dimensions with the aggregators the outer query re-aggregates.
let split (q: NativeQuery) : (NativeQuery * NativeQuery) option =
    let outerShape =
        match q.Kind with
        | QueryKind.TopN t when t.Granularity = Time.Granularity.All -> Some([ t.Dimension ], t.Aggregations)
        | QueryKind.GroupBy g when g.Granularity = Time.Granularity.All && g.SubtotalsSpec.IsNone -> Some(g.Dimensions, g.Aggregations)
        | _ -> None
    match outerShape, q.DataSource with
    | Some(outerDims, outerAggs), DataSource.Query({ DataSource = DataSource.Table _; Kind = QueryKind.GroupBy inner } as innerQuery)
        when q.Filter.IsNone && q.VirtualColumns.IsEmpty && inner.Granularity = Time.Granularity.All
             && QueryResults.isPlainContent inner && not inner.Aggregations.IsEmpty ->
        let innerDims = inner.Dimensions |> List.map (fun d -> d.OutputName, d) |> Map.ofList
        let innerAggs = inner.Aggregations |> List.map (fun a -> Aggregation.name a, a) |> Map.ofList
        // Outer dimensions: inner ones as they are.
        let grouped =
            outerDims |> List.map (fun d ->
                match d, innerDims.TryFind d.Dimension with
                | DimensionSpec.Default(_, _, t), Some(DimensionSpec.Default(_, _, innerType) as innerDim) when t = innerType -> Some innerDim
                | _ -> None)
        let uses = outerAggs |> List.map (outerUse innerDims innerAggs)
        if grouped |> List.exists Option.isNone || uses |> List.exists Option.isNone then None
        else
        let groupedNames = grouped |> List.map (fun d -> d.Value.OutputName) |> Set.ofList
        let counted = uses |> List.choose (function Some(Choice1Of2 d) -> Some d | _ -> None)
        let reaggregated = uses |> List.choose (function Some(Choice2Of2 a) -> Some a | _ -> None) |> Set.ofList
        // Both kinds present (otherwise one subquery is the original), the counted dimensions
        // not among the grouped ones (their groups would differ between the two).
        if counted.IsEmpty || reaggregated.IsEmpty || counted |> List.exists groupedNames.Contains then None
        else
            let distinctGroups = { innerQuery with Kind = QueryKind.GroupBy { inner with Aggregations = [] } }
            let byOuterDimensions =
                { innerQuery with
                    Kind =
                        QueryKind.GroupBy
                            { inner with
                                Dimensions = inner.Dimensions |> List.filter (fun d -> groupedNames.Contains d.OutputName)
                                Aggregations = inner.Aggregations |> List.filter (fun a -> reaggregated.Contains(Aggregation.name a)) } }
            Some(distinctGroups, byOuterDimensions)
    | _ -> None

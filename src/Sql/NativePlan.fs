/// Plans a SELECT over one Druid table as the native query Druid would issue: `__time`
/// bounds become intervals, WHERE a filter, no grouping or only a time floor a timeseries,
/// one dimension ordered by a metric with a limit a topN, other grouping a groupBy, and no
/// aggregation a scan. Expressions become virtual columns, expression filters and
/// post-aggregators; GROUP BY keys that are functions of other keys are post-aggregators too
/// (see DependentKeys). Shapes outside this return None and run through the in-memory operators.
module FunctionalDruid.Sql.NativePlan

open System
open FunctionalDruid.Core
open FunctionalDruid.Core.Query
open FunctionalDruid.Sql.Ast
open FunctionalDruid.Sql.Translate

/// A native query and how its result rows become the SQL output columns.
type Plan =
    { Query: NativeQuery
      /// Output name, SQL type and the result field holding it.
      Outputs: (string * SqlType * string) list
      /// The timeseries bucket field (read from the result's timestamp).
      TimeField: string option
      /// GROUP BY () / aggregates without grouping: an empty input still yields one row.
      AlwaysOneRow: bool
      /// Result rows to skip (timeseries has no offset).
      Offset: int
      /// Result fields that are SQL COUNTs re-aggregated as sums of partial counts: 0, not
      /// null, over no input.
      CountFields: Set<string> }

exception private NotNative of string

let private notNative reason : 'a = raise (NotNative reason)

let rec private druidTypeOf (t: SqlType) =
    match t with
    | SqlType.Varchar -> ColumnType.String
    | SqlType.Double -> ColumnType.Double
    | SqlType.Float -> ColumnType.Float
    | SqlType.Array element -> ColumnType.Array(druidTypeOf element)
    | SqlType.Other "COMPLEX<json>" -> ColumnType.Complex ComplexJson.TypeName
    | _ -> ColumnType.Long

let private matchType (t: SqlType) =
    match t with
    | SqlType.Varchar -> "STRING"
    | SqlType.Double | SqlType.Float -> "DOUBLE"
    | _ -> "LONG"

/// The time-floor period of a grouping expression over `__time`, if it is one.
let private timeFloorOf (scope: Scope) (e: Ast.Expr) : Time.Granularity option =
    let constText (x: Ast.Expr) = SqlRewrite.constantValue scope x |> Option.map Value.toStringOrNull
    let isTime (x: Ast.Expr) = match x with Expr.Column(_, "__time") -> true | _ -> false
    let granularity (period: string option) (zone: string option) =
        match period |> Option.bind Time.tryParsePeriod with
        | Some p ->
            let zone = zone |> Option.bind Time.tryParseZone |> Option.defaultValue scope.Zone
            Some(Time.Granularity.Period(p, zone, None, None))
        | None -> None
    match e with
    | Expr.Call("TIME_FLOOR", _, [ t; p ], None, None) when isTime t -> granularity (constText p) None
    | Expr.Call("TIME_FLOOR", _, [ t; p; Expr.Literal Literal.Null ], None, None) when isTime t -> granularity (constText p) None
    | Expr.Call("TIME_FLOOR", _, [ t; p; Expr.Literal Literal.Null; z ], None, None) when isTime t -> granularity (constText p) (constText z)
    | Expr.FloorTo(false, t, unit) when isTime t -> granularity (periodOfUnit unit) None
    | Expr.Call("DATE_TRUNC", _, [ u; t ], None, None) when isTime t -> granularity (constText u |> Option.bind periodOfUnit) None
    | Expr.Column(_, "__time") -> Some Time.Granularity.NoTruncation
    | _ -> None

/// Builds native filters where a native filter means the same as the SQL predicate.
let rec toFilter (scope: Scope) (e: Ast.Expr) : Filter.Filter =
    let columnOf (x: Ast.Expr) =
        match x with
        // After GROUP BY (HAVING), a grouped column reads as its dimension.
        | Expr.Column(q, n) -> Some(match scope.Substitute x with Some f -> f | None -> resolve scope q n)
        | _ -> None
    let constOf (x: Ast.Expr) = SqlRewrite.constantValue scope x
    let typed (f: Field) (v: Value) =
        match f.Type, v with
        | SqlType.Varchar, v -> Value.String(Value.toStringOrNull v)
        | (SqlType.Double | SqlType.Float), v -> (match Value.toDouble v with Some d -> Value.Double d | None -> v)
        | _, Value.String s when f.Type.IsTime -> (match parseTimestampText scope.Zone s with Some ms -> Value.Long ms | None -> v)
        | _, Value.String s -> (match Value.parseLongText s with Some l -> Value.Long l | None -> (match Value.parseDoubleText s with Some d -> Value.Double d | None -> v))
        | _ -> v
    let expression () =
        let d, _ = translate scope e
        Filter.Expression(ExprText.toText d, d)
    let compare (op: BinaryOp) (f: Field) (v: Value) =
        match f.Type, v with
        | SqlType.Array _, _ | _, Value.Array _ ->
            // Arrays compare whole: equality as an array match value, order by the expression
            // (element by element, nulls first, then length).
            match op with
            | BinaryOp.Eq -> Filter.Equality(f.Key, f.Type.NativeName, v)
            | BinaryOp.Ne -> Filter.Not(Filter.Equality(f.Key, f.Type.NativeName, v))
            | _ -> expression ()
        | _ ->
        let v = typed f v
        let t = match v with Value.Double _ -> "DOUBLE" | _ -> matchType f.Type
        let range lower upper lo uo = Filter.Range { Column = f.Key; MatchValueType = t; Lower = lower; Upper = upper; LowerOpen = lo; UpperOpen = uo }
        match op with
        | BinaryOp.Eq -> Filter.Equality(f.Key, t, v)
        | BinaryOp.Ne -> Filter.Not(Filter.Equality(f.Key, t, v))
        | BinaryOp.Lt -> range Value.Null v false true
        | BinaryOp.Le -> range Value.Null v false false
        | BinaryOp.Gt -> range v Value.Null true false
        | _ -> range v Value.Null false false
    let flip (op: BinaryOp) =
        match op with
        | BinaryOp.Lt -> BinaryOp.Gt
        | BinaryOp.Le -> BinaryOp.Ge
        | BinaryOp.Gt -> BinaryOp.Lt
        | BinaryOp.Ge -> BinaryOp.Le
        | o -> o
    let isComparison op = match op with BinaryOp.Eq | BinaryOp.Ne | BinaryOp.Lt | BinaryOp.Le | BinaryOp.Gt | BinaryOp.Ge -> true | _ -> false
    match e with
    | Expr.Binary(BinaryOp.And, a, b) -> Filter.And(flattenAnd (toFilter scope a) @ flattenAnd (toFilter scope b))
    | Expr.Binary(BinaryOp.Or, a, b) -> Filter.Or [ toFilter scope a; toFilter scope b ]
    | Expr.Not x -> Filter.Not(toFilter scope x)
    | Expr.Binary(op, l, r) when isComparison op ->
        match columnOf l, constOf r, columnOf r, constOf l with
        | Some f, Some v, _, _ when v <> Value.Null -> compare op f v
        | _, _, Some f, Some v when v <> Value.Null -> compare (flip op) f v
        | _ -> expression ()
    | Expr.InList(x, values, negated) ->
        match columnOf x, values |> List.map constOf with
        | Some _, consts when negated && consts |> List.exists (fun c -> c = Some Value.Null) ->
            // x NOT IN (..., NULL) is never true.
            Filter.False
        | Some f, consts when consts |> List.forall Option.isSome ->
            let vs = consts |> List.map Option.get |> List.filter (fun v -> v <> Value.Null)
            let inner =
                if f.Type = SqlType.Varchar then Filter.In(f.Key, vs |> List.map (fun v -> Option.ofObj (Value.toStringOrNull v)))
                else Filter.Or(vs |> List.map (compare BinaryOp.Eq f))
            if negated then Filter.Not inner else inner
        | _ -> expression ()
    | Expr.IsNull(x, negated) ->
        match columnOf x with
        | Some f -> if negated then Filter.Not(Filter.Null f.Key) else Filter.Null f.Key
        | None -> expression ()
    | Expr.Like(x, Expr.Literal(Literal.String p), esc, negated) ->
        match columnOf x, esc with
        | Some f, (None | Some(Expr.Literal(Literal.String _))) ->
            let escape = match esc with Some(Expr.Literal(Literal.String s)) -> Some s | _ -> None
            let like = Filter.Like(f.Key, p, escape)
            if negated then Filter.Not like else like
        | _ -> expression ()
    | Expr.Between(x, lo, hi, false) ->
        match columnOf x, constOf lo, constOf hi with
        | Some f, Some a, Some b when a <> Value.Null && b <> Value.Null -> Filter.And [ compare BinaryOp.Ge f a; compare BinaryOp.Le f b ]
        | _ -> expression ()
    | Expr.Literal(Literal.Bool true) -> Filter.True
    | Expr.Literal(Literal.Bool false) -> Filter.False
    | _ -> expression ()

and private flattenAnd (f: Filter.Filter) = match f with Filter.And fs -> fs | f -> [ f ]

/// The WHERE filter without the `__time` bounds already moved into the intervals.
let private residualWhere (where: Ast.Expr option) : Ast.Expr option =
    let isTimeBound (c: Ast.Expr) =
        match c with
        | Expr.Binary((BinaryOp.Ge | BinaryOp.Gt | BinaryOp.Lt | BinaryOp.Le), Expr.Column(_, "__time"), r) -> (Translate.children r).IsEmpty || (match r with Expr.Call _ | Expr.Cast _ -> true | _ -> false)
        | Expr.Binary((BinaryOp.Ge | BinaryOp.Gt | BinaryOp.Lt | BinaryOp.Le), l, Expr.Column(_, "__time")) -> (Translate.children l).IsEmpty || (match l with Expr.Call _ | Expr.Cast _ -> true | _ -> false)
        | _ -> false
    match where with
    | None -> None
    | Some w ->
        match SqlRewrite.conjuncts w |> List.filter (isTimeBound >> not) with
        | [] -> None
        | c :: rest -> Some(rest |> List.fold (fun a b -> Expr.Binary(BinaryOp.And, a, b)) c)

let private aggregatorFor (scope: Scope) (approxDistinct: bool) (addVirtual: DExpr -> SqlType -> string) (name: string) (call: Ast.Expr) : AggregatorSpec list * PostAggregator option * SqlType =
    match call with
    | Expr.Call(fn, distinct, args, filter, None) ->
        let inputOf (x: Ast.Expr) =
            let d, t = translate scope x
            match d with
            | DExpr.Identifier key -> key, t
            | _ -> addVirtual d t, t
        let wrap (spec: AggregatorSpec) =
            match filter with
            | Some f -> AggregatorSpec.Filtered(None, NativeJson.filterText (toFilter scope f), spec)
            | None -> spec
        let numeric op (key: string) (t: SqlType) =
            let nt = match t with SqlType.Double -> NumericType.Double | SqlType.Float -> NumericType.Float | _ -> NumericType.Long
            AggregatorSpec.Numeric { Name = name; Type = nt; Op = op; FieldName = Some key; Expression = None }
        let notNull (key: string) (spec: AggregatorSpec) = AggregatorSpec.Filtered(None, NativeJson.filterText (Filter.Not(Filter.Null key)), spec)
        match fn, args with
        | "COUNT", ([] | [ Expr.Star _ ]) -> [ wrap (AggregatorSpec.Count name) ], None, SqlType.Bigint
        | "COUNT", [ x ] when not distinct -> let key, _ = inputOf x in [ wrap (notNull key (AggregatorSpec.Count name)) ], None, SqlType.Bigint
        | ("COUNT" | "APPROX_COUNT_DISTINCT" | "APPROX_COUNT_DISTINCT_BUILTIN" | "APPROX_COUNT_DISTINCT_DS_HLL"), [ x ] when fn <> "COUNT" || approxDistinct ->
            let key, _ = inputOf x
            let spec = AggregatorSpec.Cardinality { Name = name; Fields = [ { Dimension = key; OutputName = key; OutputType = "STRING"; OtherSpecJson = None } ]; ByRow = false; Round = true }
            [ wrap spec ], None, SqlType.Bigint
        | ("SUM" | "MIN" | "MAX"), [ x ] when not distinct || fn <> "SUM" ->
            let key, t = inputOf x
            if fn <> "SUM" && t = SqlType.Varchar then
                // Our stringMin / stringMax (Druid has no native MIN or MAX of strings).
                [ wrap (AggregatorSpec.StringExtreme { Name = name; FieldName = key; IsMax = (fn = "MAX") }) ], None, t
            else
            if distinct then notNative (sprintf "aggregate %s" fn)
            if not (t.IsNumeric || t.IsTime) then notNative (sprintf "%s over %s" fn t.SqlName)
            let op = match fn with "SUM" -> NumericOp.Sum | "MIN" -> NumericOp.Min | _ -> NumericOp.Max
            let t = if t.IsTime || t = SqlType.Boolean then SqlType.Bigint else t
            [ wrap (numeric op key t) ], None, Relational.aggregateType fn [ t ]
        | "AVG", [ x ] when not distinct ->
            let key, t = inputOf x
            if not t.IsNumeric then notNative "AVG over a non-number"
            let sum = numeric NumericOp.Sum key (if t = SqlType.Bigint then SqlType.Bigint else SqlType.Double) |> AggregatorSpec.withName (name + ":sum")
            let count = notNull key (AggregatorSpec.Count(name + ":count"))
            [ wrap sum; wrap count ],
            Some(PostAggregator.Arithmetic(name, "quotient", [ PostAggregator.FieldAccess("", name + ":sum"); PostAggregator.FieldAccess("", name + ":count") ])),
            SqlType.Double
        | ("EARLIEST" | "LATEST"), x :: _ ->
            let key, t = inputOf x
            let pairType = match t with SqlType.Varchar -> PairType.String | SqlType.Double -> PairType.Double | SqlType.Float -> PairType.Float | _ -> PairType.Long
            [ wrap (AggregatorSpec.FirstLast { Name = name; Type = pairType; IsLast = (fn = "LATEST"); FieldName = key; TimeColumn = "__time"; MaxStringBytes = AggregatorSpec.defaultMaxStringBytes }) ],
            None, t
        | _ -> notNative (sprintf "aggregate %s" fn)
    | _ -> notNative "not an aggregate"

let private limitOf (scope: Scope) (e: Ast.Expr option) =
    e |> Option.map (fun e -> SqlRewrite.constantValue scope e |> Option.bind Value.toLong |> Option.map int |> Option.defaultWith (fun () -> notNative "limit"))

/// The outer aggregator merging an inner partial (a count, sum, min or max, possibly filtered,
/// the filter applying inside): a sum of counts, sum of sums, min of mins, max of maxes (of
/// numbers or strings).
let private combiningPartial (partial: AggregatorSpec) : AggregatorSpec =
    let rec mergeable (spec: AggregatorSpec) =
        match spec with
        | AggregatorSpec.Count _ | AggregatorSpec.Numeric _ | AggregatorSpec.StringExtreme _ -> true
        | AggregatorSpec.Filtered(_, _, inner) -> mergeable inner
        | _ -> false
    if mergeable partial then AggregatorSpec.combining partial else notNative "an aggregate without mergeable partials beside exact COUNT(DISTINCT)"

/// Renames an aggregator's output (the innermost one of filtered wrappers, as Druid writes them).
let rec private renameAggregator (name: string) (spec: AggregatorSpec) : AggregatorSpec =
    match spec with
    | AggregatorSpec.Filtered(None, filter, inner) -> AggregatorSpec.Filtered(None, filter, renameAggregator name inner)
    | spec -> AggregatorSpec.withName name spec

let rec private renamePost (rename: string -> string) (post: PostAggregator) : PostAggregator =
    match post with
    | PostAggregator.Arithmetic(name, fn, fields) -> PostAggregator.Arithmetic(rename name, fn, List.map (renamePost rename) fields)
    | PostAggregator.FieldAccess(name, field) -> PostAggregator.FieldAccess(name, rename field)
    | _ -> notNative "post-aggregator over partials"

/// Plans a SELECT over one table; None when it needs the in-memory operators.
/// The filter keeping the rows of an exact COUNT(DISTINCT x)'s inner groupBy whose key is
/// not null. An ARRAY key is one value (a null filter would read its elements as the values
/// of a multi-value string, and an array holding a null would count as null).
let private distinctKeyPresent (scope: Scope) (x: Ast.Expr) (key: string) : Filter.Filter =
    match (try snd (translate scope x) with _ -> SqlType.Null) with
    | SqlType.Array _ ->
        let notNull = DExpr.Call("notnull", [ DExpr.Identifier key ])
        Filter.Expression(ExprText.toText notNull, notNull)
    | _ -> Filter.Not(Filter.Null key)

/// Whether a statement holds a subquery in an expression (scalar, EXISTS, IN): those run in
/// memory.
let hasExpressionSubquery (q: Query) : bool =
    let rec inExpr (e: Ast.Expr) =
        match e with
        | Expr.ScalarQuery _ | Expr.Exists _ | Expr.InQuery _ -> true
        | e -> Translate.children e |> List.exists inExpr
    match q.Body with
    | SelectBody s ->
        (s.Items |> List.exists (function Item(e, _) -> inExpr e | _ -> false))
        || (s.Where |> Option.exists inExpr)
        || (s.Having |> Option.exists inExpr)
    | _ -> true

/// Whether a planned subquery can be the query data source of an aggregating outer query: a
/// plain groupBy of a table whose every output is a column of its rows (no bucket time, no
/// offset or always-one-row fix-up, no `__time` among them).
let private readableAsDataSource (p: Plan) =
    match p.Query with
    | { DataSource = DataSource.Table _; Kind = QueryKind.GroupBy { SubtotalsSpec = None } } ->
        p.TimeField.IsNone && p.Offset = 0 && not p.AlwaysOneRow && p.CountFields.IsEmpty
        && p.Outputs |> List.forall (fun (name, _, key) -> name <> "__time" && key <> "__time")
        && (p.Outputs |> List.map (fun (_, _, key) -> key) |> List.distinct).Length = p.Outputs.Length
    | _ -> false

let rec tryPlan (catalog: ICatalog) (scope0: Scope) (approxDistinct: bool) (sumRewrite: bool) (context: (string * string) list) (q: Query) : Plan option =
    try
        // What the SELECT reads: a table, or a subquery planned as a groupBy (a query data
        // source, as Druid nests them: `SELECT COUNT(*) FROM (SELECT ... GROUP BY ...)`).
        let source =
            match q with
            | { With = []; Body = SelectBody({ From = Some(Table((None | Some "druid"), table, alias)) } as s) } when not (catalog.ColumnsOf table).IsEmpty ->
                let qualifier = Some(defaultArg alias table)
                let fields =
                    catalog.ColumnsOf table
                    |> List.map (fun (n, t) -> { Qualifier = qualifier; Name = n; Key = n; Type = (if n = "__time" then SqlType.Timestamp else SqlType.ofColumnType t) })
                Some(s, DataSource.Table table, fields)
            | { With = []; Body = SelectBody({ From = Some(Derived(inner, alias, [])) } as s) } ->
                // A subquery that fails to plan is left whole to the in-memory operators, which
                // answer it or report its error as they would without this outer query.
                let planned =
                    if hasExpressionSubquery inner then None
                    else try tryPlan catalog scope0 approxDistinct sumRewrite context inner with SqlException _ -> None
                match planned with
                | Some p when readableAsDataSource p ->
                    Some(s, DataSource.Query p.Query, p.Outputs |> List.map (fun (n, t, key) -> { Qualifier = alias; Name = n; Key = key; Type = t }))
                | _ -> None
            | _ -> None
        match source with
        | Some(s, dataSource, fields) ->
            let scope = { scope0 with Fields = fields; Substitute = (fun _ -> None) }
            let rewriteSums (e: Ast.Expr) = if sumRewrite then SqlRewrite.filteredSumRewrite e else e
            let s = { s with Having = s.Having |> Option.map rewriteSums }
            let items =
                s.Items |> List.collect (function
                    | Item(e, a) -> [ rewriteSums e, a ]
                    | AllColumns _ -> fields |> List.map (fun f -> Expr.Column(None, f.Name), None))
            if items |> List.exists (fst >> hasWindow) then notNative "window functions"
            // SELECT DISTINCT without aggregates groups by every select expression.
            let s =
                if not s.Distinct then s
                elif s.GroupBy.IsNone && not (items |> List.exists (fst >> hasAggregate)) then
                    { s with Distinct = false; GroupBy = Some(items |> List.map (fst >> GroupExpr)) }
                else notNative "DISTINCT with aggregates"
            let names = SqlRewrite.outputNames items
            let virtuals = ResizeArray<VirtualColumn>()
            let addVirtual (d: DExpr) (t: SqlType) =
                let text = ExprText.toText d
                match virtuals |> Seq.tryFind (fun v -> v.Expression = text) with
                | Some v -> v.Name
                | None ->
                    let name = sprintf "v%d" virtuals.Count
                    virtuals.Add { Name = name; Expression = text; Parsed = d; OutputType = Some(druidTypeOf t) }
                    name
            let intervals = SqlRewrite.timeIntervals scope s.Where
            let filter = residualWhere s.Where |> Option.map (toFilter scope)
            let inputNames = fields |> List.map (fun f -> f.Name) |> set
            let aliasExpansion (e: Ast.Expr) =
                e |> SqlRewrite.rewrite (fun node ->
                    match node with
                    | Expr.Column(None, n) when not (inputNames.Contains n) -> List.zip names items |> List.tryFind (fun (name, _) -> name = n) |> Option.map (fun (_, (ie, _)) -> ie)
                    | _ -> None)
            let having = s.Having |> Option.map aliasExpansion
            let aggregating = s.GroupBy.IsSome || items |> List.exists (fst >> hasAggregate) || having.IsSome
            let limit = limitOf scope q.Limit
            let offset = defaultArg (limitOf scope q.Offset) 0
            let baseQuery kind =
                { DataSource = dataSource; Intervals = intervals; Filter = filter; VirtualColumns = List.ofSeq virtuals; Kind = kind; Context = context }
            if not aggregating then
                if dataSource.IsQuery then notNative "a scan of a subquery"
                let outputs = items |> List.mapi (fun i (e, _) -> let d, t = translate scope e in names.[i], t, (match d with DExpr.Identifier k -> k | _ -> addVirtual d t))
                let order =
                    match q.OrderBy with
                    | [] -> ScanOrder.NoOrder
                    | [ { Expr = e; Descending = d } ] when (match aliasExpansion e with Expr.Column(_, "__time") -> true | Expr.Literal(Literal.Number n) -> (match fst items.[int n - 1] with Expr.Column(_, "__time") -> true | _ -> false) | _ -> false) ->
                        if d then ScanOrder.Descending else ScanOrder.Ascending
                    | _ -> notNative "scan ordered by a column other than __time"
                let columns = outputs |> List.map (fun (_, _, k) -> k) |> List.distinct
                let kind = QueryKind.Scan { Columns = columns; Limit = limit |> Option.map int64; Offset = int64 offset; Compacted = false; Order = order; BatchSize = 20480 }
                Some { Query = baseQuery kind; Outputs = outputs; TimeField = None; AlwaysOneRow = false; Offset = 0; CountFields = Set.empty }
            else
                let groupElements = defaultArg s.GroupBy []
                let writtenGroupExprs =
                    groupElements |> List.collect (function
                        | GroupEmpty -> []
                        | GroupExpr(Expr.Literal(Literal.Number n)) when n |> Seq.forall Char.IsDigit -> [ fst items.[int n - 1] ]
                        | GroupExpr e -> [ aliasExpansion e ]
                        | _ -> notNative "grouping sets")
                    |> List.distinct
                // Keys that are functions of other keys read those keys' dimensions instead.
                let groupExprs = DependentKeys.keysToGroupOn scope writtenGroupExprs
                let droppedDependentKeys = groupExprs.Length < writtenGroupExprs.Length
                let timeFloors = groupExprs |> List.map (timeFloorOf scope)
                let aggCalls = (List.map fst items @ Option.toList having @ (q.OrderBy |> List.map (fun o -> aliasExpansion o.Expr))) |> List.collect Relational.collectAggregates |> List.distinct
                // Exact COUNT(DISTINCT x) (useApproximateCountDistinct=false), planned as Calcite's
                // distinct-aggregate expansion does for one distinct argument: an inner groupBy on the
                // grouping keys plus x computing partials of the other aggregates, and an outer query
                // re-aggregating them by the grouping keys and counting the non-null x.
                let distinctArgument (call: Ast.Expr) =
                    match call with
                    | Expr.Call("COUNT", true, [ x ], filter, None) when not approxDistinct -> Some(x, filter)
                    | _ -> None
                let exactDistinct =
                    match aggCalls |> List.choose distinctArgument |> List.map fst |> List.distinct with
                    | [] -> None
                    | [ x ] -> Some x
                    | _ -> notNative "exact COUNT(DISTINCT) over different arguments"
                // Without grouping keys the outer query always yields its one row: HAVING could not drop it.
                if exactDistinct.IsSome && having.IsSome && groupExprs.IsEmpty then notNative "exact COUNT(DISTINCT) with HAVING and no grouping"
                let dimensionKey i = if exactDistinct.IsSome then sprintf "_d%d" i else sprintf "d%d" i
                let dimFields = groupExprs |> List.mapi (fun i e -> let _, t = translate scope e in { Qualifier = None; Name = dimensionKey i; Key = dimensionKey i; Type = t })
                let distinctKey = sprintf "d%d" groupExprs.Length
                // Per aggregate: the inner partials (distinct plans only), the aggregators of the
                // (outer) query, its post-aggregator and SQL type.
                let planned =
                    aggCalls |> List.mapi (fun i call ->
                        let name = sprintf "a%d" i
                        match exactDistinct, distinctArgument call with
                        | None, _ ->
                            let specs, post, t = aggregatorFor scope approxDistinct addVirtual name call
                            [], specs, post, t
                        | Some x, Some(_, filter) ->
                            let present = distinctKeyPresent scope x distinctKey
                            match filter with
                            | None -> [], [ AggregatorSpec.Filtered(None, NativeJson.filterText present, AggregatorSpec.Count name) ], None, SqlType.Bigint
                            | Some f ->
                                // A key counts when at least one of its rows passes the filter.
                                let hits = AggregatorSpec.Filtered(None, NativeJson.filterText (toFilter scope f), AggregatorSpec.Count name)
                                let hit = Filter.Range { Column = name; MatchValueType = "LONG"; Lower = Value.Long 0L; Upper = Value.Null; LowerOpen = true; UpperOpen = false }
                                [ hits ], [ AggregatorSpec.Filtered(None, NativeJson.filterText (Filter.And [ present; hit ]), AggregatorSpec.Count name) ], None, SqlType.Bigint
                        | Some _, None ->
                            let partials, post, t = aggregatorFor scope approxDistinct addVirtual name call
                            partials, partials |> List.map combiningPartial, post, t)
                let innerAggregations = planned |> List.collect (fun (p, _, _, _) -> p)
                // As Druid names them: outer aggregators take a "_" prefix when inner ones exist.
                let aggregatorKey (name: string) = if innerAggregations.IsEmpty then name else "_" + name
                let aggregations = planned |> List.collect (fun (_, a, _, _) -> a |> List.map (fun a -> renameAggregator (aggregatorKey (AggregatorSpec.name a)) a))
                let aggPosts = planned |> List.choose (fun (_, _, p, _) -> p) |> List.map (fun p -> if innerAggregations.IsEmpty then p else renamePost aggregatorKey p)
                let aggFields = planned |> List.mapi (fun i (_, _, _, t) -> let key = aggregatorKey (sprintf "a%d" i) in { Qualifier = None; Name = key; Key = key; Type = t })
                let countFields =
                    if exactDistinct.IsNone then Set.empty
                    else aggCalls |> List.indexed |> List.choose (fun (i, call) -> match call with Expr.Call("COUNT", false, _, _, _) -> Some aggFields.[i].Key | _ -> None) |> set
                let substitute = groupedSubstitute scope groupExprs dimFields aggCalls aggFields
                let postScope = { scope with Fields = dimFields @ aggFields; Substitute = substitute }
                let posts = ResizeArray<PostAggregator>(aggPosts)
                let fieldOf (e: Ast.Expr) =
                    let d, t = translate postScope e
                    match d with
                    | DExpr.Identifier k -> k, t
                    | _ ->
                        // An expression both selected and ordered on (a dependent key's often is) is computed once.
                        let same = posts |> Seq.skip aggPosts.Length |> Seq.tryPick (function PostAggregator.Expression(name, x) when x = d -> Some name | _ -> None)
                        match same with
                        | Some name -> name, t
                        | None ->
                            let name = sprintf "p%d" (posts.Count - aggPosts.Length)
                            posts.Add(PostAggregator.Expression(name, d))
                            name, t
                let outputs = items |> List.mapi (fun i (e, _) -> let k, t = fieldOf e in names.[i], t, k)
                let orderFields =
                    q.OrderBy |> List.map (fun o ->
                        let e =
                            match o.Expr with
                            | Expr.Literal(Literal.Number n) when n |> Seq.forall Char.IsDigit -> fst items.[int n - 1]
                            | Expr.Column(None, n) when List.contains n names && not (inputNames.Contains n) -> fst items.[List.findIndex ((=) n) names]
                            | e -> aliasExpansion e
                        let k, t = fieldOf e
                        k, t, o.Descending)
                let anyOrder = not q.OrderBy.IsEmpty
                // Over no input the one row's re-aggregated counts are null until `rowsOf` makes
                // them 0: expressions reading them would see the null.
                let readsCount (post: PostAggregator) =
                    match post with
                    | PostAggregator.Expression(_, d) -> Expr.requiredColumns d |> List.exists countFields.Contains
                    | _ -> true
                if groupExprs.IsEmpty && not countFields.IsEmpty && posts |> Seq.skip aggPosts.Length |> Seq.exists readsCount then
                    notNative "an expression over a re-aggregated COUNT without grouping"
                let sourceDimensions () =
                    groupExprs |> List.mapi (fun i e ->
                        let d, t = translate scope e
                        let source = match d with DExpr.Identifier k -> k | _ -> addVirtual d t
                        DimensionSpec.Default(source, sprintf "d%d" i, druidTypeOf t))
                let baseQuery kind =
                    match exactDistinct with
                    | None -> baseQuery kind
                    | Some x ->
                        let d, t = translate scope x
                        let source = match d with DExpr.Identifier k -> k | _ -> addVirtual d t
                        let innerDims = sourceDimensions () @ [ DimensionSpec.Default(source, distinctKey, druidTypeOf t) ]
                        let inner = baseQuery (QueryKind.GroupBy { Granularity = Time.Granularity.All; Dimensions = innerDims; Aggregations = innerAggregations; PostAggregations = []; Having = None; LimitSpec = None; SubtotalsSpec = None })
                        { inner with DataSource = DataSource.Query inner; Intervals = [ Time.eternity ]; Filter = None; VirtualColumns = []; Kind = kind }
                let granularityAll = Time.Granularity.All
                match groupExprs, timeFloors with
                | [], _ when having.IsNone && not anyOrder ->
                    let kind = QueryKind.Timeseries { Granularity = granularityAll; Aggregations = aggregations; PostAggregations = List.ofSeq posts; Descending = false; SkipEmptyBuckets = false; GrandTotal = false; Limit = None }
                    Some { Query = baseQuery kind; Outputs = outputs; TimeField = None; AlwaysOneRow = true; Offset = offset; CountFields = countFields }
                | [ _ ], [ Some g ] when exactDistinct.IsNone && not droppedDependentKeys && having.IsNone && (orderFields |> List.forall (fun (k, _, _) -> k = "d0")) && g <> Time.Granularity.NoTruncation ->
                    let descending = match orderFields with [ (_, _, d) ] -> d | _ -> false
                    let kind = QueryKind.Timeseries { Granularity = g; Aggregations = aggregations; PostAggregations = List.ofSeq posts; Descending = descending; SkipEmptyBuckets = true; GrandTotal = false; Limit = limit |> Option.map (fun l -> l + offset) }
                    Some { Query = baseQuery kind; Outputs = outputs; TimeField = Some "d0"; AlwaysOneRow = false; Offset = offset; CountFields = countFields }
                | _ ->
                    let dimensions =
                        match exactDistinct with
                        | Some _ -> dimFields |> List.mapi (fun i f -> DimensionSpec.Default(sprintf "d%d" i, f.Key, druidTypeOf f.Type))
                        | None -> sourceDimensions ()
                    let topN =
                        match dimensions, orderFields with
                        // With dependent keys dropped it stays a groupBy, whose ties order by the keys, as before.
                        | [ dim ], [ (k, t, desc) ] when having.IsNone && offset = 0 && limit.IsSome && k <> "d0" && t.IsNumeric && timeFloors.Head.IsNone && not droppedDependentKeys ->
                            let metric = if desc then TopNMetric.Numeric k else TopNMetric.Inverted(TopNMetric.Numeric k)
                            Some(QueryKind.TopN { Granularity = granularityAll; Dimension = dim; Metric = metric; Threshold = limit.Value; Aggregations = aggregations; PostAggregations = List.ofSeq posts })
                        | _ -> None
                    let kind =
                        match topN with
                        | Some k -> k
                        | None ->
                            let limitSpec =
                                if orderFields.IsEmpty && limit.IsNone && offset = 0 then None
                                else
                                    Some
                                        { Columns = orderFields |> List.map (fun (k, t, d) -> { Column = k; Descending = d; Ordering = (if t.IsNumeric || t.IsTime then Ordering.StringOrdering.Numeric else Ordering.StringOrdering.Lexicographic) })
                                          Limit = limit
                                          Offset = offset }
                            let havingSpec = having |> Option.map (fun h -> Having.Filter(toFilter postScope h))
                            QueryKind.GroupBy { Granularity = granularityAll; Dimensions = dimensions; Aggregations = aggregations; PostAggregations = List.ofSeq posts; Having = havingSpec; LimitSpec = limitSpec; SubtotalsSpec = None }
                    Some { Query = baseQuery kind; Outputs = outputs; TimeField = None; AlwaysOneRow = groupExprs.IsEmpty; Offset = 0; CountFields = countFields }
        | None -> None
    with NotNative _ -> None

/// Result rows of a planned query, in output column order.
let rowsOf (plan: Plan) (result: Json.Out) : Value[] list =
    let field (fields: (string * Json.Out) list) (name: string) =
        match fields |> List.tryFind (fun (k, _) -> k = name) with
        | Some(_, v) -> NativeJson.outValue v
        | None -> Value.Null
    let timeOf (o: Json.Out) = match o with Json.Out.String s -> (match Time.tryParseInstant s with Some t -> Value.Long t | None -> Value.Null) | _ -> Value.Null
    let project (get: string -> Value) =
        plan.Outputs |> List.map (fun (_, _, k) ->
            match get k with
            | Value.Null when plan.CountFields.Contains k -> Value.Long 0L
            | v -> v)
        |> Array.ofList
    let items = match result with Json.Out.Array xs -> xs | _ -> []
    let rows =
        match plan.Query.Kind with
        | QueryKind.Timeseries _ ->
            [ for item in items do
                  match item with
                  | Json.Out.Object f ->
                      let ts = f |> List.tryFind (fun (k, _) -> k = "timestamp") |> Option.map snd |> Option.defaultValue Json.Out.Null
                      let result = match f |> List.tryFind (fun (k, _) -> k = "result") with Some(_, Json.Out.Object r) -> r | _ -> []
                      yield project (fun k -> if Some k = plan.TimeField then timeOf ts else field result k)
                  | _ -> () ]
        | QueryKind.TopN _ ->
            [ for item in items do
                  match item with
                  | Json.Out.Object f ->
                      match f |> List.tryFind (fun (k, _) -> k = "result") with
                      | Some(_, Json.Out.Array rs) -> for r in rs do match r with Json.Out.Object r -> yield project (field r) | _ -> ()
                      | _ -> ()
                  | _ -> () ]
        | QueryKind.GroupBy _ ->
            [ for item in items do
                  match item with
                  | Json.Out.Object f ->
                      match f |> List.tryFind (fun (k, _) -> k = "event") with
                      | Some(_, Json.Out.Object e) -> yield project (field e)
                      | _ -> ()
                  | _ -> () ]
        | QueryKind.Scan _ ->
            [ for batch in items do
                  match batch with
                  | Json.Out.Object f ->
                      match f |> List.tryFind (fun (k, _) -> k = "events") with
                      | Some(_, Json.Out.Array events) -> for e in events do match e with Json.Out.Object e -> yield project (field e) | _ -> ()
                      | _ -> ()
                  | _ -> () ]
        | _ -> []
    let rows = if plan.Offset > 0 then (if plan.Offset >= rows.Length then [] else List.skip plan.Offset rows) else rows
    if rows.IsEmpty && plan.AlwaysOneRow then
        let empty (k: string) =
            let counted =
                match plan.Query.Kind with
                | QueryKind.Timeseries t -> t.Aggregations
                | QueryKind.GroupBy g -> g.Aggregations
                | _ -> []
            match counted |> List.tryFind (fun a -> Aggregation.name a = k) with
            | Some a -> Aggregation.emptyValue a
            | None -> Value.Null
        [ project empty ]
    else rows

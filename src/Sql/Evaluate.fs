/// Evaluates SQL queries over materialized relations: FROM (tables, metadata, subqueries,
/// joins, UNNEST, VALUES, WITH), WHERE, GROUP BY with grouping sets, HAVING, window
/// functions, DISTINCT, ORDER BY, LIMIT/OFFSET and UNION. Druid tables are read through a
/// callback (a native scan), so this is also the fallback for any shape no native query takes.
module FunctionalDruid.Sql.Evaluate

open System
open System.Collections.Generic
open FunctionalDruid.Core
open FunctionalDruid.Sql.Ast
open FunctionalDruid.Sql.Translate
open FunctionalDruid.Sql.Relational
open FunctionalDruid.Sql.SqlRewrite
open FunctionalDruid.Sql.EvalContext

/// The evaluation context (see EvalContext).
type Context = EvalContext.Context

let emptyScope (ctx: Context) (fields: Field list) : Scope = EvalContext.emptyScope ctx fields

// ---- queries ---------------------------------------------------------------------------------------

let page (offset: int option) (limit: int option) (rows: 'r list) : 'r list =
    let rows = match offset with Some o -> (if o >= rows.Length then [] else List.skip o rows) | None -> rows
    match limit with
    | Some l -> List.truncate l rows
    | None -> rows

let private limitValue (ctx: Context) (e: Ast.Expr option) : int option =
    e |> Option.map (fun e ->
        match constantValue (emptyScope ctx []) e |> Option.bind Value.toLong with
        | Some n when n >= 0L -> int (min n (int64 Int32.MaxValue))
        | _ -> SqlError.invalid "LIMIT and OFFSET must be non-negative integer literals")

let private isIntegerLiteral (e: Ast.Expr) =
    match e with
    | Expr.Literal(Literal.Number n) -> n |> Seq.forall Char.IsDigit
    | _ -> false

/// The ORDER BY ... LIMIT a table read may apply per slice (see `Relational.RowOrder`): a
/// plain SELECT (no *, aggregate, window function, DISTINCT, GROUP BY or HAVING) over a table
/// whose WHERE the read applies whole, ordered by the table's own columns, as the in-memory
/// sort resolves them (a select name first, then an input column).
let private pushedOrder (s: Select) (orderBy: OrderItem list) (limit: int option) (offset: int option) (read: TableRead) : RowOrder option =
    let items = s.Items |> List.choose (function Item(e, alias) -> Some(e, alias) | AllColumns _ -> None)
    let count = match limit with Some l -> int64 l + int64 (defaultArg offset 0) | None -> Int64.MaxValue
    let reads (e: Ast.Expr) = hasAggregate e || hasWindow e
    let plain =
        not orderBy.IsEmpty && count <= int64 topRowsLimit && read.Residual.IsNone && not s.Distinct && s.GroupBy.IsNone && s.Having.IsNone
        && items.Length = s.Items.Length && not (items |> List.exists (fst >> reads)) && not (orderBy |> List.exists (fun o -> reads o.Expr))
    if not plain then None
    else
        let names = outputNames items
        let columnIndex (name: string) = read.Columns |> List.tryFindIndex (fun (c, _) -> c = name)
        let itemColumn (i: int) = match fst items.[i] with Expr.Column(_, c) -> columnIndex c | _ -> None
        let keyOf (o: OrderItem) =
            match o.Expr with
            | Expr.Literal(Literal.Number n) as e when isIntegerLiteral e ->
                let i = int n - 1
                if i >= 0 && i < items.Length then itemColumn i else None
            | Expr.Column(None, n) when List.contains n names -> itemColumn (List.findIndex ((=) n) names)
            | Expr.Column(_, n) -> columnIndex n
            | _ -> None
            |> Option.map (fun c -> c, o.Descending, o.NullsFirst)
        let keys = orderBy |> List.map keyOf
        if keys |> List.exists Option.isNone then None else Some { Keys = List.map Option.get keys; Count = int count }

/// The column type of a union: numbers widen (BIGINT with FLOAT is FLOAT, with DOUBLE DOUBLE).
let private widen (a: Field) (b: Field) : Field =
    if a.Type = b.Type || b.Type = SqlType.Null then a
    elif a.Type = SqlType.Null then { a with Type = b.Type }
    elif a.Type.IsNumeric && b.Type.IsNumeric then
        { a with Type = (match a.Type, b.Type with
                         | SqlType.Double, _ | _, SqlType.Double -> SqlType.Double
                         | SqlType.Float, _ | _, SqlType.Float -> SqlType.Float
                         | _ -> SqlType.Bigint) }
    else a

/// One group of a GROUP BY: its key, its rows when an aggregate needs them all, and the
/// accumulators of the aggregates that take rows one at a time (null for the others).
type private InMemoryGroup =
    { Key: Value[]
      Members: List<Value[]>
      Accumulators: Accumulator[] }
    member g.Add(row: Value[]) =
        if not (isNull g.Members) then g.Members.Add row
        for a in g.Accumulators do
            if not (isNull a) then a.Add row
    /// A row standing for `weight` rows; members keep it once (only aggregates that ignore
    /// repetitions read members on that path).
    member g.AddWeighted(row: Value[], weight: int64) =
        if not (isNull g.Members) then g.Members.Add row
        for a in g.Accumulators do
            if not (isNull a) then a.AddWeighted(row, weight)

let rec evalQuery (ctx: Context) (q: Query) : Relation =
    let ctx =
        q.With |> List.fold (fun (c: Context) (name, cols, sub) ->
            let r = evalQuery c sub
            let r = if cols.IsEmpty then r else { r with Fields = List.map2 (fun (f: Field) n -> { f with Name = n }) r.Fields cols }
            { c with Ctes = c.Ctes.Add(name, r) }) ctx
    let limit, offset = limitValue ctx q.Limit, limitValue ctx q.Offset
    match q.Body with
    | SelectBody s -> evalSelect ctx s q.OrderBy limit offset
    | body ->
        let r = evalBody ctx body
        let keys =
            q.OrderBy |> List.map (fun o ->
                let index =
                    match o.Expr with
                    | e when isIntegerLiteral e -> (match e with Expr.Literal(Literal.Number n) -> int n - 1 | _ -> 0)
                    | Expr.Column(_, n) -> r.Fields |> List.findIndex (fun f -> f.Name = n)
                    | _ -> SqlError.unsupported "ORDER BY on a UNION or VALUES must name an output column"
                fun (row: Value[]) -> row.[index])
        let rows = if keys.IsEmpty then r.Rows else sortRows keys (q.OrderBy |> List.map (fun o -> o.Descending)) (q.OrderBy |> List.map (fun o -> o.NullsFirst)) r.Rows
        { r with Rows = page offset limit rows }

and evalBody (ctx: Context) (b: QueryBody) : Relation =
    match b with
    | SelectBody s -> evalSelect ctx s [] None None
    | Nested q -> evalQuery ctx q
    | UnionAll(l, r) ->
        let l, r = evalBody ctx l, evalBody ctx r
        if l.Fields.Length <> r.Fields.Length then SqlError.invalid "Column count mismatch in UNION ALL"
        { Fields = List.map2 widen l.Fields r.Fields; Rows = l.Rows @ r.Rows }
    | Union(l, r) ->
        let l, r = evalBody ctx l, evalBody ctx r
        if l.Fields.Length <> r.Fields.Length then SqlError.invalid "Column count mismatch in UNION"
        { l with Rows = (l.Rows @ r.Rows) |> List.distinctBy List.ofArray }
    | Values rows ->
        let scope = emptyScope ctx []
        let translated = rows |> List.map (List.map (translate scope))
        let first = List.head translated
        { Fields = first |> List.mapi (fun i (_, t) -> { Qualifier = None; Name = sprintf "EXPR$%d" i; Key = fieldKey i; Type = t })
          Rows = translated |> List.map (fun r -> r |> List.map (fun (e, _) -> Expr.eval (fun _ -> Value.Null) e) |> Array.ofList) }

/// Replaces uncorrelated subqueries by their values.
and resolveSubqueries (ctx: Context) (e: Ast.Expr) : Ast.Expr =
    e |> rewrite (fun node ->
        match node with
        | Expr.InQuery(x, q, negated) ->
            let r = evalQuery ctx q
            match r.Fields with
            | f :: _ when (match f.Type with SqlType.Array _ -> true | _ -> false) ->
                SqlError.invalid (sprintf "IN subquery over a column of type [%s] is not supported" f.Type.SqlName)
            | _ -> ()
            let values = r.Rows |> List.map (fun row -> literalOf row.[0]) |> List.distinct
            if values.IsEmpty then Some(Expr.Literal(Literal.Bool negated))
            else Some(Expr.InList(resolveSubqueries ctx x, values, negated))
        | Expr.ScalarQuery q ->
            match (evalQuery ctx q).Rows with
            | [] -> Some(Expr.Literal Literal.Null)
            | [ row ] -> Some(literalOf row.[0])
            | _ -> SqlError.invalid "Scalar subquery returned more than one row"
        | Expr.Exists q -> Some(Expr.Literal(Literal.Bool(not (evalQuery ctx q).Rows.IsEmpty)))
        | _ -> None)

and evalFrom (ctx: Context) (where: Ast.Expr option) (t: TableRef) : Relation = fst (evalFromSplit ctx where t)

/// Reads a FROM clause; for a single Druid table, the WHERE conjuncts that become native
/// filters run in the table read and only the rest (returned) remains to evaluate.
and evalFromSplit (ctx: Context) (where: Ast.Expr option) (t: TableRef) : Relation * Ast.Expr option =
    let fields, rows, residual = evalFromArray ctx where (fun _ -> None) t
    { Fields = fields; Rows = List.ofArray rows }, residual

/// `evalFromSplit` with the rows in an array: a table's rows are read into one, and a SELECT
/// over them needs no list of millions of rows. `order`: what of the statement's order a
/// table read may apply (see `pushedOrder`).
and private evalFromArray (ctx: Context) (where: Ast.Expr option) (order: TableRead -> RowOrder option) (t: TableRef) : Field list * Value[][] * Ast.Expr option =
    match tableRead ctx where t with
    | Some read ->
        let rows = if read.Intervals.IsEmpty then [||] else ctx.ReadTable read.Name read.Intervals read.Columns read.Filter (order read)
        (relationOf read.Qualifier read.SqlColumns []).Fields, rows, read.Residual
    | None ->
        let r = evalFromOther ctx t
        r.Fields, Array.ofList r.Rows, where

and private evalFromOther (ctx: Context) (t: TableRef) : Relation =
    match t with
    | Table(schema, name, alias) ->
        let qualifier = Some(defaultArg alias name)
        let requalify (r: Relation) = { r with Fields = r.Fields |> List.map (fun f -> { f with Qualifier = qualifier }) }
        match schema with
        | None when ctx.Ctes.ContainsKey name -> requalify ctx.Ctes.[name]
        | Some("INFORMATION_SCHEMA" | "sys" as sch) ->
            match Metadata.table ctx.Catalog sch name with
            | Some(columns, rows) -> relationOf qualifier columns rows
            | None -> SqlError.invalid (sprintf "Object '%s' not found within '%s'" name sch)
        | None | Some "druid" -> fst (evalFromSplit ctx None t)
        | Some other -> SqlError.invalid (sprintf "Object '%s' not found (schema '%s' is not known; use druid, INFORMATION_SCHEMA or sys)" name other)
    | Derived(q, alias, cols) ->
        // As in Calcite, a subquery's ORDER BY without LIMIT or OFFSET orders nothing and is dropped.
        let r = evalQuery ctx (if q.Limit.IsNone && q.Offset.IsNone then { q with OrderBy = [] } else q)
        let fields = r.Fields |> List.mapi (fun i f -> { f with Qualifier = alias; Name = (if i < cols.Length then cols.[i] else f.Name) })
        { r with Fields = fields }
    | Unnest(e, alias, cols) -> unnest ctx { Fields = []; Rows = [ [||] ] } e alias cols
    | Join(l, kind, r, on) ->
        let left = evalFrom ctx None l
        match r with
        | Unnest(e, alias, cols) when kind = Cross || kind = Inner -> unnest ctx left e alias cols
        | _ ->
            let right = evalFrom ctx None r
            join ctx left kind right on

and private unnest (ctx: Context) (input: Relation) (e: Ast.Expr) (alias: string option) (cols: string list) : Relation =
    let scope = emptyScope ctx input.Fields
    let d, t = translate scope e
    checkUnnestOperand t
    let elementType = match t with SqlType.Array et -> et | other -> other
    let eval = compileOver input.Fields d
    let name = match cols with c :: _ -> c | [] -> "EXPR$0"
    let n = input.Fields.Length
    let emptyRows = if unnestsStringDimension scope e then [| [| Value.Null |] |] else [||]
    { Fields = input.Fields @ [ { Qualifier = alias; Name = name; Key = fieldKey n; Type = elementType } ]
      Rows =
        [ for row in input.Rows do
              match eval row with
              | Value.Array [||] | Value.Null -> for x in emptyRows -> Array.append row x
              | Value.Array xs -> for x in xs -> Array.append row [| x |]
              | v -> yield Array.append row [| v |] ] }

/// UNNEST takes an array (Calcite's operand check): a multi-value string column must go
/// through MV_TO_ARRAY, a JSON column through JSON_QUERY_ARRAY.
and private checkUnnestOperand (t: SqlType) =
    match t with
    | SqlType.Array _ | SqlType.Null -> ()
    | other ->
        let name = match other with SqlType.Other n -> n.ToUpperInvariant() | _ -> other.SqlName
        SqlError.invalid (sprintf "Cannot apply 'UNNEST' to arguments of type 'UNNEST(<%s>)'. Supported form(s): 'UNNEST(<MULTISET>)'\n'UNNEST(<ARRAY>)'\n'UNNEST(<MAP>)'" name)

/// Druid unnests a string column (bare or through MV_TO_ARRAY) with its dimension cursor,
/// which reads a null or empty row as one null value; arrays unnest an empty row to no rows.
and private unnestsStringDimension (scope: Scope) (e: Ast.Expr) : bool =
    let isString (c: Ast.Expr) = (try snd (translate scope c) = SqlType.Varchar with _ -> false)
    match e with
    | Expr.Column _ -> isString e
    | Expr.Call(f, false, [ Expr.Column _ as c ], None, None) when f.ToUpperInvariant() = "MV_TO_ARRAY" -> isString c
    | _ -> false

/// Druid joins on equality of scalar columns only: an ARRAY or complex (JSON) column in a
/// join condition is refused, as Druid's planner refuses it.
and private checkJoinCondition (scope: Scope) (condition: Ast.Expr) =
    let typeOf (e: Ast.Expr) = try Some(snd (translate scope e)) with _ -> None
    for c in conjuncts condition do
        match c with
        | Expr.Binary(BinaryOp.Eq, (Expr.Column(lq, _) as l), (Expr.Column(rq, _) as r)) when lq <> rq ->
            match typeOf l, typeOf r with
            | Some(SqlType.Array _ as t), _ | _, Some(SqlType.Array _ as t) ->
                SqlError.unsupported (sprintf "Join condition on columns of type [%s] is not supported" t.SqlName)
            | Some(SqlType.Other n), _ | _, Some(SqlType.Other n) ->
                SqlError.invalid (sprintf "Join condition on columns of type [%s] is not supported" n)
            | _ -> ()
        | _ -> ()

and private join (ctx: Context) (left: Relation) (kind: JoinKind) (right: Relation) (on: Ast.Expr option) : Relation =
    let n = left.Fields.Length
    let fields = (left.Fields @ right.Fields) |> List.mapi (fun i f -> { f with Key = fieldKey i })
    on |> Option.iter (checkJoinCondition (emptyScope ctx fields))
    let leftRows, rightRows = Array.ofList left.Rows, Array.ofList right.Rows
    let matches =
        match on with
        | None -> fun (_: Value[]) -> true
        | Some c ->
            let c = resolveSubqueries ctx c
            let eval = compileOver fields (fst (translate (emptyScope ctx fields) c))
            fun row -> Expr.isTruthy (eval row)
    let nullsLeft = Array.create n Value.Null
    let nullsRight = Array.create right.Fields.Length Value.Null
    let rightMatched = Array.zeroCreate rightRows.Length
    let allRight = Array.init rightRows.Length id
    let candidates =
        match on |> Option.map (fun c -> equiJoinKeys ctx left right (resolveSubqueries ctx c)) with
        | Some(_ :: _ as keys) -> hashedCandidates keys rightRows allRight
        | _ -> fun _ -> allRight
    let rows = List<Value[]>()
    for l in leftRows do
        let mutable any = false
        for j in candidates l do
            let row = Array.append l rightRows.[j]
            if matches row then
                any <- true
                rightMatched.[j] <- true
                rows.Add row
        if not any && (kind = LeftJoin || kind = FullJoin) then rows.Add(Array.append l nullsRight)
    if kind = RightJoin || kind = FullJoin then
        for j in 0 .. rightRows.Length - 1 do
            if not rightMatched.[j] then rows.Add(Array.append nullsLeft rightRows.[j])
    { Fields = fields; Rows = List.ofSeq rows }

/// The equality conjuncts of a join condition with one side over the left relation only and
/// the other over the right only (constants and columns of both sides don't qualify): the keys
/// of a hash join. The whole condition is still checked on every candidate pair.
and private equiJoinKeys (ctx: Context) (left: Relation) (right: Relation) (condition: Ast.Expr) =
    let over (fields: Field list) (e: Ast.Expr) =
        try Some(compileOver fields (fst (translate (emptyScope ctx fields) e))) with _ -> None
    let sided (a: Ast.Expr) (b: Ast.Expr) =
        match over left.Fields a, over right.Fields a, over left.Fields b, over right.Fields b with
        | Some l, None, None, Some r -> Some(l, r)
        | _ -> None
    [ for c in conjuncts condition do
          match c with
          | Expr.Binary(BinaryOp.Eq, a, b) ->
              match sided a b |> Option.orElse (sided b a) with
              | Some pair -> yield pair
              | None -> ()
          | _ -> () ]

/// A SELECT. An aggregate over one column of a table first reads that column as distinct
/// values with row counts, and aggregates each value once with its count; when an aggregate
/// could then answer differently than over the rows one by one, it reads the rows instead.
and evalSelect (ctx: Context) (s: Select) (orderBy: OrderItem list) (limit: int option) (offset: int option) : Relation =
    if countedCandidate ctx s orderBy then
        try evalSelectWith ctx s orderBy limit offset true
        with NotWeightable -> evalSelectWith ctx s orderBy limit offset false
    else evalSelectWith ctx s orderBy limit offset false

/// `counted`: read the table as distinct values with counts, or raise NotWeightable (before
/// reading, when it reads other than one column).
and private evalSelectWith (ctx: Context) (s: Select) (orderBy: OrderItem list) (limit: int option) (offset: int option) (counted: bool) : Relation =
    let where = s.Where |> Option.map (resolveSubqueries ctx)
    // Rows given with counts carry them in `weights` (null: each row is one row).
    let inputFields, inputRows, weights, where =
        match s.From with
        | Some t when counted ->
            match tableRead ctx where t, ctx.ReadCounted with
            | Some({ Columns = [ column ] } as read), Some readCounted ->
                let values, counts =
                    if read.Intervals.IsEmpty then [||], [||]
                    else
                        match readCounted read.Name read.Intervals column read.Filter with
                        | Some pair -> pair
                        | None -> raise NotWeightable
                (relationOf read.Qualifier read.SqlColumns []).Fields, values |> Array.map (fun v -> [| v |]), counts, read.Residual
            | _ -> raise NotWeightable
        | Some t -> let fields, rows, w = evalFromArray ctx where (pushedOrder s orderBy limit offset) t in fields, rows, null, w
        | None -> [], [| [||] |], null, where
    let input = { Fields = inputFields; Rows = [] }
    let scope0 = emptyScope ctx input.Fields
    match s.From, where with
    | Some(Join _), Some w -> checkJoinCondition scope0 w
    | _ -> ()
    // Distinct values: nothing to remember per value.
    let compileInput = if isNull weights then compileOver else compileOverDistinct
    let rows, weights =
        match where with
        | None -> inputRows, weights
        | Some w ->
            let test = compileInput input.Fields (fst (translate scope0 w))
            if isNull weights then inputRows |> Array.filter (fun r -> Expr.isTruthy (test r)), null
            else
                let kept = Array.zip inputRows weights |> Array.filter (fun (r, _) -> Expr.isTruthy (test r))
                Array.map fst kept, Array.map snd kept
    // SELECT * and t.* expand to the visible columns.
    let items =
        s.Items |> List.collect (function
            | Item(e, alias) -> [ (resolveSubqueries ctx e |> fun e -> if ctx.FilteredSumRewrite then filteredSumRewrite e else e), alias ]
            | AllColumns q ->
                input.Fields
                |> List.filter (fun f -> q.IsNone || f.Qualifier = q)
                |> List.map (fun f -> Expr.Column(f.Qualifier, f.Name), None))
    if items.IsEmpty then SqlError.invalid "SELECT * over a table without columns"
    let names = outputNames items
    let inputNames = input.Fields |> List.map (fun f -> f.Name) |> set
    // A bare name that is no input column but a select alias means that select expression.
    let aliasExpansion (e: Ast.Expr) =
        e |> rewrite (fun node ->
            match node with
            | Expr.Column(None, n) when not (inputNames.Contains n) ->
                List.zip names items |> List.tryFind (fun (name, _) -> name = n) |> Option.map (fun (_, (ie, _)) -> ie)
            | _ -> None)
    let having = s.Having |> Option.map (resolveSubqueries ctx >> aliasExpansion >> (fun h -> if ctx.FilteredSumRewrite then filteredSumRewrite h else h))
    let aggregating =
        s.GroupBy.IsSome || items |> List.exists (fst >> hasAggregate) || (having |> Option.exists hasAggregate)
    // Rows after grouping (or the filtered input), with the scope that reads them.
    let postFields, postRows, postSubstitute =
        if not aggregating then input.Fields, List.ofArray rows, (fun (_: Ast.Expr) -> None)
        else
            let groupExprOf (e: Ast.Expr) =
                match e with
                | Expr.Literal(Literal.Number n) when isIntegerLiteral e ->
                    let i = int n
                    if i < 1 || i > items.Length then SqlError.invalid (sprintf "Ordinal out of range: GROUP BY %d" i)
                    fst items.[i - 1]
                | e -> aliasExpansion e
            let groupExprs = List<Ast.Expr>()
            let indexOf (e: Ast.Expr) =
                let e = groupExprOf e
                match Seq.tryFindIndex (fun g -> g = e) groupExprs with
                | Some i -> i
                | None -> groupExprs.Add e; groupExprs.Count - 1
            let rec subsets (xs: int list) =
                match xs with
                | [] -> [ [] ]
                | x :: rest -> let tails = subsets rest in (tails |> List.map (fun t -> x :: t)) @ tails
            let setsOf (g: GroupingElement) : int list list =
                match g with
                | GroupEmpty -> [ [] ]
                | GroupExpr e -> [ [ indexOf e ] ]
                | GroupingSets sets -> sets |> List.map (List.map indexOf)
                | Rollup xs -> let ids = List.map indexOf xs in [ for k in ids.Length .. -1 .. 0 -> List.truncate k ids ]
                | Cube xs -> subsets (List.map indexOf xs)
            let sets =
                (defaultArg s.GroupBy [ GroupEmpty ])
                |> List.fold (fun acc g -> [ for a in acc do for b in setsOf g -> a @ b ]) [ [] ]
                |> List.map List.distinct
            let groupTranslated = groupExprs |> Seq.map (translate scope0) |> Array.ofSeq
            let groupEval = groupTranslated |> Array.map (fst >> compileInput input.Fields)
            let aggCalls =
                (List.map fst items @ Option.toList having @ (orderBy |> List.map (fun o -> aliasExpansion o.Expr)))
                |> List.collect collectAggregates |> List.distinct
            let timeIndex = input.Fields |> List.tryFindIndex (fun f -> f.Name = "__time" && f.Type = SqlType.Timestamp)
            let compiledAggs =
                aggCalls |> List.map (fun call ->
                    match call with
                    | Expr.Call(name, distinct, args, filter, _) ->
                        let isStar = match args with [ Expr.Star _ ] | [] -> name = "COUNT" | _ -> false
                        let valueArgs, constArgs =
                            if isStar then [], []
                            else
                                match name with
                                | "STRING_AGG" | "LISTAGG" | "APPROX_QUANTILE" | "APPROX_QUANTILE_DS" | "EARLIEST" | "LATEST" | "ARRAY_AGG" -> [ args.Head ], args
                                | _ -> args, args
                        let translatedArgs = valueArgs |> List.map (translate scope0)
                        let evals = translatedArgs |> List.map (fst >> compileInput input.Fields) |> Array.ofList
                        let consts = constArgs |> List.map (fun a -> defaultArg (constantValue scope0 a) Value.Null)
                        let filterEval = filter |> Option.map (fun f -> compileInput input.Fields (fst (translate scope0 (resolveSubqueries ctx f))))
                        let resultType = aggregateType name (translatedArgs |> List.map snd)
                        name, distinct, evals, consts, filterEval, resultType, args
                    | _ -> failwith "not an aggregate")
            let groupCount = groupExprs.Count
            let outRows = List<Value[]>()
            // Aggregates with an accumulator see each row once; the others get the group's rows.
            let makers =
                compiledAggs |> List.map (fun (name, distinct, evals, _, filterEval, resultType, _) ->
                    if name = "GROUPING" then None
                    else
                        streamingAggregate name distinct resultType evals
                        |> Option.map (fun make ->
                            match filterEval with
                            | Some f -> filteredAccumulator (fun r -> Expr.isTruthy (f r)) make
                            | None -> make))
                |> Array.ofList
            let keepMembers =
                compiledAggs |> List.mapi (fun i (name, _, _, _, _, _, _) -> name <> "GROUPING" && makers.[i].IsNone) |> List.exists id
            let weighted = not (isNull weights)
            let keyEquality = KeyComparer() :> IEqualityComparer<Value[]>
            let newGroup (key: Value[]) : InMemoryGroup =
                // One by one, a key unequal to itself (NaN) makes a group per row.
                if weighted && not (keyEquality.Equals(key, key)) then raise NotWeightable
                { Key = key
                  Members = (if keepMembers then List<Value[]>() else null)
                  Accumulators = makers |> Array.map (function Some make -> make () | None -> null) }
            // Rows by position, so a row given with a count finds it.
            let position = ref 0
            let feed (g: InMemoryGroup) (row: Value[]) =
                if weighted then g.AddWeighted(row, weights.[position.Value]) else g.Add row
            for set in sets do
                // Groups in order of first appearance.
                let order = List<InMemoryGroup>()
                let groups = Dictionary<Value[], InMemoryGroup>(KeyComparer())
                let add (key: Value[]) (row: Value[]) =
                    match groups.TryGetValue key with
                    | true, g -> feed g row
                    | _ ->
                        let g = newGroup key
                        feed g row
                        groups.[key] <- g
                        order.Add g
                let multiValueKeys (values: Value list) : Value[] list =
                    // A multi-value string groups under each of its values (none: null).
                    let choices =
                        List.map2 (fun i v ->
                            match v, snd groupTranslated.[i] with
                            | Value.Array [||], SqlType.Varchar -> [ Value.Null ]
                            | Value.Array xs, SqlType.Varchar -> List.ofArray (Array.distinct xs)
                            | v, _ -> [ v ]) set values
                    let rec product (cs: Value list list) : Value list list =
                        match cs with
                        | [] -> [ [] ]
                        | c :: rest -> [ for x in c do for tail in product rest -> x :: tail ]
                    product choices |> List.map Array.ofList
                position.Value <- 0
                match set with
                | [] ->
                    let g = newGroup [||]
                    for row in rows do
                        feed g row
                        position.Value <- position.Value + 1
                    order.Add g
                | [ only ] ->
                    // One key: grouped by the value itself, without a key array per row.
                    let eval = groupEval.[only]
                    let byValue = Dictionary<Value, InMemoryGroup>(ValueComparer.Instance)
                    let addValue (v: Value) (row: Value[]) =
                        match byValue.TryGetValue v with
                        | true, g -> feed g row
                        | _ ->
                            let g = newGroup [| v |]
                            feed g row
                            byValue.[v] <- g
                            order.Add g
                    for row in rows do
                        match eval row with
                        | Value.Array _ as v -> for key in multiValueKeys [ v ] do addValue key.[0] row
                        | v -> addValue v row
                        position.Value <- position.Value + 1
                | _ ->
                    for row in rows do
                        let values = set |> List.map (fun i -> groupEval.[i] row)
                        if values |> List.exists (function Value.Array _ -> true | _ -> false) then
                            for key in multiValueKeys values do add key row
                        else add (Array.ofList values) row
                        position.Value <- position.Value + 1
                for group in order do
                    let key = group.Key
                    let full = Array.create groupCount Value.Null
                    List.iteri (fun k i -> full.[i] <- key.[k]) set
                    let aggValues =
                        compiledAggs |> List.mapi (fun a (name, distinct, evals, consts, filterEval, resultType, args) ->
                            if name = "GROUPING" then
                                let ids = args |> List.map indexOf
                                let bits = ids |> List.fold (fun acc i -> (acc <<< 1) ||| (if List.contains i set then 0L else 1L)) 0L
                                Value.Long bits
                            else
                            match group.Accumulators.[a] with
                            | null ->
                                let members = group.Members
                                let selected = match filterEval with Some f -> members |> Seq.filter (fun r -> Expr.isTruthy (f r)) |> Array.ofSeq | None -> members.ToArray()
                                let argValues = selected |> Array.map (fun r -> evals |> Array.map (fun ev -> ev r))
                                let times = match timeIndex with Some ti -> selected |> Array.map (fun r -> r.[ti]) | None -> Array.create selected.Length Value.Null
                                aggregate name distinct resultType argValues times consts
                            | accumulator -> accumulator.Result())
                    outRows.Add(Array.append full (Array.ofList aggValues))
            let groupFields =
                groupTranslated |> Array.mapi (fun i (_, t) -> { Qualifier = None; Name = sprintf "$g%d" i; Key = fieldKey i; Type = t }) |> List.ofArray
            let aggFields =
                compiledAggs |> List.mapi (fun i (_, _, _, _, _, t, _) -> { Qualifier = None; Name = sprintf "$a%d" i; Key = fieldKey (groupCount + i); Type = t })
            let groupList = List.ofSeq groupExprs
            let substitute = groupedSubstitute scope0 groupList groupFields aggCalls aggFields
            groupFields @ aggFields, List.ofSeq outRows, substitute
    let postScope = { emptyScope ctx postFields with Substitute = postSubstitute }
    let postRows =
        match having with
        | None -> postRows
        | Some h ->
            let test = compileOver postFields (fst (translate postScope h))
            postRows |> List.filter (fun r -> Expr.isTruthy (test r))
    // Window functions become extra columns of the post rows.
    let windowCalls = items |> List.collect (fun (e, _) -> windowCallsOf e) |> List.distinct
    let postFields, postRows, postScope =
        if windowCalls.IsEmpty then postFields, postRows, postScope
        else
            let rowsArr = Array.ofList postRows
            let columns = windowCalls |> List.map (fun w -> Window.compute postScope postFields rowsArr w)
            let firstWindow = postFields.Length
            let fields = postFields @ (windowCalls |> List.mapi (fun i w -> { Qualifier = None; Name = sprintf "$w%d" i; Key = fieldKey (firstWindow + i); Type = snd (List.item i columns) }))
            let rows = rowsArr |> Array.mapi (fun r row -> Array.append row (columns |> List.map (fun (vals: Value[], _) -> vals.[r]) |> Array.ofList)) |> List.ofArray
            let substitute (e: Ast.Expr) =
                match List.tryFindIndex ((=) e) windowCalls with
                | Some i -> Some fields.[firstWindow + i]
                | None -> postScope.Substitute e
            fields, rows, { postScope with Fields = fields; Substitute = substitute }
    // Without ORDER BY, rows come out in the order of the (first) window, as Druid's window
    // operator sorts them by partition and order keys.
    let postRows =
        match orderBy, windowCalls with
        | [], Expr.Call(_, _, _, _, Some w) :: _ when not (w.PartitionBy.IsEmpty && w.OrderBy.IsEmpty) ->
            let keys = (w.PartitionBy |> List.map (fun e -> e, false, None)) @ (w.OrderBy |> List.map (fun o -> o.Expr, o.Descending, o.NullsFirst))
            let evals = keys |> List.map (fun (e, _, _) -> compileOver postFields (fst (translate postScope e)))
            sortRows evals (keys |> List.map (fun (_, d, _) -> d)) (keys |> List.map (fun (_, _, n) -> n)) postRows
        | _ -> postRows
    let translatedItems = items |> List.map (fun (e, _) -> translate postScope e)
    let projections = translatedItems |> List.map (fst >> compileOver postFields) |> Array.ofList
    let outFields = List.zip names translatedItems |> List.mapi (fun i (n, (_, t)) -> { Qualifier = None; Name = n; Key = fieldKey i; Type = t })
    let project (r: Value[]) = projections |> Array.map (fun p -> p r)
    // Druid's scan cannot order rows by an ARRAY value (grouped queries can).
    if not aggregating && windowCalls.IsEmpty then
        for o in orderBy do
            let keyType =
                match o.Expr with
                | Expr.Literal(Literal.Number n) as e when isIntegerLiteral e ->
                    let i = int n - 1
                    if i >= 0 && i < outFields.Length then Some outFields.[i].Type else None
                | Expr.Column(None, n) when List.contains n names -> Some outFields.[List.findIndex ((=) n) names].Type
                | e -> try Some(snd (translate postScope (aliasExpansion e))) with _ -> None
            match keyType with
            | Some(SqlType.Array _ | SqlType.Other _ as t) -> SqlError.unsupported (sprintf "Ordering rows by a column of type [%s] is not supported without GROUP BY" t.NativeName)
            | _ -> ()
    // Each ORDER BY key reads an output column (by ordinal or name) or an expression of the post row.
    let keySources =
        orderBy |> List.map (fun o ->
            match o.Expr with
            | Expr.Literal(Literal.Number n) as e when isIntegerLiteral e ->
                let i = int n - 1
                if i < 0 || i >= names.Length then SqlError.invalid (sprintf "Ordinal out of range: ORDER BY %s" n)
                Choice1Of2 i
            | Expr.Column(None, n) when List.contains n names -> Choice1Of2(List.findIndex ((=) n) names)
            | e -> Choice2Of2(compileOver postFields (fst (translate postScope (aliasExpansion e)))))
    let descending = orderBy |> List.map (fun o -> o.Descending)
    let nullsFirst = orderBy |> List.map (fun o -> o.NullsFirst)
    // With LIMIT, only the first offset + limit rows of the order are needed.
    let order (keys: ('r -> Value) list) (rows: 'r list) : 'r list =
        if keys.IsEmpty then rows
        else
            match limit with
            | Some l -> sortRowsTop keys descending nullsFirst (int (min (int64 l + int64 (defaultArg offset 0)) (int64 Int32.MaxValue))) rows
            | None -> sortRows keys descending nullsFirst rows
    let outRows =
        if s.Distinct then
            let projected = postRows |> List.map (fun r -> r, project r) |> List.distinctBy (fun (_, o) -> List.ofArray o)
            let keys = keySources |> List.map (function Choice1Of2 i -> (fun ((_, out): Value[] * Value[]) -> out.[i]) | Choice2Of2 eval -> (fun (post, _) -> eval post))
            page offset limit (order keys projected) |> List.map snd
        else
            // Output rows are projected only once they are known to be returned.
            let keys = keySources |> List.map (function Choice1Of2 i -> projections.[i] | Choice2Of2 eval -> eval)
            page offset limit (order keys postRows) |> List.map project
    { Fields = outFields; Rows = outRows }

and private windowCallsOf (e: Ast.Expr) : Ast.Expr list =
    match e with
    | Expr.Call(_, _, _, _, Some _) -> [ e ]
    | _ -> children e |> List.collect windowCallsOf

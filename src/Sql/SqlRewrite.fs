/// Syntax-level helpers shared by the planner and the in-memory operators: rewriting
/// expressions, constants, `__time` bounds, the columns a statement reads.
module FunctionalDruid.Sql.SqlRewrite

open System
open System.Collections.Generic
open FunctionalDruid.Core
open FunctionalDruid.Sql.Ast
open FunctionalDruid.Sql.Translate

// ---- syntax rewriting ------------------------------------------------------------------------------

/// Rewrites an expression top-down: where `f` gives a replacement, the node is replaced.
let rec rewrite (f: Ast.Expr -> Ast.Expr option) (e: Ast.Expr) : Ast.Expr =
    match f e with
    | Some r -> r
    | None ->
        let r = rewrite f
        let ro = Option.map r
        match e with
        | Expr.Literal _ | Expr.Column _ | Expr.Star _ | Expr.Param _ | Expr.Keyword _ | Expr.ScalarQuery _ | Expr.Exists _ -> e
        | Expr.Negate x -> Expr.Negate(r x)
        | Expr.Not x -> Expr.Not(r x)
        | Expr.Binary(op, a, b) -> Expr.Binary(op, r a, r b)
        | Expr.Call(n, d, args, filter, over) ->
            let over = over |> Option.map (fun w -> { w with PartitionBy = List.map r w.PartitionBy; OrderBy = w.OrderBy |> List.map (fun o -> { o with Expr = r o.Expr }) })
            Expr.Call(n, d, List.map r args, ro filter, over)
        | Expr.Case(o, ws, el) -> Expr.Case(ro o, ws |> List.map (fun (a, b) -> r a, r b), ro el)
        | Expr.Cast(x, t) -> Expr.Cast(r x, t)
        | Expr.InList(x, xs, n) -> Expr.InList(r x, List.map r xs, n)
        | Expr.InQuery(x, q, n) -> Expr.InQuery(r x, q, n)
        | Expr.Between(x, a, b, n) -> Expr.Between(r x, r a, r b, n)
        | Expr.Like(x, p, esc, n) -> Expr.Like(r x, r p, ro esc, n)
        | Expr.IsNull(x, n) -> Expr.IsNull(r x, n)
        | Expr.IsBool(x, v, n) -> Expr.IsBool(r x, v, n)
        | Expr.IsDistinctFrom(a, b, n) -> Expr.IsDistinctFrom(r a, r b, n)
        | Expr.Extract(u, x) -> Expr.Extract(u, r x)
        | Expr.FloorTo(c, x, u) -> Expr.FloorTo(c, r x, u)
        | Expr.Position(a, b, c) -> Expr.Position(r a, r b, ro c)
        | Expr.Trim(w, c, x) -> Expr.Trim(w, ro c, r x)
        | Expr.Array xs -> Expr.Array(List.map r xs)

/// `SUM(CASE WHEN c THEN x END)` → `SUM(x) FILTER (WHERE c)`, as Druid rewrites it. With
/// `ELSE 0` the CASE stays: rows that do not match then make the sum 0, not null, as standard
/// SQL says and Druid's maintainers agree (apache/druid#17768, its fix still pending, so
/// quidem's filtered_sum.iq still expects null), which a plain filtered sum cannot express.
let filteredSumRewrite (e: Ast.Expr) : Ast.Expr =
    e |> rewrite (fun node ->
        match node with
        | Expr.Call("SUM", false, [ Expr.Case(None, [ (cond, x) ], None) ], filter, None)
            when (match x with Expr.Literal _ -> false | _ -> true) ->
            let combined = match filter with Some f -> Expr.Binary(BinaryOp.And, f, cond) | None -> cond
            Some(Expr.Call("SUM", false, [ x ], Some combined, None))
        | _ -> None)

/// Output column names of a select list: the alias, a bare column's name, else `EXPR$n` where
/// n counts the distinct names before it (Calcite numbers by the size of its alias set, so
/// `SELECT a.cnt, b.cnt, SUM(x)` names the third column `EXPR$1`).
let outputNames (items: (Ast.Expr * string option) list) : string list =
    let seen = HashSet<string>()
    items
    |> List.map (fun (e, alias) ->
        let name =
            match alias, e with
            | Some a, _ -> a
            | None, Expr.Column(_, n) -> n
            | None, _ -> sprintf "EXPR$%d" seen.Count
        seen.Add name |> ignore
        name)

let rec literalOf (v: Value) : Ast.Expr =
    match v with
    | Value.Null -> Expr.Literal Literal.Null
    | Value.Long l when l < 0L -> Expr.Negate(Expr.Literal(Literal.Number(string -l)))
    | Value.Long l -> Expr.Literal(Literal.Number(string l))
    | Value.Double d when d < 0.0 -> Expr.Negate(literalOf (Value.Double -d))
    | Value.Double d -> Expr.Literal(Literal.Number(d.ToString("R", Globalization.CultureInfo.InvariantCulture)))
    | Value.String s -> Expr.Literal(Literal.String s)
    | Value.Array xs -> Expr.Array(xs |> Array.map literalOf |> List.ofArray)

let rec conjuncts (e: Ast.Expr) : Ast.Expr list =
    match e with
    | Expr.Binary(BinaryOp.And, a, b) -> conjuncts a @ conjuncts b
    | _ -> [ e ]

/// A constant expression's value (no column references), or None.
let constantValue (scope: Scope) (e: Ast.Expr) : Value option =
    try
        let d, _ = translate { scope with Fields = []; Substitute = (fun _ -> None) } e
        if (Expr.requiredColumns d).IsEmpty then Some(Expr.eval (fun _ -> Value.Null) d) else None
    with _ -> None

/// Intervals implied by top-level `__time` comparisons with constants (Druid moves them from
/// the filter into the query intervals).
let timeIntervals (scope: Scope) (where: Ast.Expr option) : Time.Interval list =
    let mutable lo = Time.minInstant
    let mutable hi = Time.maxInstant
    let isTime e =
        match e with
        | Expr.Column(_, "__time") -> true
        | _ -> false
    let constMillis e = constantValue scope e |> Option.bind Value.toLong
    let apply (op: BinaryOp) (t: int64) =
        match op with
        | BinaryOp.Ge -> lo <- max lo t
        | BinaryOp.Gt -> lo <- max lo (t + 1L)
        | BinaryOp.Lt -> hi <- min hi t
        | BinaryOp.Le -> hi <- min hi (t + 1L)
        | BinaryOp.Eq -> lo <- max lo t; hi <- min hi (t + 1L)
        | _ -> ()
    let flip (op: BinaryOp) =
        match op with
        | BinaryOp.Ge -> BinaryOp.Le
        | BinaryOp.Gt -> BinaryOp.Lt
        | BinaryOp.Lt -> BinaryOp.Gt
        | BinaryOp.Le -> BinaryOp.Ge
        | o -> o
    for c in (match where with Some w -> conjuncts w | None -> []) do
        match c with
        | Expr.Binary(op, l, r) when isTime l -> constMillis r |> Option.iter (apply op)
        | Expr.Binary(op, l, r) when isTime r -> constMillis l |> Option.iter (apply (flip op))
        | Expr.Between(x, a, b, false) when isTime x ->
            constMillis a |> Option.iter (apply BinaryOp.Ge)
            constMillis b |> Option.iter (apply BinaryOp.Le)
        | _ -> ()
    if lo >= hi then [] else [ { Time.Interval.Start = lo; End = hi } ]

/// Every column name a statement mentions, or None when a `*` needs all of them.
let referencedColumns (q: Query) : Set<string> option =
    let names = HashSet<string>(StringComparer.Ordinal)
    let mutable star = false
    let rec expr (e: Ast.Expr) =
        match e with
        | Expr.Column(_, n) -> names.Add n |> ignore
        | Expr.Star _ -> ()
        | Expr.ScalarQuery sub | Expr.Exists sub -> query sub
        | Expr.InQuery(x, sub, _) -> expr x; query sub
        | Expr.Call(name, _, _, _, _) ->
            // EARLIEST and LATEST read __time without naming it.
            let upper = name.ToUpperInvariant()
            if upper.StartsWith "EARLIEST" || upper.StartsWith "LATEST" then names.Add "__time" |> ignore
            children e |> List.iter expr
        | e -> children e |> List.iter expr
    and table (t: TableRef) =
        match t with
        | Table _ -> ()
        | Derived(sub, _, _) -> query sub
        | Join(l, _, r, on) -> table l; table r; Option.iter expr on
        | Unnest(e, _, _) -> expr e
    and select (s: Select) =
        for i in s.Items do
            match i with
            | Item(e, _) -> expr e
            | AllColumns _ -> star <- true
        Option.iter table s.From
        Option.iter expr s.Where
        Option.iter expr s.Having
        for g in defaultArg s.GroupBy [] do
            match g with
            | GroupExpr e -> expr e
            | GroupEmpty -> ()
            | GroupingSets sets -> sets |> List.iter (List.iter expr)
            | Rollup xs | Cube xs -> List.iter expr xs
    and body (b: QueryBody) =
        match b with
        | SelectBody s -> select s
        | UnionAll(l, r) | Union(l, r) -> body l; body r
        | Values rows -> rows |> List.iter (List.iter expr)
        | Nested q -> query q
    and query (q: Query) =
        for (_, _, sub) in q.With do query sub
        body q.Body
        for o in q.OrderBy do expr o.Expr
    query q
    if star then None else Some(Set.ofSeq names)



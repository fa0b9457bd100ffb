/// GROUP BY keys that are functions of other GROUP BY keys (ClickBench Q36 groups by ClientIP,
/// ClientIP - 1, ClientIP - 2, ClientIP - 3) or constants (Q35: GROUP BY 1, URL): they add no
/// groups, so the native plan groups on
/// the other keys only and computes them per result row as post-aggregators over the kept
/// dimensions, instead of building wide composite keys for nothing.
module FunctionalDruid.Sql.DependentKeys

open FunctionalDruid.Core
open FunctionalDruid.Sql.Ast
open FunctionalDruid.Sql.Translate

/// The kind of value our expression engine yields for an expression, where it can be told
/// from the expression alone.
type private ValueKind =
    | LongValue
    | DoubleValue
    | StringValue
    /// Always null: fits any kind.
    | NullValue

/// The value kind of an expression built only from the columns `columnKind` knows, literals,
/// arithmetic, comparisons, CASE, casts and a few string functions (all deterministic); None
/// for anything else.
let rec private valueKindOf (columnKind: string -> ValueKind option) (d: DExpr) : ValueKind option =
    let kindOf = valueKindOf columnKind
    let unify (kinds: ValueKind option list) =
        kinds |> List.fold (fun acc k ->
            match acc, k with
            | Some NullValue, k | k, Some NullValue -> k
            | Some a, Some b when a = b -> Some a
            | _ -> None) (Some NullValue)
    let isNumber k = match k with Some(LongValue | DoubleValue | NullValue) -> true | _ -> false
    match d with
    | DExpr.Literal Value.Null -> Some NullValue
    | DExpr.Literal(Value.Long _) -> Some LongValue
    | DExpr.Literal(Value.Double _) -> Some DoubleValue
    | DExpr.Literal(Value.String s) when not (isNull s) -> Some StringValue
    | DExpr.Identifier key -> columnKind key
    | DExpr.Unary(ExprSyntax.UnaryOp.Negate, x) -> (match kindOf x with Some(LongValue | DoubleValue | NullValue) as k -> k | _ -> None)
    | DExpr.Unary(ExprSyntax.UnaryOp.Not, x) -> kindOf x |> Option.map (fun _ -> LongValue)
    | DExpr.Binary((ExprSyntax.BinaryOp.Add | ExprSyntax.BinaryOp.Subtract | ExprSyntax.BinaryOp.Multiply | ExprSyntax.BinaryOp.Divide | ExprSyntax.BinaryOp.Modulo), l, r) ->
        let l, r = kindOf l, kindOf r
        if not (isNumber l && isNumber r) then None
        elif l = Some DoubleValue || r = Some DoubleValue then Some DoubleValue
        else unify [ l; r ]
    | DExpr.Binary(ExprSyntax.BinaryOp.Power, _, _) -> None
    // Comparisons and logic yield 1, 0 or null whatever they compare.
    | DExpr.Binary(_, l, r) -> if (kindOf l).IsSome && (kindOf r).IsSome then Some LongValue else None
    | DExpr.Call("case_searched", args) ->
        let conditions, results = args |> List.indexed |> List.partition (fun (i, _) -> i % 2 = 0 && i < args.Length - 1)
        if conditions |> List.exists (fun (_, c) -> (kindOf c).IsNone) then None
        else unify (results |> List.map (snd >> kindOf))
    | DExpr.Call("case_simple", operand :: rest) ->
        let tests, results = rest |> List.indexed |> List.partition (fun (i, _) -> i % 2 = 0 && i < rest.Length - 1)
        if (kindOf operand).IsNone || tests |> List.exists (fun (_, c) -> (kindOf c).IsNone) then None
        else unify (results |> List.map (snd >> kindOf))
    | DExpr.Call("cast", [ x; DExpr.Literal(Value.String target) ]) when (kindOf x).IsSome ->
        match target with
        | "LONG" -> Some LongValue
        | "DOUBLE" -> Some DoubleValue
        | "STRING" -> Some StringValue
        | _ -> None
    | DExpr.Call("concat", args) when args |> List.forall (fun a -> (kindOf a).IsSome) -> Some StringValue
    | DExpr.Call(("upper" | "lower"), [ x ]) when (match kindOf x with Some(StringValue | NullValue) -> true | _ -> false) -> Some StringValue
    | _ -> None

/// The GROUP BY keys to group on: a key that is a function of other keys adds no groups, so
/// grouping by (k, f(k)) groups by k, and f(k) is computed per result row by a post-aggregator
/// (grouping on it would build wide composite keys for nothing). Only clear cases are dropped:
/// f is a deterministic expression (no aggregates) whose value kind is the kind its dimension
/// would have had (a post-aggregator's value is not cast as a dimension's is), reading only
/// keys that are plain LONG or DOUBLE columns (one value per row: a multi-value string would
/// expand into several groups, and whether a string column is one is not known here), or
/// nothing (a constant, as in ClickBench Q35's GROUP BY 1, URL). At least one key is kept: a
/// grouping on constants alone yields no row over no input, GROUP BY () one.
let keysToGroupOn (scope: Scope) (groupExprs: Ast.Expr list) : Ast.Expr list =
    let keyColumnKinds =
        groupExprs |> List.choose (fun e ->
            match e with
            | Expr.Column(q, n) ->
                match (try Some(resolve scope q n) with _ -> None) with
                | Some f when f.Type = SqlType.Bigint -> Some(f.Key, LongValue)
                | Some f when f.Type = SqlType.Double -> Some(f.Key, DoubleValue)
                | _ -> None
            | _ -> None)
        |> Map.ofList
    let isFunctionOfKeys (e: Ast.Expr) =
        match e with
        | Expr.Column _ -> false
        | _ when hasAggregate e || hasWindow e -> false
        | _ ->
            match (try Some(translate scope e) with _ -> None) with
            | Some(d, t) ->
                let reads = Expr.requiredColumns d
                reads |> List.forall keyColumnKinds.ContainsKey
                && (match valueKindOf keyColumnKinds.TryFind d, t with
                    | Some LongValue, (SqlType.Bigint | SqlType.Boolean) | Some DoubleValue, SqlType.Double | Some StringValue, SqlType.Varchar -> true
                    | _ -> false)
            | _ -> false
    match groupExprs |> List.filter (isFunctionOfKeys >> not) with
    | [] -> groupExprs
    | independent -> independent

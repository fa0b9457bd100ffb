/// Druid's expression language, as used by transforms, expression filters, virtual columns,
/// expression post-aggregators and aggregator expressions: parse once, compile once, then
/// evaluate per row with SQL-compatible null handling.
module FunctionalDruid.Core.Expr

open FunctionalDruid.Core
open FunctionalDruid.Core.ExprSyntax
open FunctionalDruid.Core.ExprFunctions

type Expr = ExprSyntax.Expr

/// A column lookup for one row: a missing column is Value.Null, `__time` is a Long.
type Row = string -> Value

/// An expression ready to evaluate against rows.
type Compiled = Row -> Value

let private checkCall (name: string) (count: int) (hasLambda: bool) : string option =
    match ExprTimeAndArrays.table.TryFind name with
    | None -> Some(sprintf "function '%s' is not defined" name)
    | Some def when def.TakesLambda && not hasLambda -> Some(sprintf "Function[%s] requires a lambda expression as its first argument" name)
    | Some def when hasLambda && not def.TakesLambda -> Some(sprintf "Function[%s] does not accept a lambda expression" name)
    | Some def -> arityProblem name def.Arity count

/// Turns a parsed expression into a function of rows. Function arguments that must be
/// literals (patterns, periods, units, time zones, cast types) are checked here; `parse`
/// already did so, so compiling a parsed expression does not fail.
let rec compile (e: Expr) : Compiled =
    match e with
    | Expr.Literal v -> fun _ -> v
    | Expr.Identifier name -> fun row -> row name
    | Expr.Unary(Negate, x) -> let cx = compile x in fun row -> ExprOps.negate (cx row)
    | Expr.Unary(Not, x) -> let cx = compile x in fun row -> ExprOps.logicalNot (cx row)
    | Expr.Binary(And, l, r) ->
        let cl, cr = compile l, compile r
        fun row -> ExprOps.logicalAnd (cl row) (fun () -> cr row)
    | Expr.Binary(Or, l, r) ->
        let cl, cr = compile l, compile r
        fun row -> ExprOps.logicalOr (cl row) (fun () -> cr row)
    | Expr.Binary(op, l, r) ->
        let cl, cr = compile l, compile r
        fun row -> ExprOps.binary op (cl row) (cr row)
    | Expr.Call(name, args) ->
        match ExprTimeAndArrays.table.TryFind name with
        | Some def -> def.Build compile (Array.ofList args)
        | None -> raise (FunctionError(sprintf "function '%s' is not defined" name))
    | Expr.Lambda _ -> raise (FunctionError "A lambda expression may only be the first argument of an apply function")

/// Parses expression text. Errors say what went wrong and, for syntax and call problems,
/// where: `Unexpected token ')' at position 7 in expression "a + (b))"`.
let parse (text: string) : Result<Expr, string> =
    match ExprSyntax.parse checkCall text with
    | Error e -> Error e
    | Ok e ->
        try
            compile e |> ignore
            Ok e
        with FunctionError problem -> Error(sprintf "%s in expression \"%s\"" problem text)

/// Parses and compiles in one step.
let parseCompiled (text: string) : Result<Compiled, string> = parse text |> Result.map compile

/// Evaluates an expression against one row. For many rows, `compile` once and call the result.
let eval (row: Row) (e: Expr) : Value = compile e row

/// The columns an expression reads, in order of first use, without lambda parameters.
let requiredColumns (e: Expr) : string list =
    let found = ResizeArray<string>()
    let rec walk (bound: Set<string>) (e: Expr) =
        match e with
        | Expr.Literal _ -> ()
        | Expr.Identifier name -> if not (bound.Contains name) && not (found.Contains name) then found.Add name
        | Expr.Unary(_, x) -> walk bound x
        | Expr.Binary(_, l, r) -> walk bound l; walk bound r
        | Expr.Call(_, args) -> List.iter (walk bound) args
        | Expr.Lambda(parameters, body) -> walk (Set.union bound (set parameters)) body
    walk Set.empty e
    List.ofSeq found

/// Druid's truthiness of an expression result (positive numbers, "true" strings; for a
/// multi-value result, any element), as expression filters use it.
let isTruthy (v: Value) : bool = ExprOps.truthy v

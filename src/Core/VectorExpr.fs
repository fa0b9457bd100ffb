/// Column-at-a-time evaluation of simple arithmetic (`x + 1`, `a * b - 2.5`) over long and
/// double columns: the same values as the row-by-row interpreter (long arithmetic wraps,
/// mixing in a double makes a double, a null operand makes a null) without a boxed value per
/// row. Anything else answers None and is evaluated row by row.
module FunctionalDruid.Core.VectorExpr

open FunctionalDruid.Core
open FunctionalDruid.Core.ExprSyntax

/// An intermediate: a column of longs or doubles (with its null flags) or a constant.
type private Vector =
    | Longs of int64[] * bool[] option
    | Doubles of float[] * bool[] option
    | LongConstant of int64
    | DoubleConstant of float

let private orNulls (a: bool[] option) (b: bool[] option) =
    match a, b with
    | None, x | x, None -> x
    | Some x, Some y -> Some(Array.map2 (||) x y)

let private longOp (op: BinaryOp) : (int64 -> int64 -> int64) option =
    match op with
    | Add -> Some(+)
    | Subtract -> Some(-)
    | Multiply -> Some(*)
    | _ -> None

let private doubleOp (op: BinaryOp) : (float -> float -> float) option =
    match op with
    | Add -> Some(+)
    | Subtract -> Some(-)
    | Multiply -> Some(*)
    | Divide -> Some(/)
    | _ -> None

let private asDoubles (n: int) (v: Vector) : float[] * bool[] option =
    match v with
    | Longs(xs, nulls) -> Array.map float xs, nulls
    | Doubles(xs, nulls) -> xs, nulls
    | LongConstant c -> Array.create n (float c), None
    | DoubleConstant c -> Array.create n c, None

let private apply (n: int) (op: BinaryOp) (l: Vector) (r: Vector) : Vector option =
    match l, r with
    | LongConstant a, LongConstant b -> longOp op |> Option.map (fun f -> LongConstant(f a b))
    | (LongConstant _ | DoubleConstant _), (LongConstant _ | DoubleConstant _) -> None
    | Longs(xs, nx), LongConstant c ->
        longOp op |> Option.map (fun f ->
            let out = Array.zeroCreate<int64> n
            // The common shapes get a loop without a closure call per row.
            match op with
            | Add -> for i in 0 .. n - 1 do out.[i] <- xs.[i] + c
            | Subtract -> for i in 0 .. n - 1 do out.[i] <- xs.[i] - c
            | _ -> for i in 0 .. n - 1 do out.[i] <- f xs.[i] c
            Longs(out, nx))
    | LongConstant c, Longs(ys, ny) -> longOp op |> Option.map (fun f -> Longs(Array.map (fun y -> f c y) ys, ny))
    | Longs(xs, nx), Longs(ys, ny) -> longOp op |> Option.map (fun f -> Longs(Array.map2 f xs ys, orNulls nx ny))
    | _ ->
        doubleOp op |> Option.map (fun f ->
            let xs, nx = asDoubles n l
            let ys, ny = asDoubles n r
            Doubles(Array.map2 f xs ys, orNulls nx ny))

let rec private evaluate (columnOf: string -> ColumnData option) (n: int) (e: Expr) : Vector option =
    match e with
    | Expr.Literal(Value.Long l) -> Some(LongConstant l)
    | Expr.Literal(Value.Double d) -> Some(DoubleConstant d)
    | Expr.Identifier name ->
        match columnOf name with
        | Some(ColumnData.Longs(xs, nulls)) when xs.Length = n -> Some(Longs(xs, nulls))
        | Some(ColumnData.Doubles(xs, nulls)) when xs.Length = n -> Some(Doubles(xs, nulls))
        | _ -> None
    | Expr.Binary(op, a, b) ->
        match evaluate columnOf n a with
        | None -> None
        | Some l ->
            match evaluate columnOf n b with
            | None -> None
            | Some r -> apply n op l r
    | _ -> None

/// The column of `e` over `n` rows in the requested output type (None: as the values
/// suggest), when `e` is arithmetic over long and double columns and at least one column.
let tryColumn (columnOf: string -> ColumnData option) (n: int) (outputType: ColumnType option) (e: Expr) : ColumnData option =
    if n = 0 then None
    else
        match evaluate columnOf n e, outputType with
        | Some(Longs(xs, nulls)), (None | Some ColumnType.Long) -> Some(ColumnData.Longs(xs, nulls))
        | Some(Longs(xs, nulls)), Some(ColumnType.Double | ColumnType.Float) -> Some(ColumnData.Doubles(Array.map float xs, nulls))
        | Some(Doubles(xs, nulls)), (None | Some ColumnType.Double | Some ColumnType.Float) -> Some(ColumnData.Doubles(xs, nulls))
        | _ -> None

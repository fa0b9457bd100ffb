/// Column-at-a-time evaluation of simple arithmetic (`x + 1`, `a * b - 2.5`) over long and
/// double columns: the same values as the row-by-row interpreter (long arithmetic wraps,
/// mixing in a double makes a double, a null operand makes a null) without a boxed value per
/// row; `timestamp_extract` of a long column in UTC, evaluated once per run of rows in
/// the same unit of time; and `strlen` of a single-value string column, measured once per
/// dictionary value. Anything else answers None and is evaluated row by row.
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

/// Rows within one UTC span of this many milliseconds extract the same field (day and longer
/// fields change only at UTC midnight); only units giving longs.
let private extractGranule (unit: string) : int64 option =
    match unit.ToUpperInvariant() with
    | "MILLISECOND" -> Some 1L
    | "SECOND" -> Some 1_000L
    | "MINUTE" -> Some 60_000L
    | "HOUR" -> Some 3_600_000L
    | "DAY" | "DOW" | "ISODOW" | "DOY" | "WEEK" | "MONTH" | "QUARTER" | "YEAR" | "ISOYEAR" | "DECADE" -> Some 86_400_000L
    | _ -> None

let private isUtc (zone: Expr list) =
    match zone with
    | [] | [ Expr.Literal Value.Null ] -> true
    | [ Expr.Literal(Value.String text) ] ->
        match Time.tryParseZone text with
        | Some z -> z.MinOffset = NodaTime.Offset.Zero && z.MaxOffset = NodaTime.Offset.Zero
        | None -> false
    | _ -> false

/// The extract of every row, the interpreter run once per span of `granule` milliseconds.
let private extractRuns (call: Expr) (granule: int64) (times: int64[]) : Vector =
    let compiled = Expr.compile call
    let n = times.Length
    let out = Array.zeroCreate<int64> n
    let mutable nulls: bool[] = null
    let mutable lastSpan = 0L
    let mutable last = Value.Null
    let mutable started = false
    for i in 0 .. n - 1 do
        let t = times.[i]
        let span = if t >= 0L then t / granule else (t + 1L) / granule - 1L
        if not started || span <> lastSpan then
            last <- compiled (fun _ -> Value.Long t)
            lastSpan <- span
            started <- true
        match last with
        | Value.Long v -> out.[i] <- v
        | _ ->
            if isNull nulls then nulls <- Array.zeroCreate n
            nulls.[i] <- true
    Longs(out, Option.ofObj nulls)

/// The length of each row's string (null rows null), measured once per dictionary value.
let private dictionaryLengths (s: StringColumnData) : Vector =
    let lengths = s.Dictionary |> Array.map (fun d -> if isNull d then 0L else int64 d.Length)
    let ids = s.Ids
    let out = Array.zeroCreate<int64> ids.Length
    for r in 0 .. ids.Length - 1 do out.[r] <- lengths.[ids.[r]]
    let nullId = System.Array.IndexOf(s.Dictionary, null)
    let nulls =
        if nullId < 0 || System.Array.IndexOf(ids, nullId) < 0 then None
        else Some(ids |> Array.map (fun id -> id = nullId))
    Longs(out, nulls)

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
    | Expr.Call("timestamp_extract", Expr.Identifier column :: Expr.Literal(Value.String unit) :: zone) when isUtc zone ->
        match extractGranule unit, columnOf column with
        | Some granule, Some(ColumnData.Longs(times, None)) when times.Length = n -> Some(extractRuns e granule times)
        | _ -> None
    | Expr.Call("strlen", [ Expr.Identifier column ]) ->
        match columnOf column with
        | Some(ColumnData.Strings s) when s.MultiIds.IsNone && s.Ids.Length = n -> Some(dictionaryLengths s)
        | _ -> None
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

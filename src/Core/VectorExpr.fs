/// Column-at-a-time evaluation of simple arithmetic (`x + 1`, `a * b - 2.5`) over long and
/// double columns: the same values as the row-by-row interpreter (long arithmetic wraps,
/// mixing in a double makes a double, a null operand makes a null) without a boxed value per
/// row; `timestamp_extract` of a long column in UTC, evaluated once per run of rows in
/// the same unit of time; `strlen` of a single-value string column, measured once per
/// dictionary value; and a CASE choosing between a string column and string constants by
/// comparisons of long columns, as ids. Anything else answers None and is evaluated row by row.
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

/// Whether `op` holds between two longs.
let private holds (op: BinaryOp) (a: int64) (b: int64) : bool =
    match op with
    | Less -> a < b
    | LessOrEqual -> a <= b
    | Greater -> a > b
    | GreaterOrEqual -> a >= b
    | Equal -> a = b
    | _ -> a <> b

/// The rows where a condition holds, when it compares long columns without nulls (and
/// constants) and joins such comparisons with && and ||: without nulls, the three-valued
/// logic of the interpreter is plain truth. None for anything else.
let rec private truths (columnOf: string -> ColumnData option) (n: int) (e: Expr) : bool[] option =
    match e with
    | Expr.Binary((And | Or) as op, a, b) ->
        match truths columnOf n a with
        | None -> None
        | Some x ->
            match truths columnOf n b with
            | None -> None
            | Some y -> Some(if op = And then Array.map2 (&&) x y else Array.map2 (||) x y)
    | Expr.Binary((Less | LessOrEqual | Greater | GreaterOrEqual | Equal | NotEqual) as op, a, b) ->
        match evaluate columnOf n a, evaluate columnOf n b with
        | Some(Longs(xs, None)), Some(LongConstant c) ->
            let out = Array.zeroCreate<bool> n
            match op with
            | Equal -> for i in 0 .. n - 1 do out.[i] <- xs.[i] = c
            | NotEqual -> for i in 0 .. n - 1 do out.[i] <- xs.[i] <> c
            | _ -> for i in 0 .. n - 1 do out.[i] <- holds op xs.[i] c
            Some out
        | Some(LongConstant c), Some(Longs(ys, None)) -> Some(Array.init n (fun i -> holds op c ys.[i]))
        | Some(LongConstant c), Some(LongConstant d) -> Some(Array.create n (holds op c d))
        | Some(Longs(xs, None)), Some(Longs(ys, None)) -> Some(Array.init n (fun i -> holds op xs.[i] ys.[i]))
        | _ -> None
    | _ -> None

/// A result of a string CASE: a single-value string column's row, or a constant (null too).
type private StringChoice =
    | FromColumn of StringColumnData
    | Constant of string

let private stringChoice (columnOf: string -> ColumnData option) (n: int) (e: Expr) : StringChoice option =
    match e with
    | Expr.Literal(Value.String s) -> Some(Constant s)
    | Expr.Literal Value.Null -> Some(Constant null)
    | Expr.Identifier name ->
        match columnOf name with
        | Some(ColumnData.Strings s) when s.MultiIds.IsNone && s.Ids.Length = n -> Some(FromColumn s)
        | _ -> None
    | _ -> None

/// `case_searched` / `if` choosing between one string column and string constants by
/// conditions `truths` decides: the column's ids kept, its dictionary extended by the
/// constants it lacks (no string hashed or copied per row). None for other shapes.
let private chosenStrings (columnOf: string -> ColumnData option) (n: int) (e: Expr) : ColumnData option =
    let arms =
        match e with
        | Expr.Call("case_searched", args) when args.Length >= 2 ->
            let pairs = args |> List.chunkBySize 2
            let conditions = pairs |> List.filter (fun p -> p.Length = 2)
            let otherwise = match List.last pairs with [ e ] -> e | _ -> Expr.Literal Value.Null
            Some(conditions |> List.map (fun p -> p.[0], p.[1]), otherwise)
        | Expr.Call("if", [ c; a; b ]) -> Some([ c, a ], b)
        | _ -> None
    match arms with
    | None -> None
    | Some(conditions, otherwise) ->
    let choices = (conditions |> List.map snd) @ [ otherwise ] |> List.map (stringChoice columnOf n)
    let columns = choices |> List.choose (function Some(FromColumn s) -> Some s | _ -> None)
    if choices |> List.exists Option.isNone || columns.Length <> 1 then None
    else
    match conditions |> List.map (fst >> truths columnOf n) with
    | tests when tests |> List.exists Option.isNone -> None
    | tests ->
    let column = columns.Head
    let dictionary = ResizeArray<string>(column.Dictionary)
    let idOfConstant (text: string) =
        match dictionary.FindIndex(fun d -> System.String.Equals(d, text, System.StringComparison.Ordinal)) with
        | -1 ->
            dictionary.Add text
            dictionary.Count - 1
        | id -> id
    // Per arm: -1 reads the column's id, otherwise the constant's id.
    let armIds = choices |> List.map (function Some(Constant text) -> idOfConstant text | _ -> -1) |> Array.ofList
    let tests = tests |> List.map Option.get |> Array.ofList
    let ids = Array.zeroCreate<int> n
    let source = column.Ids
    for r in 0 .. n - 1 do
        let mutable arm = 0
        while arm < tests.Length && not tests.[arm].[r] do arm <- arm + 1
        let id = armIds.[arm]
        ids.[r] <- if id < 0 then source.[r] else id
    Some(ColumnData.Strings { Dictionary = dictionary.ToArray(); Ids = ids; MultiIds = None; HasBitmapIndex = true })

/// The column of `e` over `n` rows in the requested output type (None: as the values
/// suggest), when `e` is arithmetic over long and double columns and at least one column, or
/// a string CASE that `chosenStrings` reads.
let tryColumn (columnOf: string -> ColumnData option) (n: int) (outputType: ColumnType option) (e: Expr) : ColumnData option =
    let strings =
        match outputType with
        | _ when n = 0 -> None
        | Some ColumnType.String -> chosenStrings columnOf n e
        // Undeclared, only nulls would make a long column.
        | None ->
            chosenStrings columnOf n e
            |> Option.filter (function ColumnData.Strings s -> s.Ids |> Array.exists (fun id -> not (isNull s.Dictionary.[id])) | _ -> false)
        | _ -> None
    if n = 0 || strings.IsSome then strings
    else
        match evaluate columnOf n e, outputType with
        | Some(Longs(xs, nulls)), (None | Some ColumnType.Long) -> Some(ColumnData.Longs(xs, nulls))
        | Some(Longs(xs, nulls)), Some(ColumnType.Double | ColumnType.Float) -> Some(ColumnData.Doubles(Array.map float xs, nulls))
        | Some(Doubles(xs, nulls)), (None | Some ColumnType.Double | Some ColumnType.Float) -> Some(ColumnData.Doubles(xs, nulls))
        | _ -> None

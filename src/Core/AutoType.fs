/// Druid's `auto` (and `json`) dimensions: the column type inferred from every value of a
/// segment's column, value coercion to that type (or to a `castToType`), and the columns
/// built from the values.
///
/// Inference follows Druid's nested-column indexer: booleans count as longs; an array of
/// scalars is ARRAY of its elements' least restrictive type; empty and all-null arrays are
/// "untyped" arrays; objects and arrays holding arrays or objects make the column
/// COMPLEX<json>. Across values the least restrictive type wins (LONG < DOUBLE < STRING,
/// a scalar with an array makes an array); untyped arrays turn a scalar type into its array
/// type and alone give ARRAY<LONG>; a column of nulls only is STRING.
module FunctionalDruid.Core.AutoType

open System
open System.Collections.Generic
open FunctionalDruid.Core.Nested

[<RequireQualifiedAccess>]
type AutoType =
    | Long
    | Double
    | String
    | LongArray
    | DoubleArray
    | StringArray
    | Json
    member this.ColumnType =
        match this with
        | Long -> ColumnType.Long
        | Double -> ColumnType.Double
        | String -> ColumnType.String
        | LongArray -> ColumnType.Array ColumnType.Long
        | DoubleArray -> ColumnType.Array ColumnType.Double
        | StringArray -> ColumnType.Array ColumnType.String
        | Json -> ColumnType.Complex ComplexJson.TypeName
    member this.IsArray =
        match this with
        | LongArray | DoubleArray | StringArray -> true
        | _ -> false
    /// The element type of an array type; a scalar type is its own element type.
    member this.Element =
        match this with
        | LongArray -> Long
        | DoubleArray -> Double
        | StringArray -> String
        | t -> t

/// The array type of a scalar type (arrays and json stay as they are).
let arrayOf (t: AutoType) =
    match t with
    | AutoType.Long -> AutoType.LongArray
    | AutoType.Double -> AutoType.DoubleArray
    | AutoType.String -> AutoType.StringArray
    | t -> t

/// The type a `castToType` names (primitive and primitive array types; FLOAT is stored as
/// DOUBLE); None for types Druid does not cast to, which leave the column `auto`.
let ofCastName (name: string) : AutoType option =
    match name.Trim().ToUpperInvariant() with
    | "LONG" -> Some AutoType.Long
    | "DOUBLE" | "FLOAT" -> Some AutoType.Double
    | "STRING" -> Some AutoType.String
    | "ARRAY<LONG>" -> Some AutoType.LongArray
    | "ARRAY<DOUBLE>" | "ARRAY<FLOAT>" -> Some AutoType.DoubleArray
    | "ARRAY<STRING>" -> Some AutoType.StringArray
    | _ -> None

let private scalarRank (t: AutoType) =
    match t with
    | AutoType.Long -> 0
    | AutoType.Double -> 1
    | _ -> 2

/// Druid's least restrictive type of two column types.
let leastRestrictive (a: AutoType) (b: AutoType) : AutoType =
    if a = b then a
    elif a = AutoType.Json || b = AutoType.Json then AutoType.Json
    else
        let element = if scalarRank a.Element >= scalarRank b.Element then a.Element else b.Element
        if a.IsArray || b.IsArray then arrayOf element else element

let private scalarType (t: JsonTree) : AutoType voption =
    match t with
    | JsonTree.Bool _ | JsonTree.Long _ -> ValueSome AutoType.Long
    | JsonTree.Double _ -> ValueSome AutoType.Double
    | JsonTree.String _ -> ValueSome AutoType.String
    | _ -> ValueNone

/// What one value says about its column's type.
[<RequireQualifiedAccess>]
type ValueKind =
    | NoType
    | Typed of AutoType
    /// An empty array or one of nulls only.
    | UntypedArray

let kindOf (t: JsonTree) : ValueKind =
    match t with
    | JsonTree.Null -> ValueKind.NoType
    | JsonTree.Object _ -> ValueKind.Typed AutoType.Json
    | JsonTree.Array xs ->
        let mutable element = ValueNone
        let mutable nested = false
        for x in xs do
            match x with
            | JsonTree.Null -> ()
            | JsonTree.Array _ | JsonTree.Object _ -> nested <- true
            | x ->
                let t = (scalarType x).Value
                element <- ValueSome(match element with ValueSome e -> leastRestrictive e t | ValueNone -> t)
        if nested then ValueKind.Typed AutoType.Json
        else
            match element with
            | ValueSome e -> ValueKind.Typed(arrayOf e)
            | ValueNone -> ValueKind.UntypedArray
    | x -> ValueKind.Typed (scalarType x).Value

/// The types seen in one column, folded into its logical type.
type TypeSet() =
    let mutable logical : AutoType voption = ValueNone
    let mutable untypedArray = false
    member _.Add(kind: ValueKind) =
        match kind with
        | ValueKind.NoType -> ()
        | ValueKind.UntypedArray -> untypedArray <- true
        | ValueKind.Typed t -> logical <- ValueSome(match logical with ValueSome l -> leastRestrictive l t | ValueNone -> t)
    member this.Add(t: JsonTree) = this.Add(kindOf t)
    member _.Logical : AutoType =
        match logical, untypedArray with
        | ValueNone, false -> AutoType.String
        | ValueNone, true -> AutoType.LongArray
        | ValueSome t, true -> arrayOf t
        | ValueSome t, false -> t

/// The logical type of a column holding these values.
let infer (values: JsonTree seq) : AutoType =
    let set = TypeSet()
    for v in values do set.Add v
    set.Logical

// ---- coercion ----------------------------------------------------------------------------------

let private toLong (t: JsonTree) : JsonTree option =
    match t with
    | JsonTree.Null -> Some JsonTree.Null
    | JsonTree.Bool b -> Some(JsonTree.Long(if b then 1L else 0L))
    | JsonTree.Long _ -> Some t
    | JsonTree.Double d -> Some(if Double.IsNaN d then JsonTree.Null else JsonTree.Long(int64 d))
    | JsonTree.String s -> Some(match Value.toLong (Value.String s) with Some l -> JsonTree.Long l | None -> JsonTree.Null)
    | _ -> None

let private toDouble (t: JsonTree) : JsonTree option =
    match t with
    | JsonTree.Null -> Some JsonTree.Null
    | JsonTree.Bool b -> Some(JsonTree.Double(if b then 1.0 else 0.0))
    | JsonTree.Long l -> Some(JsonTree.Double(float l))
    | JsonTree.Double _ -> Some t
    | JsonTree.String s -> Some(match Value.toDouble (Value.String s) with Some d -> JsonTree.Double d | None -> JsonTree.Null)
    | _ -> None

let private toText (t: JsonTree) : JsonTree option =
    match t with
    | JsonTree.Null | JsonTree.String _ -> Some t
    | JsonTree.Bool b -> Some(JsonTree.String(if b then "true" else "false"))
    | JsonTree.Long l -> Some(JsonTree.String(l.ToString(Globalization.CultureInfo.InvariantCulture)))
    | JsonTree.Double d -> Some(JsonTree.String(Json.javaDoubleString d))
    | _ -> None

let private scalarCast (target: AutoType) : JsonTree -> JsonTree option =
    match target with
    | AutoType.Long -> toLong
    | AutoType.Double -> toDouble
    | _ -> toText

/// The value as the target type holds it: scalars as Long/Double/String trees, arrays as
/// arrays of them, json as it is. None when it cannot be (an object or a nested array into a
/// typed column, an array of several values into a scalar one).
let coerce (target: AutoType) (t: JsonTree) : JsonTree option =
    match target with
    | AutoType.Json -> Some t
    | AutoType.LongArray | AutoType.DoubleArray | AutoType.StringArray ->
        let cast = scalarCast target.Element
        match t with
        | JsonTree.Null -> Some JsonTree.Null
        | JsonTree.Array xs ->
            let out = Array.zeroCreate xs.Length
            let mutable ok = true
            for i in 0 .. xs.Length - 1 do
                match cast xs.[i] with
                | Some v -> out.[i] <- v
                | None -> ok <- false
            if ok then Some(JsonTree.Array out) else None
        | JsonTree.Object _ -> None
        | x -> cast x |> Option.map (fun v -> JsonTree.Array [| v |])
    | _ ->
        match t with
        | JsonTree.Array [||] -> Some JsonTree.Null
        | JsonTree.Array [| single |] -> scalarCast target single
        | x -> scalarCast target x

// ---- order ------------------------------------------------------------------------------------

let private classOf (t: JsonTree) =
    match t with
    | JsonTree.Null -> 0
    | JsonTree.Bool _ | JsonTree.Long _ | JsonTree.Double _ -> 1
    | JsonTree.String _ -> 2
    | JsonTree.Array _ -> 3
    | JsonTree.Object _ -> 4

let private numberOf (t: JsonTree) =
    match t with
    | JsonTree.Bool b -> if b then 1.0 else 0.0
    | JsonTree.Long l -> float l
    | JsonTree.Double d -> d
    | _ -> nan

/// Row order of nested values: null first, then numbers, strings, arrays (element by
/// element, shorter first on a tie) and objects (by their JSON text).
let rec compareTrees (a: JsonTree) (b: JsonTree) : int =
    let ca, cb = classOf a, classOf b
    if ca <> cb then compare ca cb
    else
        match a, b with
        | JsonTree.Long x, JsonTree.Long y -> compare x y
        | JsonTree.String x, JsonTree.String y -> String.CompareOrdinal(x, y)
        | JsonTree.Array xs, JsonTree.Array ys ->
            let mutable c = 0
            let mutable i = 0
            while c = 0 && i < xs.Length && i < ys.Length do
                c <- compareTrees xs.[i] ys.[i]
                i <- i + 1
            if c <> 0 then c else compare xs.Length ys.Length
        | JsonTree.Object _, JsonTree.Object _ -> String.CompareOrdinal(Nested.toText a, Nested.toText b)
        | JsonTree.Null, JsonTree.Null -> 0
        | _ -> compare (numberOf a) (numberOf b)

// ---- columns -----------------------------------------------------------------------------------

let private arrayColumn (rows: JsonTree[]) (element: JsonTree -> 'T voption) : ArrayColumnData<'T> =
    let offsets = Array.zeroCreate (rows.Length + 1)
    let values = List<'T>()
    let elementNulls = List<bool>()
    let mutable anyNullElement = false
    let rowNulls = Array.zeroCreate rows.Length
    let mutable anyNullRow = false
    for r in 0 .. rows.Length - 1 do
        match rows.[r] with
        | JsonTree.Array xs ->
            for x in xs do
                match element x with
                | ValueSome v ->
                    values.Add v
                    elementNulls.Add false
                | ValueNone ->
                    values.Add Unchecked.defaultof<'T>
                    elementNulls.Add true
                    anyNullElement <- true
        | _ ->
            rowNulls.[r] <- true
            anyNullRow <- true
        offsets.[r + 1] <- values.Count
    { Offsets = offsets
      Values = values.ToArray()
      ElementNulls = (if anyNullElement then Some(elementNulls.ToArray()) else None)
      RowNulls = (if anyNullRow then Some rowNulls else None) }

/// The column of `target` type for rows already coerced to it (see `coerce`).
let toColumn (target: AutoType) (rows: JsonTree[]) : ColumnData =
    let n = rows.Length
    let nullsWhere (isNullRow: int -> bool) =
        let flags = Array.init n isNullRow
        if Array.contains true flags then Some flags else None
    match target with
    | AutoType.Long ->
        let values = rows |> Array.map (fun t -> match t with JsonTree.Long l -> l | _ -> 0L)
        ColumnData.Longs(values, nullsWhere (fun r -> match rows.[r] with JsonTree.Long _ -> false | _ -> true))
    | AutoType.Double ->
        let values = rows |> Array.map (fun t -> match t with JsonTree.Double d -> d | _ -> 0.0)
        ColumnData.Doubles(values, nullsWhere (fun r -> match rows.[r] with JsonTree.Double _ -> false | _ -> true))
    | AutoType.String ->
        let ids = Dictionary<string, int>(StringComparer.Ordinal)
        let dictionary = List<string>()
        let mutable nullId = -1
        let idOf (t: JsonTree) =
            match t with
            | JsonTree.String s ->
                match ids.TryGetValue s with
                | true, id -> id
                | _ ->
                    ids.[s] <- dictionary.Count
                    dictionary.Add s
                    dictionary.Count - 1
            | _ ->
                if nullId < 0 then
                    nullId <- dictionary.Count
                    dictionary.Add null
                nullId
        let rowIds = rows |> Array.map idOf
        ColumnData.Strings { Dictionary = dictionary.ToArray(); Ids = rowIds; MultiIds = None; HasBitmapIndex = true }
    | AutoType.LongArray ->
        ColumnData.LongArrays(arrayColumn rows (fun t -> match t with JsonTree.Long l -> ValueSome l | _ -> ValueNone))
    | AutoType.DoubleArray ->
        ColumnData.DoubleArrays(arrayColumn rows (fun t -> match t with JsonTree.Double d -> ValueSome d | _ -> ValueNone))
    | AutoType.StringArray ->
        ColumnData.StringArrays(arrayColumn rows (fun t -> match t with JsonTree.String s -> ValueSome s | _ -> ValueNone))
    | AutoType.Json ->
        ColumnData.Complex(ComplexJson.TypeName, rows |> Array.map (fun t ->
            match t with
            | JsonTree.Null -> null
            | t -> Text.Encoding.UTF8.GetBytes(Nested.toText t)))

/// The column for raw values: inferred type (or `castTo`), every value coerced to it; a
/// value that cannot be becomes null.
let columnOf (castTo: AutoType option) (values: JsonTree[]) : ColumnData =
    let target = match castTo with Some t -> t | None -> infer values
    toColumn target (values |> Array.map (fun v -> defaultArg (coerce target v) JsonTree.Null))

/// The tree of a stored cell (nested JSON parsed back, arrays and scalars from the cell).
let treeOfCell (column: ColumnData) (row: int) : JsonTree =
    match Nested.tryCellTree column row with
    | Some t -> t
    | None -> Nested.ofValue (column.Cell row)

/// The rows `rows` of an array column, in that order.
let sliceArrays (a: ArrayColumnData<'T>) (rows: int[]) : ArrayColumnData<'T> =
    let offsets = Array.zeroCreate (rows.Length + 1)
    for k in 0 .. rows.Length - 1 do
        let r = rows.[k]
        offsets.[k + 1] <- offsets.[k] + (a.Offsets.[r + 1] - a.Offsets.[r])
    let values = Array.zeroCreate offsets.[rows.Length]
    let elementNulls = a.ElementNulls |> Option.map (fun _ -> Array.zeroCreate offsets.[rows.Length])
    for k in 0 .. rows.Length - 1 do
        let r = rows.[k]
        let length = a.Offsets.[r + 1] - a.Offsets.[r]
        Array.blit a.Values a.Offsets.[r] values offsets.[k] length
        match a.ElementNulls, elementNulls with
        | Some source, Some target -> Array.blit source a.Offsets.[r] target offsets.[k] length
        | _ -> ()
    { Offsets = offsets
      Values = values
      ElementNulls = elementNulls |> Option.filter (Array.contains true)
      RowNulls = a.RowNulls |> Option.map (fun n -> rows |> Array.map (fun r -> n.[r])) |> Option.filter (Array.contains true) }

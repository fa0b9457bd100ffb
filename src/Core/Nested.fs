/// Nested JSON values as `auto` and `json` dimensions see them: the input's structure kept
/// whole (objects, nested arrays, booleans), which a row `Value` cannot hold, with the
/// compact JSON text that `json` columns store.
module FunctionalDruid.Core.Nested

open System
open System.Globalization
open System.Text
open System.Text.Json

/// A JSON value as read from the input. Integral numbers in range are longs, other numbers
/// doubles (as Jackson reads them); object fields keep their input order.
[<RequireQualifiedAccess>]
type JsonTree =
    | Null
    | Bool of bool
    | Long of int64
    | Double of float
    | String of string
    | Array of JsonTree[]
    | Object of (string * JsonTree)[]

/// Shared boolean leaves, so rows with boolean fields allocate no new ones.
let trueTree = JsonTree.Bool true
let falseTree = JsonTree.Bool false

let private numberOf (el: JsonElement) : JsonTree =
    match el.TryGetInt64() with
    | true, l -> JsonTree.Long l
    | _ ->
        match el.TryGetDouble() with
        | true, d -> JsonTree.Double d
        | _ ->
            match Double.TryParse(el.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture) with
            | true, d -> JsonTree.Double d
            | _ -> JsonTree.Double nan

let rec ofElement (el: JsonElement) : JsonTree =
    match el.ValueKind with
    | JsonValueKind.String -> JsonTree.String(el.GetString())
    | JsonValueKind.Number -> numberOf el
    | JsonValueKind.True -> trueTree
    | JsonValueKind.False -> falseTree
    | JsonValueKind.Array ->
        let items = Array.zeroCreate (el.GetArrayLength())
        let mutable i = 0
        for x in el.EnumerateArray() do
            items.[i] <- ofElement x
            i <- i + 1
        JsonTree.Array items
    | JsonValueKind.Object -> JsonTree.Object [| for p in el.EnumerateObject() -> p.Name, ofElement p.Value |]
    | _ -> JsonTree.Null

/// The tree of a row value (multi-value strings and expression arrays become arrays).
let rec ofValue (v: Value) : JsonTree =
    match v with
    | Value.Null -> JsonTree.Null
    | Value.Long l -> JsonTree.Long l
    | Value.Double d -> JsonTree.Double d
    | Value.String s -> if isNull s then JsonTree.Null else JsonTree.String s
    | Value.Array xs -> JsonTree.Array(Array.map ofValue xs)

/// Whether a row `Value` loses something of the tree: booleans (read as strings), objects
/// and arrays holding arrays or objects.
let rec needsTree (t: JsonTree) : bool =
    match t with
    | JsonTree.Bool _ | JsonTree.Object _ -> true
    | JsonTree.Array xs -> xs |> Array.exists (fun x -> match x with JsonTree.Array _ -> true | x -> needsTree x)
    | _ -> false

// ---- text ----------------------------------------------------------------------------------

let private writeString (sb: StringBuilder) (s: string) =
    sb.Append('"') |> ignore
    for c in s do
        match c with
        | '"' -> sb.Append("\\\"") |> ignore
        | '\\' -> sb.Append("\\\\") |> ignore
        | '\n' -> sb.Append("\\n") |> ignore
        | '\r' -> sb.Append("\\r") |> ignore
        | '\t' -> sb.Append("\\t") |> ignore
        | '\b' -> sb.Append("\\b") |> ignore
        | '\f' -> sb.Append("\\f") |> ignore
        | c when c < ' ' -> sb.Append("\\u").Append((int c).ToString("X4", CultureInfo.InvariantCulture)) |> ignore
        | c -> sb.Append(c) |> ignore
    sb.Append('"') |> ignore

let rec private write (sb: StringBuilder) (t: JsonTree) =
    match t with
    | JsonTree.Null -> sb.Append("null") |> ignore
    | JsonTree.Bool b -> sb.Append(if b then "true" else "false") |> ignore
    | JsonTree.Long l -> sb.Append(l.ToString(CultureInfo.InvariantCulture)) |> ignore
    | JsonTree.Double d ->
        // Jackson writes non-finite doubles as quoted names
        if Double.IsFinite d then sb.Append(Json.javaDoubleString d) |> ignore
        else writeString sb (Json.javaDoubleString d)
    | JsonTree.String s -> if isNull s then sb.Append("null") |> ignore else writeString sb s
    | JsonTree.Array xs ->
        sb.Append('[') |> ignore
        xs |> Array.iteri (fun i x ->
            if i > 0 then sb.Append(',') |> ignore
            write sb x)
        sb.Append(']') |> ignore
    | JsonTree.Object fields ->
        sb.Append('{') |> ignore
        fields |> Array.iteri (fun i (k, x) ->
            if i > 0 then sb.Append(',') |> ignore
            writeString sb k
            sb.Append(':') |> ignore
            write sb x)
        sb.Append('}') |> ignore

/// Compact JSON, as Druid serializes nested values (no spaces, Java's double text).
let toText (t: JsonTree) : string =
    let sb = StringBuilder()
    write sb t
    sb.ToString()

/// The tree of stored JSON text; None when it is not JSON.
let tryParse (text: string) : JsonTree option =
    try
        use doc = JsonDocument.Parse(text)
        Some(ofElement doc.RootElement)
    with :? JsonException -> None

/// How a Java map or list prints the value (Druid's row toString in error messages).
let rec javaString (t: JsonTree) : string =
    match t with
    | JsonTree.Null -> "null"
    | JsonTree.Bool b -> if b then "true" else "false"
    | JsonTree.Long l -> l.ToString(CultureInfo.InvariantCulture)
    | JsonTree.Double d -> Json.javaDoubleString d
    | JsonTree.String s -> s
    | JsonTree.Array xs -> "[" + String.Join(", ", xs |> Array.map javaString) + "]"
    | JsonTree.Object fields -> "{" + String.Join(", ", fields |> Array.map (fun (k, x) -> k + "=" + javaString x)) + "}"

/// What a string dimension stores for a nested input value: Druid turns each element of a
/// list into its Java string (a nested list `["3",["4"]]` becomes `[3, [4]]`), a map into one.
let stringDimensionValue (t: JsonTree) : Value =
    let element (x: JsonTree) =
        match x with
        | JsonTree.Null -> Value.Null
        | JsonTree.String s -> Value.String s
        | JsonTree.Long l -> Value.Long l
        | JsonTree.Double d -> Value.Double d
        | other -> Value.String(javaString other)
    match t with
    | JsonTree.Array xs -> Value.Array(Array.map element xs)
    | other -> element other

/// The tree as a JSON response value (for engines that print nested columns).
let rec toOut (t: JsonTree) : Json.Out =
    match t with
    | JsonTree.Null -> Json.Out.Null
    | JsonTree.Bool b -> Json.Out.Bool b
    | JsonTree.Long l -> Json.Out.Long l
    | JsonTree.Double d -> Json.Out.Double d
    | JsonTree.String s -> Json.Out.String s
    | JsonTree.Array xs -> Json.Out.Array [ for x in xs -> toOut x ]
    | JsonTree.Object fields -> Json.Out.Object [ for k, x in fields -> k, toOut x ]

/// A stored `json` cell (compact UTF-8 JSON, null for a null row) as a tree.
let ofBlob (bytes: byte[]) : JsonTree =
    if isNull bytes then JsonTree.Null
    else
        match tryParse (Encoding.UTF8.GetString bytes) with
        | Some t -> t
        | None -> JsonTree.Null

/// The cell of a nested JSON column as a tree, for engines that print it as JSON rather
/// than as the text `ColumnData.Cell` gives; None for columns of other kinds.
let tryCellTree (column: ColumnData) (row: int) : JsonTree option =
    match column with
    | ColumnData.Complex(ComplexJson.TypeName, blobs) -> Some(ofBlob blobs.[row])
    | _ -> None

namespace FunctionalDruid.Core

open System
open System.Globalization

/// One cell of a Druid row. Multi-value string dimensions and expression arrays are `Array`.
[<RequireQualifiedAccess>]
type Value =
    | Null
    | String of string
    | Long of int64
    | Double of float
    | Array of Value[]

/// The storage types of segment columns, named as Druid prints them.
[<RequireQualifiedAccess>]
type ColumnType =
    | String
    | Long
    | Float
    | Double
    | Complex of typeName: string
    /// Druid's typed arrays (`auto` columns): ARRAY<STRING>, ARRAY<LONG>, ARRAY<DOUBLE>.
    | Array of element: ColumnType
    member this.DruidName =
        match this with
        | String -> "STRING"
        | Long -> "LONG"
        | Float -> "FLOAT"
        | Double -> "DOUBLE"
        | Complex t -> sprintf "COMPLEX<%s>" t
        | Array e -> sprintf "ARRAY<%s>" e.DruidName

module Value =
    /// Java's Double.toString, which Druid uses whenever a double becomes a string.
    let javaDoubleString (d: float) : string = Json.javaDoubleString d

    let parseLongText (s: string) : int64 option =
        match Int64.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) with
        | true, v -> Some v
        | _ -> None

    let parseDoubleText (s: string) : float option =
        match Double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, v -> Some v
        | _ -> None

    let rec toStringOrNull (v: Value) : string =
        match v with
        | Value.Null -> null
        | Value.String s -> s
        | Value.Long l -> l.ToString(CultureInfo.InvariantCulture)
        | Value.Double d -> javaDoubleString d
        | Value.Array [| x |] -> toStringOrNull x
        | Value.Array xs -> "[" + String.Join(", ", xs |> Array.map toStringOrNull) + "]"

    /// Druid's numeric coercion: numbers as they are, strings parsed (longs first, then
    /// doubles truncated), anything unparseable is null.
    let rec toLong (v: Value) : int64 option =
        match v with
        | Value.Null -> None
        | Value.Long l -> Some l
        | Value.Double d -> if Double.IsNaN d then None else Some(int64 d)
        | Value.String s ->
            match parseLongText s with
            | Some l -> Some l
            | None -> parseDoubleText s |> Option.filter (fun d -> not (Double.IsNaN d)) |> Option.map int64
        | Value.Array [| x |] -> toLong x
        | Value.Array _ -> None

    let rec toDouble (v: Value) : float option =
        match v with
        | Value.Null -> None
        | Value.Long l -> Some(float l)
        | Value.Double d -> Some d
        | Value.String s -> parseDoubleText s
        | Value.Array [| x |] -> toDouble x
        | Value.Array _ -> None

    /// The string values of a (possibly multi-value) dimension cell; null stays a null element.
    let toStrings (v: Value) : string[] =
        match v with
        | Value.Null -> [| null |]
        | Value.Array xs -> xs |> Array.map toStringOrNull
        | x -> [| toStringOrNull x |]

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
    member this.DruidName =
        match this with
        | String -> "STRING"
        | Long -> "LONG"
        | Float -> "FLOAT"
        | Double -> "DOUBLE"
        | Complex t -> sprintf "COMPLEX<%s>" t

module Value =
    /// Java's Double.toString, which Druid uses whenever a double becomes a string
    /// ("1.0", "0.001", "1.0E7", "NaN", "Infinity").
    let javaDoubleString (d: float) : string =
        if Double.IsNaN d then "NaN"
        elif Double.IsPositiveInfinity d then "Infinity"
        elif Double.IsNegativeInfinity d then "-Infinity"
        elif d = 0.0 then (if 1.0 / d < 0.0 then "-0.0" else "0.0")
        else
            // Shortest round-trip digits, then placed the way Java places them.
            let r = (abs d).ToString("E16", CultureInfo.InvariantCulture)
            let shortest = (abs d).ToString("R", CultureInfo.InvariantCulture)
            let mantissa, exponent =
                let e = shortest.IndexOfAny [| 'E'; 'e' |]
                if e >= 0 then shortest.Substring(0, e), int (shortest.Substring(e + 1))
                else shortest, 0
            let intPart, fracPart =
                match mantissa.IndexOf '.' with
                | -1 -> mantissa, ""
                | i -> mantissa.Substring(0, i), mantissa.Substring(i + 1)
            let allDigits = (intPart + fracPart).TrimStart('0')
            let leadingZeros = (intPart + fracPart).Length - (intPart + fracPart).TrimStart('0').Length
            let digits = allDigits.TrimEnd('0')
            let digits = if digits = "" then "0" else digits
            // decimal exponent of the first significant digit
            let pointExp = intPart.Length - 1 - leadingZeros + exponent
            ignore r
            let sign = if d < 0.0 then "-" else ""
            let a = abs d
            if a >= 1e-3 && a < 1e7 then
                if pointExp >= 0 then
                    let whole = digits.PadRight(pointExp + 1, '0').Substring(0, pointExp + 1)
                    let frac = if digits.Length > pointExp + 1 then digits.Substring(pointExp + 1) else "0"
                    sign + whole + "." + frac
                else sign + "0." + String('0', -pointExp - 1) + digits
            else
                let frac = if digits.Length > 1 then digits.Substring 1 else "0"
                sprintf "%s%c.%sE%d" sign digits.[0] frac pointExp

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

/// Compares a Druid SQL HTTP answer (`resultFormat: array`, header rows) with a quidem
/// expectation. Druid's runner compares the printed table text; over HTTP the printer's type
/// information is partly lost (a FLOAT and a DOUBLE are both JSON numbers, a JSON-typed string
/// and a VARCHAR are both JSON strings), so a cell matches when the expected text is one of the
/// ways Druid's printer could have shown the actual value:
/// * NULL and '' print as an empty cell;
/// * numbers match by value (integers exactly, others as doubles, or as floats when the
///   expected text is a float's shortest form, for FLOAT columns widened to double);
/// * doubles/floats are printed as Java's Double/Float.toString (`1.0`, `1.0E7`);
/// * ISO timestamps (or epoch millis in a TIMESTAMP column) as `yyyy-MM-dd HH:mm:ss.SSS`, or
///   without `.SSS` when the millis are 0 (TIME_FLOOR results are printed that way);
/// * arrays as `[a, b, null]` (Calcite) or compact JSON `["a","b"]` (multi-value strings,
///   JSON columns); a stringified array is read as the array; a 1-element / empty array in a
///   non-ARRAY column also as the bare value / empty cell (multi-value strings);
/// * strings also JSON-quoted (COMPLEX values such as HLL sketches print as `"AQAA..."`).
/// Row order is compared only for statements with a top-level ORDER BY, and there rows equal
/// on the sort keys may swap when every key is an output column (ordinal or name).
module FunctionalDruid.Tests.Conformance.QuidemCompare

open System
open System.Globalization
open System.IO
open System.Numerics
open System.Text
open System.Text.Json
open System.Text.RegularExpressions
open FunctionalDruid.Tests.Conformance.QuidemFile

let private invariant = CultureInfo.InvariantCulture

/// Java's Double/Float.toString layout for the shortest round-trip digits .NET prints.
let private javaLayout (roundTrip: string) =
    // roundTrip is .NET's shortest form: "123.45", "1E+16", "-1.5E-05", "0.0001".
    let negative = roundTrip.StartsWith "-"
    let body = if negative then roundTrip.Substring 1 else roundTrip
    let mantissa, exponent =
        match body.IndexOf 'E' with
        | -1 -> body, 0
        | e -> body.Substring(0, e), int (body.Substring(e + 1))
    let point = match mantissa.IndexOf '.' with -1 -> mantissa.Length | p -> p
    let allDigits = mantissa.Replace(".", "")
    let leadingZeros = allDigits.Length - allDigits.TrimStart('0').Length
    let digits = allDigits.Trim('0')
    // value = 0.digits × 10^scale
    let scale = point - leadingZeros + exponent
    let sign = if negative then "-" else ""
    if digits = "" then sign + "0.0"
    elif scale >= -2 && scale <= 7 then
        // 1e-3 <= |x| < 1e7: plain notation, at least one digit after the point.
        let integral = if scale <= 0 then "0" else (if digits.Length >= scale then digits.Substring(0, scale) else digits + String('0', scale - digits.Length))
        let fraction =
            if scale <= 0 then String('0', -scale) + digits
            elif digits.Length > scale then digits.Substring scale
            else ""
        sign + integral + "." + (if fraction = "" then "0" else fraction)
    else
        let fraction = if digits.Length > 1 then digits.Substring 1 else "0"
        sprintf "%s%c.%sE%d" sign digits.[0] fraction (scale - 1)

/// Java's Double.toString (shortest digits, as JDK 19 and later print them).
let javaDouble (d: float) : string =
    if Double.IsNaN d then "NaN"
    elif Double.IsPositiveInfinity d then "Infinity"
    elif Double.IsNegativeInfinity d then "-Infinity"
    elif d = 0.0 then (if Double.IsNegative d then "-0.0" else "0.0")
    else javaLayout (d.ToString("R", invariant))

/// Java's Float.toString.
let javaFloat (f: float32) : string =
    if Single.IsNaN f then "NaN"
    elif Single.IsPositiveInfinity f then "Infinity"
    elif Single.IsNegativeInfinity f then "-Infinity"
    elif f = 0.0f then (if Single.IsNegative f then "-0.0" else "0.0")
    else javaLayout (f.ToString("R", invariant))

let private integralPattern = Regex(@"^-?\d+$", RegexOptions.Compiled)

/// A number in Java's or JSON's spelling (`1.0E7`, `NaN`, `-Infinity` included).
let parseNumber (text: string) : float option =
    match text with
    | "NaN" -> Some nan
    | "Infinity" -> Some infinity
    | "-Infinity" -> Some -infinity
    | _ ->
        match Double.TryParse(text, NumberStyles.Float, invariant) with
        | true, v when text <> "" && (Char.IsDigit text.[text.Length - 1] || text.EndsWith ".") -> Some v
        | _ -> None

let private numbersMatch (actualToken: string) (expected: string) =
    if integralPattern.IsMatch actualToken && integralPattern.IsMatch expected then
        BigInteger.Parse(actualToken, invariant) = BigInteger.Parse(expected, invariant)
    else
        match parseNumber actualToken, parseNumber expected with
        | Some a, Some e ->
            a = e || (Double.IsNaN a && Double.IsNaN e)
            // A FLOAT column widened to double: Druid printed the float's shortest digits.
            || (float32 a = float32 e && javaFloat (float32 e) = expected)
        | _ -> false

let private isoPattern =
    Regex(@"^([+-]?\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:Z|[+-]00:?00)?$", RegexOptions.Compiled)

/// The ways the printer shows an ISO timestamp string.
let private timestampForms (iso: string) : string list =
    let m = isoPattern.Match iso
    if not m.Success then []
    else
        let g (i: int) = m.Groups.[i].Value
        let millis = if m.Groups.[7].Success then (g 7 + "00").Substring(0, 3) else "000"
        let seconds = sprintf "%s-%s-%s %s:%s:%s" (g 1) (g 2) (g 3) (g 4) (g 5) (g 6)
        (seconds + "." + millis) :: (if millis = "000" then [ seconds ] else [])

let private millisToIso (millis: int64) =
    let t = NodaTime.Instant.FromUnixTimeMilliseconds(millis).InUtc()
    sprintf "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" t.Year t.Month t.Day t.Hour t.Minute t.Second t.Millisecond

let private compactJson (value: JsonElement) =
    use buffer = new MemoryStream()
    (use writer = new Utf8JsonWriter(buffer, JsonWriterOptions(Encoder = Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping))
     value.WriteTo writer)
    Encoding.UTF8.GetString(buffer.ToArray())

/// The element type of an ARRAY column type (`DOUBLE ARRAY`, `ARRAY<DOUBLE>`), if it is one.
let private arrayElementType (sqlType: string) =
    if sqlType.EndsWith " ARRAY" then Some(sqlType.Substring(0, sqlType.Length - 6))
    elif sqlType.StartsWith "ARRAY<" && sqlType.EndsWith ">" then Some(sqlType.Substring(6, sqlType.Length - 7))
    else None

let private isFloatType (t: string) = t = "FLOAT" || t = "REAL"
let private isDoubleType (t: string) = t = "DOUBLE" || t.StartsWith "DECIMAL"

/// A TIMESTAMP inside an array, as Calcite's TimestampString prints it: no trailing zero
/// fraction (`2020-01-01 01:01:01`).
let private calciteTimestamp (millis: int64) =
    let t = NodaTime.Instant.FromUnixTimeMilliseconds(millis).InUtc()
    let seconds = sprintf "%04d-%02d-%02d %02d:%02d:%02d" t.Year t.Month t.Day t.Hour t.Minute t.Second
    if t.Millisecond = 0 then seconds else (sprintf "%s.%03d" seconds t.Millisecond).TrimEnd('0')

/// How an array element prints inside Calcite's `[a, b]`.
let rec private calciteElement (elementType: string) (e: JsonElement) : string =
    match e.ValueKind with
    | JsonValueKind.Null | JsonValueKind.Undefined -> "null"
    | JsonValueKind.String -> e.GetString()
    | JsonValueKind.True -> "true"
    | JsonValueKind.False -> "false"
    | JsonValueKind.Number ->
        let token = e.GetRawText()
        if elementType = "TIMESTAMP" && integralPattern.IsMatch token then calciteTimestamp (e.GetInt64())
        elif isFloatType elementType then javaFloat (float32 (e.GetDouble()))
        elif isDoubleType elementType || not (integralPattern.IsMatch token) then javaDouble (e.GetDouble())
        else token
    | JsonValueKind.Array -> calciteArray (defaultArg (arrayElementType elementType) "") e
    | _ -> compactJson e

and private calciteArray (elementType: string) (a: JsonElement) =
    "[" + String.Join(", ", [| for e in a.EnumerateArray() -> calciteElement elementType e |]) + "]"

/// Every text Druid's printer could have shown for this value in a column of this SQL type
/// ("" when the server sent no types). Numbers are matched by value separately.
let rec renderings (sqlType: string) (value: JsonElement) : string list =
    match value.ValueKind with
    | JsonValueKind.Null | JsonValueKind.Undefined -> [ "" ]
    | JsonValueKind.True -> [ "true" ]
    | JsonValueKind.False -> [ "false" ]
    | JsonValueKind.Number ->
        let token = value.GetRawText()
        let asDouble = value.GetDouble()
        [ yield token
          if sqlType = "BOOLEAN" then yield (if asDouble <> 0.0 then "true" else "false")
          match value.TryGetInt64() with
          | true, millis when sqlType = "TIMESTAMP" -> yield! timestampForms (millisToIso millis)
          | _ -> ()
          if isFloatType sqlType then yield javaFloat (float32 asDouble)
          yield javaDouble asDouble ]
    | JsonValueKind.String ->
        let s = value.GetString()
        [ yield s
          yield compactJson value
          yield! timestampForms s
          if s.StartsWith "[" && s.EndsWith "]" then
              // A stringified array (sqlStringifyArrays).
              match (try Some(JsonDocument.Parse s) with _ -> None) with
              | Some doc when doc.RootElement.ValueKind = JsonValueKind.Array -> yield! renderings sqlType (doc.RootElement.Clone())
              | _ -> () ]
    | JsonValueKind.Array ->
        let elementType = arrayElementType sqlType
        let items = [ for e in value.EnumerateArray() -> e ]
        [ yield calciteArray (defaultArg elementType "") value
          yield compactJson value
          if elementType.IsNone then
              // A multi-value string: one value prints bare, none prints empty.
              match items with
              | [] -> yield ""
              | [ single ] -> yield! renderings sqlType single
              | _ -> () ]
    | _ -> [ compactJson value ]

/// Whether an actual value can print as the expected (trimmed) cell text.
let cellMatches (sqlType: string) (actual: JsonElement) (expected: string) : bool =
    renderings sqlType actual |> List.exists (fun r -> r.Trim() = expected)
    || (actual.ValueKind = JsonValueKind.Number && numbersMatch (actual.GetRawText()) expected)

/// A successful answer: column names, SQL types when the server sent them, rows.
type ActualResult =
    { Columns: string[]
      Types: string[] option
      Rows: JsonElement[][] }

let private typeNamePattern =
    Regex(@"^(VARCHAR|CHAR|BIGINT|INTEGER|SMALLINT|TINYINT|FLOAT|REAL|DOUBLE|DECIMAL|BOOLEAN|TIMESTAMP|DATE|TIME|OTHER|NULL|ANY|VARBINARY|BINARY|ARRAY|COMPLEX|MAP|ROW|LONG|STRING)\b",
          RegexOptions.Compiled)

/// Reads `[[names...], [types...]?, [sql types...]?, [row]...]` as Druid answers with `header`,
/// `typesHeader` and `sqlTypesHeader`. Only sqlTypesHeader is asked for; a Druid-types row is
/// skipped too, and the last type row read gives the column types.
let parseArrayResult (body: string) : Result<ActualResult, string> =
    match (try Ok(JsonDocument.Parse body) with e -> Error e.Message) with
    | Error e -> Error(sprintf "response is not JSON: %s" e)
    | Ok doc ->
        let root = doc.RootElement
        let isRow (e: JsonElement) = e.ValueKind = JsonValueKind.Array
        if root.ValueKind <> JsonValueKind.Array then Error "response is not a JSON array"
        else
            let rows = [| for r in root.EnumerateArray() -> r.Clone() |]
            if rows.Length = 0 || not (isRow rows.[0]) then Error "response has no header row"
            elif rows |> Array.exists (isRow >> not) then Error "response rows are not arrays"
            else
                let cells (r: JsonElement) = [| for c in r.EnumerateArray() -> c |]
                let header = cells rows.[0]
                if header |> Array.exists (fun c -> c.ValueKind <> JsonValueKind.String) then Error "header row holds non-strings"
                else
                    let isTypeRow (r: JsonElement) =
                        let cs = cells r
                        cs.Length = header.Length
                        && cs |> Array.forall (fun c -> c.ValueKind = JsonValueKind.String && typeNamePattern.IsMatch(c.GetString()))
                    let mutable dataStart = 1
                    while dataStart < min 3 rows.Length && isTypeRow rows.[dataStart] do dataStart <- dataStart + 1
                    let types =
                        if dataStart = 1 then None
                        else
                            cells rows.[dataStart - 1]
                            |> Array.map (fun c -> match c.GetString() with "LONG" -> "BIGINT" | "STRING" -> "VARCHAR" | t -> t)
                            |> Some
                    Ok { Columns = header |> Array.map (fun c -> c.GetString())
                         Types = types
                         Rows = rows.[dataStart..] |> Array.map cells }

/// Why a result is wrong: a short category for the failure histogram, then the details.
type Mismatch = { Category: string; Detail: string }

let private showExpected (row: string[]) = "| " + String.Join(" | ", row) + " |"
let private showActual (row: JsonElement[]) = "[" + String.Join(", ", row |> Array.map (fun c -> c.GetRawText())) + "]"

/// How the statement orders its result (QuidemFile.topLevelOrderBy gives the items).
type Ordering =
    | AnyOrder
    /// Sorted by these ORDER BY items: rows equal on the sort keys may come in any order when
    /// every item names an output column (by ordinal or name); otherwise the order is exact.
    | SortedBy of string list

/// The output columns an ORDER BY sorts on, when every item is an ordinal or an output name.
let sortColumns (columns: string[]) (items: string list) : int list option =
    let resolve (item: string) =
        match Int32.TryParse item with
        | true, n when n >= 1 && n <= columns.Length -> Some(n - 1)
        | _ -> columns |> Array.tryFindIndex (fun c -> String.Equals(c, item, StringComparison.OrdinalIgnoreCase))
    let resolved = items |> List.map resolve
    if resolved |> List.forall Option.isSome then Some(resolved |> List.choose id) else None

/// Compares a result with an expected table.
let compareTable (expected: ExpectedTable) (ordering: Ordering) (actual: ActualResult) : Mismatch option =
    let width = expected.Columns.Length
    let typeOf (c: int) = match actual.Types with Some t -> t.[c] | None -> ""
    let rowMatches (a: JsonElement[]) (e: string[]) = Array.forall2 (fun (c: int) (x: string) -> cellMatches (typeOf c) a.[c] x) [| 0 .. width - 1 |] e
    let multisetMismatch () =
        // Greedy pairing: each expected row takes the first unused actual row it matches.
        let used = Array.zeroCreate actual.Rows.Length
        expected.Rows |> Array.tryFind (fun e ->
            match Array.tryFindIndex id [| for i in 0 .. actual.Rows.Length - 1 -> not used.[i] && rowMatches actual.Rows.[i] e |] with
            | Some i ->
                used.[i] <- true
                false
            | None -> true)
    let allRows () =
        sprintf "expected:\n  %s\nactual:\n  %s" (String.Join("\n  ", expected.Rows |> Array.map showExpected))
            (String.Join("\n  ", actual.Rows |> Array.truncate 50 |> Array.map showActual))
    if actual.Columns.Length <> width || actual.Rows |> Array.exists (fun r -> r.Length <> width) then
        Some { Category = "wrong result: column count"
               Detail = sprintf "expected %d columns %A, got %A" width expected.Columns actual.Columns }
    elif actual.Rows.Length <> expected.Rows.Length then
        Some { Category = "wrong result: row count"; Detail = sprintf "expected %d rows, got %d\n%s" expected.Rows.Length actual.Rows.Length (allRows ()) }
    else
        let inOrder = Array.forall2 rowMatches actual.Rows expected.Rows
        let sameRows = inOrder || (multisetMismatch ()).IsNone
        let orderAccepted =
            match ordering with
            | AnyOrder -> true
            | SortedBy items ->
                inOrder
                || (match sortColumns expected.Columns items with
                    | Some keys when not keys.IsEmpty ->
                        // Same rows, and row by row the same sort keys: only ties were reordered.
                        Array.forall2 (fun (a: JsonElement[]) (e: string[]) -> keys |> List.forall (fun k -> cellMatches (typeOf k) a.[k] e.[k]))
                            actual.Rows expected.Rows
                    | _ -> false)
        if not sameRows then
            let missing = (multisetMismatch ()).Value
            Some { Category = "wrong result: values"; Detail = sprintf "no actual row matches %s\n%s" (showExpected missing) (allRows ()) }
        elif not orderAccepted then
            Some { Category = "wrong result: row order"; Detail = sprintf "same rows, different order (statement has ORDER BY)\n%s" (allRows ()) }
        elif actual.Columns <> expected.Columns then
            Some { Category = "wrong result: column names"; Detail = sprintf "expected columns %A, got %A" expected.Columns actual.Columns }
        else None

/// Every string in a JSON error body (message, class, code...), or the raw body if not JSON.
let errorTexts (body: string) : string list =
    match (try Some(JsonDocument.Parse body) with _ -> None) with
    | None -> [ body ]
    | Some doc ->
        let rec strings (e: JsonElement) =
            match e.ValueKind with
            | JsonValueKind.String -> [ e.GetString() ]
            | JsonValueKind.Object -> [ for p in e.EnumerateObject() do yield! strings p.Value ]
            | JsonValueKind.Array -> [ for x in e.EnumerateArray() do yield! strings x ]
            | _ -> []
        strings doc.RootElement

/// Whether an error body is one of Druid's query errors (not a missing endpoint or a crash page).
let isDruidError (body: string) : bool =
    match (try Some(JsonDocument.Parse body) with _ -> None) with
    | Some doc when doc.RootElement.ValueKind = JsonValueKind.Object ->
        [ "error"; "errorMessage"; "errorCode" ] |> List.exists (fun p -> fst (doc.RootElement.TryGetProperty p))
    | _ -> false

/// The main message of a Druid error body, for reports.
let errorMessage (body: string) : string =
    match (try Some(JsonDocument.Parse body) with _ -> None) with
    | Some doc when doc.RootElement.ValueKind = JsonValueKind.Object ->
        let field (name: string) =
            match doc.RootElement.TryGetProperty name with
            | true, v when v.ValueKind = JsonValueKind.String -> Some(v.GetString())
            | _ -> None
        field "errorMessage" |> Option.orElse (field "error") |> Option.defaultValue body
    | _ -> body

/// Whether an error answer satisfies `!error <expected>`: the text occurs (case-sensitively) in
/// one of the error's strings. Java class names have no counterpart in this server's errors, so
/// `QueryInterruptedException` ("failed while running") accepts any HTTP 5xx query error and
/// `DruidException` (every Druid SQL error is one) any query error.
let errorMatches (status: int) (body: string) (expected: string) : bool =
    isDruidError body
    && (errorTexts body |> List.exists (fun t -> t.Contains(expected, StringComparison.Ordinal))
        || (expected = "QueryInterruptedException" && status >= 500)
        || expected = "DruidException")

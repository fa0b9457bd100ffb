/// System.Text.Json helpers that remember where they are, so every spec or query error can
/// name the JSON path of the offending value (Druid users debug specs from these messages).
module FunctionalDruid.Core.Json

open System
open System.Globalization
open System.Text.Json

/// A problem with a JSON document at a path such as `spec.dataSchema.timestampSpec.format`.
exception JsonError of path: string * problem: string
    with
        override this.Message =
            if String.IsNullOrEmpty this.path then this.problem
            else sprintf "%s: %s" this.path this.problem

/// A JSON value together with the path that reached it.
[<Struct>]
type Node = { El: JsonElement; Path: string }

/// Druid specs in the wild carry `//` and `/* */` comments and trailing commas; Jackson with
/// Druid's settings accepts them, so do we.
let documentOptions =
    JsonDocumentOptions(CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = 256)

let fail (node: Node) (problem: string) : 'a = raise (JsonError(node.Path, problem))

/// `curl -d @spec.json` (the seed documents' way of submitting specs) strips line breaks, so a
/// `//` comment would swallow the rest of the spec. In a body without line breaks a `//`
/// comment therefore ends where the next quoted key or value begins.
let normalizeComments (text: string) : string =
    if isNull text || text.Contains '\n' || not (text.Contains "//") then text
    else
        let sb = Text.StringBuilder(text.Length)
        let mutable i = 0
        let mutable inString = false
        while i < text.Length do
            let c = text.[i]
            if inString then
                sb.Append c |> ignore
                if c = '\\' && i + 1 < text.Length then
                    sb.Append text.[i + 1] |> ignore
                    i <- i + 1
                elif c = '"' then inString <- false
                i <- i + 1
            elif c = '"' then
                inString <- true
                sb.Append c |> ignore
                i <- i + 1
            elif c = '/' && i + 1 < text.Length && text.[i + 1] = '/' then
                let next = text.IndexOf('"', i + 2)
                i <- if next < 0 then text.Length else next
                sb.Append ' ' |> ignore
            else
                sb.Append c |> ignore
                i <- i + 1
        sb.ToString()

/// Parses text into a root node; a syntax error is reported with line and column.
let parse (text: string) : Result<JsonDocument, string> =
    try Ok(JsonDocument.Parse(normalizeComments text, documentOptions))
    with :? JsonException as e ->
        let line = if e.LineNumber.HasValue then e.LineNumber.Value + 1L else 0L
        let col = if e.BytePositionInLine.HasValue then e.BytePositionInLine.Value + 1L else 0L
        Error(sprintf "Malformed JSON at line %d, column %d: %s" line col (e.Message.Split(" LineNumber").[0].TrimEnd('.', ' ')))

let root (doc: JsonDocument) = { El = doc.RootElement; Path = "" }
let ofElement (el: JsonElement) (path: string) = { El = el; Path = path }

let childPath (parent: string) (key: string) = if parent = "" then key else parent + "." + key
let indexPath (parent: string) (i: int) = sprintf "%s[%d]" parent i

let kind (n: Node) = n.El.ValueKind
let isNull (n: Node) = n.El.ValueKind = JsonValueKind.Null || n.El.ValueKind = JsonValueKind.Undefined
let isObject (n: Node) = n.El.ValueKind = JsonValueKind.Object
let isArray (n: Node) = n.El.ValueKind = JsonValueKind.Array
let isString (n: Node) = n.El.ValueKind = JsonValueKind.String

let private describe (k: JsonValueKind) =
    match k with
    | JsonValueKind.Object -> "an object"
    | JsonValueKind.Array -> "an array"
    | JsonValueKind.String -> "a string"
    | JsonValueKind.Number -> "a number"
    | JsonValueKind.True | JsonValueKind.False -> "a boolean"
    | JsonValueKind.Null -> "null"
    | _ -> "nothing"

let expectObject (n: Node) =
    if not (isObject n) then fail n (sprintf "expected an object but found %s" (describe n.El.ValueKind))
    n

/// A field that is present and not null.
let tryField (n: Node) (key: string) : Node option =
    if not (isObject n) then None
    else
        match n.El.TryGetProperty key with
        | true, v when v.ValueKind <> JsonValueKind.Null && v.ValueKind <> JsonValueKind.Undefined ->
            Some { El = v; Path = childPath n.Path key }
        | _ -> None

let hasField (n: Node) (key: string) = (tryField n key).IsSome

let field (n: Node) (key: string) : Node =
    match tryField n key with
    | Some v -> v
    | None -> raise (JsonError(childPath n.Path key, "is required but missing"))

let elements (n: Node) : Node list =
    if not (isArray n) then fail n (sprintf "expected an array but found %s" (describe n.El.ValueKind))
    [ let mutable i = 0
      for el in n.El.EnumerateArray() do
          yield { El = el; Path = indexPath n.Path i }
          i <- i + 1 ]

let properties (n: Node) : (string * Node) list =
    let n = expectObject n
    [ for p in n.El.EnumerateObject() -> p.Name, { El = p.Value; Path = childPath n.Path p.Name } ]

/// Strings are taken as they are; numbers and booleans are stringified, as Jackson does for
/// String-typed properties.
let asString (n: Node) : string =
    match n.El.ValueKind with
    | JsonValueKind.String -> n.El.GetString()
    | JsonValueKind.Number -> n.El.GetRawText()
    | JsonValueKind.True -> "true"
    | JsonValueKind.False -> "false"
    | k -> fail n (sprintf "expected a string but found %s" (describe k))

/// Booleans, and the strings "true"/"false" that Druid coerces.
let asBool (n: Node) : bool =
    match n.El.ValueKind with
    | JsonValueKind.True -> true
    | JsonValueKind.False -> false
    | JsonValueKind.String ->
        match n.El.GetString().Trim().ToLowerInvariant() with
        | "true" -> true
        | "false" -> false
        | s -> fail n (sprintf "expected a boolean but found the string \"%s\"" s)
    | JsonValueKind.Number ->
        match n.El.GetRawText() with
        | "0" -> false
        | "1" -> true
        | s -> fail n (sprintf "expected a boolean but found the number %s" s)
    | k -> fail n (sprintf "expected a boolean but found %s" (describe k))

/// Whole numbers, also written as strings ("0") or as integral doubles (1.0e3).
let asInt64 (n: Node) : int64 =
    let parseText (s: string) =
        match Int64.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture) with
        | true, v -> v
        | _ ->
            match Double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
            | true, d when Math.Floor d = d && abs d < 9.2e18 -> int64 d
            | _ -> fail n (sprintf "expected a whole number but found \"%s\"" s)
    match n.El.ValueKind with
    | JsonValueKind.Number -> parseText (n.El.GetRawText())
    | JsonValueKind.String -> parseText (n.El.GetString())
    | k -> fail n (sprintf "expected a whole number but found %s" (describe k))

let asInt (n: Node) : int =
    let v = asInt64 n
    if v > int64 Int32.MaxValue || v < int64 Int32.MinValue then fail n (sprintf "%d is out of range for an int" v)
    int v

let asFloat (n: Node) : float =
    let parseText (s: string) =
        match Double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, v -> v
        | _ -> fail n (sprintf "expected a number but found \"%s\"" s)
    match n.El.ValueKind with
    | JsonValueKind.Number -> n.El.GetDouble()
    | JsonValueKind.String -> parseText (n.El.GetString())
    | k -> fail n (sprintf "expected a number but found %s" (describe k))

let optString n key = tryField n key |> Option.map asString
let optBool n key = tryField n key |> Option.map asBool
let optInt64 n key = tryField n key |> Option.map asInt64
let optInt n key = tryField n key |> Option.map asInt
let optFloat n key = tryField n key |> Option.map asFloat
let stringOr n key dflt = defaultArg (optString n key) dflt
let boolOr n key dflt = defaultArg (optBool n key) dflt
let intOr n key dflt = defaultArg (optInt n key) dflt
let int64Or n key dflt = defaultArg (optInt64 n key) dflt
let requiredString n key = asString (field n key)

/// A list of strings; a single string is accepted as a one-element list (Jackson's
/// ACCEPT_SINGLE_VALUE_AS_ARRAY is on in Druid for several such properties).
let asStringList (n: Node) : string list =
    if isArray n then elements n |> List.map asString else [ asString n ]

let optStringList n key = tryField n key |> Option.map asStringList

/// Compact serialisation of a node, e.g. to record a spec as it was given.
let rawText (n: Node) = n.El.GetRawText()

/// Runs a parser over a document's root, turning a JsonError into (path, message).
let run (text: string) (parser: Node -> 'a) : Result<'a, string * string> =
    match parse text with
    | Error e -> Error("", e)
    | Ok doc ->
        use doc = doc
        try Ok(parser (root doc))
        with JsonError(path, problem) -> Error(path, problem)

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


/// JSON output with Druid's (Jackson's) number printing: longs as integers, doubles always
/// with a fraction or exponent (`905.0`, `1.0E7`), so clients see the types Druid sends.
[<RequireQualifiedAccess>]
type Out =
    | Null
    | Bool of bool
    | Long of int64
    | Double of float
    | String of string
    | Array of Out list
    | Object of (string * Out) list

module Out =
    let rec private write (w: Utf8JsonWriter) (o: Out) =
        match o with
        | Out.Null -> w.WriteNullValue()
        | Out.Bool b -> w.WriteBooleanValue b
        | Out.Long l -> w.WriteNumberValue l
        | Out.Double d ->
            if Double.IsNaN d || Double.IsInfinity d then w.WriteStringValue(javaDoubleString d)
            else w.WriteRawValue(javaDoubleString d, true)
        | Out.String s -> (match s with null -> w.WriteNullValue() | s -> w.WriteStringValue s)
        | Out.Array xs ->
            w.WriteStartArray()
            for x in xs do write w x
            w.WriteEndArray()
        | Out.Object fields ->
            w.WriteStartObject()
            for (k, v) in fields do
                w.WritePropertyName k
                write w v
            w.WriteEndObject()

    /// Serialises to UTF-8 text; `pretty` indents as `?pretty` asks.
    let toText (pretty: bool) (o: Out) : string =
        use stream = new IO.MemoryStream()
        let options = JsonWriterOptions(Indented = pretty, Encoder = Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true)
        (use w = new Utf8JsonWriter(stream, options)
         write w o)
        Text.Encoding.UTF8.GetString(stream.ToArray())

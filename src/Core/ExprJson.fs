/// JSON functions of Druid's expression language (json_value, json_query, parse_json, ...).
///
/// Value has no case for Druid's COMPLEX<json>, so JSON values are represented with the
/// cases there are: a JSON object is a Value.String holding its compact JSON text, a JSON
/// array is a Value.Array of its represented elements, strings and numbers are themselves,
/// booleans are the longs 1 and 0 (Druid's strict booleans) and JSON null is Value.Null.
/// Going the other way, a string whose text is a JSON object or array (`{...}`, `[...]`) is
/// read as that object or array, so JSON text stored in string columns works as JSON input,
/// and objects built by json_object nest inside one another.
module FunctionalDruid.Core.ExprJson

open System
open System.Text.Json
open FunctionalDruid.Core
open FunctionalDruid.Core.ExprSyntax
open FunctionalDruid.Core.ExprOps
open FunctionalDruid.Core.ExprFunctions

[<RequireQualifiedAccess>]
type JsonValue =
    | Null
    | Bool of bool
    | Long of int64
    | Double of float
    | String of string
    | Array of JsonValue[]
    /// Fields in document order; a repeated name keeps its last value.
    | Object of (string * JsonValue)[]

// ---- text <-> JsonValue ------------------------------------------------------------------

let rec private ofElement (el: JsonElement) : JsonValue =
    match el.ValueKind with
    | JsonValueKind.Object ->
        let fields = ResizeArray<string * JsonValue>()
        for p in el.EnumerateObject() do
            match Seq.tryFindIndex (fun (k, _) -> k = p.Name) fields with
            | Some i -> fields.[i] <- (p.Name, ofElement p.Value)
            | None -> fields.Add((p.Name, ofElement p.Value))
        JsonValue.Object(fields.ToArray())
    | JsonValueKind.Array -> JsonValue.Array(el.EnumerateArray() |> Seq.map ofElement |> Array.ofSeq)
    | JsonValueKind.String -> JsonValue.String(el.GetString())
    | JsonValueKind.Number ->
        match el.TryGetInt64() with
        | true, l -> JsonValue.Long l
        | _ -> JsonValue.Double(JsonPath.doubleOfText (el.GetRawText()))
    | JsonValueKind.True -> JsonValue.Bool true
    | JsonValueKind.False -> JsonValue.Bool false
    | _ -> JsonValue.Null

/// Parses one JSON document (strictly: no comments, no trailing commas).
let tryParse (text: string) : JsonValue option =
    if isNull text then None
    else
        try
            use doc = JsonDocument.Parse(text, JsonDocumentOptions(MaxDepth = 256))
            Some(ofElement doc.RootElement)
        with
        | :? JsonException
        // Text that is not valid UTF-16 (a lone surrogate) cannot be JSON either.
        | :? ArgumentException -> None

let rec private toOut (j: JsonValue) : Json.Out =
    match j with
    | JsonValue.Null -> Json.Out.Null
    | JsonValue.Bool b -> Json.Out.Bool b
    | JsonValue.Long l -> Json.Out.Long l
    | JsonValue.Double d -> Json.Out.Double d
    | JsonValue.String s -> Json.Out.String s
    | JsonValue.Array xs -> Json.Out.Array(xs |> Array.map toOut |> List.ofArray)
    | JsonValue.Object fields -> Json.Out.Object(fields |> Array.map (fun (k, v) -> k, toOut v) |> List.ofArray)

/// Compact JSON text, numbers printed as Jackson prints them (`1.0`, `1.0E10`).
let toText (j: JsonValue) : string = Json.Out.toText false (toOut j)

// ---- Value <-> JsonValue -----------------------------------------------------------------

let private looksLikeContainer (s: string) =
    let t = s.AsSpan().Trim()
    t.Length >= 2 && ((t.[0] = '{' && t.[t.Length - 1] = '}') || (t.[0] = '[' && t.[t.Length - 1] = ']'))

/// A row value read as JSON (see the module comment for the representation).
let rec ofValue (v: Value) : JsonValue =
    match v with
    | Value.Null -> JsonValue.Null
    | Value.Long l -> JsonValue.Long l
    | Value.Double d -> JsonValue.Double d
    | Value.String s when looksLikeContainer s ->
        match tryParse s with
        | Some j -> j
        | None -> JsonValue.String s
    | Value.String s -> JsonValue.String s
    | Value.Array xs -> JsonValue.Array(xs |> Array.map ofValue)

/// A JSON value as a row value (see the module comment for the representation).
let rec toValue (j: JsonValue) : Value =
    match j with
    | JsonValue.Null -> Value.Null
    | JsonValue.Bool b -> ofBool b
    | JsonValue.Long l -> Value.Long l
    | JsonValue.Double d -> Value.Double d
    | JsonValue.String s -> Value.String s
    | JsonValue.Array xs -> Value.Array(xs |> Array.map toValue)
    | JsonValue.Object _ -> Value.String(toText j)

// ---- JSONPath ----------------------------------------------------------------------------

[<RequireQualifiedAccess>]
type PathPart =
    | Field of string
    /// Negative counts from the end.
    | Index of int

let private badPath (path: string) (why: string) = Error(sprintf "Bad format, '%s' is not a valid JSONPath path: %s" path why)

/// Druid's JSONPath subset: `$`, `.name` (any characters but `.` and `[`), `['name']` (or
/// double quotes), `[n]` (negative counts from the end). The empty path is the root.
let parsePath (path: string) : Result<PathPart[], string> =
    if String.IsNullOrEmpty path then Ok [||]
    elif not (path.StartsWith "$") then badPath path "must start with '$'"
    else
        let parts = ResizeArray<PathPart>()
        let n = path.Length
        let mutable i = 1
        let mutable result = None
        let stop (r: Result<PathPart[], string>) = if result.IsNone then result <- Some r
        while result.IsNone && i < n do
            match path.[i] with
            | '.' ->
                let start = i + 1
                let mutable j = start
                while j < n && path.[j] <> '.' && path.[j] <> '[' do j <- j + 1
                if start = n then ()  // a trailing '.' adds no part: Druid reads `$.` as the root
                elif j = start then
                    // Druid reports an empty part with its jq wording.
                    stop (Error(sprintf "Bad format, '%s' is not a valid 'jq' path: path parts separated by '.' must not be empty" path))
                else
                    parts.Add(PathPart.Field(path.Substring(start, j - start)))
                i <- j
            | '[' when i + 1 < n && (path.[i + 1] = '\'' || path.[i + 1] = '"') ->
                let quote = path.[i + 1]
                let close = path.IndexOf(quote, i + 2)
                if close < 0 then stop (badPath path (sprintf "unterminated %c" quote))
                elif close + 1 >= n || path.[close + 1] <> ']' then stop (badPath path (sprintf "closing %c must immediately precede ']'" quote))
                else
                    parts.Add(PathPart.Field(path.Substring(i + 2, close - i - 2)))
                    i <- close + 2
            | '[' ->
                let close = path.IndexOf(']', i)
                if close < 0 then stop (badPath path "unterminated '['")
                else
                    let inner = path.Substring(i + 1, close - i - 1)
                    match Int32.TryParse(inner, Globalization.NumberStyles.AllowLeadingSign, Globalization.CultureInfo.InvariantCulture) with
                    | true, k ->
                        parts.Add(PathPart.Index k)
                        i <- close + 1
                    | _ -> stop (badPath path (sprintf "expected number for array specifier got %s instead. Use ' if this value was meant to be a field name" inner))
            | _ -> stop (badPath path "path parts must be separated with '.'")
        match result with
        | Some r -> r
        | None -> Ok(parts.ToArray())

let rec find (parts: PathPart[]) (i: int) (j: JsonValue) : JsonValue option =
    if i = parts.Length then Some j
    else
        match parts.[i], j with
        | PathPart.Field name, JsonValue.Object fields ->
            match fields |> Array.tryFind (fun (k, _) -> k = name) with
            | Some(_, v) -> find parts (i + 1) v
            | None -> None
        | PathPart.Index k, JsonValue.Array xs ->
            let k = if k < 0 then xs.Length + k else k
            if k >= 0 && k < xs.Length then find parts (i + 1) xs.[k] else None
        | _ -> None

/// Druid's normalized JSONPath: bracket notation only for names with `.`, quotes or brackets.
let private fieldPath (parent: string) (name: string) =
    if name.IndexOfAny([| '.'; '\''; '"'; '['; ']' |]) >= 0 then parent + ".['" + name + "']"
    else parent + "." + name

let private isPrimitive (j: JsonValue) = match j with JsonValue.Array _ | JsonValue.Object _ -> false | _ -> true

/// Every path to a literal value or an array of literals, in document order; a literal root
/// is `$.`, as Druid prints it.
let paths (root: JsonValue) : string[] =
    let found = ResizeArray<string>()
    let rec walk (path: string) (j: JsonValue) =
        match j with
        | JsonValue.Object fields -> for (k, v) in fields do walk (fieldPath path k) v
        | JsonValue.Array xs when not (Array.forall isPrimitive xs) -> xs |> Array.iteri (fun i x -> walk (sprintf "%s[%d]" path i) x)
        | _ ->
            if not (found.Contains path) then found.Add path
    walk "$" root
    found.ToArray()

// ---- functions ---------------------------------------------------------------------------

let private describeArg (e: Expr) =
    match e with
    | Expr.Identifier name -> name
    | Expr.Literal v -> match Value.toStringOrNull v with null -> "null" | t -> t
    | Expr.Call(name, _) -> name + "(...)"
    | _ -> "expression"

/// The path must be a string literal; a malformed one is reported in Druid's words.
let private pathArg (name: string) (e: Expr) : PathPart[] =
    match e with
    | Expr.Literal(Value.String text) ->
        match parsePath text with
        | Ok parts -> parts
        | Error problem -> raise (FunctionError problem)
    | e -> fail name (sprintf "second argument [%s] must be a literal [STRING] value" (describeArg e))

let private literalScalar (j: JsonValue) : Value option =
    match j with
    | JsonValue.Null -> Some Value.Null
    | JsonValue.Bool b -> Some(ofBool b)
    | JsonValue.Long l -> Some(Value.Long l)
    | JsonValue.Double d -> Some(Value.Double d)
    | JsonValue.String s -> Some(Value.String s)
    | _ -> None

/// json_value without a type: literals, and arrays of literals as arrays (numbers widen to
/// doubles, anything beside a string to strings); objects and nested arrays are null.
let private untypedLiteral (j: JsonValue) : Value =
    match j with
    | JsonValue.Array xs when Array.forall isPrimitive xs ->
        let values = xs |> Array.map (fun x -> (literalScalar x).Value)
        let nonNull = values |> Array.filter (function Value.Null -> false | _ -> true)
        if nonNull |> Array.exists (function Value.String _ -> true | _ -> false) then
            Value.Array(values |> Array.map (function Value.Null -> Value.Null | v -> Value.String(Value.toStringOrNull v)))
        elif nonNull |> Array.exists (function Value.Double _ -> true | _ -> false) then
            Value.Array(values |> Array.map (function Value.Null -> Value.Null | v -> Value.Double((Value.toDouble v).Value)))
        else Value.Array values
    | j -> defaultArg (literalScalar j) Value.Null

let private castScalar (typeName: string) (j: JsonValue) : Value =
    match typeName, j with
    | _, (JsonValue.Array _ | JsonValue.Object _ | JsonValue.Null) -> Value.Null
    | "STRING", JsonValue.Bool b -> Value.String(if b then "true" else "false")
    | "STRING", j -> Value.String(Value.toStringOrNull (literalScalar j).Value)
    | "LONG", JsonValue.Double d -> Value.Long(ExprMath.javaDoubleToLong d)
    | "LONG", j -> match Value.toLong (literalScalar j).Value with Some l -> Value.Long l | None -> Value.Null
    | _, j -> match Value.toDouble (literalScalar j).Value with Some d -> Value.Double d | None -> Value.Null

let private returning (typeName: string) : JsonValue -> Value =
    match typeName with
    | "LONG" | "DOUBLE" | "STRING" -> castScalar typeName
    | "FLOAT" -> castScalar "DOUBLE"
    | "ARRAY<LONG>" | "ARRAY<DOUBLE>" | "ARRAY<FLOAT>" | "ARRAY<STRING>" ->
        let element = match typeName with "ARRAY<LONG>" -> "LONG" | "ARRAY<STRING>" -> "STRING" | _ -> "DOUBLE"
        fun j ->
            match j with
            | JsonValue.Null | JsonValue.Object _ -> Value.Null
            | JsonValue.Array xs when Array.forall isPrimitive xs -> Value.Array(xs |> Array.map (castScalar element))
            | JsonValue.Array _ -> Value.Null
            | j -> Value.Array [| castScalar element j |]
    | other -> fail "json_value" (sprintf "invalid type [%s]" other)

/// A function of one row value read as JSON and a literal path.
let private atPath (name: string) (arity: Arity) (f: Expr[] -> JsonValue option -> Value) =
    specialFn arity (fun compile args ->
        let parts = pathArg name args.[1]
        let finish = f args
        let value = compile args.[0]
        fun row ->
            match value row with
            | Value.Null -> Value.Null
            | v -> finish (find parts 0 (ofValue v)))

let private objectOf (name: string) (v: Value) : (string * JsonValue)[] option =
    match v with
    | Value.Null -> None
    | v ->
        match ofValue v with
        | JsonValue.Object fields -> Some fields
        | _ -> fail name (sprintf "can only merge JSON objects but got [%s]" (Value.toStringOrNull v))

/// Later objects win; nested objects merge field by field, as Jackson's updating reader does.
let rec private merge (left: (string * JsonValue)[]) (right: (string * JsonValue)[]) : (string * JsonValue)[] =
    let result = ResizeArray<string * JsonValue>(left)
    for (k, v) in right do
        match Seq.tryFindIndex (fun (key, _) -> key = k) result with
        | Some i ->
            match snd result.[i], v with
            | JsonValue.Object a, JsonValue.Object b -> result.[i] <- (k, JsonValue.Object(merge a b))
            | _ -> result.[i] <- (k, v)
        | None -> result.Add((k, v))
    result.ToArray()

let rec private holdsBoolean (j: JsonValue) =
    match j with
    | JsonValue.Bool _ -> true
    | JsonValue.Array xs -> Array.exists holdsBoolean xs
    | JsonValue.Object fields -> fields |> Array.exists (snd >> holdsBoolean)
    | _ -> false

let jsonFunctions : (string * FunctionDef) list =
    [ "json_value", atPath "json_value" (Between(2, 3)) (fun args ->
          let convert =
              if args.Length > 2 then
                  match literalString "json_value" "type" args.[2] with
                  | null -> untypedLiteral
                  | t -> returning (t.Trim().ToUpperInvariant())
              else untypedLiteral
          fun found -> match found with Some j -> convert j | None -> Value.Null)
      "json_query", atPath "json_query" (Exactly 2) (fun _ found ->
          match found with
          // An array holding booleans stays JSON text: as a Value.Array its booleans would
          // turn into 1 and 0 wherever the value is grouped, sorted or printed.
          | Some(JsonValue.Array _ as j) when holdsBoolean j -> Value.String(toText j)
          | Some j -> toValue j
          | None -> Value.Null)
      "json_query_array", atPath "json_query_array" (Exactly 2) (fun _ found ->
          match found with
          | None | Some JsonValue.Null -> Value.Null
          | Some(JsonValue.Array xs) -> Value.Array(xs |> Array.map toValue)
          | Some j -> Value.Array [| toValue j |])
      "json_keys", atPath "json_keys" (Exactly 2) (fun _ found ->
          match found with
          | Some(JsonValue.Object fields) -> Value.Array(fields |> Array.map (fst >> Value.String))
          | Some(JsonValue.Array xs) -> Value.Array(Array.init xs.Length (string >> Value.String))
          | _ -> Value.Null)
      "json_paths", lazyFn (Exactly 1) (fun a ->
          fun row ->
              // A scalar, and null too, is the root itself: Druid answers ["$"].
              Value.Array(paths (ofValue (a.[0] row)) |> Array.map Value.String))
      "json_object", lazyFn (AtLeast 0) (fun a ->
          if a.Length % 2 <> 0 then fail "json_object" "requires an even number of arguments"
          fun row ->
              let fields = ResizeArray<string * JsonValue>()
              for i in 0 .. 2 .. a.Length - 1 do
                  match scalar (a.[i] row) with
                  | Value.String key ->
                      let value = ofValue (a.[i + 1] row)
                      match Seq.tryFindIndex (fun (k, _) -> k = key) fields with
                      | Some j -> fields.[j] <- (key, value)
                      | None -> fields.Add((key, value))
                  | other -> fail "json_object" (sprintf "field name must be a STRING but got [%s]" (Value.toStringOrNull other))
              Value.String(toText (JsonValue.Object(fields.ToArray()))))
      "to_json_string", lazyFn (Exactly 1) (fun a ->
          fun row -> match a.[0] row with Value.Null -> Value.Null | v -> Value.String(toText (ofValue v)))
      // Only text that may be JSON (starting with `{`, `[`, `"` or a digit) is parsed; other
      // strings are JSON strings already, as in Druid.
      "parse_json", lazyFn (Exactly 1) (fun a ->
          fun row ->
              match a.[0] row with
              | Value.Null -> Value.Null
              | Value.String s when s.Length > 0 && (s.[0] = '{' || s.[0] = '[' || s.[0] = '"' || Char.IsDigit s.[0]) ->
                  match tryParse s with
                  | Some j -> toValue j
                  | None -> raise (FunctionError(sprintf "Bad string input [%s] to [parse_json]" s))
              | v -> toValue (ofValue v))
      "try_parse_json", lazyFn (Exactly 1) (fun a ->
          fun row ->
              match a.[0] row with
              | Value.String s -> match tryParse s with Some j -> toValue j | None -> Value.Null
              | _ -> Value.Null)
      "json_merge", lazyFn (AtLeast 2) (fun a ->
          fun row ->
              let objects = a |> Array.map (fun c -> objectOf "json_merge" (c row))
              if objects |> Array.exists Option.isNone then Value.Null
              else Value.String(toText (JsonValue.Object(objects |> Array.map Option.get |> Array.reduce merge)))) ]

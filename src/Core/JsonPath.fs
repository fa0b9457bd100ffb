/// The JSONPath and jq subsets `flattenSpec` fields use, evaluated over System.Text.Json
/// elements, and JSON values turned into row values the way Druid's Jackson reader does.
module FunctionalDruid.Core.JsonPath

open System
open System.Globalization
open System.Text.Json

[<RequireQualifiedAccess>]
type PathStep =
    | Field of string
    /// negative counts from the end, as in JSONPath
    | Index of int
    /// `*`: every element of an array or every value of an object
    | Wildcard
    /// `..name`: that field anywhere below
    | DeepScan of string

let private isNameChar (c: char) = Char.IsLetterOrDigit c || c = '_' || c = '$' || c = '-' || c = '@'

/// `$.a.b`, `$['a b']`, `$.a[0]`, `$.a[-1]`, `$.a[*]`, `$.a.*`, `$..a`; a path without `$` is
/// read as below the root, as Jayway does.
let parseJsonPath (expr: string) : Result<PathStep[], string> =
    let s = (if isNull expr then "" else expr.Trim())
    let s = if s.StartsWith "$" || s.StartsWith "@" then s else "$." + s
    let n = s.Length
    let steps = ResizeArray<PathStep>()
    let mutable i = 1
    let mutable error = None
    let fail msg = if error.IsNone then error <- Some msg
    let readName () =
        let start = i
        while i < n && isNameChar s.[i] do
            i <- i + 1
        s.Substring(start, i - start)
    while error.IsNone && i < n do
        match s.[i] with
        | '.' when i + 1 < n && s.[i + 1] = '.' ->
            i <- i + 2
            let name = readName ()
            if name = "" then fail (sprintf "Path must not end with a '.' or '..' at position %d" i) else steps.Add(PathStep.DeepScan name)
        | '.' ->
            i <- i + 1
            if i < n && s.[i] = '*' then
                i <- i + 1
                steps.Add PathStep.Wildcard
            else
                let name = readName ()
                if name = "" then fail (sprintf "Expected a field name at position %d" i)
                elif i < n && s.[i] = '(' then fail (sprintf "Functions such as %s() are not supported" name)
                else steps.Add(PathStep.Field name)
        | '[' ->
            i <- i + 1
            if i < n && (s.[i] = '\'' || s.[i] = '"') then
                let quote = s.[i]
                let close = s.IndexOf(quote, i + 1)
                if close < 0 || close + 1 >= n || s.[close + 1] <> ']' then fail (sprintf "Unterminated quoted name at position %d" i)
                else
                    steps.Add(PathStep.Field(s.Substring(i + 1, close - i - 1)))
                    i <- close + 2
            elif i < n && s.[i] = '*' && i + 1 < n && s.[i + 1] = ']' then
                steps.Add PathStep.Wildcard
                i <- i + 2
            else
                let close = s.IndexOf(']', i)
                let inner = if close < 0 then "" else s.Substring(i, close - i).Trim()
                match Int32.TryParse(inner, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) with
                | true, k when close > 0 ->
                    steps.Add(PathStep.Index k)
                    i <- close + 1
                | _ -> fail (sprintf "Unsupported JSONPath element [%s]: only names, indexes and * are supported" (if close < 0 then s.Substring i else inner))
        | c -> fail (sprintf "Unexpected character '%c' at position %d" c i)
    match error with
    | Some e -> Error(sprintf "Invalid JSONPath [%s]: %s" expr e)
    | None -> Ok(steps.ToArray())

/// jq paths: `.a.b`, `.a[0]`, `.["a b"]`, `.a?`.
let parseJqPath (expr: string) : Result<PathStep[], string> =
    let s = (if isNull expr then "" else expr.Trim())
    let n = s.Length
    let steps = ResizeArray<PathStep>()
    let mutable i = 0
    let mutable ok = n > 0 && s.[0] = '.'
    while ok && i < n do
        if s.[i] = '.' then
            i <- i + 1
            let start = i
            while i < n && (Char.IsLetterOrDigit s.[i] || s.[i] = '_') do
                i <- i + 1
            if i > start then steps.Add(PathStep.Field(s.Substring(start, i - start)))
            elif i < n && s.[i] = '[' then ()
            elif i = n && steps.Count = 0 then ()
            else ok <- false
        elif s.[i] = '[' then
            let close = s.IndexOf(']', i)
            if close < 0 then ok <- false
            else
                let inner = s.Substring(i + 1, close - i - 1).Trim()
                if inner.Length >= 2 && inner.[0] = '"' && inner.[inner.Length - 1] = '"' then
                    steps.Add(PathStep.Field(inner.Substring(1, inner.Length - 2)))
                else
                    match Int32.TryParse(inner, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) with
                    | true, k -> steps.Add(PathStep.Index k)
                    | _ -> ok <- false
                i <- close + 1
        elif s.[i] = '?' then i <- i + 1
        else ok <- false
    if ok then Ok(steps.ToArray())
    else Error(sprintf "jq expression [%s] is not supported: only paths such as .a.b, .a[0] and .[\"a b\"] are" expr)

// ---- JSON values -----------------------------------------------------------------------------

let trueString = "true"
let falseString = "false"

/// Java's Map.toString of a JSON object, for objects that land in a row through a path.
let rec private javaObjectString (el: JsonElement) : string =
    match el.ValueKind with
    | JsonValueKind.Object ->
        "{" + String.Join(", ", el.EnumerateObject() |> Seq.map (fun p -> p.Name + "=" + javaObjectString p.Value)) + "}"
    | JsonValueKind.Array -> "[" + String.Join(", ", el.EnumerateArray() |> Seq.map javaObjectString) + "]"
    | JsonValueKind.String -> el.GetString()
    | JsonValueKind.True -> trueString
    | JsonValueKind.False -> falseString
    | JsonValueKind.Number -> el.GetRawText()
    | _ -> "null"

let doubleOfText (text: string) =
    match Double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture) with
    | true, d -> d
    | _ -> nan

/// Integral literals in range are longs; every other number is a double (as Jackson reads them).
let rec elementValue (el: JsonElement) : Value =
    match el.ValueKind with
    | JsonValueKind.String -> Value.String(el.GetString())
    | JsonValueKind.Number ->
        match el.TryGetInt64() with
        | true, l -> Value.Long l
        | _ ->
            match el.TryGetDouble() with
            | true, d -> Value.Double d
            | _ -> Value.Double(doubleOfText (el.GetRawText()))
    | JsonValueKind.True -> Value.String trueString
    | JsonValueKind.False -> Value.String falseString
    | JsonValueKind.Array ->
        let items = Array.zeroCreate (el.GetArrayLength())
        let mutable i = 0
        for x in el.EnumerateArray() do
            items.[i] <- elementValue x
            i <- i + 1
        Value.Array items
    | JsonValueKind.Object -> Value.String(javaObjectString el)
    | _ -> Value.Null

/// Discovered root fields are scalars and arrays of scalars; objects and nested arrays are
/// reachable only through a flattenSpec field.
let isDiscoverable (el: JsonElement) (keepNull: bool) =
    match el.ValueKind with
    | JsonValueKind.Object -> false
    | JsonValueKind.Null -> keepNull
    | JsonValueKind.Array ->
        el.EnumerateArray() |> Seq.forall (fun x -> x.ValueKind <> JsonValueKind.Object && x.ValueKind <> JsonValueKind.Array)
    | _ -> true

let private isDefinite (steps: PathStep[]) =
    steps |> Array.forall (fun s -> match s with PathStep.Wildcard | PathStep.DeepScan _ -> false | _ -> true)

let rec private collect (el: JsonElement) (steps: PathStep[]) (i: int) (acc: ResizeArray<JsonElement>) =
    if i = steps.Length then acc.Add el
    else
        match steps.[i] with
        | PathStep.Field name ->
            if el.ValueKind = JsonValueKind.Object then
                match el.TryGetProperty name with
                | true, v -> collect v steps (i + 1) acc
                | _ -> ()
        | PathStep.Index k ->
            if el.ValueKind = JsonValueKind.Array then
                let len = el.GetArrayLength()
                let k = if k < 0 then len + k else k
                if k >= 0 && k < len then collect el.[k] steps (i + 1) acc
        | PathStep.Wildcard ->
            match el.ValueKind with
            | JsonValueKind.Array -> for x in el.EnumerateArray() do collect x steps (i + 1) acc
            | JsonValueKind.Object -> for p in el.EnumerateObject() do collect p.Value steps (i + 1) acc
            | _ -> ()
        | PathStep.DeepScan name ->
            let rec scan (e: JsonElement) =
                match e.ValueKind with
                | JsonValueKind.Object ->
                    for p in e.EnumerateObject() do
                        if p.Name = name then collect p.Value steps (i + 1) acc
                        scan p.Value
                | JsonValueKind.Array -> for x in e.EnumerateArray() do scan x
                | _ -> ()
            scan el

/// A field's value: a definite path gives one value (Null when absent), an indefinite one a list.
let evaluatePath (steps: PathStep[]) (root: JsonElement) : Value =
    let acc = ResizeArray<JsonElement>(1)
    collect root steps 0 acc
    if isDefinite steps then (if acc.Count = 0 then Value.Null else elementValue acc.[0])
    else Value.Array(acc |> Seq.map elementValue |> Seq.toArray)

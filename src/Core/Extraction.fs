/// Druid's extraction functions: how a dimension value (or `__time`) is rewritten before a
/// filter compares it or a dimension spec groups on it. Declared ahead of filters because
/// string filters accept an `extractionFn` too.
module FunctionalDruid.Core.Extraction

open System
open System.Globalization
open System.Text.RegularExpressions
open FunctionalDruid.Core

/// A `search` filter's or search query's match rule (also the `searchQuery` extraction).
type SearchQuery =
    | Contains of value: string * caseSensitive: bool
    | Fragment of values: string list * caseSensitive: bool
    | SearchRegex of pattern: string

[<RequireQualifiedAccess>]
type ExtractionFn =
    /// `timeFormat`: formats a millisecond time (Joda pattern, zone, locale), or truncates it
    /// to a granularity first; no format means ISO.
    | TimeFormat of format: string option * timeZone: string option * locale: string option * granularity: Time.Granularity option * asMillis: bool
    /// `time`: re-formats a string time from one Joda (or SimpleDateFormat) pattern to another.
    | Time of timeFormat: string * resultFormat: string * joda: bool
    | Substring of index: int * length: int option
    /// `regex`: the `index`-th group of the first match; unmatched values become null, or
    /// themselves, or `replaceMissingValueWith`.
    | Regex of expr: string * index: int * replaceMissingValue: bool * replaceMissingValueWith: string option
    /// `partial`: the value when the pattern matches, else null.
    | Partial of expr: string
    /// `searchQuery`: the value when the search query matches, else null.
    | SearchQuery of SearchQuery
    | Strlen
    | Upper of locale: string option
    | Lower of locale: string option
    /// `bucket`: numbers floored to `offset + k * size`.
    | Bucket of size: float * offset: float
    /// `stringFormat`: Java `String.format` with one argument; nullHandling nullString|emptyString|returnNull.
    | StringFormat of format: string * nullHandling: string
    /// `lookup` with an inline `map` lookup.
    | Lookup of map: (string * string) list * retainMissingValue: bool * replaceMissingValueWith: string option * injective: bool
    | Cascade of ExtractionFn list

// ---- applying ------------------------------------------------------------------------------

type private Rx = System.Text.RegularExpressions.Regex

/// A compiled extraction: any cell value (a string, a number, `__time` millis) to a string or
/// null. Compile once per query and call per dictionary value (or per row for numbers).
type Compiled = Value -> string

let searchMatcher (q: SearchQuery) : string -> bool =
    match q with
    | Contains(value, true) -> ExprOps.containsText value StringComparison.Ordinal
    | Contains(value, false) -> ExprOps.containsText value StringComparison.OrdinalIgnoreCase
    | Fragment(values, caseSensitive) ->
        let comparison = if caseSensitive then StringComparison.Ordinal else StringComparison.OrdinalIgnoreCase
        fun s -> values |> List.forall (fun v -> s.Contains(v, comparison))
    | SearchRegex pattern ->
        let regex = Rx(pattern, RegexOptions.CultureInvariant)
        fun s -> regex.IsMatch s

let private zoneOf (name: string option) =
    match name with
    | None -> NodaTime.DateTimeZone.Utc
    | Some z -> defaultArg (Time.tryParseZone z) NodaTime.DateTimeZone.Utc

/// Millis of a value a time extraction reads: numbers as they are, strings as numbers or ISO.
let private millisOf (v: Value) : int64 option =
    match v with
    | Value.Null -> None
    | Value.Long l -> Some l
    | Value.Double d -> if Double.IsNaN d then None else Some(int64 d)
    | Value.String s ->
        match Value.parseLongText s with
        | Some l -> Some l
        | None -> Time.tryParseInstant s
    | Value.Array [| x |] -> match x with Value.Long l -> Some l | Value.String s -> Time.tryParseInstant s | _ -> None
    | Value.Array _ -> None

/// Java's String.valueOf(double) for whole and fractional bucket results.
let private bucketText (d: float) =
    if d = Math.Floor d && abs d < 9.2e18 then (int64 d).ToString(CultureInfo.InvariantCulture)
    else Value.javaDoubleString d

let private cultureOf (locale: string option) =
    match locale with
    | None -> CultureInfo.InvariantCulture
    | Some l ->
        try CultureInfo.GetCultureInfo(l.Replace('_', '-')) with _ -> CultureInfo.InvariantCulture

let rec compile (fn: ExtractionFn) : Compiled =
    let onString (f: string -> string) : Compiled =
        fun v ->
            match Value.toStringOrNull v with
            | null -> null
            | s -> f s
    match fn with
    | ExtractionFn.TimeFormat(format, zone, _, granularity, asMillis) ->
        let z = zoneOf zone
        let print: int64 -> string =
            match format with
            | Some f ->
                match JodaFormat.compile f with
                | Ok p -> fun t -> JodaFormat.formatWith p z t
                | Error _ -> fun _ -> null
            | None -> fun t -> Time.formatInZone z t
        let truncate = match granularity with Some g -> Time.bucketStart g | None -> id
        // Without second or millisecond fields the text is constant within a minute (zone
        // offsets are whole minutes): remember the last minute's text, since times arrive
        // sorted. The memo makes the compiled function single-threaded.
        let perMinute =
            match format with
            | Some f ->
                match JodaFormat.compile f with
                | Ok p -> p.Tokens |> Array.forall (function JodaFormat.Field(('s' | 'S'), _) -> false | _ -> true)
                | Error _ -> false
            | None -> false
        let mutable lastMinute = Int64.MinValue
        let mutable lastText: string = null
        let printMemo (t: int64) =
            if not perMinute then print t
            else
                let minute = if t >= 0L then t / 60_000L else (t - 59_999L) / 60_000L
                if minute <> lastMinute then
                    lastText <- print t
                    lastMinute <- minute
                lastText
        fun v ->
            let millis =
                match v with
                | Value.String s when asMillis -> Value.parseLongText s
                | v -> millisOf v
            match millis with
            | Some t -> printMemo (truncate t)
            | None -> null
    | ExtractionFn.Time(timeFormat, resultFormat, _) ->
        let input = JodaFormat.compile timeFormat
        let output = JodaFormat.compile resultFormat
        onString (fun s ->
            match input, output with
            | Ok i, Ok o ->
                match JodaFormat.parseWith i NodaTime.DateTimeZone.Utc s with
                | Some t -> JodaFormat.formatWith o NodaTime.DateTimeZone.Utc t
                | None -> s
            | _ -> s)
    | ExtractionFn.Substring(index, length) ->
        onString (fun s ->
            if index >= s.Length then null
            else
                match length with
                | Some l -> s.Substring(index, min l (s.Length - index))
                | None -> s.Substring index)
    | ExtractionFn.Regex(expr, index, replaceMissing, replaceWith) ->
        let regex = Rx(expr, RegexOptions.CultureInvariant)
        let missing (s: string) = if replaceMissing then Option.toObj replaceWith else s
        fun v ->
            match Value.toStringOrNull v with
            | null -> missing null
            | s ->
                let m = regex.Match s
                if m.Success && index < m.Groups.Count then
                    let g = m.Groups.[index]
                    if g.Success then g.Value else null
                else missing s
    | ExtractionFn.Partial expr ->
        let regex = Rx(expr, RegexOptions.CultureInvariant)
        onString (fun s -> if regex.IsMatch s then s else null)
    | ExtractionFn.SearchQuery q ->
        let matches = searchMatcher q
        onString (fun s -> if matches s then s else null)
    | ExtractionFn.Strlen -> onString (fun s -> s.Length.ToString(CultureInfo.InvariantCulture))
    | ExtractionFn.Upper locale ->
        let c = cultureOf locale
        onString (fun s -> s.ToUpper c)
    | ExtractionFn.Lower locale ->
        let c = cultureOf locale
        onString (fun s -> s.ToLower c)
    | ExtractionFn.Bucket(size, offset) ->
        fun v ->
            let number =
                match v with
                | Value.Long l -> Some(float l)
                | Value.Double d -> Some d
                | Value.String s -> Value.parseDoubleText s
                | _ -> None
            match number with
            | Some x -> bucketText (Math.Floor((x - offset) / size) * size + offset)
            | None -> null
    | ExtractionFn.StringFormat(format, nullHandling) ->
        fun v ->
            let input = Value.toStringOrNull v
            match input, nullHandling with
            | null, "returnNull" -> null
            | null, "emptyString" -> Value.toStringOrNull (ExprOps.javaFormat [| Value.String format; Value.String "" |])
            | null, _ -> Value.toStringOrNull (ExprOps.javaFormat [| Value.String format; Value.String "null" |])
            | s, _ -> Value.toStringOrNull (ExprOps.javaFormat [| Value.String format; Value.String s |])
    | ExtractionFn.Lookup(map, retain, replaceWith, _) ->
        let table = Collections.Generic.Dictionary<string, string>(StringComparer.Ordinal)
        for (k, v) in map do table.[k] <- v
        fun v ->
            let s = Value.toStringOrNull v
            match (if isNull s then (false, null) else table.TryGetValue s) with
            | true, mapped -> mapped
            | _ -> if retain then s else Option.toObj replaceWith
    | ExtractionFn.Cascade fns ->
        let parts = fns |> List.map compile |> Array.ofList
        fun v ->
            let mutable current = v
            let mutable result: string = null
            for i in 0 .. parts.Length - 1 do
                result <- parts.[i] current
                current <- if isNull result then Value.Null else Value.String result
            result

/// Applies an extraction to one value.
let apply (fn: ExtractionFn) (v: Value) : string = compile fn v

/// Whether equal inputs always give equal outputs independent of time or numbers, so the
/// result can be computed once per dictionary value of a string column.
let rec isPerValue (fn: ExtractionFn) : bool =
    match fn with
    | ExtractionFn.Cascade fns -> List.forall isPerValue fns
    | _ -> true

// ---- parsing -------------------------------------------------------------------------------

let private granularityOf (n: Json.Node) : Time.Granularity =
    let bad () = Json.fail n (sprintf "Unknown granularity [%s]" (Json.rawText n))
    if Json.isString n then
        match Time.tryGranularityOfName (Json.asString n) with
        | Some g -> g
        | None -> bad ()
    else
        let n = Json.expectObject n
        let origin () =
            Json.tryField n "origin"
            |> Option.map (fun o -> match Time.tryParseInstant (Json.asString o) with Some t -> t | None -> Json.fail o (sprintf "Invalid origin [%s]" (Json.asString o)))
        match (Json.requiredString n "type").ToLowerInvariant() with
        | "period" ->
            let periodNode = Json.field n "period"
            match Time.tryParsePeriod (Json.asString periodNode) with
            | Some p ->
                let zone =
                    match Json.tryField n "timeZone" with
                    | None -> NodaTime.DateTimeZone.Utc
                    | Some z ->
                        match Time.tryParseZone (Json.asString z) with
                        | Some zone -> zone
                        | None -> Json.fail z (sprintf "The datetime zone id '%s' is not recognised" (Json.asString z))
                Time.Granularity.Period(p, zone, origin (), None)
            | None -> Json.fail periodNode (sprintf "Invalid period [%s]" (Json.asString periodNode))
        | "duration" -> Time.Granularity.Duration(Json.asInt64 (Json.field n "duration"), defaultArg (origin ()) 0L)
        | "all" -> Time.Granularity.All
        | "none" -> Time.Granularity.NoTruncation
        | _ -> bad ()

let private checkRegex (n: Json.Node) =
    let pattern = Json.asString n
    try Rx(pattern) |> ignore with :? ArgumentException -> Json.fail n (sprintf "Invalid regular expression [%s]" pattern)
    pattern

/// A search query spec (`contains`, `insensitive_contains`, `fragment`, `regex`).
let parseSearchQuery (q: Json.Node) : SearchQuery =
    let q = Json.expectObject q
    let typeNode = Json.field q "type"
    match Json.asString typeNode with
    | "contains" -> Contains(Json.requiredString q "value", Json.boolOr q "caseSensitive" false)
    | "insensitive_contains" -> Contains(Json.requiredString q "value", false)
    | "fragment" -> Fragment(Json.elements (Json.field q "values") |> List.map Json.asString, Json.boolOr q "caseSensitive" false)
    | "regex" -> SearchRegex(checkRegex (Json.field q "pattern"))
    | t -> Json.fail typeNode (sprintf "Unknown search query type [%s]" t)

// Locales only change case mapping for a few languages; with invariant globalization they
// are accepted and read as invariant.
let private checkLocale (n: Json.Node) (key: string) = Json.optString n key

/// Reads an extraction function spec; errors are Json.JsonErrors at the offending field.
let rec parse (node: Json.Node) : ExtractionFn =
    let n = Json.expectObject node
    let typeNode = Json.field n "type"
    match Json.asString typeNode with
    | "timeFormat" ->
        let format = Json.optString n "format"
        match format with
        | Some f ->
            match JodaFormat.compile f with
            | Error e -> Json.fail (Json.field n "format") e
            | Ok _ -> ()
        | None -> ()
        let zone = Json.optString n "timeZone"
        match zone with
        | Some z when (Time.tryParseZone z).IsNone ->
            Json.fail (Json.field n "timeZone") (sprintf "The datetime zone id '%s' is not recognised" z)
        | _ -> ()
        ExtractionFn.TimeFormat(format, zone, checkLocale n "locale", Json.tryField n "granularity" |> Option.map granularityOf, Json.boolOr n "asMillis" false)
    | "time" ->
        let input = Json.field n "timeFormat"
        let output = Json.field n "resultFormat"
        for f in [ input; output ] do
            match JodaFormat.compile (Json.asString f) with
            | Error e -> Json.fail f e
            | Ok _ -> ()
        ExtractionFn.Time(Json.asString input, Json.asString output, Json.boolOr n "joda" false)
    | "substring" ->
        let index = Json.asInt (Json.field n "index")
        if index < 0 then Json.fail (Json.field n "index") "index must be >= 0"
        let length = Json.optInt n "length"
        match length with
        | Some l when l < 0 -> Json.fail (Json.field n "length") "length must be strictly positive"
        | _ -> ()
        ExtractionFn.Substring(index, length)
    | "regex" ->
        let expr = checkRegex (Json.field n "expr")
        let index = Json.intOr n "index" 1
        if index < 0 then Json.fail (Json.field n "index") "index must be a positive integer"
        ExtractionFn.Regex(expr, index, Json.boolOr n "replaceMissingValue" false, Json.optString n "replaceMissingValueWith")
    | "partial" -> ExtractionFn.Partial(checkRegex (Json.field n "expr"))
    | "searchQuery" -> ExtractionFn.SearchQuery(parseSearchQuery (Json.field n "query"))
    | "strlen" -> ExtractionFn.Strlen
    | "upper" -> ExtractionFn.Upper(checkLocale n "locale")
    | "lower" -> ExtractionFn.Lower(checkLocale n "locale")
    | "bucket" ->
        let size = match Json.optFloat n "size" with Some s -> s | None -> 1.0
        if size <= 0.0 then Json.fail (Json.field n "size") "size must be positive"
        ExtractionFn.Bucket(size, defaultArg (Json.optFloat n "offset") 0.0)
    | "stringFormat" ->
        let handling = Json.stringOr n "nullHandling" "nullString"
        if not (List.contains handling [ "nullString"; "emptyString"; "returnNull" ]) then
            Json.fail (Json.field n "nullHandling") (sprintf "Unknown nullHandling [%s]; expected nullString, emptyString or returnNull" handling)
        ExtractionFn.StringFormat(Json.requiredString n "format", handling)
    | "lookup" ->
        let lookupNode = Json.field n "lookup"
        let lookupType = Json.stringOr lookupNode "type" "map"
        if lookupType <> "map" then Json.fail lookupNode (sprintf "lookup type [%s] is not supported; use an inline map lookup" lookupType)
        let map = Json.properties (Json.field lookupNode "map") |> List.map (fun (k, v) -> k, (if Json.isNull v then null else Json.asString v))
        let retain = Json.boolOr n "retainMissingValue" false
        let replaceWith = Json.optString n "replaceMissingValueWith" |> Option.filter (fun s -> s <> "")
        if retain && replaceWith.IsSome then
            Json.fail n "Cannot specify a [replaceMissingValueWith] and set [retainMissingValue] to true"
        ExtractionFn.Lookup(map, retain, replaceWith, Json.boolOr n "injective" false)
    | "registeredLookup" -> Json.fail typeNode "registeredLookup extraction functions are not supported; use a lookup with an inline map"
    | "cascade" ->
        let fns = Json.elements (Json.field n "extractionFns") |> List.map parse
        if fns.IsEmpty then Json.fail (Json.field n "extractionFns") "extractionFns should not be empty"
        ExtractionFn.Cascade fns
    | "javascript" -> Json.fail typeNode "JavaScript is disabled"
    | t -> Json.fail typeNode (sprintf "Unknown extractionFn type [%s]" t)

/// Druid's native filters: the JSON model, row matching with SQL three-valued logic (a
/// comparison with null is unknown, and NOT of unknown is still unknown), and per-value
/// predicates the segment engine evaluates once per dictionary entry.
module FunctionalDruid.Core.Filter

open System
open System.Collections.Generic
open System.Text.RegularExpressions
open FunctionalDruid.Core
open FunctionalDruid.Core.Ordering
open FunctionalDruid.Core.Extraction

type private Rx = System.Text.RegularExpressions.Regex

type SearchQuery = Extraction.SearchQuery

type BoundSpec =
    { Dimension: string
      Lower: string option
      Upper: string option
      LowerStrict: bool
      UpperStrict: bool
      Ordering: StringOrdering }

type RangeSpec =
    { Column: string
      /// STRING, LONG, DOUBLE or FLOAT (upper case).
      MatchValueType: string
      /// Value.Null when the side is unbounded.
      Lower: Value
      Upper: Value
      LowerOpen: bool
      UpperOpen: bool }

/// Cases are reached as `Filter.Selector(...)` from outside this module.
type Filter =
    /// `value = None` is the legacy way to ask for nulls.
    | Selector of dimension: string * value: string option
    | Equality of column: string * matchValueType: string * matchValue: Value
    | In of dimension: string * values: string option list
    | Bound of BoundSpec
    | Range of RangeSpec
    | Null of column: string
    | Like of dimension: string * pattern: string * escape: string option
    | Regex of dimension: string * pattern: string
    | Search of dimension: string * query: SearchQuery
    | Interval of dimension: string * intervals: Time.Interval list
    | ArrayContainsElement of column: string * elementMatchValue: Value
    | ColumnComparison of dimensions: string list
    | Expression of expression: string * parsed: Expr.Expr
    | True
    | False
    | And of fields: Filter list
    | Or of fields: Filter list
    | Not of field: Filter
    /// A single-column filter (selector, in, bound, like, regex, search, interval) tested on
    /// the column's values after an extraction function (the filter's `extractionFn`).
    | Extracted of filter: Filter * extractionFn: ExtractionFn

/// SQL's three truth values.
[<Struct>]
type Truth =
    | Yes
    | No
    | Unknown

let private ofBool (b: bool) = if b then Yes else No

// ---- per-value predicates ----------------------------------------------------------------

let private numberOf (v: Value) : decimal option =
    match v with
    | Value.Long l -> Some(decimal l)
    | Value.Double d when not (Double.IsNaN d || Double.IsInfinity d) ->
        if abs d < 7.9e28 then Some(decimal d) else Some(if d > 0.0 then Decimal.MaxValue else Decimal.MinValue)
    | Value.String s -> parseNumber s
    | _ -> None

let private isNumeric (v: Value) = match v with Value.Long _ | Value.Double _ -> true | _ -> false

/// A string match value against one cell value; numbers compare numerically, as Druid
/// coerces the filter's string to the column's type.
let private stringEquals (target: string) : Value -> bool =
    let asNumber = parseNumber target
    fun v ->
        match v with
        | Value.String s -> String.Equals(s, target)
        | v when isNumeric v -> asNumber.IsSome && numberOf v = asNumber
        | _ -> false

/// How a bound treats a null value: matched when the lower side lets null through.
let private boundMatchesNull (b: BoundSpec) =
    (b.Lower.IsNone || (b.Lower = Some null && not b.LowerStrict))
    && (b.Upper.IsNone || b.Upper <> Some null || not b.UpperStrict)

let private boundPredicate (b: BoundSpec) : Value -> Truth =
    let lowerNumber = b.Lower |> Option.bind parseNumber
    let upperNumber = b.Upper |> Option.bind parseNumber
    let within (lowerCmp: int) (upperCmp: int) =
        (if b.LowerStrict then lowerCmp > 0 else lowerCmp >= 0) && (if b.UpperStrict then upperCmp > 0 else upperCmp >= 0)
    let nullTruth = if boundMatchesNull b then Yes else Unknown
    fun v ->
        match v with
        | Value.Null -> nullTruth
        | v when isNumeric v && b.Ordering = StringOrdering.Numeric ->
            let x = (numberOf v).Value
            let lowerCmp = match b.Lower with None -> 1 | Some _ -> (match lowerNumber with Some l -> compare x l | None -> 1)
            let upperCmp = match b.Upper with None -> 1 | Some _ -> (match upperNumber with Some u -> compare u x | None -> -1)
            ofBool (within lowerCmp upperCmp)
        | v ->
            let s = Value.toStringOrNull v
            let lowerCmp = match b.Lower with None -> 1 | Some l -> compareWith b.Ordering s l
            let upperCmp = match b.Upper with None -> 1 | Some u -> compareWith b.Ordering u s
            ofBool (within lowerCmp upperCmp)

let private rangePredicate (r: RangeSpec) : Value -> Truth =
    let inside (lowerCmp: int) (upperCmp: int) =
        (if r.LowerOpen then lowerCmp > 0 else lowerCmp >= 0) && (if r.UpperOpen then upperCmp > 0 else upperCmp >= 0)
    if r.MatchValueType = "STRING" then
        let lower = Value.toStringOrNull r.Lower
        let upper = Value.toStringOrNull r.Upper
        fun v ->
            match v with
            | Value.Null -> Unknown
            | v ->
                let s = Value.toStringOrNull v
                let lowerCmp = if isNull lower then 1 else compareLexicographic s lower
                let upperCmp = if isNull upper then 1 else compareLexicographic upper s
                ofBool (inside lowerCmp upperCmp)
    else
        let lower = numberOf r.Lower
        let upper = numberOf r.Upper
        fun v ->
            match v with
            | Value.Null -> Unknown
            | v ->
                match numberOf v with
                | None -> No
                | Some x ->
                    let lowerCmp = match lower with None -> 1 | Some l -> compare x l
                    let upperCmp = match upper with None -> 1 | Some u -> compare u x
                    ofBool (inside lowerCmp upperCmp)

let private searchPredicate (q: SearchQuery) : string -> bool = Extraction.searchMatcher q

let private onStrings (test: string -> bool) : Value -> Truth =
    fun v ->
        match Value.toStringOrNull v with
        | null -> Unknown
        | s -> ofBool (test s)

/// The truth of a single-column leaf filter for one scalar cell value (not an array).
let rec private scalarPredicate (f: Filter) : (string * (Value -> Truth)) option =
    match f with
    | Filter.Selector(dim, None) -> Some(dim, fun v -> match v with Value.Null -> Yes | _ -> No)
    | Filter.Selector(dim, Some value) ->
        let equals = stringEquals value
        Some(dim, fun v -> match v with Value.Null -> Unknown | v -> ofBool (equals v))
    | Filter.Equality(_, _, Value.Array _) -> None
    | Filter.Equality(column, matchType, matchValue) ->
        let test =
            match matchValue with
            | Value.String s when matchType = "STRING" -> stringEquals s
            | m ->
                let target = numberOf m
                let text = Value.toStringOrNull m
                fun v ->
                    match v with
                    | Value.String s -> String.Equals(s, text)
                    | v -> target.IsSome && numberOf v = target
        Some(column, fun v -> match v with Value.Null -> Unknown | v -> ofBool (test v))
    | Filter.In(dim, values) ->
        let matchesNull = values |> List.contains None
        let strings = HashSet<string>(values |> List.choose id, StringComparer.Ordinal)
        let numbers = HashSet<decimal>(values |> List.choose (Option.bind parseNumber))
        Some(dim, fun v ->
            match v with
            | Value.Null -> if matchesNull then Yes else Unknown
            | Value.String s -> ofBool (strings.Contains s)
            | v -> ofBool (match numberOf v with Some x -> numbers.Contains x | None -> false))
    | Filter.Bound b -> Some(b.Dimension, boundPredicate b)
    | Filter.Range r -> Some(r.Column, rangePredicate r)
    | Filter.Null column -> Some(column, fun v -> match v with Value.Null -> Yes | _ -> No)
    | Filter.Like(dim, pattern, escape) ->
        match ExprOps.likePredicate pattern (Option.toObj escape) with
        | Ok matches -> Some(dim, onStrings matches)
        | Error _ -> Some(dim, fun _ -> No)
    | Filter.Regex(dim, pattern) ->
        let regex = Rx(pattern, RegexOptions.CultureInvariant)
        Some(dim, onStrings regex.IsMatch)
    | Filter.Search(dim, query) -> Some(dim, onStrings (searchPredicate query))
    | Filter.Interval(dim, intervals) ->
        let ranges = Array.ofList intervals
        Some(dim, fun v ->
            match Value.toLong v with
            | None when (match v with Value.Null -> true | _ -> false) -> Unknown
            | None -> No
            | Some t -> ofBool (ranges |> Array.exists (fun i -> i.Contains t)))
    | Filter.Extracted(inner, fn) ->
        let extract = Extraction.compile fn
        scalarPredicate inner
        |> Option.map (fun (dim, test) ->
            dim, fun v ->
                match extract v with
                | null -> test Value.Null
                | s -> test (Value.String s))
    | _ -> None

/// The truth of a single-column leaf filter for a non-null string, for the filters that
/// decide strings without a cell value (selector, equality, in, like, regex, search): a
/// dictionary is then tested value by value without allocating a cell per value. Agrees
/// with the cell predicate on `Value.String`.
let stringTruth (f: Filter) : (string -> Truth) option =
    let equalTo (target: string) = Some(fun (s: string) -> ofBool (String.Equals(s, target)))
    match f with
    | Filter.Selector(_, Some value) -> equalTo value
    | Filter.Equality(_, _, Value.Array _) -> None
    | Filter.Equality(_, matchType, matchValue) ->
        match matchValue with
        | Value.String target when matchType = "STRING" -> equalTo target
        | m -> equalTo (Value.toStringOrNull m)
    | Filter.In(_, values) ->
        let strings = HashSet<string>(values |> List.choose id, StringComparer.Ordinal)
        Some(fun s -> ofBool (strings.Contains s))
    | Filter.Like(_, pattern, escape) ->
        match ExprOps.likePredicate pattern (Option.toObj escape) with
        | Ok matches -> Some(fun s -> ofBool (matches s))
        | Error _ -> Some(fun _ -> No)
    | Filter.Regex(_, pattern) ->
        let regex = Rx(pattern, RegexOptions.CultureInvariant)
        Some(fun s -> ofBool (regex.IsMatch s))
    | Filter.Search(_, query) ->
        let matches = searchPredicate query
        Some(fun s -> ofBool (matches s))
    | _ -> None

/// Any value of a multi-value cell decides (Kleene OR); an empty one is null.
let private overValues (test: Value -> Truth) (v: Value) : Truth =
    match v with
    | Value.Array [||] -> test Value.Null
    | Value.Array xs ->
        let mutable result = No
        let mutable i = 0
        while result <> Yes && i < xs.Length do
            match test xs.[i] with
            | Yes -> result <- Yes
            | Unknown -> result <- Unknown
            | No -> ()
            i <- i + 1
        result
    | v -> test v

/// For a filter on one column (selector, equality, in, bound, range, null, like, regex,
/// search, interval): the column and the three-valued truth for one of its values. A row
/// of a multi-value column matches when any of its values does; NOT holds where the inner
/// filter is `No` for the row, never where it is `Unknown`.
let singleColumnTruth (f: Filter) : (string * (Value -> Truth)) option =
    scalarPredicate f |> Option.map (fun (column, test) -> column, overValues test)

/// As `singleColumnTruth`, answering whether a value matches.
let singleColumnPredicate (f: Filter) : (string * (Value -> bool)) option =
    singleColumnTruth f |> Option.map (fun (column, truth) -> column, (fun v -> truth v = Yes))

// ---- whole-row evaluation ----------------------------------------------------------------

let private columnStrings (v: Value) : string[] =
    match v with
    | Value.Array [||] -> [| null |]
    | v -> Value.toStrings v

/// Compiles a filter into its three-valued truth over rows.
let rec compileTruth (f: Filter) : Expr.Row -> Truth =
    match scalarPredicate f with
    | Some(column, test) -> fun row -> overValues test (row column)
    | None ->
        match f with
        | Filter.True -> fun _ -> Yes
        | Filter.False -> fun _ -> No
        | Filter.Expression(_, e) ->
            let run = Expr.compile e
            fun row ->
                match run row with
                | Value.Null -> Unknown
                | v -> ofBool (Expr.isTruthy v)
        | Filter.Equality(column, _, (Value.Array expected)) ->
            // An array match value compares the whole row value, element by element.
            let same (a: Value) (b: Value) = a = b || ExprOps.valuesEqual a b
            fun row ->
                match row column with
                | Value.Null -> Unknown
                | Value.Array xs -> ofBool (xs.Length = expected.Length && Array.forall2 same xs expected)
                | x -> ofBool (expected.Length = 1 && same x expected.[0])
        | Filter.ArrayContainsElement(column, element) ->
            fun row ->
                match row column with
                | Value.Null -> Unknown
                | Value.Array xs -> ofBool (xs |> Array.exists (fun x -> x = element || ExprOps.valuesEqual x element))
                | x -> ofBool (x = element || ExprOps.valuesEqual x element)
        | Filter.ColumnComparison dims ->
            // "Is not distinct from": nulls equal each other, and the result is never unknown.
            let columns = Array.ofList dims
            fun row ->
                let first = columnStrings (row columns.[0])
                ofBool (columns |> Array.skip 1 |> Array.forall (fun c ->
                    let other = columnStrings (row c)
                    first |> Array.exists (fun a -> other |> Array.exists (fun b -> String.Equals(a, b)))))
        | Filter.And fields ->
            let parts = fields |> List.map compileTruth |> Array.ofList
            fun row ->
                let mutable result = Yes
                let mutable i = 0
                while result <> No && i < parts.Length do
                    match parts.[i] row with
                    | No -> result <- No
                    | Unknown -> result <- Unknown
                    | Yes -> ()
                    i <- i + 1
                result
        | Filter.Or fields ->
            let parts = fields |> List.map compileTruth |> Array.ofList
            fun row ->
                let mutable result = No
                let mutable i = 0
                while result <> Yes && i < parts.Length do
                    match parts.[i] row with
                    | Yes -> result <- Yes
                    | Unknown -> result <- Unknown
                    | No -> ()
                    i <- i + 1
                result
        | Filter.Not inner ->
            let part = compileTruth inner
            fun row -> match part row with Yes -> No | No -> Yes | Unknown -> Unknown
        | _ -> fun _ -> No

/// Compiles a filter into a row predicate (true only when the filter is definitely true).
let compile (f: Filter) : Expr.Row -> bool =
    let truth = compileTruth f
    fun row -> truth row = Yes

/// Whether a row matches. For many rows, `compile` once and reuse the predicate.
let matchesRow (row: Expr.Row) (f: Filter) : bool = compile f row

/// The columns a filter reads, in order of first use.
let requiredColumns (f: Filter) : string list =
    let found = ResizeArray<string>()
    let add c = if not (found.Contains c) then found.Add c
    let rec walk f =
        match scalarPredicate f with
        | Some(column, _) -> add column
        | None ->
            match f with
            | Filter.Expression(_, e) -> Expr.requiredColumns e |> List.iter add
            | Filter.ArrayContainsElement(column, _) | Filter.Equality(column, _, _) -> add column
            | Filter.ColumnComparison dims -> List.iter add dims
            | Filter.And fs | Filter.Or fs -> List.iter walk fs
            | Filter.Not inner -> walk inner
            | _ -> ()
    walk f
    List.ofSeq found

// ---- JSON --------------------------------------------------------------------------------

let private unsupportedExtraction (n: Json.Node) =
    match Json.tryField n "extractionFn" with
    | Some fn -> Json.fail fn "extractionFn is not supported here"
    | None -> ()

/// Wraps a filter in its `extractionFn`, when it has one.
let private withExtraction (n: Json.Node) (f: Filter) : Filter =
    match Json.tryField n "extractionFn" with
    | Some fn -> Filter.Extracted(f, Extraction.parse fn)
    | None -> f

let private matchValueTypes = set [ "STRING"; "LONG"; "DOUBLE"; "FLOAT"; "ARRAY<STRING>"; "ARRAY<LONG>"; "ARRAY<DOUBLE>"; "ARRAY<FLOAT>" ]

let private valueTypeOf (n: Json.Node) (key: string) (allowArrays: bool) : string =
    let typeNode = Json.field n key
    let t = (Json.asString typeNode).Trim().ToUpperInvariant()
    if not (matchValueTypes.Contains t) || (not allowArrays && t.StartsWith "ARRAY") then
        Json.fail typeNode (sprintf "Unsupported %s [%s]" key (Json.asString typeNode))
    t

/// A JSON value read as the given match value type.
let rec private typedValue (valueType: string) (n: Json.Node) : Value =
    if Json.isNull n then Value.Null
    else
        match valueType with
        | "LONG" -> Value.Long(Json.asInt64 n)
        | "DOUBLE" | "FLOAT" -> Value.Double(Json.asFloat n)
        | "STRING" -> Value.String(Json.asString n)
        | t when t.StartsWith "ARRAY<" ->
            let element = t.Substring(6, t.Length - 7)
            if Json.isArray n then Value.Array(Json.elements n |> List.map (typedValue element) |> Array.ofList)
            else Value.Array [| typedValue element n |]
        | _ -> Value.String(Json.asString n)

let private orderingOf (n: Json.Node) : StringOrdering =
    match Json.tryField n "ordering" with
    | Some o ->
        let nameNode = if Json.isObject o then Json.field o "type" else o
        let name = Json.asString nameNode
        match tryParse name with
        | Some ordering -> ordering
        | None -> Json.fail nameNode (sprintf "Unknown ordering [%s]" name)
    | None -> if Json.boolOr n "alphaNumeric" false then StringOrdering.Alphanumeric else StringOrdering.Lexicographic

let private searchQueryOf (n: Json.Node) : SearchQuery = Extraction.parseSearchQuery (Json.field n "query")

/// A column comparison entry: a column name or a default dimension spec.
let private comparedColumn (n: Json.Node) : string =
    if Json.isObject n then
        unsupportedExtraction n
        match Json.optString n "type" with
        | Some "extraction" -> Json.fail n "extractionFn is not supported yet"
        | _ -> Json.requiredString n "dimension"
    else Json.asString n

/// Parses a filter spec, raising Json.JsonError with the path of the offending field.
let rec parse (node: Json.Node) : Filter =
    let n = Json.expectObject node
    let typeNode = Json.field n "type"
    let dimension () = Json.requiredString n "dimension"
    let column () = Json.requiredString n "column"
    match Json.asString typeNode with
    | "selector" -> withExtraction n (Filter.Selector(dimension (), Json.optString n "value"))
    | "equals" | "equality" ->
        let col = column ()
        let valueType = valueTypeOf n "matchValueType" true
        let valueNode = Json.field n "matchValue"
        Filter.Equality(col, valueType, typedValue valueType valueNode)
    | "in" ->
        let dim = dimension ()
        let values = Json.elements (Json.field n "values") |> List.map (fun v -> if Json.isNull v then None else Some(Json.asString v))
        withExtraction n (Filter.In(dim, values))
    | "bound" ->
        let dim = dimension ()
        let lower, upper = Json.optString n "lower", Json.optString n "upper"
        if lower.IsNone && upper.IsNone then Json.fail n "lower and upper can not be null at the same time"
        Filter.Bound
            { Dimension = dim; Lower = lower; Upper = upper
              LowerStrict = Json.boolOr n "lowerStrict" false; UpperStrict = Json.boolOr n "upperStrict" false
              Ordering = orderingOf n }
        |> withExtraction n
    | "range" ->
        let col = column ()
        let valueType = valueTypeOf n "matchValueType" false
        let side key = match Json.tryField n key with Some v -> typedValue valueType v | None -> Value.Null
        let lower, upper = side "lower", side "upper"
        if lower = Value.Null && upper = Value.Null then
            Json.fail n (sprintf "Invalid range filter on column [%s], lower and upper cannot be null at the same time" col)
        Filter.Range
            { Column = col; MatchValueType = valueType; Lower = lower; Upper = upper
              LowerOpen = Json.boolOr n "lowerOpen" false; UpperOpen = Json.boolOr n "upperOpen" false }
    | "null" -> Filter.Null(column ())
    | "like" ->
        let dim = dimension ()
        let patternNode = Json.field n "pattern"
        let escape = Json.optString n "escape"
        match ExprOps.likeRegex (Json.asString patternNode) (Option.toObj escape) with
        | Error e -> Json.fail (Json.field n "escape") e
        | Ok _ -> withExtraction n (Filter.Like(dim, Json.asString patternNode, escape))
    | "regex" ->
        let dim = dimension ()
        let patternNode = Json.field n "pattern"
        let pattern = Json.asString patternNode
        try Rx(pattern) |> ignore with :? ArgumentException -> Json.fail patternNode (sprintf "Invalid regular expression [%s]" pattern)
        withExtraction n (Filter.Regex(dim, pattern))
    | "search" ->
        let dim = dimension ()
        withExtraction n (Filter.Search(dim, searchQueryOf n))
    | "interval" ->
        let dim = dimension ()
        let intervalsNode = Json.field n "intervals"
        let intervals =
            Json.elements intervalsNode
            |> List.map (fun i ->
                let text = Json.asString i
                match Time.tryParseInterval text with
                | Some interval -> interval
                | None -> Json.fail i (sprintf "Invalid interval [%s]" text))
        if intervals.IsEmpty then Json.fail intervalsNode "must specify at least one interval"
        withExtraction n (Filter.Interval(dim, intervals))
    | "arrayContainsElement" ->
        let col = column ()
        let valueType = valueTypeOf n "elementMatchValueType" true
        let element = match Json.tryField n "elementMatchValue" with Some v -> typedValue valueType v | None -> Value.Null
        Filter.ArrayContainsElement(col, element)
    | "columnComparison" ->
        let dimsNode = Json.field n "dimensions"
        let dims = Json.elements dimsNode |> List.map comparedColumn
        if dims.Length < 2 then Json.fail dimsNode "dimensions must have a least 2 dimensions"
        Filter.ColumnComparison dims
    | "expression" ->
        let exprNode = Json.field n "expression"
        let text = Json.asString exprNode
        match Expr.parse text with
        | Ok e -> Filter.Expression(text, e)
        | Error problem -> Json.fail exprNode problem
    | "true" -> Filter.True
    | "false" -> Filter.False
    | "and" | "or" as op ->
        let fieldsNode = Json.field n "fields"
        let fields = Json.elements fieldsNode |> List.map parse
        if fields.IsEmpty then Json.fail fieldsNode (sprintf "%s operator requires at least one field" (op.ToUpperInvariant()))
        if op = "and" then Filter.And fields else Filter.Or fields
    | "not" -> Filter.Not(parse (Json.field n "field"))
    | "extraction" ->
        // Druid's deprecated extraction filter: a selector over extracted values.
        Filter.Extracted(Filter.Selector(dimension (), Json.optString n "value"), Extraction.parse (Json.field n "extractionFn"))
    | "javascript" -> Json.fail typeNode "JavaScript filters are not supported"
    | t -> Json.fail typeNode (sprintf "Unknown filter type [%s]" t)

/// The function-definition builders and the built-in general and string functions of
/// Druid's expression language, each validated and specialised once when the expression is
/// compiled (the full table is assembled in ExprTimeAndArrays).
module FunctionalDruid.Core.ExprFunctions

open System
open System.Globalization
open System.Text
open System.Text.RegularExpressions
open NodaTime
open FunctionalDruid.Core
open FunctionalDruid.Core.ExprSyntax
open FunctionalDruid.Core.ExprOps

/// A column lookup for one row: a missing column is Value.Null.
type Row = string -> Value

/// An expression ready to evaluate against rows.
type Compiled = Row -> Value

/// A function's arguments rejected while compiling, worded as Druid words it:
/// `Function[timestamp_extract] ...`.
exception FunctionError of string

type Arity =
    | Exactly of int
    | Between of int * int
    | AtLeast of int

type FunctionDef =
    { Arity: Arity
      /// Apply functions take a lambda as their first argument.
      TakesLambda: bool
      Build: (Expr -> Compiled) -> Expr[] -> Compiled }

let fail (name: string) (problem: string) : 'a = raise (FunctionError(sprintf "Function[%s] %s" name problem))

let arityProblem (name: string) (arity: Arity) (count: int) : string option =
    match arity with
    | Exactly n when n <> count ->
        Some(if n = 0 then "does not accept arguments" elif n = 1 then "requires 1 argument" else sprintf "requires %d arguments" n)
    | Between(a, b) when count < a || count > b -> Some(sprintf "requires %d to %d arguments" a b)
    | AtLeast n when count < n -> Some(if n = 1 then "requires at least 1 argument" else sprintf "requires at least %d arguments" n)
    | _ -> None
    |> Option.map (sprintf "Function[%s] %s" name)

// ---- builders ----------------------------------------------------------------------------

let scalarFn arity (f: Value[] -> Value) =
    { Arity = arity; TakesLambda = false
      Build = fun compile args ->
        match Array.map compile args with
        | [| a |] -> fun row -> lift1 (fun x -> f [| x |]) (a row)
        | [| a; b |] -> fun row -> lift2 (fun x y -> f [| x; y |]) (a row) (b row)
        | cs -> fun row -> liftN f (cs |> Array.map (fun c -> c row)) }

let fn1 (f: Value -> Value) = scalarFn (Exactly 1) (fun a -> f a.[0])
let fn2 (f: Value -> Value -> Value) = scalarFn (Exactly 2) (fun a -> f a.[0] a.[1])

/// Arguments passed unevaluated, for functions that choose what to evaluate.
let lazyFn arity (build: Compiled[] -> Compiled) =
    { Arity = arity; TakesLambda = false; Build = fun compile args -> build (Array.map compile args) }

/// A function some of whose arguments must be literals, specialised at compile time.
let specialFn arity (build: (Expr -> Compiled) -> Expr[] -> Compiled) = { Arity = arity; TakesLambda = false; Build = build }

let private str (v: Value) = asString v
let private withString (f: string -> Value) (v: Value) = match str v with null -> Value.Null | s -> f s

/// The literal string an argument must be (null for the `null` literal).
let literalString (name: string) (what: string) (e: Expr) : string =
    match e with
    | Expr.Literal Value.Null -> null
    | Expr.Literal v -> asString v
    | _ -> fail name (sprintf "%s argument must be a literal" what)

let zoneArg (name: string) (args: Expr[]) (index: int) : DateTimeZone =
    if args.Length <= index then DateTimeZone.Utc
    else
        match literalString name "time zone" args.[index] with
        | null -> DateTimeZone.Utc
        | text ->
            match Time.tryParseZone text with
            | Some z -> z
            | None -> fail name (sprintf "invalid time zone [%s]" text)

/// A regular expression that must be a string literal; Druid reads a null one as "".
let private regexArg (name: string) (e: Expr) : Regex =
    let text =
        match e with
        | Expr.Literal Value.Null -> ""
        | Expr.Literal(Value.String t) -> t
        | _ -> fail name "pattern must be a string literal"
    match text with
    | p ->
        try Regex(p, RegexOptions.CultureInvariant)
        with :? ArgumentException as ex -> fail name (sprintf "invalid regular expression [%s]: %s" p ex.Message)

// ---- general -----------------------------------------------------------------------------

let private castTo (name: string) (typeName: string) : Value -> Value =
    let toLong v = match Value.toLong v with Some l -> Value.Long l | None -> Value.Null
    let toDouble v = match Value.toDouble v with Some d -> Value.Double d | None -> Value.Null
    let toStr v = match Value.toStringOrNull v with null -> Value.Null | s -> Value.String s
    let element f v =
        match v with
        | Value.Null -> Value.Null
        | Value.Array xs -> Value.Array(Array.map (fun x -> match x with Value.Null -> Value.Null | x -> f x) xs)
        | x -> Value.Array [| f x |]
    match (if isNull typeName then "" else typeName.Trim().ToUpperInvariant()) with
    | "LONG" -> fun v -> toLong (scalar v)
    | "DOUBLE" | "FLOAT" -> fun v -> toDouble (scalar v)
    | "STRING" -> fun v -> toStr (scalar v)
    | "ARRAY<LONG>" -> element toLong
    | "ARRAY<DOUBLE>" | "ARRAY<FLOAT>" -> element toDouble
    | "ARRAY<STRING>" -> element toStr
    | _ -> fail name (sprintf "invalid type [%s]" typeName)

let private general : (string * FunctionDef) list =
    [ "if", lazyFn (Exactly 3) (fun a -> fun row -> if truthy (a.[0] row) then a.[1] row else a.[2] row)
      "nvl", lazyFn (Exactly 2) (fun a -> fun row -> match a.[0] row with Value.Null -> a.[1] row | v -> v)
      "coalesce", lazyFn (AtLeast 1) (fun a ->
          fun row ->
              let mutable result = Value.Null
              let mutable i = 0
              while i < a.Length && (match result with Value.Null -> true | _ -> false) do
                  result <- a.[i] row
                  i <- i + 1
              result)
      "isnull", lazyFn (Exactly 1) (fun a -> fun row -> ofBool (match a.[0] row with Value.Null -> true | _ -> false))
      "notnull", lazyFn (Exactly 1) (fun a -> fun row -> ofBool (match a.[0] row with Value.Null -> false | _ -> true))
      "case_searched", lazyFn (AtLeast 2) (fun a ->
          fun row ->
              let mutable i = 0
              let mutable result = None
              while result.IsNone && i + 1 < a.Length do
                  if truthy (a.[i] row) then result <- Some(a.[i + 1] row)
                  i <- i + 2
              match result with
              | Some v -> v
              | None -> if a.Length % 2 = 1 then a.[a.Length - 1] row else Value.Null)
      "case_simple", lazyFn (AtLeast 3) (fun a ->
          fun row ->
              let subject = a.[0] row
              let mutable i = 1
              let mutable result = None
              while result.IsNone && i + 1 < a.Length do
                  if valuesEqual subject (a.[i] row) then result <- Some(a.[i + 1] row)
                  i <- i + 2
              match result with
              | Some v -> v
              | None -> if a.Length % 2 = 0 then a.[a.Length - 1] row else Value.Null)
      "cast", specialFn (Exactly 2) (fun compile args ->
          let convert = castTo "cast" (literalString "cast" "type" args.[1])
          let value = compile args.[0]
          fun row -> convert (value row))
      "greatest", scalarFn (AtLeast 0) (fun a -> ExprOps.reduce true a)
      "least", scalarFn (AtLeast 0) (fun a -> ExprOps.reduce false a)
      // IS [NOT] TRUE / FALSE: never null.
      "istrue", fn1 (fun v -> match v with Value.Null -> Value.Long 0L | v -> ofBool (truthy v))
      "isfalse", fn1 (fun v -> match v with Value.Null -> Value.Long 0L | v -> ofBool (not (truthy v)))
      "nottrue", fn1 (fun v -> match v with Value.Null -> Value.Long 1L | v -> ofBool (not (truthy v)))
      "notfalse", fn1 (fun v -> match v with Value.Null -> Value.Long 1L | v -> ofBool (truthy v))
      // Query-time lookups and bloom filters live in extensions this server does not have.
      "lookup", specialFn (Between(2, 3)) (fun _ _ -> fail "lookup" "is not supported: query-time lookups are not available")
      "bloom_filter_test", specialFn (Exactly 2) (fun _ _ -> fail "bloom_filter_test" "is not supported: the bloom filter extension is not available") ]

// ---- strings -----------------------------------------------------------------------------

/// Longer results (repeat, lpad) are null rather than a memory exhaustion.
let private maxResultLength = 10_000_000L

let private substringOf (s: string) (index: int64) (length: int64) : Value =
    if index < 0L || index >= int64 s.Length then Value.Null
    elif length < 0L then Value.String(s.Substring(int index))
    else Value.String(s.Substring(int index, int (min (index + length) (int64 s.Length) - index)))

/// Druid's lpad/rpad: a length of 0 is null (SQL-compatible empty string), a negative one
/// the empty string; `expr` is cut to `length` from its start.
let private pad (left: bool) (s: Value) (length: Value) (chars: Value) : Value =
    match str s, asLong length, str chars with
    | null, _, _ | _, None, _ | _, _, null -> Value.Null
    | _, Some 0L, _ -> Value.Null
    | s, Some len, chars ->
        if len > maxResultLength then Value.Null else
        let len = int (max 0L len)
        if len <= s.Length then Value.String(s.Substring(0, len))
        elif chars = "" then Value.String s
        else
            let sb = StringBuilder(len)
            let fill = len - s.Length
            let padding = StringBuilder(fill)
            while padding.Length < fill do
                padding.Append(chars, 0, min chars.Length (fill - padding.Length)) |> ignore
            if left then sb.Append(padding).Append(s) |> ignore else sb.Append(s).Append(padding) |> ignore
            Value.String(sb.ToString())

/// Druid's trim: null or empty `chars` trims nothing, and an untrimmed value comes back
/// as it was (a number stays a number).
let private trimWith (mode: int) (args: Value[]) : Value =
    match args.[0] with
    | Value.Null -> Value.Null
    | original ->
        let chars = if args.Length > 1 then str args.[1] else " "
        match chars, str original with
        | null, _ | "", _ -> original
        | chars, s ->
            let set = chars.ToCharArray()
            let trimmed = match mode with 0 -> s.Trim(set) | 1 -> s.TrimStart(set) | _ -> s.TrimEnd(set)
            if trimmed.Length = s.Length then original else Value.String trimmed

let private reverseText (s: string) =
    let sb = StringBuilder(s.Length)
    let mutable i = s.Length - 1
    while i >= 0 do
        // Keep surrogate pairs in order, as Java's StringBuilder.reverse does.
        if i > 0 && Char.IsLowSurrogate s.[i] && Char.IsHighSurrogate s.[i - 1] then
            sb.Append(s.[i - 1]).Append(s.[i]) |> ignore
            i <- i - 2
        else
            sb.Append(s.[i]) |> ignore
            i <- i - 1
    sb.ToString()

let private replaceAll (s: string) (target: string) (replacement: string) =
    if target = "" then
        // Java inserts the replacement around every character.
        let sb = StringBuilder(replacement)
        for c in s do sb.Append(c).Append(replacement) |> ignore
        sb.ToString()
    else s.Replace(target, replacement, StringComparison.Ordinal)

/// Java's Long.parseLong(text, radix): no surrounding spaces, an optional sign, digits.
let private parseLongRadix (text: string) (radix: int) : Value =
    let s = if radix = 16 && (text.StartsWith "0x" || text.StartsWith "0X") then text.Substring 2 else text
    if radix < 2 || radix > 36 || s = "" then Value.Null
    else
        let negative = s.[0] = '-'
        let digits = if s.[0] = '-' || s.[0] = '+' then s.Substring 1 else s
        let mutable acc = 0m
        let mutable ok = digits <> ""
        for c in digits do
            let d =
                if Char.IsAsciiDigit c then int c - int '0'
                elif Char.IsAsciiLetter c then int (Char.ToLowerInvariant c) - int 'a' + 10
                else 99
            if d >= radix then ok <- false
            elif ok then acc <- acc * decimal radix + decimal d
            if acc > 9223372036854775808m then ok <- false
        let acc = if negative then -acc else acc
        if ok && acc >= decimal Int64.MinValue && acc <= decimal Int64.MaxValue then Value.Long(int64 acc) else Value.Null

/// Java's toUpperCase also expands the characters without a one-character capital
/// (ß to SS, the Latin ligatures), which .NET leaves alone.
let private javaUpper (s: string) =
    let u = s.ToUpperInvariant()
    if not (u |> Seq.exists (fun c -> c = 'ß' || (c >= '\uFB00' && c <= '\uFB06'))) then u
    else
        u.Replace("ß", "SS").Replace("\uFB00", "FF").Replace("\uFB01", "FI").Replace("\uFB02", "FL")
         .Replace("\uFB03", "FFI").Replace("\uFB04", "FFL").Replace("\uFB05", "ST").Replace("\uFB06", "ST")

let private typeName (v: Value) =
    match v with
    | Value.Long _ -> "LONG"
    | Value.Double _ -> "DOUBLE"
    | Value.Array _ -> "ARRAY<STRING>"
    | _ -> "STRING"

/// Druid's string-and-long functions (left, right, repeat) reject other argument types.
let private stringLongFn (name: string) (f: string -> int64 -> Value) =
    fn2 (fun s n ->
        match s, n with
        | (Value.Long _ | Value.Double _), _ | _, (Value.String _ | Value.Double _) ->
            fail name "needs a STRING as first argument and a LONG as second argument"
        | s, n ->
            match str s, asLong n with
            | s, Some n -> f s n
            | _, None -> Value.Null)

/// Java's String.indexOf(needle, from): a negative start is 0, past the end finds only "".
let private javaIndexOf (haystack: string) (needle: string) (from: int64) : int64 =
    let from = max 0L from
    if from >= int64 haystack.Length then (if needle = "" then int64 haystack.Length else -1L)
    else int64 (haystack.IndexOf(needle, int from, StringComparison.Ordinal))

/// Java's Matcher.replaceAll replacement syntax (`\x` escapes, `$1`, `${name}`) in .NET's.
let private dotnetReplacement (java: string) : string =
    let sb = StringBuilder()
    let mutable i = 0
    while i < java.Length do
        let c = java.[i]
        if c = '\\' && i + 1 < java.Length then
            (if java.[i + 1] = '$' then sb.Append("$$") else sb.Append(java.[i + 1])) |> ignore
            i <- i + 2
        elif c = '$' && i + 1 < java.Length && (Char.IsAsciiDigit java.[i + 1] || java.[i + 1] = '{') then
            sb.Append('$') |> ignore
            i <- i + 1
        elif c = '$' then
            sb.Append("$$") |> ignore
            i <- i + 1
        else
            sb.Append(c) |> ignore
            i <- i + 1
    sb.ToString()

/// contains_string's search text: a string literal, null reading as "".
let private searchLiteral (name: string) (e: Expr) : string =
    match e with
    | Expr.Literal Value.Null -> ""
    | Expr.Literal(Value.String t) -> t
    | _ -> fail name "substring must be a string literal"

/// A regular expression argument evaluated per row: the last one compiled is kept.
let private dynamicRegex () : string -> Regex option =
    let mutable lastText: string = null
    let mutable last: Regex option = None
    fun text ->
        if not (Object.ReferenceEquals(text, lastText) || text = lastText) then
            lastText <- text
            last <- (try Some(Regex(text, RegexOptions.CultureInvariant)) with :? ArgumentException -> None)
        last

let private strings : (string * FunctionDef) list =
    [ "concat", scalarFn (AtLeast 0) (fun a ->
          if a.Length = 0 || a |> Array.exists (fun v -> isNull (str v)) then Value.Null
          else Value.String(String.Concat(a |> Array.map str)))
      "format", scalarFn (AtLeast 1) (fun a -> ExprOps.javaFormat a)
      "upper", fn1 (withString (fun s -> Value.String(javaUpper s)))
      "lower", fn1 (withString (fun s -> Value.String(s.ToLowerInvariant())))
      "strlen", fn1 (withString (fun s -> Value.Long(int64 s.Length)))
      "reverse", fn1 (fun v ->
          match v with
          | Value.Long _ | Value.Double _ -> fail "reverse" (sprintf "needs a STRING argument but got %s instead" (typeName v))
          | v -> withString (fun s -> Value.String(reverseText s)) v)
      "substring", scalarFn (Exactly 3) (fun a ->
          match str a.[0], asLong a.[1], asLong a.[2] with
          | null, _, _ | _, None, _ -> Value.Null
          | s, Some index, length -> substringOf s index (defaultArg length -1L))
      "left", stringLongFn "left" (fun s n ->
          if n < 0L then fail "left" "needs a postive integer as second argument"
          match s with
          | null -> Value.Null
          | s -> Value.String(s.Substring(0, int (min n (int64 s.Length)))))
      "right", stringLongFn "right" (fun s n ->
          if n < 0L then fail "right" "needs a positive integer as the second argument"
          match s with
          | null -> Value.Null
          | s -> let k = int (min n (int64 s.Length)) in Value.String(s.Substring(s.Length - k)))
      "strpos", scalarFn (Between(2, 3)) (fun a ->
          match str a.[0], str a.[1] with
          | null, _ | _, null -> Value.Null
          | h, needle ->
              let from = if a.Length > 2 then defaultArg (asLong a.[2]) 0L else 0L
              Value.Long(javaIndexOf h needle from))
      "replace", scalarFn (Exactly 3) (fun a ->
          match str a.[0], str a.[1], str a.[2] with
          | null, _, _ | _, null, _ | _, _, null -> Value.Null
          | s, target, replacement -> Value.String(replaceAll s target replacement))
      "trim", scalarFn (Between(1, 2)) (trimWith 0)
      "ltrim", scalarFn (Between(1, 2)) (trimWith 1)
      "rtrim", scalarFn (Between(1, 2)) (trimWith 2)
      "lpad", scalarFn (Exactly 3) (fun a -> pad true a.[0] a.[1] a.[2])
      "rpad", scalarFn (Exactly 3) (fun a -> pad false a.[0] a.[1] a.[2])
      // Fewer than one repetition is Druid's SQL-compatible "empty" string: null.
      "repeat", stringLongFn "repeat" (fun s n ->
          match s with
          | null -> Value.Null
          | _ when n < 1L -> Value.Null
          | s when int64 s.Length * n > maxResultLength -> Value.Null
          | s -> Value.String(String.replicate (int n) s))
      "decode_base64_utf8", fn1 (withString (fun s ->
          try Value.String(Encoding.UTF8.GetString(Convert.FromBase64String s))
          with :? FormatException -> fail "decode_base64_utf8" (sprintf "invalid base64 input [%s]" s)))
      "contains_string", specialFn (Exactly 2) (fun compile args ->
          let needle = searchLiteral "contains_string" args.[1]
          let value = compile args.[0]
          fun row -> value row |> lift1 (fun v -> match str v with null -> Value.Long 0L | s -> ofBool (s.Contains(needle, StringComparison.Ordinal))))
      "icontains_string", specialFn (Exactly 2) (fun compile args ->
          let needle = searchLiteral "icontains_string" args.[1]
          let value = compile args.[0]
          fun row -> value row |> lift1 (fun v -> match str v with null -> Value.Long 0L | s -> ofBool (s.Contains(needle, StringComparison.OrdinalIgnoreCase))))
      "like", specialFn (Between(2, 3)) (fun compile args ->
          let pattern = literalString "like" "pattern" args.[1]
          let escape = if args.Length > 2 then literalString "like" "escape" args.[2] else null
          let matches = match likePredicate pattern escape with Ok m -> m | Error e -> fail "like" e
          let value = compile args.[0]
          fun row -> value row |> lift1 (fun v -> match str v with null -> Value.Long 0L | s -> ofBool (matches s)))
      "regexp_like", specialFn (Exactly 2) (fun compile args ->
          let regex = regexArg "regexp_like" args.[1]
          let value = compile args.[0]
          fun row -> value row |> lift1 (fun v -> match str v with null -> Value.Long 0L | s -> ofBool (regex.IsMatch s)))
      "regexp_extract", specialFn (Between(2, 3)) (fun compile args ->
          let regex = regexArg "regexp_extract" args.[1]
          let index =
              if args.Length > 2 then
                  match args.[2] with
                  | Expr.Literal(Value.Long i) -> int i
                  | _ -> fail "regexp_extract" "index argument must be a long literal"
              else 0
          if index < 0 || index > regex.GetGroupNumbers().Length - 1 then fail "regexp_extract" (sprintf "index [%d] is out of range for the pattern" index)
          let value = compile args.[0]
          fun row ->
              value row |> lift1 (fun v ->
                  match str v with
                  | null -> Value.Null
                  | s ->
                      let m = regex.Match s
                      if m.Success && m.Groups.[index].Success then Value.String m.Groups.[index].Value else Value.Null))
      // Literal pattern and replacement are checked once; otherwise both are read per row
      // and a null one makes the result null.
      "regexp_replace", specialFn (Exactly 3) (fun compile args ->
          let value = compile args.[0]
          match args.[1], args.[2] with
          | Expr.Literal _, Expr.Literal _ ->
              let regex =
                  match args.[1] with
                  | Expr.Literal(Value.String _) -> regexArg "regexp_replace" args.[1]
                  | _ -> fail "regexp_replace" "pattern must be a string literal"
              let replacement =
                  match args.[2] with
                  | Expr.Literal Value.Null -> fail "regexp_replace" "index must be a string literal"
                  | Expr.Literal r -> dotnetReplacement (asString r)
                  | _ -> ""
              fun row -> value row |> lift1 (fun v -> match str v with null -> Value.Null | s -> Value.String(regex.Replace(s, replacement)))
          | _ ->
              let pattern, replacement = compile args.[1], compile args.[2]
              let regexOf = dynamicRegex ()
              fun row ->
                  liftN (fun a ->
                      match str a.[0], str a.[1], str a.[2] with
                      | null, _, _ | _, null, _ | _, _, null -> Value.Null
                      | s, p, r ->
                          match regexOf p with
                          | Some regex -> Value.String(regex.Replace(s, dotnetReplacement r))
                          | None -> fail "regexp_replace" (sprintf "invalid regular expression [%s]" p)) [| value row; pattern row; replacement row |])
      "parse_long", scalarFn (Between(1, 2)) (fun a ->
          match str a.[0] with
          | null -> Value.Null
          | s ->
              let radix = if a.Length > 1 then defaultArg (asLong a.[1]) 10L else 10L
              parseLongRadix s (int radix)) ]

/// General and string functions by name (math is in ExprMath, the rest in ExprTimeAndArrays).
let scalarFunctions : (string * FunctionDef) list = general @ strings

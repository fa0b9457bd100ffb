/// The built-in general, string and math functions of Druid's expression language, each
/// validated and specialised once when the expression is compiled (time, array and apply
/// functions are in ExprTimeAndArrays).
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

let private regexArg (name: string) (e: Expr) : Regex =
    match literalString name "pattern" e with
    | null -> fail name "pattern must not be null"
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
      "least", scalarFn (AtLeast 0) (fun a -> ExprOps.reduce false a) ]

// ---- strings -----------------------------------------------------------------------------

/// Longer results (repeat, lpad) are null rather than a memory exhaustion.
let private maxResultLength = 10_000_000L

let private substringOf (s: string) (index: int64) (length: int64) : Value =
    if index < 0L || index >= int64 s.Length then Value.Null
    elif length < 0L then Value.String(s.Substring(int index))
    else Value.String(s.Substring(int index, int (min (index + length) (int64 s.Length) - index)))

let private pad (left: bool) (s: Value) (length: Value) (chars: Value) : Value =
    match str s, asLong length, str chars with
    | null, _, _ | _, None, _ | _, _, null -> Value.Null
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

let private trimWith (mode: int) (args: Value[]) : Value =
    match str args.[0] with
    | null -> Value.Null
    | s ->
        let chars = if args.Length > 1 then str args.[1] else " "
        match chars with
        | null -> Value.Null
        | chars ->
            let set = chars.ToCharArray()
            Value.String(match mode with 0 -> s.Trim(set) | 1 -> s.TrimStart(set) | _ -> s.TrimEnd(set))

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

let private strings : (string * FunctionDef) list =
    [ "concat", scalarFn (AtLeast 0) (fun a ->
          if a |> Array.exists (fun v -> isNull (str v)) then Value.Null
          else Value.String(String.Concat(a |> Array.map str)))
      "format", scalarFn (AtLeast 1) (fun a -> ExprOps.javaFormat a)
      "upper", fn1 (withString (fun s -> Value.String(s.ToUpperInvariant())))
      "lower", fn1 (withString (fun s -> Value.String(s.ToLowerInvariant())))
      "strlen", fn1 (withString (fun s -> Value.Long(int64 s.Length)))
      "reverse", fn1 (withString (fun s -> Value.String(reverseText s)))
      "substring", scalarFn (Exactly 3) (fun a ->
          match str a.[0], asLong a.[1], asLong a.[2] with
          | null, _, _ | _, None, _ -> Value.Null
          | s, Some index, length -> substringOf s index (defaultArg length -1L))
      "left", fn2 (fun s n ->
          match str s, asLong n with
          | null, _ | _, None -> Value.Null
          | _, Some n when n < 0L -> Value.Null
          | s, Some n -> Value.String(s.Substring(0, int (min n (int64 s.Length)))))
      "right", fn2 (fun s n ->
          match str s, asLong n with
          | null, _ | _, None -> Value.Null
          | _, Some n when n < 0L -> Value.Null
          | s, Some n -> let k = int (min n (int64 s.Length)) in Value.String(s.Substring(s.Length - k)))
      "strpos", scalarFn (Between(2, 3)) (fun a ->
          match str a.[0], str a.[1] with
          | null, _ | _, null -> Value.Null
          | h, needle ->
              let from = if a.Length > 2 then defaultArg (asLong a.[2]) 0L else 0L
              if from > int64 h.Length then Value.Long -1L
              else Value.Long(int64 (h.IndexOf(needle, int (max 0L from), StringComparison.Ordinal))))
      "replace", scalarFn (Exactly 3) (fun a ->
          match str a.[0], str a.[1], str a.[2] with
          | null, _, _ | _, null, _ | _, _, null -> Value.Null
          | s, target, replacement -> Value.String(replaceAll s target replacement))
      "trim", scalarFn (Between(1, 2)) (trimWith 0)
      "ltrim", scalarFn (Between(1, 2)) (trimWith 1)
      "rtrim", scalarFn (Between(1, 2)) (trimWith 2)
      "lpad", scalarFn (Exactly 3) (fun a -> pad true a.[0] a.[1] a.[2])
      "rpad", scalarFn (Exactly 3) (fun a -> pad false a.[0] a.[1] a.[2])
      "repeat", fn2 (fun s n ->
          match str s, asLong n with
          | null, _ | _, None -> Value.Null
          | s, Some n when n >= 1L && int64 s.Length * n > maxResultLength -> Value.Null
          | s, Some n -> Value.String(if n < 1L then "" else String.replicate (int n) s))
      "contains_string", specialFn (Exactly 2) (fun compile args ->
          let needle = literalString "contains_string" "search" args.[1]
          let value = compile args.[0]
          fun row -> value row |> lift1 (fun v -> match str v with null -> Value.Long 0L | s -> ofBool (s.Contains(needle, StringComparison.Ordinal))))
      "icontains_string", specialFn (Exactly 2) (fun compile args ->
          let needle = literalString "icontains_string" "search" args.[1]
          let value = compile args.[0]
          fun row -> value row |> lift1 (fun v -> match str v with null -> Value.Long 0L | s -> ofBool (s.Contains(needle, StringComparison.OrdinalIgnoreCase))))
      "like", specialFn (Between(2, 3)) (fun compile args ->
          let pattern = literalString "like" "pattern" args.[1]
          let escape = if args.Length > 2 then literalString "like" "escape" args.[2] else null
          let regex = match likeRegex pattern escape with Ok r -> r | Error e -> fail "like" e
          let value = compile args.[0]
          fun row -> value row |> lift1 (fun v -> match str v with null -> Value.Long 0L | s -> ofBool (regex.IsMatch s)))
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
      "regexp_replace", specialFn (Exactly 3) (fun compile args ->
          let regex = regexArg "regexp_replace" args.[1]
          let replacement = literalString "regexp_replace" "replacement" args.[2]
          let value = compile args.[0]
          fun row ->
              value row |> lift1 (fun v ->
                  match str v, replacement with
                  | null, _ | _, null -> Value.Null
                  | s, r -> Value.String(regex.Replace(s, r))))
      "parse_long", scalarFn (Between(1, 2)) (fun a ->
          match str a.[0] with
          | null -> Value.Null
          | s ->
              let radix = if a.Length > 1 then defaultArg (asLong a.[1]) 10L else 10L
              parseLongRadix (s.Trim()) (int radix)) ]

// ---- math --------------------------------------------------------------------------------

let private doubleFn (f: float -> float) = fn1 (fun v -> match asDouble v with Some d -> Value.Double(f d) | None -> Value.Null)

let private doubleFn2 (f: float -> float -> float) =
    fn2 (fun a b -> match asDouble a, asDouble b with Some x, Some y -> Value.Double(f x y) | _ -> Value.Null)

/// Java's BigDecimal.valueOf(d).setScale(scale, HALF_UP): rounds the shortest decimal form.
let private roundDouble (d: float) (scale: int) : float =
    if Double.IsNaN d then 0.0
    elif Double.IsInfinity d then (if d > 0.0 then Double.MaxValue else -Double.MaxValue)
    else
        match Decimal.TryParse(d.ToString("R", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, m when scale >= 0 -> float (Math.Round(m, min scale 28, MidpointRounding.AwayFromZero))
        | true, m ->
            let factor = pown 10m (min -scale 28)
            try float (Math.Round(m / factor, MidpointRounding.AwayFromZero) * factor)
            with :? OverflowException -> d
        | _ -> d

let private roundLong (l: int64) (scale: int) : int64 =
    if scale >= 0 then l
    else
        let factor = pown 10m (min -scale 19)
        let r = Math.Round(decimal l / factor, MidpointRounding.AwayFromZero) * factor
        if r > decimal Int64.MaxValue || r < decimal Int64.MinValue then l else int64 r

let private math : (string * FunctionDef) list =
    [ "abs", fn1 (fun v ->
          match scalar v with
          | Value.Long l -> Value.Long(abs l)
          | v -> match Value.toDouble v with Some d -> Value.Double(abs d) | None -> Value.Null)
      "ceil", doubleFn Math.Ceiling
      "floor", doubleFn Math.Floor
      "rint", doubleFn (fun d -> Math.Round(d, MidpointRounding.ToEven))
      "signum", doubleFn (fun d -> if Double.IsNaN d then nan else float (sign d))
      "sqrt", doubleFn Math.Sqrt
      "cbrt", doubleFn Math.Cbrt
      "exp", doubleFn Math.Exp
      "expm1", doubleFn (fun d -> Math.Exp d - 1.0)
      "log", doubleFn Math.Log
      "log10", doubleFn Math.Log10
      "log1p", doubleFn (fun d -> Math.Log(1.0 + d))
      "sin", doubleFn Math.Sin
      "cos", doubleFn Math.Cos
      "tan", doubleFn Math.Tan
      "cot", doubleFn (fun d -> 1.0 / Math.Tan d)
      "asin", doubleFn Math.Asin
      "acos", doubleFn Math.Acos
      "atan", doubleFn Math.Atan
      "sinh", doubleFn Math.Sinh
      "cosh", doubleFn Math.Cosh
      "tanh", doubleFn Math.Tanh
      "todegrees", doubleFn (fun r -> r * 180.0 / Math.PI)
      "toradians", doubleFn (fun d -> d / 180.0 * Math.PI)
      "pow", doubleFn2 (fun x y -> Math.Pow(x, y))
      "atan2", doubleFn2 (fun y x -> Math.Atan2(y, x))
      "hypot", doubleFn2 (fun x y -> Math.Sqrt(x * x + y * y))
      "copysign", doubleFn2 (fun x y -> Math.CopySign(x, y))
      "remainder", doubleFn2 (fun x y -> Math.IEEERemainder(x, y))
      "pi", lazyFn (Exactly 0) (fun _ -> fun _ -> Value.Double Math.PI)
      "max", fn2 (fun a b ->
          match scalar a, scalar b with
          | Value.Long x, Value.Long y -> Value.Long(max x y)
          | a, b -> match Value.toDouble a, Value.toDouble b with Some x, Some y -> Value.Double(Math.Max(x, y)) | _ -> Value.Null)
      "min", fn2 (fun a b ->
          match scalar a, scalar b with
          | Value.Long x, Value.Long y -> Value.Long(min x y)
          | a, b -> match Value.toDouble a, Value.toDouble b with Some x, Some y -> Value.Double(Math.Min(x, y)) | _ -> Value.Null)
      "div", fn2 (fun a b ->
          match asLong a, asLong b with
          | Some _, Some 0L -> Value.Null
          | Some x, Some -1L -> Value.Long(-x)
          | Some x, Some y -> Value.Long(x / y)
          | _ -> Value.Null)
      "safe_divide", fn2 (fun a b ->
          match scalar a, scalar b with
          | Value.Long _, Value.Long 0L -> Value.Null
          | Value.Long x, Value.Long y -> if y = -1L then Value.Long(-x) else Value.Long(x / y)
          | a, b ->
              match Value.toDouble a, Value.toDouble b with
              | Some _, Some 0.0 -> Value.Null
              | Some x, Some y -> Value.Double(x / y)
              | _ -> Value.Null)
      "round", scalarFn (Between(1, 2)) (fun a ->
          let scale = if a.Length > 1 then int (defaultArg (asLong a.[1]) 0L) else 0
          match scalar a.[0] with
          | Value.Long l -> Value.Long(roundLong l scale)
          | v -> match Value.toDouble v with Some d -> Value.Double(roundDouble d scale) | None -> Value.Null) ]

/// General, string and math functions by name.
let scalarFunctions : (string * FunctionDef) list = general @ strings @ math

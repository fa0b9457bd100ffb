/// Time, array and apply (lambda) functions of Druid's expression language, and the
/// complete function table.
module FunctionalDruid.Core.ExprTimeAndArrays

open System
open System.Text.RegularExpressions
open NodaTime
open NodaTime.Calendars
open FunctionalDruid.Core
open FunctionalDruid.Core.ExprSyntax
open FunctionalDruid.Core.ExprOps
open FunctionalDruid.Core.ExprFunctions

// ---- time --------------------------------------------------------------------------------

let private periodArg (name: string) (e: Expr) : Time.Period =
    match literalString name "period" e with
    | null -> fail name "period must not be null"
    | text ->
        match Time.tryParsePeriod text with
        | Some p -> p
        | None -> fail name (sprintf "invalid period [%s]" text)

/// The origin argument: millis, or an ISO timestamp string.
let private originArg (name: string) (args: Expr[]) (index: int) : int64 option =
    if args.Length <= index then None
    else
        match args.[index] with
        | Expr.Literal Value.Null -> None
        | Expr.Literal(Value.Long l) -> Some l
        | Expr.Literal(Value.String s) ->
            match Time.tryParseInstant s with
            | Some t -> Some t
            | None -> fail name (sprintf "invalid origin [%s]" s)
        | _ -> fail name "origin argument must be a literal"

/// Calendar arithmetic beyond the years NodaTime represents gives null, not an exception.
let private guarded (f: unit -> Value) : Value =
    try f ()
    with
    | :? ArgumentOutOfRangeException
    | :? OverflowException -> Value.Null

let private timeFn (build: (Expr -> Compiled) -> Expr[] -> (int64 -> Value)) arity =
    specialFn arity (fun compile args ->
        let f = build compile args
        let value = compile args.[0]
        fun row -> value row |> lift1 (fun v -> match Value.toLong v with Some t -> guarded (fun () -> f t) | None -> Value.Null))

let private inRange (t: int64) =
    t >= Instant.MinValue.ToUnixTimeMilliseconds() && t <= Instant.MaxValue.ToUnixTimeMilliseconds()

let private extract (unit: string) : DateTimeZone -> int64 -> Value =
    let local (zone: DateTimeZone) (t: int64) = Instant.FromUnixTimeMilliseconds(t).InZone(zone).LocalDateTime
    let field (f: LocalDateTime -> int64) = fun zone t -> if inRange t then Value.Long(f (local zone t)) else Value.Null
    match unit with
    | "EPOCH" -> fun _ t -> Value.Long(t / 1000L)
    | "MILLISECOND" -> field (fun l -> int64 l.Millisecond)
    | "SECOND" -> field (fun l -> int64 l.Second)
    | "MINUTE" -> field (fun l -> int64 l.Minute)
    | "HOUR" -> field (fun l -> int64 l.Hour)
    | "DAY" -> field (fun l -> int64 l.Day)
    | "DOW" | "ISODOW" -> field (fun l -> int64 (int l.DayOfWeek))
    | "DOY" -> field (fun l -> int64 l.DayOfYear)
    | "WEEK" -> field (fun l -> int64 (WeekYearRules.Iso.GetWeekOfWeekYear l.Date))
    | "MONTH" -> field (fun l -> int64 l.Month)
    | "QUARTER" -> field (fun l -> int64 ((l.Month - 1) / 3 + 1))
    | "YEAR" | "ISOYEAR" -> field (fun l -> int64 l.Year)
    | "DECADE" -> field (fun l -> int64 (l.Year / 10))
    | "CENTURY" -> fun zone t -> if inRange t then Value.Double(ceil (float (local zone t).Year / 100.0)) else Value.Null
    | "MILLENNIUM" -> fun zone t -> if inRange t then Value.Double(ceil (float (local zone t).Year / 1000.0)) else Value.Null
    | _ -> fun _ _ -> Value.Null

let private knownUnits =
    set [ "EPOCH"; "MILLISECOND"; "SECOND"; "MINUTE"; "HOUR"; "DAY"; "DOW"; "ISODOW"; "DOY"; "WEEK"; "MONTH"
          "QUARTER"; "YEAR"; "ISOYEAR"; "DECADE"; "CENTURY"; "MILLENNIUM" ]

let private jodaArg (name: string) (args: Expr[]) (index: int) : JodaFormat.Pattern option =
    if args.Length <= index then None
    else
        match literalString name "pattern" args.[index] with
        | null -> None
        | text ->
            match JodaFormat.compile text with
            | Ok p -> Some p
            | Error e -> fail name (sprintf "invalid pattern [%s]: %s" text e)

let private parseTimestamp (name: string) (args: Expr[]) : string -> int64 option =
    let zone = zoneArg name args 2
    match jodaArg name args 1 with
    | Some p -> fun s -> JodaFormat.parseWith p zone s
    | None -> fun s -> Time.tryParseInstantIn zone s

let private timestampOf (name: string) (divisor: int64) =
    specialFn (Between(1, 2)) (fun compile args ->
        let parse = parseTimestamp name args
        let value = compile args.[0]
        fun row ->
            value row |> lift1 (fun v ->
                match v with
                | Value.Long l -> Value.Long(l / divisor)
                | Value.String s -> match parse s with Some t -> Value.Long(t / divisor) | None -> Value.Null
                | _ -> Value.Null))

let private time : (string * FunctionDef) list =
    [ "timestamp_floor", timeFn (fun _ args ->
          let g = Time.Granularity.Period(periodArg "timestamp_floor" args.[1], zoneArg "timestamp_floor" args 3, originArg "timestamp_floor" args 2, None)
          fun t -> Value.Long(Time.bucketStart g t)) (Between(2, 4))
      "timestamp_ceil", timeFn (fun _ args ->
          let g = Time.Granularity.Period(periodArg "timestamp_ceil" args.[1], zoneArg "timestamp_ceil" args 3, originArg "timestamp_ceil" args 2, None)
          fun t ->
              let start = Time.bucketStart g t
              Value.Long(if start = t then t else Time.nextBucket g start)) (Between(2, 4))
      "timestamp_shift", specialFn (Between(3, 4)) (fun compile args ->
          let period = periodArg "timestamp_shift" args.[1]
          let zone = zoneArg "timestamp_shift" args 3
          let value = compile args.[0]
          let step = compile args.[2]
          fun row ->
              lift2 (fun v s ->
                  match Value.toLong v, Value.toLong s with
                  | Some t, Some k when abs k <= 1_000_000L -> guarded (fun () -> Value.Long(Time.addPeriod zone period (int k) t))
                  | _ -> Value.Null) (value row) (step row))
      "timestamp_extract", timeFn (fun _ args ->
          let unit = (literalString "timestamp_extract" "unit" args.[1] |> Option.ofObj |> Option.defaultValue "").ToUpperInvariant()
          if not (knownUnits.Contains unit) then fail "timestamp_extract" (sprintf "invalid unit [%s]" unit)
          let f = extract unit
          let zone = zoneArg "timestamp_extract" args 2
          fun t -> f zone t) (Between(2, 3))
      "timestamp_parse", specialFn (Between(1, 3)) (fun compile args ->
          let parse = parseTimestamp "timestamp_parse" args
          let value = compile args.[0]
          fun row ->
              value row |> lift1 (fun v ->
                  match Value.toStringOrNull v with
                  | null -> Value.Null
                  | s -> match parse s with Some t -> Value.Long t | None -> Value.Null))
      "timestamp_format", timeFn (fun _ args ->
          let zone = zoneArg "timestamp_format" args 2
          match jodaArg "timestamp_format" args 1 with
          | Some p -> fun t -> match JodaFormat.formatWith p zone t with null -> Value.Null | s -> Value.String s
          | None -> fun t -> Value.String(Time.formatInZone zone t)) (Between(1, 3))
      "timestamp", timestampOf "timestamp" 1L
      "unix_timestamp", timestampOf "unix_timestamp" 1000L ]

// ---- arrays ------------------------------------------------------------------------------

/// An argument seen as an array: scalars are single-element arrays, null stays null.
let private asArray (v: Value) : Value[] option =
    match v with
    | Value.Null -> None
    | Value.Array xs -> Some xs
    | x -> Some [| x |]

let private arrayFn arity (f: Value[] -> Value) = lazyFn arity (fun a -> fun row -> f (a |> Array.map (fun c -> c row)))

let private contains (xs: Value[]) (x: Value) =
    match x with
    | Value.Null -> xs |> Array.exists (function Value.Null -> true | _ -> false)
    | x -> xs |> Array.exists (fun y -> valuesEqual x y)

let private elementAt (arr: Value) (index: Value) (offset: int64) =
    match asArray arr, asLong index with
    | Some xs, Some i when i - offset >= 0L && i - offset < int64 xs.Length -> xs.[int (i - offset)]
    | _ -> Value.Null

let private indexOf (arr: Value) (x: Value) (offset: int64) =
    match asArray arr with
    | Some xs ->
        match Array.tryFindIndex (fun y -> valuesEqual x y) xs with
        | Some i -> Value.Long(int64 i + offset)
        | None -> Value.Null
    | None -> Value.Null

/// Java's String.split: a regex split that drops trailing empty strings.
let private javaSplit (s: string) (regex: string) : Value[] =
    let parts = Regex.Split(s, regex)
    if parts.Length = 1 then [| Value.String s |]
    else
        let mutable n = parts.Length
        while n > 0 && parts.[n - 1] = "" do n <- n - 1
        let start = if parts.Length > 0 && parts.[0] = "" && Regex.Match(s, regex).Index = 0 && Regex.Match(s, regex).Length = 0 then 1 else 0
        parts.[start .. n - 1] |> Array.map Value.String

let private arrays : (string * FunctionDef) list =
    let construct =
        arrayFn (AtLeast 0) (fun vs ->
            let vs = vs |> Array.map scalar
            match vs |> Array.tryFind (function Value.Null -> false | _ -> true) with
            | Some(Value.Long _) when vs |> Array.exists (function Value.Double _ -> true | _ -> false) ->
                Value.Array(vs |> Array.map (function Value.Null -> Value.Null | v -> Value.Double(defaultArg (Value.toDouble v) nan)))
            | Some(Value.String _) -> Value.Array(vs |> Array.map (function Value.Null -> Value.Null | v -> Value.String(Value.toStringOrNull v)))
            | _ -> Value.Array vs)
    [ "array", construct
      "array_length", arrayFn (Exactly 1) (fun a -> match asArray a.[0] with Some xs -> Value.Long(int64 xs.Length) | None -> Value.Null)
      "array_offset", arrayFn (Exactly 2) (fun a -> elementAt a.[0] a.[1] 0L)
      "array_ordinal", arrayFn (Exactly 2) (fun a -> elementAt a.[0] a.[1] 1L)
      "array_contains", arrayFn (Exactly 2) (fun a ->
          match asArray a.[0], a.[1] with
          | None, _ -> Value.Null
          | Some xs, Value.Array ys -> ofBool (ys |> Array.forall (contains xs))
          | Some xs, y -> ofBool (contains xs y))
      "array_overlap", arrayFn (Exactly 2) (fun a ->
          match asArray a.[0], asArray a.[1] with
          | Some xs, Some ys -> ofBool (ys |> Array.exists (contains xs))
          | _ -> Value.Null)
      "scalar_in_array", arrayFn (Exactly 2) (fun a ->
          match scalar a.[0], asArray a.[1] with
          | Value.Null, _ -> Value.Null
          | _, None -> Value.Null
          | x, Some xs -> ofBool (contains xs x))
      "array_offset_of", arrayFn (Exactly 2) (fun a -> indexOf a.[0] a.[1] 0L)
      "array_ordinal_of", arrayFn (Exactly 2) (fun a -> indexOf a.[0] a.[1] 1L)
      "array_prepend", arrayFn (Exactly 2) (fun a -> match asArray a.[1] with Some xs -> Value.Array(Array.append [| scalar a.[0] |] xs) | None -> Value.Null)
      "array_append", arrayFn (Exactly 2) (fun a -> match asArray a.[0] with Some xs -> Value.Array(Array.append xs [| scalar a.[1] |]) | None -> Value.Null)
      "array_concat", arrayFn (Exactly 2) (fun a ->
          match asArray a.[0], asArray a.[1] with
          | Some xs, Some ys -> Value.Array(Array.append xs ys)
          | _ -> Value.Null)
      "array_slice", arrayFn (Between(2, 3)) (fun a ->
          match asArray a.[0], asLong a.[1] with
          | Some xs, Some start ->
              let stop = if a.Length > 2 then defaultArg (asLong a.[2]) (int64 xs.Length) else int64 xs.Length
              if start < 0L || start > int64 xs.Length || stop < start then Value.Null
              else Value.Array(xs.[int start .. int (min stop (int64 xs.Length)) - 1])
          | _ -> Value.Null)
      "array_to_string", arrayFn (Exactly 2) (fun a ->
          match asArray a.[0], asString a.[1] with
          | Some xs, delimiter when not (isNull delimiter) ->
              Value.String(String.Join(delimiter, xs |> Array.map (fun x -> match Value.toStringOrNull x with null -> "null" | s -> s)))
          | _ -> Value.Null)
      "string_to_array", arrayFn (Exactly 2) (fun a ->
          match asString a.[0], asString a.[1] with
          | null, _ | _, null -> Value.Null
          | s, regex -> try Value.Array(javaSplit s regex) with :? ArgumentException -> Value.Null) ]

/// The `mv_` names Druid SQL uses for the same array operations on multi-value strings.
let private multiValueAliases =
    [ "mv_length", "array_length"; "mv_offset", "array_offset"; "mv_ordinal", "array_ordinal"
      "mv_contains", "array_contains"; "mv_overlap", "array_overlap"; "mv_offset_of", "array_offset_of"
      "mv_ordinal_of", "array_ordinal_of"; "mv_prepend", "array_prepend"; "mv_append", "array_append"
      "mv_concat", "array_concat"; "mv_slice", "array_slice"; "mv_to_string", "array_to_string"
      "string_to_mv", "string_to_array" ]

// ---- apply functions ---------------------------------------------------------------------

let private bind (row: Row) (names: string list) (values: Value list) : Row =
    let pairs = List.zip names values |> Array.ofList
    fun column ->
        match pairs |> Array.tryFind (fun (n, _) -> n = column) with
        | Some(_, v) -> v
        | None -> row column

let private applyFn (name: string) arity (arrays: Expr[] -> int) (run: Compiled -> string list -> Compiled[] -> Row -> Value) =
    { Arity = arity; TakesLambda = true
      Build = fun compile args ->
        match args.[0] with
        | Expr.Lambda(parameters, body) ->
            let expected = arrays args
            if parameters.Length <> expected then
                fail name (sprintf "lambda expression argument count of %d does not match the %d arguments passed to it" parameters.Length expected)
            run (compile body) parameters (args.[1..] |> Array.map compile)
        | _ -> fail name "requires a lambda expression as its first argument" }

let private apply : (string * FunctionDef) list =
    let single (args: Expr[]) = 1
    let each (f: Compiled -> string -> Row -> Value[] -> Value) = fun body (ps: string list) (a: Compiled[]) (row: Row) ->
        match asArray (a.[0] row) with
        | None -> Value.Null
        | Some xs -> f body ps.Head row xs
    [ "map", applyFn "map" (Exactly 2) single (each (fun body p row xs -> Value.Array(xs |> Array.map (fun x -> body (bind row [ p ] [ x ])))))
      "filter", applyFn "filter" (Exactly 2) single (each (fun body p row xs ->
          match xs |> Array.filter (fun x -> truthy (body (bind row [ p ] [ x ]))) with
          | [||] -> Value.Null
          | kept -> Value.Array kept))
      "any", applyFn "any" (Exactly 2) single (each (fun body p row xs -> ofBool (xs |> Array.exists (fun x -> truthy (body (bind row [ p ] [ x ]))))))
      "all", applyFn "all" (Exactly 2) single (each (fun body p row xs -> ofBool (xs |> Array.forall (fun x -> truthy (body (bind row [ p ] [ x ]))))))
      "fold", applyFn "fold" (Exactly 3) (fun _ -> 2) (fun body ps a row ->
          match asArray (a.[0] row) with
          | None -> Value.Null
          | Some xs -> xs |> Array.fold (fun acc x -> body (bind row ps [ x; acc ])) (a.[1] row))
      "cartesian_map", applyFn "cartesian_map" (AtLeast 2) (fun args -> args.Length - 1) (fun body ps a row ->
          let lists = a |> Array.map (fun c -> asArray (c row))
          if lists |> Array.exists Option.isNone then Value.Null
          else
              let rec product (ls: Value[] list) : Value list list =
                  match ls with
                  | [] -> [ [] ]
                  | xs :: rest -> [ for x in xs do for tail in product rest -> x :: tail ]
              Value.Array(product (lists |> Array.map Option.get |> List.ofArray) |> List.map (fun vs -> body (bind row ps vs)) |> Array.ofList)) ]

/// Every built-in function by (lower-case) name.
let table : Map<string, FunctionDef> =
    let all = scalarFunctions @ time @ arrays @ apply
    let byName = Map.ofList all
    all @ (multiValueAliases |> List.map (fun (alias, target) -> alias, byName.[target])) |> Map.ofList

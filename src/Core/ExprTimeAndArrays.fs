/// Time and apply (lambda) functions of Druid's expression language, and the complete
/// function table (general and string functions are in ExprFunctions, math in ExprMath,
/// arrays in ExprArrays, JSON in ExprJson, IP addresses in ExprIp).
module FunctionalDruid.Core.ExprTimeAndArrays

open System
open System.Text.RegularExpressions
open NodaTime
open NodaTime.Calendars
open FunctionalDruid.Core
open FunctionalDruid.Core.ExprSyntax
open FunctionalDruid.Core.ExprOps
open FunctionalDruid.Core.ExprFunctions
open FunctionalDruid.Core.ExprArrays

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
    // Druid divides epoch seconds by 1000 for MICROSECOND; kept for compatibility.
    | "MICROSECOND" -> fun _ t -> Value.Long(t / 1000L / 1000L)
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
    | "YEAR" -> field (fun l -> int64 l.Year)
    | "ISOYEAR" -> field (fun l -> int64 (WeekYearRules.Iso.GetWeekYear l.Date))
    | "DECADE" -> field (fun l -> int64 (l.Year / 10))
    | "CENTURY" -> fun zone t -> if inRange t then Value.Double(ceil (float (local zone t).Year / 100.0)) else Value.Null
    | "MILLENNIUM" -> fun zone t -> if inRange t then Value.Double(ceil (float (local zone t).Year / 1000.0)) else Value.Null
    | _ -> fun _ _ -> Value.Null

let private knownUnits =
    set [ "EPOCH"; "MICROSECOND"; "MILLISECOND"; "SECOND"; "MINUTE"; "HOUR"; "DAY"; "DOW"; "ISODOW"; "DOY"; "WEEK"; "MONTH"
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
      // Joda reads an ISO timestamp string as that instant.
      "timestamp_extract", specialFn (Between(2, 3)) (fun compile args ->
          let unit = (literalString "timestamp_extract" "unit" args.[1] |> Option.ofObj |> Option.defaultValue "").ToUpperInvariant()
          if not (knownUnits.Contains unit) then fail "timestamp_extract" (sprintf "invalid unit [%s]" unit)
          let f = extract unit
          let zone = zoneArg "timestamp_extract" args 2
          let value = compile args.[0]
          fun row ->
              value row |> lift1 (fun v ->
                  let instant =
                      match v with
                      | Value.String s -> Time.tryParseInstant s
                      | v -> Value.toLong v
                  match instant with
                  | Some t -> guarded (fun () -> f zone t)
                  | None -> Value.Null))
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
      "subtract_months", specialFn (Exactly 3) (fun compile args ->
          let zone = zoneArg "subtract_months" args 2
          let later, earlier = compile args.[0], compile args.[1]
          let local (t: int64) = Instant.FromUnixTimeMilliseconds(t).InZone(zone).LocalDateTime
          fun row ->
              match asLong (later row), asLong (earlier row) with
              | Some a, Some b when inRange a && inRange b ->
                  // Joda's Months.monthsBetween: whole months, truncated toward zero.
                  Value.Long(int64 (Period.Between(local b, local a, PeriodUnits.Months).Months))
              | _ -> Value.Null)
      "timestamp", timestampOf "timestamp" 1L
      "unix_timestamp", timestampOf "unix_timestamp" 1000L ]

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

/// map's results share one element type: strings win over numbers, doubles over longs.
let private unifyMapped (xs: Value[]) : Value =
    let present = xs |> Array.filter (function Value.Null -> false | _ -> true)
    let target =
        if present |> Array.exists (function Value.String _ -> true | _ -> false) then ElementType.String
        elif present |> Array.exists (function Value.Double _ -> true | _ -> false)
             && present |> Array.forall (function Value.Long _ | Value.Double _ -> true | _ -> false) then ElementType.Double
        else ElementType.Unknown
    Value.Array(if target = ElementType.Unknown then xs else xs |> Array.map (castElement target))

let private apply : (string * FunctionDef) list =
    let single (args: Expr[]) = 1
    let each (f: Compiled -> string -> Row -> Value[] -> Value) = fun body (ps: string list) (a: Compiled[]) (row: Row) ->
        match asArray (a.[0] row) with
        | None -> Value.Null
        | Some xs -> f body ps.Head row xs
    // any and all over a null array are false, not null.
    let matches (f: Compiled -> string -> Row -> Value[] -> Value) = fun body (ps: string list) (a: Compiled[]) (row: Row) ->
        match asArray (a.[0] row) with
        | None -> Value.Long 0L
        | Some xs -> f body ps.Head row xs
    [ "map", applyFn "map" (Exactly 2) single (each (fun body p row xs -> unifyMapped (xs |> Array.map (fun x -> body (bind row [ p ] [ x ])))))
      "filter", applyFn "filter" (Exactly 2) single (each (fun body p row xs ->
          match xs |> Array.filter (fun x -> truthy (body (bind row [ p ] [ x ]))) with
          | [||] -> Value.Null
          | kept -> Value.Array kept))
      "any", applyFn "any" (Exactly 2) single (matches (fun body p row xs -> ofBool (xs |> Array.exists (fun x -> truthy (body (bind row [ p ] [ x ]))))))
      "all", applyFn "all" (Exactly 2) single (matches (fun body p row xs -> ofBool (xs |> Array.forall (fun x -> truthy (body (bind row [ p ] [ x ]))))))
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
              unifyMapped (product (lists |> Array.map Option.get |> List.ofArray) |> List.map (fun vs -> body (bind row ps vs)) |> Array.ofList))
      "cartesian_fold", applyFn "cartesian_fold" (AtLeast 3) (fun args -> args.Length - 1) (fun body ps a row ->
          let lists = a.[.. a.Length - 2] |> Array.map (fun c -> asArray (c row))
          if lists |> Array.exists Option.isNone then Value.Null
          // Druid answers an empty input with an empty array, not the initial accumulator.
          elif lists |> Array.exists (fun l -> l.Value.Length = 0) then Value.Array [||]
          else
              let lists = lists |> Array.map Option.get
              let current = Array.zeroCreate<Value> lists.Length
              let mutable acc = a.[a.Length - 1] row
              let rec walk i =
                  if i = lists.Length then acc <- body (bind row ps (List.ofArray (Array.append current [| acc |])))
                  else
                      for x in lists.[i] do
                          current.[i] <- x
                          walk (i + 1)
              walk 0
              acc) ]

/// Every built-in function by (lower-case) name.
let table : Map<string, FunctionDef> =
    let all = scalarFunctions @ ExprMath.mathFunctions @ time @ arrayFunctions @ apply @ ExprJson.jsonFunctions @ ExprIp.ipFunctions
    let byName = Map.ofList all
    let aliases = multiValueAliases @ ExprMath.mathAliases
    all @ (aliases |> List.map (fun (alias, target) -> alias, byName.[target])) |> Map.ofList

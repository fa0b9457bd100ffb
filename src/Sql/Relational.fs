/// The small in-memory operators the SQL layer applies where one native query is not enough
/// (joins, subqueries, UNION, window functions, metadata tables) — and the reference
/// semantics of a SELECT: scalar parts are Druid expressions (Translate), aggregates and
/// window functions are computed here over materialized rows.
module FunctionalDruid.Sql.Relational

open System
open System.Collections.Generic
open FunctionalDruid.Core
open FunctionalDruid.Sql.Ast
open FunctionalDruid.Sql.Translate

/// Rows with a positional layout: `Fields.[i].Key` names column i.
type Relation = { Fields: Field list; Rows: Value[] list }

let fieldKey (i: int) = sprintf "$f%d" i

/// Re-keys fields positionally and tags them with a table alias.
let relationOf (qualifier: string option) (columns: (string * SqlType) list) (rows: Value[] list) : Relation =
    { Fields = columns |> List.mapi (fun i (n, t) -> { Qualifier = qualifier; Name = n; Key = fieldKey i; Type = t })
      Rows = rows }

/// The most distinct strings one memoized expression remembers.
let private memoCapacity = 1 <<< 18

/// `f` remembered per distinct string argument (and for null); other values are computed
/// each time.
let private memoizedByValue (f: Value -> Value) : Value -> Value =
    // Cells read from one dictionary are shared objects: most lookups hit by reference,
    // without hashing the string.
    let byCell = Dictionary<Value, Value>(HashIdentity.Reference)
    let byString = Dictionary<string, Value>(StringComparer.Ordinal)
    let mutable nullDone = false
    let mutable ofNull = Value.Null
    fun v ->
        match v with
        | Value.String s when not (isNull s) ->
            match byCell.TryGetValue v with
            | true, r -> r
            | _ ->
                let r =
                    match byString.TryGetValue s with
                    | true, r -> r
                    | _ ->
                        let r = f v
                        if byString.Count < memoCapacity then byString.[s] <- r
                        r
                if byCell.Count < memoCapacity then byCell.[v] <- r
                r
        | Value.Null ->
            if not nullDone then
                ofNull <- f v
                nullDone <- true
            ofNull
        | _ -> f v

/// Functions cheaper to compute again than to look up (and, for a column with many distinct
/// values, to remember).
let private cheapFunctions =
    set [ "strlen"; "cast"; "nvl"; "isnull"; "notnull"; "abs"; "if"; "case_searched"; "case_simple"; "coalesce" ]

/// Whether an expression calls a function that costs more than a memo lookup (regular
/// expressions, string building, parsing, ...).
let rec private worthRemembering (e: DExpr) : bool =
    match e with
    | DExpr.Call(name, args) -> not (cheapFunctions.Contains(name.ToLowerInvariant())) || List.exists worthRemembering args
    | DExpr.Unary(_, x) -> worthRemembering x
    | DExpr.Binary(_, l, r) -> worthRemembering l || worthRemembering r
    | DExpr.Lambda(_, body) -> worthRemembering body
    | DExpr.Literal _ | DExpr.Identifier _ -> false

/// Compiles an expression over rows of a relation's layout; `remember`: an expensive
/// expression of one column keeps its result per distinct value of that column.
let private compileRows (remember: bool) (fields: Field list) (e: DExpr) : Value[] -> Value =
    let index = Dictionary<string, int>(StringComparer.Ordinal)
    fields |> List.iteri (fun i f -> index.[f.Key] <- i)
    match e with
    // Plain column reads and constants skip the expression machinery (hot in grouping).
    | DExpr.Identifier k when index.ContainsKey k -> let i = index.[k] in fun row -> row.[i]
    | DExpr.Literal v -> fun _ -> v
    | _ ->
    let compiled = Expr.compile e
    match Expr.requiredColumns e with
    | [ column ] when remember && index.ContainsKey column && worthRemembering e ->
        // An expression of one column is a function of that column's value: computed once
        // per distinct string (dictionary columns repeat their values), not once per row.
        let i = index.[column]
        let memo = memoizedByValue (fun v -> compiled (fun name -> if name = column then v else Value.Null))
        fun row -> memo row.[i]
    | _ ->
    // One column reader for every row (evaluation is sequential and never re-enters it), so
    // a row costs no closure.
    let current = ref (null: Value[])
    let read (name: string) =
        match index.TryGetValue name with
        | true, i -> current.Value.[i]
        | _ -> Value.Null
    fun row ->
        current.Value <- row
        compiled read

/// Compiles an expression over rows of a relation's layout.
let compileOver (fields: Field list) (e: DExpr) : Value[] -> Value = compileRows true fields e

/// Compiles an expression over rows that each hold another value (distinct values with counts),
/// where remembering results per value would only cost.
let compileOverDistinct (fields: Field list) (e: DExpr) : Value[] -> Value = compileRows false fields e

// ---- hash join candidates ---------------------------------------------------------------------

/// A join key part that may only put rows together that could be equal: numbers (and strings
/// that read as numbers) by their value truncated to an integer, since Druid's equality coerces
/// across number types; other strings as they are; null with the empty string (the two are
/// one value when Druid runs without SQL-compatible nulls). Arrays have no
/// key (null), so they fall back to comparing every pair.
let private joinKeyPart (v: Value) : string =
    let number (d: float) =
        if Double.IsNaN d || Double.IsInfinity d then "#" + d.ToString(Globalization.CultureInfo.InvariantCulture)
        else "#" + (Math.Truncate d + 0.0).ToString("R", Globalization.CultureInfo.InvariantCulture) // + 0.0: -0 is 0
    match v with
    | Value.Null | Value.String "" -> "\u0000"
    | Value.Long l -> number (float l)
    | Value.Double d -> number d
    | Value.String s ->
        match Value.parseDoubleText s with
        | Some d -> number d
        | None -> "$" + s
    | _ -> null

/// For each left row, the right rows (indexes, in order) whose keys could equal its keys —
/// every right row when a key has no hashable form.
let hashedCandidates (keys: ((Value[] -> Value) * (Value[] -> Value)) list) (rightRows: Value[][]) (allRight: int[]) : Value[] -> int[] =
    let leftKeys = keys |> List.map fst |> Array.ofList
    let rightKeys = keys |> List.map snd |> Array.ofList
    let keyOf (evals: (Value[] -> Value)[]) (row: Value[]) =
        let parts = evals |> Array.map (fun e -> joinKeyPart (e row))
        if Array.contains null parts then null else String.Join("\u0001", parts)
    let buckets = Dictionary<string, List<int>>(StringComparer.Ordinal)
    let mutable hashable = true
    for j in 0 .. rightRows.Length - 1 do
        match keyOf rightKeys rightRows.[j] with
        | null -> hashable <- false
        | k ->
            match buckets.TryGetValue k with
            | true, l -> l.Add j
            | _ -> buckets.[k] <- List<int>([ j ])
    if not hashable then fun _ -> allRight
    else
        let found = Dictionary<string, int[]>(StringComparer.Ordinal)
        for KeyValue(k, l) in buckets do found.[k] <- l.ToArray()
        fun left ->
            match keyOf leftKeys left with
            | null -> allRight
            | k -> match found.TryGetValue k with | true, js -> js | _ -> [||]

// ---- value order (ORDER BY, MIN/MAX, window ordering) -------------------------------------------

/// UTF-8 byte order (`ExprOps.compareUtf8`), as Druid sorts strings.
let compareStrings (x: string) (y: string) : int = ExprOps.compareUtf8 x y

let rec compareValues (a: Value) (b: Value) : int =
    // Rows read from one dictionary share their cells, so equal values are often one object.
    if obj.ReferenceEquals(a, b) then 0 else
    match a, b with
    | Value.Null, Value.Null -> 0
    | Value.Null, _ -> -1
    | _, Value.Null -> 1
    | Value.Long x, Value.Long y -> compare x y
    | (Value.Long _ | Value.Double _), (Value.Long _ | Value.Double _) ->
        compare (Value.toDouble a |> Option.get) (Value.toDouble b |> Option.get)
    | Value.String x, Value.String y when not (isNull x || isNull y) -> compareStrings x y
    | Value.String x, Value.String y -> Ordering.compareLexicographic x y
    | Value.Array xs, Value.Array ys ->
        let n = min xs.Length ys.Length
        let rec go i = if i = n then compare xs.Length ys.Length else (let c = compareValues xs.[i] ys.[i] in if c <> 0 then c else go (i + 1))
        go 0
    | (Value.Long _ | Value.Double _), Value.String s ->
        match Value.parseDoubleText s with
        | Some d -> compare (Value.toDouble a |> Option.get) d
        | None -> -1
    | Value.String _, (Value.Long _ | Value.Double _) -> -(compareValues b a)
    | Value.Array _, _ -> 1
    | _, Value.Array _ -> -1

/// Structural equality of one value, as F#'s `=` and `hash` see it, with the common string
/// and long cases compared directly.
type ValueComparer() =
    static member val Instance = ValueComparer()
    member _.Same(a: Value, b: Value) =
        match a, b with
        | Value.String x, Value.String y -> obj.ReferenceEquals(x, y) || String.Equals(x, y)
        | Value.Long x, Value.Long y -> x = y
        | _ -> a = b // a NaN stays unequal to itself, as with `=`
    member _.Hash(v: Value) =
        match v with
        | Value.String s when not (isNull s) -> s.GetHashCode()
        | Value.Long l -> l.GetHashCode()
        | v -> hash v
    interface IEqualityComparer<Value> with
        member this.Equals(a, b) = this.Same(a, b)
        member this.GetHashCode(v) = this.Hash v

/// Structural equality for grouping keys (Long 1 and Double 1.0 are different keys, as in Druid).
type KeyComparer() =
    let values = ValueComparer.Instance
    interface IEqualityComparer<Value[]> with
        member _.Equals(a, b) =
            a.Length = b.Length
            && (let mutable same = true
                let mutable i = 0
                while same && i < a.Length do
                    same <- values.Same(a.[i], b.[i])
                    i <- i + 1
                same)
        member _.GetHashCode(a) =
            let mutable h = 17
            for v in a do h <- h * 31 + values.Hash v
            h

// ---- aggregates ------------------------------------------------------------------------------------

type AggregateCall = { Call: Ast.Expr; Name: string; Distinct: bool; Args: Ast.Expr list; Filter: Ast.Expr option }

let rec collectAggregates (e: Ast.Expr) : Ast.Expr list =
    match e with
    | Expr.Call(name, _, args, _, None) when isAggregateName name -> [ e ]
    | Expr.Call(_, _, args, _, Some w) -> (args @ w.PartitionBy @ (w.OrderBy |> List.map (fun o -> o.Expr))) |> List.collect collectAggregates
    | _ -> children e |> List.collect collectAggregates

let aggregateType (name: string) (argTypes: SqlType list) : SqlType =
    let first = List.tryHead argTypes |> Option.defaultValue SqlType.Bigint
    match name with
    | "COUNT" | "APPROX_COUNT_DISTINCT" | "APPROX_COUNT_DISTINCT_BUILTIN" | "APPROX_COUNT_DISTINCT_DS_HLL" | "APPROX_COUNT_DISTINCT_DS_THETA"
    | "GROUPING" | "BIT_AND" | "BIT_OR" | "BIT_XOR" -> SqlType.Bigint
    | "SUM" -> (match first with SqlType.Bigint | SqlType.Boolean -> SqlType.Bigint | SqlType.Float -> SqlType.Float | _ -> SqlType.Double)
    | "AVG" | "APPROX_QUANTILE" | "APPROX_QUANTILE_DS" | "STDDEV" | "STDDEV_POP" | "STDDEV_SAMP" | "VARIANCE" | "VAR_POP" | "VAR_SAMP" -> SqlType.Double
    | "STRING_AGG" | "LISTAGG" -> SqlType.Varchar
    | "ARRAY_AGG" -> SqlType.Array first
    | "BOOL_AND" | "BOOL_OR" | "EVERY" -> SqlType.Boolean
    | _ -> first

let private numbers (values: Value seq) = values |> Seq.choose Value.toDouble |> Array.ofSeq

/// Computes one aggregate over the argument values of a group's rows (already filtered).
/// `times` are the rows' `__time` values (for EARLIEST/LATEST without an explicit time).
/// STRING_AGG folds its values into a string array whose serialized size Druid caps at
/// `maxSizeBytes` (third argument, default 1024): a null flag and a length per element.
let private checkStringAggSize (maxSizeBytes: int64 option) (values: string[]) =
    let limit = defaultArg maxSizeBytes 1024L
    let size = 5L + (values |> Array.sumBy (fun v -> 5L + int64 (Text.Encoding.UTF8.GetByteCount v)))
    if size > limit then
        SqlError.invalid (sprintf "Exceeded memory usage when aggregating type [ARRAY<STRING>], size [%d] is larger than max [%d]" size limit)

let aggregate (name: string) (distinct: bool) (resultType: SqlType) (args: Value[][]) (times: Value[]) (constArgs: Value list) : Value =
    let column i = args |> Array.map (fun a -> a.[i])
    let nonNull (xs: Value[]) = xs |> Array.filter (fun v -> v <> Value.Null)
    let distinctIf (xs: Value[]) = if distinct then Array.distinct xs else xs
    match name with
    | "COUNT" ->
        if args.Length > 0 && args.[0].Length = 0 then Value.Long(int64 args.Length)
        else
            let rows = args |> Array.filter (fun a -> a |> Array.forall (fun v -> v <> Value.Null))
            Value.Long(int64 (if distinct then (rows |> Array.distinctBy id).Length else rows.Length))
    | "APPROX_COUNT_DISTINCT" | "APPROX_COUNT_DISTINCT_BUILTIN" | "APPROX_COUNT_DISTINCT_DS_HLL" | "APPROX_COUNT_DISTINCT_DS_THETA" ->
        Value.Long(int64 (column 0 |> nonNull |> Array.distinct).Length)
    | "SUM" ->
        let xs = column 0 |> nonNull |> distinctIf
        if xs.Length = 0 then Value.Null
        elif resultType = SqlType.Bigint then Value.Long(xs |> Array.sumBy (fun v -> defaultArg (Value.toLong v) 0L))
        else Value.Double(numbers xs |> Array.sum)
    | "MIN" | "MAX" ->
        let xs = column 0 |> nonNull
        if xs.Length = 0 then Value.Null
        else
            let pick = xs |> Array.reduce (fun a b -> let c = compareValues a b in if (c <= 0) = (name = "MIN") then a else b)
            match resultType, pick with
            | SqlType.Bigint, Value.Double d -> Value.Long(int64 d)
            | (SqlType.Double | SqlType.Float), Value.Long l -> Value.Double(float l)
            | _ -> pick
    | "AVG" ->
        let xs = numbers (column 0 |> nonNull |> distinctIf)
        if xs.Length = 0 then Value.Null else Value.Double(Array.average xs)
    | "ANY_VALUE" -> column 0 |> Array.tryFind (fun v -> v <> Value.Null) |> Option.defaultValue Value.Null
    | "EARLIEST" | "LATEST" | "EARLIEST_BY" | "LATEST_BY" ->
        let values = column 0
        let ts = if name.EndsWith "_BY" then column 1 else times
        let candidates = Array.zip ts values |> Array.filter (fun (t, v) -> v <> Value.Null && t <> Value.Null)
        if candidates.Length = 0 then Value.Null
        else
            let earliest = name.StartsWith "EARLIEST"
            let best = candidates |> Array.reduce (fun (ta, va) (tb, vb) -> let c = compareValues ta tb in if (if earliest then c <= 0 else c >= 0) then (ta, va) else (tb, vb))
            snd best
    | "ARRAY_AGG" ->
        let xs = column 0 |> distinctIf
        let maxBytes =
            match constArgs with
            | _ :: size :: _ ->
                match size with
                | Value.Long l when l > 0L -> l
                | other -> SqlError.invalid (sprintf "ARRAY_AGG size must be a positive integer literal, not [%s]" (Value.toStringOrNull other))
            | _ -> 1024L
        let bytes = xs |> Array.sumBy (fun v -> match v with Value.String s -> int64 (Text.Encoding.UTF8.GetByteCount s) + 4L | _ -> 9L)
        if bytes > maxBytes then
            SqlError.invalid (sprintf "Unable to serialize the ARRAY_AGG result: %d bytes exceed the max size of %d bytes; pass a larger size as the second argument" bytes maxBytes)
        if xs.Length = 0 then Value.Null else Value.Array xs
    | "STRING_AGG" | "LISTAGG" ->
        let separator = match constArgs with _ :: sep :: _ -> Value.toStringOrNull sep | _ -> ","
        let xs = column 0 |> nonNull |> distinctIf |> Array.map Value.toStringOrNull
        checkStringAggSize (match constArgs with _ :: _ :: size :: _ -> Value.toLong size | _ -> None) xs
        if xs.Length = 0 then Value.Null else Value.String(String.Join(separator, xs))
    | "APPROX_QUANTILE" | "APPROX_QUANTILE_DS" ->
        let q = match constArgs with _ :: q :: _ -> defaultArg (Value.toDouble q) 0.5 | _ -> 0.5
        let xs = numbers (column 0 |> nonNull) |> Array.sort
        if xs.Length = 0 then Value.Null
        else Value.Double xs.[min (xs.Length - 1) (int (Math.Floor(q * float xs.Length)))]
    | "STDDEV" | "STDDEV_SAMP" | "STDDEV_POP" | "VARIANCE" | "VAR_SAMP" | "VAR_POP" ->
        let xs = numbers (column 0 |> nonNull)
        let population = name.EndsWith "_POP"
        if xs.Length = 0 || (not population && xs.Length < 2) then Value.Null
        else
            let mean = Array.average xs
            let ss = xs |> Array.sumBy (fun x -> (x - mean) * (x - mean))
            let variance = ss / float (if population then xs.Length else xs.Length - 1)
            Value.Double(if name.StartsWith "STDDEV" then sqrt variance else variance)
    | "BIT_AND" | "BIT_OR" | "BIT_XOR" ->
        let xs = column 0 |> Array.choose Value.toLong
        if xs.Length = 0 then Value.Null
        else Value.Long(xs |> Array.reduce (match name with "BIT_AND" -> (&&&) | "BIT_OR" -> (|||) | _ -> (^^^)))
    | "BOOL_AND" | "EVERY" | "BOOL_OR" ->
        let xs = column 0 |> nonNull |> Array.map Expr.isTruthy
        if xs.Length = 0 then Value.Null
        else Value.Long(if (if name = "BOOL_OR" then Array.exists id xs else Array.forall id xs) then 1L else 0L)
    | other -> SqlError.unsupported (sprintf "Aggregate function %s is not supported" other)

/// An aggregate over rows given with counts (a distinct value standing for that many rows)
/// would not give exactly the answer of the same rows one by one: the caller reads the rows
/// one by one instead.
exception NotWeightable

/// One group's running state of an aggregate: rows go in one at a time, or (`AddWeighted`) a
/// row with the number of rows it stands for. An accumulator is fed one way only. The rows
/// given with counts come in the order of their first row, so aggregates whose result depends
/// only on that (ANY_VALUE's first value, which group comes first) are unchanged.
[<AbstractClass; AllowNullLiteral>]
type Accumulator() =
    abstract Add: Value[] -> unit
    abstract AddWeighted: Value[] * int64 -> unit
    default _.AddWeighted(_, _) = raise NotWeightable
    abstract Result: unit -> Value

/// Below this bound on the sum of |value| × count, every partial sum of the same longs, in
/// any order, is exact in a double (< 2^53; the bound itself is summed in doubles, whose
/// rounding this margin covers) — so adding the rows one by one gives the exact sum.
let private exactInDouble = 4503599627370496.0 // 2^52

/// Likewise for partial sums in a long (< 2^63): no order of the rows overflows.
let private exactInLong = 4611686018427387904.0 // 2^62

type private CountRows() =
    inherit Accumulator()
    let mutable n = 0L
    override _.Add(_) = n <- n + 1L
    override _.AddWeighted(_, weight) = n <- n + weight
    override _.Result() = Value.Long n

type private CountValues(arg: Value[] -> Value) =
    inherit Accumulator()
    let mutable n = 0L
    override _.Add(row) = match arg row with Value.Null -> () | _ -> n <- n + 1L
    override _.AddWeighted(row, weight) = match arg row with Value.Null -> () | _ -> n <- n + weight
    override _.Result() = Value.Long n

type private CountDistinct(arg: Value[] -> Value) =
    inherit Accumulator()
    // Structural identity, as Array.distinctBy in `aggregate`.
    let seen = HashSet<Value>(HashIdentity.Structural)
    override _.Add(row) = match arg row with Value.Null -> () | v -> seen.Add v |> ignore
    override _.AddWeighted(row, _) =
        match arg row with
        | Value.Null -> ()
        // A value unequal to itself (NaN) counts once per row.
        | v -> if seen.Comparer.Equals(v, v) then seen.Add v |> ignore else raise NotWeightable
    override _.Result() = Value.Long(int64 seen.Count)

type private Extreme(arg: Value[] -> Value, isMin: bool, resultType: SqlType) =
    inherit Accumulator()
    let mutable found = false
    let mutable pick = Value.Null
    let consider (v: Value) =
        match v with
        | Value.Null -> ()
        | v when not found ->
            pick <- v
            found <- true
        | v ->
            // As `aggregate`: MIN keeps the earlier of equal values, MAX the later.
            if not ((compareValues pick v <= 0) = isMin) then pick <- v
    override _.Add(row) = consider (arg row)
    override _.AddWeighted(row, _) =
        // Which of two equal values wins depends on the order of rows; among only longs, only
        // strings or only doubles other than zeros and NaN, equal values are the same value
        // (-0.0 = 0.0, a string can equal a number, arrays compare by elements).
        let sameKind (v: Value) =
            not found
            || (match pick, v with
                | Value.Long _, Value.Long _ -> true
                | Value.String _, Value.String _ -> true
                | Value.Double _, Value.Double _ -> true
                | _ -> false)
        match arg row with
        | Value.Null -> ()
        | Value.Long _ as v when sameKind v -> consider v
        | Value.String s as v when not (isNull s) && sameKind v -> consider v
        | Value.Double d as v when d <> 0.0 && not (Double.IsNaN d) && sameKind v -> consider v
        | _ -> raise NotWeightable
    override _.Result() =
        if not found then Value.Null
        else
            match resultType, pick with
            | SqlType.Bigint, Value.Double d -> Value.Long(int64 d)
            | (SqlType.Double | SqlType.Float), Value.Long l -> Value.Double(float l)
            | _ -> pick

type private Sum(arg: Value[] -> Value, asLong: bool) =
    inherit Accumulator()
    let mutable any = false
    let mutable longSum = 0L
    let mutable doubleSum = 0.0
    // Rows given with counts: the sum of long × count (exact while `magnitude` is in bounds).
    let mutable weighted = false
    let mutable magnitude = 0.0
    override _.Add(row) =
        match arg row with
        | Value.Null -> ()
        | v ->
            any <- true
            match v with
            // Checked, as Array.sumBy in `aggregate`: an overflow fails the query.
            | Value.Long l when asLong -> longSum <- Checked.(+) longSum l
            | v when asLong -> longSum <- Checked.(+) longSum (defaultArg (Value.toLong v) 0L)
            | Value.Long l -> doubleSum <- doubleSum + float l
            | Value.Double d -> doubleSum <- doubleSum + d
            | v ->
                match Value.toDouble v with
                | Some d -> doubleSum <- doubleSum + d
                | None -> ()
    override _.AddWeighted(row, weight) =
        match arg row with
        | Value.Null -> ()
        | v ->
            // Doubles add up differently in another order: only longs (or, for a BIGINT sum,
            // values that are read as longs) take counts.
            let l =
                match v with
                | Value.Long l -> l
                | v when asLong -> defaultArg (Value.toLong v) 0L
                | _ -> raise NotWeightable
            any <- true
            weighted <- true
            longSum <- longSum + l * weight
            magnitude <- magnitude + abs (float l) * float weight
    override _.Result() =
        if weighted && magnitude > (if asLong then exactInLong else exactInDouble) then raise NotWeightable
        if not any then Value.Null
        elif asLong then Value.Long longSum
        elif weighted then Value.Double(float longSum)
        else Value.Double doubleSum

type private Average(arg: Value[] -> Value) =
    inherit Accumulator()
    let mutable count = 0
    let mutable sum = 0.0
    // Rows given with counts: longs only, summed exactly while `magnitude` is in bounds.
    let mutable weightedCount = 0L
    let mutable weightedSum = 0L
    let mutable magnitude = 0.0
    override _.Add(row) =
        match arg row with
        | Value.Null -> ()
        | Value.Long l ->
            sum <- sum + float l
            count <- count + 1
        | Value.Double d ->
            sum <- sum + d
            count <- count + 1
        | v ->
            match Value.toDouble v with
            | Some d ->
                sum <- sum + d
                count <- count + 1
            | None -> ()
    override _.AddWeighted(row, weight) =
        match arg row with
        | Value.Null -> ()
        | Value.Long l ->
            weightedCount <- weightedCount + weight
            weightedSum <- weightedSum + l * weight
            magnitude <- magnitude + abs (float l) * float weight
        | _ -> raise NotWeightable
    override _.Result() =
        if weightedCount > 0L then
            // One by one, the count is an int.
            if magnitude > exactInDouble || weightedCount > int64 Int32.MaxValue then raise NotWeightable
            Value.Double(float weightedSum / float (int weightedCount))
        elif count = 0 then Value.Null
        else Value.Double(sum / float count)

type private Filtered(keep: Value[] -> bool, inner: Accumulator) =
    inherit Accumulator()
    override _.Add(row) = if keep row then inner.Add row
    override _.AddWeighted(row, weight) = if keep row then inner.AddWeighted(row, weight)
    override _.Result() = inner.Result()

/// The common aggregates as accumulators, with the results of `aggregate` but without
/// gathering a group's rows: COUNT, MIN, MAX, and SUM and AVG without DISTINCT, over at most
/// one argument. None for the others.
let streamingAggregate (name: string) (distinct: bool) (resultType: SqlType) (evals: (Value[] -> Value)[]) : (unit -> Accumulator) option =
    match name, evals with
    | "COUNT", [||] -> Some(fun () -> CountRows() :> Accumulator)
    | "COUNT", [| arg |] when distinct -> Some(fun () -> CountDistinct(arg) :> Accumulator)
    | "COUNT", [| arg |] -> Some(fun () -> CountValues(arg) :> Accumulator)
    | ("MIN" | "MAX"), [| arg |] -> Some(fun () -> Extreme(arg, (name = "MIN"), resultType) :> Accumulator)
    | "SUM", [| arg |] when not distinct -> Some(fun () -> Sum(arg, (resultType = SqlType.Bigint)) :> Accumulator)
    | "AVG", [| arg |] when not distinct -> Some(fun () -> Average(arg) :> Accumulator)
    | _ -> None

/// An accumulator that only sees the rows passing `keep` (an aggregate's FILTER clause).
let filteredAccumulator (keep: Value[] -> bool) (make: unit -> Accumulator) : unit -> Accumulator =
    fun () -> Filtered(keep, make ()) :> Accumulator

/// Runs an accumulator over rows.
let accumulate (make: unit -> Accumulator) (rows: Value[] seq) : Value =
    let a = make ()
    for r in rows do a.Add r
    a.Result()

// ---- ordering --------------------------------------------------------------------------------------

/// Druid's order of one key: nulls first ascending and last descending unless told otherwise.
let compareKey (desc: bool) (nulls: bool option) (va: Value) (vb: Value) : int =
    let nullsFirst = defaultArg nulls (not desc)
    match va, vb with
    | Value.Null, Value.Null -> 0
    | Value.Null, _ -> if nullsFirst then -1 else 1
    | _, Value.Null -> if nullsFirst then 1 else -1
    | _ -> let c = compareValues va vb in if desc then -c else c

let private rowComparer (keys: ('r -> Value) list) (descending: bool list) (nullsFirst: bool option list) : 'r -> 'r -> int =
    let specs = List.zip3 keys descending nullsFirst |> Array.ofList
    fun a b ->
        let mutable result = 0
        let mutable i = 0
        while result = 0 && i < specs.Length do
            let key, desc, nulls = specs.[i]
            result <- compareKey desc nulls (key a) (key b)
            i <- i + 1
        result

/// A stable sort; each row's keys are computed once, not at every comparison.
let sortRows (keys: ('r -> Value) list) (descending: bool list) (nullsFirst: bool option list) (rows: 'r list) : 'r list =
    let keyArr = Array.ofList keys
    let byKeys = rowComparer (List.init keyArr.Length (fun i -> fun (k: Value[]) -> k.[i])) descending nullsFirst
    rows
    |> List.map (fun r -> struct (keyArr |> Array.map (fun key -> key r), r))
    |> List.sortWith (fun (struct (a, _)) (struct (b, _)) -> byKeys a b)
    |> List.map (fun (struct (_, r)) -> r)

/// Keeps the first `count` rows offered under the keys' order (ties in the order offered):
/// each row's keys are read once, and a row is compared with the current worst kept one key
/// at a time, so a row that cannot make it usually costs one key.
type TopRows<'r>(keys: ('r -> Value) list, descending: bool list, nullsFirst: bool option list, count: int) =
    let keyArr = Array.ofList keys
    let descArr = Array.ofList descending
    let nullsArr = Array.ofList nullsFirst
    let n = keyArr.Length
    // Kept rows in sorted order; a row's keys are evaluated into `keptKeys` when it is kept.
    let kept = Array.zeroCreate<'r> (max 0 count)
    let keptKeys = Array.zeroCreate<Value[]> (max 0 count)
    let mutable size = 0
    let scratch = Array.zeroCreate<Value> n
    // Compares the candidate (keys evaluated into `scratch` up to `known`) with kept row j.
    let mutable known = 0
    let compareWith (row: 'r) (j: int) =
        let other = keptKeys.[j]
        let mutable result = 0
        let mutable i = 0
        while result = 0 && i < n do
            if i >= known then
                scratch.[i] <- keyArr.[i] row
                known <- i + 1
            result <- compareKey descArr.[i] nullsArr.[i] scratch.[i] other.[i]
            i <- i + 1
        result
    member _.Offer(row: 'r) =
        known <- 0
        // Later rows lose ties, so a row enters only when strictly before the worst kept one.
        if count > 0 && (size < count || compareWith row (size - 1) < 0) then
            // Insert after every kept row that is not after it (upper bound).
            let mutable lo = 0
            let mutable hi = size
            while lo < hi do
                let mid = (lo + hi) >>> 1
                if compareWith row mid < 0 then hi <- mid else lo <- mid + 1
            let last = if size < count then size else count - 1
            if last > lo then
                Array.Copy(kept, lo, kept, lo + 1, last - lo)
                Array.Copy(keptKeys, lo, keptKeys, lo + 1, last - lo)
            for i in known .. n - 1 do scratch.[i] <- keyArr.[i] row
            kept.[lo] <- row
            keptKeys.[lo] <- Array.copy scratch
            if size < count then size <- size + 1
    /// The kept rows, first first.
    member _.Rows : 'r[] = Array.sub kept 0 size

/// The most rows `TopRows` keeps (its insertion moves kept rows; past this a sort is cheaper).
let topRowsLimit = 4096

/// The first `count` rows of `sortRows` (same rows, same order, ties in input order), found
/// with `TopRows` (a full sort past `topRowsLimit` rows).
let sortRowsTop (keys: ('r -> Value) list) (descending: bool list) (nullsFirst: bool option list) (count: int) (rows: 'r list) : 'r list =
    if count <= 0 then []
    elif count > topRowsLimit then List.truncate count (sortRows keys descending nullsFirst rows)
    else
    let top = TopRows(keys, descending, nullsFirst, count)
    for row in rows do top.Offer row
    List.ofArray top.Rows

/// An ORDER BY ... LIMIT that a table read can apply per slice: the read's columns by index,
/// descending or not, nulls first or not (None: as `compareKey` defaults), and how many rows
/// (offset + limit) the statement needs. Each slice's best `Count` rows by the keys, ties in
/// row order, hold the statement's rows: its stable sort of all rows in slice order picks
/// those first.
type RowOrder = { Keys: (int * bool * bool option) list; Count: int }

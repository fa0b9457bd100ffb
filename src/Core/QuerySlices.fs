/// What every native query engine reads: the visible parts of segments (slices), their row
/// ranges inside the query intervals, column access that includes virtual columns, the
/// row filter, cancellation, and how per-segment work is spread over cores. Also builds a
/// segment from plain rows, so inline data and subquery results run through the same paths.
module FunctionalDruid.Core.QuerySlices

open System
open System.Collections.Generic
open System.Threading
open FunctionalDruid.Core
open FunctionalDruid.Core.Query

/// One segment as the engine sees it: its id, its rows and the interval it serves.
type SegmentSlice = { Id: string; Content: SegmentContent; Serves: Time.Interval }

/// How per-segment work is spread: the host runs it on all cores, tests run it in order.
type ISegmentRunner =
    /// Runs `work` for 0 .. count-1 and returns the results in index order.
    abstract Map<'T> : count: int * work: (int -> 'T) -> 'T[]

let sequentialRunner =
    { new ISegmentRunner with
        member _.Map(count, work) = Array.init count work }

/// What a query run carries besides the query: its cancellation (DELETE or timeout) and
/// its per-segment runner.
type RunContext = { Cancel: CancellationToken; Runner: ISegmentRunner }

let sequential = { Cancel = CancellationToken.None; Runner = sequentialRunner }

/// Rows between two cancellation checks in scan loops: rare enough to cost nothing,
/// frequent enough to stop within a millisecond.
let checkEvery = 16384

/// Counts visited rows and checks the run's cancellation every `checkEvery` of them, so row
/// loops stop soon after a DELETE or a timeout.
type CancellationCheck(ctx: RunContext) =
    let mutable sinceCheck = 0
    member _.Tick() =
        sinceCheck <- sinceCheck + 1
        if sinceCheck >= checkEvery then
            sinceCheck <- 0
            ctx.Cancel.ThrowIfCancellationRequested()

/// Sorted, merged query intervals (Druid condenses overlapping ones before running).
let condense (intervals: Time.Interval list) : Time.Interval list =
    intervals
    |> List.sortBy (fun i -> i.Start)
    |> List.fold (fun (acc: Time.Interval list) (i: Time.Interval) ->
        match acc with
        | last :: rest when i.Start <= last.End -> { last with Time.Interval.End = max last.End i.End } :: rest
        | _ -> i :: acc) []
    |> List.rev

/// First row index with time >= t.
let lowerBound (times: int64[]) (t: int64) =
    let mutable lo = 0
    let mutable hi = times.Length
    while lo < hi do
        let mid = (lo + hi) >>> 1
        if times.[mid] < t then lo <- mid + 1 else hi <- mid
    lo

/// Row ranges [lo, hi) of a slice inside the (condensed) query intervals and its served
/// part, as (start, end, lo, hi) with the clipped interval.
let rowRanges (slice: SegmentSlice) (intervals: Time.Interval list) =
    [ for i in intervals do
        let s = max i.Start slice.Serves.Start
        let e = min i.End slice.Serves.End
        if s < e then
            let lo = lowerBound slice.Content.Times s
            let hi = lowerBound slice.Content.Times e
            if lo < hi then yield s, e, lo, hi ]

let rec private coerce (outputType: ColumnType option) (v: Value) : Value =
    match outputType, v with
    | None, _ | _, Value.Null -> v
    | Some ColumnType.Long, _ -> (match Value.toLong v with Some l -> Value.Long l | None -> Value.Null)
    | Some(ColumnType.Double | ColumnType.Float), _ -> (match Value.toDouble v with Some d -> Value.Double d | None -> Value.Null)
    | Some ColumnType.String, Value.Array _ -> v
    | Some ColumnType.String, _ -> Value.String(Value.toStringOrNull v)
    | Some(ColumnType.Complex _), _ -> v
    | Some(ColumnType.Array element), Value.Array xs -> Value.Array(xs |> Array.map (coerce (Some element)))
    | Some(ColumnType.Array element), _ -> Value.Array [| coerce (Some element) v |]

/// Column lookup for one slice; `__time` is the row's timestamp and virtual columns are
/// computed from the stored ones (and earlier virtual columns) per row.
type SliceColumns(content: SegmentContent, virtualColumns: VirtualColumn list) =
    let byName = Dictionary<string, ColumnData>(StringComparer.Ordinal)
    do
        for (n, c) in content.Dimensions @ content.Metrics do byName.[n] <- c
    let virtuals = Dictionary<string, Expr.Compiled * ColumnType option>(StringComparer.Ordinal)
    do
        for vc in virtualColumns do virtuals.[vc.Name] <- (Expr.compile vc.Parsed, vc.OutputType)
    member this.Cell(name: string, row: int) : Value =
        match virtuals.TryGetValue name with
        | true, (compiled, outputType) -> coerce outputType (compiled (fun n -> this.Cell(n, row)))
        | _ ->
            if name = "__time" then Value.Long content.Times.[row]
            else
                match byName.TryGetValue name with
                | true, c -> c.Cell row
                | _ -> Value.Null
    member _.Stored(name: string) : ColumnData option =
        if virtuals.ContainsKey name then None
        else match byName.TryGetValue name with | true, c -> Some c | _ -> None
    member _.Has(name: string) = name = "__time" || byName.ContainsKey name || virtuals.ContainsKey name

/// Filters that treat a typed array row as one value rather than as its elements: `null`
/// matches only null rows (an empty array is not null), and a scalar `equality` matches
/// only the one-element array holding it.
let wholeArrayTruth (f: Filter.Filter) : (string * (Value -> Filter.Truth)) option =
    let same (a: Value) (b: Value) = a = b || ExprOps.valuesEqual a b
    match f with
    | Filter.Filter.Null column -> Some(column, fun v -> match v with Value.Null -> Filter.Yes | _ -> Filter.No)
    | Filter.Filter.Equality(column, _, matchValue) ->
        let expected = match matchValue with Value.Array xs -> xs | scalar -> [| scalar |]
        Some(column, fun v ->
            match v with
            | Value.Null -> Filter.Unknown
            | Value.Array xs -> if xs.Length = expected.Length && Array.forall2 same xs expected then Filter.Yes else Filter.No
            | x -> if expected.Length = 1 && same x expected.[0] then Filter.Yes else Filter.No)
    | Filter.Filter.ArrayContainsElement(column, element) ->
        Some(column, fun v ->
            match v with
            | Value.Null -> Filter.Unknown
            | Value.Array xs -> if xs |> Array.exists (fun x -> same x element) then Filter.Yes else Filter.No
            | x -> if same x element then Filter.Yes else Filter.No)
    | _ -> None

let private isArrayData (c: ColumnData option) =
    match c with
    | Some(ColumnData.LongArrays _ | ColumnData.DoubleArrays _ | ColumnData.StringArrays _) -> true
    | _ -> false

/// Three-valued row truth where leaves on typed array columns see whole arrays.
let rec private arrayAwareTruth (isArrayColumn: string -> bool) (f: Filter.Filter) : Expr.Row -> Filter.Truth =
    let kleene (parts: (Expr.Row -> Filter.Truth)[]) (decisive: Filter.Truth) (otherwise: Filter.Truth) =
        fun row ->
            let mutable result = otherwise
            let mutable i = 0
            while result <> decisive && i < parts.Length do
                match parts.[i] row with
                | t when t = decisive -> result <- decisive
                | Filter.Unknown -> result <- Filter.Unknown
                | _ -> ()
                i <- i + 1
            result
    match f with
    | Filter.Filter.And fs -> kleene (fs |> List.map (arrayAwareTruth isArrayColumn) |> Array.ofList) Filter.No Filter.Yes
    | Filter.Filter.Or fs -> kleene (fs |> List.map (arrayAwareTruth isArrayColumn) |> Array.ofList) Filter.Yes Filter.No
    | Filter.Filter.Not inner ->
        let part = arrayAwareTruth isArrayColumn inner
        fun row -> match part row with Filter.Yes -> Filter.No | Filter.No -> Filter.Yes | Filter.Unknown -> Filter.Unknown
    | f ->
        match wholeArrayTruth f with
        | Some(column, test) when isArrayColumn column -> fun row -> test (row column)
        | _ -> Filter.compileTruth f

/// The row filter of a slice: a dictionary-level predicate for one-column string filters
/// (evaluated once per dictionary value), the compiled filter row by row otherwise.
let rowMatcher (filter: Filter.Filter option) (columns: SliceColumns) : int -> bool =
    match filter with
    | None -> fun _ -> true
    | Some f ->
        let byDictionary =
            match Filter.singleColumnPredicate f with
            | Some(name, predicate) ->
                match columns.Stored name with
                | Some(ColumnData.Strings s) when s.MultiIds.IsNone ->
                    let ok = s.Dictionary |> Array.map (fun v -> predicate (if isNull v then Value.Null else Value.String v))
                    let ids = s.Ids
                    Some(fun row -> ok.[ids.[row]])
                | Some(ColumnData.Longs(values, nulls)) ->
                    let ofValue = ValueMemo.longTest f predicate id
                    let ofNull = predicate Value.Null
                    match nulls with
                    | Some nullAt -> Some(fun row -> if nullAt.[row] then ofNull else ofValue values.[row])
                    | None -> Some(fun row -> ofValue values.[row])
                | _ -> None
            | None -> None
        let isArrayColumn (name: string) = isArrayData (columns.Stored name)
        match byDictionary with
        | Some m -> m
        | None when Filter.requiredColumns f |> List.exists isArrayColumn ->
            let truth = arrayAwareTruth isArrayColumn f
            fun row -> truth (fun name -> columns.Cell(name, row)) = Filter.Yes
        | None ->
            let compiled = Filter.compile f
            fun row -> compiled (fun name -> columns.Cell(name, row))

let rec toOut (v: Value) : Json.Out =
    match v with
    | Value.Null -> Json.Out.Null
    | Value.Long l -> Json.Out.Long l
    | Value.Double d -> Json.Out.Double d
    | Value.String s -> Json.Out.String s
    | Value.Array xs -> Json.Out.Array(xs |> Array.map toOut |> List.ofArray)

// ---- segments built from rows ---------------------------------------------------------------

/// A dictionary-encoded string column from per-row values; rows holding arrays of other than
/// one value make it a multi-value column.
let stringColumnOfValues (values: Value[]) : ColumnData =
    let interner = StringInterner()
    let isMulti = values |> Array.exists (function Value.Array xs -> xs.Length <> 1 | _ -> false)
    if isMulti then
        let multi =
            values |> Array.map (fun v ->
                match v with
                | Value.Array xs -> xs |> Array.map (fun x -> interner.Id(Value.toStringOrNull x))
                | v -> [| interner.Id(Value.toStringOrNull v) |])
        ColumnData.Strings { Dictionary = interner.Values; Ids = [||]; MultiIds = Some multi; HasBitmapIndex = true }
    else
        let single = values |> Array.map (fun v -> interner.Id(Value.toStringOrNull v))
        ColumnData.Strings { Dictionary = interner.Values; Ids = single; MultiIds = None; HasBitmapIndex = true }

/// `stringColumnOfValues` of the values of `rowCount` rows, interned as they are made (no
/// array of every row's value) unless a row holds an array of other than one value.
let stringColumnOfRows (rowCount: int) (valueAt: int -> Value) : ColumnData =
    let interner = StringInterner()
    let ids = Array.zeroCreate<int> rowCount
    let mutable r = 0
    let mutable single = true
    while single && r < rowCount do
        match valueAt r with
        | Value.Array xs when xs.Length <> 1 -> single <- false
        | v ->
            ids.[r] <- interner.Id(Value.toStringOrNull v)
            r <- r + 1
    if single then ColumnData.Strings { Dictionary = interner.Values; Ids = ids; MultiIds = None; HasBitmapIndex = true }
    else stringColumnOfValues (Array.init rowCount valueAt)

/// A column of plain values in the stored form its values suggest (or its declared type):
/// all-integer numbers become longs, other numbers doubles, anything else strings
/// (arrays as multi-value strings).
let private columnOf (declared: ColumnType option) (values: Value[]) : ColumnData =
    let isNullValue v = match v with Value.Null -> true | _ -> false
    let isLong v = match v with Value.Long _ | Value.Null -> true | _ -> false
    let isNumber v = match v with Value.Long _ | Value.Double _ | Value.Null -> true | _ -> false
    let kind =
        match declared with
        | Some t -> t
        | None ->
            if values |> Array.forall isNullValue then ColumnType.String
            elif values |> Array.forall isLong then ColumnType.Long
            elif values |> Array.forall isNumber then ColumnType.Double
            else ColumnType.String
    let numbers (zero: 'T) (read: Value -> 'T voption) =
        let numbers = Array.zeroCreate<'T> values.Length
        let mutable nulls: bool[] = null
        for i in 0 .. values.Length - 1 do
            match read values.[i] with
            | ValueSome x -> numbers.[i] <- x
            | ValueNone ->
                if isNull nulls then nulls <- Array.zeroCreate values.Length
                numbers.[i] <- zero
                nulls.[i] <- true
        numbers, Option.ofObj nulls
    match kind with
    | ColumnType.Long ->
        let read v = match v with Value.Long l -> ValueSome l | v -> ValueOption.ofOption (Value.toLong v)
        ColumnData.Longs(numbers 0L read)
    | ColumnType.Float | ColumnType.Double ->
        let read v = match v with Value.Double d -> ValueSome d | v -> ValueOption.ofOption (Value.toDouble v)
        ColumnData.Doubles(numbers 0.0 read)
    | _ -> stringColumnOfValues values

/// A segment holding columns of values already in time order (`times` ascending); string
/// columns become dimensions, numeric ones metrics.
/// A column of plain values in the stored form their values suggest.
let columnOfValues (values: Value[]) : ColumnData = columnOf None values

let rec contentOfColumns (columns: (string * ColumnType option * Value[]) list) (sortedTimes: int64[]) : SegmentContent =
    contentOfBuiltColumns (columns |> List.map (fun (name, declared, values) -> name, columnOf declared values)) sortedTimes

/// A segment holding columns already built, in time order (`times` ascending).
and contentOfBuiltColumns (built: (string * ColumnData) list) (sortedTimes: int64[]) : SegmentContent =
    let isString (_, c: ColumnData) = match c with ColumnData.Strings _ -> true | _ -> false
    let interval =
        if sortedTimes.Length = 0 then Time.eternity
        else { Time.Interval.Start = sortedTimes.[0]; End = sortedTimes.[sortedTimes.Length - 1] + 1L }
    { Interval = interval
      Times = sortedTimes
      Dimensions = built |> List.filter isString
      Metrics = built |> List.filter (isString >> not)
      Metadata = "{}" }

/// A segment holding the given rows: `times` per row, cells per column (in row order).
/// Rows are sorted by time; string columns become dimensions, numeric ones metrics.
let contentOfRows (columns: (string * ColumnType option) list) (times: int64[]) (cells: Value[][]) : SegmentContent =
    // Stable: rows of equal time keep their given order (a subquery's result order).
    let order = Array.init times.Length id
    let mutable sorted = true
    for i in 1 .. times.Length - 1 do
        if times.[i] < times.[i - 1] then sorted <- false
    if not sorted then Array.Sort(order, Comparison(fun x y -> let c = compare times.[x] times.[y] in if c <> 0 then c else compare x y))
    let columns =
        columns |> List.mapi (fun c (name, declared) ->
            name, declared, order |> Array.map (fun r -> let row = cells.[r] in if c < row.Length then row.[c] else Value.Null))
    contentOfColumns columns (order |> Array.map (fun i -> times.[i]))

/// A slice over built content that serves all time.
let sliceOfContent (id: string) (content: SegmentContent) : SegmentSlice =
    { Id = id; Content = content; Serves = Time.eternity }

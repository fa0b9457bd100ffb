/// Aggregator state for dense group ids, fed from one segment's columns. Count and numeric
/// sum/min/max keep plain arrays and use the vector kernels when a whole row range falls into
/// one group (timeseries buckets); other aggregators wrap the ingestion accumulators and read
/// rows through a RowReader. Every state merges with the state of the same spec built for
/// another segment (or none), which is how per-segment partial results combine.
module FunctionalDruid.Core.GroupAggregators

open System
open FunctionalDruid.Core
open FunctionalDruid.Core.Aggregation
open FunctionalDruid.Core.SegmentColumns

/// `a`, or a copy at least twice as long when it has fewer than `n` entries.
let grow (a: 'T[]) (n: int) : 'T[] =
    if n <= a.Length then a
    else
        let b = Array.zeroCreate (max n (max 16 (a.Length * 2)))
        Array.blit a 0 b 0 a.Length
        b

/// Whether `order` is 0, 1, ... `length - 1` (every group in place: a state array of that
/// length can serve as the column itself, no copy).
let isWholeInOrder (order: int[]) (length: int) =
    order.Length = length
    && (let mutable inPlace = true
        let mutable i = 0
        while inPlace && i < order.Length do
            inPlace <- order.[i] = i
            i <- i + 1
        inPlace)

/// Per-group aggregation state. `mask` arguments are row-mask words (bit r of word r/64),
/// null meaning every row.
[<AbstractClass>]
type GroupAgg() =
    /// Makes groups [0, count) addressable.
    abstract EnsureGroups: count: int -> unit
    /// Adds the rows of [lo, hi) set in `mask` to `group`.
    abstract AddRange: lo: int * hi: int * mask: uint64[] * group: int -> unit
    /// Adds rows.[i] to groups.[i] for i < count, in order.
    abstract AddRows: rows: int[] * groups: int[] * count: int -> unit
    /// Combines `sourceGroup` of a state of the same spec into `group`.
    abstract MergeFrom: group: int * source: GroupAgg * sourceGroup: int -> unit
    /// Combines every group i < targets.Length of `source` into `targets.[i]`.
    abstract MergeAll: targets: int[] * source: GroupAgg -> unit
    default this.MergeAll(targets, source) =
        for i in 0 .. targets.Length - 1 do this.MergeFrom(targets.[i], source, i)
    /// Combines group `start + k` of `source` into `targets.[k]` for k < count (a range of
    /// another state's groups, such as one hash partition of them).
    abstract MergeRange: targets: int[] * start: int * count: int * source: GroupAgg -> unit
    default this.MergeRange(targets, start, count, source) =
        for k in 0 .. count - 1 do this.MergeFrom(targets.[k], source, start + k)
    /// Whether groups may be merged into this state in any order (plain arrays); otherwise
    /// new groups must come in increasing order.
    abstract MergesInAnyOrder: bool
    default _.MergesInAnyOrder = false
    /// The intermediate value (sketch estimates unrounded); null when nothing was aggregated.
    abstract Raw: group: int -> Value
    /// The raw values of groups `order` as stored column data, where the state is a plain
    /// number array and some group has a value (None: build it from `Raw`).
    abstract ColumnOf: order: int[] -> ColumnData option
    default _.ColumnOf _ = None
    /// The states as longs and presence flags (flags null: every group has a value), for a
    /// state whose raw value is `Value.Long` or null; otherwise nulls.
    abstract LongStates: unit -> struct (int64[] * bool[])
    default _.LongStates() = struct (null, null)

/// `a AND b` over the words of rows [lo, hi), into `scratch`; either side may be null.
let private andWords (a: uint64[]) (b: uint64[]) (lo: int) (hi: int) (scratch: byref<uint64[]>) : uint64[] =
    if isNull a then b
    elif isNull b then a
    else
        if isNull scratch || scratch.Length < a.Length then scratch <- Array.zeroCreate a.Length
        if lo < hi then
            for w in (lo >>> 6) .. ((hi - 1) >>> 6) do
                scratch.[w] <- a.[w] &&& b.[w]
        scratch

type private CountAgg() =
    inherit GroupAgg()
    let mutable counts: int64[] = [||]
    member _.Counts = counts
    override _.EnsureGroups n = counts <- grow counts n
    override _.AddRange(lo, hi, mask, g) =
        counts.[g] <- counts.[g] + int64 (if isNull mask then hi - lo else Kernels.countMasked mask lo hi)
    override _.AddRows(_, groups, n) =
        for i in 0 .. n - 1 do
            let g = groups.[i]
            counts.[g] <- counts.[g] + 1L
    override _.MergeFrom(g, source, sg) = counts.[g] <- counts.[g] + (source :?> CountAgg).Counts.[sg]
    override _.MergeAll(targets, source) =
        let from = (source :?> CountAgg).Counts
        for i in 0 .. targets.Length - 1 do
            let g = targets.[i]
            counts.[g] <- counts.[g] + from.[i]
    override _.MergeRange(targets, start, count, source) =
        let from = (source :?> CountAgg).Counts
        for k in 0 .. count - 1 do
            let g = targets.[k]
            counts.[g] <- counts.[g] + from.[start + k]
    override _.MergesInAnyOrder = true
    override _.Raw g = Value.Long counts.[g]
    override _.LongStates() = struct (counts, null)
    override _.ColumnOf order =
        Some(ColumnData.Longs((if isWholeInOrder order counts.Length then counts else order |> Array.map (fun g -> counts.[g])), None))

/// Typed operations a numeric state needs; the kernels work on whole arrays and ranges.
[<AbstractClass>]
type private NumberOps<'T>() =
    abstract Sum: 'T[] * int * int -> 'T
    abstract SumMasked: 'T[] * uint64[] * int * int -> 'T
    abstract Extreme: isMin: bool * values: 'T[] * mask: uint64[] * lo: int * hi: int -> struct (bool * 'T)
    abstract Combine: NumericOp * 'T * 'T -> 'T
    abstract OfInput: NumberInput -> 'T voption
    abstract ToValue: 'T -> Value

let private allWords (n: int) =
    let words = Array.create ((n + 63) >>> 6) UInt64.MaxValue
    words

type private LongOps() =
    inherit NumberOps<int64>()
    override _.Sum(v, lo, hi) = Kernels.sumInt64 (ReadOnlySpan(v, lo, hi - lo))
    override _.SumMasked(v, m, lo, hi) = Kernels.sumInt64Masked (ReadOnlySpan v) m lo hi
    override _.Extreme(isMin, v, m, lo, hi) =
        if isNull m then
            if lo >= hi then struct (false, 0L)
            else
                let s = ReadOnlySpan(v, lo, hi - lo)
                struct (true, (if isMin then Kernels.minInt64 s else Kernels.maxInt64 s))
        else
            let mutable found = false
            let r = if isMin then Kernels.minInt64Masked (ReadOnlySpan v) m lo hi &found else Kernels.maxInt64Masked (ReadOnlySpan v) m lo hi &found
            struct (found, r)
    override _.Combine(op, a, b) = match op with NumericOp.Sum -> a + b | NumericOp.Min -> min a b | NumericOp.Max -> max a b
    override _.OfInput i = match i with Whole l -> ValueSome l | Fractional d -> ValueSome(javaLong d) | _ -> ValueNone
    override _.ToValue v = Value.Long v

type private DoubleOps() =
    inherit NumberOps<float>()
    override _.Sum(v, lo, hi) = Kernels.sumDouble (ReadOnlySpan(v, lo, hi - lo))
    override _.SumMasked(v, m, lo, hi) = Kernels.sumDoubleMasked (ReadOnlySpan v) m lo hi
    override _.Extreme(isMin, v, m, lo, hi) =
        if isNull m then
            if lo >= hi then struct (false, 0.0)
            else
                let s = ReadOnlySpan(v, lo, hi - lo)
                struct (true, (if isMin then Kernels.minDouble s else Kernels.maxDouble s))
        else
            let mutable found = false
            let r = if isMin then Kernels.minDoubleMasked (ReadOnlySpan v) m lo hi &found else Kernels.maxDoubleMasked (ReadOnlySpan v) m lo hi &found
            struct (found, r)
    override _.Combine(op, a, b) = match op with NumericOp.Sum -> a + b | NumericOp.Min -> Math.Min(a, b) | NumericOp.Max -> Math.Max(a, b)
    override _.OfInput i = match i with Whole l -> ValueSome(float l) | Fractional d -> ValueSome d | _ -> ValueNone
    override _.ToValue v = Value.Double v

type private FloatOps() =
    inherit NumberOps<float32>()
    override _.Sum(v, lo, hi) = Kernels.sumSingle (ReadOnlySpan(v, lo, hi - lo))
    override _.SumMasked(v, m, lo, hi) = Kernels.sumSingleMasked (ReadOnlySpan v) m lo hi
    override _.Extreme(isMin, v, m, lo, hi) =
        if isNull m then
            if lo >= hi then struct (false, 0.0f)
            else
                let s = ReadOnlySpan(v, lo, hi - lo)
                struct (true, (if isMin then Kernels.minSingle s else Kernels.maxSingle s))
        else
            let mutable found = false
            let r = if isMin then Kernels.minSingleMasked (ReadOnlySpan v) m lo hi &found else Kernels.maxSingleMasked (ReadOnlySpan v) m lo hi &found
            struct (found, r)
    override _.Combine(op, a, b) = match op with NumericOp.Sum -> a + b | NumericOp.Min -> MathF.Min(a, b) | NumericOp.Max -> MathF.Max(a, b)
    override _.OfInput i = match i with Whole l -> ValueSome(float32 l) | Fractional d -> ValueSome(float32 d) | _ -> ValueNone
    override _.ToValue v = Value.Double(float v)

/// Where a numeric state reads its input in one segment.
[<RequireQualifiedAccess>]
type private NumberSource<'T> =
    | NoInput
    /// A column of the state's own type; `notNull` words are null when the column has no nulls.
    | Kernel of values: 'T[] * notNull: uint64[]
    | PerRow of read: (int -> NumberInput)
    /// A long sum of `column + offset` (a virtual column such as `x + 1`) without building
    /// the shifted column: the sum of a range is the column's sum plus offset × present rows,
    /// the same value with wrapping long arithmetic.
    | ShiftedLongs of column: int64[] * notNull: uint64[] * offset: int64 * sums: System.Collections.Generic.Dictionary<struct (obj * obj * obj * int * int), struct (int64 * int)>

type private NumericAgg<'T>(ops: NumberOps<'T>, op: NumericOp, source: NumberSource<'T>) =
    inherit GroupAgg()
    let mutable values: 'T[] = [||]
    let mutable seen: bool[] = [||]
    let mutable scratch: uint64[] = null
    let mutable rowScratch: int[] = null
    member _.Values = values
    member _.Seen = seen
    member _.Combine(g: int, v: 'T) =
        if seen.[g] then values.[g] <- ops.Combine(op, values.[g], v)
        else
            values.[g] <- v
            seen.[g] <- true
    override _.EnsureGroups n =
        values <- grow values n
        seen <- grow seen n
    override this.AddRange(lo, hi, mask, g) =
        match source with
        | NumberSource.NoInput -> ()
        | NumberSource.Kernel(column, notNull) ->
            let m = andWords mask notNull lo hi &scratch
            match op with
            | NumericOp.Sum ->
                let present = if isNull m then hi - lo else Kernels.countMasked m lo hi
                if present > 0 then
                    this.Combine(g, (if isNull m then ops.Sum(column, lo, hi) else ops.SumMasked(column, m, lo, hi)))
            | NumericOp.Min | NumericOp.Max ->
                let struct (found, v) = ops.Extreme((op = NumericOp.Min), column, m, lo, hi)
                if found then this.Combine(g, v)
        | NumberSource.ShiftedLongs(column, notNull, offset, sums) ->
            let key = struct (box column, box notNull, box mask, lo, hi)
            let struct (sum, present) =
                match sums.TryGetValue key with
                | true, known -> known
                | _ ->
                    let m = andWords mask notNull lo hi &scratch
                    let present = if isNull m then hi - lo else Kernels.countMasked m lo hi
                    let sum =
                        if present = 0 then 0L
                        elif isNull m then Kernels.sumInt64 (ReadOnlySpan(column, lo, hi - lo))
                        else Kernels.sumInt64Masked (ReadOnlySpan column) m lo hi
                    sums.[key] <- struct (sum, present)
                    struct (sum, present)
            if present > 0 then this.Combine(g, unbox<'T> (box (sum + offset * int64 present)))
        | NumberSource.PerRow read ->
            if isNull mask then
                for r in lo .. hi - 1 do
                    match ops.OfInput(read r) with
                    | ValueSome v -> this.Combine(g, v)
                    | ValueNone -> ()
            else
                if isNull rowScratch || rowScratch.Length < hi - lo then rowScratch <- Array.zeroCreate (hi - lo)
                let n = Kernels.collectRows mask lo hi rowScratch
                for i in 0 .. n - 1 do
                    match ops.OfInput(read rowScratch.[i]) with
                    | ValueSome v -> this.Combine(g, v)
                    | ValueNone -> ()
    override this.AddRows(rows, groups, n) =
        match source with
        | NumberSource.NoInput -> ()
        | NumberSource.Kernel(column, notNull) ->
            if isNull notNull && op = NumericOp.Sum && (box column :? int64[]) then
                // The hot grouped path: plain adds, no per-row virtual calls.
                let column = box column :?> int64[]
                let sums = box values :?> int64[]
                for i in 0 .. n - 1 do
                    let g = groups.[i]
                    sums.[g] <- sums.[g] + column.[rows.[i]]
                    seen.[g] <- true
            elif isNull notNull && op = NumericOp.Sum && (box column :? float[]) then
                let column = box column :?> float[]
                let sums = box values :?> float[]
                for i in 0 .. n - 1 do
                    let g = groups.[i]
                    sums.[g] <- sums.[g] + column.[rows.[i]]
                    seen.[g] <- true
            elif isNull notNull then
                for i in 0 .. n - 1 do this.Combine(groups.[i], column.[rows.[i]])
            else
                for i in 0 .. n - 1 do
                    let r = rows.[i]
                    if (notNull.[r >>> 6] >>> (r &&& 63)) &&& 1UL <> 0UL then this.Combine(groups.[i], column.[r])
        | NumberSource.ShiftedLongs(column, notNull, offset, _) ->
            for i in 0 .. n - 1 do
                let r = rows.[i]
                if isNull notNull || (notNull.[r >>> 6] >>> (r &&& 63)) &&& 1UL <> 0UL then
                    this.Combine(groups.[i], unbox<'T> (box (column.[r] + offset)))
        | NumberSource.PerRow read ->
            for i in 0 .. n - 1 do
                match ops.OfInput(read rows.[i]) with
                | ValueSome v -> this.Combine(groups.[i], v)
                | ValueNone -> ()
    override this.MergeFrom(g, source, sg) =
        let s = source :?> NumericAgg<'T>
        if s.Seen.[sg] then this.Combine(g, s.Values.[sg])
    override this.MergeAll(targets, source) =
        let s = source :?> NumericAgg<'T>
        let from, fromSeen = s.Values, s.Seen
        for i in 0 .. targets.Length - 1 do
            if fromSeen.[i] then this.Combine(targets.[i], from.[i])
    override this.MergeRange(targets, start, count, source) =
        let s = source :?> NumericAgg<'T>
        let from, fromSeen = s.Values, s.Seen
        for k in 0 .. count - 1 do
            let i = start + k
            if fromSeen.[i] then this.Combine(targets.[k], from.[i])
    override _.MergesInAnyOrder = true
    override _.Raw g = if seen.[g] then ops.ToValue values.[g] else Value.Null
    override _.LongStates() =
        match box values with
        | :? (int64[]) as longs -> struct (longs, seen)
        | _ -> struct (null, null)
    override _.ColumnOf order =
        if not (order |> Array.exists (fun g -> seen.[g])) then None
        else
            let nulls = if order |> Array.forall (fun g -> seen.[g]) then None else Some(order |> Array.map (fun g -> not seen.[g]))
            // Values of groups never seen stay 0: in place, the states are the column.
            let inPlace = isWholeInOrder order values.Length
            match box values with
            | :? (int64[]) as longs when inPlace -> Some(ColumnData.Longs(longs, nulls))
            | :? (float[]) as doubles when inPlace -> Some(ColumnData.Doubles(doubles, nulls))
            | :? (int64[]) as longs -> Some(ColumnData.Longs(order |> Array.map (fun g -> if seen.[g] then longs.[g] else 0L), nulls))
            | :? (float[]) as doubles -> Some(ColumnData.Doubles(order |> Array.map (fun g -> if seen.[g] then doubles.[g] else 0.0), nulls))
            | :? (float32[]) as floats -> Some(ColumnData.Doubles(order |> Array.map (fun g -> if seen.[g] then float floats.[g] else 0.0), nulls))
            | _ -> None

/// A filtered aggregator whose inner state is array-based: the filter becomes a row mask.
type private FilteredAgg(inner: GroupAgg, filterWords: uint64[]) =
    inherit GroupAgg()
    let mutable scratch: uint64[] = null
    let mutable rows2: int[] = [||]
    let mutable groups2: int[] = [||]
    member _.Inner = inner
    override _.EnsureGroups n = inner.EnsureGroups n
    override _.AddRange(lo, hi, mask, g) =
        if isNull mask then inner.AddRange(lo, hi, filterWords, g)
        else inner.AddRange(lo, hi, andWords mask filterWords lo hi &scratch, g)
    override _.AddRows(rows, groups, n) =
        rows2 <- grow rows2 n
        groups2 <- grow groups2 n
        let mutable k = 0
        for i in 0 .. n - 1 do
            let r = rows.[i]
            if (filterWords.[r >>> 6] >>> (r &&& 63)) &&& 1UL <> 0UL then
                rows2.[k] <- r
                groups2.[k] <- groups.[i]
                k <- k + 1
        inner.AddRows(rows2, groups2, k)
    override _.MergeFrom(g, source, sg) =
        let s = match source with :? FilteredAgg as f -> f.Inner | other -> other
        inner.MergeFrom(g, s, sg)
    override _.MergeAll(targets, source) =
        inner.MergeAll(targets, (match source with :? FilteredAgg as f -> f.Inner | other -> other))
    override _.MergeRange(targets, start, count, source) =
        inner.MergeRange(targets, start, count, (match source with :? FilteredAgg as f -> f.Inner | other -> other))
    override _.MergesInAnyOrder = inner.MergesInAnyOrder
    override _.Raw g = inner.Raw g
    override _.ColumnOf order = inner.ColumnOf order
    override _.LongStates() = inner.LongStates()

/// Where a stringMin / stringMax reads its values in one segment.
[<RequireQualifiedAccess>]
type private StringInput =
    /// A single-value string column (ids and dictionary).
    | Dictionary of ids: int[] * dictionary: string[]
    /// Any other column or expression, one value per row (a multi-value row offers each).
    | PerRow of (int -> Value)
    /// Merging, or a column the segment lacks (every row null).
    | NoInput

/// stringMin / stringMax per group. Over a single-value string column a group keeps the
/// dictionary id of its best value (a row repeating it costs an int compare, no string is
/// made); otherwise, and when merging, it keeps the best string itself. Ranking a whole
/// dictionary up front would cost more than the rows a filtered query reads.
type private StringExtremeAgg(isMax: bool, input: StringInput) =
    inherit GroupAgg()
    let mutable bestIds: int[] = [||]
    let mutable texts: string[] = [||]
    let mutable rowScratch: int[] = [||]
    member _.TextOf(g: int) : string =
        match input with
        | StringInput.Dictionary(_, dictionary) -> if bestIds.[g] < 0 then null else dictionary.[bestIds.[g]]
        | _ -> texts.[g]
    member private this.AddRow(g: int, r: int) =
        match input with
        | StringInput.Dictionary(ids, dictionary) ->
            let id = ids.[r]
            let best = bestIds.[g]
            if id <> best then
                let current = if best < 0 then null else dictionary.[best]
                if Aggregation.extremeWins isMax dictionary.[id] current then bestIds.[g] <- id
        | StringInput.PerRow read -> texts.[g] <- Aggregation.extremeOf isMax texts.[g] (read r)
        | StringInput.NoInput -> ()
    override _.EnsureGroups n =
        match input with
        | StringInput.Dictionary _ when n > bestIds.Length ->
            let before = bestIds.Length
            bestIds <- grow bestIds n
            Array.fill bestIds before (bestIds.Length - before) -1
        | StringInput.Dictionary _ -> ()
        | _ -> texts <- grow texts n
    override this.AddRange(lo, hi, mask, g) =
        match input with
        | StringInput.Dictionary(ids, _) when isNull mask ->
            // Runs of one value (a day segment's date) cost an int compare per row.
            let mutable last = -1
            for r in lo .. hi - 1 do
                if ids.[r] <> last then
                    last <- ids.[r]
                    this.AddRow(g, r)
        | _ ->
            rowScratch <- grow rowScratch (hi - lo)
            let n = Kernels.collectRows mask lo hi rowScratch
            for i in 0 .. n - 1 do this.AddRow(g, rowScratch.[i])
    override this.AddRows(rows, groupsOf, n) = for i in 0 .. n - 1 do this.AddRow(groupsOf.[i], rows.[i])
    override this.MergeFrom(g, source, sg) =
        let t = (source :?> StringExtremeAgg).TextOf sg
        if Aggregation.extremeWins isMax t texts.[g] then texts.[g] <- t
    override _.MergesInAnyOrder = true
    override this.Raw g = match this.TextOf g with null -> Value.Null | t -> Value.String t

/// Any other aggregator, through the ingestion accumulators. Groups must first appear in
/// increasing order, which holds because group ids are handed out in row order.
type private AccumulatorAgg(acc: IngestAccumulator, addRow: (IngestAccumulator -> int -> int -> unit) option) =
    inherit GroupAgg()
    let mutable rowScratch: int[] = null
    member _.Accumulator = acc
    override _.EnsureGroups _ = ()
    override _.AddRange(lo, hi, mask, g) =
        match addRow with
        | None -> ()
        | Some add ->
            if isNull mask then
                for r in lo .. hi - 1 do add acc g r
            else
                if isNull rowScratch || rowScratch.Length < hi - lo then rowScratch <- Array.zeroCreate (hi - lo)
                let n = Kernels.collectRows mask lo hi rowScratch
                for i in 0 .. n - 1 do add acc g rowScratch.[i]
    override _.AddRows(rows, groups, n) =
        match addRow with
        | None -> ()
        | Some add -> for i in 0 .. n - 1 do add acc groups.[i] rows.[i]
    override _.MergeFrom(g, source, sg) = acc.Merge(g, (source :?> AccumulatorAgg).Accumulator, sg)
    override _.Raw g =
        if g >= acc.Count then Value.Null
        else
            match acc.ToColumn [| g |] with
            | ColumnData.Complex(typeName, blobs) -> decodeComplex typeName blobs.[0]
            | column -> column.Cell 0

let rec private isArraySpec (spec: AggregatorSpec) =
    match spec with
    | Count _ | Numeric _ | StringExtreme _ -> true
    | Filtered(_, _, inner) -> isArraySpec inner
    | _ -> false

let private notNullWords (columns: Columns) (name: string) =
    match columns.NotNull name with
    | Some set -> set.Words
    | None -> null

let private numberReader (columns: Columns) (reader: RowReader) (a: NumericAggregator) : (int -> NumberInput) option =
    match a.FieldName, a.Expression with
    | Some f, _ ->
        match columns.Column f with
        | Some(ColumnData.Longs(v, nulls)) -> Some(fun r -> if nulls.IsSome && nulls.Value.[r] then NoNumber else Whole v.[r])
        | Some(ColumnData.Doubles(v, nulls)) -> Some(fun r -> if nulls.IsSome && nulls.Value.[r] then NoNumber else Fractional v.[r])
        | Some(ColumnData.Floats(v, nulls)) -> Some(fun r -> if nulls.IsSome && nulls.Value.[r] then NoNumber else Fractional(float v.[r]))
        | Some(ColumnData.Strings _ as c) -> Some(fun r -> readNumber (c.Cell r))
        | Some(ColumnData.Complex _ | ColumnData.LongArrays _ | ColumnData.DoubleArrays _ | ColumnData.StringArrays _) | None -> None
    | None, Some e ->
        match Expr.parseCompiled e with
        | Ok compiled ->
            let get = reader.Get
            Some(fun r ->
                reader.Row <- r
                readNumber (compiled get))
        | Error problem -> raise (Json.JsonError("expression", problem))
    | None, None -> None

/// A long sum over a virtual column `x + k`, `k + x` or `x - k` of a stored long column `x`
/// (SQL's `SUM(x + 1)`): the column, its not-null rows and the offset.
let private shiftedLongs (columns: Columns) (a: NumericAggregator) : (int64[] * uint64[] * int64) option =
    if a.Type <> NumericType.Long || a.Op <> NumericOp.Sum || a.Expression.IsSome then None
    else
        let stored name offset =
            match columns.Virtual name, columns.Column name with
            | None, Some(ColumnData.Longs(values, _)) -> Some(values, notNullWords columns name, offset)
            | _ -> None
        match a.FieldName |> Option.bind columns.Virtual with
        | Some v when (v.OutputType = None || v.OutputType = Some ColumnType.Long) ->
            match v.Parsed with
            | ExprSyntax.Expr.Binary(ExprSyntax.Add, ExprSyntax.Expr.Identifier x, ExprSyntax.Expr.Literal(Value.Long k))
            | ExprSyntax.Expr.Binary(ExprSyntax.Add, ExprSyntax.Expr.Literal(Value.Long k), ExprSyntax.Expr.Identifier x) -> stored x k
            | ExprSyntax.Expr.Binary(ExprSyntax.Subtract, ExprSyntax.Expr.Identifier x, ExprSyntax.Expr.Literal(Value.Long k)) -> stored x (0L - k)
            | _ -> None
        | _ -> None

let private numeric (columns: Columns option) (reader: RowReader) (a: NumericAggregator) : GroupAgg =
    let sourceOf (kernel: ColumnData -> 'T[] option) : NumberSource<'T> =
        match columns with
        | None -> NumberSource.NoInput
        | Some cols ->
        match shiftedLongs cols a with
        | Some(column, notNull, offset) when typeof<'T> = typeof<int64> -> NumberSource.ShiftedLongs(column, notNull, offset, cols.LongRangeSums)
        | _ ->
            let direct = a.FieldName |> Option.bind (fun f -> cols.Column f |> Option.bind kernel |> Option.map (fun v -> v, notNullWords cols f))
            match direct with
            | Some(values, notNull) -> NumberSource.Kernel(values, notNull)
            | None ->
                match numberReader cols reader a with
                | Some read -> NumberSource.PerRow read
                | None -> NumberSource.NoInput
    match a.Type with
    | NumericType.Long -> NumericAgg<int64>(LongOps(), a.Op, sourceOf (function ColumnData.Longs(v, _) -> Some v | _ -> None)) :> GroupAgg
    | NumericType.Double -> NumericAgg<float>(DoubleOps(), a.Op, sourceOf (function ColumnData.Doubles(v, _) -> Some v | _ -> None)) :> GroupAgg
    | NumericType.Float -> NumericAgg<float32>(FloatOps(), a.Op, sourceOf (function ColumnData.Floats(v, _) -> Some v | _ -> None)) :> GroupAgg

/// How an accumulator takes one row: stored sketches and first/last pairs merge their state,
/// everything else reads the row.
let private rowFeeder (columns: Columns) (reader: RowReader) (spec: AggregatorSpec) : IngestAccumulator -> int -> int -> unit =
    let stateColumn =
        match spec with
        | HyperUnique a ->
            match columns.Column a.FieldName with
            | Some(ColumnData.Complex _ as c) -> Some(accumulatorOfColumn (HyperUnique { a with IsInputHyperUnique = false }) c)
            | _ -> None
        | FirstLast a ->
            match columns.Column a.FieldName with
            | Some(ColumnData.Complex _ as c) when a.TimeColumn = AggregatorSpec.timeColumnName -> Some(accumulatorOfColumn spec c)
            | _ -> None
        | _ -> None
    // cardinality of one single-value string column: each dictionary value is hashed once.
    let dictionaryHashes =
        match spec with
        | Cardinality a when not a.ByRow ->
            match a.Fields with
            | [ f ] when f.OtherSpecJson.IsNone ->
                match columns.Column f.Dimension with
                | Some(ColumnData.Strings s) when s.MultiIds.IsNone ->
                    let hashes = s.Dictionary |> Array.map (fun v -> if isNull v then ValueNone else ValueSome(Aggregation.cardinalityHash v))
                    Some(s.Ids, hashes)
                | _ -> None
            | _ -> None
        | _ -> None
    match stateColumn, dictionaryHashes with
    | Some state, _ -> fun acc g r -> acc.Merge(g, state, r)
    | None, Some(ids, hashes) -> fun acc g r -> Aggregation.addCardinalityHash acc g hashes.[ids.[r]]
    | None, None ->
        let times = columns.Times
        let get = reader.Get
        fun acc g r ->
            reader.Row <- r
            acc.Add(g, times.[r], get)

/// The state of one aggregator for one segment (`columns`), or for merging (None).
let rec create (columns: Columns option) (spec: AggregatorSpec) : GroupAgg =
    let reader = match columns with Some c -> RowReader(c) | None -> Unchecked.defaultof<RowReader>
    match spec with
    | Count _ -> CountAgg() :> GroupAgg
    | Numeric a -> numeric columns reader a
    | StringExtreme a ->
        let input =
            match columns |> Option.map (fun cols -> cols.Column a.FieldName) with
            | Some(Some(ColumnData.Strings s)) when s.MultiIds.IsNone -> StringInput.Dictionary(s.Ids, s.Dictionary)
            | Some(Some _) ->
                let get = reader.Get
                StringInput.PerRow(fun r ->
                    reader.Row <- r
                    get a.FieldName)
            | Some None | None -> StringInput.NoInput
        StringExtremeAgg(a.IsMax, input) :> GroupAgg
    | Filtered(_, filterJson, inner) when isArraySpec inner ->
        let words =
            match columns with
            | None -> null
            | Some cols ->
                match Json.run filterJson Filter.parse with
                | Ok f -> (FilterBitmaps.matching cols f).Words
                | Error(path, problem) -> raise (Json.JsonError(Json.childPath "filter" path, problem))
        FilteredAgg(create columns inner, words) :> GroupAgg
    | _ ->
        let acc = createAccumulator spec
        match columns with
        | None -> AccumulatorAgg(acc, None) :> GroupAgg
        | Some cols -> AccumulatorAgg(acc, Some(rowFeeder cols reader spec)) :> GroupAgg

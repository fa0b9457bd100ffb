/// Ingestion-time aggregation: columnar accumulators that roll rows up into groups, merge
/// groups of persisted spills, and write metric columns; plus decoding of stored metric
/// values for queries. Specs themselves live in AggregatorSpec.fs (re-exported here).
///
/// Semantics follow Druid in SQL-compatible null mode: sum/min/max skip null inputs and are
/// null for a group that saw none; count counts rows; first/last take the value (null
/// included) of the earliest/latest row, ties going to the first row seen for `first` and the
/// last row seen for `last`.
module FunctionalDruid.Core.Aggregation

open System
open System.Buffers.Binary
open System.Globalization
open System.Text

let parse = AggregatorSpec.parse
let parseList = AggregatorSpec.parseList
let name = AggregatorSpec.name
let toJson = AggregatorSpec.toJson
let inputFields = AggregatorSpec.inputFields
let storageType = AggregatorSpec.storageType
let combining = AggregatorSpec.combining

// ---------------------------------------------------------------------------------------
// Numeric coercion
// ---------------------------------------------------------------------------------------

/// A row value read as a number the way Druid's ingestion does (Rows.objectToNumber).
[<Struct>]
type NumberInput =
    | NoNumber
    | Whole of whole: int64
    | Fractional of fractional: float
    /// Druid raises a parse exception here (the row counts as processed with error); the
    /// accumulators treat it as null and `numberProblem` reports it.
    | Unparseable

let private parseNumberText (s: string) : NumberInput =
    let mutable t = s.Trim()
    if t.IndexOf ',' >= 0 then t <- t.Replace(",", "")
    if t.Length > 1 && t.[0] = '+' && Char.IsAsciiDigit t.[1] then t <- t.Substring 1
    match Int64.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) with
    | true, l -> Whole l
    | _ ->
        match Double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, d when t.Length > 0 -> Fractional d
        | _ -> Unparseable

/// Numbers as they are; strings trimmed, thousands commas and a leading '+' dropped, then
/// parsed as a long or else a double; a one-element array is its element.
let rec readNumber (v: Value) : NumberInput =
    match v with
    | Value.Null -> NoNumber
    | Value.Long l -> Whole l
    | Value.Double d -> Fractional d
    | Value.String s -> parseNumberText s
    | Value.Array [||] -> NoNumber
    | Value.Array [| x |] -> readNumber x
    | Value.Array _ -> Unparseable

/// Druid's message for a value a numeric aggregator cannot read, if it is one.
let numberProblem (fieldName: string) (v: Value) : string option =
    match readNumber v with
    | Unparseable -> Some(sprintf "Unable to parse value[%s] for field[%s]" (Value.toStringOrNull v) fieldName)
    | _ -> None

/// Java's (long) cast of a double: truncation, saturating, NaN to 0.
let javaLong (d: float) : int64 =
    if Double.IsNaN d then 0L
    elif d >= 9.223372036854775807e18 then Int64.MaxValue
    elif d <= -9.223372036854775808e18 then Int64.MinValue
    else int64 d

// ---------------------------------------------------------------------------------------
// First/last pairs as stored in complex columns
// ---------------------------------------------------------------------------------------

/// A (time, value) pair's bytes: 8-byte big-endian time, a flag byte (0 = value present,
/// 1 = null), then the value: big-endian long (8 bytes), double bits (8), float bits (4), or
/// the string's UTF-8 bytes to the end.
let encodePair (pairType: PairType) (time: int64) (value: Value) : byte[] =
    let valueBytes =
        match pairType, value with
        | _, Value.Null -> [||]
        | PairType.Long, v ->
            let b = Array.zeroCreate 8
            match readNumber v with
            | Whole l -> BinaryPrimitives.WriteInt64BigEndian(b.AsSpan(), l)
            | Fractional d -> BinaryPrimitives.WriteInt64BigEndian(b.AsSpan(), javaLong d)
            | _ -> ()
            b
        | PairType.Double, v ->
            let b = Array.zeroCreate 8
            let d = match readNumber v with Whole l -> float l | Fractional d -> d | _ -> 0.0
            BinaryPrimitives.WriteInt64BigEndian(b.AsSpan(), BitConverter.DoubleToInt64Bits d)
            b
        | PairType.Float, v ->
            let b = Array.zeroCreate 4
            let f = match readNumber v with Whole l -> float32 l | Fractional d -> float32 d | _ -> 0.0f
            BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(), BitConverter.SingleToInt32Bits f)
            b
        | PairType.String, v -> Encoding.UTF8.GetBytes(Value.toStringOrNull v)
    let out = Array.zeroCreate (9 + valueBytes.Length)
    BinaryPrimitives.WriteInt64BigEndian(out.AsSpan(), time)
    out.[8] <- if valueBytes.Length = 0 && value = Value.Null then 1uy else 0uy
    Array.blit valueBytes 0 out 9 valueBytes.Length
    out

/// The (time, value) of a stored pair; None for bytes that are not one.
let decodePair (pairType: PairType) (bytes: byte[]) : (int64 * Value) option =
    if isNull bytes || bytes.Length < 9 then None
    else
        let time = BinaryPrimitives.ReadInt64BigEndian(ReadOnlySpan(bytes, 0, 8))
        let body = ReadOnlySpan(bytes, 9, bytes.Length - 9)
        if bytes.[8] = 1uy then Some(time, Value.Null)
        else
            match pairType with
            | PairType.Long when body.Length = 8 -> Some(time, Value.Long(BinaryPrimitives.ReadInt64BigEndian body))
            | PairType.Double when body.Length = 8 ->
                Some(time, Value.Double(BitConverter.Int64BitsToDouble(BinaryPrimitives.ReadInt64BigEndian body)))
            | PairType.Float when body.Length = 4 ->
                Some(time, Value.Double(float (BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32BigEndian body))))
            | PairType.String -> Some(time, Value.String(Encoding.UTF8.GetString body))
            | _ -> None

let private pairTypeOfName (typeName: string) =
    match typeName with
    | "serializablePairLongLong" -> Some PairType.Long
    | "serializablePairLongDouble" -> Some PairType.Double
    | "serializablePairLongFloat" -> Some PairType.Float
    | "serializablePairLongString" -> Some PairType.String
    | _ -> None

/// A stored complex value as a query reads it: a pair's value, or an HLL's estimate.
/// Unknown types and malformed bytes are null.
let decodeComplex (typeName: string) (bytes: byte[]) : Value =
    match pairTypeOfName typeName with
    | Some t -> decodePair t bytes |> Option.map snd |> Option.defaultValue Value.Null
    | None when typeName = AggregatorSpec.hyperUniqueTypeName || typeName = AggregatorSpec.preComputedHyperUniqueTypeName ->
        match Hll.tryOfBytes (if isNull bytes then [||] else bytes) with
        | Ok h -> Value.Double(Hll.estimate h)
        | Error _ -> Value.Null
    | None -> Value.Null

/// Druid's finalizeComputation on an intermediate value: sketches with `round` become
/// Java-rounded longs, and a missing sketch is 0; everything else is already final.
let rec finalize (spec: AggregatorSpec) (v: Value) : Value =
    match spec with
    | HyperUnique { Round = round } | Cardinality { Round = round } ->
        match v with
        | Value.Null -> Value.Long 0L
        | Value.Double d when round -> Value.Long(Hll.roundEstimate d)
        | other -> other
    | Filtered(_, _, inner) -> finalize inner v
    | _ -> v

// ---------------------------------------------------------------------------------------
// Accumulators
// ---------------------------------------------------------------------------------------

/// The rolled-up state of one aggregator for dense group ids, stored column-wise.
type IngestAccumulator =
    /// Adds a row to `group`; `group = Count` appends a new group.
    abstract Add: group: int * time: int64 * row: (string -> Value) -> unit
    /// Combines `sourceGroup` of another accumulator of the same spec into `group`
    /// (`group = Count` appends).
    abstract Merge: group: int * source: IngestAccumulator * sourceGroup: int -> unit
    abstract Count: int
    /// The metric column with one row per entry of `order` (group ids).
    abstract ToColumn: order: int[] -> ColumnData
    /// Estimated bytes per group, for maxBytesInMemory.
    abstract BytesPerGroup: int

/// How to evaluate the parts of aggregators written in other languages; supplied by the
/// expression and filter modules. Both receive the row time and the row.
type RowFunctions =
    { CompileExpression: string -> (int64 -> (string -> Value) -> Value)
      CompileFilter: string -> (int64 -> (string -> Value) -> bool) }

let private grow (a: 'T[]) (n: int) : 'T[] =
    if n <= a.Length then a
    else
        let b = Array.zeroCreate (max n (max 16 (a.Length * 2)))
        Array.blit a 0 b 0 a.Length
        b

let private nullMask (seen: bool[]) (order: int[]) =
    if order |> Array.forall (fun g -> seen.[g]) then None else Some(order |> Array.map (fun g -> not seen.[g]))

[<AbstractClass>]
type private AccumulatorBase() =
    let mutable count = 0
    /// Makes room for slot `group` (the next one) and initialises it.
    abstract AppendSlot: group: int -> unit
    abstract AddToSlot: group: int * time: int64 * row: (string -> Value) -> unit
    abstract MergeSlot: group: int * source: AccumulatorBase * sourceGroup: int -> unit
    abstract Column: order: int[] -> ColumnData
    abstract Bytes: int
    member _.GroupCount = count
    member this.Slot(group: int) =
        if group = count then
            this.AppendSlot group
            count <- count + 1
        elif group < 0 || group > count then
            raise (ArgumentOutOfRangeException("group", sprintf "group %d is neither an existing group nor the next one (%d)" group count))
    interface IngestAccumulator with
        member this.Add(group, time, row) =
            this.Slot group
            this.AddToSlot(group, time, row)
        member this.Merge(group, source, sourceGroup) =
            let source =
                match source with
                | :? FilteredAccumulator as f -> f.Inner
                | :? AccumulatorBase as s -> s
                | _ -> invalidArg "source" "not an accumulator of this module"
            if sourceGroup < 0 || sourceGroup >= source.GroupCount then
                raise (ArgumentOutOfRangeException("sourceGroup", sprintf "source has no group %d" sourceGroup))
            this.Slot group
            this.MergeSlot(group, source, sourceGroup)
        member _.Count = count
        member this.ToColumn order = this.Column order
        member this.BytesPerGroup = this.Bytes

/// Runs the inner accumulator on rows the filter keeps; every group exists in both.
and private FilteredAccumulator(inner: AccumulatorBase, keep: int64 -> (string -> Value) -> bool) =
    inherit AccumulatorBase()
    member _.Inner = inner
    override _.AppendSlot group = inner.Slot group
    override _.AddToSlot(group, time, row) = if keep time row then inner.AddToSlot(group, time, row)
    override _.MergeSlot(group, source, sourceGroup) = inner.MergeSlot(group, source, sourceGroup)
    override _.Column order = inner.Column order
    override _.Bytes = inner.Bytes

let private mismatch () : 'a = invalidArg "source" "accumulators of different aggregators cannot be merged"

type private CountAccumulator() =
    inherit AccumulatorBase()
    let mutable counts: int64[] = [||]
    member _.Counts = counts
    member _.AddCount(group: int, n: int64) = counts.[group] <- counts.[group] + n
    override _.AppendSlot group = counts <- grow counts (group + 1)
    override _.AddToSlot(group, _, _) = counts.[group] <- counts.[group] + 1L
    override _.MergeSlot(group, source, sourceGroup) =
        match source with
        | :? CountAccumulator as s -> counts.[group] <- counts.[group] + s.Counts.[sourceGroup]
        | _ -> mismatch ()
    override _.Column order = ColumnData.Longs(order |> Array.map (fun g -> counts.[g]), None)
    override _.Bytes = 8

/// Sums, minimums and maximums of one numeric type: `ofInput` turns an input number into the
/// type (Druid truncates doubles for long aggregators, floats add in single precision),
/// `combine` applies the operation and `toColumn` builds the typed column.
type private NumericAccumulator<'T>(
    op: NumericOp,
    read: int64 -> (string -> Value) -> Value,
    ofInput: NumberInput -> 'T voption,
    combine: NumericOp -> 'T -> 'T -> 'T,
    toColumn: 'T[] -> bool[] option -> ColumnData,
    bytes: int) =
    inherit AccumulatorBase()
    let mutable values: 'T[] = [||]
    let mutable seen: bool[] = [||]
    member _.Values = values
    member _.Seen = seen
    member _.Combine(group: int, v: 'T) =
        if not seen.[group] then
            values.[group] <- v
            seen.[group] <- true
        else values.[group] <- combine op values.[group] v
    override _.AppendSlot group =
        values <- grow values (group + 1)
        seen <- grow seen (group + 1)
    member this.AddNumber(group: int, input: NumberInput) =
        match ofInput input with
        | ValueSome v -> this.Combine(group, v)
        | ValueNone -> ()
    override this.AddToSlot(group, time, row) = this.AddNumber(group, readNumber (read time row))
    override this.MergeSlot(group, source, sourceGroup) =
        match source with
        | :? NumericAccumulator<'T> as s -> if s.Seen.[sourceGroup] then this.Combine(group, s.Values.[sourceGroup])
        | _ -> mismatch ()
    override _.Column order = toColumn (order |> Array.map (fun g -> values.[g])) (nullMask seen order)
    override _.Bytes = bytes

let private longAccumulator op read =
    NumericAccumulator<int64>(
        op, read,
        (function Whole l -> ValueSome l | Fractional d -> ValueSome(javaLong d) | NoNumber | Unparseable -> ValueNone),
        (fun op a b -> match op with NumericOp.Sum -> a + b | NumericOp.Min -> min a b | NumericOp.Max -> max a b),
        (fun v n -> ColumnData.Longs(v, n)), 9)

let private doubleAccumulator op read =
    NumericAccumulator<float>(
        op, read,
        (function Whole l -> ValueSome(float l) | Fractional d -> ValueSome d | NoNumber | Unparseable -> ValueNone),
        (fun op a b -> match op with NumericOp.Sum -> a + b | NumericOp.Min -> Math.Min(a, b) | NumericOp.Max -> Math.Max(a, b)),
        (fun v n -> ColumnData.Doubles(v, n)), 9)

let private floatAccumulator op read =
    NumericAccumulator<float32>(
        op, read,
        (function Whole l -> ValueSome(float32 l) | Fractional d -> ValueSome(float32 d) | NoNumber | Unparseable -> ValueNone),
        (fun op a b -> match op with NumericOp.Sum -> a + b | NumericOp.Min -> MathF.Min(a, b) | NumericOp.Max -> MathF.Max(a, b)),
        (fun v n -> ColumnData.Floats(v, n)), 5)

/// Druid's StringUtils.chop: the longest prefix of at most `maxBytes` UTF-8 bytes that does
/// not split a character.
let truncateUtf8 (maxBytes: int) (s: string) : string =
    if isNull s || s.Length * 3 <= maxBytes || Encoding.UTF8.GetByteCount s <= maxBytes then s
    else
        let mutable bytes = 0
        let mutable i = 0
        let mutable fits = true
        while fits && i < s.Length do
            let width, chars =
                if Char.IsHighSurrogate s.[i] && i + 1 < s.Length && Char.IsLowSurrogate s.[i + 1] then 4, 2
                elif int s.[i] < 0x80 then 1, 1
                elif int s.[i] < 0x800 then 2, 1
                else 3, 1
            if bytes + width > maxBytes then fits <- false
            else
                bytes <- bytes + width
                i <- i + chars
        s.Substring(0, i)

/// First/last state: per group the winning time, whether a timed row was seen, and the
/// value (null flag plus a long, double or string slot depending on the pair type).
type private FirstLastAccumulator(spec: FirstLastAggregator) =
    inherit AccumulatorBase()
    let typeName = match AggregatorSpec.storageType (FirstLast spec) with ColumnType.Complex t -> t | _ -> ""
    let noTime = if spec.IsLast then Int64.MinValue else Int64.MaxValue
    let mutable times: int64[] = [||]
    let mutable seen: bool[] = [||]
    let mutable isNullValue: bool[] = [||]
    let mutable longs: int64[] = [||]
    let mutable doubles: float[] = [||]
    let mutable strings: string[] = [||]
    member _.Times = times
    member _.Seen = seen
    member _.IsNullValue = isNullValue
    member _.Longs = longs
    member _.Doubles = doubles
    member _.Strings = strings
    member _.Wins(group: int, time: int64) =
        not seen.[group] || (if spec.IsLast then time >= times.[group] else time < times.[group])
    member this.Set(group: int, time: int64, v: Value) =
        times.[group] <- time
        seen.[group] <- true
        match spec.Type with
        | PairType.String ->
            let s = truncateUtf8 spec.MaxStringBytes (Value.toStringOrNull v)
            strings.[group] <- s
            isNullValue.[group] <- isNull s
        | pairType ->
            isNullValue.[group] <- false
            match pairType, readNumber v with
            | PairType.Long, Whole l -> longs.[group] <- l
            | PairType.Long, Fractional d -> longs.[group] <- javaLong d
            | PairType.Double, Whole l -> doubles.[group] <- float l
            | PairType.Double, Fractional d -> doubles.[group] <- d
            | PairType.Float, Whole l -> doubles.[group] <- float (float32 l)
            | PairType.Float, Fractional d -> doubles.[group] <- float (float32 d)
            | _ -> isNullValue.[group] <- true
    member this.CopyFrom(group: int, s: FirstLastAccumulator, sourceGroup: int) =
        times.[group] <- s.Times.[sourceGroup]
        seen.[group] <- true
        isNullValue.[group] <- s.IsNullValue.[sourceGroup]
        match spec.Type with
        | PairType.Long -> longs.[group] <- s.Longs.[sourceGroup]
        | PairType.String -> strings.[group] <- s.Strings.[sourceGroup]
        | _ -> doubles.[group] <- s.Doubles.[sourceGroup]
    member _.ValueOf(group: int) =
        if isNullValue.[group] then Value.Null
        else
            match spec.Type with
            | PairType.Long -> Value.Long longs.[group]
            | PairType.String -> Value.String strings.[group]
            | _ -> Value.Double doubles.[group]
    override _.AppendSlot group =
        let n = group + 1
        times <- grow times n
        times.[group] <- noTime
        seen <- grow seen n
        isNullValue <- grow isNullValue n
        isNullValue.[group] <- true
        match spec.Type with
        | PairType.Long -> longs <- grow longs n
        | PairType.String -> strings <- grow strings n
        | _ -> doubles <- grow doubles n
    override this.AddToSlot(group, time, row) =
        let rowTime =
            if spec.TimeColumn = AggregatorSpec.timeColumnName then ValueSome time
            else
                match readNumber (row spec.TimeColumn) with
                | Whole l -> ValueSome l
                | Fractional d -> ValueSome(javaLong d)
                | _ -> ValueNone
        match rowTime with
        | ValueSome t when this.Wins(group, t) -> this.Set(group, t, row spec.FieldName)
        | _ -> ()
    override this.MergeSlot(group, source, sourceGroup) =
        match source with
        | :? FirstLastAccumulator as s ->
            // The source holds later rows, so on equal times `last` takes it and `first` does not.
            if s.Seen.[sourceGroup] && this.Wins(group, s.Times.[sourceGroup]) then this.CopyFrom(group, s, sourceGroup)
        | _ -> mismatch ()
    override this.Column order =
        ColumnData.Complex(typeName, order |> Array.map (fun g -> encodePair spec.Type times.[g] (this.ValueOf g)))
    override _.Bytes = if spec.Type = PairType.String then 8 + 4 + spec.MaxStringBytes else 24

/// Whether `candidate` beats `current` (null: none yet) for a string MIN (`isMax` false) or
/// MAX, in UTF-8 byte order; a null candidate never does.
let extremeWins (isMax: bool) (candidate: string) (current: string) =
    not (isNull candidate)
    && (isNull current || (let c = ExprOps.compareUtf8 candidate current in if isMax then c > 0 else c < 0))

/// The best of `current` and the text of `v` (each value of a multi-value row competes).
let extremeOf (isMax: bool) (current: string) (v: Value) : string =
    let better (best: string) (x: Value) = let t = Value.toStringOrNull x in if extremeWins isMax t best then t else best
    match v with
    | Value.Array xs -> Array.fold better current xs
    | v -> better current v

/// A string column of per-group values (nulls kept), dictionary in first-appearance order.
let private stringColumnOf (values: string[]) : ColumnData =
    let interner = StringInterner()
    let ids = values |> Array.map interner.Id
    ColumnData.Strings { Dictionary = interner.Values; Ids = ids; MultiIds = None; HasBitmapIndex = true }

/// stringMin / stringMax state: per group the winning value (null: no value yet).
type private StringExtremeAccumulator(spec: StringExtremeAggregator) =
    inherit AccumulatorBase()
    let mutable best: string[] = [||]
    member _.Best = best
    member _.Offer(group: int, v: Value) = best.[group] <- extremeOf spec.IsMax best.[group] v
    override _.AppendSlot group = best <- grow best (group + 1)
    override this.AddToSlot(group, _, row) = this.Offer(group, row spec.FieldName)
    override this.MergeSlot(group, source, sourceGroup) =
        match source with
        | :? StringExtremeAccumulator as s -> if extremeWins spec.IsMax s.Best.[sourceGroup] best.[group] then best.[group] <- s.Best.[sourceGroup]
        | _ -> mismatch ()
    override _.Column order = stringColumnOf (order |> Array.map (fun g -> best.[g]))
    override _.Bytes = 64

/// Sketch state, one dense collector per group (created on first use).
type private HllAccumulator(typeName: string, addRow: Hll.Collector -> int64 -> (string -> Value) -> unit) =
    inherit AccumulatorBase()
    let mutable collectors: Hll.Collector[] = [||]
    member _.Collectors = collectors
    member _.At(group: int) =
        let c = collectors.[group]
        if isNull c then
            let c = Hll.Collector()
            collectors.[group] <- c
            c
        else c
    member this.Load(group: int, c: Hll.Collector) =
        this.Slot group
        collectors.[group] <- c
    override _.AppendSlot group = collectors <- grow collectors (group + 1)
    override this.AddToSlot(group, time, row) = addRow (this.At group) time row
    /// Adds a value hashed beforehand (murmur3_128 halves) to a group.
    member this.AddHash(group: int, hash: struct (uint64 * uint64)) =
        this.Slot group
        (this.At group).AddHash128 hash
    override this.MergeSlot(group, source, sourceGroup) =
        match source with
        | :? HllAccumulator as s -> (this.At group).Fold s.Collectors.[sourceGroup]
        | _ -> mismatch ()
    override _.Column order =
        let emptyBytes = Hll.toBytes Hll.empty
        ColumnData.Complex(typeName, order |> Array.map (fun g -> match collectors.[g] with null -> emptyBytes | c -> c.ToBytes()))
    override _.Bytes = Hll.DenseBytes + 48

// ---------------------------------------------------------------------------------------
// Construction
// ---------------------------------------------------------------------------------------

/// Expression fields and `filtered` aggregators through the expression language and filters;
/// a bad expression or filter is reported as a JSON error at the aggregator.
let druidRowFunctions: RowFunctions =
    { CompileExpression =
        fun text ->
            match Expr.parseCompiled text with
            | Ok compiled -> fun _ row -> compiled row
            | Error problem -> raise (Json.JsonError("expression", problem))
      CompileFilter =
        fun json ->
            match Json.run json Filter.parse with
            | Ok f ->
                let matches = Filter.compile f
                fun _ row -> matches row
            | Error(path, problem) -> raise (Json.JsonError(Json.childPath "filter" path, problem)) }

let rec private create (fns: RowFunctions) (spec: AggregatorSpec) : AccumulatorBase =
    match spec with
    | Count _ -> CountAccumulator()
    | Numeric a ->
        let read =
            match a.FieldName, a.Expression with
            | Some field, _ -> fun (_: int64) (row: string -> Value) -> row field
            | None, Some e -> fns.CompileExpression e
            | None, None -> fun _ _ -> Value.Null
        match a.Type with
        | NumericType.Long -> longAccumulator a.Op read :> AccumulatorBase
        | NumericType.Double -> doubleAccumulator a.Op read :> AccumulatorBase
        | NumericType.Float -> floatAccumulator a.Op read :> AccumulatorBase
    | FirstLast a -> FirstLastAccumulator a
    | StringExtreme a -> StringExtremeAccumulator a
    | HyperUnique a ->
        let typeName = match AggregatorSpec.storageType spec with ColumnType.Complex t -> t | _ -> ""
        let field = a.FieldName
        if a.IsInputHyperUnique then HllAccumulator(typeName, fun c _ row -> SketchInput.foldSketchValue c (row field))
        else HllAccumulator(typeName, fun c _ row -> SketchInput.addHyperUniqueValues c (row field))
    | Cardinality a ->
        match a.Fields |> List.tryFind (fun f -> f.OtherSpecJson.IsSome) with
        | Some f ->
            raise (NotSupportedException(sprintf "cardinality aggregator [%s]: dimension specs other than 'default' are not supported yet (field [%s])" a.Name f.Dimension))
        | None ->
            let fields = a.Fields |> List.map (fun f -> f.Dimension) |> Array.ofList
            if a.ByRow then
                let scratch = SketchInput.Scratch()
                HllAccumulator(AggregatorSpec.hyperUniqueTypeName, fun c _ row -> SketchInput.addCardinalityRow scratch fields c row)
            else
                HllAccumulator(AggregatorSpec.hyperUniqueTypeName, fun c _ row ->
                    for f in fields do SketchInput.addCardinalityValues c (row f))
    | Filtered(_, filter, inner) -> FilteredAccumulator(create fns inner, fns.CompileFilter filter)

/// The hash a `cardinality` aggregator adds for a string (its UTF-16 code units), so callers
/// can hash each dictionary value once instead of every row.
let cardinalityHash (s: string) : struct (uint64 * uint64) =
    Hll.Murmur3.hash128 0 (Runtime.InteropServices.MemoryMarshal.AsBytes(s.AsSpan()))

/// Adds a precomputed hash to a group of a `cardinality` accumulator; a group that only ever
/// gets `None` still exists (and estimates 0).
let addCardinalityHash (acc: IngestAccumulator) (group: int) (hash: struct (uint64 * uint64) voption) =
    match acc with
    | :? HllAccumulator as h ->
        match hash with
        | ValueSome x -> h.AddHash(group, x)
        | ValueNone -> h.Slot group
    | _ -> invalidArg "acc" "not a cardinality accumulator"

/// An empty accumulator for the spec; expressions and filters are compiled with `fns`.
let createAccumulatorWith (fns: RowFunctions) (spec: AggregatorSpec) : IngestAccumulator = create fns spec :> IngestAccumulator

/// An empty accumulator for the spec.
let createAccumulator (spec: AggregatorSpec) : IngestAccumulator = createAccumulatorWith druidRowFunctions spec

let private stateOnlyRowFunctions: RowFunctions =
    { CompileExpression =
        fun _ -> fun _ _ -> raise (NotSupportedException "an accumulator recovered from a stored column merges state; it cannot evaluate rows")
      CompileFilter = fun _ -> fun _ _ -> true }

let private isNullAt (nulls: bool[] option) (i: int) = match nulls with Some n -> n.[i] | None -> false

let private numberAt (column: ColumnData) : int * (int -> NumberInput) =
    match column with
    | ColumnData.Longs(v, nulls) -> v.Length, (fun i -> if isNullAt nulls i then NoNumber else Whole v.[i])
    | ColumnData.Doubles(v, nulls) -> v.Length, (fun i -> if isNullAt nulls i then NoNumber else Fractional v.[i])
    | ColumnData.Floats(v, nulls) -> v.Length, (fun i -> if isNullAt nulls i then NoNumber else Fractional(float v.[i]))
    | other -> invalidArg "column" (sprintf "a %s column cannot hold this numeric aggregator" other.Type.DruidName)

/// Feeds a stored numeric column into an accumulator, one group per row.
let private loadNumbers (column: ColumnData) (slot: int -> unit) (add: int -> NumberInput -> unit) =
    let n, at = numberAt column
    for i in 0 .. n - 1 do
        slot i
        add i (at i)

let private complexAt (column: ColumnData) : byte[][] =
    match column with
    | ColumnData.Complex(_, values) -> values
    | other -> invalidArg "column" (sprintf "a %s column cannot hold this aggregator's state" other.Type.DruidName)

/// The state stored in a metric column, one group per row, ready to `Merge` into another
/// accumulator of the same spec (merging persisted spills, re-indexing rolled-up data).
/// The accumulator merges; a filtered spec's filter is not re-applied to stored state.
/// Raises ArgumentException for a column of the wrong type or with malformed sketches.
let accumulatorOfColumn (spec: AggregatorSpec) (column: ColumnData) : IngestAccumulator =
    let rec unfiltered s = match s with Filtered(_, _, inner) -> unfiltered inner | s -> s
    let spec = unfiltered spec
    let acc = create stateOnlyRowFunctions spec
    match acc with
    | :? CountAccumulator as a ->
        let n, at = numberAt column
        for i in 0 .. n - 1 do
            a.Slot i
            match at i with
            | Whole l -> a.AddCount(i, l)
            | Fractional d -> a.AddCount(i, javaLong d)
            | _ -> ()
    | :? NumericAccumulator<int64> as a -> loadNumbers column a.Slot (fun i v -> a.AddNumber(i, v))
    | :? NumericAccumulator<float> as a -> loadNumbers column a.Slot (fun i v -> a.AddNumber(i, v))
    | :? NumericAccumulator<float32> as a -> loadNumbers column a.Slot (fun i v -> a.AddNumber(i, v))
    | :? FirstLastAccumulator as a ->
        let pairType = match spec with FirstLast f -> f.Type | _ -> PairType.Long
        let noTime = match spec with FirstLast f when f.IsLast -> Int64.MinValue | _ -> Int64.MaxValue
        complexAt column |> Array.iteri (fun i bytes ->
            a.Slot i
            match decodePair pairType bytes with
            | Some(t, Value.Null) when t = noTime -> ()
            | Some(t, v) -> a.Set(i, t, v)
            | None -> invalidArg "column" (sprintf "row %d does not hold a %A pair" i pairType))
    | :? StringExtremeAccumulator as a ->
        for i in 0 .. column.RowCount - 1 do
            a.Slot i
            a.Offer(i, column.Cell i)
    | :? HllAccumulator as a ->
        complexAt column |> Array.iteri (fun i bytes ->
            match Hll.Collector.TryOfBytes(ReadOnlySpan(if isNull bytes then [||] else bytes)) with
            | Ok c -> a.Load(i, c)
            | Error e -> invalidArg "column" (sprintf "row %d: %s" i e))
    | _ -> ()
    acc :> IngestAccumulator

/// What an aggregator reports for a time bucket without rows (timeseries zero-fill): counts
/// and sketch estimates are 0, everything else is null (SQL-compatible null handling).
let rec emptyValue (a: AggregatorSpec) : Value =
    match a with
    | Count _ -> Value.Long 0L
    | Filtered(_, _, inner) -> emptyValue inner
    | HyperUnique _ | Cardinality _ -> Value.Double 0.0
    | Numeric _ | FirstLast _ | StringExtreme _ -> Value.Null

/// The final value of one accumulated group, as query results print it.
let resultOf (spec: AggregatorSpec) (column: ColumnData) : Value =
    match column with
    | ColumnData.Complex(typeName, blobs) -> finalize spec (decodeComplex typeName blobs.[0])
    | c -> finalize spec (c.Cell 0)

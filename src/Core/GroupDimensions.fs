/// A grouping dimension of one segment as dictionary ids per row, and group key columns made
/// from the ids of the groups: what the grouping engine composes keys from. Extraction
/// functions and filtered specs are applied once per dictionary value; numbers get ids in
/// order of first appearance, only for the rows the query's filter kept.
module FunctionalDruid.Core.GroupDimensions

open System
open System.Collections.Generic
open System.Text.RegularExpressions
open FunctionalDruid.Core
open FunctionalDruid.Core.Query
open FunctionalDruid.Core.SegmentColumns
open FunctionalDruid.Core.GroupKeys

// ---- array group keys -------------------------------------------------------------------------

/// Group keys are strings; a typed array (grouped whole, never exploded) is keyed by a
/// self-delimiting text that keeps element types, marked so it cannot collide with a string.
module ArrayKey =
    let private marker = '\u0001'

    let encode (elements: Value[]) : string =
        let b = Text.StringBuilder()
        b.Append(marker) |> ignore
        for e in elements do
            match e with
            | Value.Null -> b.Append('n') |> ignore
            | Value.Long l -> b.Append('l').Append(l.ToString(Globalization.CultureInfo.InvariantCulture)).Append(';') |> ignore
            | Value.Double d -> b.Append('d').Append(d.ToString("R", Globalization.CultureInfo.InvariantCulture)).Append(';') |> ignore
            | other ->
                let text = Value.toStringOrNull other
                b.Append('s').Append(text.Length).Append(':').Append(text) |> ignore
        b.ToString()

    let isKey (s: string) = not (isNull s) && s.Length > 0 && s.[0] = marker

    let decode (s: string) : Value =
        let items = ResizeArray<Value>()
        let mutable i = 1
        let readUntil (stop: char) =
            let e = s.IndexOf(stop, i + 1)
            let text = s.Substring(i + 1, e - i - 1)
            i <- e + 1
            text
        while i < s.Length do
            match s.[i] with
            | 'n' ->
                items.Add Value.Null
                i <- i + 1
            | 'l' -> items.Add(Value.Long(Int64.Parse(readUntil ';', Globalization.CultureInfo.InvariantCulture)))
            | 'd' -> items.Add(Value.Double(Double.Parse(readUntil ';', Globalization.CultureInfo.InvariantCulture)))
            | _ ->
                let length = int (readUntil ':')
                items.Add(Value.String(s.Substring(i, length)))
                i <- i + length
        Value.Array(items.ToArray())

/// A dimension value's text read as the dimension's output type (as Druid casts group keys).
let private typedDimension (outputType: ColumnType) (s: string) : Value =
    if isNull s then Value.Null
    elif ArrayKey.isKey s then ArrayKey.decode s
    else
        match outputType with
        | ColumnType.Long ->
            // Plain integer text (the usual key of a long dimension) parses directly.
            match Int64.TryParse(s, Globalization.NumberStyles.AllowLeadingSign, Globalization.CultureInfo.InvariantCulture) with
            | true, l -> Value.Long l
            | _ -> match Value.toLong (Value.String s) with Some l -> Value.Long l | None -> Value.Null
        | ColumnType.Double | ColumnType.Float -> match Value.parseDoubleText s with Some d -> Value.Double d | None -> Value.Null
        | _ -> Value.String s

let rec outputType (d: DimensionSpec) =
    match d with
    | DimensionSpec.Default(_, _, t) | DimensionSpec.Extraction(_, _, t, _) -> t
    | DimensionSpec.ListFiltered(i, _, _) | DimensionSpec.RegexFiltered(i, _) | DimensionSpec.PrefixFiltered(i, _) -> outputType i

// ---- dimensions as ids ----------------------------------------------------------------------

/// One dimension of one segment as ids: `Ids` for single-value rows or `Multi` (never empty
/// arrays) for multi-value ones; `Sources` maps ids to the values extraction functions read
/// and `Texts` to their text (made only when asked: numbers need no text to group).
type DimIds =
    { Ids: int[]; Multi: int[][]; Count: int; Texts: Lazy<string[]>; Sources: Lazy<Value[]>
      /// A number column's ids: the value of each id, as in `numericIds`.
      Numbers: NumberIds option }

/// The number of each id of a number column: a long, a double's bits or a float's bits, as
/// `Kind` says; `NullId` (-1 when none) stands for null.
and NumberIds = { Keys: int64[]; NullId: int; Kind: ColumnType }

let private textsOf (values: string[]) = Lazy<string[]>.CreateFromValue values
let private stringSources (values: string[]) = values |> Array.map (fun v -> if isNull v then Value.Null else Value.String v)
/// Values of a string dictionary, made only if an extraction asks for them (a filter may keep
/// few of a large dictionary's values).
let private lazySources (values: string[]) = lazy (stringSources values)

/// Initial capacity of per-segment tables that may hold a value per row: growing a table
/// of many distinct values by doubling costs more than the lookups themselves.
let expectedDistinct (rows: int) = min rows 65_536

/// `keys` identify values (a long, or a double's bits); `nulls` flags null rows (or is null).
/// Only `rows` (when given: the rows the query's filter kept) get ids; grouping reads no other.
let numericIds (rows: Bitmap.RowSet option) (keys: int64[]) (nulls: bool[]) (kind: ColumnType) : DimIds =
    let n = keys.Length
    let byKey = LongIndex(expectedDistinct n)
    let mutable anyNull = false
    let mutable lastKey = 0L
    let mutable lastId = -1
    let ids = Array.zeroCreate<int> n
    for r in 0 .. n - 1 do
        if (match rows with Some set -> set.Contains r | None -> true) then
            ids.[r] <-
                if not (isNull nulls) && nulls.[r] then
                    anyNull <- true
                    -1
                else
                    let k = keys.[r]
                    // Sorted columns (`__time`) repeat the previous key; skip the lookup then.
                    if k = lastKey && lastId >= 0 then lastId
                    else
                        let id = byKey.IdOf k
                        lastKey <- k
                        lastId <- id
                        id
    // Null rows take the id after the numbers'.
    let nullId = if anyNull then byKey.Count else -1
    if anyNull then
        for r in 0 .. n - 1 do
            if ids.[r] < 0 then ids.[r] <- nullId
    let idKeys = Array.init (byKey.Count + (if anyNull then 1 else 0)) (fun id -> if id < byKey.Count then byKey.Keys.[id] else 0L)
    let numbers = { Keys = idKeys; NullId = nullId; Kind = kind }
    let valueOfKey (k: int64) =
        match kind with
        | ColumnType.Long -> Value.Long k
        | ColumnType.Double -> Value.Double(BitConverter.Int64BitsToDouble k)
        | _ -> Value.Double(float (BitConverter.Int32BitsToSingle(int k)))
    let sources = lazy (numbers.Keys |> Array.mapi (fun id k -> if id = nullId then Value.Null else valueOfKey k))
    { Ids = ids; Multi = null; Count = numbers.Keys.Length; Texts = lazy (sources.Value |> Array.map Value.toStringOrNull)
      Sources = sources; Numbers = Some numbers }

let private arrayIds (n: int) (column: ColumnData) : DimIds =
    let byKey = Dictionary<string, int>(StringComparer.Ordinal)
    let values = ResizeArray<string>()
    let sources = ResizeArray<Value>()
    let ids = Array.zeroCreate<int> n
    for r in 0 .. n - 1 do
        let cell = column.Cell r
        let key = match cell with Value.Array xs -> ArrayKey.encode xs | _ -> null
        let lookup = if isNull key then "" else key
        ids.[r] <-
            match byKey.TryGetValue lookup with
            | true, id -> id
            | _ ->
                let id = values.Count
                byKey.[lookup] <- id
                values.Add key
                sources.Add cell
                id
    { Ids = ids; Multi = null; Count = values.Count; Texts = textsOf (values.ToArray()); Sources = Lazy<Value[]>.CreateFromValue(sources.ToArray()); Numbers = None }

/// Nested JSON groups by its compact text: equal values have equal text.
let private jsonIds (n: int) (column: ColumnData) : DimIds =
    let interner = StringInterner()
    let ids = Array.init n (fun r -> interner.Id(Value.toStringOrNull (column.Cell r)))
    let values = interner.Values
    { Ids = ids; Multi = null; Count = values.Length; Texts = textsOf values; Sources = lazySources values; Numbers = None }

let baseIds (columns: Columns) (dimension: string) : DimIds =
    let n = columns.RowCount
    match columns.Column dimension with
    | Some(ColumnData.Strings s) ->
        match s.MultiIds with
        | None -> { Ids = s.Ids; Multi = null; Count = s.Dictionary.Length; Texts = textsOf s.Dictionary; Sources = lazySources s.Dictionary; Numbers = None }
        | Some multi ->
            let mutable values = s.Dictionary
            let nullId =
                match Array.tryFindIndex isNull values with
                | Some i -> i
                | None ->
                    values <- Array.append values [| null |]
                    values.Length - 1
            let nullRow = [| nullId |]
            { Ids = null; Multi = multi |> Array.map (fun ids -> if ids.Length = 0 then nullRow else ids)
              Count = values.Length; Texts = textsOf values; Sources = lazySources values; Numbers = None }
    | Some(ColumnData.Longs(v, nulls)) -> numericIds columns.RowsOfInterest v (Option.toObj nulls) ColumnType.Long
    | Some(ColumnData.Doubles(v, nulls)) ->
        numericIds columns.RowsOfInterest (Array.map BitConverter.DoubleToInt64Bits v) (Option.toObj nulls) ColumnType.Double
    | Some(ColumnData.Floats(v, nulls)) ->
        numericIds columns.RowsOfInterest (v |> Array.map (fun x -> int64 (BitConverter.SingleToInt32Bits x))) (Option.toObj nulls) ColumnType.Float
    | Some(ColumnData.LongArrays _ | ColumnData.DoubleArrays _ | ColumnData.StringArrays _ as column) -> arrayIds n column
    | Some(ColumnData.Complex(ComplexJson.TypeName, _) as column) -> jsonIds n column
    | Some(ColumnData.Complex _) | None -> { Ids = Array.zeroCreate n; Multi = null; Count = 1; Texts = textsOf [| null |]; Sources = lazySources [| null |]; Numbers = None }

/// Maps every id through `newIdOf` (a table over old ids); dropped ids (-1) leave multi-value
/// rows, and a row left empty, or a single value dropped, becomes `nullId`.
let private remap (d: DimIds) (newIdOf: int[]) (nullId: int) (values: string[]) : DimIds =
    let nullRow = [| nullId |]
    let texts, sources = textsOf values, lazySources values
    if isNull d.Multi then
        // Rows outside the query's filter may hold an id no value has (see `numericIds`).
        { Ids = d.Ids |> Array.map (fun id -> let x = (if id < newIdOf.Length then newIdOf.[id] else -1) in if x < 0 then nullId else x)
          Multi = null; Count = values.Length; Texts = texts; Sources = sources; Numbers = None }
    else
        { Ids = null
          Multi =
            d.Multi |> Array.map (fun ids ->
                let mapped = ids |> Array.choose (fun id -> let x = newIdOf.[id] in if x < 0 then None else Some x)
                if mapped.Length = 0 then nullRow else mapped)
          Count = values.Length; Texts = texts; Sources = sources; Numbers = None }

let rec dimIds (columns: Columns) (spec: DimensionSpec) : DimIds =
    let keepOnly (inner: DimensionSpec) (keep: string -> bool) =
        let d = dimIds columns inner
        let interner = StringInterner()
        let newIdOf = d.Texts.Value |> Array.map (fun v -> if keep v then interner.Id v else -1)
        let nullId = interner.Id null
        remap d newIdOf nullId interner.Values
    match spec with
    | DimensionSpec.Default(dimension, _, _) -> baseIds columns dimension
    | DimensionSpec.Extraction(dimension, _, _, fn) when dimension = timeColumn ->
        // `__time` is sorted: extract once per run of equal times, with no dictionary of times.
        let extract = Extraction.compile fn
        let interner = StringInterner()
        let times = columns.Times
        let ids = Array.zeroCreate<int> times.Length
        let mutable last = 0L
        let mutable lastId = -1
        for r in 0 .. times.Length - 1 do
            let t = times.[r]
            if lastId < 0 || t <> last then
                lastId <- interner.Id(extract (Value.Long t))
                last <- t
            ids.[r] <- lastId
        let values = interner.Values
        { Ids = ids; Multi = null; Count = values.Length; Texts = textsOf values; Sources = lazySources values; Numbers = None }
    | DimensionSpec.Extraction(dimension, _, _, fn) ->
        let d = baseIds columns dimension
        let extract = Extraction.compile fn
        let interner = StringInterner()
        let newIdOf = d.Sources.Value |> Array.map (fun v -> interner.Id(extract v))
        let nullId = interner.Id null
        remap d newIdOf nullId interner.Values
    | DimensionSpec.ListFiltered(inner, list, whitelist) ->
        let set = HashSet<string>(list, StringComparer.Ordinal)
        keepOnly inner (fun v -> not (isNull v) && set.Contains v = whitelist)
    | DimensionSpec.RegexFiltered(inner, pattern) ->
        let regex = Regex(@"\A(?:" + pattern + @")\z", RegexOptions.CultureInvariant)
        keepOnly inner (fun v -> not (isNull v) && regex.IsMatch v)
    | DimensionSpec.PrefixFiltered(inner, prefix) -> keepOnly inner (fun v -> not (isNull v) && v.StartsWith(prefix, StringComparison.Ordinal))

/// The group key value of an id, made once and only for ids that form groups: numbers already
/// of the output type keep their value, other values are read from their text as the output
/// type says.
let keyValueOf (spec: DimensionSpec) (d: DimIds) : int -> Value =
    let t = outputType spec
    let made = Array.zeroCreate<Value> d.Count
    fun id ->
        let known = made.[id]
        if not (obj.ReferenceEquals(known, null)) then known
        else
            let value =
                // Number columns have their values already; string ones only their text.
                if d.Numbers.IsSome || d.Sources.IsValueCreated then
                    match d.Sources.Value.[id], t with
                    | Value.Null, _ -> Value.Null
                    | (Value.Long _ as source), ColumnType.Long
                    | (Value.Double _ as source), (ColumnType.Double | ColumnType.Float) -> source
                    | _ -> typedDimension t d.Texts.Value.[id]
                else typedDimension t d.Texts.Value.[id]
            made.[id] <- value
            value

/// The key column of groups whose ids of dimension `spec` are `ids`: number columns of the
/// output type are copied number by number, strings text by text; other values go through
/// `keyValueOf` (one value per id).
let keyColumnOf (spec: DimensionSpec) (d: DimIds) (ids: int[]) : KeyColumn =
    let t = outputType spec
    let n = ids.Length
    let numbers (convert: int64 -> 'T) (make: 'T[] -> bool[] -> KeyColumn) (numbers: NumberIds) =
        let values = Array.zeroCreate<'T> n
        let nulls = if numbers.NullId >= 0 then Array.zeroCreate<bool> n else null
        for g in 0 .. n - 1 do
            let id = ids.[g]
            if id = numbers.NullId then nulls.[g] <- true else values.[g] <- convert numbers.Keys.[id]
        make values nulls
    let throughValues () : KeyColumn =
        let valueOf = keyValueOf spec d
        let values = Array.init n (fun g -> valueOf ids.[g])
        let fits (isKind: Value -> bool) = values |> Array.forall (fun v -> v = Value.Null || isKind v)
        let nullsOf () = if values |> Array.contains Value.Null then values |> Array.map (fun v -> v = Value.Null) else null
        match t with
        | ColumnType.Long when fits (function Value.Long _ -> true | _ -> false) ->
            longKeys (values |> Array.map (function Value.Long l -> l | _ -> 0L)) (nullsOf ()) n
        | ColumnType.Double | ColumnType.Float when fits (function Value.Double _ -> true | _ -> false) ->
            doubleKeys (values |> Array.map (function Value.Double x -> x | _ -> 0.0)) (nullsOf ()) n
        | _ -> ValueKeys values
    match d.Numbers, t with
    | Some ns, ColumnType.Long when ns.Kind = ColumnType.Long -> numbers id (fun v nulls -> longKeys v nulls n) ns
    | Some ns, (ColumnType.Double | ColumnType.Float) when ns.Kind = ColumnType.Double ->
        numbers BitConverter.Int64BitsToDouble (fun v nulls -> doubleKeys v nulls n) ns
    | Some ns, (ColumnType.Double | ColumnType.Float) when ns.Kind = ColumnType.Float ->
        numbers (fun k -> float (BitConverter.Int32BitsToSingle(int k))) (fun v nulls -> doubleKeys v nulls n) ns
    | _, (ColumnType.Long | ColumnType.Double | ColumnType.Float) -> throughValues ()
    | _ ->
        // Text is the key of a string output, unless it encodes an array.
        let texts = d.Texts.Value
        let keys = Array.init n (fun g -> texts.[ids.[g]])
        if keys |> Array.exists ArrayKey.isKey then throughValues () else TextKeys keys

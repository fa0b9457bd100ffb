/// Reads the rows of a compacted scan straight from segment slices into value arrays, for the
/// in-memory operators: the same rows the native scan would return, without building JSON.
module FunctionalDruid.Sql.TableReader

open System
open System.Collections.Generic
open FunctionalDruid.Core
open FunctionalDruid.Core.Query

let private lowerBound (times: int64[]) (t: int64) =
    let mutable lo = 0
    let mutable hi = times.Length
    while lo < hi do
        let mid = (lo + hi) >>> 1
        if times.[mid] < t then lo <- mid + 1 else hi <- mid
    lo

/// A sketch column (hyperUnique, ...) reads as Druid's scan returns it: the serialized
/// sketch in base64.
let private sketchReader (blobs: byte[][]) (row: int) : Value =
    match blobs.[row] with
    | null -> Value.Null
    | bytes -> Value.String(Convert.ToBase64String bytes)

let private isArrayData (c: ColumnData) =
    match c with
    | ColumnData.LongArrays _ | ColumnData.DoubleArrays _ | ColumnData.StringArrays _ -> true
    | _ -> false

/// `LIKE '%text%'` (no other wildcard, no escape) as the equivalent case-sensitive contains
/// search, which tests a string without a regular expression.
let rec fasterFilter (f: Filter.Filter) : Filter.Filter =
    match f with
    | Filter.Like(dim, pattern, escape) when pattern.Length >= 2 && pattern.StartsWith "%" && pattern.EndsWith "%" ->
        let text = pattern.Substring(1, pattern.Length - 2)
        let plainEscape = match escape with None -> true | Some e -> e = "" || (e.Length = 1 && not (pattern.Contains e))
        if text.Contains '%' || text.Contains '_' || not plainEscape then f
        else Filter.Search(dim, Extraction.Contains(text, true))
    | Filter.And fs -> Filter.And(List.map fasterFilter fs)
    | Filter.Or fs -> Filter.Or(List.map fasterFilter fs)
    | Filter.Not inner -> Filter.Not(fasterFilter inner)
    | f -> f

/// Which rows of a slice pass the filter. Without array columns it is decided as the native
/// engine does, a mask over the segment with one-column parts decided once per dictionary
/// value; array columns keep the row-by-row reading of their cells.
type private KeptRows =
    | AllRows
    | Masked of Bitmap.RowSet
    | Tested of (int -> bool)

let private rowFilter (filter: Filter.Filter option) (content: SegmentContent) (byName: Dictionary<string, ColumnData>) : KeptRows =
    match filter with
    | None -> AllRows
    | Some f ->
        let readsArrays =
            Filter.requiredColumns f |> List.exists (fun n -> match byName.TryGetValue n with | true, c -> isArrayData c | _ -> false)
        if not readsArrays then Masked(FilterBitmaps.matching (SegmentColumns.Columns(content, [])) f)
        else
            let matches = Filter.compile f
            let mutable current = 0
            let cell (name: string) =
                if name = "__time" then Value.Long content.Times.[current]
                else
                    match byName.TryGetValue name with
                    | true, c -> c.Cell current
                    | _ -> Value.Null
            Tested(fun row ->
                current <- row
                matches cell)

/// Visits the kept rows of [lo, hi) in order; a mask is read a word of rows at a time, so
/// rows the filter drops cost nothing.
let private forEachKept (kept: KeptRows) (lo: int) (hi: int) (visit: int -> unit) =
    match kept with
    | AllRows -> for row in lo .. hi - 1 do visit row
    | Tested keep -> for row in lo .. hi - 1 do if keep row then visit row
    | Masked mask ->
        let words = mask.Words
        let mutable w = lo >>> 6
        while w < words.Length && (w <<< 6) < hi do
            let mutable bits = words.[w]
            // Rows of the first and last word outside [lo, hi) are cleared.
            if (w <<< 6) < lo then bits <- bits &&& (UInt64.MaxValue <<< (lo &&& 63))
            if (w <<< 6) + 64 > hi then bits <- bits &&& (UInt64.MaxValue >>> (64 - (hi &&& 63)))
            while bits <> 0UL do
                visit ((w <<< 6) + System.Numerics.BitOperations.TrailingZeroCount bits)
                bits <- bits &&& (bits - 1UL)
            w <- w + 1

/// Collects rows in small blocks and copies them once into an array of the exact size: a
/// growing list of a million rows would reallocate large-object-heap arrays (each a full GC
/// trigger) several times over.
type private RowBuffer() =
    let blockSize = 4096
    let blocks = List<Value[][]>()
    let mutable current = Array.zeroCreate<Value[]> blockSize
    let mutable used = 0
    member _.Add(row: Value[]) =
        if used = blockSize then
            blocks.Add current
            current <- Array.zeroCreate blockSize
            used <- 0
        current.[used] <- row
        used <- used + 1
    member _.Count = blocks.Count * blockSize + used
    /// Copies the rows into `target` from `offset` on.
    member _.CopyTo(target: Value[][], offset: int) =
        for b in 0 .. blocks.Count - 1 do Array.Copy(blocks.[b], 0, target, offset + b * blockSize, blockSize)
        Array.Copy(current, 0, target, offset + blocks.Count * blockSize, used)

/// A slice's columns by name.
let private columnsByName (content: SegmentContent) =
    let byName = Dictionary<string, ColumnData>(StringComparer.Ordinal)
    for (n, c) in content.Dimensions @ content.Metrics do byName.[n] <- c
    byName

/// The row ranges [lo, hi) of a slice inside the (condensed) query intervals and the part of
/// time the slice serves.
let private rowRanges (intervals: Time.Interval list) (slice: Engine.SegmentSlice) =
    [ for i in intervals do
        let s = max i.Start slice.Serves.Start
        let e = min i.End slice.Serves.End
        if s < e then yield lowerBound slice.Content.Times s, lowerBound slice.Content.Times e ]

/// The rows of one slice inside the intervals that pass the filter; with an order, only the
/// slice's first `Count` of them by it (ties in row order), in that order.
let private readSlice (columns: string[]) (intervals: Time.Interval list) (filter: Filter.Filter option) (order: Relational.RowOrder option) (slice: Engine.SegmentSlice) : RowBuffer =
    let result = RowBuffer()
    let content = slice.Content
    let byName = columnsByName content
    let readers: (int -> Value)[] =
        columns |> Array.map (fun name ->
            if name = "__time" then fun row -> Value.Long content.Times.[row]
            else
                match byName.TryGetValue name with
                | true, ColumnData.Complex(typeName, blobs) when typeName <> ComplexJson.TypeName -> sketchReader blobs
                | true, ColumnData.Strings strings when strings.MultiIds.IsNone ->
                    // One shared cell per dictionary value rather than one per row, made when
                    // first read: a filter keeping few rows reads few of the values.
                    let dictionary = strings.Dictionary
                    let cells = Array.zeroCreate<Value> dictionary.Length
                    let ids = strings.Ids
                    fun row ->
                        let id = ids.[row]
                        let cell = cells.[id]
                        if not (obj.ReferenceEquals(cell, null)) then cell
                        else
                            let made = match dictionary.[id] with null -> Value.Null | d -> Value.String d
                            cells.[id] <- made
                            made
                | true, c -> fun row -> c.Cell row
                | _ -> fun _ -> Value.Null)
    let keep = rowFilter filter content byName
    // Rows are never changed once read, so a read of one dictionary column shares one
    // row per dictionary value instead of allocating one per row.
    let sharedRows =
        match columns with
        | [| name |] when name <> "__time" ->
            match byName.TryGetValue name with
            | true, ColumnData.Strings strings when strings.MultiIds.IsNone ->
                Some(strings.Ids, Array.zeroCreate<Value[]> strings.Dictionary.Length)
            | _ -> None
        | _ -> None
    let visit =
        match sharedRows with
        | Some(ids, rowOfId) ->
            let reader = readers.[0]
            fun row ->
                let id = ids.[row]
                let mutable shared = rowOfId.[id]
                if isNull shared then
                    shared <- [| reader row |]
                    rowOfId.[id] <- shared
                result.Add shared
        | None ->
            fun row ->
                let cells = Array.zeroCreate<Value> readers.Length
                for c in 0 .. readers.Length - 1 do cells.[c] <- readers.[c] row
                result.Add cells
    match order with
    | None -> for lo, hi in rowRanges intervals slice do forEachKept keep lo hi visit
    | Some order ->
        // Candidates are row numbers: a row is read into cells only once it is kept.
        let top =
            Relational.TopRows<int>(
                [ for (c, _, _) in order.Keys -> readers.[c] ], [ for (_, d, _) in order.Keys -> d ], [ for (_, _, n) in order.Keys -> n ], order.Count)
        for lo, hi in rowRanges intervals slice do forEachKept keep lo hi top.Offer
        for row in top.Rows do visit row
    result

/// Rows of `columns` inside the query's intervals (and each slice's served part) that pass its
/// filter, in slice order; slices are read by `runner` (in parallel, say). With an order, each
/// slice gives only its first rows by it (see `Relational.RowOrder`).
let readTopWith (runner: QuerySlices.ISegmentRunner) (q: NativeQuery) (order: Relational.RowOrder option) (slices: Engine.SegmentSlice list) : Value[][] =
    let columns =
        match q.Kind with
        | QueryKind.Scan s -> Array.ofList s.Columns
        | _ -> invalidArg "q" "TableReader reads scan queries"
    let intervals = Engine.condense q.Intervals
    let filter = q.Filter |> Option.map fasterFilter
    let slices = Array.ofList slices
    let buffers = runner.Map(slices.Length, fun i -> readSlice columns intervals filter order slices.[i])
    // One array of the exact size, filled from every slice's blocks.
    let rows = Array.zeroCreate<Value[]> (buffers |> Array.sumBy (fun b -> b.Count))
    let mutable offset = 0
    for b in buffers do
        b.CopyTo(rows, offset)
        offset <- offset + b.Count
    rows

/// `readTopWith`, one slice after another.
let readTop (q: NativeQuery) (order: Relational.RowOrder option) (slices: Engine.SegmentSlice list) : Value[][] =
    readTopWith QuerySlices.sequential.Runner q order slices

/// Every row of `readTop`.
let read (q: NativeQuery) (slices: Engine.SegmentSlice list) : Value[][] = readTop q None slices

/// One column's distinct values (in the order of their first row) with the number of rows
/// holding each: the rows `read` would return for that column, without one row per table row.
type CountedColumn = { Values: Value[]; Counts: int64[] }

/// Equality of cells as the row reader makes them: strings ordinally, doubles by their bits
/// (so -0.0, 0.0 and each NaN stay apart, as distinct rows keep them), kinds never mix.
type private CellComparer() =
    interface IEqualityComparer<Value> with
        member _.Equals(a, b) =
            match a, b with
            | Value.String x, Value.String y -> String.Equals(x, y)
            | Value.Long x, Value.Long y -> x = y
            | Value.Double x, Value.Double y -> BitConverter.DoubleToInt64Bits x = BitConverter.DoubleToInt64Bits y
            | Value.Null, Value.Null -> true
            | _ -> false
        member _.GetHashCode(v) =
            match v with
            | Value.String s when not (isNull s) -> s.GetHashCode()
            | Value.Long l -> l.GetHashCode()
            | Value.Double d -> (BitConverter.DoubleToInt64Bits d).GetHashCode()
            | _ -> 0

/// Counts of one slice's values in first-row order; a number value is known by a 64-bit key
/// (the long, or the bits of the double) so a row costs no allocation.
type private SliceCounts() =
    let ids = GroupKeys.LongIndex(1024)
    let counts = List<int64>()
    let mutable nullCount = 0L
    // How many distinct numbers came before the first null row.
    let mutable nullPosition = -1
    member _.AddNull() =
        if nullPosition < 0 then nullPosition <- counts.Count
        nullCount <- nullCount + 1L
    member _.AddKey(key: int64) =
        let id = ids.IdOf key
        if id = counts.Count then counts.Add 1L else counts.[id] <- counts.[id] + 1L
    /// Each distinct value (made by `make` from its key) with its count, in first-row order.
    member _.Pairs(make: int64 -> Value) =
        [ for id in 0 .. counts.Count do
            if id = nullPosition then yield Value.Null, nullCount
            if id < counts.Count then yield make ids.Keys.[id], counts.[id] ]

/// Whether a slice holds the column as one scalar per row (or not at all: all nulls).
let private countable (byName: Dictionary<string, ColumnData>) (column: string) =
    column = "__time"
    || (match byName.TryGetValue column with
        | true, ColumnData.Strings s -> s.MultiIds.IsNone
        | true, (ColumnData.Longs _ | ColumnData.Floats _ | ColumnData.Doubles _) -> true
        | true, _ -> false
        | _ -> true)

/// The one column of a compacted scan as (distinct value, row count) pairs: the same rows as
/// `read` (same intervals, filter and served parts), values in the order of their first row.
/// None when the scan reads other than one column, or a slice holds it as multi-value
/// strings, arrays or complex values (rows that are no single comparable value).
let readCounted (q: NativeQuery) (slices: Engine.SegmentSlice list) : CountedColumn option =
    match q.Kind with
    | QueryKind.Scan { Columns = [ column ] } ->
        let byNames =
            slices |> List.map (fun slice -> columnsByName slice.Content)
        if not (byNames |> List.forall (fun b -> countable b column)) then None
        else
        let intervals = Engine.condense q.Intervals
        let filter = q.Filter |> Option.map fasterFilter
        let index = Dictionary<Value, int>(CellComparer())
        // Strings, the common case, by the string itself: ordinal string keys hash fastest.
        let stringIndex = Dictionary<string, int>(StringComparer.Ordinal)
        let values = List<Value>()
        let counts = List<int64>()
        let add (v: Value) (n: int64) =
            match index.TryGetValue v with
            | true, i -> counts.[i] <- counts.[i] + n
            | _ ->
                index.[v] <- values.Count
                values.Add v
                counts.Add n
        let addString (s: string) (n: int64) =
            match stringIndex.TryGetValue s with
            | true, i -> counts.[i] <- counts.[i] + n
            | _ ->
                stringIndex.[s] <- values.Count
                values.Add(Value.String s)
                counts.Add n
        for slice, byName in List.zip slices byNames do
            let content = slice.Content
            let keep = rowFilter filter content byName
            let ranges = rowRanges intervals slice
            let countNumbers (key: int -> int64) (make: int64 -> Value) (nulls: bool[] option) =
                let local = SliceCounts()
                for lo, hi in ranges do
                    forEachKept keep lo hi (fun row ->
                        if nulls.IsSome && nulls.Value.[row] then local.AddNull() else local.AddKey(key row))
                for v, n in local.Pairs make do add v n
            if column = "__time" then countNumbers (fun row -> content.Times.[row]) Value.Long None
            else
            match byName.TryGetValue column with
            | true, ColumnData.Strings strings ->
                // Rows are counted per dictionary id; each id becomes a value once.
                let ids = strings.Ids
                let perId = Array.zeroCreate<int64> strings.Dictionary.Length
                let firstSeen = List<int>()
                for lo, hi in ranges do
                    forEachKept keep lo hi (fun row ->
                        let id = ids.[row]
                        if perId.[id] = 0L then firstSeen.Add id
                        perId.[id] <- perId.[id] + 1L)
                for id in firstSeen do
                    let d = strings.Dictionary.[id]
                    if isNull d then add Value.Null perId.[id] else addString d perId.[id]
            | true, ColumnData.Longs(v, nulls) -> countNumbers (fun row -> v.[row]) Value.Long nulls
            | true, ColumnData.Doubles(v, nulls) ->
                countNumbers (fun row -> BitConverter.DoubleToInt64Bits v.[row]) (BitConverter.Int64BitsToDouble >> Value.Double) nulls
            | true, ColumnData.Floats(v, nulls) ->
                countNumbers (fun row -> BitConverter.DoubleToInt64Bits(float v.[row])) (BitConverter.Int64BitsToDouble >> Value.Double) nulls
            | true, _ -> () // not countable: refused above
            | _ ->
                // A slice without the column reads it as null on every row.
                let n = ref 0L
                for lo, hi in ranges do forEachKept keep lo hi (fun _ -> n.Value <- n.Value + 1L)
                if n.Value > 0L then add Value.Null n.Value
        Some { Values = values.ToArray(); Counts = counts.ToArray() }
    | QueryKind.Scan _ -> None
    | _ -> invalidArg "q" "TableReader reads scan queries"

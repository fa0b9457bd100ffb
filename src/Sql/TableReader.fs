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
let private rowFilter (filter: Filter.Filter option) (content: SegmentContent) (byName: Dictionary<string, ColumnData>) : int -> bool =
    match filter with
    | None -> fun _ -> true
    | Some f ->
        let readsArrays =
            Filter.requiredColumns f |> List.exists (fun n -> match byName.TryGetValue n with | true, c -> isArrayData c | _ -> false)
        if not readsArrays then
            let mask = FilterBitmaps.matching (SegmentColumns.Columns(content, [])) f
            fun row -> mask.Contains row
        else
            let matches = Filter.compile f
            let mutable current = 0
            let cell (name: string) =
                if name = "__time" then Value.Long content.Times.[current]
                else
                    match byName.TryGetValue name with
                    | true, c -> c.Cell current
                    | _ -> Value.Null
            fun row ->
                current <- row
                matches cell

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
    member _.ToArray() : Value[][] =
        let result = Array.zeroCreate<Value[]> (blocks.Count * blockSize + used)
        for b in 0 .. blocks.Count - 1 do Array.Copy(blocks.[b], 0, result, b * blockSize, blockSize)
        Array.Copy(current, 0, result, blocks.Count * blockSize, used)
        result

/// Rows of `columns` inside the query's intervals (and each slice's served part) that pass its
/// filter, in slice order.
let read (q: NativeQuery) (slices: Engine.SegmentSlice list) : Value[][] =
    let columns =
        match q.Kind with
        | QueryKind.Scan s -> Array.ofList s.Columns
        | _ -> invalidArg "q" "TableReader reads scan queries"
    let intervals = Engine.condense q.Intervals
    let filter = q.Filter |> Option.map fasterFilter
    let result = RowBuffer()
    for slice in slices do
        let content = slice.Content
        let byName = Dictionary<string, ColumnData>(StringComparer.Ordinal)
        for (n, c) in content.Dimensions @ content.Metrics do byName.[n] <- c
        let readers: (int -> Value)[] =
            columns |> Array.map (fun name ->
                if name = "__time" then fun row -> Value.Long content.Times.[row]
                else
                    match byName.TryGetValue name with
                    | true, ColumnData.Complex(typeName, blobs) when typeName <> ComplexJson.TypeName -> sketchReader blobs
                    | true, ColumnData.Strings strings when strings.MultiIds.IsNone ->
                        // One shared cell per dictionary value rather than one per row.
                        let cells = strings.Dictionary |> Array.map (fun d -> if isNull d then Value.Null else Value.String d)
                        let ids = strings.Ids
                        fun row -> cells.[ids.[row]]
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
        for i in intervals do
            let s = max i.Start slice.Serves.Start
            let e = min i.End slice.Serves.End
            if s < e then
                let lo = lowerBound content.Times s
                let hi = lowerBound content.Times e
                match sharedRows with
                | Some(ids, rowOfId) ->
                    let reader = readers.[0]
                    for row in lo .. hi - 1 do
                        if keep row then
                            let id = ids.[row]
                            let mutable shared = rowOfId.[id]
                            if isNull shared then
                                shared <- [| reader row |]
                                rowOfId.[id] <- shared
                            result.Add shared
                | None ->
                    for row in lo .. hi - 1 do
                        if keep row then
                            let cells = Array.zeroCreate<Value> readers.Length
                            for c in 0 .. readers.Length - 1 do cells.[c] <- readers.[c] row
                            result.Add cells
    result.ToArray()

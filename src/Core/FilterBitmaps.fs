/// Filters as row masks over one segment. Each filter gives two masks, the rows where it is
/// true and the rows where it is false (SQL's unknown is in neither), so NOT stays
/// three-valued. One-column filters on string columns are decided once per dictionary value;
/// numeric columns, expressions and column comparisons go row by row.
module FunctionalDruid.Core.FilterBitmaps

open System
open System.Runtime.Intrinsics
open FunctionalDruid.Core
open FunctionalDruid.Core.Filter
open FunctionalDruid.Core.SegmentColumns

type private RowSet = Bitmap.RowSet

/// Rows where the filter is true, and rows where it is false.
[<Struct>]
type Masks = { Yes: RowSet; No: RowSet }

let private kleeneOr (a: Truth) (b: Truth) =
    match a, b with
    | Yes, _ | _, Yes -> Yes
    | Unknown, _ | _, Unknown -> Unknown
    | _ -> No

let private fromTruths (rowCount: int) (truthOf: int -> Truth) : Masks =
    let yes = RowSet(rowCount)
    let no = RowSet(rowCount)
    for r in 0 .. rowCount - 1 do
        match truthOf r with
        | Yes -> yes.Add r
        | No -> no.Add r
        | Unknown -> ()
    { Yes = yes; No = no }

/// Masks from each row's truth as bits (1: yes, 2: no, 0: unknown), assembled a word of rows
/// at a time without a branch per row; inlined so `truthBits` is no call per row.
let inline private masksByWord (n: int) ([<InlineIfLambda>] truthBits: int -> uint64) : Masks =
    let yes = RowSet(n)
    let no = RowSet(n)
    let yesWords = yes.Words
    let noWords = no.Words
    for w in 0 .. yesWords.Length - 1 do
        let first = w <<< 6
        let last = min n (first + 64)
        let mutable y = 0UL
        let mutable o = 0UL
        for r in first .. last - 1 do
            let t = truthBits r
            y <- y ||| ((t &&& 1UL) <<< (r - first))
            o <- o ||| ((t >>> 1) <<< (r - first))
        yesWords.[w] <- y
        noWords.[w] <- o
    { Yes = yes; No = no }

/// Every row with the same truth.
let private constantMasks (n: int) (truth: Truth) : Masks =
    match truth with
    | Yes -> { Yes = RowSet.Full n; No = RowSet(n) }
    | No -> { Yes = RowSet(n); No = RowSet.Full n }
    | Unknown -> { Yes = RowSet(n); No = RowSet(n) }

/// Masks of `values = k` over a long column without nulls, four rows per vector comparison.
let private equalityMasks (values: int64[]) (k: int64) (n: int) : Masks =
    let yes = RowSet(n)
    let no = RowSet(n)
    let yesWords = yes.Words
    let noWords = no.Words
    let key = Vector256.Create<int64>(k)
    for w in 0 .. yesWords.Length - 1 do
        let first = w <<< 6
        let last = min n (first + 64)
        let mutable bits = 0UL
        if last - first = 64 then
            for j in 0 .. 15 do
                let v = Vector256.Create<int64>(ReadOnlySpan<int64>(values, first + (j <<< 2), 4))
                bits <- bits ||| (uint64 (Vector256.ExtractMostSignificantBits(Vector256.Equals(v, key))) <<< (j <<< 2))
            noWords.[w] <- ~~~bits
        else
            for r in first .. last - 1 do
                if values.[r] = k then bits <- bits ||| (1UL <<< (r - first))
            noWords.[w] <- ~~~bits &&& (UInt64.MaxValue >>> (64 - (last - first)))
        yesWords.[w] <- bits
    { Yes = yes; No = no }

/// Masks for a one-column predicate (`test` decides one scalar value).
let private columnMasks (columns: Columns) (f: Filter) (column: string) (test: Value -> Truth) : Masks =
    let n = columns.RowCount
    match columns.Column column with
    | Some(ColumnData.Strings s) ->
        let perId =
            match Filter.stringTruth f with
            | Some truthOf ->
                let ofNull = test Value.Null
                s.Dictionary |> Array.map (fun d -> if isNull d then ofNull else truthOf d)
            | None -> s.Dictionary |> Array.map (fun d -> test (if isNull d then Value.Null else Value.String d))
        match s.MultiIds with
        | None ->
            // Branch-free: one lookup per row in a byte per value (bit 0 yes, bit 1 no: a
            // dictionary's bytes stay in cache where two arrays of words would not), bits
            // assembled a word at a time.
            let ids = s.Ids
            let truthBits = perId |> Array.map (fun t -> match t with Yes -> 1uy | No -> 2uy | Unknown -> 0uy)
            // Every value decided alike (a day segment's one date in a date range): every
            // row is, with no pass over the rows.
            if truthBits.Length > 0 && truthBits |> Array.forall (fun b -> b = truthBits.[0]) then constantMasks n perId.[0]
            else masksByWord n (fun r -> uint64 truthBits.[ids.[r]])
        | Some multi ->
            let ofNull = test Value.Null
            fromTruths n (fun r ->
                let ids = multi.[r]
                if ids.Length = 0 then ofNull
                else
                    let mutable t = No
                    for id in ids do t <- kleeneOr t perId.[id]
                    t)
    | Some(ColumnData.Longs(values, nulls)) when (match f with Filter.Equality(_, _, Value.Long _) -> true | _ -> false) ->
        // Long equality (`CounterID = 62`, `AdvEngineID <> 0`) compared row by row into words;
        // null rows (which store 0) take the null's truth.
        let k = match f with Filter.Equality(_, _, Value.Long k) -> k | _ -> 0L
        match nulls with
        | Some nullAt ->
            let ofNull = match test Value.Null with Yes -> 1UL | No -> 2UL | Unknown -> 0UL
            masksByWord n (fun r -> if nullAt.[r] then ofNull elif values.[r] = k then 1UL else 2UL)
        | None -> equalityMasks values k n
    | Some(ColumnData.Longs(values, nulls)) ->
        let ofNull = test Value.Null
        let ofValue = ValueMemo.longTest f test (fun b -> if b then Yes else No)
        fromTruths n (fun r -> if nulls.IsSome && nulls.Value.[r] then ofNull else ofValue values.[r])
    | Some(ColumnData.Doubles(values, nulls)) ->
        let ofNull = test Value.Null
        fromTruths n (fun r -> if nulls.IsSome && nulls.Value.[r] then ofNull else test (Value.Double values.[r]))
    | Some(ColumnData.Floats(values, nulls)) ->
        let ofNull = test Value.Null
        fromTruths n (fun r -> if nulls.IsSome && nulls.Value.[r] then ofNull else test (Value.Double(float values.[r])))
    | Some(ColumnData.LongArrays _ | ColumnData.DoubleArrays _ | ColumnData.StringArrays _ | ColumnData.Complex(ComplexJson.TypeName, _) as column) ->
        fromTruths n (fun r -> test (column.Cell r))
    | Some(ColumnData.Complex _) | None ->
        match test Value.Null with
        | Yes -> { Yes = RowSet.Full n; No = RowSet(n) }
        | No -> { Yes = RowSet(n); No = RowSet.Full n }
        | Unknown -> { Yes = RowSet(n); No = RowSet(n) }

let private isArrayColumn (columns: Columns) (column: string) =
    match columns.Column column with
    | Some(ColumnData.LongArrays _ | ColumnData.DoubleArrays _ | ColumnData.StringArrays _) -> true
    | _ -> false

/// The null flags of a number column (Some None: a number column without nulls).
let private numericNulls (columns: Columns) (column: string) : bool[] option option =
    match columns.Column column with
    | Some(ColumnData.Longs(_, nulls) | ColumnData.Doubles(_, nulls) | ColumnData.Floats(_, nulls)) -> Some nulls
    | _ -> None

/// The masks of a filter over every row of the segment.
let rec masks (columns: Columns) (f: Filter) : Masks =
    let n = columns.RowCount
    match f with
    | Filter.True -> { Yes = RowSet.Full n; No = RowSet(n) }
    | Filter.False -> { Yes = RowSet(n); No = RowSet.Full n }
    | Filter.And fields ->
        let parts = fields |> List.map (masks columns)
        let yes = RowSet.Full n
        let no = RowSet(n)
        for p in parts do
            yes.IntersectWith p.Yes
            no.UnionWith p.No
        { Yes = yes; No = no }
    | Filter.Or fields ->
        let parts = fields |> List.map (masks columns)
        let yes = RowSet(n)
        let no = RowSet.Full n
        for p in parts do
            yes.UnionWith p.Yes
            no.IntersectWith p.No
        { Yes = yes; No = no }
    | Filter.Not inner ->
        let m = masks columns inner
        { Yes = m.No; No = m.Yes }
    | Filter.Null column when (numericNulls columns column).IsSome ->
        // A number column's nulls are its null flags; no value needs a test.
        match (numericNulls columns column).Value with
        | None -> { Yes = RowSet(n); No = RowSet.Full n }
        | Some flags -> fromTruths n (fun r -> if flags.[r] then Yes else No)
    | f ->
        let wholeArray = QuerySlices.wholeArrayTruth f |> Option.filter (fst >> isArrayColumn columns)
        match wholeArray |> Option.orElse (singleColumnTruth f) with
        | Some(column, test) -> columnMasks columns f column test
        | None ->
            let truth = compileTruth f
            let reader = RowReader(columns)
            let get = reader.Get
            fromTruths n (fun r ->
                reader.Row <- r
                truth get)

/// The rows where the filter is true.
let matching (columns: Columns) (f: Filter) : Bitmap.RowSet = (masks columns f).Yes

namespace FunctionalDruid.Core

/// A dictionary-encoded string column as built during ingestion: ids point into
/// `Dictionary` (in first-seen order; the segment writer sorts it). A null value has an id
/// like any other value (its dictionary entry is null).
type StringColumnData =
    { Dictionary: string[]
      /// One id per row, for single-value columns (ignored when `MultiIds` is present).
      Ids: int[]
      /// Per-row id arrays for multi-value columns; an empty array is an empty row.
      MultiIds: int[][] option
      /// From `createBitmapIndex` in the dimensionsSpec (default true).
      HasBitmapIndex: bool }

/// Typed array rows (Druid's ARRAY<LONG>, ARRAY<DOUBLE>, ARRAY<STRING>), flattened: row r's
/// elements are `Values.[Offsets.[r] .. Offsets.[r + 1] - 1]`. A null row and an empty array
/// are different rows: a null row has no elements and its `RowNulls` flag set.
type ArrayColumnData<'T> =
    { /// RowCount + 1 ascending offsets into `Values`, starting at 0.
      Offsets: int[]
      Values: 'T[]
      /// Null elements (their slot holds the default value); None when there are none. String
      /// arrays may also hold null strings directly.
      ElementNulls: bool[] option
      /// Null rows; None when there are none.
      RowNulls: bool[] option }
    member this.RowCount = this.Offsets.Length - 1
    member this.IsNullRow(row: int) = this.RowNulls.IsSome && this.RowNulls.Value.[row]
    member this.IsNullElement(i: int) = this.ElementNulls.IsSome && this.ElementNulls.Value.[i]

/// The name of the complex type of nested JSON columns; its blobs are compact UTF-8 JSON.
[<RequireQualifiedAccess>]
module ComplexJson =
    [<Literal>]
    let TypeName = "json"

/// One column of a segment in memory, rows in segment order. `nulls`, when present,
/// flags rows whose value is null (their slot in `values` holds 0).
[<RequireQualifiedAccess>]
type ColumnData =
    | Strings of StringColumnData
    | Longs of values: int64[] * nulls: bool[] option
    | Floats of values: float32[] * nulls: bool[] option
    | Doubles of values: float[] * nulls: bool[] option
    /// Serialized complex values (HLL sketches, first/last pairs, nested JSON as compact
    /// UTF-8 text for `json`), one blob per row; a null blob is a null row.
    | Complex of typeName: string * values: byte[][]
    | LongArrays of ArrayColumnData<int64>
    | DoubleArrays of ArrayColumnData<float>
    | StringArrays of ArrayColumnData<string>

    member this.Type =
        match this with
        | Strings _ -> ColumnType.String
        | Longs _ -> ColumnType.Long
        | Floats _ -> ColumnType.Float
        | Doubles _ -> ColumnType.Double
        | Complex(t, _) -> ColumnType.Complex t
        | LongArrays _ -> ColumnType.Array ColumnType.Long
        | DoubleArrays _ -> ColumnType.Array ColumnType.Double
        | StringArrays _ -> ColumnType.Array ColumnType.String

    member this.RowCount =
        match this with
        | Strings s -> (match s.MultiIds with Some m -> m.Length | None -> s.Ids.Length)
        | Longs(v, _) -> v.Length
        | Floats(v, _) -> v.Length
        | Doubles(v, _) -> v.Length
        | Complex(_, v) -> v.Length
        | LongArrays a -> a.RowCount
        | DoubleArrays a -> a.RowCount
        | StringArrays a -> a.RowCount

    /// The value of one row: strings as String/Null (multi-value rows as Array), numbers as
    /// Long/Double, typed arrays as Array (null elements Null; a null row is Null, an empty
    /// array an empty Array), nested JSON as its compact JSON text, other complex values as
    /// Null (their meaning belongs to the aggregator).
    member this.Cell(row: int) : Value =
        let str (s: string) = if isNull s then Value.Null else Value.String s
        let isNullAt (nulls: bool[] option) = nulls.IsSome && nulls.Value.[row]
        let arrayCell (a: ArrayColumnData<'T>) (element: 'T -> Value) =
            if a.IsNullRow row then Value.Null
            else
                let start = a.Offsets.[row]
                Value.Array(Array.init (a.Offsets.[row + 1] - start) (fun k ->
                    let i = start + k
                    if a.IsNullElement i then Value.Null else element a.Values.[i]))
        match this with
        | Strings s ->
            match s.MultiIds with
            | Some m ->
                match m.[row] with
                | [||] -> Value.Null
                | [| one |] -> str s.Dictionary.[one]
                | ids -> Value.Array(ids |> Array.map (fun i -> str s.Dictionary.[i]))
            | None -> str s.Dictionary.[s.Ids.[row]]
        | Longs(v, n) -> if isNullAt n then Value.Null else Value.Long v.[row]
        | Floats(v, n) -> if isNullAt n then Value.Null else Value.Double(float v.[row])
        | Doubles(v, n) -> if isNullAt n then Value.Null else Value.Double v.[row]
        | Complex(ComplexJson.TypeName, blobs) ->
            match blobs.[row] with
            | null -> Value.Null
            | bytes -> Value.String(System.Text.Encoding.UTF8.GetString bytes)
        | Complex _ -> Value.Null
        | LongArrays a -> arrayCell a Value.Long
        | DoubleArrays a -> arrayCell a Value.Double
        | StringArrays a -> arrayCell a str

/// Strings numbered in first-seen order; null gets an id only when it occurs.
type StringInterner() =
    let ids = System.Collections.Generic.Dictionary<string, int>(System.StringComparer.Ordinal)
    let values = System.Collections.Generic.List<string>()
    let mutable nullId = -1
    member _.Id(s: string) =
        if isNull s then
            if nullId < 0 then
                nullId <- values.Count
                values.Add null
            nullId
        else
            match ids.TryGetValue s with
            | true, id -> id
            | _ ->
                let id = values.Count
                ids.[s] <- id
                values.Add s
                id
    member _.Values = values.ToArray()

/// A segment's rows in memory, ready to be written: `Times` sorted ascending, every column
/// has `Times.Length` rows.
type SegmentContent =
    { Interval: Time.Interval
      Times: int64[]
      Dimensions: (string * ColumnData) list
      Metrics: (string * ColumnData) list
      /// Opaque JSON recorded with the segment (aggregators, queryGranularity, rollup), so
      /// segmentMetadata can report them.
      Metadata: string }

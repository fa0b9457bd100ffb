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

/// One column of a segment in memory, rows in segment order. `nulls`, when present,
/// flags rows whose value is null (their slot in `values` holds 0).
[<RequireQualifiedAccess>]
type ColumnData =
    | Strings of StringColumnData
    | Longs of values: int64[] * nulls: bool[] option
    | Floats of values: float32[] * nulls: bool[] option
    | Doubles of values: float[] * nulls: bool[] option
    /// Serialized complex values (HLL sketches, first/last pairs), one blob per row.
    | Complex of typeName: string * values: byte[][]

    member this.Type =
        match this with
        | Strings _ -> ColumnType.String
        | Longs _ -> ColumnType.Long
        | Floats _ -> ColumnType.Float
        | Doubles _ -> ColumnType.Double
        | Complex(t, _) -> ColumnType.Complex t

    member this.RowCount =
        match this with
        | Strings s -> (match s.MultiIds with Some m -> m.Length | None -> s.Ids.Length)
        | Longs(v, _) -> v.Length
        | Floats(v, _) -> v.Length
        | Doubles(v, _) -> v.Length
        | Complex(_, v) -> v.Length

    /// The value of one row: strings as String/Null (multi-value rows as Array), numbers as
    /// Long/Double, complex values as Null (their meaning belongs to the aggregator).
    member this.Cell(row: int) : Value =
        let str (s: string) = if isNull s then Value.Null else Value.String s
        let isNullAt (nulls: bool[] option) = nulls.IsSome && nulls.Value.[row]
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
        | Complex _ -> Value.Null

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

namespace FunctionalDruid.Core

open System
open System.Buffers.Binary
open System.Collections.Generic
open System.IO
open System.Runtime.InteropServices
open System.Text
open FunctionalDruid.Core.Bitmap
open FunctionalDruid.Core.SegmentEncoding

[<RequireQualifiedAccess>]
type ColumnRole =
    | Time
    | Dimension
    | Metric

type ColumnInfo =
    { Name: string
      Type: ColumnType
      Role: ColumnRole
      HasBitmapIndex: bool
      IsMultiValue: bool
      HasNulls: bool }

/// A string column: a sorted dictionary (null first when present, then UTF-8 byte order),
/// per-row ids into it, and optionally one bitmap per dictionary value.
[<Sealed>]
type StringColumnReader internal (rowCount: int, cardinality: int, hasNull: bool, offsets: ReadOnlyMemory<byte>,
                                  values: ReadOnlyMemory<byte>, ids: BlockStream, rowOffsets: BlockStream option,
                                  bitmapOffsets: ReadOnlyMemory<byte>, bitmaps: ReadOnlyMemory<byte>, hasIndex: bool) =
    let offsetOf (id: int) = BinaryPrimitives.ReadInt32LittleEndian(offsets.Span.Slice(4 * id))
    let firstNonNull = if hasNull then 1 else 0

    let checkId (id: int) =
        if id < 0 || id >= cardinality then raise (ArgumentOutOfRangeException("id", sprintf "id %d of a dictionary of %d" id cardinality))

    /// Index of the first non-null entry >= value (Cardinality when none).
    let lowerBound (value: ReadOnlySpan<byte>) =
        let mutable lo = firstNonNull
        let mutable hi = cardinality
        while lo < hi do
            let mid = (lo + hi) >>> 1
            let start = offsetOf mid
            let entry = values.Span.Slice(start, offsetOf (mid + 1) - start)
            if compareUtf8 entry value < 0 then lo <- mid + 1 else hi <- mid
        lo

    member _.Cardinality = cardinality
    /// Whether the dictionary holds null (always as id 0).
    member _.HasNull = hasNull
    member _.IsMultiValue = rowOffsets.IsSome
    member _.HasBitmapIndex = hasIndex

    /// The UTF-8 bytes of a dictionary value (empty for null; check HasNull and id 0).
    member _.DictionaryValueUtf8(id: int) : ReadOnlySpan<byte> =
        checkId id
        let start = offsetOf id
        values.Span.Slice(start, offsetOf (id + 1) - start)

    member this.DictionaryValue(id: int) : string =
        if hasNull && id = 0 then null else Encoding.UTF8.GetString(this.DictionaryValueUtf8 id)

    /// Every dictionary value in id order.
    member this.Dictionary() : string[] =
        let result = Array.zeroCreate<string> cardinality
        for id in 0 .. cardinality - 1 do
            result[id] <- this.DictionaryValue id
        result

    /// The id of a value (null allowed), or -1 when absent.
    member this.LookupId(value: string) : int =
        if isNull value then (if hasNull then 0 else -1)
        else
            let utf8 = Encoding.UTF8.GetBytes value
            let i = lowerBound (ReadOnlySpan utf8)
            if i < cardinality && compareUtf8 (this.DictionaryValueUtf8 i) (ReadOnlySpan utf8) = 0 then i else -1

    /// The first id whose (non-null) value is >= `value`; Cardinality when all are smaller.
    /// Ids [LowerBound a, LowerBound b) are the values in [a, b) (lexicographic bounds).
    member _.LowerBound(value: string) : int =
        if isNull value then firstNonNull else lowerBound (ReadOnlySpan(Encoding.UTF8.GetBytes value))

    /// Per-row ids of a single-value column.
    member _.Ids() : int[] =
        if rowOffsets.IsSome then invalidOp "Ids() on a multi-value column; use MultiValueRows()"
        ids.Int32s()

    /// For a multi-value column: row offsets (RowCount + 1 entries) into a flat id array;
    /// row r holds ids[offsets[r] .. offsets[r+1]-1]. A single-value column gives one id per row.
    member _.MultiValueRows() : int[] * int[] =
        match rowOffsets with
        | Some stream ->
            let offsets = stream.Int32s()
            let flat = ids.Int32s()
            for r in 0 .. rowCount - 1 do
                if offsets[r] < 0 || offsets[r] > offsets[r + 1] then corrupt "multi-value offsets out of order"
            if rowCount >= 0 && offsets[rowCount] <> flat.Length then corrupt "multi-value offsets do not cover the ids"
            offsets, flat
        | None -> Array.init (rowCount + 1) id, ids.Int32s()

    member this.MultiIds() : int[][] =
        let offsets, flat = this.MultiValueRows()
        let rows = Array.zeroCreate<int[]> rowCount
        for r in 0 .. rowCount - 1 do
            rows[r] <- Array.sub flat offsets[r] (offsets[r + 1] - offsets[r])
        rows

    /// The rows holding dictionary value `id`, when the column has a bitmap index. For
    /// multi-value columns the null value's bitmap also holds the empty rows.
    member _.ValueBitmap(id: int) : Bitmap option =
        if not hasIndex then None
        else
            checkId id
            let start = int (BinaryPrimitives.ReadInt64LittleEndian(bitmapOffsets.Span.Slice(8 * id)))
            let stop = int (BinaryPrimitives.ReadInt64LittleEndian(bitmapOffsets.Span.Slice(8 * id + 8)))
            match Bitmap.Deserialize(bitmaps.Slice(start, stop - start)) with
            | Ok b -> Some b
            | Error e -> corrupt e

/// A long, float or double column. Values of null rows are 0.
[<Sealed>]
type NumericColumnReader internal (columnType: ColumnType, values: BlockStream, nulls: Bitmap option) =
    member _.Type = columnType
    member _.HasNulls = nulls.IsSome
    /// The null rows, when there are any.
    member _.Nulls() : Bitmap option = nulls

    member _.Longs() : int64[] =
        match columnType with
        | ColumnType.Long -> values.Int64s()
        | ColumnType.Double ->
            let d = Array.zeroCreate<float> values.Count
            values.DecodeAll(MemoryMarshal.AsBytes(Span d))
            Array.map (fun (x: float) -> if Double.IsNaN x then 0L else int64 x) d
        | _ ->
            let f = Array.zeroCreate<float32> values.Count
            values.DecodeAll(MemoryMarshal.AsBytes(Span f))
            Array.map (fun (x: float32) -> if Single.IsNaN x then 0L else int64 x) f

    member _.Doubles() : float[] =
        match columnType with
        | ColumnType.Double ->
            let d = Array.zeroCreate<float> values.Count
            values.DecodeAll(MemoryMarshal.AsBytes(Span d))
            d
        | ColumnType.Long -> Array.map float (values.Int64s())
        | _ ->
            let f = Array.zeroCreate<float32> values.Count
            values.DecodeAll(MemoryMarshal.AsBytes(Span f))
            Array.map float f

    member this.Floats() : float32[] =
        match columnType with
        | ColumnType.Float ->
            let f = Array.zeroCreate<float32> values.Count
            values.DecodeAll(MemoryMarshal.AsBytes(Span f))
            f
        | ColumnType.Long -> Array.map float32 (values.Int64s())
        | _ -> Array.map float32 (this.Doubles())

/// A complex column: one serialized blob per row (null for a null blob).
[<Sealed>]
type ComplexColumnReader internal (typeName: string, lengths: BlockStream, payload: BlockStream) =
    member _.TypeName = typeName

    member _.Blobs() : byte[][] =
        let lens = lengths.Int32s()
        let bytes = Array.zeroCreate<byte> payload.Count
        payload.DecodeAll(Span bytes)
        let blobs = Array.zeroCreate<byte[]> lens.Length
        let mutable offset = 0
        for i in 0 .. lens.Length - 1 do
            let n = lens[i]
            if n >= 0 then
                if n > bytes.Length - offset then corrupt "complex blob lengths exceed the payload"
                blobs[i] <- bytes.AsSpan(offset, n).ToArray()
                offset <- offset + n
            elif n <> -1 then corrupt "bad complex blob length"
        blobs

/// A typed array column (ARRAY<LONG>, ARRAY<DOUBLE>, ARRAY<STRING>), decoded whole.
[<Sealed>]
type ArrayColumnReader internal (elementType: ColumnType, rowCount: int, offsets: BlockStream, rowNulls: Bitmap option,
                                 elements: BlockStream, elementNulls: Bitmap option, dictionary: ReadOnlyMemory<byte>, dictionaryBytes: ReadOnlyMemory<byte>) =
    let flags (count: int) (bitmap: Bitmap option) =
        bitmap
        |> Option.map (fun b ->
            let f = Array.zeroCreate<bool> count
            b.Iterate(fun i -> if i < count then f[i] <- true else corrupt "null flags past the end")
            f)
    member _.ElementType = elementType

    /// The column's rows.
    member _.Data() : ColumnData =
        let rowOffsets = offsets.Int32s()
        let count = elements.Count
        if rowOffsets[0] <> 0 || rowOffsets[rowCount] <> count then corrupt "array offsets do not match the elements"
        for r in 0 .. rowCount - 1 do
            if rowOffsets[r + 1] < rowOffsets[r] then corrupt "array offsets out of order"
        let rowNullFlags = flags rowCount rowNulls
        let elementNullFlags = flags count elementNulls
        let data (values: 'T[]) : ArrayColumnData<'T> =
            { Offsets = rowOffsets; Values = values; ElementNulls = elementNullFlags; RowNulls = rowNullFlags }
        match elementType with
        | ColumnType.Long -> ColumnData.LongArrays(data (elements.Int64s()))
        | ColumnType.Double ->
            let d = Array.zeroCreate<float> count
            if elements.Width <> 8 then corrupt "expected 8-byte values"
            elements.DecodeAll(MemoryMarshal.AsBytes(Span d))
            ColumnData.DoubleArrays(data d)
        | _ ->
            let header = dictionary.Span
            if header.Length < 8 then corrupt "array dictionary truncated"
            let cardinality = BinaryPrimitives.ReadInt32LittleEndian header
            if cardinality < 0 || int64 header.Length <> 4L + 4L * (int64 cardinality + 1L) then corrupt "array dictionary size mismatch"
            let values = Array.zeroCreate<string> cardinality
            for id in 0 .. cardinality - 1 do
                let a = BinaryPrimitives.ReadInt32LittleEndian(header.Slice(4 + 4 * id))
                let b = BinaryPrimitives.ReadInt32LittleEndian(header.Slice(8 + 4 * id))
                if a < 0 || b < a || b > dictionaryBytes.Length then corrupt "array dictionary offsets out of bounds"
                values[id] <- Encoding.UTF8.GetString(dictionaryBytes.Span.Slice(a, b - a))
            let ids = elements.Int32s()
            let strings =
                Array.init count (fun i ->
                    if elementNullFlags.IsSome && elementNullFlags.Value[i] then null
                    else
                        let id = ids[i]
                        if id < 0 || id >= cardinality then corrupt "array element id outside the dictionary"
                        values[id])
            // string arrays mark null elements with null strings
            ColumnData.StringArrays { data strings with ElementNulls = None }

[<RequireQualifiedAccess>]
type ColumnReader =
    | String of StringColumnReader
    | Numeric of NumericColumnReader
    | Complex of ComplexColumnReader
    | Array of ArrayColumnReader

exception private SegmentFormatError of string

/// An open segment file: a view over its memory (nothing is decoded until asked for, and
/// nothing is cached: callers cache what they reuse). Thread-safe.
[<Sealed>]
type SegmentReader private (rowCount: int, interval: Time.Interval, metadata: string, columns: ColumnInfo list,
                            readers: Dictionary<string, ColumnReader>, times: BlockStream, timeIndex: ReadOnlyMemory<byte>) =
    let blockFirst (b: int) = BinaryPrimitives.ReadInt64LittleEndian(timeIndex.Span.Slice(16 * b))
    let blockLast (b: int) = BinaryPrimitives.ReadInt64LittleEndian(timeIndex.Span.Slice(16 * b + 8))

    let decodeTimeBlock (b: int) (dst: Span<int64>) =
        times.DecodeBlock(b, MemoryMarshal.AsBytes dst)
        for i in 1 .. times.BlockLength b - 1 do
            dst[i] <- dst[i - 1] + dst[i]

    /// The first row with time >= t, through the block index and one block decode.
    let firstRowAtOrAfter (t: int64) =
        let mutable lo = 0
        let mutable hi = times.BlockCount
        while lo < hi do
            let mid = (lo + hi) >>> 1
            if blockLast mid < t then lo <- mid + 1 else hi <- mid
        if lo = times.BlockCount then rowCount
        elif blockFirst lo >= t then lo * times.BlockElements
        else
            let block = Array.zeroCreate<int64> (times.BlockLength lo)
            decodeTimeBlock lo (Span block)
            let mutable a = 0
            let mutable b = block.Length
            while a < b do
                let mid = (a + b) >>> 1
                if block[mid] < t then a <- mid + 1 else b <- mid
            lo * times.BlockElements + a

    member _.RowCount = rowCount
    member _.Interval = interval
    member _.Metadata = metadata
    /// Dimensions then metrics, in written order (`__time` is not listed).
    member _.Columns = columns
    member _.Dimensions = columns |> List.filter (fun c -> c.Role = ColumnRole.Dimension)
    member _.Metrics = columns |> List.filter (fun c -> c.Role = ColumnRole.Metric)

    member _.Column(name: string) : ColumnReader option =
        match readers.TryGetValue name with
        | true, r -> Some r
        | _ -> None

    member this.StringColumn(name: string) =
        match this.Column name with
        | Some(ColumnReader.String r) -> Some r
        | _ -> None

    member this.NumericColumn(name: string) =
        match this.Column name with
        | Some(ColumnReader.Numeric r) -> Some r
        | _ -> None

    member this.ComplexColumn(name: string) =
        match this.Column name with
        | Some(ColumnReader.Complex r) -> Some r
        | _ -> None

    /// Every row's time, decompressed (ascending).
    member _.Times() : int64[] =
        let result = Array.zeroCreate<int64> rowCount
        for b in 0 .. times.BlockCount - 1 do
            decodeTimeBlock b (Span(result, b * times.BlockElements, times.BlockLength b))
        result

    /// Rows [firstRow, endRow) are those with start <= time < end.
    member _.TimeRange(start: int64, stop: int64) : int * int =
        let first = firstRowAtOrAfter start
        if stop <= start then first, first else first, max first (firstRowAtOrAfter stop)

    static member internal Parse(memory: ReadOnlyMemory<byte>) : SegmentReader =
        let fail message = raise (SegmentFormatError message)
        let orFail context result =
            match result with
            | Ok v -> v
            | Error e -> fail (context + ": " + e)
        let span = memory.Span
        if span.Length < HeaderBytes then fail "truncated header"
        if not (span.Slice(0, 8).SequenceEqual(ReadOnlySpan magic)) then fail "not a segment file (bad magic)"
        let version = BinaryPrimitives.ReadInt32LittleEndian(span.Slice 8)
        if version <> FormatVersion then fail (sprintf "unsupported format version %d" version)
        let rowCount = BinaryPrimitives.ReadInt32LittleEndian(span.Slice 12)
        let interval: Time.Interval =
            { Start = BinaryPrimitives.ReadInt64LittleEndian(span.Slice 16)
              End = BinaryPrimitives.ReadInt64LittleEndian(span.Slice 24) }
        let fileLength = BinaryPrimitives.ReadInt64LittleEndian(span.Slice 32)
        let columnCount = BinaryPrimitives.ReadInt32LittleEndian(span.Slice 40)
        let directoryLength = BinaryPrimitives.ReadInt32LittleEndian(span.Slice 44)
        let metadataOffset = BinaryPrimitives.ReadInt64LittleEndian(span.Slice 48)
        let metadataLength = BinaryPrimitives.ReadInt32LittleEndian(span.Slice 56)
        if rowCount < 0 then fail "negative row count"
        if fileLength < int64 HeaderBytes || fileLength > int64 span.Length then
            fail (sprintf "truncated: file length %d but %d bytes available" fileLength span.Length)
        let memory = memory.Slice(0, int fileLength)
        let inFile (offset: int64) (length: int64) = offset >= 0L && length >= 0L && offset + length <= fileLength
        if columnCount < 1 || directoryLength < 0 || not (inFile (int64 HeaderBytes) (int64 directoryLength)) then fail "bad column directory"
        if metadataLength < 0 || not (inFile metadataOffset (int64 metadataLength)) then fail "metadata out of bounds"
        let metadata = Encoding.UTF8.GetString(memory.Span.Slice(int metadataOffset, metadataLength))
        let directory = memory.Slice(HeaderBytes, directoryLength)
        let mutable cursor = 0
        let take (n: int) =
            if n < 0 || cursor + n > directory.Length then fail "column directory truncated"
            let s = directory.Slice(cursor, n)
            cursor <- cursor + n
            s
        let readString () =
            let n = BinaryPrimitives.ReadInt32LittleEndian((take 4).Span)
            Encoding.UTF8.GetString((take n).Span)
        let readers = Dictionary<string, ColumnReader>()
        let infos = ResizeArray<ColumnInfo>()
        let mutable time = None
        for i in 0 .. columnCount - 1 do
            let fixedPart = (take 20).Span
            let role, typeCode, flags = fixedPart[0], fixedPart[1], fixedPart[2]
            let offset = BinaryPrimitives.ReadInt64LittleEndian(fixedPart.Slice 4)
            let length = BinaryPrimitives.ReadInt64LittleEndian(fixedPart.Slice 12)
            let name = readString ()
            let typeName = readString ()
            if not (inFile offset length) then fail (sprintf "column %s out of bounds" name)
            let section = memory.Slice(int offset, int length)
            let context = "column " + name
            let rowStream (part: ReadOnlyMemory<byte>) (width: int) =
                let s = parseBlocks part |> orFail context
                if s.Count <> rowCount || s.Width <> width then fail (context + ": values do not match the row count")
                s
            let hasIndex = flags &&& FlagBitmapIndex <> 0uy
            let isMulti = flags &&& FlagMultiValue <> 0uy
            if (i = 0) <> (role = RoleTime) then fail "the first column, and only it, must be __time"
            match role, typeCode with
            | RoleTime, TypeLong ->
                let parts = parseParts section TimeParts |> orFail context
                let stream = rowStream parts[0] 8
                if parts[1].Length <> 16 * stream.BlockCount then fail "time block index has the wrong size"
                time <- Some(stream, parts[1])
            | (RoleDimension | RoleMetric), (TypeLong | TypeFloat | TypeDouble) ->
                let parts = parseParts section NumericParts |> orFail context
                let columnType, width =
                    match typeCode with
                    | TypeLong -> ColumnType.Long, 8
                    | TypeFloat -> ColumnType.Float, 4
                    | _ -> ColumnType.Double, 8
                let stream = rowStream parts[0] width
                let nulls =
                    if parts[1].Length = 0 then None
                    else
                        let b = Bitmap.Deserialize parts[1] |> orFail context
                        if b.MaxRow >= rowCount then fail (context + ": null rows past the row count")
                        Some b
                readers[name] <- ColumnReader.Numeric(NumericColumnReader(columnType, stream, nulls))
            | (RoleDimension | RoleMetric), TypeString ->
                let parts = parseParts section StringParts |> orFail context
                let header = parts[0].Span
                if header.Length < 8 then fail (context + ": dictionary header truncated")
                let cardinality = BinaryPrimitives.ReadInt32LittleEndian header
                let hasNull = BinaryPrimitives.ReadInt32LittleEndian(header.Slice 4) = 1
                if cardinality < 0 || int64 header.Length <> 8L + 4L * (int64 cardinality + 1L) then fail (context + ": dictionary size mismatch")
                if hasNull && cardinality = 0 then fail (context + ": null flag on an empty dictionary")
                let offsets = parts[0].Slice 8
                let mutable previous = 0
                for id in 0 .. cardinality do
                    let o = BinaryPrimitives.ReadInt32LittleEndian(offsets.Span.Slice(4 * id))
                    if o < previous || (id = 0 && o <> 0) || (id = 1 && hasNull && o <> 0) then fail (context + ": dictionary offsets out of order")
                    previous <- o
                if previous <> parts[1].Length then fail (context + ": dictionary offsets do not match the values")
                let ids = parseBlocks parts[2] |> orFail context
                if ids.Width = 8 then fail (context + ": bad id width")
                let rowOffsets =
                    if isMulti then
                        let s = parseBlocks parts[3] |> orFail context
                        if s.Count <> rowCount + 1 || s.Width <> 4 then fail (context + ": multi-value offsets do not match the row count")
                        Some s
                    else
                        if ids.Count <> rowCount then fail (context + ": ids do not match the row count")
                        None
                if hasIndex then
                    if int64 parts[4].Length <> 8L * (int64 cardinality + 1L) then fail (context + ": bitmap table size mismatch")
                    let mutable previous = 0L
                    for id in 0 .. cardinality do
                        let o = BinaryPrimitives.ReadInt64LittleEndian(parts[4].Span.Slice(8 * id))
                        if o < previous then fail (context + ": bitmap offsets out of order")
                        previous <- o
                    if previous > int64 parts[5].Length then fail (context + ": bitmaps out of bounds")
                let reader = StringColumnReader(rowCount, cardinality, hasNull, offsets, parts[1], ids, rowOffsets, parts[4], parts[5], hasIndex)
                readers[name] <- ColumnReader.String reader
            | (RoleDimension | RoleMetric), TypeComplex ->
                let parts = parseParts section ComplexParts |> orFail context
                let lengths = rowStream parts[0] 4
                let payload = parseBlocks parts[1] |> orFail context
                if payload.Width <> 1 then fail (context + ": bad payload width")
                readers[name] <- ColumnReader.Complex(ComplexColumnReader(typeName, lengths, payload))
            | (RoleDimension | RoleMetric), TypeArray ->
                let parts = parseParts section ArrayParts |> orFail context
                let elementType =
                    match typeName with
                    | "ARRAY<LONG>" -> ColumnType.Long
                    | "ARRAY<DOUBLE>" -> ColumnType.Double
                    | "ARRAY<STRING>" -> ColumnType.String
                    | other -> fail (sprintf "%s: unknown array type %s" context other)
                let offsets = parseBlocks parts[0] |> orFail context
                if offsets.Count <> rowCount + 1 || offsets.Width <> 4 then fail (context + ": array offsets do not match the row count")
                let bitmapOf (part: ReadOnlyMemory<byte>) =
                    if part.Length = 0 then None else Some(Bitmap.Deserialize part |> orFail context)
                let elements = parseBlocks parts[2] |> orFail context
                let expectedWidth = if elementType = ColumnType.String then 4 else 8
                if elements.Width <> expectedWidth then fail (context + ": bad array element width")
                readers[name] <- ColumnReader.Array(ArrayColumnReader(elementType, rowCount, offsets, bitmapOf parts[1], elements, bitmapOf parts[3], parts[4], parts[5]))
            | _ -> fail (sprintf "%s: unknown role %d or type %d" context role typeCode)
            if role <> RoleTime then
                if readers.Count <> infos.Count + 1 then fail (sprintf "duplicate column %s" name)
                infos.Add
                    { Name = name
                      Type =
                        match typeCode with
                        | TypeLong -> ColumnType.Long
                        | TypeFloat -> ColumnType.Float
                        | TypeDouble -> ColumnType.Double
                        | TypeString -> ColumnType.String
                        | TypeArray ->
                            match readers[name] with
                            | ColumnReader.Array a -> ColumnType.Array a.ElementType
                            | _ -> ColumnType.Complex typeName
                        | _ -> ColumnType.Complex typeName
                      Role = if role = RoleDimension then ColumnRole.Dimension else ColumnRole.Metric
                      HasBitmapIndex = hasIndex
                      IsMultiValue = isMulti
                      HasNulls = flags &&& FlagHasNulls <> 0uy }
        match time with
        | Some(stream, index) -> SegmentReader(rowCount, interval, metadata, List.ofSeq infos, readers, stream, index)
        | None -> fail "no __time column"

    /// Checks the header and every column's layout against the buffer bounds; compressed
    /// blocks are only checked when decoded (see SegmentFormat.verify).
    static member Open(memory: ReadOnlyMemory<byte>) : Result<SegmentReader, string> =
        try
            Ok(SegmentReader.Parse memory)
        with
        | SegmentFormatError message -> Error("segment: " + message)
        | :? InvalidDataException as e -> Error e.Message
        | :? ArgumentException as e -> Error("segment: " + e.Message)
        | :? IndexOutOfRangeException -> Error "segment: structure out of bounds"

/// The columnar segment file (layout in docs/segment-format.md): `write` turns a
/// SegmentContent into bytes, `tryOpen` reads them back without copying, `readContent`
/// rebuilds a SegmentContent (for merging). No I/O: bytes in, bytes out.
module FunctionalDruid.Core.SegmentFormat

open System
open System.Buffers
open System.Collections.Generic
open System.IO
open System.Runtime.InteropServices
open System.Text
open FunctionalDruid.Core.Bitmap
open FunctionalDruid.Core.SegmentEncoding

// ---- writer ------------------------------------------------------------------------------

/// A string column with its dictionary sorted (null first, then UTF-8 byte order) and
/// deduplicated, and the ids remapped to it.
type private SortedStrings =
    { Values: byte[][]
      HasNull: bool
      /// Per-row ids (single-value) or the flat ids of all rows (multi-value).
      Ids: int[]
      /// Row offsets into Ids for multi-value columns (RowCount + 1 entries).
      RowOffsets: int[] option }

let private compareEntries (a: byte[]) (b: byte[]) =
    match a, b with
    | null, null -> 0
    | null, _ -> -1
    | _, null -> 1
    | _ -> compareUtf8 (ReadOnlySpan a) (ReadOnlySpan b)

let private sortStrings (rowCount: int) (data: StringColumnData) : SortedStrings =
    let dictionary = data.Dictionary
    let utf8 = Array.zeroCreate<byte[]> dictionary.Length
    for i in 0 .. dictionary.Length - 1 do
        if not (isNull dictionary[i]) then utf8[i] <- Encoding.UTF8.GetBytes dictionary[i]
    let order = Array.init dictionary.Length id
    Array.Sort(order, { new IComparer<int> with member _.Compare(a, b) = compareEntries utf8[a] utf8[b] })
    let remap = Array.zeroCreate<int> dictionary.Length
    let values = ResizeArray<byte[]>(dictionary.Length + 1)
    let mutable hasEmptyRow = false
    match data.MultiIds with
    | Some rows ->
        for r in rows do
            if r.Length = 0 then hasEmptyRow <- true
    | None -> ()
    // Empty multi-value rows count as null for filters, so they need a null entry to sit in.
    let firstIsNull = order.Length > 0 && isNull utf8[order[0]]
    if hasEmptyRow && not firstIsNull then values.Add null
    for k in order do
        if values.Count = 0 || compareEntries values[values.Count - 1] utf8[k] <> 0 then
            values.Add utf8[k]
        remap[k] <- values.Count - 1
    let mapId (row: int) (oldId: int) =
        if oldId < 0 || oldId >= remap.Length then invalidArg "content" (sprintf "row %d has id %d outside its dictionary" row oldId)
        remap[oldId]
    match data.MultiIds with
    | Some rows ->
        if rows.Length <> rowCount then invalidArg "content" "a multi-value column does not have one entry per row"
        let offsets = Array.zeroCreate<int> (rowCount + 1)
        for r in 0 .. rowCount - 1 do
            offsets[r + 1] <- offsets[r] + rows[r].Length
        let flat = Array.zeroCreate<int> offsets[rowCount]
        for r in 0 .. rowCount - 1 do
            let row = rows[r]
            let start = offsets[r]
            for j in 0 .. row.Length - 1 do
                flat[start + j] <- mapId r row[j]
        { Values = values.ToArray(); HasNull = hasEmptyRow || firstIsNull; Ids = flat; RowOffsets = Some offsets }
    | None ->
        if data.Ids.Length <> rowCount then invalidArg "content" "a string column does not have one id per row"
        let ids = Array.zeroCreate<int> rowCount
        for r in 0 .. rowCount - 1 do
            ids[r] <- mapId r data.Ids[r]
        { Values = values.ToArray(); HasNull = firstIsNull; Ids = ids; RowOffsets = None }

/// Row lists per dictionary id, ascending and distinct (counting sort over the rows):
/// rows of id i are rows[starts[i] .. starts[i+1]-1].
let private rowsPerValue (rowCount: int) (cardinality: int) (s: SortedStrings) : int[] * int[] =
    let starts = Array.zeroCreate<int> (cardinality + 1)
    let ids = s.Ids
    match s.RowOffsets with
    | None ->
        for r in 0 .. rowCount - 1 do
            starts[ids[r] + 1] <- starts[ids[r] + 1] + 1
        for id in 1 .. cardinality do
            starts[id] <- starts[id] + starts[id - 1]
        let rows = Array.zeroCreate<int> rowCount
        let cursor = Array.copy starts
        for r in 0 .. rowCount - 1 do
            let id = ids[r]
            rows[cursor[id]] <- r
            cursor[id] <- cursor[id] + 1
        starts, rows
    | Some offsets ->
        // A row may repeat a value: lastRow keeps it listed once. An empty row is listed
        // under null (id 0).
        let lastRow = Array.create cardinality -1
        for r in 0 .. rowCount - 1 do
            if offsets[r] = offsets[r + 1] then starts[1] <- starts[1] + 1
            for j in offsets[r] .. offsets[r + 1] - 1 do
                let id = ids[j]
                if lastRow[id] <> r then
                    lastRow[id] <- r
                    starts[id + 1] <- starts[id + 1] + 1
        for id in 1 .. cardinality do
            starts[id] <- starts[id] + starts[id - 1]
        let rows = Array.zeroCreate<int> starts[cardinality]
        let cursor = Array.copy starts
        Array.Fill(lastRow, -1)
        for r in 0 .. rowCount - 1 do
            if offsets[r] = offsets[r + 1] then
                rows[cursor[0]] <- r
                cursor[0] <- cursor[0] + 1
            for j in offsets[r] .. offsets[r + 1] - 1 do
                let id = ids[j]
                if lastRow[id] <> r then
                    lastRow[id] <- r
                    rows[cursor[id]] <- r
                    cursor[id] <- cursor[id] + 1
        starts, rows

let private narrowIds (ids: int[]) (cardinality: int) : byte[] * int =
    if cardinality <= 256 then
        let raw = Array.zeroCreate<byte> ids.Length
        for i in 0 .. ids.Length - 1 do
            raw[i] <- byte ids[i]
        raw, 1
    elif cardinality <= 65536 then
        let raw = Array.zeroCreate<byte> (ids.Length * 2)
        let narrow = MemoryMarshal.Cast<byte, uint16>(Span raw)
        for i in 0 .. ids.Length - 1 do
            narrow[i] <- uint16 ids[i]
        raw, 2
    else MemoryMarshal.AsBytes(ReadOnlySpan ids).ToArray(), 4

let private writeTimeSection (sink: ByteSink) (times: int64[]) =
    let section = SectionWriter(sink, TimeParts)
    // Block-local deltas: each block starts with an absolute time so blocks decode alone.
    let deltas = Array.zeroCreate<int64> times.Length
    for i in 0 .. times.Length - 1 do
        deltas[i] <- if i % RowsPerBlock = 0 then times[i] else times[i] - times[i - 1]
    section.BeginPart()
    writeBlocks sink (MemoryMarshal.AsBytes(ReadOnlySpan deltas)) 8 RowsPerBlock
    section.EndPart 0
    section.BeginPart()
    let mutable first = 0
    while first < times.Length do
        let last = min times.Length (first + RowsPerBlock) - 1
        sink.WriteInt64 times[first]
        sink.WriteInt64 times[last]
        first <- first + RowsPerBlock
    section.EndPart 1
    section

let private writeNullsPart (sink: ByteSink) (nulls: bool[] option) =
    match nulls with
    | Some flags when Array.contains true flags ->
        let rows = ResizeArray<int>()
        for r in 0 .. flags.Length - 1 do
            if flags[r] then rows.Add r
        let rows = rows.ToArray()
        let size = serializedSizeOfSortedRows (ReadOnlySpan rows)
        writeSortedRows (ReadOnlySpan rows) (sink.Reserve size) |> ignore
        sink.Advance size
    | _ -> ()

let private writeNumericSection (sink: ByteSink) (raw: ReadOnlySpan<byte>) (width: int) (nulls: bool[] option) =
    let section = SectionWriter(sink, NumericParts)
    section.BeginPart()
    writeBlocks sink raw width RowsPerBlock
    section.EndPart 0
    section.BeginPart()
    writeNullsPart sink nulls
    section.EndPart 1
    section

let private writeStringSection (sink: ByteSink) (rowCount: int) (s: SortedStrings) (withIndex: bool) =
    let section = SectionWriter(sink, StringParts)
    let cardinality = s.Values.Length
    section.BeginPart()
    sink.WriteInt32 cardinality
    sink.WriteInt32(if s.HasNull then 1 else 0)
    let mutable offset = 0
    sink.WriteInt32 0
    for v in s.Values do
        offset <- offset + (if isNull v then 0 else v.Length)
        sink.WriteInt32 offset
    section.EndPart 0
    section.BeginPart()
    for v in s.Values do
        if not (isNull v) then sink.WriteBytes(ReadOnlySpan v)
    section.EndPart 1
    section.BeginPart()
    let raw, width = narrowIds s.Ids cardinality
    writeBlocks sink (ReadOnlySpan raw) width RowsPerBlock
    section.EndPart 2
    match s.RowOffsets with
    | Some offsets ->
        section.BeginPart()
        writeBlocks sink (MemoryMarshal.AsBytes(ReadOnlySpan offsets)) 4 RowsPerBlock
        section.EndPart 3
    | None -> ()
    if withIndex then
        let starts, rows = rowsPerValue rowCount cardinality s
        section.BeginPart()
        let table = sink.Length
        (sink.Reserve(8 * (cardinality + 1))).Clear()
        sink.Advance(8 * (cardinality + 1))
        section.EndPart 4
        section.BeginPart()
        let blobStart = sink.Length
        for id in 0 .. cardinality - 1 do
            sink.Align8()
            sink.PatchInt64(table + 8 * id, int64 (sink.Length - blobStart))
            let valueRows = ReadOnlySpan(rows, starts[id], starts[id + 1] - starts[id])
            let size = serializedSizeOfSortedRows valueRows
            writeSortedRows valueRows (sink.Reserve size) |> ignore
            sink.Advance size
        sink.PatchInt64(table + 8 * cardinality, int64 (sink.Length - blobStart))
        section.EndPart 5
    section

let private writeComplexSection (sink: ByteSink) (blobs: byte[][]) =
    let section = SectionWriter(sink, ComplexParts)
    let lengths = Array.zeroCreate<int> blobs.Length
    let mutable total = 0L
    for i in 0 .. blobs.Length - 1 do
        lengths[i] <- if isNull blobs[i] then -1 else blobs[i].Length
        if not (isNull blobs[i]) then total <- total + int64 blobs[i].Length
    if total > int64 Array.MaxLength then invalidArg "content" "complex column larger than 2 GB"
    let payload = Array.zeroCreate<byte> (int total)
    let mutable offset = 0
    for b in blobs do
        if not (isNull b) then
            Buffer.BlockCopy(b, 0, payload, offset, b.Length)
            offset <- offset + b.Length
    section.BeginPart()
    writeBlocks sink (MemoryMarshal.AsBytes(ReadOnlySpan lengths)) 4 RowsPerBlock
    section.EndPart 0
    section.BeginPart()
    writeBlocks sink (ReadOnlySpan payload) 1 PayloadBlockBytes
    section.EndPart 1
    section

/// Array columns: row offsets, null rows, element values (string elements as ids into the
/// column's own dictionary), null elements, and the dictionary.
let private writeArraySection (sink: ByteSink) (offsets: int[]) (rowNulls: bool[] option) (elementNulls: bool[] option)
                              (writeElements: unit -> unit) (dictionary: byte[][] option) =
    let section = SectionWriter(sink, ArrayParts)
    section.BeginPart()
    writeBlocks sink (MemoryMarshal.AsBytes(ReadOnlySpan offsets)) 4 RowsPerBlock
    section.EndPart 0
    section.BeginPart()
    writeNullsPart sink rowNulls
    section.EndPart 1
    section.BeginPart()
    writeElements ()
    section.EndPart 2
    section.BeginPart()
    writeNullsPart sink elementNulls
    section.EndPart 3
    match dictionary with
    | Some values ->
        section.BeginPart()
        sink.WriteInt32 values.Length
        let mutable offset = 0
        sink.WriteInt32 0
        for v in values do
            offset <- offset + v.Length
            sink.WriteInt32 offset
        section.EndPart 4
        section.BeginPart()
        for v in values do sink.WriteBytes(ReadOnlySpan v)
        section.EndPart 5
    | None -> ()
    section

let private writeStringArraySection (sink: ByteSink) (a: ArrayColumnData<string>) =
    let ids = Dictionary<string, int>(StringComparer.Ordinal)
    let dictionary = List<byte[]>()
    let elementIds = Array.zeroCreate<int> a.Values.Length
    let nulls = Array.zeroCreate<bool> a.Values.Length
    for i in 0 .. a.Values.Length - 1 do
        let v = a.Values[i]
        if isNull v || a.IsNullElement i then nulls[i] <- true
        else
            match ids.TryGetValue v with
            | true, id -> elementIds[i] <- id
            | _ ->
                ids[v] <- dictionary.Count
                elementIds[i] <- dictionary.Count
                dictionary.Add(Encoding.UTF8.GetBytes v)
    writeArraySection sink a.Offsets a.RowNulls (Some nulls)
        (fun () -> writeBlocks sink (MemoryMarshal.AsBytes(ReadOnlySpan elementIds)) 4 RowsPerBlock)
        (Some(dictionary.ToArray()))

let private checkRows (rowCount: int) (name: string) (length: int) (nulls: bool[] option) =
    if length <> rowCount then invalidArg "content" (sprintf "column %s has %d rows, expected %d" name length rowCount)
    match nulls with
    | Some n when n.Length <> rowCount -> invalidArg "content" (sprintf "column %s has %d null flags, expected %d" name n.Length rowCount)
    | _ -> ()

let private checkArrays (rowCount: int) (name: string) (a: ArrayColumnData<'T>) =
    if a.Offsets.Length <> rowCount + 1 || a.Offsets[0] <> 0 || a.Offsets[rowCount] <> a.Values.Length then
        invalidArg "content" (sprintf "column %s has offsets that do not match %d rows" name rowCount)
    for r in 0 .. rowCount - 1 do
        if a.Offsets[r + 1] < a.Offsets[r] then invalidArg "content" (sprintf "column %s has decreasing offsets" name)
    checkRows rowCount name rowCount a.RowNulls
    match a.ElementNulls with
    | Some n when n.Length <> a.Values.Length -> invalidArg "content" (sprintf "column %s has %d element null flags, expected %d" name n.Length a.Values.Length)
    | _ -> ()

let private typeCodeOf (data: ColumnData) =
    match data with
    | ColumnData.Strings _ -> TypeString, ""
    | ColumnData.Longs _ -> TypeLong, ""
    | ColumnData.Floats _ -> TypeFloat, ""
    | ColumnData.Doubles _ -> TypeDouble, ""
    | ColumnData.Complex(t, _) -> TypeComplex, t
    | ColumnData.LongArrays _ | ColumnData.DoubleArrays _ | ColumnData.StringArrays _ -> TypeArray, data.Type.DruidName

let private writeString (sink: ByteSink) (s: string) =
    let bytes = Encoding.UTF8.GetBytes(s: string)
    sink.WriteInt32 bytes.Length
    sink.WriteBytes(ReadOnlySpan bytes)

/// Writes the segment into a fresh buffer; `Seal` returns it.
let private writeToSink (content: SegmentContent) : ByteSink =
    let rowCount = content.Times.Length
    for i in 1 .. rowCount - 1 do
        if content.Times[i] < content.Times[i - 1] then invalidArg "content" (sprintf "Times are not sorted at row %d" i)
    let columns =
        Array.append
            (content.Dimensions |> List.map (fun (n, d) -> n, RoleDimension, d) |> Array.ofList)
            (content.Metrics |> List.map (fun (n, d) -> n, RoleMetric, d) |> Array.ofList)
    let names = HashSet<string>([ "__time" ])
    for name, _, _ in columns do
        if isNull name || not (names.Add name) then invalidArg "content" (sprintf "duplicate or reserved column name %s" name)
    // Sort the dictionaries first: their null entries decide the has-nulls flags.
    let prepared =
        columns
        |> Array.map (fun (name, _, data) ->
            match data with
            | ColumnData.Strings s -> Some(sortStrings rowCount s)
            | ColumnData.Longs(v, n) -> checkRows rowCount name v.Length n; None
            | ColumnData.Floats(v, n) -> checkRows rowCount name v.Length n; None
            | ColumnData.Doubles(v, n) -> checkRows rowCount name v.Length n; None
            | ColumnData.Complex(_, v) -> checkRows rowCount name v.Length None; None
            | ColumnData.LongArrays a -> checkArrays rowCount name a; None
            | ColumnData.DoubleArrays a -> checkArrays rowCount name a; None
            | ColumnData.StringArrays a -> checkArrays rowCount name a; None)
    let estimate = int (min (int64 Array.MaxLength) (int64 rowCount * int64 (8 + 6 * columns.Length) + 4096L))
    let sink = ByteSink(estimate)
    sink.WriteBytes(ReadOnlySpan magic)
    sink.WriteInt32 FormatVersion
    sink.WriteInt32 rowCount
    sink.WriteInt64 content.Interval.Start
    sink.WriteInt64 content.Interval.End
    sink.WriteInt64 0L // file length
    sink.WriteInt32(columns.Length + 1)
    sink.WriteInt32 0 // directory length
    sink.WriteInt64 0L // metadata offset
    sink.WriteInt32 0 // metadata length
    sink.WriteInt32 0
    let entryPositions = Array.zeroCreate<int> (columns.Length + 1)
    let writeEntry (i: int) (name: string) (role: byte) (typeCode: byte, typeName: string) (flags: byte) =
        entryPositions[i] <- sink.Length
        sink.WriteByte role
        sink.WriteByte typeCode
        sink.WriteByte flags
        sink.WriteByte 0uy
        sink.WriteInt64 0L
        sink.WriteInt64 0L
        writeString sink name
        writeString sink typeName
    writeEntry 0 "__time" RoleTime (TypeLong, "") 0uy
    for i in 0 .. columns.Length - 1 do
        let name, role, data = columns[i]
        let anyNull (nulls: bool[] option) = match nulls with Some n -> Array.contains true n | None -> false
        let flags =
            match data, prepared[i] with
            | ColumnData.Strings s, Some sorted ->
                (if s.HasBitmapIndex then FlagBitmapIndex else 0uy)
                ||| (if s.MultiIds.IsSome then FlagMultiValue else 0uy)
                ||| (if sorted.HasNull then FlagHasNulls else 0uy)
            | ColumnData.Longs(_, n), _ | ColumnData.Floats(_, n), _ | ColumnData.Doubles(_, n), _ -> if anyNull n then FlagHasNulls else 0uy
            | ColumnData.Complex(_, v), _ -> if Array.exists isNull v then FlagHasNulls else 0uy
            | ColumnData.LongArrays a, _ -> if anyNull a.RowNulls then FlagHasNulls else 0uy
            | ColumnData.DoubleArrays a, _ -> if anyNull a.RowNulls then FlagHasNulls else 0uy
            | ColumnData.StringArrays a, _ -> if anyNull a.RowNulls then FlagHasNulls else 0uy
            | _ -> 0uy
        writeEntry (i + 1) name role (typeCodeOf data) flags
    sink.PatchInt32(44, sink.Length - HeaderBytes)
    let metadata = Encoding.UTF8.GetBytes(if isNull content.Metadata then "" else content.Metadata)
    sink.PatchInt64(48, int64 sink.Length)
    sink.PatchInt32(56, metadata.Length)
    sink.WriteBytes(ReadOnlySpan metadata)
    let record (i: int) (section: SectionWriter) =
        sink.PatchInt64(entryPositions[i] + 4, int64 section.Start)
        sink.PatchInt64(entryPositions[i] + 12, int64 section.Length)
    record 0 (writeTimeSection sink content.Times)
    for i in 0 .. columns.Length - 1 do
        let _, _, data = columns[i]
        let section =
            match data, prepared[i] with
            | ColumnData.Strings s, Some sorted -> writeStringSection sink rowCount sorted s.HasBitmapIndex
            | ColumnData.Longs(v, n), _ -> writeNumericSection sink (MemoryMarshal.AsBytes(ReadOnlySpan v)) 8 n
            | ColumnData.Floats(v, n), _ -> writeNumericSection sink (MemoryMarshal.AsBytes(ReadOnlySpan v)) 4 n
            | ColumnData.Doubles(v, n), _ -> writeNumericSection sink (MemoryMarshal.AsBytes(ReadOnlySpan v)) 8 n
            | ColumnData.Complex(_, v), _ -> writeComplexSection sink v
            | ColumnData.LongArrays a, _ ->
                writeArraySection sink a.Offsets a.RowNulls a.ElementNulls
                    (fun () -> writeBlocks sink (MemoryMarshal.AsBytes(ReadOnlySpan a.Values)) 8 RowsPerBlock) None
            | ColumnData.DoubleArrays a, _ ->
                writeArraySection sink a.Offsets a.RowNulls a.ElementNulls
                    (fun () -> writeBlocks sink (MemoryMarshal.AsBytes(ReadOnlySpan a.Values)) 8 RowsPerBlock) None
            | ColumnData.StringArrays a, _ -> writeStringArraySection sink a
            | ColumnData.Strings _, None -> invalidOp "unprepared string column"
        record (i + 1) section
    sink.PatchInt64(32, int64 sink.Length)
    sink

/// The segment file of `content`. Raises ArgumentException when the content breaks its
/// contract (unsorted times, columns of the wrong length, ids outside a dictionary).
let write (content: SegmentContent) : byte[] = (writeToSink content).ToArray()

let writeTo (output: IBufferWriter<byte>) (content: SegmentContent) : unit =
    let sink = writeToSink content
    output.Write sink.Written

// ---- reader ------------------------------------------------------------------------------

/// Opens a segment file held in memory (typically a memory-mapped file): checks the magic,
/// version and every section's bounds; decodes nothing else.
let tryOpen (memory: ReadOnlyMemory<byte>) : Result<SegmentReader, string> = SegmentReader.Open memory

let private nullFlags (rowCount: int) (nulls: Bitmap option) : bool[] option =
    nulls
    |> Option.map (fun b ->
        let flags = Array.zeroCreate<bool> rowCount
        b.Iterate(fun r -> flags[r] <- true)
        flags)

/// The segment's content, string dictionaries in sorted order.
let readContent (reader: SegmentReader) : SegmentContent =
    let rowCount = reader.RowCount
    let columnData (info: ColumnInfo) =
        match reader.Column info.Name with
        | Some(ColumnReader.String s) ->
            let multi = if s.IsMultiValue then Some(s.MultiIds()) else None
            ColumnData.Strings
                { Dictionary = s.Dictionary()
                  Ids = (if s.IsMultiValue then [||] else s.Ids())
                  MultiIds = multi
                  HasBitmapIndex = s.HasBitmapIndex }
        | Some(ColumnReader.Numeric n) ->
            let nulls = nullFlags rowCount (n.Nulls())
            match n.Type with
            | ColumnType.Long -> ColumnData.Longs(n.Longs(), nulls)
            | ColumnType.Float -> ColumnData.Floats(n.Floats(), nulls)
            | _ -> ColumnData.Doubles(n.Doubles(), nulls)
        | Some(ColumnReader.Complex c) -> ColumnData.Complex(c.TypeName, c.Blobs())
        | Some(ColumnReader.Array a) -> a.Data()
        | None -> invalidOp ("missing column " + info.Name)
    let pick role =
        reader.Columns |> List.filter (fun c -> c.Role = role) |> List.map (fun c -> c.Name, columnData c)
    { Interval = reader.Interval
      Times = reader.Times()
      Dimensions = pick ColumnRole.Dimension
      Metrics = pick ColumnRole.Metric
      Metadata = reader.Metadata }

/// Opens and decodes everything, checking ids, offsets and bitmaps: use on files of
/// unknown integrity (tryOpen only checks the layout, not compressed contents).
let verify (memory: ReadOnlyMemory<byte>) : Result<unit, string> =
    match tryOpen memory with
    | Error e -> Error e
    | Ok reader ->
        try
            let rowCount = reader.RowCount
            let times = reader.Times()
            for i in 1 .. times.Length - 1 do
                if times[i] < times[i - 1] then corrupt "times out of order"
            for info in reader.Columns do
                match reader.Column info.Name with
                | Some(ColumnReader.String s) ->
                    let _, ids = s.MultiValueRows()
                    for id in ids do
                        if id < 0 || id >= s.Cardinality then corrupt (sprintf "column %s: id %d outside the dictionary" info.Name id)
                    if s.HasBitmapIndex then
                        for id in 0 .. s.Cardinality - 1 do
                            match s.ValueBitmap id with
                            | Some b when b.MaxRow >= rowCount -> corrupt (sprintf "column %s: bitmap rows past the row count" info.Name)
                            | _ -> ()
                    s.Dictionary() |> ignore
                | Some(ColumnReader.Numeric n) -> n.Doubles() |> ignore
                | Some(ColumnReader.Complex c) -> c.Blobs() |> ignore
                | Some(ColumnReader.Array a) -> a.Data() |> ignore
                | None -> corrupt ("missing column " + info.Name)
            Ok()
        with
        | :? InvalidDataException as e -> Error e.Message
        | :? ArgumentException as e -> Error("segment: " + e.Message)
        | :? IndexOutOfRangeException -> Error "segment: structure out of bounds"

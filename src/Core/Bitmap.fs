/// Row sets for filters and bitmap indexes: an immutable compressed `Bitmap` (Roaring-style:
/// rows split into chunks of 65536, each chunk a sorted uint16 array when sparse or a
/// 1024-word bitset when dense) and a mutable dense `RowSet` for filter masks.
///
/// A Bitmap's containers are slices of byte memory, so a Bitmap deserialized from a segment
/// file is a view over the file (only a small container table is allocated). Data is
/// little-endian, the byte order of every platform .NET runs on.
module FunctionalDruid.Core.Bitmap

open System
open System.Buffers.Binary
open System.Numerics
open System.Runtime.InteropServices
open FunctionalDruid.Core.BitmapContainers

/// Chunks with more rows than this are stored as bitsets (where a bitset becomes smaller).
[<Literal>]
let ArrayMaxCardinality = BitmapContainers.ArrayMaxCardinality

let private align8 (n: int) = (n + 7) &&& ~~~7

let private chunkOf (row: int) = row >>> 16

let private isStrictlyAscendingNonNegative (rows: ReadOnlySpan<int>) =
    let mutable ok = rows.Length = 0 || rows[0] >= 0
    let mutable i = 1
    while ok && i < rows.Length do
        ok <- rows[i - 1] < rows[i]
        i <- i + 1
    ok

let private roaringSizeOfSortedRows (rows: ReadOnlySpan<int>) : int =
    let mutable groups = 0
    let mutable data = 0
    let mutable i = 0
    while i < rows.Length do
        let key = chunkOf rows[i]
        let mutable j = i + 1
        while j < rows.Length && chunkOf rows[j] = key do
            j <- j + 1
        let count = j - i
        groups <- groups + 1
        data <- (if count > ArrayMaxCardinality then align8 data else data) + Containers.dataBytes count
        i <- j
    align8 (4 + EntryBytes * groups) + data

let private writeRoaring (rows: ReadOnlySpan<int>) (dst: Span<byte>) : int =
    let mutable groups = 0
    let mutable i = 0
    while i < rows.Length do
        let key = chunkOf rows[i]
        groups <- groups + 1
        while i < rows.Length && chunkOf rows[i] = key do
            i <- i + 1
    BinaryPrimitives.WriteInt32LittleEndian(dst, groups)
    let mutable offset = align8 (4 + EntryBytes * groups)
    dst.Slice(4 + EntryBytes * groups, offset - 4 - EntryBytes * groups).Clear()
    let mutable entry = 4
    i <- 0
    while i < rows.Length do
        let key = chunkOf rows[i]
        let mutable j = i + 1
        while j < rows.Length && chunkOf rows[j] = key do
            j <- j + 1
        let count = j - i
        let kind = if count > ArrayMaxCardinality then BitsetKind else ArrayKind
        if kind = BitsetKind then
            let aligned = align8 offset
            dst.Slice(offset, aligned - offset).Clear()
            offset <- aligned
        BinaryPrimitives.WriteUInt16LittleEndian(dst.Slice entry, uint16 key)
        BinaryPrimitives.WriteUInt16LittleEndian(dst.Slice(entry + 2), uint16 kind)
        BinaryPrimitives.WriteInt32LittleEndian(dst.Slice(entry + 4), count)
        BinaryPrimitives.WriteInt32LittleEndian(dst.Slice(entry + 8), offset)
        entry <- entry + EntryBytes
        if kind = BitsetKind then
            let words = MemoryMarshal.Cast<byte, uint64>(dst.Slice(offset, BitsetBytes))
            words.Clear()
            for r in i .. j - 1 do
                let v = rows[r] &&& 0xFFFF
                words[v >>> 6] <- words[v >>> 6] ||| (1UL <<< (v &&& 63))
        else
            let values = MemoryMarshal.Cast<byte, uint16>(dst.Slice(offset, count * 2))
            for r in i .. j - 1 do
                values[r - i] <- uint16 (rows[r] &&& 0xFFFF)
        offset <- offset + Containers.dataBytes count
        i <- j
    offset

/// Very sparse bitmaps (a value held by a few rows spread over many chunks) are smaller as
/// a plain row list: a negated count, then the rows as int32.
let private listSize (cardinality: int) = 4 + 4 * cardinality

/// The serialized size of the bitmap of strictly ascending, non-negative rows.
let serializedSizeOfSortedRows (rows: ReadOnlySpan<int>) : int =
    min (roaringSizeOfSortedRows rows) (listSize rows.Length)

let private writeRowList (rows: ReadOnlySpan<int>) (dst: Span<byte>) : int =
    BinaryPrimitives.WriteInt32LittleEndian(dst, -rows.Length)
    MemoryMarshal.AsBytes(rows).CopyTo(dst.Slice 4)
    listSize rows.Length

/// Serializes the bitmap of strictly ascending, non-negative rows straight from the rows,
/// without building a Bitmap; returns the bytes written (= serializedSizeOfSortedRows).
let writeSortedRows (rows: ReadOnlySpan<int>) (dst: Span<byte>) : int =
    if listSize rows.Length < roaringSizeOfSortedRows rows then writeRowList rows dst
    else writeRoaring rows dst

/// An immutable set of rows (non-negative ints).
[<Sealed>]
type Bitmap internal (containers: Container[], cardinality: int) =
    static let empty = Bitmap([||], 0)

    static let combine (a: Container[]) (b: Container[]) (both: Container -> Container -> Container voption) (keepA: bool) (keepB: bool) =
        let result = ResizeArray<Container>(a.Length + b.Length)
        let mutable i = 0
        let mutable j = 0
        while i < a.Length || j < b.Length do
            if j >= b.Length || (i < a.Length && a[i].Key < b[j].Key) then
                if keepA then result.Add a[i]
                i <- i + 1
            elif i >= a.Length || b[j].Key < a[i].Key then
                if keepB then result.Add b[j]
                j <- j + 1
            else
                match both a[i] b[j] with
                | ValueSome c -> result.Add c
                | ValueNone -> ()
                i <- i + 1
                j <- j + 1
        let mutable count = 0
        for c in result do
            count <- count + c.Cardinality
        Bitmap(result.ToArray(), count)

    member internal _.Containers = containers
    member _.Cardinality = cardinality
    member _.IsEmpty = cardinality = 0

    /// The largest row, or -1 when empty.
    member _.MaxRow =
        if containers.Length = 0 then -1
        else
            let c = containers[containers.Length - 1]
            if c.Kind = ArrayKind then (c.Key <<< 16) ||| int (Containers.arrayOf c).[c.Cardinality - 1]
            else
                let w = Containers.wordsOf c
                let mutable i = w.Length - 1
                while w[i] = 0UL do
                    i <- i - 1
                (c.Key <<< 16) + (i <<< 6) + 63 - BitOperations.LeadingZeroCount w[i]

    member _.Contains(row: int) : bool =
        if row < 0 then false
        else
            let key = chunkOf row
            let mutable lo = 0
            let mutable hi = containers.Length - 1
            let mutable result = false
            while lo <= hi do
                let mid = (lo + hi) >>> 1
                let k = containers[mid].Key
                if k = key then
                    result <- Containers.contains containers[mid] (row &&& 0xFFFF)
                    lo <- hi + 1
                elif k < key then lo <- mid + 1
                else hi <- mid - 1
            result

    member this.And(other: Bitmap) = combine containers other.Containers Containers.intersect false false
    member this.Or(other: Bitmap) = combine containers other.Containers Containers.union true true
    member this.AndNot(other: Bitmap) = combine containers other.Containers Containers.difference true false

    /// The rows in [0, rowCount) that are not in this bitmap.
    member _.Not(rowCount: int) : Bitmap =
        let result = ResizeArray<Container>()
        let mutable count = 0
        let mutable i = 0
        let mutable key = 0
        while rowCount > 0 && key <= ((rowCount - 1) >>> 16) do
            let limit = min 65536 (rowCount - (key <<< 16))
            while i < containers.Length && containers[i].Key < key do
                i <- i + 1
            let complemented =
                if i < containers.Length && containers[i].Key = key then
                    let bytes = Containers.toWordsBuffer containers[i]
                    let w = Containers.u64 bytes
                    Words.notInPlace w
                    if limit < 65536 then
                        w.Slice((limit + 63) >>> 6).Clear()
                        if limit &&& 63 <> 0 then w[limit >>> 6] <- w[limit >>> 6] &&& ((1UL <<< (limit &&& 63)) - 1UL)
                    Containers.ofWordsBuffer key bytes (Words.popCount (ro w))
                else Containers.ofRange key 0 limit
            match complemented with
            | ValueSome c ->
                result.Add c
                count <- count + c.Cardinality
            | ValueNone -> ()
            key <- key + 1
        Bitmap(result.ToArray(), count)

    /// Calls `f` with every row in ascending order.
    member _.Iterate(f: int -> unit) =
        for c in containers do
            let high = c.Key <<< 16
            if c.Kind = ArrayKind then
                let a = Containers.arrayOf c
                for i in 0 .. a.Length - 1 do
                    f (high ||| int a[i])
            else
                let w = Containers.wordsOf c
                for wi in 0 .. w.Length - 1 do
                    let mutable x = w[wi]
                    while x <> 0UL do
                        f (high + (wi <<< 6) + BitOperations.TrailingZeroCount x)
                        x <- x &&& (x - 1UL)

    member _.ToRows() : int[] =
        let rows = Array.zeroCreate<int> cardinality
        let mutable k = 0
        for c in containers do
            let high = c.Key <<< 16
            if c.Kind = ArrayKind then
                let a = Containers.arrayOf c
                for i in 0 .. a.Length - 1 do
                    rows[k] <- high ||| int a[i]
                    k <- k + 1
            else
                let w = Containers.wordsOf c
                for wi in 0 .. w.Length - 1 do
                    let mutable x = w[wi]
                    while x <> 0UL do
                        rows[k] <- high + (wi <<< 6) + BitOperations.TrailingZeroCount x
                        x <- x &&& (x - 1UL)
                        k <- k + 1
        rows

    member private _.RoaringSize =
        let mutable size = align8 (4 + EntryBytes * containers.Length)
        for c in containers do
            if c.Kind = BitsetKind then size <- align8 size
            size <- size + c.Data.Length
        size

    member this.SerializedSize = min this.RoaringSize (listSize cardinality)

    /// Writes the serialized form (see docs/segment-format.md); returns the bytes written.
    member this.WriteTo(dst: Span<byte>) : int =
        if listSize cardinality < this.RoaringSize then writeRowList (ReadOnlySpan(this.ToRows())) dst
        else this.WriteRoaring dst

    member private _.WriteRoaring(dst: Span<byte>) : int =
        BinaryPrimitives.WriteInt32LittleEndian(dst, containers.Length)
        let headerEnd = 4 + EntryBytes * containers.Length
        let mutable offset = align8 headerEnd
        dst.Slice(headerEnd, offset - headerEnd).Clear()
        let mutable entry = 4
        for c in containers do
            if c.Kind = BitsetKind then
                let aligned = align8 offset
                dst.Slice(offset, aligned - offset).Clear()
                offset <- aligned
            BinaryPrimitives.WriteUInt16LittleEndian(dst.Slice entry, uint16 c.Key)
            BinaryPrimitives.WriteUInt16LittleEndian(dst.Slice(entry + 2), uint16 c.Kind)
            BinaryPrimitives.WriteInt32LittleEndian(dst.Slice(entry + 4), c.Cardinality)
            BinaryPrimitives.WriteInt32LittleEndian(dst.Slice(entry + 8), offset)
            c.Data.Span.CopyTo(dst.Slice offset)
            entry <- entry + EntryBytes
            offset <- offset + c.Data.Length
        offset

    member this.Serialize() : byte[] =
        let bytes = Array.zeroCreate<byte> this.SerializedSize
        this.WriteTo(Span bytes) |> ignore
        bytes

    override this.Equals(o: obj) =
        match o with
        | :? Bitmap as b -> b.Cardinality = cardinality && b.ToRows() = this.ToRows()
        | _ -> false

    override this.GetHashCode() = cardinality

    override this.ToString() =
        let rows = this.ToRows()
        let shown = String.Join(",", Array.truncate 20 rows)
        sprintf "Bitmap[%d: %s%s]" cardinality shown (if rows.Length > 20 then ",..." else "")

    static member Empty = empty

    /// Rows must be ascending; duplicates and unsorted input are tolerated at the cost of a copy.
    static member OfSortedRows(rows: ReadOnlySpan<int>) : Bitmap =
        if rows.Length = 0 then empty
        elif isStrictlyAscendingNonNegative rows then
            let bytes = Array.zeroCreate<byte> (roaringSizeOfSortedRows rows)
            writeRoaring rows (Span bytes) |> ignore
            match Bitmap.Deserialize(ReadOnlyMemory bytes) with
            | Ok b -> b
            | Error e -> invalidOp e
        else
            let copy = rows.ToArray()
            Array.sortInPlace copy
            let distinct = ResizeArray<int>(copy.Length)
            for i in 0 .. copy.Length - 1 do
                if copy[i] < 0 then invalidArg "rows" (sprintf "negative row %d" copy[i])
                if i = 0 || copy[i] <> copy[i - 1] then distinct.Add copy[i]
            Bitmap.OfSortedRows(ReadOnlySpan(distinct.ToArray()))

    /// A view over serialized bytes: the container data is not copied. Checks the container
    /// table against the buffer bounds and recounts bitset containers.
    static member Deserialize(memory: ReadOnlyMemory<byte>) : Result<Bitmap, string> =
        let span = memory.Span
        if span.Length < 4 then Error "bitmap: truncated header"
        else
            let n = BinaryPrimitives.ReadInt32LittleEndian span
            if n < 0 then Bitmap.OfRowList span
            elif n > 32768 || int64 4 + int64 EntryBytes * int64 n > int64 span.Length then
                Error(sprintf "bitmap: bad container count %d" n)
            else
                let containers = Array.zeroCreate<Container> n
                let mutable error = ""
                let mutable total = 0
                let mutable i = 0
                while error = "" && i < n do
                    let entry = span.Slice(4 + EntryBytes * i)
                    let key = int (BinaryPrimitives.ReadUInt16LittleEndian entry)
                    let kind = int (BinaryPrimitives.ReadUInt16LittleEndian(entry.Slice 2))
                    let card = BinaryPrimitives.ReadInt32LittleEndian(entry.Slice 4)
                    let offset = BinaryPrimitives.ReadInt32LittleEndian(entry.Slice 8)
                    let length = if kind = BitsetKind then BitsetBytes else card * 2
                    if key > 32767 || (i > 0 && key <= containers[i - 1].Key) then error <- sprintf "bitmap: container keys out of order at %d" i
                    elif kind <> ArrayKind && kind <> BitsetKind then error <- sprintf "bitmap: unknown container kind %d" kind
                    elif card < 1 || card > 65536 then error <- sprintf "bitmap: bad container cardinality %d" card
                    elif offset < 4 + EntryBytes * n || int64 offset + int64 length > int64 span.Length then
                        error <- sprintf "bitmap: container %d out of bounds" i
                    else
                        let c = { Key = key; Kind = kind; Cardinality = card; Data = memory.Slice(offset, length) }
                        if kind = BitsetKind && Words.popCount (Containers.wordsOf c) <> card then
                            error <- sprintf "bitmap: container %d cardinality mismatch" i
                        else
                            containers[i] <- c
                            total <- total + card
                    i <- i + 1
                if error = "" then Ok(Bitmap(containers, total)) else Error error

    /// The row-list form: copied into containers (it is only chosen for small bitmaps).
    static member private OfRowList(span: ReadOnlySpan<byte>) : Result<Bitmap, string> =
        let count = -(int64 (BinaryPrimitives.ReadInt32LittleEndian span))
        if 4L + 4L * count > int64 span.Length then Error "bitmap: truncated row list"
        else
            let rows = MemoryMarshal.Cast<byte, int>(span.Slice(4, 4 * int count))
            if not (isStrictlyAscendingNonNegative rows) then Error "bitmap: row list out of order"
            else Ok(Bitmap.OfSortedRows rows)

    /// Rows [start, stop).
    static member OfRange(start: int, stop: int) : Bitmap =
        if start < 0 then invalidArg "start" "negative row"
        let result = ResizeArray<Container>()
        let mutable count = 0
        if start < stop then
            for key in chunkOf start .. chunkOf (stop - 1) do
                let lo = if key = chunkOf start then start &&& 0xFFFF else 0
                let hi = if key = chunkOf (stop - 1) then ((stop - 1) &&& 0xFFFF) + 1 else 65536
                match Containers.ofRange key lo hi with
                | ValueSome c ->
                    result.Add c
                    count <- count + c.Cardinality
                | ValueNone -> ()
        Bitmap(result.ToArray(), count)

/// A mutable dense set of rows in [0, RowCount): one bit per row in 64-bit words, for
/// filter masks. Binary operations work in place and need equal row counts.
[<Sealed>]
type RowSet private (rowCount: int, words: uint64[]) =
    let tailMask () =
        if rowCount &&& 63 <> 0 then
            words[words.Length - 1] <- words[words.Length - 1] &&& ((1UL <<< (rowCount &&& 63)) - 1UL)

    let sameSize (other: RowSet) =
        if other.RowCount <> rowCount then invalidArg "other" (sprintf "row sets of %d and %d rows" rowCount other.RowCount)

    new(rowCount: int) =
        if rowCount < 0 then invalidArg "rowCount" "negative row count"
        RowSet(rowCount, Array.zeroCreate ((rowCount + 63) >>> 6))

    member _.RowCount = rowCount
    /// The bits, row r at bit (r % 64) of word (r / 64); bits at or past RowCount are zero.
    member _.Words = words

    member _.Contains(row: int) = row >= 0 && row < rowCount && (words[row >>> 6] >>> (row &&& 63)) &&& 1UL = 1UL
    member _.Add(row: int) = words[row >>> 6] <- words[row >>> 6] ||| (1UL <<< (row &&& 63))
    member _.Remove(row: int) = words[row >>> 6] <- words[row >>> 6] &&& ~~~(1UL <<< (row &&& 63))

    /// Adds rows [start, stop), clipped to [0, RowCount).
    member _.AddRange(start: int, stop: int) = Words.setRange (Span words) (max 0 start) (min rowCount stop)

    member _.Fill() =
        Array.Fill(words, UInt64.MaxValue)
        tailMask ()

    member _.Clear() = Array.Clear words

    member _.IntersectWith(other: RowSet) =
        sameSize other
        Words.andInto (ReadOnlySpan words) (ReadOnlySpan other.Words) (Span words)

    member _.UnionWith(other: RowSet) =
        sameSize other
        Words.orInto (ReadOnlySpan words) (ReadOnlySpan other.Words) (Span words)

    member _.ExceptWith(other: RowSet) =
        sameSize other
        Words.andNotInto (ReadOnlySpan words) (ReadOnlySpan other.Words) (Span words)

    member _.Invert() =
        Words.notInPlace (Span words)
        tailMask ()

    member _.UnionWith(bitmap: Bitmap) =
        for c in bitmap.Containers do
            let first = c.Key * ChunkWords
            if first < words.Length then
                let span = Span(words, first, min ChunkWords (words.Length - first))
                if c.Kind = BitsetKind then
                    Words.orInto (ro span) (Containers.wordsOf c) span
                else
                    let a = Containers.arrayOf c
                    for i in 0 .. a.Length - 1 do
                        let v = int a[i]
                        if (v >>> 6) < span.Length then span[v >>> 6] <- span[v >>> 6] ||| (1UL <<< (v &&& 63))
        tailMask ()

    member _.IntersectWith(bitmap: Bitmap) =
        let containers = bitmap.Containers
        let scratch = Array.zeroCreate<uint64> ChunkWords
        let mutable ci = 0
        let mutable first = 0
        while first < words.Length do
            let key = first / ChunkWords
            let span = Span(words, first, min ChunkWords (words.Length - first))
            while ci < containers.Length && containers[ci].Key < key do
                ci <- ci + 1
            if ci < containers.Length && containers[ci].Key = key then
                let c = containers[ci]
                if c.Kind = BitsetKind then
                    Words.andInto (ro span) ((Containers.wordsOf c).Slice(0, span.Length)) span
                else
                    Array.Clear scratch
                    let a = Containers.arrayOf c
                    for i in 0 .. a.Length - 1 do
                        let v = int a[i]
                        let w = v >>> 6
                        if w < span.Length then
                            scratch[w] <- scratch[w] ||| (span[w] &&& (1UL <<< (v &&& 63)))
                    ReadOnlySpan(scratch, 0, span.Length).CopyTo span
            else span.Clear()
            first <- first + ChunkWords

    member _.ExceptWith(bitmap: Bitmap) =
        for c in bitmap.Containers do
            let first = c.Key * ChunkWords
            if first < words.Length then
                let span = Span(words, first, min ChunkWords (words.Length - first))
                if c.Kind = BitsetKind then
                    Words.andNotInto (ro span) ((Containers.wordsOf c).Slice(0, span.Length)) span
                else
                    let a = Containers.arrayOf c
                    for i in 0 .. a.Length - 1 do
                        let v = int a[i]
                        if (v >>> 6) < span.Length then span[v >>> 6] <- span[v >>> 6] &&& ~~~(1UL <<< (v &&& 63))

    member _.Count() : int = Words.popCount (ReadOnlySpan words)

    member _.ForEach(f: int -> unit) =
        for wi in 0 .. words.Length - 1 do
            let mutable x = words[wi]
            while x <> 0UL do
                f ((wi <<< 6) + BitOperations.TrailingZeroCount x)
                x <- x &&& (x - 1UL)

    member this.ToRows() : int[] =
        let rows = Array.zeroCreate<int> (this.Count())
        let mutable k = 0
        for wi in 0 .. words.Length - 1 do
            let mutable x = words[wi]
            while x <> 0UL do
                rows[k] <- (wi <<< 6) + BitOperations.TrailingZeroCount x
                x <- x &&& (x - 1UL)
                k <- k + 1
        rows

    member _.ToBitmap() : Bitmap =
        let result = ResizeArray<Container>()
        let mutable count = 0
        let mutable first = 0
        while first < words.Length do
            let length = min ChunkWords (words.Length - first)
            let chunk = ReadOnlySpan(words, first, length)
            let n = Words.popCount chunk
            if n > 0 then
                let bytes = Array.zeroCreate<byte> BitsetBytes
                chunk.CopyTo(Containers.u64 bytes)
                match Containers.ofWordsBuffer (first / ChunkWords) bytes n with
                | ValueSome c ->
                    result.Add c
                    count <- count + n
                | ValueNone -> ()
            first <- first + ChunkWords
        Bitmap(result.ToArray(), count)

    member _.Copy() = RowSet(rowCount, Array.copy words)

    /// The bitmap's rows below rowCount.
    static member FromBitmap(bitmap: Bitmap, rowCount: int) =
        let set = RowSet(rowCount)
        set.UnionWith bitmap
        set

    static member Full(rowCount: int) =
        let set = RowSet(rowCount)
        set.Fill()
        set

// ---- functions ---------------------------------------------------------------------------

let empty = Bitmap.Empty
let ofSortedRows (rows: int[]) = Bitmap.OfSortedRows(ReadOnlySpan rows)
/// Rows in any order, duplicates allowed.
let ofRows (rows: int[]) = Bitmap.OfSortedRows(ReadOnlySpan rows)
/// Rows [start, stop).
let ofRange (start: int) (stop: int) = Bitmap.OfRange(start, stop)
let toRows (b: Bitmap) = b.ToRows()
let cardinality (b: Bitmap) = b.Cardinality
let isEmpty (b: Bitmap) = b.IsEmpty
let contains (row: int) (b: Bitmap) = b.Contains row
let intersect (a: Bitmap) (b: Bitmap) = a.And b
let union (a: Bitmap) (b: Bitmap) = a.Or b
let andNot (a: Bitmap) (b: Bitmap) = a.AndNot b
/// The rows in [0, rowCount) not in `b`.
let complement (rowCount: int) (b: Bitmap) = b.Not rowCount
let iter (f: int -> unit) (b: Bitmap) = b.Iterate f
let serialize (b: Bitmap) = b.Serialize()
let deserialize (memory: ReadOnlyMemory<byte>) = Bitmap.Deserialize memory

/// Union of many bitmaps (an `in` filter, a dictionary range) through one dense pass.
let unionMany (bitmaps: Bitmap seq) : Bitmap =
    let items = Seq.toArray bitmaps
    match items.Length with
    | 0 -> empty
    | 1 -> items[0]
    | 2 -> items[0].Or items[1]
    | _ ->
        let mutable maxRow = -1
        for b in items do
            maxRow <- max maxRow b.MaxRow
        let set = RowSet(maxRow + 1)
        for b in items do
            set.UnionWith b
        set.ToBitmap()

let toRowSet (rowCount: int) (b: Bitmap) = RowSet.FromBitmap(b, rowCount)
let ofRowSet (set: RowSet) = set.ToBitmap()

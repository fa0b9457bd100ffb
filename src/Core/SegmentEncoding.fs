/// The building blocks of the segment file (docs/segment-format.md): a growable output
/// buffer, sections split into parts, and block streams (fixed-width values cut into
/// blocks, each LZ4-compressed or stored raw). Everything is little-endian.
module FunctionalDruid.Core.SegmentEncoding

open System
open System.Buffers.Binary
open System.IO
open System.Runtime.InteropServices
open K4os.Compression.LZ4

/// Rows per block for per-row columns (time, numbers, dictionary ids, lengths).
[<Literal>]
let RowsPerBlock = 8192

/// Bytes per block for complex payloads.
[<Literal>]
let PayloadBlockBytes = 65536

[<Literal>]
let CodecRaw = 0

[<Literal>]
let CodecLz4 = 1

let align8 (n: int64) = (n + 7L) &&& ~~~7L

/// A growable byte buffer that the writer fills front to back and patches in place.
[<Sealed>]
type ByteSink(initialCapacity: int) =
    // Uninitialized: every byte is written before the buffer is handed out, padding included.
    let mutable buffer: byte[] = GC.AllocateUninitializedArray<byte>(max 256 initialCapacity)
    let mutable length = 0

    member _.Length = length

    member _.Reserve(count: int) : Span<byte> =
        if int64 length + int64 count > int64 Array.MaxLength then
            raise (InvalidOperationException "segment larger than 2 GB")
        if length + count > buffer.Length then
            let grown = GC.AllocateUninitializedArray<byte>(int (min (int64 Array.MaxLength) (max (int64 (length + count)) (int64 buffer.Length * 2L))))
            Buffer.BlockCopy(buffer, 0, grown, 0, length)
            buffer <- grown
        Span(buffer, length, count)

    member _.Advance(count: int) = length <- length + count

    member this.WriteBytes(bytes: ReadOnlySpan<byte>) =
        bytes.CopyTo(this.Reserve bytes.Length)
        length <- length + bytes.Length

    member this.WriteInt32(v: int) =
        BinaryPrimitives.WriteInt32LittleEndian(this.Reserve 4, v)
        length <- length + 4

    member this.WriteInt64(v: int64) =
        BinaryPrimitives.WriteInt64LittleEndian(this.Reserve 8, v)
        length <- length + 8

    member this.WriteByte(v: byte) =
        (this.Reserve 1)[0] <- v
        length <- length + 1

    member this.Align8() =
        let target = int (align8 (int64 length))
        (this.Reserve(target - length)).Clear()
        length <- target

    member _.PatchInt32(position: int, v: int) = BinaryPrimitives.WriteInt32LittleEndian(Span(buffer, position, 4), v)
    member _.PatchInt64(position: int, v: int64) = BinaryPrimitives.WriteInt64LittleEndian(Span(buffer, position, 8), v)
    member _.Written = ReadOnlySpan(buffer, 0, length)
    member _.ToArray() =
        let result = GC.AllocateUninitializedArray<byte> length
        Buffer.BlockCopy(buffer, 0, result, 0, length)
        result

/// Writes a section: a part table (count, then offset/length pairs relative to the section
/// start) followed by the parts, each 8-byte aligned.
[<Sealed>]
type SectionWriter(sink: ByteSink, partCount: int) =
    do sink.Align8()
    let start = sink.Length
    do
        sink.WriteInt32 partCount
        sink.WriteInt32 0
        for _ in 1..partCount do
            sink.WriteInt64 0L
            sink.WriteInt64 0L
    let mutable partStart = 0

    member _.Start = start

    member _.BeginPart() =
        sink.Align8()
        partStart <- sink.Length

    member _.EndPart(index: int) =
        sink.PatchInt64(start + 8 + 16 * index, int64 (partStart - start))
        sink.PatchInt64(start + 16 + 16 * index, int64 (sink.Length - partStart))

    /// Parts left empty keep offset 0 and length 0.
    member _.Length = sink.Length - start

/// Writes `raw` (count values of `width` bytes) as a block stream: header
/// (count, width, elements per block, block count), block table
/// (offset from part start, stored length, codec) and the blocks.
let writeBlocks (sink: ByteSink) (raw: ReadOnlySpan<byte>) (width: int) (blockElements: int) =
    let count = raw.Length / width
    let blockCount = (count + blockElements - 1) / blockElements
    let partStart = sink.Length
    sink.WriteInt32 count
    sink.WriteInt32 width
    sink.WriteInt32 blockElements
    sink.WriteInt32 blockCount
    let table = sink.Length
    (sink.Reserve(16 * blockCount)).Clear()
    sink.Advance(16 * blockCount)
    for b in 0 .. blockCount - 1 do
        let first = b * blockElements
        let block = raw.Slice(first * width, (min blockElements (count - first)) * width)
        let target = sink.Reserve(LZ4Codec.MaximumOutputSize block.Length)
        let compressed = LZ4Codec.Encode(block, target, LZ4Level.L00_FAST)
        let stored, codec =
            if compressed > 0 && compressed < block.Length then compressed, CodecLz4
            else
                block.CopyTo target
                block.Length, CodecRaw
        let entry = table + 16 * b
        sink.PatchInt64(entry, int64 (sink.Length - partStart))
        sink.PatchInt32(entry + 8, stored)
        sink.PatchInt32(entry + 12, codec)
        sink.Advance stored

// ---- reading -----------------------------------------------------------------------------

let corrupt (what: string) = raise (InvalidDataException("segment: " + what))

/// A parsed block stream header; block contents are decoded on demand.
[<Sealed>]
type BlockStream(part: ReadOnlyMemory<byte>, count: int, width: int, blockElements: int, blockCount: int) =
    member _.Count = count
    member _.Width = width
    member _.BlockElements = blockElements
    member _.BlockCount = blockCount

    member _.BlockLength(b: int) = min blockElements (count - b * blockElements)

    /// Decodes block `b` into `dst` (BlockLength b * Width bytes).
    member this.DecodeBlock(b: int, dst: Span<byte>) =
        let entry = part.Span.Slice(16 + 16 * b)
        let offset = int (BinaryPrimitives.ReadInt64LittleEndian entry)
        let stored = BinaryPrimitives.ReadInt32LittleEndian(entry.Slice 8)
        let codec = BinaryPrimitives.ReadInt32LittleEndian(entry.Slice 12)
        let expected = this.BlockLength b * width
        let source = part.Span.Slice(offset, stored)
        let target = dst.Slice(0, expected)
        if codec = CodecRaw then source.CopyTo target
        elif LZ4Codec.Decode(source, target) <> expected then corrupt (sprintf "block %d does not decompress" b)

    /// All values as bytes, at their stored width.
    member this.DecodeAll(dst: Span<byte>) =
        for b in 0 .. blockCount - 1 do
            this.DecodeBlock(b, dst.Slice(b * blockElements * width))

    member this.Int64s() : int64[] =
        if width <> 8 then corrupt "expected 8-byte values"
        let values = Array.zeroCreate<int64> count
        this.DecodeAll(MemoryMarshal.AsBytes(Span values))
        values

    /// Values stored as 1, 2 or 4 byte unsigned/int widened to int32.
    member this.Int32s() : int[] =
        let values = Array.zeroCreate<int> count
        if width = 4 then this.DecodeAll(MemoryMarshal.AsBytes(Span values))
        else
            let scratch = Array.zeroCreate<byte> (blockElements * width)
            for b in 0 .. blockCount - 1 do
                this.DecodeBlock(b, Span scratch)
                let first = b * blockElements
                let n = this.BlockLength b
                if width = 1 then
                    for i in 0 .. n - 1 do
                        values[first + i] <- int scratch[i]
                elif width = 2 then
                    let narrow = MemoryMarshal.Cast<byte, uint16>(Span scratch)
                    for i in 0 .. n - 1 do
                        values[first + i] <- int narrow[i]
                else corrupt (sprintf "bad integer width %d" width)
        values

/// Reads a block stream header and checks every block lies inside the part.
let parseBlocks (part: ReadOnlyMemory<byte>) : Result<BlockStream, string> =
    let span = part.Span
    if span.Length < 16 then Error "block stream header truncated"
    else
        let count = BinaryPrimitives.ReadInt32LittleEndian span
        let width = BinaryPrimitives.ReadInt32LittleEndian(span.Slice 4)
        let blockElements = BinaryPrimitives.ReadInt32LittleEndian(span.Slice 8)
        let blockCount = BinaryPrimitives.ReadInt32LittleEndian(span.Slice 12)
        if count < 0 || (width <> 1 && width <> 2 && width <> 4 && width <> 8) || blockElements <= 0 then
            Error "block stream header invalid"
        elif int64 blockCount <> (int64 count + int64 blockElements - 1L) / int64 blockElements then
            Error "block count does not match value count"
        elif 16L + 16L * int64 blockCount > int64 span.Length then Error "block table truncated"
        else
            let mutable error = ""
            let mutable b = 0
            while error = "" && b < blockCount do
                let entry = span.Slice(16 + 16 * b)
                let offset = BinaryPrimitives.ReadInt64LittleEndian entry
                let stored = BinaryPrimitives.ReadInt32LittleEndian(entry.Slice 8)
                let codec = BinaryPrimitives.ReadInt32LittleEndian(entry.Slice 12)
                let expected = int64 (min blockElements (count - b * blockElements)) * int64 width
                if offset < 16L + 16L * int64 blockCount || stored < 0 || offset + int64 stored > int64 span.Length then
                    error <- sprintf "block %d out of bounds" b
                elif codec <> CodecRaw && codec <> CodecLz4 then error <- sprintf "block %d has unknown codec %d" b codec
                elif codec = CodecRaw && int64 stored <> expected then error <- sprintf "raw block %d has the wrong length" b
                b <- b + 1
            if error = "" then Ok(BlockStream(part, count, width, blockElements, blockCount)) else Error error

/// The parts of a section, each checked to lie inside the section.
let parseParts (section: ReadOnlyMemory<byte>) (expected: int) : Result<ReadOnlyMemory<byte>[], string> =
    let span = section.Span
    if span.Length < 8 then Error "section header truncated"
    else
        let count = BinaryPrimitives.ReadInt32LittleEndian span
        if count <> expected then Error(sprintf "section has %d parts, expected %d" count expected)
        elif 8L + 16L * int64 count > int64 span.Length then Error "part table truncated"
        else
            let parts = Array.zeroCreate<ReadOnlyMemory<byte>> count
            let mutable error = ""
            for i in 0 .. count - 1 do
                let offset = BinaryPrimitives.ReadInt64LittleEndian(span.Slice(8 + 16 * i))
                let length = BinaryPrimitives.ReadInt64LittleEndian(span.Slice(16 + 16 * i))
                if offset < 0L || length < 0L || offset + length > int64 span.Length then
                    if error = "" then error <- sprintf "part %d out of bounds" i
                else parts[i] <- section.Slice(int offset, int length)
            if error = "" then Ok parts else Error error

/// Dictionary order: null first, then by UTF-8 bytes (Unicode code point order), the order
/// of Druid's lexicographic string comparator.
let compareUtf8 (a: ReadOnlySpan<byte>) (b: ReadOnlySpan<byte>) : int = a.SequenceCompareTo b

/// The dictionary order on .NET strings without encoding them: UTF-16 code units compared
/// with surrogates lifted above U+E000..U+FFFF, which equals code point order.
let compareDictionaryValues (a: string) (b: string) : int =
    match a, b with
    | null, null -> 0
    | null, _ -> -1
    | _, null -> 1
    | _ ->
        let n = min a.Length b.Length
        let mutable i = 0
        while i < n && a[i] = b[i] do
            i <- i + 1
        if i = n then compare a.Length b.Length
        else
            let lift (c: char) =
                let c = int c
                if c >= 0xE000 then c - 0x800 elif c >= 0xD800 then c + 0x2000 else c
            compare (lift a[i]) (lift b[i])

// ---- file layout constants ---------------------------------------------------------------

/// "FDSEGMNT" in ASCII.
let magic = "FDSEGMNT"B

[<Literal>]
let FormatVersion = 1

[<Literal>]
let HeaderBytes = 64

[<Literal>]
let RoleTime = 0uy

[<Literal>]
let RoleDimension = 1uy

[<Literal>]
let RoleMetric = 2uy

[<Literal>]
let TypeLong = 0uy

[<Literal>]
let TypeFloat = 1uy

[<Literal>]
let TypeDouble = 2uy

[<Literal>]
let TypeString = 3uy

[<Literal>]
let TypeComplex = 4uy

/// Typed arrays; the element type is in the type name (`ARRAY<LONG>`, ...).
[<Literal>]
let TypeArray = 5uy

[<Literal>]
let FlagBitmapIndex = 1uy

[<Literal>]
let FlagMultiValue = 2uy

[<Literal>]
let FlagHasNulls = 4uy

/// Parts per section, by column type.
let TimeParts = 2
let NumericParts = 2
let StringParts = 6
let ComplexParts = 2
let ArrayParts = 6

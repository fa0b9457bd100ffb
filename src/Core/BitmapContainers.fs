/// The containers of Bitmap (Roaring-style chunks of 65536 rows, each a sorted uint16 array
/// or a 1024-word bitset) and the word kernels shared with RowSet.
module internal FunctionalDruid.Core.BitmapContainers

open System
open System.Numerics
open System.Runtime.InteropServices

[<Literal>]
let ArrayKind = 0

[<Literal>]
let BitsetKind = 1

/// Chunks with more rows than this are stored as bitsets (where a bitset becomes smaller).
[<Literal>]
let ArrayMaxCardinality = 4096

[<Literal>]
let ChunkWords = 1024

[<Literal>]
let BitsetBytes = 8192

[<Literal>]
let EntryBytes = 12

[<Struct; NoEquality; NoComparison>]
type Container =
    { Key: int
      Kind: int
      Cardinality: int
      Data: ReadOnlyMemory<byte> }

/// Word-level kernels shared by bitset containers and RowSet; vectorised with Vector<T>.
module Words =
    let andInto (a: ReadOnlySpan<uint64>) (b: ReadOnlySpan<uint64>) (dst: Span<uint64>) =
        let va = MemoryMarshal.Cast<uint64, Vector<uint64>>(a)
        let vb = MemoryMarshal.Cast<uint64, Vector<uint64>>(b)
        let vd = MemoryMarshal.Cast<uint64, Vector<uint64>>(dst)
        for i in 0 .. vd.Length - 1 do
            vd[i] <- Vector.BitwiseAnd(va[i], vb[i])
        for i in vd.Length * Vector<uint64>.Count .. dst.Length - 1 do
            dst[i] <- a[i] &&& b[i]

    let orInto (a: ReadOnlySpan<uint64>) (b: ReadOnlySpan<uint64>) (dst: Span<uint64>) =
        let va = MemoryMarshal.Cast<uint64, Vector<uint64>>(a)
        let vb = MemoryMarshal.Cast<uint64, Vector<uint64>>(b)
        let vd = MemoryMarshal.Cast<uint64, Vector<uint64>>(dst)
        for i in 0 .. vd.Length - 1 do
            vd[i] <- Vector.BitwiseOr(va[i], vb[i])
        for i in vd.Length * Vector<uint64>.Count .. dst.Length - 1 do
            dst[i] <- a[i] ||| b[i]

    let andNotInto (a: ReadOnlySpan<uint64>) (b: ReadOnlySpan<uint64>) (dst: Span<uint64>) =
        let va = MemoryMarshal.Cast<uint64, Vector<uint64>>(a)
        let vb = MemoryMarshal.Cast<uint64, Vector<uint64>>(b)
        let vd = MemoryMarshal.Cast<uint64, Vector<uint64>>(dst)
        for i in 0 .. vd.Length - 1 do
            vd[i] <- Vector.AndNot(va[i], vb[i])
        for i in vd.Length * Vector<uint64>.Count .. dst.Length - 1 do
            dst[i] <- a[i] &&& ~~~b[i]

    let notInPlace (dst: Span<uint64>) =
        let vd = MemoryMarshal.Cast<uint64, Vector<uint64>>(dst)
        for i in 0 .. vd.Length - 1 do
            vd[i] <- Vector.OnesComplement vd[i]
        for i in vd.Length * Vector<uint64>.Count .. dst.Length - 1 do
            dst[i] <- ~~~dst[i]

    let popCount (words: ReadOnlySpan<uint64>) : int =
        let mutable n = 0
        for i in 0 .. words.Length - 1 do
            n <- n + BitOperations.PopCount words[i]
        n

    /// Sets bits [start, stop) of a word span.
    let setRange (words: Span<uint64>) (start: int) (stop: int) =
        if start < stop then
            let first = start >>> 6
            let last = (stop - 1) >>> 6
            let firstMask = UInt64.MaxValue <<< (start &&& 63)
            let lastMask = UInt64.MaxValue >>> (63 - ((stop - 1) &&& 63))
            if first = last then words[first] <- words[first] ||| (firstMask &&& lastMask)
            else
                words[first] <- words[first] ||| firstMask
                words.Slice(first + 1, last - first - 1).Fill UInt64.MaxValue
                words[last] <- words[last] ||| lastMask

    /// Writes the positions of set bits as uint16 (a chunk has at most 65536 bits).
    let extractBits (words: ReadOnlySpan<uint64>) (dst: Span<uint16>) : int =
        let mutable k = 0
        for w in 0 .. words.Length - 1 do
            let mutable x = words[w]
            while x <> 0UL do
                dst[k] <- uint16 ((w <<< 6) + BitOperations.TrailingZeroCount x)
                x <- x &&& (x - 1UL)
                k <- k + 1
        k

/// Span to read-only span (F# applies no implicit conversion to let-bound function arguments).
let inline ro (s: Span<uint64>) : ReadOnlySpan<uint64> = Span<uint64>.op_Implicit s

module Containers =
    let arrayOf (c: Container) : ReadOnlySpan<uint16> = MemoryMarshal.Cast<byte, uint16>(c.Data.Span)
    let wordsOf (c: Container) : ReadOnlySpan<uint64> = MemoryMarshal.Cast<byte, uint64>(c.Data.Span)
    let u16 (bytes: byte[]) : Span<uint16> = MemoryMarshal.Cast<byte, uint16>(Span bytes)
    let u64 (bytes: byte[]) : Span<uint64> = MemoryMarshal.Cast<byte, uint64>(Span bytes)

    let ofArrayBuffer (key: int) (bytes: byte[]) (count: int) : Container voption =
        if count = 0 then ValueNone
        else ValueSome { Key = key; Kind = ArrayKind; Cardinality = count; Data = ReadOnlyMemory(bytes, 0, count * 2) }

    /// A container from a bitset chunk, as an array when that is the smaller form.
    let ofWordsBuffer (key: int) (bytes: byte[]) (count: int) : Container voption =
        if count = 0 then ValueNone
        elif count <= ArrayMaxCardinality then
            let array = Array.zeroCreate<byte> (count * 2)
            Words.extractBits (ro (u64 bytes)) (u16 array) |> ignore
            ofArrayBuffer key array count
        else ValueSome { Key = key; Kind = BitsetKind; Cardinality = count; Data = ReadOnlyMemory bytes }

    let fillWords (c: Container) (dst: Span<uint64>) =
        if c.Kind = BitsetKind then (wordsOf c).CopyTo dst
        else
            dst.Clear()
            let a = arrayOf c
            for i in 0 .. a.Length - 1 do
                let v = int a[i]
                dst[v >>> 6] <- dst[v >>> 6] ||| (1UL <<< (v &&& 63))

    let toWordsBuffer (c: Container) : byte[] =
        let bytes = Array.zeroCreate<byte> BitsetBytes
        fillWords c (u64 bytes)
        bytes

    let contains (c: Container) (low: int) : bool =
        if c.Kind = BitsetKind then ((wordsOf c)[low >>> 6] >>> (low &&& 63)) &&& 1UL = 1UL
        else
            let a = arrayOf c
            let mutable lo = 0
            let mutable hi = a.Length - 1
            let mutable found = false
            while not found && lo <= hi do
                let mid = (lo + hi) >>> 1
                let v = int a[mid]
                if v = low then found <- true
                elif v < low then lo <- mid + 1
                else hi <- mid - 1
            found

    /// Keeps the array's values whose bit in `bits` equals `keepSet`.
    let filterArray (array: Container) (bits: Container) (keepSet: bool) : Container voption =
        let a = arrayOf array
        let w = wordsOf bits
        let out = Array.zeroCreate<byte> (a.Length * 2)
        let o = u16 out
        let mutable k = 0
        for i in 0 .. a.Length - 1 do
            let v = int a[i]
            if (((w[v >>> 6] >>> (v &&& 63)) &&& 1UL) = 1UL) = keepSet then
                o[k] <- a[i]
                k <- k + 1
        ofArrayBuffer array.Key out k

    let intersect (x: Container) (y: Container) : Container voption =
        match x.Kind, y.Kind with
        | ArrayKind, ArrayKind ->
            let a = arrayOf x
            let b = arrayOf y
            let out = Array.zeroCreate<byte> (2 * min a.Length b.Length)
            let o = u16 out
            let mutable i = 0
            let mutable j = 0
            let mutable k = 0
            while i < a.Length && j < b.Length do
                let va = a[i]
                let vb = b[j]
                if va < vb then i <- i + 1
                elif vb < va then j <- j + 1
                else
                    o[k] <- va
                    k <- k + 1
                    i <- i + 1
                    j <- j + 1
            ofArrayBuffer x.Key out k
        | ArrayKind, _ -> filterArray x y true
        | _, ArrayKind -> filterArray y x true
        | _ ->
            let out = Array.zeroCreate<byte> BitsetBytes
            Words.andInto (wordsOf x) (wordsOf y) (u64 out)
            ofWordsBuffer x.Key out (Words.popCount (ro (u64 out)))

    let union (x: Container) (y: Container) : Container voption =
        match x.Kind, y.Kind with
        | ArrayKind, ArrayKind when x.Cardinality + y.Cardinality <= ArrayMaxCardinality ->
            let a = arrayOf x
            let b = arrayOf y
            let out = Array.zeroCreate<byte> (2 * (a.Length + b.Length))
            let o = u16 out
            let mutable i = 0
            let mutable j = 0
            let mutable k = 0
            while i < a.Length || j < b.Length do
                if j >= b.Length || (i < a.Length && a[i] < b[j]) then
                    o[k] <- a[i]
                    i <- i + 1
                elif i >= a.Length || b[j] < a[i] then
                    o[k] <- b[j]
                    j <- j + 1
                else
                    o[k] <- a[i]
                    i <- i + 1
                    j <- j + 1
                k <- k + 1
            ofArrayBuffer x.Key out k
        | _ ->
            let out = toWordsBuffer x
            let w = u64 out
            if y.Kind = BitsetKind then Words.orInto (ro w) (wordsOf y) w
            else
                let b = arrayOf y
                for i in 0 .. b.Length - 1 do
                    let v = int b[i]
                    w[v >>> 6] <- w[v >>> 6] ||| (1UL <<< (v &&& 63))
            ofWordsBuffer x.Key out (Words.popCount (ro w))

    let difference (x: Container) (y: Container) : Container voption =
        match x.Kind, y.Kind with
        | ArrayKind, ArrayKind ->
            let a = arrayOf x
            let b = arrayOf y
            let out = Array.zeroCreate<byte> (2 * a.Length)
            let o = u16 out
            let mutable j = 0
            let mutable k = 0
            for i in 0 .. a.Length - 1 do
                let v = a[i]
                while j < b.Length && b[j] < v do
                    j <- j + 1
                if j >= b.Length || b[j] <> v then
                    o[k] <- v
                    k <- k + 1
            ofArrayBuffer x.Key out k
        | ArrayKind, _ -> filterArray x y false
        | _, ArrayKind ->
            let out = toWordsBuffer x
            let w = u64 out
            let b = arrayOf y
            for i in 0 .. b.Length - 1 do
                let v = int b[i]
                w[v >>> 6] <- w[v >>> 6] &&& ~~~(1UL <<< (v &&& 63))
            ofWordsBuffer x.Key out (Words.popCount (ro w))
        | _ ->
            let out = Array.zeroCreate<byte> BitsetBytes
            Words.andNotInto (wordsOf x) (wordsOf y) (u64 out)
            ofWordsBuffer x.Key out (Words.popCount (ro (u64 out)))

    /// Rows [start, stop) of chunk `key` (0 <= start < stop <= 65536).
    let ofRange (key: int) (start: int) (stop: int) : Container voption =
        let bytes = Array.zeroCreate<byte> BitsetBytes
        Words.setRange (u64 bytes) start stop
        ofWordsBuffer key bytes (stop - start)

    /// Serialized size of the rows of one sorted group: a uint16 array or a bitset.
    let dataBytes (count: int) = if count > ArrayMaxCardinality then BitsetBytes else count * 2

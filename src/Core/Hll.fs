/// HyperLogLog sketches byte-compatible with Apache Druid's `hyperUnique` metric
/// (HyperLogLogCollector): 2048 buckets of 4-bit registers relative to a shared offset, one
/// overflow register, Druid's estimator with its small/large range corrections, and its
/// dense/sparse serialized forms. Values are hashed with Guava's murmur3_128 (seed 0), so
/// sketches built here and by Druid agree bit for bit.
///
/// Two ways in: `Collector` is a mutable dense sketch for hot paths (one per rollup group,
/// updated in place); the `Hll` value type and the functions of this module give value
/// semantics (every operation returns a new sketch) for code that passes sketches around.
module FunctionalDruid.Core.Hll

open System
open System.Buffers
open System.Buffers.Binary
open System.Numerics
open System.Runtime.InteropServices
open System.Text

// ---------------------------------------------------------------------------------------
// Murmur3 x64 128, as Guava's Hashing.murmur3_128(seed) computes it.
// ---------------------------------------------------------------------------------------

module Murmur3 =
    let private c1 = 0x87c37b91114253d5UL
    let private c2 = 0x4cf5ad432745937fUL

    let inline private rotl (x: uint64) (r: int) = BitOperations.RotateLeft(x, r)

    let inline private fmix (k: uint64) =
        let mutable k = k
        k <- k ^^^ (k >>> 33)
        k <- k * 0xff51afd7ed558ccdUL
        k <- k ^^^ (k >>> 33)
        k <- k * 0xc4ceb9fe1a85ec53UL
        k ^^^ (k >>> 33)

    let inline private mixK1 (k: uint64) = rotl (k * c1) 31 * c2
    let inline private mixK2 (k: uint64) = rotl (k * c2) 33 * c1

    /// The two 64-bit halves (h1, h2). Guava widens the int seed with sign extension.
    let hash128 (seed: int) (data: ReadOnlySpan<byte>) : struct (uint64 * uint64) =
        let mutable h1 = uint64 (int64 seed)
        let mutable h2 = h1
        let blocks = data.Length / 16
        for b in 0 .. blocks - 1 do
            let k1 = BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(b * 16, 8))
            let k2 = BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(b * 16 + 8, 8))
            h1 <- h1 ^^^ mixK1 k1
            h1 <- rotl h1 27 + h2
            h1 <- h1 * 5UL + 0x52dce729UL
            h2 <- h2 ^^^ mixK2 k2
            h2 <- rotl h2 31 + h1
            h2 <- h2 * 5UL + 0x38495ab5UL
        let tail = data.Slice(blocks * 16)
        let mutable k1 = 0UL
        let mutable k2 = 0UL
        for i in tail.Length - 1 .. -1 .. 0 do
            if i >= 8 then k2 <- k2 ||| (uint64 tail.[i] <<< ((i - 8) * 8))
            else k1 <- k1 ||| (uint64 tail.[i] <<< (i * 8))
        if tail.Length > 8 then h2 <- h2 ^^^ mixK2 k2
        if tail.Length > 0 then h1 <- h1 ^^^ mixK1 k1
        let len = uint64 data.Length
        h1 <- h1 ^^^ len
        h2 <- h2 ^^^ len
        h1 <- h1 + h2
        h2 <- h2 + h1
        h1 <- fmix h1
        h2 <- fmix h2
        h1 <- h1 + h2
        h2 <- h2 + h1
        struct (h1, h2)

    /// Guava's `HashCode.asBytes()`: h1 then h2, little-endian.
    let hashBytes (data: ReadOnlySpan<byte>) : byte[] =
        let struct (h1, h2) = hash128 0 data
        let out = Array.zeroCreate<byte> 16
        BinaryPrimitives.WriteUInt64LittleEndian(out.AsSpan(0, 8), h1)
        BinaryPrimitives.WriteUInt64LittleEndian(out.AsSpan(8, 8), h2)
        out

/// What `hyperUnique` hashes: the UTF-8 bytes of a string value.
let hashUtf8 (s: string) : byte[] = Murmur3.hashBytes (ReadOnlySpan(Encoding.UTF8.GetBytes s))

/// What the `cardinality` aggregator hashes for strings: Guava's `hashUnencodedChars`, i.e.
/// the UTF-16 code units little-endian.
let hashUnencodedChars (s: string) : byte[] = Murmur3.hashBytes (MemoryMarshal.AsBytes(s.AsSpan()))

/// Guava's `hashLong`: the 8 little-endian bytes of the value.
let hashLong (v: int64) : byte[] =
    let b = Array.zeroCreate<byte> 8
    BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(), v)
    Murmur3.hashBytes (ReadOnlySpan b)

/// Guava's `hashDouble`: the raw IEEE bits as a little-endian long.
let hashDouble (v: float) : byte[] = hashLong (BitConverter.DoubleToInt64Bits v)

// ---------------------------------------------------------------------------------------
// The collector
// ---------------------------------------------------------------------------------------

[<Literal>]
let NumBuckets = 2048

[<Literal>]
let private PayloadBytes = 1024

[<Literal>]
let private HeaderBytes = 7

/// Serialized size of a dense version-1 sketch.
[<Literal>]
let DenseBytes = 1031

/// Below this many non-zero registers Druid writes the sparse form.
[<Literal>]
let private DenseThreshold = 128

/// A register holds 4 bits, so values above offset + 15 go to the overflow register.
[<Literal>]
let private Range = 15

let private alpha = 0.7213 / (1.0 + 1.079 / float NumBuckets)
let private correctionParameter = alpha * float NumBuckets * float NumBuckets
let private twoToThe64 = Math.Pow(2.0, 64.0)
let private lowCorrectionThreshold = float (5 * NumBuckets) / 2.0
let private highCorrectionThreshold = twoToThe64 / 30.0

/// The estimator on the raw harmonic sum, with linear counting for small and the 2^64
/// correction for huge cardinalities.
let private applyCorrection (harmonicSum: float) (zeroCount: int) =
    let e = correctionParameter / harmonicSum
    if e <= lowCorrectionThreshold then
        if zeroCount = 0 then e else float NumBuckets * Math.Log(float NumBuckets / float zeroCount)
    elif e > highCorrectionThreshold then
        let ratio = e / twoToThe64
        if ratio >= 1.0 then Double.PositiveInfinity else -twoToThe64 * Math.Log(1.0 - ratio)
    else e

/// 1-based position of the lowest set bit of a byte, 0 for 0.
let inline private lowestBitPosition (b: byte) = if b = 0uy then 0 else BitOperations.TrailingZeroCount(uint32 b) + 1

/// A mutable HyperLogLog sketch in Druid's dense layout. Not thread-safe.
[<Sealed; AllowNullLiteral>]
type Collector private (payload: byte[]) =
    let mutable registerOffset = 0
    let mutable numNonZero = 0
    let mutable maxOverflowValue = 0
    let mutable maxOverflowRegister = 0

    new() = Collector(Array.zeroCreate PayloadBytes)

    member _.RegisterOffset = registerOffset
    member _.NumNonZeroRegisters = numNonZero
    member _.MaxOverflowValue = maxOverflowValue
    member _.MaxOverflowRegister = maxOverflowRegister
    /// Two registers per byte, the even bucket in the upper nibble.
    member internal _.Payload = payload

    member internal _.SetHeader(offset: int, nonZero: int, overflowValue: int, overflowRegister: int) =
        registerOffset <- offset
        numNonZero <- nonZero
        maxOverflowValue <- overflowValue
        maxOverflowRegister <- overflowRegister

    /// Subtracts one from every register (all are non-zero when this runs); returns how many
    /// stay non-zero.
    member private _.DecrementBuckets() =
        let mutable count = 0
        for i in 0 .. PayloadBytes - 1 do
            let v = byte ((int payload.[i] - 0x11) &&& 0xff)
            if v &&& 0xf0uy <> 0uy then count <- count + 1
            if v &&& 0x0fuy <> 0uy then count <- count + 1
            payload.[i] <- v
        count

    member private this.AddNibble(bucket: int, value: int) =
        let position = bucket >>> 1
        let isUpper = bucket &&& 1 = 0
        let shifted = if isUpper then (value <<< 4) &&& 0xff else value
        let mask = if isUpper then 0xf0 else 0x0f
        let orig = int payload.[position]
        if orig &&& mask = 0 && shifted <> 0 then numNonZero <- numNonZero + 1
        payload.[position] <- byte (max (orig &&& mask) shifted ||| (orig &&& ~~~mask &&& 0xff))

    /// Records that `bucket` saw a hash whose first set bit is at `positionOf1`.
    member this.AddBucket(bucket: int, positionOf1: int) =
        if positionOf1 <= registerOffset then ()
        elif positionOf1 > registerOffset + Range then
            let currentMax = maxOverflowValue
            if positionOf1 > currentMax then
                // The displaced overflow may fit the registers by now.
                if currentMax <= registerOffset + Range then this.AddBucket(maxOverflowRegister, currentMax)
                maxOverflowValue <- positionOf1
                maxOverflowRegister <- bucket
        else
            this.AddNibble(bucket, positionOf1 - registerOffset)
            if numNonZero = NumBuckets then
                registerOffset <- registerOffset + 1
                numNonZero <- this.DecrementBuckets()

    /// Adds a hashed value (at least 10 bytes, normally murmur3_128): the bucket comes from
    /// the last two bytes, the register value from the first set bit of the first eight.
    member this.Add(hash: ReadOnlySpan<byte>) =
        if hash.Length < 10 then invalidArg "hash" (sprintf "Insufficient bytes, need[10] got [%d]" hash.Length)
        let bucket = ((int hash.[hash.Length - 2] <<< 8) ||| int hash.[hash.Length - 1]) &&& 0x7ff
        let mutable position = 0
        let mutable i = 0
        while i < 8 do
            let p = lowestBitPosition hash.[i]
            if p = 0 then
                position <- position + 8
                i <- i + 1
            else
                position <- position + p
                i <- 8
        this.AddBucket(bucket, position)

    member this.Add(hash: byte[]) = this.Add(ReadOnlySpan hash)

    /// Adds a murmur3_128 hash given as its halves, without the 16-byte array: bytes 14-15
    /// of Guava's layout are the top of h2, and the first set bit of bytes 0-7 is h1's
    /// lowest set bit.
    member this.AddHash128(struct (h1: uint64, h2: uint64)) =
        let bucket = ((int ((h2 >>> 48) &&& 0xffUL) <<< 8) ||| int (h2 >>> 56)) &&& 0x7ff
        let position = if h1 = 0UL then 64 else BitOperations.TrailingZeroCount h1 + 1
        this.AddBucket(bucket, position)

    /// Adds a string as `hyperUnique` does (murmur3_128 of its UTF-8 bytes), allocation-free.
    member this.AddString(s: string) =
        let buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount s.Length)
        try
            let n = Encoding.UTF8.GetBytes(s, 0, s.Length, buffer, 0)
            this.AddHash128(Murmur3.hash128 0 (ReadOnlySpan(buffer, 0, n)))
        finally
            ArrayPool<byte>.Shared.Return buffer

    /// Adds a string as the `cardinality` aggregator does (its UTF-16 code units).
    member this.AddUnencodedChars(s: string) =
        this.AddHash128(Murmur3.hash128 0 (MemoryMarshal.AsBytes(s.AsSpan())))

    /// Merges another sketch into this one (Druid's fold: the higher offset wins the layout).
    member this.Fold(other: Collector) =
        if isNull other then ()
        else
            let mutable other = other
            if registerOffset < other.RegisterOffset then
                let mine = this.Copy()
                Array.blit other.Payload 0 payload 0 PayloadBytes
                this.SetHeader(other.RegisterOffset, other.NumNonZeroRegisters, other.MaxOverflowValue, other.MaxOverflowRegister)
                other <- mine
            let offsetDiff = registerOffset - other.RegisterOffset
            let source = other.Payload
            let mutable nonZero = numNonZero
            for i in 0 .. PayloadBytes - 1 do
                let incoming = int source.[i]
                if incoming <> 0 then
                    let current = int payload.[i]
                    let upper = current &&& 0xf0
                    let lower = current &&& 0x0f
                    let newUpper = max upper ((incoming &&& 0xf0) - (offsetDiff <<< 4))
                    let newLower = max lower ((incoming &&& 0x0f) - offsetDiff)
                    payload.[i] <- byte ((newUpper ||| newLower) &&& 0xff)
                    if upper = 0 && newUpper > 0 then nonZero <- nonZero + 1
                    if lower = 0 && newLower > 0 then nonZero <- nonZero + 1
            if nonZero = NumBuckets then
                nonZero <- this.DecrementBuckets()
                registerOffset <- registerOffset + 1
            numNonZero <- nonZero
            this.AddBucket(other.MaxOverflowRegister, other.MaxOverflowValue)

    /// Druid's estimate of the dense form, term for term (so results match to the last bit).
    /// Zero registers are counted per nibble whatever the offset, as Druid does.
    member _.Estimate() : float =
        let overflowPosition = maxOverflowRegister >>> 1
        let overflowIsUpper = maxOverflowRegister &&& 1 = 0
        let mutable e = 0.0
        let mutable zeroCount = 0
        for position in 0 .. PayloadBytes - 1 do
            let register = int payload.[position]
            let mutable upper = (register >>> 4) + registerOffset
            let mutable lower = (register &&& 0x0f) + registerOffset
            if maxOverflowValue <> 0 && position = overflowPosition then
                if overflowIsUpper then upper <- max upper maxOverflowValue
                else lower <- max lower maxOverflowValue
                e <- e + (Math.ScaleB(1.0, -upper) + Math.ScaleB(1.0, -lower))
                // Druid masks the offset-adjusted values here; kept for identical estimates.
                zeroCount <- zeroCount + (if upper &&& 0xf0 = 0 then 1 else 0) + (if lower &&& 0x0f = 0 then 1 else 0)
            else
                e <- e + (Math.ScaleB(1.0, -upper) + Math.ScaleB(1.0, -lower))
                zeroCount <- zeroCount + (if register &&& 0xf0 = 0 then 1 else 0) + (if register &&& 0x0f = 0 then 1 else 0)
        applyCorrection e zeroCount

    member this.Copy() =
        let c = Collector(Array.copy payload)
        c.SetHeader(registerOffset, numNonZero, maxOverflowValue, maxOverflowRegister)
        c

    /// Druid's serialized form (version 1): a 7-byte header (version, offset, non-zero count,
    /// overflow value, overflow register; big-endian shorts), then either the 1024 register
    /// bytes or, below 128 non-zero registers, (position, byte) triples for the non-zero
    /// bytes. Druid sizes the sparse form by registers, not bytes, so it may end in zero
    /// triples; we write the same bytes.
    member _.ToBytes() : byte[] =
        let sparse = numNonZero < DenseThreshold
        let out = Array.zeroCreate<byte> (if sparse then HeaderBytes + numNonZero * 3 else DenseBytes)
        out.[0] <- 1uy
        out.[1] <- byte registerOffset
        BinaryPrimitives.WriteInt16BigEndian(out.AsSpan(2, 2), int16 numNonZero)
        out.[4] <- byte maxOverflowValue
        BinaryPrimitives.WriteInt16BigEndian(out.AsSpan(5, 2), int16 maxOverflowRegister)
        if sparse then
            let mutable at = HeaderBytes
            for i in 0 .. PayloadBytes - 1 do
                if payload.[i] <> 0uy then
                    BinaryPrimitives.WriteInt16BigEndian(out.AsSpan(at, 2), int16 (i + HeaderBytes))
                    out.[at + 2] <- payload.[i]
                    at <- at + 3
        else Array.blit payload 0 out HeaderBytes PayloadBytes
        out

    /// Reads any form Druid writes: version 1 (7-byte header) or the legacy version 0
    /// (3-byte header: offset, non-zero count), dense or sparse. Druid tells them apart by
    /// size alone: a length divisible by 3, or 1027, is version 0. Empty input is an empty
    /// sketch.
    static member TryOfBytes(bytes: ReadOnlySpan<byte>) : Result<Collector, string> =
        let c = Collector()
        if bytes.Length = 0 then Ok c
        else
            let isV0 = bytes.Length % 3 = 0 || bytes.Length = 1027
            let header = if isV0 then 3 else HeaderBytes
            if bytes.Length < header then Error(sprintf "HyperLogLog sketch too short: %d bytes" bytes.Length)
            else
                let offset, nonZero, overflowValue, overflowRegister =
                    if isV0 then int bytes.[0], int (BinaryPrimitives.ReadInt16BigEndian(bytes.Slice(1, 2))), 0, 0
                    else
                        int bytes.[1], int (BinaryPrimitives.ReadInt16BigEndian(bytes.Slice(2, 2))),
                        int bytes.[4], int (BinaryPrimitives.ReadInt16BigEndian(bytes.Slice(5, 2)))
                if overflowRegister < 0 || overflowRegister >= NumBuckets || offset > 64 || overflowValue > 64 then
                    Error "HyperLogLog sketch has an invalid header"
                else
                    c.SetHeader(offset, nonZero, overflowValue, overflowRegister)
                    let body = bytes.Slice header
                    if body.Length = PayloadBytes then
                        body.CopyTo(Span<byte>(c.Payload))
                        Ok c
                    elif body.Length % 3 <> 0 then Error(sprintf "HyperLogLog sketch has a truncated sparse entry: %d bytes" bytes.Length)
                    else
                        let mutable problem = None
                        let mutable at = 0
                        while at < body.Length && problem.IsNone do
                            let position = int (BinaryPrimitives.ReadInt16BigEndian(body.Slice(at, 2))) - header
                            let value = body.[at + 2]
                            // Druid's padding triples (position 0, value 0) carry nothing.
                            if value <> 0uy then
                                if position < 0 || position >= PayloadBytes then
                                    problem <- Some(sprintf "HyperLogLog sketch has a sparse entry at invalid position %d" (position + header))
                                else c.Payload.[position] <- value
                            at <- at + 3
                        match problem with
                        | Some p -> Error p
                        | None -> Ok c

    /// Same registers and header, whatever the serialized form they came from.
    member this.SameAs(other: Collector) =
        not (isNull other)
        && registerOffset = other.RegisterOffset && numNonZero = other.NumNonZeroRegisters
        && maxOverflowValue = other.MaxOverflowValue && maxOverflowRegister = other.MaxOverflowRegister
        && ReadOnlySpan<byte>(payload).SequenceEqual(ReadOnlySpan<byte>(other.Payload))

// ---------------------------------------------------------------------------------------
// Value semantics
// ---------------------------------------------------------------------------------------

/// An immutable sketch: the functions below copy, never mutate. Equality compares registers.
[<Sealed>]
type Hll internal (collector: Collector) =
    member internal _.Collector = collector
    override _.Equals(o) =
        match o with
        | :? Hll as h -> collector.SameAs h.Collector
        | _ -> false
    override _.GetHashCode() = hash (collector.RegisterOffset, collector.NumNonZeroRegisters, collector.MaxOverflowValue)
    override _.ToString() =
        sprintf "Hll(offset=%d, nonZero=%d, overflow=%d@%d)" collector.RegisterOffset collector.NumNonZeroRegisters
            collector.MaxOverflowValue collector.MaxOverflowRegister

let empty = Hll(Collector())

let private update (h: Hll) (f: Collector -> unit) =
    let c = h.Collector.Copy()
    f c
    Hll c

/// Adds a value already hashed (e.g. by a client that pre-computes murmur3_128).
let addHash (hash: byte[]) (h: Hll) : Hll = update h (fun c -> c.Add hash)

/// Adds a string the way `hyperUnique` ingestion does.
let addString (s: string) (h: Hll) : Hll = addHash (hashUtf8 s) h

let merge (a: Hll) (b: Hll) : Hll = update a (fun c -> c.Fold b.Collector)

let fold (sketches: seq<Hll>) : Hll =
    let c = Collector()
    for s in sketches do c.Fold s.Collector
    Hll c

let estimate (h: Hll) : float = h.Collector.Estimate()

/// Java's Math.round, as Druid's `round: true` applies it to estimates.
let roundEstimate (e: float) : int64 =
    if Double.IsNaN e then 0L
    elif e >= 9.223372036854775807e18 then Int64.MaxValue
    elif e <= -9.223372036854775808e18 then Int64.MinValue
    else
        let f = Math.Floor e
        int64 (if e - f >= 0.5 then f + 1.0 else f)

let toBytes (h: Hll) : byte[] = h.Collector.ToBytes()

let tryOfBytes (bytes: byte[]) : Result<Hll, string> =
    Collector.TryOfBytes(ReadOnlySpan bytes) |> Result.map Hll

/// Reads Druid's serialized form; raises ArgumentException on malformed bytes.
let ofBytes (bytes: byte[]) : Hll =
    match tryOfBytes bytes with
    | Ok h -> h
    | Error e -> invalidArg "bytes" e

/// A mutable copy for hot paths, and back.
let toCollector (h: Hll) : Collector = h.Collector.Copy()
let ofCollector (c: Collector) : Hll = Hll(c.Copy())

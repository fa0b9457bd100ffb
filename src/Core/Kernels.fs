/// Aggregation kernels over column spans: plain sums, minimums and maximums through
/// System.Numerics.Tensors, and masked variants that read a row mask (one bit per row, 64
/// rows a word) and turn each group of 4 bits into a Vector256 lane mask, so a filtered
/// aggregate costs about as much as an unfiltered one.
module FunctionalDruid.Core.Kernels

open System
open System.Numerics
open System.Numerics.Tensors
open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System.Runtime.Intrinsics

/// Lane masks for 4 rows of 64-bit values: entry b has all bits set in lane i when bit i of b is.
let private laneMasks64: Vector256<int64>[] =
    Array.init 16 (fun b ->
        Vector256.Create(
            (if b &&& 1 <> 0 then -1L else 0L), (if b &&& 2 <> 0 then -1L else 0L),
            (if b &&& 4 <> 0 then -1L else 0L), (if b &&& 8 <> 0 then -1L else 0L)))

/// Lane masks for 8 rows of 32-bit values.
let private laneMasks32: Vector256<int>[] =
    Array.init 256 (fun b -> Vector256.Create<int>(Array.init 8 (fun i -> if b &&& (1 <<< i) <> 0 then -1 else 0)))

/// Four independent accumulators keep the adds off one dependency chain.
let sumInt64 (values: ReadOnlySpan<int64>) : int64 =
    let mutable a0 = Vector256<int64>.Zero
    let mutable a1 = Vector256<int64>.Zero
    let mutable a2 = Vector256<int64>.Zero
    let mutable a3 = Vector256<int64>.Zero
    let mutable i = 0
    let n = values.Length
    while i + 16 <= n do
        a0 <- a0 + Vector256.Create<int64>(values.Slice(i, 4))
        a1 <- a1 + Vector256.Create<int64>(values.Slice(i + 4, 4))
        a2 <- a2 + Vector256.Create<int64>(values.Slice(i + 8, 4))
        a3 <- a3 + Vector256.Create<int64>(values.Slice(i + 12, 4))
        i <- i + 16
    let mutable total = Vector256.Sum((a0 + a1) + (a2 + a3))
    while i < n do
        total <- total + values.[i]
        i <- i + 1
    total
let sumInt32 (values: ReadOnlySpan<int>) : int = TensorPrimitives.Sum values
let sumDouble (values: ReadOnlySpan<float>) : float = TensorPrimitives.Sum values
let sumSingle (values: ReadOnlySpan<float32>) : float32 = TensorPrimitives.Sum values
/// Minimum and maximum of non-empty spans.
let minInt64 (values: ReadOnlySpan<int64>) : int64 = TensorPrimitives.Min values
let maxInt64 (values: ReadOnlySpan<int64>) : int64 = TensorPrimitives.Max values
let minDouble (values: ReadOnlySpan<float>) : float = TensorPrimitives.Min values
let maxDouble (values: ReadOnlySpan<float>) : float = TensorPrimitives.Max values
let minSingle (values: ReadOnlySpan<float32>) : float32 = TensorPrimitives.Min values
let maxSingle (values: ReadOnlySpan<float32>) : float32 = TensorPrimitives.Max values

/// Sum of int32 values widened to int64 lanes, for callers that must not overflow.
let sumInt32Wide (values: ReadOnlySpan<int>) : int64 =
    let mutable acc = Vector256<int64>.Zero
    let mutable i = 0
    let n = values.Length
    while i + 8 <= n do
        let v = Vector256.Create<int>(values.Slice(i, 8))
        let struct (lo, hi) = Vector256.Widen(v)
        acc <- acc + lo + hi
        i <- i + 8
    let mutable total = Vector256.Sum acc
    while i < n do
        total <- total + int64 values.[i]
        i <- i + 1
    total

/// The bits of `mask` for rows [lo, hi) of word `w`.
let inline private wordBits (mask: uint64[]) (w: int) (lo: int) (hi: int) =
    let mutable bits = mask.[w]
    let first = w <<< 6
    if lo > first then bits <- bits &&& (UInt64.MaxValue <<< (lo - first))
    if hi < first + 64 then bits <- bits &&& ((1UL <<< (hi - first)) - 1UL)
    bits

/// Rows of [lo, hi) set in the mask.
let countMasked (mask: uint64[]) (lo: int) (hi: int) : int =
    if lo >= hi then 0
    else
        let mutable n = 0
        for w in (lo >>> 6) .. ((hi - 1) >>> 6) do
            n <- n + BitOperations.PopCount(wordBits mask w lo hi)
        n

/// Sum of the 64-bit integers of rows [lo, hi) whose mask bit is set. Mixed words run 16
/// branch-free vector steps, each masking 4 lanes with the table entry for 4 mask bits.
let sumInt64Masked (values: ReadOnlySpan<int64>) (mask: uint64[]) (lo: int) (hi: int) : int64 =
    if lo >= hi then 0L
    else
        let masks = laneMasks64
        let mutable a0 = Vector256<int64>.Zero
        let mutable a1 = Vector256<int64>.Zero
        let mutable tail = 0L
        for w in (lo >>> 6) .. ((hi - 1) >>> 6) do
            let bits = wordBits mask w lo hi
            if bits <> 0UL then
                let first = w <<< 6
                if first + 64 <= values.Length then
                    // Full and mixed words take the same branch-free path: random masks would
                    // mispredict a branch between them.
                    let block = values.Slice(first, 64)
                    let mutable k = 0
                    while k < 64 do
                        a0 <- a0 + (Vector256.Create<int64>(block.Slice(k, 4)) &&& masks.[int ((bits >>> k) &&& 15UL)])
                        a1 <- a1 + (Vector256.Create<int64>(block.Slice(k + 4, 4)) &&& masks.[int ((bits >>> (k + 4)) &&& 15UL)])
                        k <- k + 8
                else
                    let mutable b = bits
                    while b <> 0UL do
                        tail <- tail + values.[first + BitOperations.TrailingZeroCount b]
                        b <- b &&& (b - 1UL)
        Vector256.Sum(a0 + a1) + tail

/// Sum of the doubles of rows [lo, hi) whose mask bit is set.
let sumDoubleMasked (values: ReadOnlySpan<float>) (mask: uint64[]) (lo: int) (hi: int) : float =
    if lo >= hi then 0.0
    else
        let masks = laneMasks64
        let mutable a0 = Vector256<float>.Zero
        let mutable a1 = Vector256<float>.Zero
        let mutable tail = 0.0
        for w in (lo >>> 6) .. ((hi - 1) >>> 6) do
            let bits = wordBits mask w lo hi
            if bits <> 0UL then
                let first = w <<< 6
                if first + 64 <= values.Length then
                    let block = values.Slice(first, 64)
                    let mutable k = 0
                    while k < 64 do
                        a0 <- a0 + (Vector256.Create<float>(block.Slice(k, 4)) &&& masks.[int ((bits >>> k) &&& 15UL)].AsDouble())
                        a1 <- a1 + (Vector256.Create<float>(block.Slice(k + 4, 4)) &&& masks.[int ((bits >>> (k + 4)) &&& 15UL)].AsDouble())
                        k <- k + 8
                else
                    let mutable b = bits
                    while b <> 0UL do
                        tail <- tail + values.[first + BitOperations.TrailingZeroCount b]
                        b <- b &&& (b - 1UL)
        Vector256.Sum(a0 + a1) + tail

/// Sum of int32 values of rows [lo, hi) whose mask bit is set, in 64-bit lanes.
let sumInt32Masked (values: ReadOnlySpan<int>) (mask: uint64[]) (lo: int) (hi: int) : int64 =
    if lo >= hi then 0L
    else
        let masks = laneMasks32
        let mutable acc = Vector256<int64>.Zero
        let mutable tail = 0L
        for w in (lo >>> 6) .. ((hi - 1) >>> 6) do
            let bits = wordBits mask w lo hi
            if bits <> 0UL then
                let first = w <<< 6
                if first + 64 <= values.Length then
                    let block = values.Slice(first, 64)
                    let mutable b = bits
                    let mutable k = 0
                    while b <> 0UL do
                        let octet = int (b &&& 255UL)
                        if octet <> 0 then
                            let struct (l, h) = Vector256.Widen(Vector256.Create<int>(block.Slice(k, 8)) &&& masks.[octet])
                            acc <- acc + l + h
                        b <- b >>> 8
                        k <- k + 8
                else
                    let mutable b = bits
                    while b <> 0UL do
                        tail <- tail + int64 values.[first + BitOperations.TrailingZeroCount b]
                        b <- b &&& (b - 1UL)
        Vector256.Sum acc + tail

let inline private isLessD (a: float) (b: float) = Double.IsNaN a || a < b
let inline private isGreaterD (a: float) (b: float) = Double.IsNaN a || a > b
let inline private isLessS (a: float32) (b: float32) = Single.IsNaN a || a < b
let inline private isGreaterS (a: float32) (b: float32) = Single.IsNaN a || a > b

/// Minimum or maximum of masked rows; `found` is false when no row is set. NaN wins, as in Java's Math.min/max.
let minInt64Masked (values: ReadOnlySpan<int64>) (mask: uint64[]) (lo: int) (hi: int) (found: byref<bool>) : int64 =
    let mutable best = Unchecked.defaultof<int64>
    found <- false
    if lo < hi then
        for w in (lo >>> 6) .. ((hi - 1) >>> 6) do
            let bits = wordBits mask w lo hi
            let first = w <<< 6
            if bits = UInt64.MaxValue && first + 64 <= values.Length then
                let candidate = TensorPrimitives.Min(values.Slice(first, 64))
                if not found || (<) candidate best then best <- candidate
                found <- true
            else
                let mutable b = bits
                while b <> 0UL do
                    let v = values.[first + BitOperations.TrailingZeroCount b]
                    if not found || (<) v best then best <- v
                    found <- true
                    b <- b &&& (b - 1UL)
    best

let maxInt64Masked (values: ReadOnlySpan<int64>) (mask: uint64[]) (lo: int) (hi: int) (found: byref<bool>) : int64 =
    let mutable best = Unchecked.defaultof<int64>
    found <- false
    if lo < hi then
        for w in (lo >>> 6) .. ((hi - 1) >>> 6) do
            let bits = wordBits mask w lo hi
            let first = w <<< 6
            if bits = UInt64.MaxValue && first + 64 <= values.Length then
                let candidate = TensorPrimitives.Max(values.Slice(first, 64))
                if not found || (>) candidate best then best <- candidate
                found <- true
            else
                let mutable b = bits
                while b <> 0UL do
                    let v = values.[first + BitOperations.TrailingZeroCount b]
                    if not found || (>) v best then best <- v
                    found <- true
                    b <- b &&& (b - 1UL)
    best

let minDoubleMasked (values: ReadOnlySpan<float>) (mask: uint64[]) (lo: int) (hi: int) (found: byref<bool>) : float =
    let mutable best = Unchecked.defaultof<float>
    found <- false
    if lo < hi then
        for w in (lo >>> 6) .. ((hi - 1) >>> 6) do
            let bits = wordBits mask w lo hi
            let first = w <<< 6
            if bits = UInt64.MaxValue && first + 64 <= values.Length then
                let candidate = TensorPrimitives.Min(values.Slice(first, 64))
                if not found || isLessD candidate best then best <- candidate
                found <- true
            else
                let mutable b = bits
                while b <> 0UL do
                    let v = values.[first + BitOperations.TrailingZeroCount b]
                    if not found || isLessD v best then best <- v
                    found <- true
                    b <- b &&& (b - 1UL)
    best

let maxDoubleMasked (values: ReadOnlySpan<float>) (mask: uint64[]) (lo: int) (hi: int) (found: byref<bool>) : float =
    let mutable best = Unchecked.defaultof<float>
    found <- false
    if lo < hi then
        for w in (lo >>> 6) .. ((hi - 1) >>> 6) do
            let bits = wordBits mask w lo hi
            let first = w <<< 6
            if bits = UInt64.MaxValue && first + 64 <= values.Length then
                let candidate = TensorPrimitives.Max(values.Slice(first, 64))
                if not found || isGreaterD candidate best then best <- candidate
                found <- true
            else
                let mutable b = bits
                while b <> 0UL do
                    let v = values.[first + BitOperations.TrailingZeroCount b]
                    if not found || isGreaterD v best then best <- v
                    found <- true
                    b <- b &&& (b - 1UL)
    best

let minSingleMasked (values: ReadOnlySpan<float32>) (mask: uint64[]) (lo: int) (hi: int) (found: byref<bool>) : float32 =
    let mutable best = Unchecked.defaultof<float32>
    found <- false
    if lo < hi then
        for w in (lo >>> 6) .. ((hi - 1) >>> 6) do
            let bits = wordBits mask w lo hi
            let first = w <<< 6
            if bits = UInt64.MaxValue && first + 64 <= values.Length then
                let candidate = TensorPrimitives.Min(values.Slice(first, 64))
                if not found || isLessS candidate best then best <- candidate
                found <- true
            else
                let mutable b = bits
                while b <> 0UL do
                    let v = values.[first + BitOperations.TrailingZeroCount b]
                    if not found || isLessS v best then best <- v
                    found <- true
                    b <- b &&& (b - 1UL)
    best

let maxSingleMasked (values: ReadOnlySpan<float32>) (mask: uint64[]) (lo: int) (hi: int) (found: byref<bool>) : float32 =
    let mutable best = Unchecked.defaultof<float32>
    found <- false
    if lo < hi then
        for w in (lo >>> 6) .. ((hi - 1) >>> 6) do
            let bits = wordBits mask w lo hi
            let first = w <<< 6
            if bits = UInt64.MaxValue && first + 64 <= values.Length then
                let candidate = TensorPrimitives.Max(values.Slice(first, 64))
                if not found || isGreaterS candidate best then best <- candidate
                found <- true
            else
                let mutable b = bits
                while b <> 0UL do
                    let v = values.[first + BitOperations.TrailingZeroCount b]
                    if not found || isGreaterS v best then best <- v
                    found <- true
                    b <- b &&& (b - 1UL)
    best

/// Sum of float values of masked rows, accumulated in single precision as Druid's floatSum.
let sumSingleMasked (values: ReadOnlySpan<float32>) (mask: uint64[]) (lo: int) (hi: int) : float32 =
    let mutable total = 0.0f
    if lo < hi then
        for w in (lo >>> 6) .. ((hi - 1) >>> 6) do
            let bits = wordBits mask w lo hi
            let first = w <<< 6
            if bits = UInt64.MaxValue && first + 64 <= values.Length then total <- total + TensorPrimitives.Sum(values.Slice(first, 64))
            else
                let mutable b = bits
                while b <> 0UL do
                    total <- total + values.[first + BitOperations.TrailingZeroCount b]
                    b <- b &&& (b - 1UL)
    total

/// The rows of [lo, hi) set in the mask (every row when null), in order, written to `rows`;
/// returns the count.
let collectRows (mask: uint64[]) (lo: int) (hi: int) (rows: int[]) : int =
    let mutable n = 0
    if isNull mask then
        for r in lo .. hi - 1 do
            rows.[n] <- r
            n <- n + 1
    elif lo < hi then
        for w in (lo >>> 6) .. ((hi - 1) >>> 6) do
            let mutable b = wordBits mask w lo hi
            let first = w <<< 6
            while b <> 0UL do
                rows.[n] <- first + BitOperations.TrailingZeroCount b
                n <- n + 1
                b <- b &&& (b - 1UL)
    n

/// Reads every 64-bit word of the span once (the memory-bandwidth reference for benchmarks).
let readWords (values: ReadOnlySpan<uint64>) : uint64 =
    let mutable acc = Vector256<uint64>.Zero
    let mutable i = 0
    while i + 4 <= values.Length do
        acc <- acc ^^^ Vector256.Create<uint64>(values.Slice(i, 4))
        i <- i + 4
    let mutable r = acc.[0] ^^^ acc.[1] ^^^ acc.[2] ^^^ acc.[3]
    while i < values.Length do
        r <- r ^^^ values.[i]
        i <- i + 1
    r

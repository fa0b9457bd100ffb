/// What the sketch aggregators (`hyperUnique`, `cardinality`) take from a row: the values they
/// add to an HLL collector, as Druid hashes them.
module FunctionalDruid.Core.SketchInput

open System
open System.Buffers.Binary
open FunctionalDruid.Core

/// `hyperUnique`: every string value of the field (multi-value: each), nulls skipped.
let addHyperUniqueValues (c: Hll.Collector) (v: Value) =
    match v with
    | Value.Null -> ()
    | Value.String s -> c.AddString s
    | Value.Array xs ->
        for x in xs do
            match Value.toStringOrNull x with
            | null -> ()
            | s -> c.AddString s
    | other -> c.AddString(Value.toStringOrNull other)

/// `isInputHyperUnique`: the field carries base64 sketches; anything else is skipped.
let foldSketchValue (c: Hll.Collector) (v: Value) =
    match v with
    | Value.String s ->
        let buffer = Array.zeroCreate<byte> (s.Length * 3 / 4 + 3)
        match Convert.TryFromBase64String(s, Span buffer) with
        | true, written ->
            match Hll.Collector.TryOfBytes(ReadOnlySpan(buffer, 0, written)) with
            | Ok other -> c.Fold other
            | Error _ -> ()
        | _ -> ()
    | _ -> ()

/// `cardinality` by value: strings by their UTF-16 code units, numbers as Guava's
/// hashLong/hashDouble, nulls skipped.
let addCardinalityValues (c: Hll.Collector) (v: Value) =
    match v with
    | Value.Null -> ()
    | Value.String s -> c.AddUnencodedChars s
    | Value.Long l -> c.Add(Hll.hashLong l)
    | Value.Double d -> c.Add(Hll.hashDouble d)
    | Value.Array xs ->
        for x in xs do
            match Value.toStringOrNull x with
            | null -> ()
            | s -> c.AddUnencodedChars s

/// A growable byte buffer reused across rows for `byRow` hashing.
type Scratch() =
    let mutable bytes = Array.zeroCreate<byte> 256
    let mutable length = 0
    member _.Clear() = length <- 0
    member _.Span = ReadOnlySpan(bytes, 0, length)
    member private _.Reserve(n: int) = if length + n > bytes.Length then Array.Resize(&bytes, max (length + n) (bytes.Length * 2))
    member this.PutByte(b: byte) =
        this.Reserve 1
        bytes.[length] <- b
        length <- length + 1
    member this.PutLong(v: int64) =
        this.Reserve 8
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(length, 8), v)
        length <- length + 8
    member this.PutChars(s: string) =
        for ch in s do
            this.Reserve 2
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(length, 2), uint16 ch)
            length <- length + 2

/// `cardinality` by row: one hash over all fields, each field's bytes separated by a zero
/// byte; a multi-value cell contributes its values sorted, nulls as "\u0000", joined by
/// '\u0001' (and nothing when all are null), as Druid's hasher does.
let addCardinalityRow (scratch: Scratch) (fields: string[]) (c: Hll.Collector) (row: string -> Value) =
    scratch.Clear()
    for k in 0 .. fields.Length - 1 do
        if k > 0 then scratch.PutByte 0uy
        match row fields.[k] with
        | Value.Null -> ()
        | Value.String s -> scratch.PutChars s
        | Value.Long l -> scratch.PutLong l
        | Value.Double d -> scratch.PutLong(BitConverter.DoubleToInt64Bits d)
        | Value.Array [| x |] ->
            match Value.toStringOrNull x with
            | null -> ()
            | s -> scratch.PutChars s
        | Value.Array xs ->
            let values = xs |> Array.map Value.toStringOrNull
            if values |> Array.exists (isNull >> not) then
                let values = values |> Array.map (fun s -> if isNull s then "\u0000" else s)
                Array.sortInPlaceWith (fun (a: string) b -> String.CompareOrdinal(a, b)) values
                values |> Array.iteri (fun i s ->
                    if i > 0 then scratch.PutChars "\u0001"
                    scratch.PutChars s)
    c.AddHash128(Hll.Murmur3.hash128 0 scratch.Span)

/// Group keys held as columns: one typed column per dimension over all groups of a partial
/// result, so a million groups are a few arrays rather than a million key objects with a boxed
/// value per dimension (which the garbage collector would trace on every collection). Columns
/// of different kinds still compare by value, so partials of segments whose columns differ in
/// type merge correctly.
module FunctionalDruid.Core.GroupKeys

open System
open FunctionalDruid.Core
open FunctionalDruid.Core.GroupAggregators

/// Equality, hashing and result order of single group key values.
module KeyValue =
    let rec equal (a: Value) (b: Value) =
        match a, b with
        | Value.Long x, Value.Long y -> x = y
        | Value.String x, Value.String y -> String.Equals(x, y)
        | Value.Null, Value.Null -> true
        | Value.Double x, Value.Double y -> x.Equals y
        | Value.Array xs, Value.Array ys -> xs.Length = ys.Length && Array.forall2 equal xs ys
        | _ -> false

    let hashOfLong (l: int64) = l.GetHashCode()
    let hashOfDouble (d: float) = d.GetHashCode()
    /// A text's hash: its UTF-16 bytes eight at a time, each folded in by a multiply and a
    /// shift. Group keys hash millions of URLs per query, where the runtime's randomized
    /// string hash cost a third of a merge's CPU. Not randomized (as Java's String hash that
    /// Druid groups by is not): data crafted to collide would slow its own queries down.
    let hashOfText (s: string) =
        if isNull s then 0
        else
            let bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(s.AsSpan())
            let mutable h = 0x9E3779B97F4A7C15UL ^^^ uint64 bytes.Length
            let mutable i = 0
            while i + 8 <= bytes.Length do
                h <- (h ^^^ System.Runtime.InteropServices.MemoryMarshal.Read<uint64>(bytes.Slice i)) * 0xFF51AFD7ED558CCDUL
                h <- h ^^^ (h >>> 29)
                i <- i + 8
            if i < bytes.Length then
                let mutable tail = 0UL
                for j in i .. bytes.Length - 1 do tail <- (tail <<< 8) ||| uint64 bytes.[j]
                h <- (h ^^^ tail) * 0xFF51AFD7ED558CCDUL
            h <- (h ^^^ (h >>> 33)) * 0xC4CEB9FE1A85EC53UL
            h <- h ^^^ (h >>> 33)
            int h ^^^ int (h >>> 32)

    let rec hash (v: Value) =
        match v with
        | Value.Long l -> hashOfLong l
        | Value.String s -> hashOfText s
        | Value.Null -> 0
        | Value.Double d -> hashOfDouble d
        | Value.Array xs -> xs |> Array.fold (fun h x -> h * 31 + hash x) 17

    /// A number key value (or number text) as a double.
    let asDouble (v: Value) : float option =
        match v with
        | Value.Long l -> Some(float l)
        | Value.Double d -> Some d
        | Value.String s -> Value.parseDoubleText s
        | _ -> None

    /// Result order of key values: nulls first, numbers numerically, arrays element by element
    /// (then the shorter first), anything else by its text's UTF-8 bytes.
    let rec compare (a: Value) (b: Value) : int =
        match a, b with
        | Value.Null, Value.Null -> 0
        | Value.Null, _ -> -1
        | _, Value.Null -> 1
        | Value.Array xs, Value.Array ys ->
            let mutable c = 0
            let mutable i = 0
            while c = 0 && i < min xs.Length ys.Length do
                c <- compare xs.[i] ys.[i]
                i <- i + 1
            if c <> 0 then c else Operators.compare xs.Length ys.Length
        | Value.Long x, Value.Long y -> Operators.compare x y
        | (Value.Long _ | Value.Double _), (Value.Long _ | Value.Double _) -> Operators.compare (asDouble a).Value (asDouble b).Value
        | _ -> Ordering.compareLexicographic (Value.toStringOrNull a) (Value.toStringOrNull b)

/// One dimension's key values of a partial's groups. Columns made by a segment run are read
/// only; a merger appends to columns of its own.
[<AbstractClass>]
type KeyColumn() =
    /// Groups held.
    abstract Count: int
    /// The key value of a group, as results show it.
    abstract ValueAt: group: int -> Value
    /// Equal to `KeyValue.hash (ValueAt group)`.
    abstract HashAt: group: int -> int
    /// Whether `group` holds the value `otherGroup` of `other` (a column of any kind) holds.
    abstract EqualsAt: group: int * other: KeyColumn * otherGroup: int -> bool
    /// `KeyValue.compare` of two groups' values.
    abstract CompareAt: group: int * otherGroup: int -> int
    /// Appends a group of `source`; false, appending nothing, when `source` is of another kind.
    abstract TryAppend: source: KeyColumn * sourceGroup: int -> bool
    /// Appends every group of `source`; false, appending nothing, when it is of another kind.
    abstract AppendAll: source: KeyColumn -> bool
    default this.AppendAll(source) =
        // A column's groups are all of its kind: when the first appends, the others do.
        source.Count = 0
        || (this.TryAppend(source, 0)
            && (for j in 1 .. source.Count - 1 do this.TryAppend(source, j) |> ignore
                true))
    /// Appends groups `groups.[0 .. n - 1]` of `source`; false, appending nothing, when it is
    /// of another kind.
    abstract AppendSelected: source: KeyColumn * groups: int[] * n: int -> bool
    default this.AppendSelected(source, groups, n) =
        n = 0
        || (this.TryAppend(source, groups.[0])
            && (for k in 1 .. n - 1 do this.TryAppend(source, groups.[k]) |> ignore
                true))
    /// The column with group g moved to `positions.[g]` (a permutation of its groups).
    abstract Permuted: positions: int[] -> KeyColumn
    /// An empty column of the same kind, with room for `capacity` groups.
    abstract EmptyLike: capacity: int -> KeyColumn
    /// The values of groups `order` as stored column data, where the kind allows it without
    /// boxing (None: build it from `ValueAt`). Columns of only nulls are left to the caller.
    abstract ColumnOf: order: int[] -> ColumnData option
    default _.ColumnOf _ = None
    /// Folds the column into the first `count` hashes of groups (`h * 31 + hash`).
    abstract MixHashes: hashes: int[] * count: int -> unit
    default this.MixHashes(hashes: int[], count: int) =
        for g in 0 .. count - 1 do hashes.[g] <- hashes.[g] * 31 + this.HashAt g

/// The first `count` entries of `values` with entry g moved to `positions.[g]`.
let private scatter (values: 'T[]) (positions: int[]) (count: int) : 'T[] =
    let moved = Array.zeroCreate<'T> count
    for g in 0 .. count - 1 do moved.[positions.[g]] <- values.[g]
    moved

/// Any values (arrays, or a mix of kinds after merging columns that differ in kind).
[<Sealed>]
type ValueKeys(initial: Value[], initialCount: int) =
    inherit KeyColumn()
    let mutable values = initial
    let mutable count = initialCount
    new(values: Value[]) = ValueKeys(values, values.Length)
    /// The values of any column, as a column that takes values of every kind.
    static member Of(column: KeyColumn) = ValueKeys(Array.init column.Count column.ValueAt)
    override _.Count = count
    override _.ValueAt g = values.[g]
    override _.HashAt g = KeyValue.hash values.[g]
    override _.EqualsAt(g, other, j) = KeyValue.equal values.[g] (other.ValueAt j)
    override _.CompareAt(g, j) = KeyValue.compare values.[g] values.[j]
    override _.TryAppend(source, j) =
        values <- grow values (count + 1)
        values.[count] <- source.ValueAt j
        count <- count + 1
        true
    override _.Permuted positions = ValueKeys(scatter values positions count)
    override _.EmptyLike capacity = ValueKeys(Array.zeroCreate capacity, 0)

/// What a column of numbers needs of its number type.
type NumberKind<'T> =
    { ToValue: 'T -> Value
      Hash: 'T -> int
      Equal: 'T -> 'T -> bool
      Compare: 'T -> 'T -> int
      /// Stored column data of the numbers (nulls as flags).
      ToColumn: 'T[] -> bool[] option -> ColumnData }

/// Numbers with null flags (`nulls` is null while no group is null): longs, or doubles
/// (floats widened).
[<Sealed>]
type NumberKeys<'T>(kind: NumberKind<'T>, initial: 'T[], initialNulls: bool[], initialCount: int) =
    inherit KeyColumn()
    let mutable values = initial
    let mutable nulls = initialNulls
    let mutable count = initialCount
    member _.Values = values
    /// Null flags (null while no group is null).
    member _.Nulls = nulls
    member _.IsNullAt g = not (isNull nulls) && nulls.[g]
    override _.Count = count
    override this.ValueAt g = if this.IsNullAt g then Value.Null else kind.ToValue values.[g]
    override this.HashAt g = if this.IsNullAt g then 0 else kind.Hash values.[g]
    override this.EqualsAt(g, other, j) =
        match other with
        | :? NumberKeys<'T> as o ->
            let isNull = this.IsNullAt g
            isNull = o.IsNullAt j && (isNull || kind.Equal values.[g] o.Values.[j])
        | _ -> KeyValue.equal (this.ValueAt g) (other.ValueAt j)
    override this.CompareAt(g, j) =
        match this.IsNullAt g, this.IsNullAt j with
        | true, true -> 0
        | true, false -> -1
        | false, true -> 1
        | false, false -> kind.Compare values.[g] values.[j]
    override _.TryAppend(source, j) =
        match source with
        | :? NumberKeys<'T> as s ->
            values <- grow values (count + 1)
            values.[count] <- s.Values.[j]
            if s.IsNullAt j then
                nulls <- if isNull nulls then Array.zeroCreate values.Length else grow nulls values.Length
                nulls.[count] <- true
            elif not (isNull nulls) then nulls <- grow nulls values.Length
            count <- count + 1
            true
        | _ -> false
    override _.AppendAll(source) =
        match source with
        | :? NumberKeys<'T> as s ->
            let n = s.Count
            values <- grow values (count + n)
            Array.blit s.Values 0 values count n
            if not (isNull s.Nulls) || not (isNull nulls) then
                nulls <- if isNull nulls then Array.zeroCreate values.Length else grow nulls values.Length
                if isNull s.Nulls then Array.fill nulls count n false else Array.blit s.Nulls 0 nulls count n
            count <- count + n
            true
        | _ -> source.Count = 0
    override _.AppendSelected(source, groups, n) =
        match source with
        | :? NumberKeys<'T> as s ->
            values <- grow values (count + n)
            let from = s.Values
            for k in 0 .. n - 1 do values.[count + k] <- from.[groups.[k]]
            if not (isNull s.Nulls) || not (isNull nulls) then
                nulls <- if isNull nulls then Array.zeroCreate values.Length else grow nulls values.Length
                for k in 0 .. n - 1 do nulls.[count + k] <- s.IsNullAt groups.[k]
            count <- count + n
            true
        | _ -> n = 0
    override _.Permuted positions =
        NumberKeys<'T>(kind, scatter values positions count, (if isNull nulls then null else scatter nulls positions count), count)
    override _.EmptyLike capacity = NumberKeys<'T>(kind, Array.zeroCreate capacity, null, 0)
    override this.ColumnOf order =
        if order |> Array.forall this.IsNullAt then None
        elif isNull nulls && count = values.Length && isWholeInOrder order values.Length then
            // Every group in place and none null: the key array is the column.
            Some(kind.ToColumn values None)
        else
            let nulls = if isNull nulls then None else Some(order |> Array.map (fun g -> nulls.[g]))
            Some(kind.ToColumn (order |> Array.map (fun g -> if this.IsNullAt g then Unchecked.defaultof<'T> else values.[g])) nulls)

let private longKind: NumberKind<int64> =
    { ToValue = Value.Long; Hash = KeyValue.hashOfLong; Equal = (=); Compare = compare
      ToColumn = fun values nulls -> ColumnData.Longs(values, nulls) }

let private doubleKind: NumberKind<float> =
    { ToValue = Value.Double; Hash = KeyValue.hashOfDouble; Equal = (fun a b -> a.Equals b); Compare = compare
      ToColumn = fun values nulls -> ColumnData.Doubles(values, nulls) }

/// A column of longs; `nulls` may be null (no group null).
let longKeys (values: int64[]) (nulls: bool[]) (count: int) = NumberKeys(longKind, values, nulls, count) :> KeyColumn
/// A column of doubles; `nulls` may be null (no group null).
let doubleKeys (values: float[]) (nulls: bool[]) (count: int) = NumberKeys(doubleKind, values, nulls, count) :> KeyColumn

/// Strings; a null string is Druid's null.
[<Sealed>]
type TextKeys(initial: string[], initialCount: int) =
    inherit KeyColumn()
    let mutable values = initial
    let mutable count = initialCount
    new(values: string[]) = TextKeys(values, values.Length)
    member _.Values = values
    override _.Count = count
    override _.ValueAt g = let s = values.[g] in if isNull s then Value.Null else Value.String s
    override _.HashAt g = KeyValue.hashOfText values.[g]
    override _.MixHashes(hashes, n) =
        for g in 0 .. n - 1 do hashes.[g] <- hashes.[g] * 31 + KeyValue.hashOfText values.[g]
    override this.EqualsAt(g, other, j) =
        match other with
        | :? TextKeys as o -> String.Equals(values.[g], o.Values.[j])
        | _ -> KeyValue.equal (this.ValueAt g) (other.ValueAt j)
    override _.CompareAt(g, j) =
        let a, b = values.[g], values.[j]
        if isNull a then (if isNull b then 0 else -1)
        elif isNull b then 1
        else Ordering.compareLexicographic a b
    override _.TryAppend(source, j) =
        match source with
        | :? TextKeys as s ->
            values <- grow values (count + 1)
            values.[count] <- s.Values.[j]
            count <- count + 1
            true
        | _ -> false
    override _.AppendAll(source) =
        match source with
        | :? TextKeys as s ->
            values <- grow values (count + s.Count)
            Array.blit s.Values 0 values count s.Count
            count <- count + s.Count
            true
        | _ -> source.Count = 0
    override _.AppendSelected(source, groups, n) =
        match source with
        | :? TextKeys as s ->
            values <- grow values (count + n)
            let from = s.Values
            for k in 0 .. n - 1 do values.[count + k] <- from.[groups.[k]]
            count <- count + n
            true
        | _ -> n = 0
    override _.Permuted positions = TextKeys(scatter values positions count, count)
    override _.EmptyLike capacity = TextKeys(Array.zeroCreate capacity, 0)
    override _.ColumnOf order =
        let interner = StringInterner()
        let ids = order |> Array.map (fun g -> interner.Id values.[g])
        Some(ColumnData.Strings { Dictionary = interner.Values; Ids = ids; MultiIds = None; HasBitmapIndex = true })

/// Each group's time bucket start: one per group, or one for all of them (granularity `all`,
/// where a start per group would carry millions of equal longs through every copy a merge
/// makes of its groups).
[<Struct; NoEquality; NoComparison>]
type GroupBuckets private (starts: int64[], shared: int64) =
    /// Group g's bucket is `starts.[g]`.
    static member PerGroup(starts: int64[]) = GroupBuckets(starts, 0L)
    /// Every group's bucket is `start`.
    static member AllIn(start: int64) = GroupBuckets(null, start)
    member _.Item with get (g: int) = if isNull starts then shared else starts.[g]
    /// Whether every group has the bucket `Shared`.
    member _.IsShared = isNull starts
    member _.Shared = shared
    /// The buckets with group g's moved to `positions.[g]` for g < count.
    member this.Permuted(positions: int[], count: int) =
        if isNull starts then this
        else
            let moved = Array.zeroCreate<int64> count
            for g in 0 .. count - 1 do moved.[positions.[g]] <- starts.[g]
            GroupBuckets(moved, 0L)
    /// The starts of the first `count` groups, with room for `capacity`.
    member _.ToArray(count: int, capacity: int) : int64[] =
        let a = Array.zeroCreate<int64> (max count capacity)
        if isNull starts then Array.fill a 0 count shared else Array.blit starts 0 a 0 count
        a

/// Hashes of the first `count` groups: bucket start, then each dimension's value.
let hashesOf (buckets: GroupBuckets) (columns: KeyColumn[]) (count: int) : int[] =
    let hashes = if buckets.IsShared then Array.create count (buckets.Shared.GetHashCode()) else Array.init count (fun g -> buckets.[g].GetHashCode())
    for c in columns do c.MixHashes(hashes, count)
    hashes

/// Numbers 0, 1, 2… handed to distinct longs in order of first appearance (an id per value of
/// a number column, a group per composite key). Open addressing over two flat arrays: growing
/// rehashes without the per-entry chains of a dictionary, and `Keys` is the first-appearance
/// order itself.
[<Sealed>]
type LongIndex(expected: int) =
    let bitsFor (n: int) = max 4 (64 - System.Numerics.BitOperations.LeadingZeroCount(uint64 (max 1 (n * 2 - 1))))
    let mutable bits = bitsFor expected
    // Slot: the key, and its id + 1 (0: empty).
    let mutable slotKeys = Array.zeroCreate<int64> (1 <<< bits)
    let mutable slotIds = Array.zeroCreate<int> (1 <<< bits)
    let mutable keys = Array.zeroCreate<int64> (max 4 expected)
    let mutable count = 0
    let slotOf (key: int64) = int ((uint64 key * 0x9E3779B97F4A7C15UL) >>> (64 - bits))
    let grow () =
        bits <- bits + 1
        slotKeys <- Array.zeroCreate (1 <<< bits)
        slotIds <- Array.zeroCreate (1 <<< bits)
        let last = slotIds.Length - 1
        for id in 0 .. count - 1 do
            let mutable s = slotOf keys.[id]
            while slotIds.[s] <> 0 do s <- (s + 1) &&& last
            slotKeys.[s] <- keys.[id]
            slotIds.[s] <- id + 1
    /// Distinct keys so far.
    member _.Count = count
    /// The distinct keys in order of first appearance (the first `Count` entries).
    member _.Keys = keys
    /// The id of `key`, handed out when new.
    member _.IdOf(key: int64) : int =
        let last = slotIds.Length - 1
        let mutable s = slotOf key
        let mutable result = -1
        while result < 0 do
            let id = slotIds.[s] - 1
            if id < 0 then
                if count = keys.Length then keys <- Array.append keys (Array.zeroCreate keys.Length)
                keys.[count] <- key
                slotKeys.[s] <- key
                slotIds.[s] <- count + 1
                result <- count
                count <- count + 1
            elif slotKeys.[s] = key then result <- id
            else s <- (s + 1) &&& last
        if count * 2 > slotIds.Length then grow ()
        result

/// `LongIndex` over keys of `width` longs (a composite group key holding raw numbers), stored
/// flat in first-appearance order: key i is `Keys.[i * width .. i * width + width - 1]`.
[<Sealed>]
type LongTupleIndex(width: int, expected: int) =
    let bitsFor (n: int) = max 4 (64 - System.Numerics.BitOperations.LeadingZeroCount(uint64 (max 1 (n * 2 - 1))))
    let mutable bits = bitsFor expected
    // Slot: id + 1 (0: empty) and the key's hash, compared before the key itself.
    let mutable slotIds = Array.zeroCreate<int> (1 <<< bits)
    let mutable slotHashes = Array.zeroCreate<uint64> (1 <<< bits)
    let mutable keys = Array.zeroCreate<int64> (width * max 4 expected)
    let mutable count = 0
    let hashOf (key: int64[]) =
        let mutable h = 0x2545F4914F6CDD1DUL
        for k in key do h <- (h ^^^ uint64 k) * 0x9E3779B97F4A7C15UL
        h ^^^ (h >>> 29)
    let slotOf (hash: uint64) = int (hash >>> (64 - bits))
    // The slots move with the hashes they hold (no key is read or hashed again).
    let growTo (newBits: int) =
        let oldIds = slotIds
        let oldHashes = slotHashes
        bits <- newBits
        slotIds <- Array.zeroCreate (1 <<< bits)
        slotHashes <- Array.zeroCreate (1 <<< bits)
        let last = slotIds.Length - 1
        for o in 0 .. oldIds.Length - 1 do
            let id = oldIds.[o]
            if id <> 0 then
                let hash = oldHashes.[o]
                let mutable s = slotOf hash
                while slotIds.[s] <> 0 do s <- (s + 1) &&& last
                slotIds.[s] <- id
                slotHashes.[s] <- hash
    let sameKey (id: int) (key: int64[]) =
        let mutable same = true
        let mutable i = 0
        let start = id * width
        while same && i < width do
            same <- keys.[start + i] = key.[i]
            i <- i + 1
        same
    member _.Count = count
    member _.Width = width
    /// The distinct keys in order of first appearance, flat (the first `Count * Width` entries).
    member _.Keys = keys
    /// The id of `key` (its first `Width` longs), handed out when new.
    member _.IdOf(key: int64[]) : int =
        let hash = hashOf key
        let last = slotIds.Length - 1
        let mutable s = slotOf hash
        let mutable result = -1
        while result < 0 do
            let id = slotIds.[s] - 1
            if id < 0 then
                if (count + 1) * width > keys.Length then keys <- Array.append keys (Array.zeroCreate keys.Length)
                Array.blit key 0 keys (count * width) width
                slotIds.[s] <- count + 1
                slotHashes.[s] <- hash
                result <- count
                count <- count + 1
            elif slotHashes.[s] = hash && sameKey id key then result <- id
            else s <- (s + 1) &&& last
        if count * 2 > slotIds.Length then growTo (bits + 1)
        result
    /// Makes room for `n` keys at once (rather than doubling step by step).
    member _.Reserve(n: int) =
        let wanted = bitsFor n
        if wanted > bits then growTo wanted
        if n * width > keys.Length then
            let larger = Array.zeroCreate<int64> (n * width)
            Array.blit keys 0 larger 0 (count * width)
            keys <- larger
    /// Empties the index for new keys, keeping its memory (at least room for `expected`).
    member this.Reset(expected: int) =
        Array.Clear slotIds
        count <- 0
        this.Reserve expected

/// The per-segment `LongTupleIndex`es of one query, each handed on to a later segment once its
/// own segment's groups are copied out: memory the query has touched is reused instead of
/// fresh memory, whose first touch (a page fault per 4 KB) costs as much as the grouping of
/// nearly distinct keys itself (bench/README.md).
[<Sealed>]
type LongTupleIndexes() =
    let free = System.Collections.Concurrent.ConcurrentBag<LongTupleIndex>()
    /// An empty index of `width`-long keys, sized for `expected`.
    member _.Take(width: int, expected: int) : LongTupleIndex =
        match free.TryTake() with
        | true, index when index.Width = width ->
            index.Reset expected
            index
        | _ -> LongTupleIndex(width, expected)
    /// Hands an index no longer read on to a later `Take`.
    member _.Give(index: LongTupleIndex) = free.Add index

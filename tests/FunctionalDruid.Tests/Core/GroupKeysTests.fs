/// Group key columns agree with the key values they hold, and merging partials whose key
/// columns differ in kind groups exactly as grouping the values themselves.
module FunctionalDruid.Tests.Core.GroupKeysTests

open System
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Core.GroupKeys

type private Kind =
    | Longs
    | Doubles
    | Texts

let private valueOfKind (rnd: Random) (kind: Kind) =
    if rnd.Next 5 = 0 then Value.Null
    else
        match kind with
        | Longs -> Value.Long(int64 (rnd.Next 7) - 3L)
        | Doubles -> Value.Double([| -0.5; 0.0; 1.25; 3.0; 1e300 |].[rnd.Next 5])
        | Texts -> Value.String([| ""; "a"; "b"; "é"; "ab"; "\u0001" |].[rnd.Next 6])

/// A column of the kind's own type, or the general one.
let private columnOf (general: bool) (kind: Kind) (values: Value[]) : KeyColumn =
    let nulls = values |> Array.map (fun v -> v = Value.Null)
    if general then ValueKeys(Array.copy values)
    else
        match kind with
        | Longs -> longKeys (values |> Array.map (function Value.Long l -> l | _ -> 0L)) nulls values.Length
        | Doubles -> doubleKeys (values |> Array.map (function Value.Double d -> d | _ -> 0.0)) nulls values.Length
        | Texts -> TextKeys(values |> Array.map (function Value.String s -> s | _ -> null))

let private kinds = [| Longs; Doubles; Texts |]

let private columnsAgreeWithValues (seed: int) =
    let rnd = Random(seed)
    let kind = kinds.[rnd.Next 3]
    let values = Array.init (rnd.Next(1, 12)) (fun _ -> valueOfKind rnd kind)
    let typed = columnOf false kind values
    let general = columnOf true kind values
    for i in 0 .. values.Length - 1 do
        if typed.ValueAt i <> values.[i] then failwithf "value %d: %A, not %A" i (typed.ValueAt i) values.[i]
        if typed.HashAt i <> KeyValue.hash values.[i] then failwithf "hash of %A" values.[i]
        for j in 0 .. values.Length - 1 do
            let equal = KeyValue.equal values.[i] values.[j]
            if typed.EqualsAt(i, typed, j) <> equal || typed.EqualsAt(i, general, j) <> equal || general.EqualsAt(j, typed, i) <> equal then
                failwithf "equality of %A and %A" values.[i] values.[j]
            if sign (typed.CompareAt(i, j)) <> sign (KeyValue.compare values.[i] values.[j]) then
                failwithf "order of %A and %A" values.[i] values.[j]
    // Hashes mixed column by column are the per-value hashes mixed.
    let hashes = hashesOf (GroupBuckets.AllIn 0L) [| typed |] values.Length
    hashes |> Array.forall2 (fun (v: Value) h -> h = 0L.GetHashCode() * 31 + KeyValue.hash v) values

let private plan (dimensions: int) : GroupingEngine.Plan =
    { Granularity = Time.Granularity.All
      Dimensions = Array.init dimensions (fun d -> Query.DimensionSpec.Default(sprintf "d%d" d, sprintf "d%d" d, ColumnType.String))
      Aggregations = [| AggregatorSpec.Count "rows" |]
      Filter = None
      VirtualColumns = []
      Intervals = []
      ZeroFill = false
      Tables = GroupKeys.LongTupleIndexes() }

/// A partial of the given groups (bucket, key values) with a row count each; every column is
/// typed unless `general` says otherwise for it. Groups all in one bucket share it when
/// `share` (as a segment's groups of granularity `all` do); otherwise each has its own.
let private partialOf (share: bool) (kindsOfDims: Kind[]) (general: bool[]) (groups: (int64 * Value[] * int)[]) : GroupingEngine.Partial =
    let n = groups.Length
    let starts = groups |> Array.map (fun (b, _, _) -> b)
    let buckets =
        match Array.distinct starts with
        | [| start |] when share -> GroupBuckets.AllIn start
        | [||] when share -> GroupBuckets.AllIn 0L
        | _ -> GroupBuckets.PerGroup starts
    let columns = kindsOfDims |> Array.mapi (fun d kind -> columnOf general.[d] kind (groups |> Array.map (fun (_, vs, _) -> vs.[d])))
    let count = GroupAggregators.create None (AggregatorSpec.Count "rows")
    count.EnsureGroups n
    let rows = [| for g in 0 .. n - 1 do let (_, _, c) = groups.[g] in for _ in 1 .. c -> g |]
    count.AddRows(Array.zeroCreate rows.Length, rows, rows.Length)
    { Count = n; Buckets = buckets; KeyColumns = columns; Hashes = hashesOf buckets columns n
      Aggregators = [| count |]; CoveredBuckets = [||]; FirstTime = Int64.MaxValue }

/// Up to `most` groups (bucket, key values, rows) of a partial, all in bucket 0 when
/// `oneBucket`; merging does not rely on a partial's keys being distinct (a segment run's
/// are), so a third repeat keys.
let private groupsOfPartial (rnd: Random) (kindsOfDims: Kind[]) (most: int) (oneBucket: bool) =
    let repeats = rnd.Next 3 = 0
    Array.init (rnd.Next(0, most)) (fun _ -> (if oneBucket then 0L else int64 (rnd.Next 2)), Array.map (valueOfKind rnd) kindsOfDims)
    |> (if repeats then id else Array.distinctBy (fun (b, vs) -> b, vs))
    |> Array.map (fun (b, vs) -> b, vs, rnd.Next(1, 4))

let private mergingEqualsGroupingValues (seed: int) =
    let rnd = Random(seed)
    let dims = rnd.Next(0, 3)
    let kindsOfDims = Array.init dims (fun _ -> kinds.[rnd.Next 3])
    let oneBucket = rnd.Next 2 = 0
    let partials = List.init (rnd.Next(1, 5)) (fun _ -> groupsOfPartial rnd kindsOfDims 15 oneBucket, Array.init dims (fun _ -> rnd.Next 3 = 0))
    let merged = GroupMerging.merge (plan dims) [ for groups, general in partials -> partialOf (rnd.Next 2 = 0) kindsOfDims general groups ]
    let actual =
        [ for g in 0 .. merged.Count - 1 -> (merged.Buckets.[g], merged.KeyValues g), merged.Aggregators.[0].Raw g ]
    // Groups in order of first appearance, with the rows of every partial's equal group.
    let expected =
        [ for groups, _ in partials do yield! groups ]
        |> List.groupBy (fun (b, vs, _) -> b, vs)
        |> List.map (fun (key, members) -> key, Value.Long(members |> List.sumBy (fun (_, _, c) -> int64 c)))
    if actual <> expected then failwithf "merged %A, expected %A" actual expected
    true

/// Merging by hash partition (partitions taken in any order, each partition's partials in
/// order) gives the groups, states and hashes of one merger, in another group order.
let private partitionedMergingEqualsMerging (seed: int) =
    let rnd = Random(seed)
    let dims = rnd.Next(0, 3)
    let kindsOfDims = Array.init dims (fun _ -> kinds.[rnd.Next 3])
    let oneBucket = rnd.Next 2 = 0
    let specs =
        List.init (rnd.Next(1, 6)) (fun _ ->
            rnd.Next 2 = 0, Array.init dims (fun _ -> rnd.Next 3 = 0), groupsOfPartial rnd kindsOfDims 40 oneBucket)
    let partials = [ for share, general, groups in specs -> partialOf share kindsOfDims general groups ]
    let bits = rnd.Next 4
    let partitioned = GroupMerging.PartitionedMerger(plan dims, bits)
    let split = partials |> List.map (GroupMerging.partitionGroups (plan dims) bits)
    for q in Array.init partitioned.Partitions id |> Array.sortBy (fun _ -> rnd.Next()) do
        // Room reserved or not, too little or too much, changes nothing.
        if rnd.Next 2 = 0 then partitioned.Reserve(q, rnd.Next 50)
        for p in split do partitioned.Add(q, p)
    let result = partitioned.Result()
    let single = GroupMerging.merge (plan dims) partials
    let groupsOf (m: GroupingEngine.Partial) =
        [ for g in 0 .. m.Count - 1 -> (m.Buckets.[g], m.KeyValues g), (m.Aggregators.[0].Raw g, m.Hashes.[g]) ]
    let actual, expected = groupsOf result, groupsOf single
    if List.sort actual <> List.sort expected then failwithf "partitioned %A, single %A" actual expected
    // Each hash is its group's own; every partition's groups come together.
    let rehashed = hashesOf result.Buckets result.KeyColumns result.Count
    Array.sub rehashed 0 result.Count = Array.sub result.Hashes 0 result.Count

/// Reserving room at any moment hands out the same ids as growing step by step.
let private reservingKeepsIds (seed: int) =
    let rnd = Random(seed)
    let width = rnd.Next(1, 4)
    let keys = Array.init (rnd.Next 2000) (fun _ -> Array.init width (fun _ -> int64 (rnd.Next 30)))
    let plain = LongTupleIndex(width, 1 + rnd.Next 20)
    let reserving = LongTupleIndex(width, 1 + rnd.Next 20)
    let reserveAt = rnd.Next(keys.Length + 1)
    let ids =
        keys |> Array.mapi (fun i k ->
            if i = reserveAt then reserving.Reserve(rnd.Next 5000)
            let a, b = plain.IdOf k, reserving.IdOf k
            if a <> b then failwithf "key %d: %d, not %d" i b a
            a)
    ids.Length = keys.Length && plain.Count = reserving.Count
    && Array.sub plain.Keys 0 (plain.Count * width) = Array.sub reserving.Keys 0 (reserving.Count * width)

let private longIndexNumbersFirstAppearances (seed: int) =
    let rnd = Random(seed)
    let pool = [| 0L; 1L; -1L; Int64.MinValue; Int64.MaxValue; 1L <<< 40 |]
    let spread = [| 1; 10; 1000; 100000 |].[rnd.Next 4]
    let keys = Array.init (rnd.Next 3000) (fun _ -> if rnd.Next 4 = 0 then pool.[rnd.Next pool.Length] else int64 (rnd.Next spread) * 7919L)
    let index = LongIndex(rnd.Next 40)
    let ids = keys |> Array.map index.IdOf
    let distinct = Array.distinct keys
    let expected = keys |> Array.map (fun k -> Array.IndexOf(distinct, k))
    ids = expected && index.Count = distinct.Length && Array.sub index.Keys 0 index.Count = distinct

[<Tests>]
let tests =
    testList "core/group-keys" [
        testProperty "a long index numbers keys by first appearance" longIndexNumbersFirstAppearances
        testProperty "typed key columns agree with their values' equality, hash and order" columnsAgreeWithValues
        testProperty "merging partials with typed and general columns groups as the values do" mergingEqualsGroupingValues
        testProperty "merging by hash partition equals merging at once" partitionedMergingEqualsMerging
        test "text hashes spread texts that differ in a few characters over all bits" {
            // Merge tables take a hash's high bits, partitions another product of it: 65,536
            // URLs differing only in a number, or short texts of a few characters, should
            // fill about 1 - 1/e of 65,536 values of either half, as random values would (41,427).
            let spread (texts: string[]) (bitsOf: int -> int) =
                texts |> Array.map (KeyValue.hashOfText >> bitsOf) |> Array.distinct |> Array.length
            let urls = Array.init 65536 (fun i -> sprintf "http://site.example/catalog/item?id=%d&ref=search" i)
            let short = Array.init 65536 (fun i -> System.String([| for c in 0 .. i % 3 -> char (32 + (i >>> (5 * c)) % 90) |]) + string (i / 3))
            for name, texts in [ "urls", urls; "short", short ] do
                let high = spread texts (fun h -> int (uint32 h >>> 16))
                let low = spread texts (fun h -> h &&& 0xFFFF)
                Expect.isGreaterThan high 40_500 (sprintf "%s: distinct high halves" name)
                Expect.isGreaterThan low 40_500 (sprintf "%s: distinct low halves" name)
            Expect.equal (KeyValue.hashOfText null) 0 "null"
            Expect.notEqual (KeyValue.hashOfText "") (KeyValue.hashOfText "\000") "empty and one NUL differ by length"
        }
        testProperty "reserving room in a long tuple index keeps its ids" reservingKeepsIds
        test "a column of one kind turns general when a partial brings another kind" {
            let longs = partialOf true [| Longs |] [| false |] [| 0L, [| Value.Long 1L |], 2; 0L, [| Value.Null |], 1 |]
            let general = partialOf false [| Longs |] [| true |] [| 0L, [| Value.Long 1L |], 1; 0L, [| Value.String "1" |], 5 |]
            let merged = GroupMerging.merge (plan 1) [ longs; general; longs ]
            let groups = [ for g in 0 .. merged.Count - 1 -> merged.KeyValues g, merged.Aggregators.[0].Raw g ]
            Expect.equal groups
                [ [| Value.Long 1L |], Value.Long 5L
                  [| Value.Null |], Value.Long 2L
                  [| Value.String "1" |], Value.Long 5L ] "a long 1 and a string \"1\" are different keys"
        }
    ]

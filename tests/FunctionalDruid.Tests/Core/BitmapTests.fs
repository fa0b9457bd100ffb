module FunctionalDruid.Tests.Core.BitmapTests

open System
open System.Collections.Generic
open Expecto
open FunctionalDruid.Core.Bitmap

/// Row sets that exercise every container shape: sparse arrays, dense bitsets, runs, and
/// counts right at the array/bitset threshold, over a few 65536-row chunks.
let randomRows (rng: Random) : int[] =
    let rows = HashSet<int>()
    for _ in 1 .. rng.Next(0, 4) do
        let chunkStart = rng.Next(0, 5) * 65536
        match rng.Next 4 with
        | 0 ->
            for _ in 1 .. rng.Next(1, 200) do
                rows.Add(chunkStart + rng.Next 65536) |> ignore
        | 1 ->
            let p = rng.NextDouble()
            for i in 0 .. 65535 do
                if rng.NextDouble() < p then rows.Add(chunkStart + i) |> ignore
        | 2 ->
            let start = rng.Next 65536
            for i in start .. min 65535 (start + rng.Next 20000) do
                rows.Add(chunkStart + i) |> ignore
        | _ ->
            // About ArrayMaxCardinality rows, one per 16-row slot.
            for i in 0 .. ArrayMaxCardinality + rng.Next(-2, 3) - 1 do
                rows.Add(chunkStart + i * 16 + rng.Next 16) |> ignore
    let result = Seq.toArray rows
    Array.sortInPlace result
    result

let private sorted (s: HashSet<int>) =
    let a = Seq.toArray s
    Array.sortInPlace a
    a

let private config = { FsCheckConfig.defaultConfig with maxTest = 60 }

[<Tests>]
let tests =
    testList "Bitmap" [
        test "small bitmap basics" {
            let b = ofSortedRows [| 1; 5; 70000; 200000 |]
            Expect.equal (toRows b) [| 1; 5; 70000; 200000 |] "rows"
            Expect.equal (cardinality b) 4 "cardinality"
            Expect.isTrue (contains 70000 b) "contains"
            Expect.isFalse (contains 70001 b) "absent"
            Expect.isFalse (contains -1 b) "negative"
            Expect.equal b.MaxRow 200000 "max row"
            Expect.equal (toRows empty) [||] "empty"
            Expect.equal empty.MaxRow -1 "empty max row"
        }
        test "unsorted input with duplicates" {
            Expect.equal (toRows (ofRows [| 9; 3; 9; 100000; 3 |])) [| 3; 9; 100000 |] "sorted and distinct"
        }
        test "dense chunk becomes a bitset and survives serialization" {
            let rows = Array.init 30000 (fun i -> i * 2)
            let b = ofSortedRows rows
            Expect.isLessThan (serialize b).Length 9000 "bitset-sized, not array-sized"
            let back = deserialize (ReadOnlyMemory(serialize b))
            Expect.equal (back |> Result.map toRows) (Ok rows) "round trip"
        }
        test "very sparse bitmaps are stored as a row list" {
            let rows = Array.init 30 (fun i -> i * 70000)
            let bytes = serialize (ofSortedRows rows)
            Expect.equal bytes.Length (4 + 4 * 30) "row-list size"
            Expect.equal (BitConverter.ToInt32(bytes, 0)) -30 "negated count"
            Expect.equal (deserialize (ReadOnlyMemory bytes) |> Result.map toRows) (Ok rows) "round trip"
            let swapped = Array.copy bytes
            swapped[8] <- 0uy
            swapped[9] <- 0uy
            swapped[10] <- 0uy
            Expect.isError (deserialize (ReadOnlyMemory swapped)) "rows out of order"
            Expect.isError (deserialize (ReadOnlyMemory(bytes, 0, bytes.Length - 1))) "truncated"
        }
        test "complement and ranges" {
            Expect.equal (toRows (complement 10 (ofSortedRows [| 0; 3; 9; 12 |]))) [| 1; 2; 4; 5; 6; 7; 8 |] "within row count"
            Expect.equal (cardinality (complement 200000 empty)) 200000 "all rows"
            Expect.equal (toRows (complement 0 (ofSortedRows [| 1 |]))) [||] "no rows"
            Expect.equal (toRows (ofRange 65530 65540)) [| 65530 .. 65539 |] "range across chunks"
            Expect.equal (cardinality (ofRange 5 140000)) 139995 "big range"
        }
        test "corrupt serialized bitmaps are errors" {
            let good = serialize (ofSortedRows (Array.append [| 0 .. 99 |] [| 100000 |]))
            Expect.isError (deserialize (ReadOnlyMemory [||])) "empty"
            Expect.isError (deserialize (ReadOnlyMemory(good[.. good.Length - 2]))) "truncated"
            let badCount = Array.copy good
            badCount[0] <- 200uy
            Expect.isError (deserialize (ReadOnlyMemory badCount)) "count"
            let badKind = Array.copy good
            badKind[6] <- 7uy
            Expect.isError (deserialize (ReadOnlyMemory badKind)) "kind"
            let dense = serialize (ofSortedRows (Array.init 5000 id))
            dense[dense.Length - 100] <- 0xFFuy
            Expect.isError (deserialize (ReadOnlyMemory dense)) "bitset cardinality mismatch"
        }
        testPropertyWithConfig config "random bytes never throw on deserialize" <| fun (bytes: byte[]) (count: byte) ->
            let header = if count > 200uy then BitConverter.GetBytes(-(int count % 8)) else [| count % 4uy; 0uy; 0uy; 0uy |]
            let withCount = Array.append header bytes
            match deserialize (ReadOnlyMemory withCount) with
            | Ok b -> b.ToRows().Length = b.Cardinality
            | Error _ -> true
        testPropertyWithConfig config "set operations agree with HashSet" <| fun (seed: int) ->
            let rng = Random seed
            let a, b = randomRows rng, randomRows rng
            let ba, bb = ofSortedRows a, ofSortedRows b
            let sa () = HashSet<int>(a)
            let inter = sa ()
            inter.IntersectWith b
            let uni = sa ()
            uni.UnionWith b
            let diff = sa ()
            diff.ExceptWith b
            let rowCount = rng.Next(0, 5 * 65536 + 10)
            let notA = HashSet<int>(seq { 0 .. rowCount - 1 })
            notA.ExceptWith a
            Expect.equal (toRows ba) a "toRows"
            Expect.equal (cardinality ba) a.Length "cardinality"
            Expect.equal (toRows (intersect ba bb)) (sorted inter) "and"
            Expect.equal (toRows (union ba bb)) (sorted uni) "or"
            Expect.equal (toRows (andNot ba bb)) (sorted diff) "andNot"
            Expect.equal (toRows (complement rowCount ba)) (sorted notA) "not"
            Expect.equal (toRows (unionMany [ ba; bb; ofSortedRows [| 7 |] ])) (sorted (HashSet(Seq.append uni [ 7 ]))) "unionMany"
            let probe = rng.Next(0, 5 * 65536)
            Expect.equal (contains probe ba) (Array.contains probe a) "contains"
            for r in Array.truncate 50 a do
                Expect.isTrue (contains r ba) "contains member"
            let seen = ResizeArray<int>()
            iter seen.Add ba
            Expect.equal (seen.ToArray()) a "iterate"
            Expect.equal ba.MaxRow (if a.Length = 0 then -1 else a[a.Length - 1]) "max row"
            // serialize from a Bitmap and straight from rows give the same bytes
            let bytes = serialize ba
            let direct = Array.zeroCreate<byte> (serializedSizeOfSortedRows (ReadOnlySpan a))
            writeSortedRows (ReadOnlySpan a) (Span direct) |> ignore
            Expect.equal bytes direct "direct serialization"
            let shifted = Array.append (Array.zeroCreate 3) bytes
            match deserialize (ReadOnlyMemory(shifted, 3, bytes.Length)) with
            | Ok back -> Expect.equal (toRows back) a "deserialized at an unaligned offset"
            | Error e -> failtest e
            Expect.equal (union ba bb) (union bb ba) "equality is by rows"
        testPropertyWithConfig config "RowSet agrees with HashSet" <| fun (seed: int) ->
            let rng = Random seed
            let rowCount = rng.Next(0, 5 * 65536 + 100)
            let clip (rows: int[]) = rows |> Array.filter (fun r -> r < rowCount)
            let a, b = clip (randomRows rng), clip (randomRows rng)
            let set = RowSet.FromBitmap(ofSortedRows a, rowCount)
            Expect.equal (set.ToRows()) a "fromBitmap"
            Expect.equal (set.Count()) a.Length "count"
            Expect.equal (toRows (set.ToBitmap())) a "toBitmap"
            let other = RowSet.FromBitmap(ofSortedRows b, rowCount)
            let check (name: string) (f: RowSet -> unit) (oracle: HashSet<int> -> unit) =
                let s = set.Copy()
                f s
                let h = HashSet<int>(a)
                oracle h
                Expect.equal (s.ToRows()) (sorted h) name
            check "and" (fun s -> s.IntersectWith other) (fun h -> h.IntersectWith b)
            check "or" (fun s -> s.UnionWith other) (fun h -> h.UnionWith b)
            check "andNot" (fun s -> s.ExceptWith other) (fun h -> h.ExceptWith b)
            check "and bitmap" (fun s -> s.IntersectWith(ofSortedRows b)) (fun h -> h.IntersectWith b)
            check "or bitmap" (fun s -> s.UnionWith(ofSortedRows b)) (fun h -> h.UnionWith b)
            check "andNot bitmap" (fun s -> s.ExceptWith(ofSortedRows b)) (fun h -> h.ExceptWith b)
            check "not" (fun s -> s.Invert()) (fun h ->
                let all = HashSet<int>(seq { 0 .. rowCount - 1 })
                all.ExceptWith a
                h.Clear()
                h.UnionWith all)
            let lo, hi = rng.Next(-5, rowCount + 5), rng.Next(-5, rowCount + 5)
            check "addRange" (fun s -> s.AddRange(lo, hi)) (fun h -> h.UnionWith(seq { max 0 lo .. min rowCount hi - 1 }))
            let seen = ResizeArray<int>()
            set.ForEach seen.Add
            Expect.equal (seen.ToArray()) a "forEach"
            let full = RowSet.Full rowCount
            Expect.equal (full.Count()) rowCount "full"
            if rowCount > 0 then
                let p = rng.Next rowCount
                Expect.equal (set.Contains p) (Array.contains p a) "contains"
        test "RowSet operations need equal sizes" {
            Expect.throwsT<ArgumentException> (fun () -> RowSet(10).IntersectWith(RowSet(11))) "sizes differ"
        }
        test "RowSet bitmap operations ignore rows past the row count" {
            let s = RowSet(70)
            s.UnionWith(ofSortedRows [| 3; 69; 70; 100; 70000 |])
            Expect.equal (s.ToRows()) [| 3; 69 |] "clipped"
            Expect.equal (s.Count()) 2 "count"
        }
    ]

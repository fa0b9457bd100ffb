module FunctionalDruid.Tests.Host.QueryGarbageTests

open Expecto
open FunctionalDruid.Host.Querying

let private mb (n: int64) = n <<< 20

[<Tests>]
let tests =
    testList "Host/query-garbage" [
        test "which generation a query's end collects" {
            let decide kept oldNow gen1 = QueryGarbage.GenerationToCollect(Option.toNullable kept, oldNow, gen1)
            // Little garbage anywhere: nothing.
            Expect.equal (decide (Some(mb 2700L)) (mb 2900L) (mb 255L)) -1 "old grew 200 MB, gen 1 255 MB"
            // Gen 1 at the bound: gen 1 only.
            Expect.equal (decide (Some(mb 2700L)) (mb 2900L) (mb 256L)) 1 "gen 1 256 MB"
            // The old generation's growth must reach an eighth of what the last full one kept…
            Expect.equal (decide (Some(mb 2800L)) (mb 3149L) 0L) -1 "grew 349 MB of 2800"
            Expect.equal (decide (Some(mb 2800L)) (mb 3150L) 0L) 2 "grew 350 MB of 2800"
            Expect.equal (decide (Some(mb 2800L)) (mb 3150L) (mb 900L)) 2 "a full collection takes gen 1 too"
            // …and 256 MB on a small heap.
            Expect.equal (decide (Some(mb 100L)) (mb 355L) 0L) -1 "grew 255 MB of 100"
            Expect.equal (decide (Some(mb 100L)) (mb 356L) 0L) 2 "grew 256 MB of 100"
            // Before the first full collection only gen 1 is considered.
            Expect.equal (decide None (mb 5000L) 0L) -1 "no full collection yet"
            Expect.equal (decide None (mb 5000L) (mb 300L)) 1 "no full collection yet, gen 1 300 MB"
        }
    ]

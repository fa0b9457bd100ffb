/// Long equality filters (`CounterID = 62`, `AdvEngineID <> 0`) become row masks a word at a
/// time; the rows where they are true and where they are false must be those of the filter
/// evaluated row by row, null rows included.
module FunctionalDruid.Tests.Core.LongEqualityMaskTests

open System
open Expecto
open FunctionalDruid.Core

let private masksEqualRowByRow (seed: int) =
    let rnd = Random(seed)
    let n = rnd.Next 300
    let values = Array.init n (fun _ -> int64 (rnd.Next(-3, 4)))
    let nulls = if rnd.Next 2 = 0 then None else Some(Array.init n (fun _ -> rnd.Next 4 = 0))
    let isNullAt (r: int) = nulls.IsSome && nulls.Value.[r]
    // Null rows store 0, as segments do.
    let column = ColumnData.Longs(Array.mapi (fun r v -> if isNullAt r then 0L else v) values, nulls)
    let cells = Array.init n (fun r -> if isNullAt r then Value.Null else Value.Long values.[r])
    let equality = Filter.Equality("l", "LONG", Value.Long(int64 (rnd.Next(-4, 5))))
    EngineTestData.masksAgreeWithRows "l" column cells (if rnd.Next 2 = 0 then equality else Filter.Not equality)

[<Tests>]
let tests =
    testList "core/long-equality-masks" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 200 } "long equality masks equal the row-by-row filter" masksEqualRowByRow
    ]

/// A scan whose filter compares a long column with a long finds its rows by a vectorized
/// search; it must return the rows the general row-by-row test returns.
module FunctionalDruid.Tests.Core.ScanLookupTests

open System
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Tests.Core.EngineTestData


let private sameRowsAsRowByRow (seed: int) =
    let rnd = Random(seed)
    let segments =
        [ for s in 0 .. rnd.Next 3 ->
            let interval: Time.Interval = { Start = dayStart + int64 s * 4L * hour; End = dayStart + int64 (s + 1) * 4L * hour }
            rawSegment interval
                [ for _ in 1 .. rnd.Next 300 ->
                    { Time = interval.Start + int64 (rnd.Next 14_400_000)
                      D = [| "a"; "b"; null |].[rnd.Next 3]
                      Tags = [||]
                      // Null rows store 0: looking 0 up must skip them.
                      L = (if rnd.Next 5 = 0 then None else Some(int64 (rnd.Next(-3, 4))))
                      X = None } ] ]
    let k = rnd.Next(-4, 5)
    let intervals = [| "2020-01-01/2020-01-02"; "2020-01-01T02:00:00Z/2020-01-01T09:30:00Z" |].[rnd.Next 2]
    let limit = if rnd.Next 2 = 0 then "" else sprintf ""","limit":%d,"offset":%d""" (1 + rnd.Next 20) (rnd.Next 3)
    let order = [| ""; ",\"order\":\"ascending\""; ",\"order\":\"descending\"" |].[rnd.Next 3]
    let scan (filter: string) =
        sprintf """{"queryType":"scan","dataSource":"t","intervals":"%s","columns":["__time","d","l"],"resultFormat":"compactedList","filter":%s%s%s}"""
            intervals filter limit order
    let equals = sprintf """{"type":"equals","column":"l","matchValueType":"LONG","matchValue":%d}""" k
    let searched = runQuery (scan equals) segments
    // The same filter inside an AND is tested row by row.
    let rowByRow = runQuery (scan (sprintf """{"type":"and","fields":[%s]}""" equals)) segments
    if searched <> rowByRow then failwithf "searched %s\nrow by row %s" searched rowByRow
    true

[<Tests>]
let tests =
    testList "core/scan-long-equality" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 150 } "a long looked up by search gives the rows of the row-by-row test" sameRowsAsRowByRow
    ]

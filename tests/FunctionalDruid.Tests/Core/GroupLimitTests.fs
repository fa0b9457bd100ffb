/// A groupBy LIMIT over many groups picks its rows comparing stored keys and long states
/// directly; the rows must be those of the full ordering, cut by offset and limit.
module FunctionalDruid.Tests.Core.GroupLimitTests

open System
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Tests.Core.EngineTestData


/// The result rows of a groupBy with the given limit spec.
let private rowsOf (segments: SegmentContent list) (granularity: string) (context: string) (limitSpec: string) =
    let query =
        sprintf """{"queryType":"groupBy","dataSource":"t","intervals":"2020-01-01/2020-01-02","granularity":"%s",
                   "dimensions":["d",{"type":"default","dimension":"l","outputName":"ld","outputType":"LONG"}],
                   "aggregations":[{"type":"count","name":"n"},{"type":"longSum","name":"ls","fieldName":"l"},
                                   {"type":"longMax","name":"lm","fieldName":"l"},{"type":"doubleSum","name":"xs","fieldName":"x"}],
                   "limitSpec":%s%s}"""
            granularity limitSpec context
    use result = Text.Json.JsonDocument.Parse(runQuery query segments)
    [ for row in result.RootElement.EnumerateArray() -> row.GetRawText() ]

/// `manyGroups`: thousands of groups, so that each hash partition of the merge holds more than
/// the limit and keeps only its first groups.
let private limitedEqualsFullOrderCutWith (manyGroups: bool) (seed: int) =
    let rnd = Random(seed)
    let rowCount () = if manyGroups then rnd.Next(500, 2_000) else rnd.Next(50, 300)
    let lRange = if manyGroups then 100_000 else 80
    let segments =
        [ for s in 0 .. rnd.Next 3 ->
            let interval: Time.Interval = { Start = dayStart + int64 s * 2L * hour; End = dayStart + int64 (s + 1) * 2L * hour }
            rawSegment interval
                [ for _ in 1 .. rowCount () ->
                    { Time = interval.Start + int64 (rnd.Next 7_200_000)
                      D = [| "a"; "b"; null; "é" |].[rnd.Next 4]
                      Tags = [||]
                      L = (if rnd.Next 6 = 0 then None else Some(int64 (rnd.Next(-20, lRange - 20))))
                      X = (if rnd.Next 4 = 0 then None else Some(float (rnd.Next 8) / 4.0)) } ] ]
    let columns =
        [ "n"; "ls"; "lm"; "xs"; "d"; "ld" ]
        |> List.filter (fun _ -> rnd.Next 2 = 0)
        |> List.sortBy (fun _ -> rnd.Next())
        |> List.map (fun c -> sprintf """{"dimension":"%s","direction":"%s"}""" c (if rnd.Next 2 = 0 then "ascending" else "descending"))
    let columns = if columns.IsEmpty then [ """{"dimension":"n","direction":"descending"}""" ] else columns
    let granularity = if rnd.Next 3 = 0 then "hour" else "all"
    let context = if rnd.Next 3 = 0 then ""","context":{"sortByDimsFirst":true}""" else ""
    let offset, limit = (if manyGroups then rnd.Next 30 else rnd.Next 4), rnd.Next(1, 6)
    let spec (offset: int) (limit: int) =
        sprintf """{"type":"default","columns":[%s],"offset":%d,"limit":%d}""" (String.Join(",", columns)) offset limit
    let limited = rowsOf segments granularity context (spec offset limit)
    let full = rowsOf segments granularity context (spec 0 1_000_000)
    let expected = full |> List.skip (min offset full.Length) |> List.truncate limit
    if limited <> expected then failwithf "limited %A, expected %A (columns %A)" limited expected columns
    true

[<Tests>]
let tests =
    testList "core/group-limit" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 150 } "a limit over many groups keeps the rows of the full order" (limitedEqualsFullOrderCutWith false)
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 40 } "a limit over thousands of groups keeps the rows of the full order (each merge partition cut to its first groups)" (limitedEqualsFullOrderCutWith true)
    ]

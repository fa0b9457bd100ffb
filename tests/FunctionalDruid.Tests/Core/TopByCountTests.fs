/// The first k groups by a count, merged from only the groups that can reach them
/// (`Engine.mergedTopByCount`), answer as merging every group does.
module FunctionalDruid.Tests.Core.TopByCountTests

open System
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Tests.Core.EngineTestData

let private span = twoDays

let private parse (text: string) =
    match QueryParseSurface.parseText text with
    | Ok q -> q
    | Error(path, problem) -> failwithf "%s: %s in %s" path problem text

/// Keys drawn from a skewed distribution (a few frequent, many rare), as URLs and users are.
let private skewedRows (rnd: Random) (n: int) =
    [ for _ in 1 .. n ->
        let rank = int (Math.Floor(Math.Pow(40.0, rnd.NextDouble()))) - 1
        { Time = dayStart + int64 (rnd.Next 48) * hour
          D = (if rnd.Next 30 = 0 then null else sprintf "k%02d" rank)
          Tags = [||]
          L = (if rnd.Next 6 = 0 then None else Some(int64 (rnd.Next(0, 4))))
          X = None } ]

let private slicesOf (rnd: Random) (rows: RawRow list) = randomSlices rnd 6 span rows

let private genQuery (rnd: Random) =
    let aggregations =
        """{"type":"count","name":"c"},{"type":"longSum","name":"s","fieldName":"l"},"""
        + """{"type":"filtered","filter":{"type":"selector","dimension":"l","value":"1"},"aggregator":{"type":"count","name":"fc"}}"""
    let metric = if rnd.Next 3 = 0 then "fc" else "c"
    if rnd.Next 2 = 0 then
        sprintf """{"queryType":"topN","dataSource":"t","intervals":"%s","granularity":"all","dimension":"d","metric":"%s","threshold":%d,"aggregations":[%s]}"""
            (Time.formatInterval span) metric (1 + rnd.Next 5) aggregations
    else
        let dimensions =
            if rnd.Next 2 = 0 then """{"type":"default","dimension":"d","outputName":"d0"}"""
            else """{"type":"default","dimension":"d","outputName":"d0"},{"type":"default","dimension":"l","outputName":"l0","outputType":"LONG"}"""
        let second = if rnd.Next 2 = 0 then "" else """,{"dimension":"d0","direction":"descending"}"""
        sprintf """{"queryType":"groupBy","dataSource":"t","intervals":"%s","granularity":"all","dimensions":[%s],"aggregations":[%s],"limitSpec":{"type":"default","limit":%d,"offset":%d,"columns":[{"dimension":"%s","direction":"descending","dimensionOrder":"numeric"}%s]}}"""
            (Time.formatInterval span) dimensions aggregations (1 + rnd.Next 5) (rnd.Next 4) metric second

/// The answer with every group merged (no shortcut), and whether the shortcut would merge
/// only some of them.
let private answers (q: Query.NativeQuery) (slices: Engine.SegmentSlice list) =
    let plan = (QueryResults.plan q).Value
    let whole = QueryResults.finish q plan (Engine.mergedGroupsKeeping Int64.MaxValue (fun _ -> None) QuerySlices.sequential plan slices)
    let countAgg, k = (QueryResults.countOrderedTop q).Value
    let partials = [| for s in slices -> GroupingEngine.runSegment plan s.Content s.Serves |]
    Json.Out.toText false whole, (Engine.mergedTopByCount plan countAgg k partials).IsSome

let private shortcutAnswersAsWholeMerge (seed: int) =
    let rnd = Random(seed)
    let slices = slicesOf rnd (skewedRows rnd (rnd.Next(0, 400)))
    let text = genQuery rnd
    let q = parse text
    let whole, _ = answers q slices
    let actual = Engine.run q slices |> Json.Out.toText false
    if actual <> whole then failwithf "%s\nshortcut %s\nwhole    %s" text actual whole
    true

[<Tests>]
let tests =
    testList "core/top-by-count" [
        testProperty "the first k by a count answer as merging every group" shortcutAnswersAsWholeMerge
        test "skewed keys merge only the groups that can reach the first k; near-unique keys all" {
            let rnd = Random(7)
            let q = parse (sprintf """{"queryType":"topN","dataSource":"t","intervals":"%s","granularity":"all","dimension":"d","metric":"c","threshold":2,"aggregations":[{"type":"count","name":"c"}]}""" (Time.formatInterval span))
            let skewed = slicesOf rnd (skewedRows rnd 3000)
            let whole, shortcut = answers q skewed
            Expect.isTrue shortcut "skewed: a shortcut"
            Expect.equal (Engine.run q skewed |> Json.Out.toText false) whole "skewed: the same answer"
            let unique =
                [ for i in 0 .. 999 -> { Time = dayStart + int64 (i % 48) * hour; D = sprintf "u%04d" i; Tags = [||]; L = None; X = None } ]
                |> slicesOf rnd
            let _, shortcut = answers q unique
            Expect.isFalse shortcut "every key once: no shortcut"
            Expect.equal (QueryResults.countOrderedTop q) (Some(0, 2)) "topN by the count: aggregator 0, k 2"
            let byOffset = parse (sprintf """{"queryType":"groupBy","dataSource":"t","intervals":"%s","granularity":"all","dimensions":["d"],"aggregations":[{"type":"longSum","name":"s","fieldName":"l"},{"type":"count","name":"c"}],"limitSpec":{"type":"default","limit":3,"offset":5,"columns":[{"dimension":"c","direction":"descending"}]}}""" (Time.formatInterval span))
            Expect.equal (QueryResults.countOrderedTop byOffset) (Some(1, 8)) "groupBy: aggregator 1, offset + limit"
            let bySum = parse (sprintf """{"queryType":"groupBy","dataSource":"t","intervals":"%s","granularity":"all","dimensions":["d"],"aggregations":[{"type":"longSum","name":"s","fieldName":"l"}],"limitSpec":{"type":"default","limit":3,"columns":[{"dimension":"s","direction":"descending"}]}}""" (Time.formatInterval span))
            Expect.isNone (QueryResults.countOrderedTop bySum) "a sum may be negative: no shortcut"
            let ascending = parse (sprintf """{"queryType":"groupBy","dataSource":"t","intervals":"%s","granularity":"all","dimensions":["d"],"aggregations":[{"type":"count","name":"c"}],"limitSpec":{"type":"default","limit":3,"columns":[{"dimension":"c","direction":"ascending"}]}}""" (Time.formatInterval span))
            Expect.isNone (QueryResults.countOrderedTop ascending) "the smallest counts: no shortcut"
        }
    ]

/// Segments run on several threads and finishing in any order give exactly the result of
/// running them one after another: partials merge in segment order, even sums of doubles.
module FunctionalDruid.Tests.Core.ParallelMergeTests

open System
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Tests.Core.EngineTestData


/// Doubles whose sum depends on the order of additions.
let private awkward = [| 0.1; 1e16; -1e16; 0.7; 3.3e-5; 1e-3 |]

let private sameAsSequential (seed: int) =
    let rnd = Random(seed)
    let segments =
        [ for s in 0 .. 2 + rnd.Next 10 ->
            let interval: Time.Interval = { Start = dayStart + int64 s * hour; End = dayStart + int64 (s + 1) * hour }
            rawSegment interval
                ([ for _ in 1 .. rnd.Next 30 ->
                    { Time = interval.Start + int64 (rnd.Next 3_600_000)
                      D = [| "a"; "b"; null |].[rnd.Next 3]
                      Tags = [||]
                      L = Some(int64 (rnd.Next 100))
                      X = Some awkward.[rnd.Next awkward.Length] } ]
                 |> List.sortBy (fun r -> r.Time)) ]
    let slices = segments |> List.mapi (fun i c -> ({ Id = sprintf "seg%d" i; Content = c; Serves = c.Interval }: Engine.SegmentSlice))
    let query =
        [| """{"queryType":"groupBy","dataSource":"t","intervals":"2020-01-01/2020-01-02","granularity":"all",
              "dimensions":["d"],"aggregations":[{"type":"doubleSum","name":"x","fieldName":"x"},{"type":"count","name":"n"}]}"""
           """{"queryType":"timeseries","dataSource":"t","intervals":"2020-01-01/2020-01-02","granularity":"all",
              "aggregations":[{"type":"doubleSum","name":"x","fieldName":"x"},{"type":"longSum","name":"l","fieldName":"l"}]}""" |].[rnd.Next 2]
    let q = match QueryParseSurface.parseText query with Ok q -> q | Error(path, problem) -> failwithf "%s: %s" path problem
    let run ctx = Json.Out.toText false (Engine.runWith ctx q slices)
    let parallel = run { QuerySlices.sequential with Runner = shuffledRunner seed }
    let sequential = run QuerySlices.sequential
    if parallel <> sequential then failwithf "parallel %s, sequential %s" parallel sequential
    // Partitions merged as segments finish (nothing held back) or after the last one.
    let plan = (QueryResults.plan q).Value
    let groupsOf (p: GroupingEngine.Partial) =
        [ for g in 0 .. p.Count - 1 -> p.Buckets.[g], p.KeyValues g, p.Aggregators |> Array.map (fun a -> a.Raw g) ] |> List.sort
    let early = Engine.mergedGroupsHolding 0L { QuerySlices.sequential with Runner = shuffledRunner (seed + 1) } plan slices
    let late = Engine.mergedGroupsHolding Int64.MaxValue { QuerySlices.sequential with Runner = shuffledRunner (seed + 2) } plan slices
    if groupsOf early <> groupsOf late then failwithf "merged early %A, late %A" (groupsOf early) (groupsOf late)
    true

[<Tests>]
let tests =
    testList "core/parallel-merge" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 40 } "segments finishing in any order merge as in segment order" sameAsSequential
    ]

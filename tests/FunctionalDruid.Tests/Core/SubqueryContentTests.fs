/// A groupBy read as a query data source: the content built straight from its groups equals
/// the content read back from its JSON result (the general path).
module FunctionalDruid.Tests.Core.SubqueryContentTests

open System
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Tests.Core.EngineTestData

let private span = twoDays

let private genRows (rnd: Random) =
    // Sometimes enough rows for dozens of groups (states then fill their arrays exactly).
    [ for _ in 1 .. rnd.Next(if rnd.Next 2 = 0 then 60 else 300) ->
        { Time = dayStart + int64 (rnd.Next 48) * hour
          D = pick rnd [| "a"; "b"; "c"; null; "ä" |]
          Tags = [| "x"; "y"; "z" |] |> Array.filter (fun _ -> rnd.Next 3 = 0)
          L = (if rnd.Next 5 = 0 then None else Some(int64 (rnd.Next(-5, 20))))
          X = (if rnd.Next 5 = 0 then None else Some(float (rnd.Next(-8, 40)) / 4.0)) } ]

let private genQuery (rnd: Random) =
    // Limit columns may name a missing output (ordering by null) and having a missing count.
    let dimensions =
        [| """{"type":"default","dimension":"d","outputName":"d0"}"""
           """{"type":"default","dimension":"tags","outputName":"t0"}"""
           """{"type":"default","dimension":"l","outputName":"l0","outputType":"LONG"}"""
           """{"type":"default","dimension":"x","outputName":"x0","outputType":"DOUBLE"}""" |]
        |> Array.filter (fun _ -> rnd.Next 2 = 0)
    let aggregations =
        [| """{"type":"count","name":"a0"}"""
           """{"type":"longSum","name":"s","fieldName":"l"}"""
           """{"type":"doubleMax","name":"m","fieldName":"x"}"""
           """{"type":"filtered","filter":{"type":"not","field":{"type":"null","column":"d"}},"aggregator":{"type":"count","name":"nn"}}""" |]
        |> Array.filter (fun _ -> rnd.Next 2 = 0)
    let posts =
        if rnd.Next 2 = 0 then ""
        else ""","postAggregations":[{"type":"expression","name":"p","expression":"1 + 2"}]"""
    let limit =
        match rnd.Next 3 with
        | 0 -> ""
        | 1 -> sprintf ""","limitSpec":{"type":"default","limit":%d}""" (1 + rnd.Next 5)
        | _ -> sprintf ""","limitSpec":{"type":"default","limit":%d,"columns":[{"dimension":"%s","direction":"descending"}]}""" (1 + rnd.Next 5) (pick rnd [| "d0"; "l0"; "a0"; "s" |])
    let having = if rnd.Next 4 = 0 then ""","having":{"type":"greaterThan","aggregation":"a0","value":1}""" else ""
    sprintf """{"queryType":"groupBy","dataSource":"t","intervals":"%s","granularity":"%s","dimensions":[%s],"aggregations":[%s]%s%s%s}"""
        (Time.formatInterval span) (pick rnd [| "all"; "hour"; "day" |]) (String.Join(",", dimensions)) (String.Join(",", aggregations)) posts limit having

let private shape (content: SegmentContent) =
    let columns (cs: (string * ColumnData) list) =
        [ for (name, c) in cs -> name, c.Type, [ for r in 0 .. content.Times.Length - 1 -> c.Cell r ] ]
    List.ofArray content.Times, columns content.Dimensions, columns content.Metrics

let private sameContent (seed: int) =
    let rnd = Random(seed)
    let rows = genRows rnd
    let slices = randomSlices rnd 3 span rows
    let text = genQuery rnd
    let q = match QueryParseSurface.parseText text with Ok q -> q | Error(path, problem) -> failwithf "%s: %s in %s" path problem text
    let general = QueryExecution.contentOfResults q (Engine.run q slices)
    match Engine.groupByContentsWith QuerySlices.sequential true q slices with
    | Some [ direct ] ->
        if shape direct <> shape general then failwithf "%s\ndirect  %A\ngeneral %A" text (shape direct) (shape general)
        true
    | other -> failwithf "not one direct content for %s: %A" text other

/// Unordered content (for readers that aggregate; plain groups come in parts, one per hash
/// partition of the merge) holds the same rows at the same times.
let private unorderedHoldsSameRows (seed: int) =
    let rnd = Random(seed)
    let rows = genRows rnd
    let slices =
        let c = rawSegment span rows
        [ ({ Id = "seg"; Content = c; Serves = c.Interval }: Engine.SegmentSlice) ]
    let text = genQuery rnd
    let q = match QueryParseSurface.parseText text with Ok q -> q | Error(path, problem) -> failwithf "%s: %s in %s" path problem text
    let rowsOf (content: SegmentContent) =
        let columns = content.Dimensions @ content.Metrics
        // By name: a part whose values of a column are all null holds it as a string column.
        [ for r in 0 .. content.Times.Length - 1 -> content.Times.[r], List.sort [ for (name, c) in columns -> name, c.Cell r ] ] |> List.sort
    match Engine.groupByContentsWith QuerySlices.sequential true q slices, Engine.groupByContentsWith QuerySlices.sequential false q slices with
    | Some [ ordered ], Some parts ->
        let unordered = parts |> List.collect rowsOf |> List.sort
        if rowsOf ordered <> unordered then failwithf "%s\nordered   %A\nunordered %A" text (rowsOf ordered) unordered
        true
    | _ -> failwithf "no content for %s" text

[<Tests>]
let tests =
    testList "core/subquery-content" [
        testProperty "a groupBy's content built from its groups equals its JSON result read back" sameContent
        testProperty "unordered content holds the ordered content's rows" unorderedHoldsSameRows
        test "only groupBy answers directly" {
            let q =
                match QueryParseSurface.parseText (sprintf """{"queryType":"timeseries","dataSource":"t","intervals":"%s","granularity":"all","aggregations":[{"type":"count","name":"c"}]}""" (Time.formatInterval span)) with
                | Ok q -> q
                | Error e -> failwithf "%A" e
            Expect.isNone (Engine.groupByContentsWith QuerySlices.sequential true q []) "timeseries"
        }
    ]

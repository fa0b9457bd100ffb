/// An outer query that re-aggregates a groupBy subquery and counts distinct values of its other
/// dimensions answers the same from the two subqueries `Reaggregation.split` makes as from the
/// subquery it names.
module FunctionalDruid.Tests.Core.ReaggregationTests

open System
open System.Text.RegularExpressions
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Tests.Core.EngineTestData

let private span = twoDays

let private genRows (rnd: Random) =
    [ for _ in 1 .. rnd.Next(0, if rnd.Next 2 = 0 then 40 else 300) ->
        { Time = dayStart + int64 (rnd.Next 48) * hour
          D = pick rnd [| "a"; "b"; "c"; null; "ä" |]
          Tags = [||]
          L = (if rnd.Next 5 = 0 then None else Some(int64 (rnd.Next(-5, 20))))
          X = (if rnd.Next 5 = 0 then None else Some(float (rnd.Next(-3, 6)))) } ]

let private parse (text: string) =
    match QueryParseSurface.parseText text with
    | Ok q -> q
    | Error(path, problem) -> failwithf "%s: %s in %s" path problem text

/// The inner aggregators (name, JSON) and how the outer query re-aggregates each.
let private innerAggregators =
    [| "a0", """{"type":"count","name":"a0"}""", "longSum"
       "s", """{"type":"longSum","name":"s","fieldName":"l"}""", "longSum"
       "mn", """{"type":"longMin","name":"mn","fieldName":"l"}""", "longMin"
       "mx", """{"type":"longMax","name":"mx","fieldName":"l"}""", "longMax"
       "nn", """{"type":"filtered","filter":{"type":"not","field":{"type":"null","column":"d"}},"aggregator":{"type":"count","name":"nn"}}""", "longSum" |]

let private dimensions =
    [| "d0", """{"type":"default","dimension":"d","outputName":"d0"}""", "STRING"
       "l0", """{"type":"default","dimension":"l","outputName":"l0","outputType":"LONG"}""", "LONG"
       "x0", """{"type":"default","dimension":"x","outputName":"x0","outputType":"DOUBLE"}""", "DOUBLE" |]

/// A topN or groupBy by one inner dimension counting the distinct values of one or two others,
/// re-aggregating some of the inner aggregators.
let private genQuery (rnd: Random) =
    let order = [| 0; 1; 2 |] |> Array.sortBy (fun _ -> rnd.Next())
    let grouped = dimensions.[order.[0]]
    let counted = [ for i in order.[1 ..] do if i = order.[1] || rnd.Next 2 = 0 then yield dimensions.[i] ]
    let inner = innerAggregators |> Array.filter (fun _ -> rnd.Next 2 = 0)
    let inner = if inner.Length = 0 then [| innerAggregators.[rnd.Next innerAggregators.Length] |] else inner
    let innerFilter = if rnd.Next 3 = 0 then ""","filter":{"type":"selector","dimension":"d","value":"a"}""" else ""
    let innerText =
        sprintf """{"queryType":"groupBy","dataSource":"t","intervals":"%s","granularity":"all"%s,"dimensions":[%s],"aggregations":[%s]}"""
            (Time.formatInterval span) innerFilter
            (String.Join(",", [ let (_, json, _) = grouped in yield json
                                for (_, json, _) in counted -> json ]))
            (String.Join(",", [ for (_, json, _) in inner -> json ]))
    let outerAggs =
        [ for (name, _, _) in counted ->
            sprintf """{"type":"filtered","filter":{"type":"not","field":{"type":"null","column":"%s"}},"aggregator":{"type":"count","name":"u_%s"},"name":"u_%s"}""" name name name
          for (name, _, kind) in inner -> sprintf """{"type":"%s","name":"o_%s","fieldName":"%s"}""" kind name name ]
    let (groupedName, _, groupedType) = grouped
    let outerDimension = sprintf """{"type":"default","dimension":"%s","outputName":"_g","outputType":"%s"}""" groupedName groupedType
    let (firstInner, _, _) = inner.[0]
    if rnd.Next 2 = 0 then
        sprintf """{"queryType":"topN","dataSource":{"type":"query","query":%s},"intervals":"%s","granularity":"all","dimension":%s,"metric":"%s","threshold":%d,"aggregations":[%s]}"""
            innerText (Time.formatInterval span) outerDimension (pick rnd [| "o_" + firstInner; "u_" + (let (n, _, _) = counted.Head in n) |]) (1 + rnd.Next 4) (String.Join(",", outerAggs))
    else
        let limit = if rnd.Next 2 = 0 then "" else sprintf ""","limitSpec":{"type":"default","limit":%d,"columns":[{"dimension":"o_%s","direction":"descending","dimensionOrder":"numeric"}]}""" (1 + rnd.Next 4) firstInner
        sprintf """{"queryType":"groupBy","dataSource":{"type":"query","query":%s},"intervals":"%s","granularity":"all","dimensions":[%s],"aggregations":[%s]%s}"""
            innerText (Time.formatInterval span) outerDimension (String.Join(",", outerAggs)) limit

let private splitAnswersAsNamed (seed: int) =
    let rnd = Random(seed)
    let rows = genRows rnd
    let slices = randomSlices rnd 3 span rows
    let text = genQuery rnd
    let q = parse text
    if (Reaggregation.split q).IsNone then failwithf "not split: %s" text
    let slicesOf = fun (_: string) (_: Time.Interval list) -> slices
    let ctx = QuerySlices.sequential
    let named = Engine.runWith ctx q (QueryExecution.slicesOfSource ctx slicesOf q.Intervals q.DataSource) |> Json.Out.toText false
    let split = QueryExecution.execute ctx slicesOf q |> Json.Out.toText false
    if split <> named then failwithf "%s\nsplit %s\nnamed %s" text split named
    true

let private q10Like (outerAggs: string) (innerExtra: string) =
    parse (sprintf """{"queryType":"topN","dataSource":{"type":"query","query":{"queryType":"groupBy","dataSource":"t","intervals":"%s","granularity":"all","dimensions":[{"type":"default","dimension":"l","outputName":"d0","outputType":"LONG"},{"type":"default","dimension":"d","outputName":"d1"}],"aggregations":[{"type":"longSum","name":"a0","fieldName":"l"},{"type":"count","name":"a1"},{"type":"doubleSum","name":"a2","fieldName":"x"}]%s}},"intervals":"%s","granularity":"all","dimension":{"type":"default","dimension":"d0","outputName":"_d0","outputType":"LONG"},"metric":"%s","threshold":10,"aggregations":[%s]}"""
                     (Time.formatInterval span) innerExtra (Time.formatInterval span)
                     (Regex.Match(outerAggs, "\"name\":\"(_[a-z0-9]+)\"").Groups.[1].Value) outerAggs)

let private distinct = """{"type":"filtered","filter":{"type":"not","field":{"type":"null","column":"d1"}},"aggregator":{"type":"count","name":"_a3"},"name":"_a3"}"""

[<Tests>]
let tests =
    testList "core/reaggregation" [
        testProperty "an outer query over the two split subqueries answers as over the one it names" splitAnswersAsNamed
        test "which queries split, into which subqueries" {
            let shapes (q: Query.NativeQuery) =
                match q.Kind with
                | Query.QueryKind.GroupBy g -> [ for d in g.Dimensions -> d.OutputName ], [ for a in g.Aggregations -> Aggregation.name a ]
                | other -> failwithf "%A" other
            match Reaggregation.split (q10Like ("""{"type":"longSum","name":"_a0","fieldName":"a0"},{"type":"longSum","name":"_a1","fieldName":"a1"},""" + distinct) "") with
            | Some(groups, sums) ->
                Expect.equal (shapes groups) ([ "d0"; "d1" ], []) "the distinct groups, without aggregators"
                Expect.equal (shapes sums) ([ "d0" ], [ "a0"; "a1" ]) "by the outer dimension, with the re-aggregated aggregators only"
            | None -> failwith "Q10's shape did not split"
            let refused (why: string) (q: Query.NativeQuery) = Expect.isNone (Reaggregation.split q) why
            refused "no distinct count" (q10Like """{"type":"longSum","name":"_a0","fieldName":"a0"}""" "")
            refused "no re-aggregation" (q10Like distinct "")
            refused "a count of inner groups" (q10Like ("""{"type":"count","name":"_c"},{"type":"longSum","name":"_a0","fieldName":"a0"},""" + distinct) "")
            refused "a double sum (another summation order)" (q10Like ("""{"type":"doubleSum","name":"_a2","fieldName":"a2"},""" + distinct) "")
            refused "a long sum of a double sum" (q10Like ("""{"type":"longSum","name":"_a2","fieldName":"a2"},""" + distinct) "")
            refused "a minimum of sums" (q10Like ("""{"type":"longMin","name":"_a0","fieldName":"a0"},""" + distinct) "")
            refused "the counted dimension is the grouped one" (q10Like """{"type":"longSum","name":"_a0","fieldName":"a0"},{"type":"filtered","filter":{"type":"not","field":{"type":"null","column":"d0"}},"aggregator":{"type":"count","name":"_n"},"name":"_n"}""" "")
            refused "an inner limit" (q10Like ("""{"type":"longSum","name":"_a0","fieldName":"a0"},""" + distinct) ""","limitSpec":{"type":"default","limit":5}""")
            refused "an inner having" (q10Like ("""{"type":"longSum","name":"_a0","fieldName":"a0"},""" + distinct) ""","having":{"type":"greaterThan","aggregation":"a1","value":1}""")
        }
    ]

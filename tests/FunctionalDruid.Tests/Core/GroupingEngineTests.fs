/// Exact results of timeseries, topN and groupBy over a small two-segment data set.
module FunctionalDruid.Tests.Core.GroupingEngineTests

open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Tests.Core.EngineTestData

let private row t d tags l x = { Time = iso t; D = d; Tags = tags; L = l; X = x }

let private day1 =
    [ row "2020-01-01T01:10Z" "a" [| "x"; "y" |] (Some 1L) (Some 0.5)
      row "2020-01-01T01:20Z" "b" [| "x" |] (Some 2L) (Some 1.5)
      row "2020-01-01T03:00Z" "a" [||] None (Some 2.0)
      row "2020-01-01T03:30Z" null [| "y" |] (Some 4L) None ]

let private day2 =
    [ row "2020-01-02T00:00Z" "c" [| "z" |] (Some 5L) (Some 0.25)
      row "2020-01-02T05:00Z" "a" [| "x" |] (Some 6L) (Some 1.0) ]

let private segments =
    [ rawSegment (Time.tryParseInterval "2020-01-01/2020-01-02").Value day1
      rawSegment (Time.tryParseInterval "2020-01-02/2020-01-03").Value day2 ]

let private run (query: string) = runQuery query segments

let private compact (json: string) =
    use doc = System.Text.Json.JsonDocument.Parse json
    System.Text.Json.JsonSerializer.Serialize(doc.RootElement)

let private expectResult' (segs: SegmentContent list) (query: string) (expected: string) =
    Expect.equal (compact (runQuery query segs)) (compact expected) query

let private expectResult (query: string) (expected: string) = expectResult' segments query expected

let private ts (body: string) = sprintf """{"queryType":"timeseries","dataSource":"t",%s}""" body

[<Tests>]
let tests =
    testList "GroupingEngine" [
        test "timeseries by hour fills empty buckets between the segment's first and last rows" {
            expectResult
                (ts """"intervals":"2020-01-01T00/2020-01-01T05","granularity":"hour",
                       "aggregations":[{"type":"count","name":"rows"},{"type":"longSum","name":"l","fieldName":"l"},{"type":"doubleSum","name":"x","fieldName":"x"},{"type":"longMin","name":"lmin","fieldName":"l"}]""")
                """[{"timestamp":"2020-01-01T01:00:00.000Z","result":{"rows":2,"l":3,"x":2.0,"lmin":1}},
                    {"timestamp":"2020-01-01T02:00:00.000Z","result":{"rows":0,"l":null,"x":null,"lmin":null}},
                    {"timestamp":"2020-01-01T03:00:00.000Z","result":{"rows":2,"l":4,"x":2.0,"lmin":4}}]"""
            // Over both days: day 1 fills 01..03, day 2 fills 00..05.
            let text = run (ts """"intervals":"2020-01-01/2020-01-03","granularity":"hour","aggregations":[{"type":"count","name":"rows"}]""")
            Expect.equal (text.Split("timestamp").Length - 1) 9 "3 + 6 buckets"
        }
        test "timeseries skipEmptyBuckets as a string, descending and limit" {
            expectResult
                (ts """"intervals":"2020-01-01T00/2020-01-01T05","granularity":"hour","descending":true,"limit":1,"context":{"skipEmptyBuckets":"true"},
                       "aggregations":[{"type":"count","name":"rows"}]""")
                """[{"timestamp":"2020-01-01T03:00:00.000Z","result":{"rows":2}}]"""
        }
        test "timeseries grandTotal, a time zone and post-aggregators" {
            expectResult
                (ts """"intervals":["2020-01-01/2020-01-03"],"granularity":{"type":"period","period":"P1D","timeZone":"Etc/GMT+1"},"context":{"grandTotal":true,"skipEmptyBuckets":true},
                       "aggregations":[{"type":"count","name":"rows"},{"type":"longSum","name":"l","fieldName":"l"},{"type":"doubleSum","name":"x","fieldName":"x"}],
                       "postAggregations":[{"type":"arithmetic","name":"avg","fn":"/","fields":[{"type":"fieldAccess","fieldName":"l"},{"type":"fieldAccess","fieldName":"rows"}]}]""")
                """[{"timestamp":"2020-01-01T00:00:00.000-01:00","result":{"rows":5,"l":12,"x":4.25,"avg":2.4}},
                    {"timestamp":"2020-01-02T00:00:00.000-01:00","result":{"rows":1,"l":6,"x":1.0,"avg":6.0}},
                    {"timestamp":null,"result":{"rows":6,"l":18,"x":5.25,"avg":3.0}}]"""
        }
        test "timeseries over all time is stamped with the first row and filters with extraction functions" {
            expectResult
                (ts """"intervals":["2020-01-01/2020-01-03"],"filter":{"type":"selector","dimension":"d","value":"A","extractionFn":{"type":"upper"}},
                       "aggregations":[{"type":"count","name":"rows"},{"type":"longSum","name":"l","fieldName":"l"},{"type":"doubleSum","name":"x","fieldName":"x"}]""")
                """[{"timestamp":"2020-01-01T01:10:00.000Z","result":{"rows":3,"l":7,"x":3.5}}]"""
            // NOT of a comparison with null is still unknown: the null row is not counted.
            expectResult
                (ts """"intervals":["2020-01-01/2020-01-03"],"filter":{"type":"not","field":{"type":"selector","dimension":"d","value":"a"}},"aggregations":[{"type":"count","name":"rows"}]""")
                """[{"timestamp":"2020-01-01T01:10:00.000Z","result":{"rows":2}}]"""
        }
        test "virtual columns, filtered, cardinality and hyperUnique aggregators, finalizing post-aggregators" {
            expectResult
                (ts """"intervals":["2020-01-01/2020-01-03"],
                       "virtualColumns":[{"type":"expression","name":"l2","expression":"l * 2","outputType":"LONG"}],
                       "aggregations":[{"type":"longSum","name":"l2","fieldName":"l2"},
                                       {"type":"filtered","filter":{"type":"selector","dimension":"d","value":"a"},"aggregator":{"type":"count","name":"aRows"}},
                                       {"type":"cardinality","name":"card","fieldNames":["d"],"round":true},
                                       {"type":"hyperUnique","name":"u","fieldName":"d","round":true},
                                       {"type":"doubleMax","name":"xmax","fieldName":"x"},
                                       {"type":"floatMin","name":"xmin","fieldName":"x"},
                                       {"type":"longSum","name":"e","expression":"l + 1"}],
                       "postAggregations":[{"type":"finalizingFieldAccess","name":"fc","fieldName":"card"},
                                           {"type":"hyperUniqueCardinality","name":"huc","fieldName":"u","round":true},
                                           {"type":"arithmetic","name":"ratio","fn":"/","fields":[{"type":"fieldAccess","fieldName":"l2"},{"type":"fieldAccess","fieldName":"aRows"}]}]""")
                """[{"timestamp":"2020-01-01T01:10:00.000Z","result":{"l2":36,"aRows":3,"card":3,"u":3,"xmax":2.0,"xmin":0.25,"e":23,"fc":3,"huc":3,"ratio":12.0}}]"""
        }
        test "topN by a metric, inverted, and by dimension with previousStop" {
            let topN metric threshold =
                sprintf """{"queryType":"topN","dataSource":"t","intervals":"2020-01-01/2020-01-03","granularity":"all","dimension":"d","metric":%s,"threshold":%d,
                            "aggregations":[{"type":"count","name":"count"},{"type":"longSum","name":"l","fieldName":"l"}]}""" metric threshold
            expectResult (topN "\"l\"" 3)
                """[{"timestamp":"2020-01-01T01:10:00.000Z","result":[{"d":"a","count":3,"l":7},{"d":"c","count":1,"l":5},{"d":null,"count":1,"l":4}]}]"""
            expectResult (topN """{"type":"inverted","metric":"l"}""" 2)
                """[{"timestamp":"2020-01-01T01:10:00.000Z","result":[{"d":"b","count":1,"l":2},{"d":null,"count":1,"l":4}]}]"""
            expectResult (topN """{"type":"dimension","ordering":"lexicographic","previousStop":"a"}""" 2)
                """[{"timestamp":"2020-01-01T01:10:00.000Z","result":[{"d":"b","count":1,"l":2},{"d":"c","count":1,"l":5}]}]"""
        }
        test "topN per day on a multi-value dimension explodes its values" {
            expectResult
                """{"queryType":"topN","dataSource":"t","intervals":"2020-01-01/2020-01-03","granularity":"day","dimension":{"type":"default","dimension":"tags","outputName":"tag"},
                    "metric":"count","threshold":2,"aggregations":[{"type":"count","name":"count"}]}"""
                """[{"timestamp":"2020-01-01T00:00:00.000Z","result":[{"tag":"x","count":2},{"tag":"y","count":2}]},
                    {"timestamp":"2020-01-02T00:00:00.000Z","result":[{"tag":"x","count":1},{"tag":"z","count":1}]}]"""
        }
        test "groupBy on two dimensions orders groups by dimensions, nulls first" {
            expectResult
                """{"queryType":"groupBy","dataSource":"t","intervals":"2020-01-01/2020-01-03","granularity":"all","dimensions":["d","tags"],"aggregations":[{"type":"count","name":"count"}]}"""
                """[{"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{"d":null,"tags":"y","count":1}},
                    {"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{"d":"a","tags":null,"count":1}},
                    {"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{"d":"a","tags":"x","count":2}},
                    {"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{"d":"a","tags":"y","count":1}},
                    {"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{"d":"b","tags":"x","count":1}},
                    {"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{"d":"c","tags":"z","count":1}}]"""
        }
        test "groupBy on an extracted hour with outputType LONG, having and a limit spec" {
            expectResult
                """{"queryType":"groupBy","dataSource":"t","intervals":"2020-01-01/2020-01-03","granularity":"all",
                    "dimensions":[{"type":"extraction","dimension":"__time","outputName":"hour","extractionFn":{"type":"timeFormat","format":"H","timeZone":"UTC"},"outputType":"LONG"}],
                    "aggregations":[{"type":"count","name":"count"},{"type":"longSum","name":"l","fieldName":"l"}],
                    "having":{"type":"greaterThan","aggregation":"count","value":1},
                    "limitSpec":{"type":"default","columns":[{"dimension":"l","direction":"descending"}],"limit":5}}"""
                """[{"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{"hour":3,"count":2,"l":4}},
                    {"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{"hour":1,"count":2,"l":3}}]"""
            expectResult
                """{"queryType":"groupBy","dataSource":"t","intervals":"2020-01-01/2020-01-03","granularity":"all",
                    "dimensions":[{"type":"extraction","dimension":"d","outputName":"d","extractionFn":{"type":"upper"}}],
                    "aggregations":[{"type":"count","name":"count"}],
                    "having":{"type":"filter","filter":{"type":"bound","dimension":"count","ordering":"numeric","lower":1,"lowerStrict":true}},
                    "limitSpec":{"type":"default","columns":["d"],"offset":0,"limit":1}}"""
                """[{"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{"d":"A","count":3}}]"""
        }
        test "groupBy with a listFiltered dimension and subtotals (missing dimensions are null)" {
            expectResult
                """{"queryType":"groupBy","dataSource":"t","intervals":"2020-01-01/2020-01-03","granularity":"all",
                    "dimensions":[{"type":"listFiltered","delegate":{"type":"default","dimension":"tags","outputName":"tagsX"},"values":["x"]},"d"],
                    "aggregations":[{"type":"count","name":"count"}],
                    "subtotalsSpec":[["tagsX"],[]]}"""
                """[{"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{"tagsX":null,"d":null,"count":3}},
                    {"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{"tagsX":"x","d":null,"count":3}},
                    {"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{"tagsX":null,"d":null,"count":6}}]"""
        }
        test "groupBy by day with a virtual column dimension and a prefix-filtered one" {
            expectResult
                """{"queryType":"groupBy","dataSource":"t","intervals":"2020-01-01/2020-01-03","granularity":"day",
                    "virtualColumns":[{"type":"expression","name":"big","expression":"if(l > 3, 'big', 'small')"}],
                    "dimensions":["big",{"type":"prefixFiltered","delegate":"tags","prefix":"x"}],
                    "filter":{"type":"in","dimension":"d","values":["a","c"]},
                    "aggregations":[{"type":"longSum","name":"l","fieldName":"l"}]}"""
                """[{"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{"big":"small","tags":null,"l":null}},
                    {"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{"big":"small","tags":"x","l":1}},
                    {"version":"v1","timestamp":"2020-01-02T00:00:00.000Z","event":{"big":"big","tags":null,"l":5}},
                    {"version":"v1","timestamp":"2020-01-02T00:00:00.000Z","event":{"big":"big","tags":"x","l":6}}]"""
        }
        test "wide group keys: hashed long keys and id-array keys give the same groups" {
            // 5 dimensions of 3000 values need 5 * 12 bits: 3 of them fit a hashed long key, 5 do not.
            let n = 3000
            let dim (k: int) =
                let ids = Array.init n (fun r -> (r * (7 + 2 * k)) % n)
                sprintf "d%d" k, ColumnData.Strings { Dictionary = Array.init n (sprintf "v%04d"); Ids = ids; MultiIds = None; HasBitmapIndex = true }
            let content: SegmentContent =
                { Interval = (Time.tryParseInterval "2020-01-01/2020-01-02").Value
                  Times = Array.init n (fun r -> iso "2020-01-01" + int64 r)
                  Dimensions = [ for k in 1 .. 5 -> dim k ]
                  Metrics = [ "m", ColumnData.Longs(Array.init n int64, None) ]
                  Metadata = "{}" }
            for dims in [ [ "d1"; "d2"; "d3" ]; [ "d1"; "d2"; "d3"; "d4"; "d5" ] ] do
                let q =
                    sprintf """{"queryType":"groupBy","dataSource":"t","intervals":"2020-01-01/2020-01-02","granularity":"hour","dimensions":[%s],
                                "aggregations":[{"type":"longSum","name":"m","fieldName":"m"}],"limitSpec":{"type":"default","columns":[{"dimension":"m","direction":"descending"}],"limit":2}}"""
                        (System.String.Join(",", dims |> List.map (sprintf "\"%s\"")))
                let value k r = sprintf "v%04d" ((r * (7 + 2 * k)) % n)
                let event r = System.String.Join(",", dims |> List.mapi (fun i d -> sprintf "\"%s\":\"%s\"" d (value (i + 1) r)))
                expectResult' [ content ] q
                    (sprintf """[{"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{%s,"m":2999}},{"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{%s,"m":2998}}]"""
                        (event 2999) (event 2998))
        }
        test "hyperUnique over stored sketches, first/last and cardinality by row" {
            let sketch (values: string list) = values |> List.fold (fun h v -> Hll.addString v h) Hll.empty |> Hll.toBytes
            let content: SegmentContent =
                { Interval = (Time.tryParseInterval "2020-01-01/2020-01-02").Value
                  Times = [| iso "2020-01-01T01:00Z"; iso "2020-01-01T02:00Z"; iso "2020-01-01T03:00Z" |]
                  Dimensions =
                    [ "d", ColumnData.Strings { Dictionary = [| "p"; "q" |]; Ids = [| 0; 1; 0 |]; MultiIds = None; HasBitmapIndex = true }
                      "e", ColumnData.Strings { Dictionary = [| "1"; "2" |]; Ids = [| 0; 0; 1 |]; MultiIds = None; HasBitmapIndex = true } ]
                  Metrics =
                    [ "u", ColumnData.Complex("hyperUnique", [| sketch [ "a"; "b" ]; sketch [ "b" ]; sketch [ "c" ] |])
                      "l", ColumnData.Longs([| 10L; 20L; 30L |], None) ]
                  Metadata = "{}" }
            expectResult' [ content ]
                (ts """"intervals":"2020-01-01/2020-01-02","granularity":"all",
                       "aggregations":[{"type":"hyperUnique","name":"u","fieldName":"u","round":true},
                                       {"type":"longLast","name":"last","fieldName":"l"},{"type":"longFirst","name":"first","fieldName":"l"},
                                       {"type":"stringLast","name":"lastD","fieldName":"d"},
                                       {"type":"cardinality","name":"byRow","fields":["d","e"],"byRow":true,"round":true},
                                       {"type":"cardinality","name":"byValue","fields":["d","e"],"round":true}]""")
                """[{"timestamp":"2020-01-01T01:00:00.000Z","result":{"u":3,"last":30,"first":10,"lastD":"p","byRow":3,"byValue":4}}]"""
            expectResult' [ content ]
                """{"queryType":"groupBy","dataSource":"t","intervals":"2020-01-01/2020-01-02","granularity":"all","dimensions":["d"],
                    "aggregations":[{"type":"hyperUnique","name":"u","fieldName":"u"}],
                    "postAggregations":[{"type":"hyperUniqueCardinality","name":"r","fieldName":"u","round":true},{"type":"finalizingFieldAccess","name":"f","fieldName":"u"}]}"""
                """[{"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{"d":"p","u":3.0021994137521975,"r":3,"f":3.0021994137521975}},
                    {"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{"d":"q","u":1.0002442201269182,"r":1,"f":1.0002442201269182}}]"""
        }
        test "per-segment partials merge in any grouping" {
            let q =
                (QueryParseSurface.parseText """{"queryType":"groupBy","dataSource":"t","intervals":"2020-01-01/2020-01-03","granularity":"hour","dimensions":["d"],
                                          "aggregations":[{"type":"count","name":"c"},{"type":"longMax","name":"m","fieldName":"l"},{"type":"hyperUnique","name":"u","fieldName":"tags"}]}""")
                |> Result.defaultWith (fun e -> failwithf "%A" e)
            let plan = (QueryResults.plan q).Value
            let parts = [ for s in segments -> GroupingEngine.runSegment plan s s.Interval ]
            let text p = Json.Out.toText false (QueryResults.finish q plan p)
            let together = text (GroupMerging.merge plan parts)
            Expect.equal (text (GroupMerging.merge plan [ GroupMerging.merge plan [ parts.[1] ]; GroupMerging.merge plan [ parts.[0] ] ])) together "nested merge"
            Expect.equal (text (GroupMerging.merge plan (List.rev parts))) together "reversed order"
        }
    ]

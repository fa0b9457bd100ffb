/// Timeseries post-aggregators over HTTP: values and Druid's number types (arithmetic gives
/// doubles, expressions keep longs, constants keep their literal's kind).
module FunctionalDruid.Tests.Host.PostAggregationTests

open Expecto
open FunctionalDruid.Tests.ServerHarness

let private data =
    System.Text.Json.JsonSerializer.Serialize(
        String.concat "\n"
            [ """{"ts":"2020-01-01T01:00:00Z","d":"a","x":1,"y":0.5}"""
              """{"ts":"2020-01-01T02:00:00Z","d":"b","x":2,"y":1.5}"""
              """{"ts":"2020-01-02T03:00:00Z","d":"c","x":3,"y":2.0}""" ])

let private spec =
    sprintf """{"type":"index","spec":{"dataSchema":{"dataSource":"pa","timestampSpec":{"column":"ts"},"dimensionsSpec":{"dimensions":["d"]},
               "metricsSpec":[{"type":"count","name":"count"},{"type":"longSum","name":"x","fieldName":"x"},{"type":"doubleSum","name":"y","fieldName":"y"}],
               "granularitySpec":{"segmentGranularity":"day","queryGranularity":"none","rollup":false}},
               "ioConfig":{"type":"index","inputSource":{"type":"inline","data":%s},"inputFormat":{"type":"json"}}}}""" data

let private timeseries (granularity: string) (postAggregations: string) =
    sprintf """{"queryType":"timeseries","dataSource":"pa","intervals":["2020-01-01/2020-01-03"],"granularity":"%s",
               "aggregations":[{"type":"count","name":"rows"},{"type":"longSum","name":"x","fieldName":"x"},{"type":"doubleSum","name":"y","fieldName":"y"}],
               "postAggregations":%s}""" granularity postAggregations

[<Tests>]
let tests =
    testSequenced (
        testList "PostAggregations" [
            test "arithmetic, fieldAccess, constant, expression, greatest and least, per bucket" {
                use r = start Sqlite []
                ingest r spec |> ignore
                let posts =
                    """[{"type":"arithmetic","name":"mean","fn":"/","fields":[{"type":"fieldAccess","fieldName":"x"},{"type":"fieldAccess","fieldName":"rows"}]},
                        {"type":"arithmetic","name":"zeroDiv","fn":"/","fields":[{"type":"fieldAccess","fieldName":"x"},{"type":"constant","value":0}]},
                        {"type":"arithmetic","name":"sumPlusOne","fn":"+","fields":[{"type":"fieldAccess","fieldName":"x"},{"type":"constant","value":1},{"type":"fieldAccess","fieldName":"y"}]},
                        {"type":"constant","name":"seven","value":7},
                        {"type":"constant","name":"half","value":0.5},
                        {"type":"expression","name":"twiceX","expression":"x * 2"},
                        {"type":"expression","name":"chained","expression":"mean + seven"},
                        {"type":"longGreatest","name":"maxXRows","fields":[{"type":"fieldAccess","fieldName":"x"},{"type":"fieldAccess","fieldName":"rows"}]},
                        {"type":"doubleLeast","name":"minXY","fields":[{"type":"fieldAccess","fieldName":"x"},{"type":"fieldAccess","fieldName":"y"}]}]"""
                let code, body = post r "/druid/v2" (timeseries "day" posts)
                Expect.equal code 200 body
                expectJson body
                    """[{"timestamp":"2020-01-01T00:00:00.000Z","result":{"rows":2,"x":3,"y":2.0,"mean":1.5,"zeroDiv":0.0,"sumPlusOne":6.0,"seven":7,"half":0.5,"twiceX":6,"chained":8.5,"maxXRows":3,"minXY":2.0}},
                        {"timestamp":"2020-01-02T00:00:00.000Z","result":{"rows":1,"x":3,"y":2.0,"mean":3.0,"zeroDiv":0.0,"sumPlusOne":6.0,"seven":7,"half":0.5,"twiceX":6,"chained":10.0,"maxXRows":3,"minXY":2.0}}]"""
                    "post-aggregated rows"
                // An empty bucket between a segment's rows still gets its post-aggregators; as in
                // Druid, buckets are filled from the segment's first row to its last one.
                let halfHourly = (timeseries "PT30M" """[{"type":"expression","name":"e","expression":"rows + 1"}]""").Replace("2020-01-01/2020-01-03", "2020-01-01T00/2020-01-01T04")
                let _, buckets = post r "/druid/v2" halfHourly
                let rows = (json buckets).AsArray()
                Expect.equal [ for b in rows -> b.["timestamp"].ToJsonString() ] [ "\"2020-01-01T01:00:00.000Z\""; "\"2020-01-01T01:30:00.000Z\""; "\"2020-01-01T02:00:00.000Z\"" ] "buckets from the first row to the last"
                Expect.equal [ for b in rows -> b.["result"].["rows"].ToJsonString(), b.["result"].["e"].ToJsonString() ]
                    [ "1", "2"; "0", "1"; "1", "2" ] "count and rows + 1 per bucket"
            }

            test "unknown post-aggregator types and clashing names are rejected with 400" {
                use r = start Sqlite []
                let code, body = post r "/druid/v2" (timeseries "all" """[{"type":"javascript","name":"j","fieldNames":["x"],"function":"f"}]""")
                Expect.equal code 400 "unsupported type"
                Expect.stringContains body "postAggregator type [javascript] is not supported yet" "message"
                let code2, body2 = post r "/druid/v2" (timeseries "all" """[{"type":"constant","name":"x","value":1}]""")
                Expect.equal code2 400 "duplicate name"
                Expect.stringContains body2 "Duplicate output name [x]" "duplicate message"
            }
        ])

/// The native query HTTP contract real clients depend on (CLIENT_CONTRACTS §1–2): routes with
/// and without the trailing slash, plywood's introspection shapes, scan key order, string
/// context values, unknown data sources, errors, cancellation and timeouts, unions.
module FunctionalDruid.Tests.Host.NativeQueryHttpTests

open System
open System.Net
open System.Net.Http
open System.Text
open System.Text.Json.Nodes
open System.Threading.Tasks
open Expecto
open FunctionalDruid.Tests.ServerHarness

let private rows =
    [ """{"ts":"2015-09-12T00:46:58Z","channel":"#en.wikipedia","page":"Talk:Oswald Tilghman","user":"GELongstreet","added":36}"""
      """{"ts":"2015-09-12T00:47:00Z","channel":"#ca.wikipedia","page":"Rallicula","user":"PereBot","added":17}"""
      """{"ts":"2015-09-12T01:47:05Z","channel":"#en.wikipedia","page":"Peremptory norm","user":"60.225.66.142","added":0}"""
      """{"ts":"2015-09-12T02:47:08Z","channel":"#vi.wikipedia","page":"Apamea abruzzorum","user":"Cheers!-bot","added":18}""" ]

let private spec (dataSource: string) =
    let data = System.Text.Json.JsonSerializer.Serialize(String.concat "\n" rows)
    sprintf """{"type":"index_parallel","spec":{"dataSchema":{"dataSource":"%s","timestampSpec":{"column":"ts"},
               "dimensionsSpec":{"dimensions":["channel","page","user"]},
               "metricsSpec":[{"type":"count","name":"count"},{"type":"longSum","name":"added","fieldName":"added"}],
               "granularitySpec":{"segmentGranularity":"day","queryGranularity":"none","rollup":false}},
               "ioConfig":{"type":"index_parallel","inputSource":{"type":"inline","data":%s},"inputFormat":{"type":"json"}}}}""" dataSource data

/// POST with plywood's exact header spelling; returns status, body and the query id header.
let private postQuery (r: Running) (path: string) (body: string) : int * string * string option =
    use request = new HttpRequestMessage(HttpMethod.Post, path)
    request.Content <- new StringContent(body, Encoding.UTF8)
    request.Content.Headers.Remove("Content-Type") |> ignore
    request.Content.Headers.TryAddWithoutValidation("Content-type", "application/json") |> ignore
    use response = r.Client.SendAsync(request).Result
    let queryId = match response.Headers.TryGetValues "X-Druid-Query-Id" with | true, v -> Seq.tryHead v | _ -> None
    int response.StatusCode, response.Content.ReadAsStringAsync().Result, queryId

let private delete (r: Running) (path: string) : int * string =
    use response = r.Client.DeleteAsync(path: string).Result
    int response.StatusCode, response.Content.ReadAsStringAsync().Result

let private errorShape (body: string) =
    let o = (json body).AsObject()
    [ for kv in o -> kv.Key ]

/// A scan that takes about a second over inline rows and checks for cancellation as it goes.
let private slowQuery (queryId: string) (timeout: int) =
    let inlineRows = String.Join(",", Array.init 60000 (fun i -> sprintf "[\"k%05d\"]" i))
    sprintf """{"queryType":"scan","dataSource":{"type":"inline","columnNames":["k"],"columnTypes":["STRING"],"rows":[%s]},
               "intervals":"1970/2100","filter":{"type":"expression","expression":"strlen(repeat(k, 4000)) < 0"},
               "context":{"queryId":"%s","timeout":%d}}""" inlineRows queryId timeout

[<Tests>]
let tests =
    testSequenced (
        testList "NativeQueryHttp" [
            test "routes, plywood's introspection, scan key order, string context, unknown sources, unions" {
                use r = start Sqlite []
                ingest r (spec "wiki") |> ignore
                ingest r (spec "wiki2") |> ignore

                // Data source lists with and without the trailing slash, and the schema routes.
                Expect.equal (get r "/druid/v2/datasources/") (200, """["wiki","wiki2"]""") "list with slash"
                Expect.equal (get r "/druid/v2/datasources") (200, """["wiki","wiki2"]""") "list without slash"
                Expect.equal (get r "/druid/v2/datasources/wiki") (200, """{"dimensions":["channel","page","user"],"metrics":["added","count"]}""") "schema"
                Expect.equal (get r "/druid/v2/datasources/wiki/dimensions") (200, """["channel","page","user"]""") "dimensions"
                Expect.equal (get r "/druid/v2/datasources/wiki/metrics") (200, """["added","count"]""") "metrics"
                Expect.equal (get r "/druid/v2/datasources/wiki/dimensions?interval=2015-09-12/2015-09-13") (200, """["channel","page","user"]""") "dimensions in an interval"
                Expect.equal (get r "/druid/v2/datasources/wiki/dimensions?interval=2016-01-01/2016-01-02") (200, "[]") "no segment in the interval"
                Expect.equal (fst (get r "/druid/v2/datasources/wiki?interval=garbage")) 400 "bad interval"

                // plywood: segmentMetadata introspection with merge and lenient aggregators.
                let code, body, _ = postQuery r "/druid/v2/" """{"queryType":"segmentMetadata","dataSource":"wiki","merge":true,"analysisTypes":["aggregators"],"lenientAggregatorMerge":true}"""
                Expect.equal code 200 "segmentMetadata status"
                let res = (json body).AsArray()
                Expect.equal res.Count 1 "merged into one"
                let columns = res.[0].["columns"].AsObject()
                Expect.sequenceEqual [ for kv in columns -> kv.Key ] [ "__time"; "added"; "channel"; "count"; "page"; "user" ] "columns by name, __time present"
                Expect.equal (columns.["__time"].["type"].GetValue<string>()) "LONG" "__time type"
                Expect.equal (columns.["page"].["type"].GetValue<string>()) "STRING" "page type"
                Expect.equal (columns.["page"].["hasMultipleValues"].GetValue<bool>()) false "single-valued"
                Expect.equal (columns.["added"].["type"].GetValue<string>()) "LONG" "metric type"
                Expect.isTrue (isNull columns.["page"].["errorMessage"]) "no error"
                expectJson (res.[0].["aggregators"].ToJsonString())
                    """{"count":{"type":"longSum","name":"count","fieldName":"count","expression":null},"added":{"type":"longSum","name":"added","fieldName":"added","expression":null}}""" "aggregators in combining form"
                Expect.equal (res.[0].["numRows"].GetValue<int64>()) 4L "numRows"

                // plywood scan: compactedList with a time virtual column; columns before events.
                let code, body, _ =
                    postQuery r "/druid/v2/" """{"queryType":"scan","dataSource":"wiki","intervals":"2015-09-12T00Z/2015-09-12T01Z","granularity":"all","resultFormat":"compactedList","columns":["time","channel","page","added"],"limit":5,"virtualColumns":[{"type":"expression","name":"time","expression":"__time","outputType":"STRING"}],"context":{"timeout":30000}}"""
                Expect.equal code 200 "scan status"
                Expect.stringStarts body """[{"segmentId":"wiki_2015-09-12T00:00:00.000Z_2015-09-13T00:00:00.000Z_""" "segmentId first"
                let batch = (json body).[0].AsObject()
                Expect.sequenceEqual [ for kv in batch -> kv.Key ] [ "segmentId"; "columns"; "events" ] "key order"
                expectJson (batch.["events"].ToJsonString()) """[["1442018818000","#en.wikipedia","Talk:Oswald Tilghman",36],["1442018820000","#ca.wikipedia","Rallicula",17]]""" "events"

                // A string-valued skipEmptyBuckets, and ?pretty.
                let code, body, _ =
                    postQuery r "/druid/v2/?pretty" """{"queryType":"timeseries","dataSource":"wiki","intervals":"2015-09-12T00Z/2015-09-12T04Z","granularity":{"type":"period","period":"PT1H","timeZone":"Etc/UTC"},"aggregations":[{"type":"count","name":"Count"}],"context":{"skipEmptyBuckets":"true","timeout":30000}}"""
                Expect.equal code 200 "timeseries status"
                Expect.stringContains body "\n" "pretty printed"
                Expect.equal ((json body).AsArray().Count) 3 "empty bucket 03:00 skipped"

                // timeBoundary with a bound, as plywood asks when it only needs one end.
                let _, body, _ = postQuery r "/druid/v2" """{"queryType":"timeBoundary","dataSource":"wiki","bound":"maxTime"}"""
                expectJson body """[{"timestamp":"2015-09-12T02:47:08.000Z","result":{"maxTime":"2015-09-12T02:47:08.000Z"}}]""" "maxTime only"

                // Unknown data sources answer 200 [] for every query type.
                for q in [ """{"queryType":"scan","dataSource":"nope","intervals":"2015/2016"}"""
                           """{"queryType":"segmentMetadata","dataSource":"nope"}"""
                           """{"queryType":"timeBoundary","dataSource":{"type":"union","dataSources":["nope","nope2"]}}""" ] do
                    let code, body, _ = postQuery r "/druid/v2" q
                    Expect.equal (code, body) (200, "[]") q

                // A union reads both tables: counts add up, search counts too.
                let _, body, _ = postQuery r "/druid/v2" """{"queryType":"search","dataSource":{"type":"union","dataSources":["wiki","wiki2"]},"intervals":["2015-09-12/2015-09-13"],"granularity":"all","searchDimensions":["channel"],"query":{"type":"insensitive_contains","value":"EN."},"context":{"useCache":"true","timeout":60000}}"""
                expectJson body """[{"timestamp":"2015-09-12T00:00:00.000Z","result":[{"dimension":"channel","value":"#en.wikipedia","count":4}]}]""" "union search"
                let _, body, _ = postQuery r "/druid/v2" """{"queryType":"timeseries","dataSource":{"type":"union","dataSources":["wiki","wiki2"]},"intervals":"2015-09-12/2015-09-13","granularity":"all","aggregations":[{"type":"longSum","name":"added","fieldName":"added"}]}"""
                expectJson body """[{"timestamp":"2015-09-12T00:46:58.000Z","result":{"added":142}}]""" "union timeseries"

                // dataSourceMetadata
                let _, body, _ = postQuery r "/druid/v2" """{"queryType":"dataSourceMetadata","dataSource":"wiki"}"""
                expectJson body """[{"timestamp":"2015-09-12T02:47:08.000Z","result":{"maxIngestedEventTime":"2015-09-12T02:47:08.000Z"}}]""" "dataSourceMetadata"
            }

            test "query ids, errors, DELETE and timeouts" {
                use r = start Sqlite []
                ingest r (spec "wiki") |> ignore
                let _, _, id = postQuery r "/druid/v2" """{"queryType":"timeBoundary","dataSource":"wiki","context":{"queryId":"my-query"}}"""
                Expect.equal id (Some "my-query") "X-Druid-Query-Id from the context"
                let _, _, generated = postQuery r "/druid/v2" """{"queryType":"timeBoundary","dataSource":"wiki"}"""
                Expect.isTrue (generated |> Option.exists (fun g -> Guid.TryParse(g: string) |> fst)) "a generated id"

                // Malformed queries: 400 with Druid's error body.
                let code, body, _ = postQuery r "/druid/v2" """{"queryType":"scan","dataSource":"wiki","intervals":"2015/2016","order":"up"}"""
                Expect.equal code 400 "bad order"
                Expect.sequenceEqual (errorShape body) [ "error"; "errorMessage"; "errorClass"; "host" ] "error keys"
                Expect.equal ((json body).["errorMessage"].GetValue<string>()) "order: Unknown order [up]; expected ascending, descending or none" "message with path"
                let code, _, _ = postQuery r "/druid/v2" "{ not json"
                Expect.equal code 400 "malformed JSON"
                // An expression that fails on the rows' values is bad input too, not a server error.
                let code, body, _ = postQuery r "/druid/v2" """{"queryType":"scan","dataSource":"wiki","intervals":"2015/2016","columns":["v"],"virtualColumns":[{"type":"expression","name":"v","expression":"left(page, -1)"}]}"""
                Expect.equal code 400 "row-time expression error"
                Expect.stringContains ((json body).["errorMessage"].GetValue<string>()) "Function[left]" "names the function"

                // DELETE of an unknown id.
                let code, body = delete r "/druid/v2/no-such-query"
                Expect.equal code 404 "unknown id"
                Expect.sequenceEqual (errorShape body) [ "error"; "errorMessage"; "errorClass"; "host" ] "404 body"

                // DELETE of a running query: the query answers "Query cancelled".
                let running = Task.Run(fun () -> postQuery r "/druid/v2" (slowQuery "slow-1" 600000))
                let deadline = DateTime.UtcNow.AddSeconds 20.0
                let mutable cancelled = false
                while not cancelled && not running.IsCompleted && DateTime.UtcNow < deadline do
                    cancelled <- fst (delete r "/druid/v2/slow-1") = 202
                    if not cancelled then Threading.Thread.Sleep 5
                Expect.isTrue cancelled "DELETE answered 202 while the query ran"
                let code, body, id = running.Result
                Expect.equal code 500 "cancelled status"
                Expect.equal ((json body).["error"].GetValue<string>()) "Query cancelled" "cancelled error"
                Expect.equal id (Some "slow-1") "id header on errors"
                Expect.equal (fst (delete r "/druid/v2/slow-1")) 404 "no longer running"

                // A timeout in the context: 504 Query timeout.
                let code, body, _ = postQuery r "/druid/v2" (slowQuery "slow-2" 20)
                Expect.equal code 504 "timeout status"
                let error = json body
                Expect.equal (error.["error"].GetValue<string>()) "Query timeout" "timeout error"
                Expect.equal (error.["errorClass"].GetValue<string>()) "java.util.concurrent.TimeoutException" "timeout class"
                Expect.equal (error.["errorMessage"].GetValue<string>()) "Query [slow-2] timed out." "timeout message"

                // Other queries are unaffected.
                let code, _, _ = postQuery r "/druid/v2" """{"queryType":"timeBoundary","dataSource":"wiki"}"""
                Expect.equal code 200 "still serving"
            }
        ])

/// Druid's retention rules over HTTP: the rules API and its audit trail, a batch data source
/// served only where a load rule keeps it, and a Kafka task whose segments a drop rule matches
/// finishing its handoff at once even with handoffConditionTimeout 0 (wait forever).
module FunctionalDruid.Tests.Host.RetentionRulesHttpTests

open System
open System.Net.Http
open System.Text
open System.Text.Json.Nodes
open Expecto
open FunctionalDruid.Tests
open FunctionalDruid.Tests.ServerHarness
open FunctionalDruid.Tests.Host.KafkaSupport

let private rulesRoot = "/druid/coordinator/v1/rules"

let private postRules (r: Running) (ds: string) (author: string) (comment: string) (body: string) =
    use request = new HttpRequestMessage(HttpMethod.Post, sprintf "%s/%s" rulesRoot ds)
    request.Content <- new StringContent(body, Encoding.UTF8, "application/json")
    request.Headers.Add("X-Druid-Author", author)
    request.Headers.Add("X-Druid-Comment", comment)
    use response = r.Client.SendAsync(request).Result
    int response.StatusCode, response.Content.ReadAsStringAsync().Result

let private batchSpec (dataSource: string) =
    let rows =
        [ """{"ts":"2015-09-12T00:46:58Z","channel":"#en","added":36}"""
          """{"ts":"2015-09-12T01:47:00Z","channel":"#ca","added":17}"""
          """{"ts":"2015-09-13T02:47:08Z","channel":"#vi","added":18}"""
          """{"ts":"2015-09-14T03:00:00Z","channel":"#en","added":5}""" ]
    let data = Text.Json.JsonSerializer.Serialize(String.concat "\n" rows)
    sprintf """{"type":"index_parallel","spec":{"dataSchema":{"dataSource":"%s","timestampSpec":{"column":"ts"},
               "dimensionsSpec":{"dimensions":["channel"]},
               "metricsSpec":[{"type":"count","name":"count"},{"type":"longSum","name":"added","fieldName":"added"}],
               "granularitySpec":{"segmentGranularity":"day","queryGranularity":"none","rollup":false}},
               "ioConfig":{"type":"index_parallel","inputSource":{"type":"inline","data":%s},"inputFormat":{"type":"json"}}}}""" dataSource data

let private usedIntervals (r: Running) (ds: string) =
    let code, body = get r (sprintf "/druid/coordinator/v1/metadata/datasources/%s/segments?full" ds)
    if code <> 200 then failtestf "segments of %s: %d %s" ds code body
    (json body).AsArray() |> Seq.map (fun s -> s.["interval"].GetValue<string>()) |> Seq.distinct |> Seq.sort |> List.ofSeq

let private totals (r: #IServer) (ds: string) (sumOf: string) (countOf: string) =
    let query =
        sprintf """{"queryType":"timeseries","dataSource":"%s","granularity":"all","intervals":["2000/2100"],
                   "aggregations":[{"type":"longSum","name":"sum","fieldName":"%s"},{"type":"longSum","name":"rows","fieldName":"%s"}]}""" ds sumOf countOf
    let code, body = post r "/druid/v2" query
    if code <> 200 then failtestf "query failed with %d: %s" code body
    match (json body).AsArray() |> List.ofSeq with
    | [] -> 0L, 0L
    | row :: _ -> row.["result"].["sum"].GetValue<int64>(), row.["result"].["rows"].GetValue<int64>()

[<Tests>]
let tests =
    testSequenced (
        testList "RetentionRulesHttp" [
            test "rules API: defaults, per data source, full, validation, audit history" {
                use r = start Sqlite []
                expectJson (snd (get r rulesRoot))
                    """{"_default":[{"type":"loadForever","tieredReplicants":{"_default_tier":2},"useDefaultTierForNull":true}]}""" "only the default rules"
                Expect.equal (get r (rulesRoot + "/wiki")) (200, "[]") "no rules of its own"
                let rules = """[{"type":"loadByPeriod","period":"P1M","tieredReplicants":{"hot":1}},{"type":"dropForever"}]"""
                Expect.equal (postRules r "wiki" "alice" "keep a month" rules) (200, "") "rules accepted"
                let normalised =
                    """[{"type":"loadByPeriod","period":"P1M","includeFuture":true,"tieredReplicants":{"hot":1},"useDefaultTierForNull":true},{"type":"dropForever"}]"""
                expectJson (snd (get r (rulesRoot + "/wiki"))) normalised "the stored rules"
                expectJson (snd (get r (rulesRoot + "/wiki?full")))
                    ("[" + normalised.Trim('[', ']') + """,{"type":"loadForever","tieredReplicants":{"_default_tier":2},"useDefaultTierForNull":true}]""") "with the defaults"
                expectJson (snd (get r rulesRoot))
                    ("""{"_default":[{"type":"loadForever","tieredReplicants":{"_default_tier":2},"useDefaultTierForNull":true}],"wiki":""" + normalised + "}") "every data source"
                let code, body = postRules r "wiki" "bob" "" """[{"type":"loadForever","tieredReplicants":{"hot":-2}}]"""
                Expect.equal code 400 "bad rules are rejected"
                expectJson body """{"error":"[0].tieredReplicants.hot: Replicant value [-2] is less than 0, which is not allowed"}""" "the error names the path"
                Expect.equal (postRules r "_default" "carol" "defaults" """[{"type":"loadForever","tieredReplicants":{"_default_tier":1}}]""") (200, "") "defaults replaced"
                Expect.equal (postRules r "wiki" "dave" "second" "[]") (200, "") "rules cleared"
                Expect.equal (get r (rulesRoot + "/wiki")) (200, "[]") "cleared"
                let history = (json (snd (get r (rulesRoot + "/wiki/history")))).AsArray() |> List.ofSeq
                Expect.equal (history |> List.map (fun e -> e.["key"].GetValue<string>(), e.["type"].GetValue<string>(), e.["auditInfo"].["author"].GetValue<string>(), e.["auditInfo"].["comment"].GetValue<string>(), e.["payload"].GetValue<string>()))
                    [ "wiki", "rules", "alice", "keep a month", canonical normalised
                      "wiki", "rules", "dave", "second", "[]" ] "the data source's history, oldest first"
                Expect.isTrue (history |> List.forall (fun e -> e.["auditTime"].GetValue<string>().EndsWith "Z")) "audit times are ISO instants"
                let last = (json (snd (get r (rulesRoot + "/wiki/history?count=1")))).AsArray()
                Expect.equal (last |> Seq.map (fun e -> e.["auditInfo"].["author"].GetValue<string>()) |> List.ofSeq) [ "dave" ] "count keeps the newest"
                let all = (json (snd (get r (rulesRoot + "/history")))).AsArray()
                Expect.equal (all |> Seq.map (fun e -> e.["key"].GetValue<string>()) |> List.ofSeq) [ "wiki"; "_default"; "wiki" ] "every data source's history"
                Expect.equal ((json (snd (get r (rulesRoot + "/wiki/history?interval=2000-01-01_2000-01-02")))).AsArray().Count) 0 "nothing in an old interval"
                Expect.equal (fst (get r (rulesRoot + "/wiki/history?count=0"))) 400 "count must be positive"
            }
            test "batch: loadByInterval then dropForever serves only the kept day and marks the rest unused" {
                use r = start Sqlite []
                Expect.equal (fst (postRules r "kept" "" "" """[{"type":"loadByInterval","interval":"2015-09-12/2015-09-13"},{"type":"dropForever"}]""")) 200 "rules"
                ingest r (batchSpec "kept") |> ignore
                Expect.equal (usedIntervals r "kept") [ "2015-09-12T00:00:00.000Z/2015-09-13T00:00:00.000Z" ] "only the kept day stays used"
                Expect.equal (totals r "kept" "added" "count") (53L, 2L) "only the kept day is served"
                expectJson (snd (get r "/druid/coordinator/v1/loadstatus")) """{"kept":100}""" "fully loaded"
                // A loaded segment that a new rule drops is unloaded and marked unused.
                Expect.equal (fst (postRules r "kept" "" "" """[{"type":"dropByInterval","interval":"2015-09-12/2015-09-13"}]""")) 200 "drop the kept day"
                Expect.equal (usedIntervals r "kept") [] "nothing used"
                Expect.equal (totals r "kept" "added" "count") (0L, 0L) "nothing served"
                // Zero replicas: the segments stay used but are not loaded, and load status counts only what should load.
                ingest r ((batchSpec "zero").Replace("\"kept\"", "\"zero\"")) |> ignore
                Expect.equal (totals r "zero" "added" "count") (76L, 4L) "loaded by the default rule"
                Expect.equal (fst (postRules r "zero" "" "" """[{"type":"loadByInterval","interval":"2015-09-14/2015-09-15","tieredReplicants":{"_default_tier":0}}]""")) 200 "zero replicas for the last day"
                Expect.equal (usedIntervals r "zero").Length 3 "all still used"
                Expect.equal (totals r "zero" "added" "count") (71L, 3L) "the zero-replica day is not served"
                expectJson (snd (get r "/druid/coordinator/v1/datasources/zero/loadstatus")) """{"zero":100}""" "the unloaded day does not count"
            }
            test "kafka: segments a drop rule matches count as handed off with handoffConditionTimeout 0" {
                use cluster = new KafkaMockCluster.Cluster(1)
                cluster.CreateTopic("adtest", 1)
                use r = start Sqlite (fastTimings "PT60S")
                // Days 2019-06-01 and 2019-06-02 are dropped; the rest falls to the default rule.
                Expect.equal (fst (postRules r "kafkatest" "" "" """[{"type":"dropByInterval","interval":"2019-06-01/2019-06-03"}]""")) 200 "rules"
                let spec =
                    (seedSupervisorSpec cluster.Bootstraps)
                        .Replace("\"replicas\": 2,", "\"replicas\": 1,")
                        .Replace("\"reportParseExceptions\": false", "\"reportParseExceptions\": false, \"handoffConditionTimeout\": 0")
                Expect.equal (fst (post r "/druid/indexer/v1/supervisor" spec)) 200 "supervisor accepted"
                let taskId =
                    waitUntil 30.0 "an active task" (fun () -> (statusPayload r "kafkatest").["activeTasks"].AsArray() |> Seq.map (fun t -> t.["id"].GetValue<string>()) |> List.ofSeq) (fun ids -> ids.Length = 1)
                    |> List.head
                let evs = events 200 7
                cluster.Produce("adtest", evs |> List.map (fun e -> 0, eventJson e))
                let sums (es: Event list) = es |> List.sumBy (fun e -> e.Click), int64 es.Length
                waitUntil 30.0 "realtime totals" (fun () -> totals r "kafkatest" "click" "count") (fun t -> t = sums evs) |> ignore
                Expect.equal (fst (post r "/druid/indexer/v1/supervisor/kafkatest/suspend" "")) 200 "suspend: the task publishes"
                waitUntil 30.0 "the task to succeed" (fun () ->
                    let _, body = get r (sprintf "/druid/indexer/v1/task/%s/status" taskId)
                    (json body).["status"].["status"].GetValue<string>()) (fun s -> s = "SUCCESS") |> ignore
                let kept = evs |> List.filter (fun e -> e.Time >= 1559520000000L) // 2019-06-03
                Expect.equal (usedIntervals r "kafkatest" |> List.map (fun i -> i.Substring(0, 10)))
                    [ "2019-06-03"; "2019-06-04"; "2019-06-05" ] "the dropped days are unused"
                waitUntil 10.0 "only the kept days served" (fun () -> totals r "kafkatest" "click" "count") (fun t -> t = sums kept) |> ignore
                let _, report = get r (sprintf "/druid/indexer/v1/task/%s/reports" taskId)
                Expect.isTrue ((json report).["ingestionStatsAndErrors"].["payload"].["segmentAvailabilityConfirmed"].GetValue<bool>()) "handoff confirmed"
            }
        ])

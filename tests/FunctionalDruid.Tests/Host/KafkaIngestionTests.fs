/// The Kafka indexing service end to end against librdkafka's mock cluster: the seed's
/// supervisor spec and query, realtime rows, publish, handoff and exactly-once under faults.
module FunctionalDruid.Tests.Host.KafkaIngestionTests

open System
open Expecto
open FunctionalDruid.Tests
open FunctionalDruid.Tests.ServerHarness
open FunctionalDruid.Tests.Host.KafkaSupport

/// The seed example on either metadata store.
let private seedEndToEnd (kind: StoreKind) =
        test (sprintf "the seed example end to end on %s: realtime sums with replicas=2, then the same sums after publish and handoff" (match kind with Sqlite -> "sqlite" | Postgres -> "postgresql")) {
            use cluster = new KafkaMockCluster.Cluster(3)
            cluster.CreateTopic("adtest", 3)
            use r = start kind (fastTimings "PT30S")
            let code, body = post r "/druid/indexer/v1/supervisor" (seedSupervisorSpec cluster.Bootstraps)
            Expect.equal (code, body) (200, """{"id":"kafkatest"}""") "supervisor accepted"
            // Wait for the first task group, so messages go to a running task.
            waitUntil 30.0 "no active tasks" (fun () -> (statusPayload r "kafkatest").["activeTasks"].AsArray().Count) (fun n -> n = 2) |> ignore
            let evs = events 500 7
            cluster.Produce("adtest", roundRobin 3 evs)
            let expected = expectedDays evs
            Expect.equal (List.sumBy snd expected) 500L "all events are inside the query interval"
            let realtime = waitUntil 30.0 "realtime sums" (fun () -> queryDays r (seedQuery ())) (fun d -> d = expected)
            Expect.equal realtime expected "realtime sums, each row once although two replicas read it"
            Expect.equal (usedSegments r "kafkatest") 0 "nothing published yet: the sums came from the tasks' memory"
            let code, _ = post r "/druid/indexer/v1/supervisor/kafkatest/suspend" ""
            Expect.equal code 200 "suspend"
            waitIdle r "kafkatest"
            Expect.isGreaterThan (usedSegments r "kafkatest") 0 "segments published"
            Expect.equal (queryDays r (seedQuery ())) expected "the same sums from the published segments"
            let stored = (json (snd (get r "/druid/indexer/v1/supervisor/kafkatest/status"))).["payload"]
            Expect.equal (stored.["aggregateLag"].GetValue<int64>()) 0L "no lag left"
        }

[<Tests>]
let tests =
    testSequencedGroup "kafka" <| testList "Kafka ingestion" [
        seedEndToEnd Sqlite
        seedEndToEnd Postgres

        test "exactly once across 6 graceful restarts of an in-process server (SIGKILLs are in Kafka faults)" {
            use cluster = new KafkaMockCluster.Cluster(3)
            cluster.CreateTopic("adtest", 4)
            let spec = (seedSupervisorSpec cluster.Bootstraps).Replace("\"replicas\": 2,", "\"replicas\": 2, \"taskCount\": 2,")
            let args = argsFor Sqlite (TestData.tempDir "kafka-kills") (fastTimings "600")
            let mutable r = startWith args
            try
                Expect.equal (fst (post r "/druid/indexer/v1/supervisor" spec)) 200 "supervisor accepted"
                waitUntil 30.0 "no active tasks" (fun () -> (statusPayload r "kafkatest").["activeTasks"].AsArray().Count) (fun n -> n = 4) |> ignore
                let evs = events 3000 11
                let rnd = Random 5
                let batches = evs |> List.chunkBySize 500
                batches
                |> List.iteri (fun i batch ->
                    cluster.Produce("adtest", batch |> List.mapi (fun j e -> (i * 500 + j) % 4, eventJson e))
                    Threading.Thread.Sleep(rnd.Next(0, 1200))
                    // A graceful stop publishes nothing either: the next start reads again from the stored offsets.
                    r <- restart r)
                let expected = expectedDays evs
                waitUntil 60.0 "sums after the kills" (fun () -> queryDays r (seedQuery ())) (fun d -> d = expected) |> ignore
                Expect.equal (fst (post r "/druid/indexer/v1/supervisor/kafkatest/suspend" "")) 200 "suspend"
                waitIdle r "kafkatest"
                Expect.equal (queryDays r (seedQuery ())) expected "every message counted exactly once from the published segments"
            finally
                (r :> IDisposable).Dispose()
        }

        test "a broker outage makes tasks wait and resume without loss" {
            use cluster = new KafkaMockCluster.Cluster(3)
            cluster.CreateTopic("adtest", 2)
            use r = start Sqlite (fastTimings "1500")
            let produced = Produced(cluster, "adtest", 2)
            brokerOutage cluster r produced ignore
            Expect.equal (fst (post r "/druid/indexer/v1/supervisor/kafkatest/suspend" "")) 200 "suspend"
            waitIdle r "kafkatest"
            Expect.equal (queryDays r (seedQuery ())) (expectedDays produced.Events) "published sums"
        }

        test "late data for an interval that already has segments is appended as a new partition of its version" {
            use cluster = new KafkaMockCluster.Cluster(1)
            cluster.CreateTopic("adtest", 1)
            use r = start Sqlite (fastTimings "PT60S")
            let spec = (seedSupervisorSpec cluster.Bootstraps).Replace("\"replicas\": 2,", "\"replicas\": 1,")
            Expect.equal (fst (post r "/druid/indexer/v1/supervisor" spec)) 200 "supervisor accepted"
            waitUntil 30.0 "no active tasks" (fun () -> (statusPayload r "kafkatest").["activeTasks"].AsArray().Count) (fun n -> n = 1) |> ignore
            let day = 1559520000000L // 2019-06-03T00:00:00Z
            let onTime = [ for i in 0 .. 49 -> { Time = day + int64 i * 60_000L; City = "beijing"; Platform = "pc"; Click = int64 (i % 3) } ]
            cluster.Produce("adtest", onTime |> List.map (fun e -> 0, eventJson e))
            waitUntil 30.0 "first sums" (fun () -> queryDays r (seedQuery ())) (fun d -> d = expectedDays onTime) |> ignore
            post r "/druid/indexer/v1/supervisor/kafkatest/suspend" "" |> ignore
            waitIdle r "kafkatest"
            Expect.equal (usedSegments r "kafkatest") 1 "one segment for the day"
            post r "/druid/indexer/v1/supervisor/kafkatest/resume" "" |> ignore
            waitUntil 30.0 "no active tasks" (fun () -> (statusPayload r "kafkatest").["activeTasks"].AsArray().Count) (fun n -> n = 1) |> ignore
            let late = [ for i in 0 .. 19 -> { Time = day + 3_600_000L + int64 i * 1000L; City = "shanghai"; Platform = "pad"; Click = 5L } ]
            cluster.Produce("adtest", late |> List.map (fun e -> 0, eventJson e))
            let expected = expectedDays (onTime @ late)
            waitUntil 30.0 "sums with late data" (fun () -> queryDays r (seedQuery ())) (fun d -> d = expected) |> ignore
            post r "/druid/indexer/v1/supervisor/kafkatest/suspend" "" |> ignore
            waitIdle r "kafkatest"
            let _, body = get r "/druid/coordinator/v1/metadata/datasources/kafkatest/segments?full"
            let segments = (json body).AsArray() |> Seq.map (fun s -> s.["interval"].GetValue<string>(), s.["version"].GetValue<string>(), s.["shardSpec"].["partitionNum"].GetValue<int>()) |> List.ofSeq |> List.sortBy (fun (_, _, p) -> p)
            match segments with
            | [ (i0, v0, 0); (i1, v1, 1) ] ->
                Expect.equal (i0, v0) (i1, v1) "same interval and version"
                Expect.equal i0 "2019-06-03T00:00:00.000Z/2019-06-04T00:00:00.000Z" "the day"
            | other -> failtestf "expected partitions 0 and 1 of one version, got %A" other
            Expect.equal (queryDays r (seedQuery ())) expected "nothing dropped"
            let _, tasksBody = get r "/druid/indexer/v1/tasks?datasource=kafkatest"
            let appended =
                (json tasksBody).AsArray()
                |> Seq.sumBy (fun t ->
                    let _, report = get r (sprintf "/druid/indexer/v1/task/%s/reports" (t.["id"].GetValue<string>()))
                    (json report).["ingestionStatsAndErrors"].["payload"].["lateData"].["rowsAppendedToExistingIntervals"].GetValue<int64>())
            Expect.equal appended 20L "the report counts the late rows"
        }

        test "malformed messages are counted as parse exceptions and never stop the stream" {
            use cluster = new KafkaMockCluster.Cluster(1)
            cluster.CreateTopic("adtest", 1)
            use r = start Sqlite (fastTimings "PT60S")
            let spec = (seedSupervisorSpec cluster.Bootstraps).Replace("\"replicas\": 2,", "\"replicas\": 1,")
            Expect.equal (fst (post r "/druid/indexer/v1/supervisor" spec)) 200 "supervisor accepted"
            let active = waitUntil 30.0 "no active tasks" (fun () -> (statusPayload r "kafkatest").["activeTasks"].AsArray()) (fun a -> a.Count = 1)
            let taskId = active.[0].["id"].GetValue<string>()
            Expect.stringStarts taskId "index_kafka_kafkatest_" "Druid's task id"
            let good = events 100 31
            let bad = [ "this is not json"; "{\"timestamp\":\"yesterday\",\"city\":\"x\",\"click\":\"1\"}"; "{broken" ]
            cluster.Produce("adtest", (good |> List.map eventJson |> List.take 50) @ bad @ (good |> List.skip 50 |> List.map eventJson) |> List.map (fun m -> 0, m))
            waitUntil 30.0 "sums of the good messages" (fun () -> queryDays r (seedQuery ())) (fun d -> d = expectedDays good) |> ignore
            let stats () =
                let _, report = get r (sprintf "/druid/indexer/v1/task/%s/reports" taskId)
                let payload = (json report).["ingestionStatsAndErrors"].["payload"]
                let row = payload.["rowStats"].["buildSegments"]
                row.["processed"].GetValue<int64>(), row.["unparseable"].GetValue<int64>(), payload.["unparseableEvents"].["buildSegments"].AsArray().Count
            Expect.equal (stats ()) (100L, 3L, 3) "processed, unparseable, saved parse errors"
            let _, status = get r (sprintf "/druid/indexer/v1/task/%s/status" taskId)
            let s = (json status).["status"]
            Expect.equal (s.["type"].GetValue<string>(), s.["statusCode"].GetValue<string>(), s.["runnerStatusCode"].GetValue<string>()) ("index_kafka", "RUNNING", "RUNNING") "task API status"
            let _, payload = get r (sprintf "/druid/indexer/v1/task/%s" taskId)
            let io = (json payload).["payload"].["ioConfig"]
            Expect.equal (io.["startSequenceNumbers"].["partitionSequenceNumberMap"].ToJsonString()) """{"0":0}""" "start offsets in the payload"
        }
    ]

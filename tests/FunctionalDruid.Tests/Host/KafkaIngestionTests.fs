/// The Kafka indexing service end to end against librdkafka's mock cluster: the seed's
/// supervisor spec and query, realtime rows, publish, handoff and exactly-once under faults.
module FunctionalDruid.Tests.Host.KafkaIngestionTests

open System
open Expecto
open FunctionalDruid.Tests
open FunctionalDruid.Tests.ServerHarness
open FunctionalDruid.Tests.Host.KafkaSupport

[<Tests>]
let tests =
    testSequencedGroup "kafka" <| testList "Kafka ingestion" [
        test "the seed example end to end: realtime sums with replicas=2, then the same sums after publish and handoff" {
            use cluster = new KafkaMockCluster.Cluster(3)
            cluster.CreateTopic("adtest", 3)
            use r = start Sqlite (fastTimings "PT30S")
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
    ]

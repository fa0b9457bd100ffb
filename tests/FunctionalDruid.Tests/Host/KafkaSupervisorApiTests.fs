/// The supervisor API in Druid's shapes: create, list, spec, status, suspend/resume, history,
/// reset, resetOffsets with preview, terminate, and the *All operations.
module FunctionalDruid.Tests.Host.KafkaSupervisorApiTests

open System
open System.Text.Json.Nodes
open Expecto
open FunctionalDruid.Tests
open FunctionalDruid.Tests.ServerHarness
open FunctionalDruid.Tests.Host.KafkaSupport

let private root = "/druid/indexer/v1/supervisor"

let private keys (n: JsonNode) = n.AsObject() |> Seq.map (fun kv -> kv.Key) |> List.ofSeq

let private storeTests (kind: StoreKind) =
    testList (match kind with Sqlite -> "sqlite" | Postgres -> "postgresql") [
        test "create, inspect, suspend, resume, reset offsets, terminate" {
            use cluster = new KafkaMockCluster.Cluster(1)
            cluster.CreateTopic("adtest", 2)
            use r = start kind (fastTimings "PT60S")
            let spec = (seedSupervisorSpec cluster.Bootstraps).Replace("\"replicas\": 2,", "\"replicas\": 1,")
            Expect.equal (post r root spec) (200, """{"id":"kafkatest"}""") "create"
            Expect.equal (get r root) (200, """["kafkatest"]""") "ids"
            waitUntil 30.0 "running" (fun () -> (statusPayload r "kafkatest").["activeTasks"].AsArray().Count) (fun n -> n = 1) |> ignore
            expectJson (snd (get r (root + "?state=true")))
                """[{"id":"kafkatest","state":"RUNNING","detailedState":"RUNNING","healthy":true,"suspended":false}]""" "states"
            let full = (json (snd (get r (root + "?full")))).AsArray()
            Expect.equal (full.[0].["spec"].["ioConfig"].["topic"].GetValue<string>()) "adtest" "full has the spec"
            let code, specBody = get r (root + "/kafkatest")
            Expect.equal code 200 "spec"
            Expect.equal ((json specBody).["suspended"].GetValue<bool>()) false "spec says not suspended"
            Expect.equal ((json specBody).["dataSchema"].["dataSource"].GetValue<string>()) "kafkatest" "spec as posted"
            let status = statusPayload r "kafkatest"
            Expect.equal (keys status)
                [ "dataSource"; "stream"; "partitions"; "replicas"; "durationSeconds"; "activeTasks"; "publishingTasks"; "latestOffsets"
                  "minimumLag"; "aggregateLag"; "offsetsLastUpdated"; "suspended"; "healthy"; "state"; "detailedState"; "recentErrors" ] "status fields"
            Expect.equal (status.["partitions"].GetValue<int>(), status.["durationSeconds"].GetValue<int64>()) (2, 60L) "partitions, duration"
            Expect.equal (keys status.["activeTasks"].[0]) [ "id"; "startingOffsets"; "startTime"; "remainingSeconds"; "type"; "currentOffsets"; "lag" ] "task report fields"

            let evs = events 40 3
            cluster.Produce("adtest", roundRobin 2 evs)
            waitUntil 30.0 "rows" (fun () -> queryDays r (seedQuery ())) (fun d -> d = expectedDays evs) |> ignore
            let suspended = json (snd (post r (root + "/kafkatest/suspend") ""))
            Expect.equal (suspended.["suspended"].GetValue<bool>()) true "suspend returns the spec"
            waitIdle r "kafkatest"
            Expect.equal ((statusPayload r "kafkatest").["detailedState"].GetValue<string>()) "SUSPENDED" "suspended state"
            Expect.equal (fst (post r (root + "/kafkatest/suspend") "")) 400 "already suspended"
            Expect.equal (((json (snd (get r (root + "/kafkatest/history")))).AsArray()).Count) 2 "history: created, suspended"

            // The stored offsets are at 20/20; a preview shows the effect and changes nothing.
            let resetBody = """{"type":"kafka","partitions":{"type":"end","stream":"adtest","partitionOffsetMap":{"0":25,"1":5}}}"""
            let preview = json (snd (post r (root + "/kafkatest/resetOffsets?preview=true") resetBody))
            expectJson (preview.ToJsonString())
                """{"id":"kafkatest","applied":false,"partitions":[
                    {"partition":0,"currentOffset":20,"requestedOffset":25,"skippedMessages":5,"rereadMessages":0,"outOfRange":true},
                    {"partition":1,"currentOffset":20,"requestedOffset":5,"skippedMessages":0,"rereadMessages":15,"outOfRange":false}]}""" "preview"
            let applied = json (snd (post r (root + "/kafkatest/resetOffsets") """{"type":"kafka","partitions":{"type":"end","stream":"adtest","partitionOffsetMap":{"1":5}}}"""))
            Expect.equal (applied.["applied"].GetValue<bool>()) true "applied"
            Expect.equal (fst (post r (root + "/kafkatest/resetOffsets") """{"type":"kafka","partitions":{"type":"end","stream":"other","partitionOffsetMap":{"1":5}}}""")) 400 "wrong stream"

            // Resumed, partition 1 is read again from offset 5: 15 of its messages are counted twice, as the preview said.
            let resumed = json (snd (post r (root + "/kafkatest/resume") ""))
            Expect.equal (resumed.["suspended"].GetValue<bool>()) false "resume returns the spec"
            let reread = evs |> List.indexed |> List.filter (fun (i, _) -> i % 2 = 1) |> List.map snd |> List.skip 5
            waitUntil 30.0 "re-read rows" (fun () -> queryDays r (seedQuery ())) (fun d -> d = expectedDays (evs @ reread)) |> ignore

            Expect.equal (post r (root + "/kafkatest/reset") "") (200, """{"id":"kafkatest"}""") "hard reset"
            Expect.equal (post r (root + "/kafkatest/terminate") "") (200, """{"id":"kafkatest"}""") "terminate"
            Expect.equal (get r root) (200, "[]") "no supervisors left"
            Expect.equal (fst (get r (root + "/kafkatest/status"))) 404 "terminated"
            let history = (json (snd (get r (root + "/kafkatest/history")))).AsArray()
            Expect.equal (history.[0].["spec"].["type"].GetValue<string>()) "NoopSupervisorSpec" "terminate leaves a tombstone"
            Expect.equal (fst (get r (root + "/nope/status"))) 404 "unknown supervisor"
            let code, body = post r root """{"type":"kafka","dataSchema":{"dataSource":"x"}}"""
            Expect.equal code 400 "invalid spec"
            Expect.stringContains body "ioConfig" "names the missing part"
        }

        test "suspendAll, resumeAll and terminateAll; a server restart brings supervisors back" {
            use cluster = new KafkaMockCluster.Cluster(1)
            cluster.CreateTopic("adtest", 1)
            let mutable r = start kind (fastTimings "PT60S")
            try
                let spec = (seedSupervisorSpec cluster.Bootstraps).Replace("\"replicas\": 2,", "\"replicas\": 1,")
                Expect.equal (fst (post r root spec)) 200 "first"
                Expect.equal (fst (post r root (spec.Replace("\"kafkatest\"", "\"kafkatest2\"")))) 200 "second"
                Expect.equal (get r root) (200, """["kafkatest","kafkatest2"]""") "both"
                Expect.equal (post r (root + "/suspendAll") "") (200, """{"status":"success"}""") "suspendAll"
                let suspendedStates =
                    """[{"id":"kafkatest","state":"SUSPENDED","detailedState":"SUSPENDED","healthy":true,"suspended":true},{"id":"kafkatest2","state":"SUSPENDED","detailedState":"SUSPENDED","healthy":true,"suspended":true}]"""
                waitUntil 30.0 "both suspended" (fun () -> canonical (snd (get r (root + "?state=true")))) (fun s -> s = suspendedStates) |> ignore
                r <- restart r
                Expect.equal (get r root) (200, """["kafkatest","kafkatest2"]""") "restored from the metadata store"
                Expect.equal ((json (snd (get r (root + "/kafkatest2")))).["suspended"].GetValue<bool>()) true "still suspended"
                Expect.equal (post r (root + "/resumeAll") "") (200, """{"status":"success"}""") "resumeAll"
                waitUntil 30.0 "running again" (fun () -> (statusPayload r "kafkatest").["activeTasks"].AsArray().Count) (fun n -> n = 1) |> ignore
                Expect.equal (post r (root + "/terminateAll") "") (200, """{"status":"success"}""") "terminateAll"
                Expect.equal (get r root) (200, "[]") "none left"
            finally
                (r :> IDisposable).Dispose()
        }
    ]

[<Tests>]
let tests = testSequencedGroup "kafka" <| testList "Kafka supervisor API" [ storeTests Sqlite; storeTests Postgres ]

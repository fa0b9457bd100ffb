/// Kafka indexing behaviours against librdkafka's mock cluster: failed replicas replaced while
/// their twin reads, stored offsets the stream no longer holds (resetOffsetAutomatically),
/// Kafka task status and reports after a restart.
module FunctionalDruid.Tests.Host.KafkaBehaviourTests

open System
open System.Text.Json.Nodes
open Expecto
open FunctionalDruid.Tests
open FunctionalDruid.Tests.ServerHarness
open FunctionalDruid.Tests.Host.KafkaSupport

let private root = "/druid/indexer/v1/supervisor"

let private activeIds (r: Running) =
    (statusPayload r "kafkatest").["activeTasks"].AsArray() |> Seq.map (fun t -> t.["id"].GetValue<string>()) |> List.ofSeq |> List.sort

let private taskStatus (r: Running) (id: string) =
    let code, body = get r (sprintf "/druid/indexer/v1/task/%s/status" id)
    if code <> 200 then failtestf "status of %s: %d %s" id code body
    let s = (json body).["status"]
    s.["status"].GetValue<string>(), (match s.["errorMsg"] with null -> null | e -> e.GetValue<string>())

let private report (r: Running) (id: string) =
    let code, body = get r (sprintf "/druid/indexer/v1/task/%s/reports" id)
    if code <> 200 then failtestf "reports of %s: %d %s" id code body
    canonical body

let private published (reportText: string) =
    (json reportText).["ingestionStatsAndErrors"].["payload"].["segmentsPublished"].AsArray() |> Seq.map (fun s -> s.GetValue<string>()) |> List.ofSeq |> List.sort

let private recentMessages (r: Running) =
    (statusPayload r "kafkatest").["recentErrors"].AsArray() |> Seq.map (fun e -> e.["message"].GetValue<string>()) |> List.ofSeq

let private singleReplica (bootstraps: string) = (seedSupervisorSpec bootstraps).Replace("\"replicas\": 2,", "\"replicas\": 1,")

let private withAutoReset (spec: string) =
    spec.Replace("\"reportParseExceptions\": false", "\"reportParseExceptions\": false, \"resetOffsetAutomatically\": true")

/// Ingests `evs` into partition 0, publishes them (suspend), then stores offset 1000, far past
/// the 10 messages the partition holds, and resumes.
let private storeUnavailableOffset (r: Running) (cluster: KafkaMockCluster.Cluster) (spec: string) (evs: Event list) =
    Expect.equal (fst (post r root spec)) 200 "supervisor accepted"
    waitUntil 30.0 "no active task" (fun () -> activeIds r |> List.length) (fun n -> n = 1) |> ignore
    cluster.Produce("adtest", evs |> List.map (fun e -> 0, eventJson e))
    waitUntil 30.0 "first sums" (fun () -> queryDays r (seedQuery ())) (fun d -> d = expectedDays evs) |> ignore
    Expect.equal (fst (post r (root + "/kafkatest/suspend") "")) 200 "suspend"
    waitIdle r "kafkatest"
    let reset = """{"type":"kafka","partitions":{"type":"end","stream":"adtest","partitionOffsetMap":{"0":1000}}}"""
    Expect.equal (fst (post r (root + "/kafkatest/resetOffsets") reset)) 200 "offset 1000 stored"
    Expect.equal (fst (post r (root + "/kafkatest/resume") "")) 200 "resume"

let storeTests (kind: StoreKind) =
    let name = match kind with Sqlite -> "sqlite" | Postgres -> "postgresql"
    testList name [
        test "a failed replica is replaced from the group's start while its twin reads; the group publishes once; reports and status survive a restart" {
            use cluster = new KafkaMockCluster.Cluster(1)
            cluster.CreateTopic("adtest", 1)
            let mutable r = start kind (fastTimings "PT60S")
            try
                Expect.equal (fst (post r root (seedSupervisorSpec cluster.Bootstraps))) 200 "supervisor accepted"
                let twins = waitUntil 30.0 "two replicas" (fun () -> activeIds r) (fun ids -> ids.Length = 2)
                let first = events 60 41
                cluster.Produce("adtest", first |> List.map (fun e -> 0, eventJson e))
                waitUntil 30.0 "realtime sums" (fun () -> queryDays r (seedQuery ())) (fun d -> d = expectedDays first) |> ignore
                let victim, twin = twins.[0], twins.[1]
                Expect.equal (post r (sprintf "/druid/indexer/v1/task/%s/shutdown" victim) "") (200, sprintf """{"task":"%s"}""" victim) "shutdown one replica"
                let after = waitUntil 30.0 "a replacement" (fun () -> activeIds r) (fun ids -> ids.Length = 2 && not (List.contains victim ids))
                Expect.contains after twin "the twin kept reading"
                let replacement = after |> List.find (fun id -> id <> twin)
                Expect.equal (taskStatus r victim) ("FAILED", "Shutdown request from user") "the victim failed"
                let _, payload = get r (sprintf "/druid/indexer/v1/task/%s" replacement)
                Expect.equal ((json payload).["payload"].["ioConfig"].["startSequenceNumbers"].["partitionSequenceNumberMap"].ToJsonString()) """{"0":0}""" "the replacement starts at the group's start"
                Expect.isTrue (recentMessages r |> List.exists (fun m -> m.StartsWith(sprintf "Task [%s] of task group [0] failed (Shutdown request from user); starting a replacement" victim))) "the replacement is in the recent errors"
                let second = events 21 42 |> List.tail
                cluster.Produce("adtest", second |> List.map (fun e -> 0, eventJson e))
                let expected = expectedDays (first @ second)
                waitUntil 30.0 "realtime sums after the replacement" (fun () -> queryDays r (seedQuery ())) (fun d -> d = expected) |> ignore
                Expect.equal (fst (post r (root + "/kafkatest/suspend") "")) 200 "suspend"
                waitIdle r "kafkatest"
                Expect.equal (queryDays r (seedQuery ())) expected "published sums, each message once"
                Expect.equal (taskStatus r twin, taskStatus r replacement) (("SUCCESS", null), ("SUCCESS", null)) "both surviving replicas succeed"
                let reports = [ victim; twin; replacement ] |> List.map (fun id -> id, report r id)
                let publishers = reports |> List.filter (fun (_, text) -> not (published text).IsEmpty)
                Expect.equal publishers.Length 1 "exactly one replica's publish wrote segments"
                let _, segmentsBody = get r "/druid/coordinator/v1/metadata/datasources/kafkatest/segments"
                let used = (json segmentsBody).AsArray() |> Seq.map (fun s -> s.GetValue<string>()) |> List.ofSeq |> List.sort
                Expect.equal (published (snd publishers.Head)) used "the used segments are that publish's"
                let statuses = [ victim; twin; replacement ] |> List.map (taskStatus r)
                r <- restart r
                Expect.equal ([ victim; twin; replacement ] |> List.map (fun id -> id, report r id)) reports "reports after the restart"
                Expect.equal ([ victim; twin; replacement ] |> List.map (taskStatus r)) statuses "statuses after the restart"
            finally
                (r :> IDisposable).Dispose()
        }

        test "GET supervisor/{id}, ?full, history and suspend show the spec in Druid's current form, which posts back unchanged" {
            use cluster = new KafkaMockCluster.Cluster(1)
            cluster.CreateTopic("adtest", 1)
            use r = start kind (fastTimings "PT60S")
            Expect.equal (fst (post r root (seedSupervisorSpec cluster.Bootstraps))) 200 "the legacy seed spec"
            let code, specBody = get r (root + "/kafkatest")
            Expect.equal code 200 "spec"
            let spec = json specBody
            Expect.equal [ for kv in spec.AsObject() -> kv.Key ] [ "type"; "spec"; "dataSchema"; "tuningConfig"; "ioConfig"; "context"; "suspended" ] "Druid's keys"
            Expect.equal (spec.["spec"].["ioConfig"].["taskDuration"].GetValue<string>(), spec.["ioConfig"].["completionTimeout"].GetValue<string>(), spec.["tuningConfig"].["maxRowsInMemory"].GetValue<int>())
                ("PT600S", "PT1200S", 150000) "defaults and durations as Druid prints them (the server's test overrides are not part of the spec)"
            let full = (json (snd (get r (root + "?full")))).AsArray()
            Expect.equal (full.[0].["spec"].ToJsonString()) (spec.ToJsonString()) "?full shows the same spec"
            let history = (json (snd (get r (root + "/kafkatest/history")))).AsArray()
            Expect.equal (history.[0].["spec"].ToJsonString()) (spec.ToJsonString()) "history shows the same spec"
            Expect.equal (post r root specBody) (200, """{"id":"kafkatest"}""") "the GET output posts back"
            Expect.equal (canonical (snd (get r (root + "/kafkatest")))) (spec.ToJsonString()) "and reads back the same"
            let suspended = json (snd (post r (root + "/kafkatest/suspend") ""))
            Expect.equal (suspended.["suspended"].GetValue<bool>(), suspended.["spec"].["ioConfig"].["taskDuration"].GetValue<string>()) (true, "PT600S") "suspend answers with the normalized spec"
            let history = (json (snd (get r (root + "/kafkatest/history")))).AsArray()
            Expect.equal [ for h in history -> h.["spec"].["suspended"].GetValue<bool>() ] [ true; false; false ] "three versions, newest first"
        }

        test "resetOffsetAutomatically: an offset the stream no longer holds is reset to latest and recorded" {
            use cluster = new KafkaMockCluster.Cluster(1)
            cluster.CreateTopic("adtest", 1)
            use r = start kind (fastTimings "PT60S")
            let first = events 10 51
            storeUnavailableOffset r cluster (withAutoReset (singleReplica cluster.Bootstraps)) first
            let starting =
                waitUntil 30.0 "a task after the reset" (fun () -> (statusPayload r "kafkatest").["activeTasks"].AsArray() |> Seq.map (fun t -> t.["startingOffsets"].ToJsonString()) |> List.ofSeq)
                    (fun s -> s.Length = 1)
            Expect.equal starting [ """{"0":10}""" ] "the group starts at the latest offset"
            Expect.contains (recentMessages r)
                "Previous sequenceNumber [1000] is no longer available for partition [0] (earliest: [0], latest: [10]) - automatically resetting offset to [10] (useEarliestOffset is false: messages may be skipped)"
                "the reset is recorded"
            let second = events 6 52 |> List.tail
            cluster.Produce("adtest", second |> List.map (fun e -> 0, eventJson e))
            waitUntil 30.0 "sums after the reset" (fun () -> queryDays r (seedQuery ())) (fun d -> d = expectedDays (first @ second)) |> ignore
            Expect.equal ((statusPayload r "kafkatest").["detailedState"].GetValue<string>()) "RUNNING" "running"
        }

        test "without resetOffsetAutomatically an unavailable offset stops the supervisor with a clear error until the offsets are reset" {
            use cluster = new KafkaMockCluster.Cluster(1)
            cluster.CreateTopic("adtest", 1)
            use r = start kind (fastTimings "PT60S")
            let first = events 10 53
            storeUnavailableOffset r cluster (singleReplica cluster.Bootstraps) first
            waitUntil 30.0 "unhealthy" (fun () -> (statusPayload r "kafkatest").["detailedState"].GetValue<string>()) (fun s -> s = "UNHEALTHY_SUPERVISOR") |> ignore
            let status = statusPayload r "kafkatest"
            Expect.equal (status.["state"].GetValue<string>(), status.["healthy"].GetValue<bool>(), status.["activeTasks"].AsArray().Count)
                ("UNHEALTHY_SUPERVISOR", false, 0) "no task reads from a made-up offset"
            Expect.equal (List.last (recentMessages r))
                "Previous sequenceNumber [1000] is no longer available for partition [0] (earliest: [0], latest: [10]). You can clear the previous sequenceNumber and start reading from a valid message by using the supervisor's reset API."
                "the error says what to do"
            let second = events 6 54 |> List.tail
            cluster.Produce("adtest", second |> List.map (fun e -> 0, eventJson e))
            let preview = json (snd (post r (root + "/kafkatest/resetOffsets?preview=true") """{"type":"kafka","partitions":{"type":"end","stream":"adtest","partitionOffsetMap":{"0":10}}}"""))
            Expect.equal (preview.["partitions"].[0].["currentOffset"].GetValue<int64>()) 1000L "nothing moved the stored offset"
            Expect.equal (queryDays r (seedQuery ())) (expectedDays first) "nothing was read or skipped"
            Expect.equal (fst (post r (root + "/kafkatest/resetOffsets") """{"type":"kafka","partitions":{"type":"end","stream":"adtest","partitionOffsetMap":{"0":10}}}""")) 200 "reset to a valid offset"
            waitUntil 30.0 "sums after the manual reset" (fun () -> queryDays r (seedQuery ())) (fun d -> d = expectedDays (first @ second)) |> ignore
            Expect.equal ((statusPayload r "kafkatest").["detailedState"].GetValue<string>()) "RUNNING" "healthy again"
        }
    ]

[<Tests>]
let tests = testSequencedGroup "kafka" <| testList "Kafka behaviours" [ storeTests Sqlite; storeTests Postgres ]

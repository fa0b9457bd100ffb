/// A Kafka supervisor with `topicPattern` against librdkafka's mock cluster: every topic whose
/// whole name matches is read, offsets are stored per "topic:partition", and a topic that starts
/// to match later is read from the next supervisor period on.
module FunctionalDruid.Tests.Host.KafkaTopicPatternTests

open System
open Expecto
open FunctionalDruid.Tests
open FunctionalDruid.Tests.ServerHarness
open FunctionalDruid.Tests.Host.KafkaSupport

let private spec (bootstraps: string) =
    sprintf """{"type":"kafka","spec":{
  "dataSchema":{"dataSource":"multi","timestampSpec":{"column":"ts","format":"millis"},
    "dimensionsSpec":{"dimensions":["src"]},
    "metricsSpec":[{"type":"count","name":"count"},{"type":"longSum","name":"value","fieldName":"value"}],
    "granularitySpec":{"segmentGranularity":"day","queryGranularity":"none","rollup":false}},
  "ioConfig":{"topicPattern":"metrics-.*","inputFormat":{"type":"json"},"consumerProperties":{"bootstrap.servers":"%s"},
    "taskCount":2,"replicas":1,"useEarliestOffset":true},
  "tuningConfig":{"type":"kafka"}}}""" bootstraps

let private query =
    """{"queryType":"groupBy","dataSource":"multi","intervals":["2019-06-01/2019-06-10"],"granularity":"all",
        "dimensions":["src"],
        "aggregations":[{"type":"longSum","name":"rows","fieldName":"count"},{"type":"longSum","name":"value","fieldName":"value"}]}"""

/// (src, rows, sum of value) per source, sorted.
let private perSource (r: Running) =
    let code, body = post r "/druid/v2" query
    if code <> 200 then failtestf "query failed with %d: %s" code body
    [ for row in (json body).AsArray() do
        let e = row.["event"]
        yield e.["src"].GetValue<string>(), e.["rows"].GetValue<int64>(), e.["value"].GetValue<int64>() ]
    |> List.sort

/// Messages for a topic: (partition, json) round-robin, and the oracle (rows, sum) per partition.
let private messages (topic: string) (partitions: int) (count: int) (seed: int) =
    let rnd = Random seed
    let start = 1559347200000L // 2019-06-01
    [ for i in 0 .. count - 1 ->
        let value = rnd.Next 100
        i % partitions, value, sprintf """{"ts":%d,"src":"%s","value":%d}""" (start + rnd.NextInt64(3L * 86_400_000L)) topic value ]

let private expectedOf (topic: string) (msgs: (int * int * string) list) =
    topic, int64 msgs.Length, msgs |> List.sumBy (fun (_, v, _) -> int64 v)

let private endOffsets (topic: string) (msgs: (int * int * string) list) =
    msgs |> List.countBy (fun (p, _, _) -> p) |> List.map (fun (p, n) -> sprintf "%s:%d" topic p, int64 n)

/// The stored offsets of the given keys, read through a resetOffsets preview (which changes nothing).
let private storedOffsets (r: Running) (keys: string list) =
    let body =
        sprintf """{"type":"kafka","partitions":{"type":"end","stream":"metrics-.*","partitionOffsetMap":{%s}}}"""
            (keys |> List.map (sprintf "\"%s\":0") |> String.concat ",")
    let code, text = post r "/druid/indexer/v1/supervisor/multi/resetOffsets?preview=true" body
    if code <> 200 then failtestf "preview failed with %d: %s" code text
    [ for p in (json text).["partitions"].AsArray() ->
        p.["partition"].GetValue<string>(), (match p.["currentOffset"] with null -> None | c -> Some(c.GetValue<int64>())) ]
    |> List.sort

[<Tests>]
let tests =
    testSequencedGroup "kafka" <| testList "Kafka topicPattern" [
        test "every topic the pattern matches as a whole is read with exact sums, offsets stored per topic:partition, a later topic joins on the next period" {
            use cluster = new KafkaMockCluster.Cluster(1)
            cluster.CreateTopic("metrics-a", 3)
            cluster.CreateTopic("metrics-b", 2)
            // Contains a match of the pattern but is not one as a whole: never read.
            cluster.CreateTopic("ametrics-x", 2)
            let a = messages "metrics-a" 3 301 1
            let b = messages "metrics-b" 2 152 2
            let x = messages "ametrics-x" 2 77 3
            let produce topic msgs = cluster.Produce(topic, msgs |> List.map (fun (p, _, m) -> p, m))
            produce "metrics-a" a
            produce "metrics-b" b
            produce "ametrics-x" x
            use r = start Sqlite (fastTimings "PT60S")
            let code, body = post r "/druid/indexer/v1/supervisor" (spec cluster.Bootstraps)
            Expect.equal (code, body) (200, """{"id":"multi"}""") "supervisor accepted"
            let expected = [ expectedOf "metrics-a" a; expectedOf "metrics-b" b ]
            let first = waitUntil 30.0 "sums of the matching topics" (fun () -> perSource r) (fun d -> d = expected)
            Expect.equal first expected "each matching topic's rows and sum exactly once, nothing of ametrics-x"
            let status = statusPayload r "multi"
            let latestKeys = status.["latestOffsets"].AsObject() |> Seq.map (fun kv -> kv.Key) |> List.ofSeq |> List.sort
            Expect.equal latestKeys [ "metrics-a:0"; "metrics-a:1"; "metrics-a:2"; "metrics-b:0"; "metrics-b:1" ] "latest offsets per topic:partition"
            Expect.equal (status.["partitions"].GetValue<int>(), status.["stream"].GetValue<string>()) (5, "metrics-.*") "partitions of all topics, the pattern as stream"
            let assigned =
                status.["activeTasks"].AsArray()
                |> Seq.collect (fun t -> t.["startingOffsets"].AsObject() |> Seq.map (fun kv -> kv.Key))
                |> List.ofSeq |> List.sort
            Expect.equal assigned latestKeys "every partition read by exactly one task group"

            cluster.CreateTopic("metrics-c", 4)
            let c = messages "metrics-c" 4 203 4
            produce "metrics-c" c
            let expected = expected @ [ expectedOf "metrics-c" c ]
            let later = waitUntil 30.0 "sums with the later topic" (fun () -> perSource r) (fun d -> d = expected)
            Expect.equal later expected "the later topic is read from its earliest offset, the others not twice"

            Expect.equal (fst (post r "/druid/indexer/v1/supervisor/multi/suspend" "")) 200 "suspend"
            waitIdle r "multi"
            Expect.isGreaterThan (usedSegments r "multi") 0 "segments published"
            Expect.equal (perSource r) expected "the same sums from the published segments"
            let ends = (endOffsets "metrics-a" a @ endOffsets "metrics-b" b @ endOffsets "metrics-c" c) |> List.sort
            let stored = storedOffsets r ((ends |> List.map fst) @ [ "ametrics-x:0"; "ametrics-x:1" ])
            Expect.equal stored ((ends |> List.map (fun (k, o) -> k, Some o)) @ [ "ametrics-x:0", None; "ametrics-x:1", None ] |> List.sort)
                "stored offsets per topic:partition are the topics' end offsets; the non-matching topic has none"
        }
    ]

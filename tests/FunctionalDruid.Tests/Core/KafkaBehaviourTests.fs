/// The supervisor's rules added for issue 5's missing behaviours: what happens to stored
/// offsets the stream no longer holds.
module FunctionalDruid.Tests.Core.KafkaBehaviourTests

open System
open Expecto
open FsCheck
open FunctionalDruid.Core
open FunctionalDruid.Core.KafkaOffsets

let private offsets (pairs: (int * int64) list) : OffsetMap = Map.ofList pairs

let resetTests =
    testList "unavailable stored offsets" [
        test "offsets inside [earliest, latest] are available, the ends included" {
            let stored = offsets [ 0, 5L; 1, 10L; 2, 3L ]
            Expect.equal (checkStoredOffsets stored [ 0; 1; 2 ] (offsets [ 0, 5L; 1, 0L; 2, 0L ]) (offsets [ 0, 9L; 1, 10L; 2, 3L ]) false false)
                StartCheck.Available "available"
        }
        test "partitions without a stored offset or without watermarks are not checked" {
            Expect.equal (checkStoredOffsets (offsets [ 1, 99L ]) [ 0; 1 ] (offsets [ 0, 5L ]) (offsets [ 0, 9L ]) false false) StartCheck.Available "unchecked"
        }
        test "with resetOffsetAutomatically an offset past the end goes to latest, one before the start to earliest when useEarliestOffset" {
            let stored = offsets [ 0, 1000L; 1, 2L; 2, 7L ]
            let earliest = offsets [ 0, 0L; 1, 4L; 2, 0L ]
            let latest = offsets [ 0, 10L; 1, 20L; 2, 8L ]
            match checkStoredOffsets stored [ 0; 1; 2 ] earliest latest false true with
            | StartCheck.Reset(next, notes) ->
                Expect.equal next (offsets [ 0, 10L; 1, 20L; 2, 7L ]) "latest for both"
                Expect.equal notes
                    [ "Previous sequenceNumber [1000] is no longer available for partition [0] (earliest: [0], latest: [10]) - automatically resetting offset to [10] (useEarliestOffset is false: messages may be skipped)"
                      "Previous sequenceNumber [2] is no longer available for partition [1] (earliest: [4], latest: [20]) - automatically resetting offset to [20] (useEarliestOffset is false: messages may be skipped)" ]
                    "one note per partition"
            | other -> failtestf "expected a reset, got %A" other
            match checkStoredOffsets stored [ 0; 1; 2 ] earliest latest true true with
            | StartCheck.Reset(next, _) -> Expect.equal next (offsets [ 0, 0L; 1, 4L; 2, 7L ]) "earliest for both"
            | other -> failtestf "expected a reset, got %A" other
        }
        test "without resetOffsetAutomatically the group does not start and the message says how to recover" {
            Expect.equal (checkStoredOffsets (offsets [ 0, 3L; 1, 1000L ]) [ 0; 1 ] (offsets [ 0, 0L; 1, 0L ]) (offsets [ 0, 10L; 1, 10L ]) true false)
                (StartCheck.Unavailable
                    "Previous sequenceNumber [1000] is no longer available for partition [1] (earliest: [0], latest: [10]). You can clear the previous sequenceNumber and start reading from a valid message by using the supervisor's reset API.")
                "unavailable"
        }
        testProperty "a reset changes exactly the out-of-range partitions, to an in-range offset" (fun (entries: (byte * int16 * byte * byte) list) (useEarliest: bool) ->
            let entries = entries |> List.distinctBy (fun (p, _, _, _) -> p)
            let stored = entries |> List.map (fun (p, s, _, _) -> int p, int64 s) |> Map.ofList
            let earliest = entries |> List.map (fun (p, _, lo, _) -> int p, int64 lo) |> Map.ofList
            let latest = entries |> List.map (fun (p, _, lo, len) -> int p, int64 lo + int64 len) |> Map.ofList
            let partitions = entries |> List.map (fun (p, _, _, _) -> int p)
            let outside p = stored.[p] < earliest.[p] || stored.[p] > latest.[p]
            match checkStoredOffsets stored partitions earliest latest useEarliest true with
            | StartCheck.Available -> partitions |> List.forall (outside >> not)
            | StartCheck.Reset(next, notes) ->
                notes.Length = (partitions |> List.filter outside |> List.length)
                && partitions |> List.forall (fun p ->
                    if outside p then next.[p] = (if useEarliest then earliest.[p] else latest.[p]) else next.[p] = stored.[p])
            | StartCheck.Unavailable _ -> false)
    ]

let private seedSpec () =
    let text = System.IO.File.ReadAllText(System.IO.Path.Combine(FunctionalDruid.Tests.TestData.seedsDir, "kafka-indexing-service-notes.zh.txt"))
    let start = text.IndexOf("{\n    \"type\": \"kafka\"")
    text.Substring(start, text.IndexOf("```", start) - start)

let private normalize (text: string) =
    match KafkaSpecJson.normalizeText text with
    | Ok t -> t
    | Error(path, problem) -> failtestf "rejected at %s: %s" path problem

let private part (text: string) (name: string) = (System.Text.Json.Nodes.JsonNode.Parse text).[name].ToJsonString()

let normalizedTests =
    testList "normalized supervisor specs" [
        test "the seed's legacy spec comes back in the current form with Druid's defaults and durations" {
            let n = normalize (seedSpec ())
            let root = System.Text.Json.Nodes.JsonNode.Parse n
            Expect.equal [ for kv in root.AsObject() -> kv.Key ] [ "type"; "spec"; "dataSchema"; "tuningConfig"; "ioConfig"; "context"; "suspended" ] "top-level keys"
            Expect.equal (part n "ioConfig")
                ("""{"topic":"adtest","replicas":2,"taskCount":1,"taskDuration":"PT600S","consumerProperties":{"bootstrap.servers":"hp101:9092,hp102:9092"},"""
                 + """"autoScalerConfig":null,"pollTimeout":100,"startDelay":"PT5S","period":"PT30S","useEarliestOffset":false,"completionTimeout":"PT1200S","""
                 + """"lateMessageRejectionPeriod":null,"earlyMessageRejectionPeriod":null,"lateMessageRejectionStartDateTime":null,"configOverrides":null,"idleConfig":null,"""
                 + """"stream":"adtest","useEarliestSequenceNumber":false}""") "ioConfig"
            Expect.equal (part n "tuningConfig")
                ("""{"type":"kafka","appendableIndexSpec":{"type":"onheap","preserveExistingMetrics":false},"maxRowsInMemory":150000,"maxBytesInMemory":0,"""
                 + """"skipBytesInMemoryOverheadCheck":false,"maxRowsPerSegment":5000000,"maxTotalRows":null,"intermediatePersistPeriod":"PT600S","maxPendingPersists":0,"""
                 + """"indexSpec":{"bitmap":{"type":"roaring"},"dimensionCompression":"lz4","stringDictionaryEncoding":{"type":"utf8"},"metricCompression":"lz4","longEncoding":"longs"},"""
                 + """"indexSpecForIntermediatePersists":{"bitmap":{"type":"roaring"},"dimensionCompression":"lz4","stringDictionaryEncoding":{"type":"utf8"},"metricCompression":"lz4","longEncoding":"longs"},"""
                 + """"reportParseExceptions":false,"handoffConditionTimeout":900000,"resetOffsetAutomatically":false,"segmentWriteOutMediumFactory":null,"workerThreads":null,"""
                 + """"chatRetries":8,"httpTimeout":"PT10S","shutdownTimeout":"PT80S","offsetFetchPeriod":"PT30S","intermediateHandoffPeriod":"P2147483647D","logParseExceptions":false,"""
                 + """"maxParseExceptions":2147483647,"maxSavedParseExceptions":0,"skipSequenceNumberAvailabilityCheck":false,"repartitionTransitionDuration":"PT120S"}""") "tuningConfig"
            let nested = System.Text.Json.Nodes.JsonNode.Parse(part n "spec")
            Expect.equal (nested.["ioConfig"].ToJsonString(), nested.["tuningConfig"].ToJsonString(), nested.["dataSchema"].ToJsonString())
                (part n "ioConfig", part n "tuningConfig", part n "dataSchema") "the nested spec repeats the top-level parts"
            Expect.equal (nested.["dataSchema"].["parser"].["parseSpec"].["format"].GetValue<string>()) "json" "the legacy parser is kept"
        }
        test "the current form: topicPattern, inputFormat and given periods" {
            let text =
                """{"type":"kafka","spec":{"dataSchema":{"dataSource":"m","timestampSpec":{"column":"ts"},"dimensionsSpec":{"dimensions":[]},"granularitySpec":{"segmentGranularity":"HOUR"}},
                    "ioConfig":{"topicPattern":"metrics-.*","inputFormat":{"type":"json"},"consumerProperties":{"bootstrap.servers":"k:9092"},"taskDuration":"PT1H","period":100,
                                "lateMessageRejectionPeriod":"PT2H","useEarliestOffset":true},
                    "tuningConfig":{"type":"kafka","maxRowsInMemory":1000,"resetOffsetAutomatically":true}}}"""
            let io = System.Text.Json.Nodes.JsonNode.Parse(part (normalize text) "ioConfig")
            Expect.equal (io.["topicPattern"].GetValue<string>(), io.["stream"].GetValue<string>(), io.["inputFormat"].ToJsonString()) ("metrics-.*", "metrics-.*", """{"type":"json"}""") "pattern and format"
            Expect.equal (io.["taskDuration"].GetValue<string>(), io.["period"].GetValue<string>(), io.["lateMessageRejectionPeriod"].GetValue<string>()) ("PT3600S", "PT0.100S", "PT7200S") "durations"
            Expect.equal (io.["useEarliestOffset"].GetValue<bool>(), io.["useEarliestSequenceNumber"].GetValue<bool>()) (true, true) "earliest"
            let tuning = System.Text.Json.Nodes.JsonNode.Parse(part (normalize text) "tuningConfig")
            Expect.equal (tuning.["maxRowsInMemory"].GetValue<int>(), tuning.["resetOffsetAutomatically"].GetValue<bool>()) (1000, true) "tuning values"
        }
        test "normalizing is idempotent: the GET output posts back unchanged" {
            let once = normalize (seedSpec ())
            Expect.equal (normalize once) once "seed"
            let withId = """{"type":"kafka","id":"sup1","suspended":true,"context":{"a":1},"spec":{"dataSchema":{"dataSource":"m","timestampSpec":{"column":"ts"},"dimensionsSpec":{"dimensions":["a"]}},"ioConfig":{"topic":"t","inputFormat":{"type":"csv","columns":["ts","a"]},"consumerProperties":{"bootstrap.servers":"k:9092"}},"tuningConfig":{"type":"kafka","maxTotalRows":77}}}"""
            let n = normalize withId
            Expect.equal (normalize n) n "current form with an id"
            let parsed = match KafkaSpec.parseText n with Ok s -> s | Error e -> failtestf "%A" e
            Expect.equal (parsed.Id, parsed.Suspended, parsed.Context) ("sup1", true, [ "a", "1" ]) "id, suspended and context survive"
            Expect.equal (System.Text.Json.Nodes.JsonNode.Parse(part n "tuningConfig").["maxTotalRows"].GetValue<int64>()) 77L "given maxTotalRows"
        }
        testProperty "durations print as Joda periods in seconds" (fun (ms: uint32) ->
            let text = KafkaSpecJson.durationText (int64 ms)
            KafkaSpec.tryParseDurationMillis text = Some(int64 ms))
    ]

let topicPatternTests =
    testList "topicPattern assignment (groundwork)" [
        test "Java's String.hashCode" {
            Expect.equal (SupervisorLogic.javaStringHash "", SupervisorLogic.javaStringHash "ab", SupervisorLogic.javaStringHash "hello") (0, 3105, 99162322) "known values"
        }
        testProperty "the hash wraps as 32-bit arithmetic does" (fun (s: string) ->
            let s = if isNull s then "" else s
            let naive = s |> Seq.fold (fun (h: bigint) c -> (h * 31I + bigint (int c)) % 4294967296I) 0I
            let asInt = if naive >= 2147483648I then int (naive - 4294967296I) else int naive
            SupervisorLogic.javaStringHash s = asInt)
        test "partitions of several topics spread by hash of topic and partition" {
            // 31 * "ab".hashCode() + p = 96255 + p
            Expect.equal [ for p in 0 .. 3 -> SupervisorLogic.taskGroupOfTopicPartition 4 "ab" p ] [ 3; 0; 1; 2 ] "ab"
            Expect.equal (SupervisorLogic.taskGroupOfTopicPartition 1 "anything" 7) 0 "one group"
        }
        testProperty "multi-topic keys round-trip, topic names with colons included" (fun (topic: string) (partition: uint16) ->
            let topic = if String.IsNullOrEmpty topic then "t" else topic
            SupervisorLogic.tryParseMultiTopicKey (SupervisorLogic.multiTopicKey topic (int partition)) = Some(topic, int partition))
    ]

[<Tests>]
let tests = testList "Kafka behaviours core" [ resetTests; normalizedTests; topicPatternTests ]

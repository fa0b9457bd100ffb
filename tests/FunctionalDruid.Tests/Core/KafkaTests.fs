/// Kafka supervisor specs, the offset-commit rule and the supervisor's pure decisions.
module FunctionalDruid.Tests.Core.KafkaTests

open System
open System.IO
open Expecto
open FsCheck
open FunctionalDruid.Core
open FunctionalDruid.Core.KafkaOffsets
open FunctionalDruid.Tests

let private seedSpec () =
    let text = File.ReadAllText(Path.Combine(TestData.seedsDir, "kafka-indexing-service-notes.zh.txt"))
    let start = text.IndexOf("{\n    \"type\": \"kafka\"")
    text.Substring(start, text.IndexOf("```", start) - start)

let private parseOk (text: string) =
    match KafkaSpec.parseText text with
    | Ok s -> s
    | Error(path, problem) -> failtestf "spec rejected at %s: %s" path problem

let private parseError (text: string) =
    match KafkaSpec.parseText text with
    | Ok _ -> failtest "spec accepted"
    | Error e -> e

let private currentForm (ioExtra: string) (dims: string) =
    sprintf """{"type":"kafka","spec":{
        "dataSchema":{"dataSource":"events","timestampSpec":{"column":"ts","format":"millis"},
                      "dimensionsSpec":{"dimensions":%s},
                      "metricsSpec":[{"type":"count","name":"count"},{"type":"longSum","name":"click","fieldName":"click"}],
                      "granularitySpec":{"segmentGranularity":"HOUR","queryGranularity":"NONE","rollup":true}},
        "ioConfig":{"topic":"t","inputFormat":{"type":"json"},"consumerProperties":{"bootstrap.servers":"localhost:9092"}%s},
        "tuningConfig":{"type":"kafka","maxRowsPerSegment":1000}}}""" dims ioExtra

let private offsets (pairs: (int * int64) list) : OffsetMap = Map.ofList pairs

let specTests =
    testList "supervisor specs" [
        test "the seed's legacy spec, comments and all, with Druid's defaults" {
            let s = parseOk (seedSpec ())
            Expect.equal (s.Id, s.DataSource) ("kafkatest", "kafkatest") "id is the data source"
            Expect.equal s.IoConfig.Topic (Some "adtest") "topic"
            Expect.equal s.IoConfig.BootstrapServers "hp101:9092,hp102:9092" "brokers"
            Expect.equal (s.IoConfig.Replicas, s.IoConfig.TaskCount) (2, 1) "replicas, taskCount"
            Expect.equal (s.IoConfig.TaskDurationMillis, s.IoConfig.CompletionTimeoutMillis) (600_000L, 1_200_000L) "PT10M, PT20M"
            Expect.equal (s.IoConfig.StartDelayMillis, s.IoConfig.PeriodMillis, s.IoConfig.UseEarliestOffset) (5_000L, 30_000L, false) "defaults"
            Expect.equal (s.IoConfig.LateMessageRejectionPeriodMillis, s.IoConfig.EarlyMessageRejectionPeriodMillis) (None, None) "every message is ingested by default"
            Expect.equal s.Tuning.IntermediatePersistPeriodMillis 600_000L "intermediatePersistPeriod PT10M"
            Expect.equal s.Tuning.HandoffConditionTimeoutMillis 900_000L "handoffConditionTimeout"
            Expect.equal s.Ingest.Tuning.MaxRowsInMemory 150_000 "stream maxRowsInMemory"
            Expect.equal s.Ingest.Tuning.MaxParseExceptions Int32.MaxValue "reportParseExceptions false: unlimited"
            Expect.equal s.Ingest.Tuning.Partitions (IngestSpec.PartitionsSpec.Dynamic(5_000_000, Some 20_000_000L)) "segment limits"
            Expect.equal (s.Ingest.DimensionsSpec.Dimensions |> List.map (fun d -> d.Name)) [ "city"; "platform" ] "dimensions from the parseSpec"
            Expect.equal (s.Ingest.Metrics |> List.map Aggregation.name) [ "count"; "click" ] "metrics"
            Expect.isFalse s.Ingest.Rollup "rollup false"
            Expect.isTrue s.Ingest.AppendToExisting "streams append"
            Expect.isFalse s.Suspended "not suspended"
        }
        test "the current form with inputFormat" {
            let s = parseOk (currentForm ""","taskCount":2,"taskDuration":"PT1H","lateMessageRejectionPeriod":"PT1H","useEarliestOffset":true""" """["city"]""")
            Expect.equal (s.DataSource, s.IoConfig.TaskCount, s.IoConfig.UseEarliestOffset) ("events", 2, true) "fields"
            Expect.equal s.IoConfig.LateMessageRejectionPeriodMillis (Some 3_600_000L) "late rejection"
            Expect.equal s.Ingest.Tuning.Partitions (IngestSpec.PartitionsSpec.Dynamic(1000, Some 20_000_000L)) "maxRowsPerSegment"
            Expect.isTrue s.Ingest.Rollup "rollup"
        }
        test "errors name the path in the spec as posted" {
            Expect.equal (parseError (currentForm "" """[""]""")) ("spec.dataSchema.dimensionsSpec.dimensions[0]", "Encountered dimension with null or empty name at position[0]") "current form"
            let legacy = (seedSpec ()).Replace("\"city\",", "\"\",")
            Expect.equal (parseError legacy) ("dataSchema.parser.parseSpec.dimensionsSpec.dimensions[0]", "Encountered dimension with null or empty name at position[0]") "legacy form"
            let noBrokers = (seedSpec ()).Replace("\"bootstrap.servers\"", "\"client.id\"")
            Expect.equal (parseError noBrokers) ("ioConfig.consumerProperties", "consumerProperties must contain entry for [bootstrap.servers]") "brokers required"
            let noTopic = currentForm "" """["city"]""" |> fun t -> t.Replace("\"topic\":\"t\",", "")
            Expect.equal (parseError noTopic) ("spec.ioConfig", "Either topic or topicPattern must be specified") "topic required"
            let both = (seedSpec ()).Replace("\"topic\": \"adtest\",", "\"topic\": \"adtest\", \"inputFormat\": {\"type\":\"json\"},")
            Expect.equal (parseError both) ("ioConfig.inputFormat", "Cannot use parser and inputFormat together. Try using inputFormat instead of parser.") "parser and inputFormat"
            Expect.equal (parseError """{"type":"kinesis"}""") ("type", "Supervisor type [kinesis] is not supported; supported: kafka") "type"
            let badDuration = (seedSpec ()).Replace("\"PT10M\"", "\"ten minutes\"")
            Expect.equal (fst (parseError badDuration)) "ioConfig.taskDuration" "duration path"
        }
    ]

let commitTests =
    testList "offset commits" [
        test "a range commits when the stored offsets are its start, and moves only its partitions" {
            let stored = offsets [ 0, 10L; 1, 20L; 2, 5L ]
            Expect.equal (decideCommit stored (offsets [ 0, 10L; 2, 5L ]) (offsets [ 0, 15L; 2, 9L ]))
                (CommitDecision.Commit(offsets [ 0, 15L; 1, 20L; 2, 9L ])) "commit"
        }
        test "a replica or retry of a committed range writes nothing" {
            Expect.equal (decideCommit (offsets [ 0, 15L ]) (offsets [ 0, 10L ]) (offsets [ 0, 15L ])) CommitDecision.AlreadyCommitted "twin"
            Expect.equal (decideCommit (offsets [ 0, 30L ]) (offsets [ 0, 10L ]) (offsets [ 0, 15L ])) CommitDecision.AlreadyCommitted "later ranges committed too"
        }
        test "a range whose predecessor has not committed waits; a contradicting one fails" {
            Expect.isTrue (match decideCommit (offsets [ 0, 5L ]) (offsets [ 0, 10L ]) (offsets [ 0, 15L ]) with CommitDecision.NotYet _ -> true | _ -> false) "not yet"
            Expect.isTrue (match decideCommit (offsets [ 0, 12L ]) (offsets [ 0, 10L ]) (offsets [ 0, 15L ]) with CommitDecision.Mismatch _ -> true | _ -> false) "inside"
            Expect.isTrue (match decideCommit Map.empty (offsets [ 0, 10L ]) (offsets [ 0, 15L ]) with CommitDecision.Mismatch _ -> true | _ -> false) "reset"
            Expect.isTrue (match decideCommit (offsets [ 0, 10L; 1, 8L ]) (offsets [ 0, 10L; 1, 4L ]) (offsets [ 0, 12L; 1, 8L ]) with CommitDecision.Mismatch _ -> true | _ -> false) "half done"
        }
        test "start offsets become durable only for partitions without any" {
            Expect.equal (withStartOffsets (offsets [ 0, 3L ]) (offsets [ 0, 3L; 1, 7L ])) (Some(offsets [ 0, 3L; 1, 7L ])) "adds partition 1"
            Expect.equal (withStartOffsets (offsets [ 0, 3L ]) (offsets [ 0, 3L ])) None "nothing to write"
            Expect.equal (startOffsets (offsets [ 0, 3L ]) [ 0; 1; 2 ] (offsets [ 1, 2L; 2, 4L ]) (offsets [ 1, 9L; 2, 9L ]) false) (offsets [ 0, 3L; 1, 9L; 2, 9L ]) "latest"
            Expect.equal (startOffsets Map.empty [ 1 ] (offsets [ 1, 2L ]) (offsets [ 1, 9L ]) true) (offsets [ 1, 2L ]) "earliest"
        }
        test "metadata round-trips through Druid's JSON" {
            let text = metadataJson "adtest" (offsets [ 1, 7L; 0, 3L ])
            Expect.equal text """{"type":"kafka","partitions":{"type":"end","stream":"adtest","topic":"adtest","partitionSequenceNumberMap":{"0":3,"1":7},"partitionOffsetMap":{"0":3,"1":7}}}""" "json"
            Expect.equal (parseMetadataText text) (Ok("adtest", offsets [ 0, 3L; 1, 7L ])) "parsed"
            Expect.equal (parseMetadataText """{"type":"kafka","partitions":{"type":"end","topic":"x","partitionOffsetMap":{"2":5}}}""") (Ok("x", offsets [ 2, 5L ])) "old spelling"
        }
        test "a reset preview counts what would be skipped and re-read" {
            let effects = resetPreview (offsets [ 0, 10L; 1, 10L ]) (offsets [ 0, 15L; 1, 4L; 2, 99L ]) (offsets [ 0, 0L; 1, 0L; 2, 0L ]) (offsets [ 0, 20L; 1, 20L; 2, 50L ])
            Expect.equal (effects |> List.map (fun e -> e.Partition, e.Skipped, e.Reread, e.OutOfRange)) [ 0, 5L, 0L, false; 1, 0L, 6L, false; 2, 0L, 0L, true ] "effects"
            Expect.equal (applyReset (offsets [ 0, 10L; 1, 10L ]) (offsets [ 1, 4L ])) (offsets [ 0, 10L; 1, 4L ]) "applied"
        }
    ]

/// Replicas of consecutive ranges publish in any order, crash before committing and retry;
/// the oracle: every range commits exactly once, in order, and the stored offsets end at the
/// last range's end.
let private publishSchedule (lengths: (int * int) list) (replicas: int) (seed: int) =
    let ranges =
        lengths
        |> List.scan (fun (_, e: OffsetMap) (a, b) -> e, offsets [ 0, e.[0] + int64 (((a % 5) + 5) % 5); 1, e.[1] + int64 (((b % 5) + 5) % 5) ]) (Map.empty, offsets [ 0, 0L; 1, 0L ])
        |> List.tail
    let rnd = Random seed
    let mutable stored = offsets [ 0, 0L; 1, 0L ]
    let commits = Array.zeroCreate (List.length ranges)
    let order = ResizeArray()
    let mutable mismatches = 0
    let pending = ResizeArray [ for i in 0 .. ranges.Length - 1 do for _ in 1 .. replicas -> i ]
    let mutable steps = 0
    while pending.Count > 0 && steps < 100_000 do
        steps <- steps + 1
        let k = rnd.Next pending.Count
        let i = pending.[k]
        let start, finish = ranges.[i]
        if rnd.Next 4 = 0 then () // crashed before its commit: it will try again
        else
            match decideCommit stored start finish with
            | CommitDecision.Commit next ->
                stored <- next
                commits.[i] <- commits.[i] + 1
                order.Add i
                pending.RemoveAt k
            | CommitDecision.AlreadyCommitted -> pending.RemoveAt k
            | CommitDecision.NotYet _ -> ()
            | CommitDecision.Mismatch _ ->
                mismatches <- mismatches + 1
                pending.RemoveAt k
    let lastEnd = if ranges.IsEmpty then offsets [ 0, 0L; 1, 0L ] else snd (List.last ranges)
    commits, List.ofSeq order, mismatches, stored, lastEnd, pending.Count

let propertyTests =
    testList "offset commit properties" [
        testProperty "any interleaving of replica publishes, retries and crashes commits each range exactly once" (fun (lengths: (int * int) list) (replicas: PositiveInt) (seed: int) ->
            let lengths = lengths |> List.truncate 12
            let commits, order, mismatches, stored, lastEnd, left = publishSchedule lengths (min 4 replicas.Get) seed
            // Empty ranges (no offsets move) may commit once per replica: they publish nothing.
            let ranges = List.length lengths
            let nonEmpty = lengths |> List.mapi (fun i (a, b) -> i, ((a % 5) + 5) % 5 + ((b % 5) + 5) % 5 > 0) |> List.filter snd |> List.map fst
            left = 0 && mismatches = 0 && stored = lastEnd
            && (nonEmpty |> List.forall (fun i -> commits.[i] = 1))
            && (order |> List.filter (fun i -> List.contains i nonEmpty)) = nonEmpty
            && commits.Length = ranges)
    ]

let logicTests =
    testList "supervisor decisions" [
        test "failed replicas are replaced up to three times per replica, in order" {
            Expect.equal (SupervisorLogic.replicasToReplace 2 0 [ "a"; "b" ]) [ "a"; "b" ] "room for both"
            Expect.equal (SupervisorLogic.replicasToReplace 2 5 [ "c"; "d" ]) [ "c" ] "one left of six"
            Expect.equal (SupervisorLogic.replicasToReplace 1 3 [ "e" ]) [] "none left"
            Expect.equal (SupervisorLogic.replicasToReplace 1 7 [ "e" ]) [] "over the cap"
        }
        test "partitions go to task groups by partition mod taskCount" {
            Expect.equal (SupervisorLogic.assignPartitions 2 [ 3; 0; 1; 2; 4 ]) [ 0, [ 0; 2; 4 ]; 1, [ 1; 3 ] ] "two groups"
            Expect.equal (SupervisorLogic.assignPartitions 5 [ 0; 1 ]) [ 0, [ 0 ]; 1, [ 1 ] ] "more groups than partitions"
        }
        test "reading ends after taskDuration; publishing gives up after completionTimeout" {
            Expect.isFalse (SupervisorLogic.shouldStopReading 1000L 600_000L 600_999L) "still reading"
            Expect.isTrue (SupervisorLogic.shouldStopReading 1000L 600_000L 601_000L) "done"
            Expect.equal (SupervisorLogic.remainingSeconds 0L 600_000L 1_500L) 598L "remaining"
            Expect.isTrue (SupervisorLogic.completionTimedOut 0L 1_200_000L 1_200_000L) "timed out"
        }
        test "message windows only when rejection periods are set" {
            let io = (parseOk (seedSpec ())).IoConfig
            let w = SupervisorLogic.messageWindow io 1_000_000L
            Expect.isTrue (SupervisorLogic.isUnbounded w) "unbounded by default"
            let late = SupervisorLogic.messageWindow { io with LateMessageRejectionPeriodMillis = Some 1000L; EarlyMessageRejectionPeriodMillis = Some 500L } 10_000L
            Expect.equal (late.Earliest, late.Latest) (9_000L, 10_000L + 600_000L + 500L) "window"
            Expect.isFalse (SupervisorLogic.accepts late 8_999L) "too late"
            Expect.isTrue (SupervisorLogic.accepts late 9_000L) "on time"
        }
        test "task ids, end offsets and lag" {
            Expect.equal (SupervisorLogic.taskId "kafkatest" "abcdefgh") "index_kafka_kafkatest_abcdefgh" "task id"
            Expect.equal (endOffsets (offsets [ 0, 5L; 1, 5L ]) [ offsets [ 0, 9L; 1, 5L ]; offsets [ 0, 7L; 1, 8L ] ]) (offsets [ 0, 9L; 1, 8L ]) "furthest replica"
            Expect.equal (lag (offsets [ 0, 10L ]) (offsets [ 0, 4L ])) (offsets [ 0, 6L ]) "lag"
            Expect.equal (SupervisorLogic.stateOf "LOST_CONTACT_WITH_STREAM") "UNHEALTHY_SUPERVISOR" "state"
        }
    ]

[<Tests>]
let tests = testList "Kafka core" [ specTests; commitTests; propertyTests; logicTests ]

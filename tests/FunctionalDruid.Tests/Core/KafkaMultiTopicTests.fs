/// topicPattern supervisors: partition keys as Druid writes them, stored offsets keyed by
/// "topic:partition", the single-topic shape unchanged, assignment and whole-name matching.
module FunctionalDruid.Tests.Core.KafkaMultiTopicTests

open System
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Core.KafkaOffsets

let private io (topic: string option) (pattern: string option) : KafkaSpec.KafkaIoConfig =
    let text =
        sprintf """{"type":"kafka","spec":{
            "dataSchema":{"dataSource":"d","timestampSpec":{"column":"ts","format":"millis"},"dimensionsSpec":{"dimensions":[]},
                          "granularitySpec":{"segmentGranularity":"HOUR","queryGranularity":"NONE"}},
            "ioConfig":{%s,"inputFormat":{"type":"json"},"consumerProperties":{"bootstrap.servers":"k:9092"}}}}"""
            (match topic, pattern with
             | Some t, _ -> sprintf "\"topic\":\"%s\"" t
             | _, Some p -> sprintf "\"topicPattern\":%s" (Text.Json.JsonSerializer.Serialize p)
             | _ -> "")
    match KafkaSpec.parseText text with
    | Ok s -> s.IoConfig
    | Error(path, problem) -> failtestf "spec rejected at %s: %s" path problem

let private tp = topicPartition
let private sp = singleTopicPartition

let private nonEmptyTopic (s: string) = if String.IsNullOrEmpty s then "t" else s

let keyTests =
    testList "partition keys" [
        test "Druid's key text and its reading" {
            Expect.equal (string (sp 3), string (tp "metrics-a" 12)) ("3", "metrics-a:12") "text"
            Expect.equal (tryParseStreamPartition "3") (Some(sp 3)) "bare number: the single topic"
            Expect.equal (tryParseStreamPartition "a:b:7") (Some(tp "a:b" 7)) "the last colon separates"
            Expect.equal ([ ":1"; "x"; "t:"; "t:-1"; "" ] |> List.map tryParseStreamPartition) [ None; None; None; None; None ] "not keys"
        }
        testProperty "keys round-trip" (fun (topic: string) (partition: uint16) (multi: bool) ->
            let key = if multi then tp (nonEmptyTopic topic) (int partition) else sp (int partition)
            tryParseStreamPartition (string key) = Some key)
        test "multi-topic stored offsets: the pattern as stream, topic:partition keys in topic then partition order" {
            let offsets = Map.ofList [ tp "metrics-b" 0, 4L; tp "metrics-a" 10, 7L; tp "metrics-a" 2, 3L ]
            let text = metadataJson "metrics-.*" offsets
            Expect.equal text
                """{"type":"kafka","partitions":{"type":"end","stream":"metrics-.*","topic":"metrics-.*","partitionSequenceNumberMap":{"metrics-a:2":3,"metrics-a:10":7,"metrics-b:0":4},"partitionOffsetMap":{"metrics-a:2":3,"metrics-a:10":7,"metrics-b:0":4}}}"""
                "json"
            Expect.equal (parseStreamMetadataText text) (Ok("metrics-.*", offsets)) "parsed back"
        }
        testProperty "single-topic stored offsets keep their exact text" (fun (pairs: (uint16 * uint32) list) ->
            let ints = pairs |> List.map (fun (p, o) -> int p, int64 o) |> Map.ofList
            let keyed = ints |> Map.toList |> List.map (fun (p, o) -> sp p, o) |> Map.ofList
            let text = metadataJson "adtest" keyed
            text = metadataJson "adtest" ints && parseStreamMetadataText text = Ok("adtest", keyed))
        test "a key that is neither form is an error at its path" {
            match parseStreamMetadataText """{"type":"kafka","partitions":{"type":"end","stream":"s","partitionSequenceNumberMap":{"t:x":1}}}""" with
            | Error(path, _) -> Expect.equal path "partitions.partitionSequenceNumberMap.t:x" "path"
            | Ok v -> failtestf "accepted %A" v
        }
    ]

let commitTests =
    testList "commit per topic-partition" [
        test "the compare-and-swap moves each topic's partitions on their own" {
            let stored = Map.ofList [ tp "a" 0, 5L; tp "b" 0, 9L ]
            let start = Map.ofList [ tp "a" 0, 5L; tp "b" 0, 9L ]
            let finish = Map.ofList [ tp "a" 0, 8L; tp "b" 0, 9L ]
            Expect.equal (decideCommit stored start finish) (CommitDecision.Commit(Map.ofList [ tp "a" 0, 8L; tp "b" 0, 9L ])) "commit"
            Expect.equal (decideCommit (Map.ofList [ tp "a" 0, 8L; tp "b" 0, 9L ]) start finish) CommitDecision.AlreadyCommitted "replica"
            Expect.equal (decideCommit (Map.ofList [ tp "a" 0, 5L ]) start finish) (CommitDecision.Mismatch "no stored offset for partition [b:0]") "unknown key"
        }
        testProperty "single-topic keys decide exactly as partition numbers do" (fun (rows: (byte * byte * byte * byte) list) ->
            let pick f = rows |> List.map (fun (p, a, b, c) -> int (p % 4uy), int64 (f (a, b, c))) |> Map.ofList
            let stored, start = pick (fun (a, _, _) -> a), pick (fun (_, b, _) -> b)
            let finish = rows |> List.map (fun (p, _, b, c) -> int (p % 4uy), int64 b + int64 (c % 3uy)) |> Map.ofList
            let keyed (m: Map<int, int64>) = m |> Map.toList |> List.map (fun (p, o) -> sp p, o) |> Map.ofList
            let expected =
                match decideCommit stored start finish with
                | CommitDecision.Commit m -> CommitDecision.Commit(keyed m)
                | CommitDecision.AlreadyCommitted -> CommitDecision.AlreadyCommitted
                | CommitDecision.NotYet m -> CommitDecision.NotYet m
                | CommitDecision.Mismatch m -> CommitDecision.Mismatch m
            decideCommit (keyed stored) (keyed start) (keyed finish) = expected)
    ]

let assignmentTests =
    testList "assignment and matching" [
        test "partitions of all matching topics go to Druid's topic-hash groups" {
            let parts = [ tp "ab" 3; tp "ab" 0; tp "ab" 1; tp "ab" 2 ]
            Expect.equal (SupervisorLogic.assignStreamPartitions 4 parts) [ 0, [ tp "ab" 1 ]; 1, [ tp "ab" 2 ]; 2, [ tp "ab" 3 ]; 3, [ tp "ab" 0 ] ] "ab"
        }
        testProperty "every partition in exactly one group, the one Druid's rule names" (fun (count: byte) (keys: (byte * byte) list) ->
            let taskCount = 1 + int (count % 7uy)
            let parts = keys |> List.map (fun (t, p) -> tp (sprintf "topic-%d" (t % 5uy)) (int p))
            let groups = SupervisorLogic.assignStreamPartitions taskCount parts
            let flat = groups |> List.collect (fun (g, ps) -> ps |> List.map (fun p -> g, p))
            List.sort (flat |> List.map snd) = List.sort (List.distinct parts)
            && flat |> List.forall (fun (g, p) -> g = SupervisorLogic.taskGroupOfTopicPartition taskCount p.Topic p.Partition))
        testProperty "single-topic assignment is the partition-mod rule" (fun (count: byte) (ps: byte list) ->
            let taskCount = 1 + int (count % 7uy)
            let ints = ps |> List.map int
            let expected = SupervisorLogic.assignPartitions taskCount ints |> List.map (fun (g, xs) -> g, xs |> List.map sp)
            SupervisorLogic.assignStreamPartitions taskCount (ints |> List.map sp) = expected)
        test "the pattern must match the whole topic name" {
            let topics = [ "metrics-b"; "ametrics-x"; "metrics-a"; "metrics"; "metrics-a2"; "clicks"; "clicks2"; "impressions" ]
            Expect.equal (SupervisorLogic.topicsToRead (io None (Some "metrics-.*")) topics) [ "metrics-a"; "metrics-a2"; "metrics-b" ] "prefix"
            Expect.equal (SupervisorLogic.topicsToRead (io None (Some "clicks|impressions")) topics) [ "clicks"; "impressions" ] "alternation anchored as a whole"
            Expect.equal (SupervisorLogic.topicsToRead (io (Some "clicks") None) topics) [ "clicks" ] "one topic"
            Expect.equal (SupervisorLogic.topicsToRead (io None (Some ".*")) [ "__consumer_offsets"; "a" ]) [ "a" ] "Kafka's internal topics are never read"
            Expect.equal (SupervisorLogic.topicsToRead (io (Some "nope") None) topics) [] "missing topic"
        }
        testProperty "a literal prefix pattern matches exactly the topics with that prefix" (fun (prefix: byte) (names: byte list) ->
            let p = sprintf "t%d" (prefix % 10uy)
            let topics = names |> List.map (fun n -> sprintf "t%d" n) |> List.distinct
            let expected = topics |> List.filter (fun (t: string) -> t.StartsWith p) |> List.sortWith (fun a b -> String.CompareOrdinal(a, b))
            SupervisorLogic.topicsToRead (io None (Some(p + ".*"))) topics = expected)
        test "keys and topics of each kind of supervisor" {
            let multi, single = io None (Some "m-.*"), io (Some "adtest") None
            Expect.equal (SupervisorLogic.streamPartitionOf multi "m-1" 2, SupervisorLogic.streamPartitionOf single "adtest" 2) (tp "m-1" 2, sp 2) "keys"
            Expect.equal (SupervisorLogic.topicOf multi (tp "m-1" 2), SupervisorLogic.topicOf single (sp 2)) ("m-1", "adtest") "topics"
        }
        test "an invalid topicPattern is rejected at its path" {
            let text = """{"type":"kafka","dataSchema":{"dataSource":"d","timestampSpec":{"column":"ts"},"dimensionsSpec":{"dimensions":[]}},
                          "ioConfig":{"topicPattern":"metrics-(","inputFormat":{"type":"json"},"consumerProperties":{"bootstrap.servers":"k:9092"}}}"""
            match KafkaSpec.parseText text with
            | Error(path, problem) ->
                Expect.equal path "ioConfig.topicPattern" "path"
                Expect.stringStarts problem "Invalid topicPattern [metrics-(]" "message"
            | Ok _ -> failtest "accepted"
        }
    ]

[<Tests>]
let tests = testList "Kafka multi-topic core" [ keyTests; commitTests; assignmentTests ]

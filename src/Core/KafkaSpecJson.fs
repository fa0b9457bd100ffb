/// A supervisor spec as Druid's GET /druid/indexer/v1/supervisor/{id} shows it, whatever form
/// was posted: `type`, the nested `spec` and the same three parts again at the top level,
/// `context` and `suspended`, with ioConfig and tuningConfig defaults filled in and durations
/// printed the way Druid prints them (PT600S for PT10M). The normalized text parses back to
/// the same spec, so clients can GET, edit and POST it again.
module FunctionalDruid.Core.KafkaSpecJson

open System
open System.Text.Json
open FunctionalDruid.Core
open FunctionalDruid.Core.Json
open FunctionalDruid.Core.KafkaSpec

/// Joda's Period.toString of a duration in milliseconds, as Druid serializes ioConfig periods.
let durationText (millis: int64) : string =
    let seconds, ms = millis / 1000L, abs (millis % 1000L)
    if ms = 0L then sprintf "PT%dS" seconds
    else sprintf "PT%d.%03dS" seconds ms

let rec private ofElement (el: JsonElement) : Out =
    match el.ValueKind with
    | JsonValueKind.Object -> Out.Object [ for p in el.EnumerateObject() -> p.Name, ofElement p.Value ]
    | JsonValueKind.Array -> Out.Array [ for x in el.EnumerateArray() -> ofElement x ]
    | JsonValueKind.String -> Out.String(el.GetString())
    | JsonValueKind.True -> Out.Bool true
    | JsonValueKind.False -> Out.Bool false
    | JsonValueKind.Number ->
        match el.TryGetInt64() with
        | true, l -> Out.Long l
        | _ -> Out.Double(el.GetDouble())
    | _ -> Out.Null

let private posted (n: Node option) = match n with Some v -> ofElement v.El | None -> Out.Null

let private optDuration (ms: int64 option) = match ms with Some v -> Out.String(durationText v) | None -> Out.Null

let private ioConfigJson (io: KafkaIoConfig) (node: Node) : Out =
    Out.Object
        [ match io.Topic with
          | Some t -> "topic", Out.String t
          | None -> "topicPattern", Out.String(defaultArg io.TopicPattern "")
          match tryField node "inputFormat" with
          | Some f -> "inputFormat", ofElement f.El
          | None -> ()
          "replicas", Out.Long(int64 io.Replicas)
          "taskCount", Out.Long(int64 io.TaskCount)
          "taskDuration", Out.String(durationText io.TaskDurationMillis)
          "consumerProperties", Out.Object [ for (k, v) in io.ConsumerProperties -> k, Out.String v ]
          "autoScalerConfig", posted (tryField node "autoScalerConfig")
          "pollTimeout", Out.Long io.PollTimeoutMillis
          "startDelay", Out.String(durationText io.StartDelayMillis)
          "period", Out.String(durationText io.PeriodMillis)
          "useEarliestOffset", Out.Bool io.UseEarliestOffset
          "completionTimeout", Out.String(durationText io.CompletionTimeoutMillis)
          "lateMessageRejectionPeriod", optDuration io.LateMessageRejectionPeriodMillis
          "earlyMessageRejectionPeriod", optDuration io.EarlyMessageRejectionPeriodMillis
          "lateMessageRejectionStartDateTime",
          (match io.LateMessageRejectionStartDateTime with Some t -> Out.String(Time.formatIso t) | None -> Out.Null)
          "configOverrides", posted (tryField node "configOverrides")
          "idleConfig", posted (tryField node "idleConfig")
          "stream", Out.String io.Stream
          "useEarliestSequenceNumber", Out.Bool io.UseEarliestOffset ]

let private tuningConfigJson (spec: SupervisorSpec) (node: Node option) : Out =
    let t = spec.Ingest.Tuning
    let given key = node |> Option.bind (fun n -> tryField n key)
    let givenOr key (dflt: Out) = match given key with Some v -> ofElement v.El | None -> dflt
    let maxRowsPerSegment, maxTotalRows =
        match t.Partitions with
        | IngestSpec.PartitionsSpec.Dynamic(rows, total) ->
            Out.Long(int64 rows), (match given "maxTotalRows" with Some _ -> (match total with Some v -> Out.Long v | None -> Out.Null) | None -> Out.Null)
        | IngestSpec.PartitionsSpec.Hashed _ -> givenOr "maxRowsPerSegment" (Out.Long 5_000_000L), Out.Null
    let defaultIndexSpec =
        Out.Object
            [ "bitmap", Out.Object [ "type", Out.String "roaring" ]
              "dimensionCompression", Out.String "lz4"
              "stringDictionaryEncoding", Out.Object [ "type", Out.String "utf8" ]
              "metricCompression", Out.String "lz4"
              "longEncoding", Out.String "longs" ]
    Out.Object
        [ "type", Out.String "kafka"
          "appendableIndexSpec", givenOr "appendableIndexSpec" (Out.Object [ "type", Out.String "onheap"; "preserveExistingMetrics", Out.Bool false ])
          "maxRowsInMemory", Out.Long(int64 t.MaxRowsInMemory)
          "maxBytesInMemory", Out.Long t.MaxBytesInMemory
          "skipBytesInMemoryOverheadCheck", givenOr "skipBytesInMemoryOverheadCheck" (Out.Bool false)
          "maxRowsPerSegment", maxRowsPerSegment
          "maxTotalRows", maxTotalRows
          "intermediatePersistPeriod", Out.String(durationText spec.Tuning.IntermediatePersistPeriodMillis)
          "maxPendingPersists", givenOr "maxPendingPersists" (Out.Long 0L)
          "indexSpec", givenOr "indexSpec" defaultIndexSpec
          "indexSpecForIntermediatePersists", givenOr "indexSpecForIntermediatePersists" defaultIndexSpec
          "reportParseExceptions", givenOr "reportParseExceptions" (Out.Bool false)
          "handoffConditionTimeout", Out.Long spec.Tuning.HandoffConditionTimeoutMillis
          "resetOffsetAutomatically", Out.Bool spec.Tuning.ResetOffsetAutomatically
          "segmentWriteOutMediumFactory", givenOr "segmentWriteOutMediumFactory" Out.Null
          "workerThreads", givenOr "workerThreads" Out.Null
          "chatRetries", givenOr "chatRetries" (Out.Long 8L)
          "httpTimeout", givenOr "httpTimeout" (Out.String "PT10S")
          "shutdownTimeout", givenOr "shutdownTimeout" (Out.String "PT80S")
          "offsetFetchPeriod", givenOr "offsetFetchPeriod" (Out.String "PT30S")
          "intermediateHandoffPeriod", givenOr "intermediateHandoffPeriod" (Out.String "P2147483647D")
          "logParseExceptions", Out.Bool t.LogParseExceptions
          "maxParseExceptions", Out.Long(int64 t.MaxParseExceptions)
          "maxSavedParseExceptions", Out.Long(int64 spec.Tuning.MaxSavedParseExceptions)
          "skipSequenceNumberAvailabilityCheck", givenOr "skipSequenceNumberAvailabilityCheck" (Out.Bool false)
          "repartitionTransitionDuration", givenOr "repartitionTransitionDuration" (Out.String "PT120S") ]

/// The normalized form of a parsed spec; `root` is the document it was parsed from (the
/// dataSchema and nested objects such as inputFormat are kept as given).
let normalized (spec: SupervisorSpec) (root: Node) : string =
    let holder = match tryField root "spec" with Some s -> s | None -> root
    let dataSchema = ofElement (field holder "dataSchema").El
    let io = ioConfigJson spec.IoConfig (field holder "ioConfig")
    let tuning = tuningConfigJson spec (tryField holder "tuningConfig")
    let context =
        match tryField root "context" |> Option.orElse (tryField holder "context") with
        | Some c -> ofElement c.El
        | None -> Out.Null
    Out.toText false
        (Out.Object
            [ "type", Out.String "kafka"
              // Only a posted id differs from the dataSource; without it the id would change on a round trip.
              match optString root "id" with
              | Some id -> "id", Out.String id
              | None -> ()
              "spec", Out.Object [ "dataSchema", dataSchema; "ioConfig", io; "tuningConfig", tuning ]
              "dataSchema", dataSchema
              "tuningConfig", tuning
              "ioConfig", io
              "context", context
              "suspended", Out.Bool spec.Suspended ])

/// Parses spec text and returns its normalized text; errors as (path, problem).
let normalizeText (text: string) : Result<string, string * string> =
    Json.run text (fun root -> normalized (parse root) root)

/// Kafka supervisor specs, in Druid's two forms: the legacy flat one (`type`, `dataSchema`,
/// `ioConfig`, `tuningConfig` side by side, often with a legacy `parser`) and the current
/// `{"type":"kafka","spec":{...}}` one. The dataSchema is read by the batch spec parser, so
/// both ingestion paths accept and reject exactly the same schemas.
module FunctionalDruid.Core.KafkaSpec

open System
open System.IO
open System.Text
open System.Text.Json
open FunctionalDruid.Core
open FunctionalDruid.Core.Json

type KafkaIoConfig =
    { Topic: string option
      TopicPattern: string option
      /// Passed to the Kafka client as given (values as strings).
      ConsumerProperties: (string * string) list
      PollTimeoutMillis: int64
      Replicas: int
      TaskCount: int
      TaskDurationMillis: int64
      StartDelayMillis: int64
      PeriodMillis: int64
      UseEarliestOffset: bool
      CompletionTimeoutMillis: int64
      LateMessageRejectionStartDateTime: int64 option
      LateMessageRejectionPeriodMillis: int64 option
      EarlyMessageRejectionPeriodMillis: int64 option }
    /// The stream name shown in status reports and stored with offsets.
    member this.Stream = match this.Topic with Some t -> t | None -> defaultArg this.TopicPattern ""
    member this.BootstrapServers =
        this.ConsumerProperties |> List.tryFind (fun (k, _) -> k = "bootstrap.servers") |> Option.map snd |> Option.defaultValue ""

/// The streaming parts of the tuningConfig; the row and segment limits live in the IngestSpec.
type KafkaTuning =
    { IntermediatePersistPeriodMillis: int64
      HandoffConditionTimeoutMillis: int64
      ResetOffsetAutomatically: bool
      MaxSavedParseExceptions: int }

type SupervisorSpec =
    { Id: string
      DataSource: string
      /// The dataSchema and row/segment tuning, normalized exactly as for batch tasks.
      Ingest: IngestSpec.IngestSpec
      IoConfig: KafkaIoConfig
      Tuning: KafkaTuning
      Suspended: bool
      Context: (string * string) list }

/// Druid's stream defaults (SeekableStreamIndexTaskTuningConfig, KafkaSupervisorIOConfig).
let defaultMaxRowsInMemory = 150_000
let defaultMaxTotalRows = 20_000_000L

let private periodMillis (n: Node) : int64 =
    if kind n = JsonValueKind.Number then asInt64 n
    else
        let text = asString n
        match Time.tryParsePeriod text |> Option.bind Time.fixedPeriodMillis with
        | Some ms when ms >= 0L -> ms
        | _ -> fail n (sprintf "Invalid period [%s]: expected an ISO-8601 period without years or months, such as PT1H" text)

let private durationOr (n: Node) (key: string) (dflt: int64) =
    match tryField n key with
    | Some v -> periodMillis v
    | None -> dflt

let private positiveInt (n: Node) (key: string) (dflt: int) =
    match tryField n key with
    | None -> dflt
    | Some v ->
        let i = asInt v
        if i <= 0 then fail v (sprintf "%s must be greater than 0, got %d" key i)
        i

let parseIoConfig (io: Node) : KafkaIoConfig =
    let io = expectObject io
    match optString io "type" with
    | Some t when t <> "kafka" -> fail (field io "type") (sprintf "ioConfig type [%s] does not match the supervisor type [kafka]" t)
    | _ -> ()
    let topic = optString io "topic"
    let pattern = optString io "topicPattern"
    match topic, pattern with
    | None, None -> fail io "Either topic or topicPattern must be specified"
    | Some _, Some _ -> fail io "Only one of topic or topicPattern must be specified"
    | _ -> ()
    match pattern with
    | Some p ->
        try Text.RegularExpressions.Regex(p) |> ignore
        with :? ArgumentException as e -> fail (field io "topicPattern") (sprintf "Invalid topicPattern [%s]: %s" p e.Message)
    | None -> ()
    let props =
        match tryField io "consumerProperties" with
        | None -> fail io "consumerProperties is required but missing"
        | Some p -> properties p |> List.map (fun (k, v) -> k, (if isString v then asString v else rawText v))
    if not (props |> List.exists (fun (k, v) -> k = "bootstrap.servers" && not (String.IsNullOrWhiteSpace v))) then
        fail (field io "consumerProperties") "consumerProperties must contain entry for [bootstrap.servers]"
    let lateStart =
        optString io "lateMessageRejectionStartDateTime"
        |> Option.map (fun s ->
            match Time.tryParseInstant s with
            | Some t -> t
            | None -> fail (field io "lateMessageRejectionStartDateTime") (sprintf "Invalid instant [%s]" s))
    let latePeriod = tryField io "lateMessageRejectionPeriod" |> Option.map periodMillis
    if lateStart.IsSome && latePeriod.IsSome then
        fail io "SeekableStreamSupervisorIOConfig does not support both properties lateMessageRejectionStartDateTime and lateMessageRejectionPeriod."
    { Topic = topic
      TopicPattern = pattern
      ConsumerProperties = props
      PollTimeoutMillis = int64Or io "pollTimeout" 100L
      Replicas = positiveInt io "replicas" 1
      TaskCount = positiveInt io "taskCount" 1
      TaskDurationMillis = durationOr io "taskDuration" 3_600_000L
      StartDelayMillis = durationOr io "startDelay" 5_000L
      PeriodMillis = durationOr io "period" 30_000L
      UseEarliestOffset = boolOr io "useEarliestOffset" false
      CompletionTimeoutMillis = durationOr io "completionTimeout" 1_800_000L
      LateMessageRejectionStartDateTime = lateStart
      LateMessageRejectionPeriodMillis = latePeriod
      EarlyMessageRejectionPeriodMillis = tryField io "earlyMessageRejectionPeriod" |> Option.map periodMillis }

let parseKafkaTuning (t: Node option) : KafkaTuning =
    let dflt = { IntermediatePersistPeriodMillis = 600_000L; HandoffConditionTimeoutMillis = 900_000L; ResetOffsetAutomatically = false; MaxSavedParseExceptions = 0 }
    match t with
    | None -> dflt
    | Some t ->
        let t = expectObject t
        match optString t "type" with
        | Some ty when ty <> "kafka" -> fail (field t "type") (sprintf "tuningConfig type [%s] does not match the supervisor type [kafka]" ty)
        | _ -> ()
        { IntermediatePersistPeriodMillis = durationOr t "intermediatePersistPeriod" dflt.IntermediatePersistPeriodMillis
          HandoffConditionTimeoutMillis = int64Or t "handoffConditionTimeout" dflt.HandoffConditionTimeoutMillis
          ResetOffsetAutomatically = boolOr t "resetOffsetAutomatically" false
          MaxSavedParseExceptions = intOr t "maxSavedParseExceptions" 0 }

/// The tuning keys the batch parser understands, with the stream defaults where they differ.
let private batchTuningKeys =
    [ "maxRowsInMemory"; "maxBytesInMemory"; "maxRowsPerSegment"; "maxTotalRows"; "partitionsSpec"
      "maxParseExceptions"; "reportParseExceptions"; "logParseExceptions"; "indexSpec" ]

/// A batch task that carries the supervisor's dataSchema, so the batch parser (with every
/// check and message it has) normalizes it; `inline` input stands in for the stream.
let private syntheticTask (dataSchema: Node) (inputFormat: Node option) (tuning: Node option) : string =
    use stream = new MemoryStream()
    (use w = new Utf8JsonWriter(stream)
     w.WriteStartObject()
     w.WriteString("type", "index")
     w.WritePropertyName "spec"
     w.WriteStartObject()
     w.WritePropertyName "dataSchema"
     w.WriteRawValue(rawText dataSchema, true)
     w.WritePropertyName "ioConfig"
     w.WriteStartObject()
     w.WriteString("type", "index")
     match inputFormat with
     | Some f ->
         w.WritePropertyName "inputSource"
         w.WriteStartObject(); w.WriteString("type", "inline"); w.WriteString("data", ""); w.WriteEndObject()
         w.WritePropertyName "inputFormat"
         w.WriteRawValue(rawText f, true)
     | None ->
         w.WritePropertyName "firehose"
         w.WriteStartObject(); w.WriteString("type", "inline"); w.WriteString("data", ""); w.WriteEndObject()
     w.WriteBoolean("appendToExisting", true)
     w.WriteEndObject()
     w.WritePropertyName "tuningConfig"
     w.WriteStartObject()
     let given key = tuning |> Option.bind (fun t -> tryField t key)
     for key in batchTuningKeys do
         match given key with
         | Some v ->
             w.WritePropertyName key
             w.WriteRawValue(rawText v, true)
         | None -> ()
     if (given "maxRowsInMemory").IsNone then w.WriteNumber("maxRowsInMemory", defaultMaxRowsInMemory)
     if (given "maxTotalRows").IsNone && (given "partitionsSpec").IsNone then w.WriteNumber("maxTotalRows", defaultMaxTotalRows)
     w.WriteEndObject()
     w.WriteEndObject()
     w.WriteEndObject())
    Encoding.UTF8.GetString(stream.ToArray())

/// Parses the dataSchema (with the ioConfig's inputFormat or the legacy parser) and the row
/// tuning; errors are reported at `prefix` (the path of the object holding dataSchema).
let private parseIngest (holder: Node) (dataSchema: Node) (io: Node) (tuning: Node option) : IngestSpec.IngestSpec =
    let inputFormat = tryField io "inputFormat"
    match inputFormat, tryField dataSchema "parser" with
    | Some f, Some _ -> fail f "Cannot use parser and inputFormat together. Try using inputFormat instead of parser."
    | None, None -> fail io "inputFormat is required but missing (the deprecated form gives the format in dataSchema.parser instead)"
    | _ -> ()
    let text = syntheticTask dataSchema inputFormat tuning
    // The synthetic task puts everything under `spec`; errors are moved back under the
    // supervisor spec's own paths.
    let relocate (path: string) =
        let rest = if path.StartsWith "spec." then path.Substring 5 elif path = "spec" then "" else path
        let rest = rest.Replace("ioConfig.inputSource", "ioConfig").Replace("ioConfig.firehose", "ioConfig")
        childPath holder.Path rest
    match Json.run text IngestSpec.parseTask with
    | Ok spec -> { spec with TaskType = "index_kafka"; AppendToExisting = true }
    | Error(path, problem) -> raise (JsonError(relocate path, problem))

/// Parses a supervisor spec node in either form.
let parse (root: Node) : SupervisorSpec =
    let root = expectObject root
    match optString root "type" with
    | Some "kafka" -> ()
    | Some other -> fail (field root "type") (sprintf "Supervisor type [%s] is not supported; supported: kafka" other)
    | None -> fail root "Missing type id when trying to resolve subtype of SupervisorSpec: missing type id property 'type' (expected \"kafka\")"
    let holder = match tryField root "spec" with Some s -> expectObject s | None -> root
    let dataSchema = expectObject (field holder "dataSchema")
    let io = expectObject (field holder "ioConfig")
    let tuningNode = tryField holder "tuningConfig"
    let ioConfig = parseIoConfig io
    let tuning = parseKafkaTuning tuningNode
    let ingest = parseIngest holder dataSchema io tuningNode
    let context =
        match tryField root "context" |> Option.orElse (tryField holder "context") with
        | Some c when isObject c -> properties c |> List.map (fun (k, v) -> k, (if isString v then asString v else rawText v))
        | _ -> []
    { Id = defaultArg (optString root "id") ingest.DataSource
      DataSource = ingest.DataSource
      Ingest = ingest
      IoConfig = ioConfig
      Tuning = tuning
      Suspended = boolOr root "suspended" false
      Context = context }

/// Parses supervisor spec text; errors come back as (path, problem).
let parseText (text: string) : Result<SupervisorSpec, string * string> = Json.run text parse

/// The spec with some timings replaced (server-wide overrides, e.g. to make tests fast).
let withTimings (taskDuration: int64 option) (period: int64 option) (startDelay: int64 option)
                (persistPeriod: int64 option) (completionTimeout: int64 option) (spec: SupervisorSpec) : SupervisorSpec =
    let io = spec.IoConfig
    { spec with
        IoConfig =
            { io with
                TaskDurationMillis = defaultArg taskDuration io.TaskDurationMillis
                PeriodMillis = defaultArg period io.PeriodMillis
                StartDelayMillis = defaultArg startDelay io.StartDelayMillis
                CompletionTimeoutMillis = defaultArg completionTimeout io.CompletionTimeoutMillis }
        Tuning = { spec.Tuning with IntermediatePersistPeriodMillis = defaultArg persistPeriod spec.Tuning.IntermediatePersistPeriodMillis } }

/// A duration setting given as an ISO-8601 period (PT10M) or as milliseconds.
let tryParseDurationMillis (text: string) : int64 option =
    match Int64.TryParse(text.Trim()) with
    | true, ms when ms >= 0L -> Some ms
    | _ -> Time.tryParsePeriod text |> Option.bind Time.fixedPeriodMillis

/// Druid batch ingestion task specs (`index`, `index_parallel`) in both forms — current
/// (`inputSource` + `inputFormat`) and legacy (`parser.parseSpec` + `firehose`) — parsed
/// and validated into one normalized model. Every rejection names the JSON path.
module FunctionalDruid.Core.IngestSpec

open System
open FunctionalDruid.Core
open FunctionalDruid.Core.Json

[<RequireQualifiedAccess>]
type DimensionType =
    | String
    | Long
    | Float
    | Double

[<RequireQualifiedAccess>]
type MultiValueHandling =
    | SortedArray
    | SortedSet
    | Array

type DimensionSchema =
    { Name: string
      Type: DimensionType
      MultiValueHandling: MultiValueHandling
      CreateBitmapIndex: bool }

type DimensionsSpec =
    { Dimensions: DimensionSchema list
      Exclusions: string list
      /// `useSchemaDiscovery`: discovered columns get types from their values.
      UseSchemaDiscovery: bool
      /// `includeAllDimensions`: listed dimensions first, then discovered ones.
      IncludeAllDimensions: bool }
    /// No listed dimensions: every input field becomes a dimension (schemaless).
    member this.IsSchemaless = this.Dimensions.IsEmpty || this.UseSchemaDiscovery || this.IncludeAllDimensions

type GranularitySpec =
    { SegmentGranularity: Time.Granularity
      QueryGranularity: Time.Granularity
      Rollup: bool
      /// Rows outside these intervals are thrown away; None = all time.
      Intervals: Time.Interval list option }

type Transform = { Name: string; Expression: Expr.Expr; ExpressionText: string }

type TransformSpec = { Transforms: Transform list; Filter: Filter.Filter option }

[<RequireQualifiedAccess>]
type InputSource =
    | Inline of data: string
    /// Either `files`, or `baseDir` with a glob `filter`.
    | Local of baseDir: string option * filter: string option * files: string list

[<RequireQualifiedAccess>]
type PartitionsSpec =
    | Dynamic of maxRowsPerSegment: int * maxTotalRows: int64 option
    | Hashed of numShards: int option * targetRowsPerSegment: int option * partitionDimensions: string list

type TuningConfig =
    { MaxRowsInMemory: int
      /// 0 means the default share of the heap, resolved by the host.
      MaxBytesInMemory: int64
      Partitions: PartitionsSpec
      ForceGuaranteedRollup: bool
      MaxParseExceptions: int
      LogParseExceptions: bool
      MaxNumConcurrentSubTasks: int
      /// Recorded as given; the segment format has one encoding today.
      IndexSpecJson: string option }

type IngestSpec =
    { TaskType: string
      TaskId: string option
      DataSource: string
      TimestampSpec: TimestampSpec.TimestampSpec
      DimensionsSpec: DimensionsSpec
      Metrics: AggregatorSpec list
      GranularitySpec: GranularitySpec
      TransformSpec: TransformSpec
      InputSource: InputSource
      InputFormat: Input.InputFormat
      AppendToExisting: bool
      DropExisting: bool
      Tuning: TuningConfig
      Context: (string * string) list }
    member this.Rollup = this.GranularitySpec.Rollup
    /// Perfect rollup: every (time, dimensions) key ends up in exactly one row.
    member this.PerfectRollup = this.Tuning.ForceGuaranteedRollup

// ---- dataSchema --------------------------------------------------------------------------

/// Druid's rules for data source names.
let validateDataSource (n: Node) (name: string) =
    if String.IsNullOrWhiteSpace name then fail n "dataSource cannot be null or empty"
    if name.StartsWith "." then fail n (sprintf "dataSource [%s] cannot start with the '.' character" name)
    if name.Contains "/" then fail n (sprintf "dataSource [%s] cannot contain the '/' character" name)
    if name |> Seq.exists (fun c -> Char.IsWhiteSpace c && c <> ' ') then
        fail n (sprintf "dataSource [%s] cannot contain whitespace character except space" name)

let private parseDimensionType (n: Node) (text: string) =
    match text.ToLowerInvariant() with
    | "string" -> DimensionType.String
    | "long" -> DimensionType.Long
    | "float" -> DimensionType.Float
    | "double" -> DimensionType.Double
    | other -> fail n (sprintf "Unknown dimension type [%s]; expected one of string, long, float, double" other)

let private parseDimension (n: Node) : DimensionSchema =
    if isString n then
        let name = asString n
        if String.IsNullOrWhiteSpace name then fail n "Dimension name cannot be empty"
        { Name = name; Type = DimensionType.String; MultiValueHandling = MultiValueHandling.SortedArray; CreateBitmapIndex = true }
    else
        let n = expectObject n
        let name = requiredString n "name"
        if String.IsNullOrWhiteSpace name then fail (field n "name") "Dimension name cannot be empty"
        let typ = match tryField n "type" with Some t -> parseDimensionType t (asString t) | None -> DimensionType.String
        let mvh =
            match tryField n "multiValueHandling" with
            | None -> MultiValueHandling.SortedArray
            | Some m ->
                match (asString m).ToUpperInvariant() with
                | "SORTED_ARRAY" -> MultiValueHandling.SortedArray
                | "SORTED_SET" -> MultiValueHandling.SortedSet
                | "ARRAY" -> MultiValueHandling.Array
                | other -> fail m (sprintf "Unknown multiValueHandling [%s]; expected SORTED_ARRAY, SORTED_SET or ARRAY" other)
        { Name = name; Type = typ; MultiValueHandling = mvh; CreateBitmapIndex = boolOr n "createBitmapIndex" true }

let parseDimensionsSpec (n: Node option) : DimensionsSpec =
    match n with
    | None -> { Dimensions = []; Exclusions = []; UseSchemaDiscovery = false; IncludeAllDimensions = false }
    | Some n ->
        let n = expectObject n
        let dims = match tryField n "dimensions" with Some d -> elements d |> List.map parseDimension | None -> []
        let exclusions = defaultArg (optStringList n "dimensionExclusions") []
        let seen = Collections.Generic.Dictionary<string, int>()
        for d in dims do seen.[d.Name] <- (match seen.TryGetValue d.Name with | true, c -> c + 1 | _ -> 1)
        for KeyValue(name, count) in seen do
            if count > 1 then
                fail (field n "dimensions") (sprintf "Cannot specify a column more than once: [%s] seen in dimensions list (%d occurrences)" name count)
        match dims |> List.tryFind (fun d -> List.contains d.Name exclusions) with
        | Some d -> fail n (sprintf "dimensions and dimensionExclusions cannot overlap; [%s] is in both" d.Name)
        | None -> ()
        match dims |> List.tryFind (fun d -> d.Name = "__time") with
        | Some _ -> fail (field n "dimensions") "__time cannot be a dimension: it is the primary timestamp column"
        | None -> ()
        { Dimensions = dims
          Exclusions = exclusions
          UseSchemaDiscovery = boolOr n "useSchemaDiscovery" false
          IncludeAllDimensions = boolOr n "includeAllDimensions" false }

/// A granularity given as a name (`DAY`), or as `{"type":"period",...}` / `{"type":"duration",...}`.
let parseGranularity (n: Node) : Time.Granularity =
    let unknown (text: string) = fail n (sprintf "Unknown granularity [%s]" text)
    if isString n then
        let text = asString n
        match Time.tryGranularityOfName text with
        | Some g -> g
        | None -> unknown text
    else
        let n = expectObject n
        let typ = requiredString n "type"
        match typ.ToLowerInvariant() with
        | "period" ->
            let periodNode = field n "period"
            let period =
                match Time.tryParsePeriod (asString periodNode) with
                | Some p when Time.fixedPeriodMillis p <> Some 0L -> p
                | _ -> fail periodNode (sprintf "Invalid period [%s]" (asString periodNode))
            let zone =
                match tryField n "timeZone" with
                | None -> NodaTime.DateTimeZone.Utc
                | Some z ->
                    match Time.tryParseZone (asString z) with
                    | Some zone -> zone
                    | None -> fail z (sprintf "Unknown time zone [%s]" (asString z))
            let origin =
                tryField n "origin"
                |> Option.map (fun o ->
                    match Time.tryParseInstant (asString o) with
                    | Some t -> t
                    | None -> fail o (sprintf "Invalid origin [%s]" (asString o)))
            Time.Granularity.Period(period, zone, origin, None)
        | "duration" ->
            let d = asInt64 (field n "duration")
            if d <= 0L then fail (field n "duration") "duration must be positive"
            let origin =
                match tryField n "origin" with
                | None -> 0L
                | Some o ->
                    match Time.tryParseInstant (asString o) with
                    | Some t -> t
                    | None -> fail o (sprintf "Invalid origin [%s]" (asString o))
            Time.Granularity.Duration(d, origin)
        | "all" -> Time.Granularity.All
        | "none" -> Time.Granularity.NoTruncation
        | _ ->
            match Time.tryGranularityOfName typ with
            | Some g -> g
            | None -> fail (field n "type") (sprintf "Unknown granularity type [%s]" typ)

let parseInterval (n: Node) : Time.Interval =
    match Time.tryParseInterval (asString n) with
    | Some i -> i
    | None -> fail n (sprintf "Invalid interval [%s]: expected start/end in ISO-8601" (asString n))

let parseGranularitySpec (n: Node option) : GranularitySpec =
    let dayGran = (Time.tryGranularityOfName "DAY").Value
    match n with
    | None -> { SegmentGranularity = dayGran; QueryGranularity = Time.Granularity.NoTruncation; Rollup = true; Intervals = None }
    | Some n ->
        let n = expectObject n
        match optString n "type" with
        | Some t when t <> "uniform" && t <> "arbitrary" -> fail (field n "type") (sprintf "Unknown granularitySpec type [%s]; expected uniform or arbitrary" t)
        | _ -> ()
        let segment = tryField n "segmentGranularity" |> Option.map parseGranularity |> Option.defaultValue dayGran
        let query = tryField n "queryGranularity" |> Option.map parseGranularity |> Option.defaultValue Time.Granularity.NoTruncation
        if not (Time.isFinerOrEqual query segment) then
            fail (field n "queryGranularity") "queryGranularity must be equal to or finer than segmentGranularity"
        let intervals =
            tryField n "intervals"
            |> Option.map (fun i -> if isArray i then elements i |> List.map parseInterval else [ parseInterval i ])
            |> Option.filter (fun l -> not l.IsEmpty)
        { SegmentGranularity = segment; QueryGranularity = query; Rollup = boolOr n "rollup" true; Intervals = intervals }

let parseTransformSpec (n: Node option) : TransformSpec =
    match n with
    | None -> { Transforms = []; Filter = None }
    | Some n ->
        let n = expectObject n
        let transforms =
            match tryField n "transforms" with
            | None -> []
            | Some ts ->
                elements ts
                |> List.map (fun t ->
                    let t = expectObject t
                    match stringOr t "type" "expression" with
                    | "expression" -> ()
                    | other -> fail (field t "type") (sprintf "Unknown transform type [%s]; expected expression" other)
                    let name = requiredString t "name"
                    let exprNode = field t "expression"
                    let text = asString exprNode
                    match Expr.parse text with
                    | Ok e -> { Name = name; Expression = e; ExpressionText = text }
                    | Error problem -> fail exprNode problem)
        match transforms |> List.countBy (fun t -> t.Name) |> List.tryFind (fun (_, c) -> c > 1) with
        | Some(name, _) -> fail (field n "transforms") (sprintf "Transform name [%s] is used more than once" name)
        | None -> ()
        { Transforms = transforms; Filter = tryField n "filter" |> Option.map Filter.parse }

// ---- ioConfig ----------------------------------------------------------------------------

let private parseLocalSource (n: Node) =
    let baseDir = optString n "baseDir"
    let filter = optString n "filter"
    let files = defaultArg (optStringList n "files") []
    match baseDir, files with
    | None, [] -> fail n "local input source needs either baseDir (with filter) or files"
    | Some _, _ :: _ -> fail n "local input source takes either baseDir or files, not both"
    | Some b, [] when String.IsNullOrWhiteSpace b -> fail (field n "baseDir") "baseDir cannot be empty"
    | Some _, [] when filter.IsNone -> fail n "local input source with baseDir needs a filter (for example \"*\")"
    | _ -> InputSource.Local(baseDir, filter, files)

let parseInputSource (n: Node) : InputSource =
    let n = expectObject n
    match requiredString n "type" with
    | "inline" -> InputSource.Inline(requiredString n "data")
    | "local" -> parseLocalSource n
    | other -> fail (field n "type") (sprintf "Unsupported inputSource type [%s]; supported: inline, local" other)

/// Legacy firehoses map onto the same input sources.
let parseFirehose (n: Node) : InputSource =
    let n = expectObject n
    match requiredString n "type" with
    | "inline" -> InputSource.Inline(requiredString n "data")
    | "local" -> parseLocalSource n
    | other -> fail (field n "type") (sprintf "Unsupported firehose type [%s]; supported: inline, local" other)

// ---- tuningConfig ------------------------------------------------------------------------

let private positive (n: Node) (key: string) (v: int64) =
    if v <= 0L then fail (field n key) (sprintf "%s must be positive, got %d" key v)

let parseTuningConfig (n: Node option) : TuningConfig =
    let defaults =
        { MaxRowsInMemory = 1_000_000
          MaxBytesInMemory = 0L
          Partitions = PartitionsSpec.Dynamic(5_000_000, None)
          ForceGuaranteedRollup = false
          MaxParseExceptions = Int32.MaxValue
          LogParseExceptions = false
          MaxNumConcurrentSubTasks = 1
          IndexSpecJson = None }
    match n with
    | None -> defaults
    | Some n ->
        let n = expectObject n
        let maxRowsInMemory = intOr n "maxRowsInMemory" defaults.MaxRowsInMemory
        positive n "maxRowsInMemory" (int64 maxRowsInMemory)
        let maxBytes = int64Or n "maxBytesInMemory" 0L
        // Legacy top-level partitioning keys, still accepted by Druid.
        let legacyMaxRows = optInt n "maxRowsPerSegment" |> Option.orElse (optInt n "targetPartitionSize")
        let legacyNumShards = optInt n "numShards" |> Option.filter (fun s -> s > 0)
        let legacyPartitionDims = defaultArg (optStringList n "partitionDimensions") []
        let partitions =
            match tryField n "partitionsSpec" with
            | Some p ->
                let p = expectObject p
                match stringOr p "type" "dynamic" with
                | "dynamic" ->
                    let maxRows = intOr p "maxRowsPerSegment" 5_000_000
                    positive p "maxRowsPerSegment" (int64 maxRows)
                    PartitionsSpec.Dynamic(maxRows, optInt64 p "maxTotalRows")
                | "hashed" ->
                    let numShards = optInt p "numShards" |> Option.filter (fun s -> s <> -1)
                    let target = optInt p "targetRowsPerSegment" |> Option.orElse (optInt p "targetPartitionSize") |> Option.orElse (optInt p "maxRowsPerSegment") |> Option.filter (fun s -> s <> -1)
                    match numShards, target with
                    | Some _, Some _ -> fail p "Cannot use both numShards and targetRowsPerSegment in a hashed partitionsSpec"
                    | Some s, None -> positive p "numShards" (int64 s)
                    | None, Some t -> positive p "targetRowsPerSegment" (int64 t)
                    | None, None -> ()
                    PartitionsSpec.Hashed(numShards, target, defaultArg (optStringList p "partitionDimensions") [])
                | other -> fail (field p "type") (sprintf "Unsupported partitionsSpec type [%s]; supported: dynamic, hashed" other)
            | None ->
                match legacyNumShards with
                | Some s -> PartitionsSpec.Hashed(Some s, None, legacyPartitionDims)
                | None ->
                    match legacyMaxRows with
                    | Some m -> positive n (if hasField n "maxRowsPerSegment" then "maxRowsPerSegment" else "targetPartitionSize") (int64 m); PartitionsSpec.Dynamic(m, None)
                    | None -> defaults.Partitions
        let forceGuaranteed = boolOr n "forceGuaranteedRollup" false
        match partitions with
        | PartitionsSpec.Hashed _ when not forceGuaranteed && hasField n "partitionsSpec" ->
            fail (field n "partitionsSpec") "hashed partitionsSpec requires forceGuaranteedRollup = true"
        | PartitionsSpec.Dynamic _ when forceGuaranteed ->
            fail (field n "forceGuaranteedRollup") "forceGuaranteedRollup requires a hashed partitionsSpec, not dynamic"
        | _ -> ()
        let reportParse = boolOr n "reportParseExceptions" false
        let maxParse =
            if reportParse then 0
            else
                match optInt n "maxParseExceptions" with
                | Some v when v < 0 -> fail (field n "maxParseExceptions") "maxParseExceptions cannot be negative"
                | Some v -> v
                | None -> Int32.MaxValue
        let subTasks = intOr n "maxNumConcurrentSubTasks" (intOr n "maxNumSubTasks" 1)
        positive n (if hasField n "maxNumConcurrentSubTasks" then "maxNumConcurrentSubTasks" else "maxNumSubTasks") (int64 subTasks)
        { MaxRowsInMemory = maxRowsInMemory
          MaxBytesInMemory = maxBytes
          Partitions = partitions
          ForceGuaranteedRollup = forceGuaranteed
          MaxParseExceptions = maxParse
          LogParseExceptions = boolOr n "logParseExceptions" false
          MaxNumConcurrentSubTasks = subTasks
          IndexSpecJson = tryField n "indexSpec" |> Option.map rawText }

// ---- the task ----------------------------------------------------------------------------

let private checkColumnsUnique (dataSchema: Node) (dims: DimensionsSpec) (metrics: AggregatorSpec list) =
    let metricNames = metrics |> List.map Aggregation.name
    match metricNames |> List.countBy id |> List.tryFind (fun (_, c) -> c > 1) with
    | Some(name, c) -> fail (field dataSchema "metricsSpec") (sprintf "Cannot specify a column more than once: [%s] seen in metricsSpec list (%d occurrences)" name c)
    | None -> ()
    match dims.Dimensions |> List.tryFind (fun d -> List.contains d.Name metricNames) with
    | Some d -> fail dataSchema (sprintf "Cannot specify a column more than once: [%s] seen in dimensions list, metricsSpec list" d.Name)
    | None -> ()
    if List.contains "__time" metricNames then fail (field dataSchema "metricsSpec") "__time cannot be a metric name"

let private supportedTaskTypes = [ "index"; "index_parallel" ]

/// Parses a whole task JSON object.
let parseTask (task: Node) : IngestSpec =
    let task = expectObject task
    let taskType = requiredString task "type"
    if not (List.contains taskType supportedTaskTypes) then
        fail (field task "type") (sprintf "Unsupported task type [%s]; supported: %s" taskType (String.Join(", ", supportedTaskTypes)))
    let spec =
        match tryField task "spec" |> Option.orElse (tryField task "schema") with
        | Some s -> expectObject s
        | None -> fail task "spec is required but missing"
    let dataSchema = expectObject (field spec "dataSchema")
    let ioConfig = expectObject (field spec "ioConfig")
    let ioType = optString ioConfig "type"
    match ioType with
    | Some t when not (List.contains t supportedTaskTypes) -> fail (field ioConfig "type") (sprintf "ioConfig type [%s] does not match task type [%s]" t taskType)
    | _ -> ()
    let dsNode = field dataSchema "dataSource"
    let dataSource = asString dsNode
    validateDataSource dsNode dataSource
    // Legacy form: timestampSpec, dimensionsSpec and the format live in parser.parseSpec.
    let parseSpec =
        tryField dataSchema "parser"
        |> Option.map (fun p ->
            let p = expectObject p
            match optString p "type" with
            | Some t when t <> "string" && t <> "hadoopyString" && t <> "map" ->
                fail (field p "type") (sprintf "Unsupported parser type [%s]; supported: string" t)
            | _ -> ()
            expectObject (field p "parseSpec"))
    let inputFormatNode = tryField ioConfig "inputFormat"
    let inputFormat =
        match inputFormatNode, parseSpec with
        | Some f, _ -> Input.parseInputFormat f
        | None, Some ps -> Input.parseLegacyParseSpec ps
        | None, None -> fail ioConfig "inputFormat is required (or a legacy dataSchema.parser)"
    let fromSchemaOrParseSpec key =
        tryField dataSchema key |> Option.orElse (parseSpec |> Option.bind (fun ps -> tryField ps key))
    let timestampSpec =
        match fromSchemaOrParseSpec "timestampSpec" with
        | Some t -> TimestampSpec.parse (expectObject t)
        | None -> fail dataSchema "timestampSpec is required but missing"
    let dims = parseDimensionsSpec (fromSchemaOrParseSpec "dimensionsSpec")
    let metrics =
        match tryField dataSchema "metricsSpec" with
        | Some m -> elements m |> List.map Aggregation.parse
        | None -> []
    checkColumnsUnique dataSchema dims metrics
    // Building each metric's accumulator once checks its expression, filter and fields now,
    // at submission, instead of failing the task later.
    metrics
    |> List.iteri (fun i m ->
        try Aggregation.createAccumulator m |> ignore
        with
        | JsonError(path, problem) -> raise (JsonError(childPath (indexPath (childPath dataSchema.Path "metricsSpec") i) path, problem))
        | :? NotSupportedException as e -> raise (JsonError(indexPath (childPath dataSchema.Path "metricsSpec") i, e.Message)))
    let granularity = parseGranularitySpec (tryField dataSchema "granularitySpec")
    let transformSpec = parseTransformSpec (tryField dataSchema "transformSpec")
    let inputSource =
        match tryField ioConfig "inputSource", tryField ioConfig "firehose" with
        | Some s, _ -> parseInputSource s
        | None, Some f -> parseFirehose f
        | None, None -> fail ioConfig "inputSource is required but missing"
    let tuning = parseTuningConfig (tryField spec "tuningConfig")
    let append = boolOr ioConfig "appendToExisting" false
    let dropExisting = boolOr ioConfig "dropExisting" false
    if append && tuning.ForceGuaranteedRollup then
        fail (field ioConfig "appendToExisting") "Perfect rollup cannot be guaranteed when appending to existing dataSources"
    if dropExisting && append then
        fail (field ioConfig "dropExisting") "dropExisting cannot be true when appendToExisting is true"
    if dropExisting && granularity.Intervals.IsNone then
        fail (field ioConfig "dropExisting") "dropExisting requires granularitySpec.intervals"
    match tuning.Partitions with
    | PartitionsSpec.Hashed _ when granularity.Intervals.IsNone && false -> ()
    | _ -> ()
    let context =
        match tryField task "context" with
        | Some c when isObject c -> properties c |> List.map (fun (k, v) -> k, (if isString v then asString v else rawText v))
        | _ -> []
    { TaskType = taskType
      TaskId = optString task "id"
      DataSource = dataSource
      TimestampSpec = timestampSpec
      DimensionsSpec = dims
      Metrics = metrics
      GranularitySpec = granularity
      TransformSpec = transformSpec
      InputSource = inputSource
      InputFormat = inputFormat
      AppendToExisting = append
      DropExisting = dropExisting
      Tuning = tuning
      Context = context }

/// Parses task JSON text; errors come back as (path, problem).
let parseTaskText (text: string) : Result<IngestSpec, string * string> = Json.run text parseTask

// ---- what a segment records about its spec -------------------------------------------------

let private jsonString (s: string) = Text.Json.JsonSerializer.Serialize s

/// A granularity in Druid's JSON form: simple names as `"HOUR"` strings (Druid prints them
/// upper-case in segmentMetadata), others as objects.
let granularityJson (g: Time.Granularity) : string =
    match Time.granularityName g with
    | Some name -> jsonString name
    | None ->
        match g with
        | Time.Granularity.Period(p, zone, origin, _) ->
            let parts =
                [ yield "\"type\":\"period\""
                  yield "\"period\":" + jsonString (Time.formatPeriod p)
                  if not (Time.isUtc zone) then yield "\"timeZone\":" + jsonString zone.Id
                  match origin with
                  | Some o -> yield "\"origin\":" + jsonString (Time.formatIso o)
                  | None -> () ]
            "{" + String.Join(",", parts) + "}"
        | Time.Granularity.Duration(ms, origin) ->
            sprintf "{\"type\":\"duration\",\"duration\":%d,\"origin\":%s}" ms (jsonString (Time.formatIso origin))
        | _ -> "\"NONE\""

/// The metadata JSON a segment carries: its aggregators, timestamp spec, query granularity
/// and rollup flag (what Druid's segmentMetadata reports).
let segmentMetadataJson (spec: IngestSpec) : string =
    let aggs = spec.Metrics |> List.map Aggregation.toJson
    sprintf "{\"aggregators\":[%s],\"timestampSpec\":{\"column\":%s},\"queryGranularity\":%s,\"rollup\":%b}"
        (String.Join(",", aggs)) (jsonString spec.TimestampSpec.Column) (granularityJson spec.GranularitySpec.QueryGranularity) spec.Rollup

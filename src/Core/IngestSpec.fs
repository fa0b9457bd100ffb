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
    /// `auto`: the type is inferred from the values (see AutoType), or `castToType`.
    | Auto of castTo: AutoType.AutoType option
    /// `json`: nested data, always COMPLEX<json>.
    | Json
    /// The name Druid gives the type in messages.
    member this.Name =
        match this with
        | String -> "STRING"
        | Long -> "LONG"
        | Float -> "FLOAT"
        | Double -> "DOUBLE"
        | Auto _ -> "AUTO"
        | Json -> "JSON"
    /// Whether the dimension keeps whole nested values (arrays are values, not multi-values).
    member this.IsNested =
        match this with
        | Auto _ | Json -> true
        | _ -> false

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
      /// Whether the spec set maxRowsInMemory; Druid's default is only a memory guard, so
      /// without it the byte budget alone decides when to persist (same rows either way).
      MaxRowsInMemoryGiven: bool
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

// ---- shared helpers ----------------------------------------------------------------------

let private describeKind (n: Node) =
    match kind n with
    | Text.Json.JsonValueKind.Object -> "an object"
    | Text.Json.JsonValueKind.Array -> "an array"
    | Text.Json.JsonValueKind.String -> "a string"
    | Text.Json.JsonValueKind.Number -> "a number"
    | Text.Json.JsonValueKind.True | Text.Json.JsonValueKind.False -> "a boolean"
    | _ -> "null"

/// A value as the user wrote it, for messages: strings bare, anything else as JSON.
let private shown (n: Node) = if isString n then asString n else rawText n

/// The `type` of a polymorphic object, which Druid requires.
let private requiredType (n: Node) (what: string) =
    match tryField n "type" with
    | Some t -> asString t
    | None -> fail n (sprintf "%s needs a \"type\"" what)

// ---- dataSchema --------------------------------------------------------------------------

/// Druid's rules for data source names (IdUtils.validateId), in Druid's words.
let validateDataSource (n: Node) (name: string) =
    let invalid (why: string) = fail n (sprintf "Invalid value for field [dataSource]: %s" why)
    if String.IsNullOrEmpty name then invalid "must not be null"
    if name.StartsWith "." then invalid (sprintf "Value [%s] cannot start with '.'." name)
    if name.Contains "/" then invalid (sprintf "Value [%s] cannot contain '/'." name)
    // Java's \s: the whitespace other than space that Druid rejects.
    if name |> Seq.exists (fun c -> c = '\t' || c = '\n' || c = '\u000B' || c = '\f' || c = '\r') then
        invalid (sprintf "Value [%s] contains illegal whitespace characters.  Only space is allowed." name)
    // IDs become ZooKeeper paths, which refuse control characters and surrogates.
    name
    |> Seq.iteri (fun i c ->
        let code = int c
        if (code > 0 && code < 31) || (code > 127 && code < 159) || (code > 0xD800 && code < 0xF8FF) || (code > 0xFFF0 && code < 0xFFFF) then
            invalid (sprintf "Value [%s] contains illegal UTF8 character [#%d] at position [%d]" name code i))

let private supportedDimensionTypes = "string, long, float, double, auto, json"

/// `castToType` of an `auto` dimension: primitive and primitive array types cast; others
/// (COMPLEX<json>) leave the column auto, as in Druid.
let private parseCastToType (dimension: Node) : AutoType.AutoType option =
    match tryField dimension "castToType" with
    | None -> None
    | Some c ->
        let text = asString c
        match AutoType.ofCastName text with
        | Some t -> Some t
        | None ->
            match text.Trim().ToUpperInvariant() with
            | "COMPLEX<JSON>" | "JSON" -> None
            | _ -> fail c (sprintf "Cannot cast dimension to type [%s]; castToType may be STRING, LONG, DOUBLE, ARRAY<STRING>, ARRAY<LONG> or ARRAY<DOUBLE>" text)

let private parseDimensionType (dimension: Node) (n: Node) (text: string) =
    match text with
    | "string" -> DimensionType.String
    | "long" -> DimensionType.Long
    | "float" -> DimensionType.Float
    | "double" -> DimensionType.Double
    | "auto" -> DimensionType.Auto(parseCastToType dimension)
    | "json" -> DimensionType.Json
    | "spatial" -> fail n (sprintf "Dimension type [%s] is not supported yet; supported: %s" text supportedDimensionTypes)
    | other -> fail n (sprintf "Unknown dimension type [%s]; supported: %s" other supportedDimensionTypes)

let private parseDimension (position: int) (n: Node) : DimensionSchema =
    let emptyName () = fail n (sprintf "Encountered dimension with null or empty name at position[%d]" position)
    if isString n then
        let name = asString n
        if String.IsNullOrEmpty name then emptyName ()
        { Name = name; Type = DimensionType.String; MultiValueHandling = MultiValueHandling.SortedArray; CreateBitmapIndex = true }
    elif isObject n then
        let name = match optString n "name" with Some s when s <> "" -> s | _ -> emptyName ()
        let typ = match tryField n "type" with Some t -> parseDimensionType n t (asString t) | None -> DimensionType.String
        let mvh =
            match tryField n "multiValueHandling" with
            | None -> MultiValueHandling.SortedArray
            | Some m ->
                match (asString m).ToUpperInvariant() with
                | "SORTED_ARRAY" -> MultiValueHandling.SortedArray
                | "SORTED_SET" -> MultiValueHandling.SortedSet
                | "ARRAY" -> MultiValueHandling.Array
                | _ -> fail m (sprintf "Unknown multiValueHandling [%s]; expected SORTED_ARRAY, SORTED_SET or ARRAY" (asString m))
        { Name = name; Type = typ; MultiValueHandling = mvh; CreateBitmapIndex = boolOr n "createBitmapIndex" true }
    else
        fail n (sprintf "A dimension is a name or an object such as {\"type\":\"long\",\"name\":\"x\"}, but this is %s" (describeKind n))

let private timeColumn = "__time"

/// Druid accepts `__time` as the first, long-typed dimension (sorting by time first, which is
/// what every segment does here), so it is dropped from the list; anywhere else it is refused.
let private withoutTimeDimension (dimsNode: Node) (dims: DimensionSchema list) =
    dims
    |> List.indexed
    |> List.filter (fun (i, d) ->
        if d.Name <> timeColumn then true
        elif d.Type <> DimensionType.Long then
            let typeName = d.Type.Name
            fail (ofElement (dimsNode.El.[i]) (indexPath dimsNode.Path i))
                (sprintf "Encountered dimension[__time] with incorrect type[%s]. Type must be 'long'." typeName)
        elif i > 0 then
            fail (ofElement (dimsNode.El.[i]) (indexPath dimsNode.Path i))
                (sprintf "Encountered dimension[__time] at position[%d]. Segments sorted by anything but __time first are not supported yet, so __time may only be the first dimension." i)
        else false)
    |> List.map snd

/// The dimensionsSpec and the node of its `dimensions` list (for messages).
let private parseDimensionsSpecAt (n: Node option) : DimensionsSpec * Node option =
    match n with
    | None -> { Dimensions = []; Exclusions = []; UseSchemaDiscovery = false; IncludeAllDimensions = false }, None
    | Some n ->
        let n = expectObject n
        let dimsNode = tryField n "dimensions"
        let dims =
            match dimsNode with
            | Some d -> elements d |> List.mapi parseDimension |> withoutTimeDimension d
            | None -> []
        let exclusions = defaultArg (optStringList n "dimensionExclusions") []
        match dims |> List.tryFind (fun d -> List.contains d.Name exclusions) with
        | Some d -> fail (field n "dimensionExclusions") (sprintf "dimensions and dimensions exclusions cannot overlap: [%s] is in both" d.Name)
        | None -> ()
        { Dimensions = dims
          Exclusions = exclusions
          UseSchemaDiscovery = boolOr n "useSchemaDiscovery" false
          IncludeAllDimensions = boolOr n "includeAllDimensions" false }, dimsNode

let parseDimensionsSpec (n: Node option) : DimensionsSpec = fst (parseDimensionsSpecAt n)

let private granularityHint = "expected a name (SECOND, MINUTE, FIFTEEN_MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR, ALL, NONE, ...), an ISO-8601 period, or {\"type\":\"period\",\"period\":\"PT1H\"}"

let private parseOrigin (o: Node) =
    match Time.tryParseInstant (asString o) with
    | Some t -> t
    | None -> fail o (sprintf "Invalid origin [%s]: expected an ISO-8601 instant such as 2020-01-01T00:00:00Z" (shown o))

/// A granularity given as a name (`DAY`), or as `{"type":"period",...}` / `{"type":"duration",...}`.
let parseGranularity (n: Node) : Time.Granularity =
    if isString n then
        let text = asString n
        match Time.tryGranularityOfName text with
        | Some g -> g
        | None -> fail n (sprintf "Unknown granularity [%s]; %s" text granularityHint)
    elif not (isObject n) then fail n (sprintf "Unknown granularity %s; %s" (shown n) granularityHint)
    else
        let typ = requiredType n "A granularity object"
        match typ.ToLowerInvariant() with
        | "period" ->
            let periodNode = field n "period"
            let period =
                match Time.tryParsePeriod (asString periodNode) with
                | Some p when Time.fixedPeriodMillis p <> Some 0L -> p
                | _ -> fail periodNode (sprintf "Invalid period [%s]: expected a non-zero ISO-8601 period such as PT1H or P1D" (shown periodNode))
            let zone =
                match tryField n "timeZone" with
                | None -> NodaTime.DateTimeZone.Utc
                | Some z ->
                    match Time.tryParseZone (asString z) with
                    | Some zone -> zone
                    | None -> fail z (sprintf "The datetime zone id '%s' is not recognised" (asString z))
            Time.Granularity.Period(period, zone, tryField n "origin" |> Option.map parseOrigin, None)
        | "duration" ->
            let d = asInt64 (field n "duration")
            if d <= 0L then fail (field n "duration") (sprintf "duration must be a positive number of milliseconds, got %d" d)
            Time.Granularity.Duration(d, tryField n "origin" |> Option.map parseOrigin |> Option.defaultValue 0L)
        | "all" -> Time.Granularity.All
        | "none" -> Time.Granularity.NoTruncation
        | _ ->
            match Time.tryGranularityOfName typ with
            | Some g -> g
            | None -> fail (field n "type") (sprintf "Unknown granularity type [%s]; expected period, duration or a granularity name" typ)

let parseInterval (n: Node) : Time.Interval =
    let text = asString n
    match Time.tryParseInterval text with
    | Some i -> i
    | None ->
        let reversed =
            match text.Split('/') with
            | [| a; b |] ->
                match Time.tryParseInstant a, Time.tryParseInstant b with
                | Some s, Some e -> e < s
                | _ -> false
            | _ -> false
        if reversed then fail n (sprintf "Invalid interval [%s]: the end instant must be greater than or equal to the start instant" text)
        else fail n (sprintf "Invalid interval [%s]: expected start/end, start/period or period/end in ISO-8601, such as 2020-01-01/2020-02-01" text)

let parseGranularitySpec (n: Node option) : GranularitySpec =
    let dayGran = (Time.tryGranularityOfName "DAY").Value
    match n with
    | None -> { SegmentGranularity = dayGran; QueryGranularity = Time.Granularity.NoTruncation; Rollup = true; Intervals = None }
    | Some n ->
        let n = expectObject n
        match optString n "type" with
        | Some t when t <> "uniform" && t <> "arbitrary" ->
            fail (field n "type") (sprintf "Unknown granularitySpec type [%s]; expected uniform or arbitrary" t)
        | _ -> ()
        let segmentNode = tryField n "segmentGranularity"
        let queryNode = tryField n "queryGranularity"
        let segment = segmentNode |> Option.map parseGranularity |> Option.defaultValue dayGran
        let query = queryNode |> Option.map parseGranularity |> Option.defaultValue Time.Granularity.NoTruncation
        if not (Time.isFinerOrEqual query segment) then
            let text (node: Node option) dflt = node |> Option.map shown |> Option.defaultValue dflt
            fail queryNode.Value
                (sprintf "queryGranularity [%s] must be equal to or finer than segmentGranularity [%s]" (text queryNode "NONE") (text segmentNode "DAY"))
        let intervals =
            tryField n "intervals"
            |> Option.map (fun i -> if isArray i then elements i |> List.map parseInterval else [ parseInterval i ])
            |> Option.filter (fun l -> not l.IsEmpty)
        { SegmentGranularity = segment; QueryGranularity = query; Rollup = boolOr n "rollup" true; Intervals = intervals }

let private parseTransform (t: Node) : Transform =
    let t = expectObject t
    match stringOr t "type" "expression" with
    | "expression" -> ()
    | other -> fail (field t "type") (sprintf "Unknown transform type [%s]; supported: expression" other)
    let name = requiredString t "name"
    if name = "" then fail (field t "name") "Transform name cannot be empty"
    let exprNode = field t "expression"
    let text = asString exprNode
    match Expr.parse text with
    | Ok e -> { Name = name; Expression = e; ExpressionText = text }
    | Error problem -> fail exprNode problem

let parseTransformSpec (n: Node option) : TransformSpec =
    match n with
    | None -> { Transforms = []; Filter = None }
    | Some n ->
        let n = expectObject n
        let transforms = match tryField n "transforms" with Some ts -> elements ts |> List.map parseTransform | None -> []
        match transforms |> List.countBy (fun t -> t.Name) |> List.tryFind (fun (_, c) -> c > 1) with
        | Some(name, c) -> fail (field n "transforms") (sprintf "Transform name [%s] is used %d times; each transform must have its own name" name c)
        | None -> ()
        { Transforms = transforms; Filter = tryField n "filter" |> Option.map Filter.parse }

// ---- metricsSpec -------------------------------------------------------------------------

/// Aggregators from Druid extensions and core ones this implementation lacks, so a spec
/// using one is told it is unsupported rather than unknown.
let private unsupportedAggregators =
    dict [ "thetaSketch", "druid-datasketches"; "HLLSketchBuild", "druid-datasketches"; "HLLSketchMerge", "druid-datasketches"
           "quantilesDoublesSketch", "druid-datasketches"; "arrayOfDoublesSketch", "druid-datasketches"
           "KllDoublesSketch", "druid-datasketches"; "KllFloatsSketch", "druid-datasketches"
           "approxHistogram", "druid-histogram"; "approxHistogramFold", "druid-histogram"; "fixedBucketsHistogram", "druid-histogram"
           "momentSketch", "druid-momentsketch"; "momentSketchMerge", "druid-momentsketch"; "tDigestSketch", "druid-tdigestsketch"
           "bloom", "druid-bloom-filter"; "variance", "druid-stats"; "varianceFold", "druid-stats"
           "doubleMean", "core"; "longAny", "core"; "doubleAny", "core"; "floatAny", "core"; "stringAny", "core"
           "expression", "core"; "histogram", "core"; "grouping", "core" ]

let private parseMetric (position: int) (n: Node) : AggregatorSpec =
    if isObject n then
        match tryField n "type" with
        | Some t when unsupportedAggregators.ContainsKey(asString t) ->
            let typ = asString t
            let origin = match unsupportedAggregators.[typ] with "core" -> "" | ext -> sprintf " (from the %s extension)" ext
            fail t (sprintf "Aggregator type [%s]%s is not supported yet" typ origin)
        | Some t when List.contains (asString t) [ "stringMin"; "stringMax" ] ->
            fail t (sprintf "Aggregator type [%s] is for queries only (SQL's MIN and MAX of strings); it cannot be a metric" (asString t))
        | _ -> ()
        match optString n "name" with
        | Some "" -> fail n (sprintf "Encountered metric with null or empty name at position %d" position)
        | _ -> ()
    Aggregation.parse n

/// Every output column once: Druid's check, worded as Druid words it.
let private checkColumnsUnique (dataSchema: Node) (dimsNode: Node option) (dims: DimensionsSpec) (metricsNode: Node option) (metrics: AggregatorSpec list) =
    let seen = Collections.Generic.SortedDictionary<string, ResizeArray<string>>(StringComparer.Ordinal)
    let add name place =
        match seen.TryGetValue name with
        | true, places -> places.Add place
        | _ -> seen.[name] <- ResizeArray [ place ]
    add timeColumn "primary timestamp (__time cannot appear elsewhere except as long-typed dimension)"
    for d in dims.Dimensions do add d.Name "dimensions list"
    for m in metrics do add (Aggregation.name m) "metricsSpec list"
    let problems =
        [ for KeyValue(name, places) in seen do
            if places.Count > 1 then
                let described =
                    places
                    |> Seq.countBy id
                    |> Seq.sortWith (fun (a, _) (b, _) -> String.CompareOrdinal(a, b))
                    |> Seq.map (fun (place, c) -> if c = 1 then place else sprintf "%s (%d occurrences)" place c)
                yield (places |> Seq.distinct |> List.ofSeq), sprintf "[%s] seen in %s" name (String.Join(", ", described)) ]
    if not problems.IsEmpty then
        let placesInvolved = problems |> List.collect fst |> List.filter (fun p -> p.StartsWith "dimensions" || p.StartsWith "metricsSpec") |> List.distinct
        let at =
            match placesInvolved, dimsNode, metricsNode with
            | [ "dimensions list" ], Some d, _ -> d
            | [ "metricsSpec list" ], _, Some m -> m
            | _ -> dataSchema
        fail at (sprintf "Cannot specify a column more than once: %s" (String.Join("; ", problems |> List.map snd)))

// ---- ioConfig ----------------------------------------------------------------------------

let private parseLocalSource (n: Node) (what: string) =
    let baseDir = optString n "baseDir"
    let filter = optString n "filter"
    let files = defaultArg (optStringList n "files") []
    match baseDir, files with
    | None, [] -> fail n (sprintf "At least one of baseDir or files should be specified for a local %s" what)
    | Some _, _ :: _ -> fail n (sprintf "A local %s takes either baseDir (with filter) or files, not both" what)
    | Some b, [] when String.IsNullOrWhiteSpace b -> fail (field n "baseDir") "baseDir cannot be empty"
    | Some _, [] when filter.IsNone -> fail n (sprintf "A local %s with baseDir needs a filter, such as \"*.json\" or \"*\"" what)
    | _ -> InputSource.Local(baseDir, filter, files)

let private supportedSources = "inline, local"

/// Input sources Druid has that are not implemented here; named so users learn it is a gap.
let private knownInputSources =
    set [ "druid"; "combining"; "http"; "s3"; "google"; "gs"; "azure"; "azureStorage"; "hdfs"; "sql"; "oss"; "delta"; "iceberg"; "kafka"; "kinesis" ]

/// An `inputSource`, or a legacy `firehose` (`kind`), read into the same model; Druid types we
/// do not implement yet (`known`) are told apart from misspelt ones.
let private parseSource (kind: string) (known: Set<string>) (n: Node) : InputSource =
    let n = expectObject n
    match requiredType n kind with
    | "inline" -> InputSource.Inline(requiredString n "data")
    | "local" -> parseLocalSource n kind
    | t when known.Contains t ->
        fail (field n "type") (sprintf "%s type [%s] is not supported yet; supported: %s" kind t supportedSources)
    | other -> fail (field n "type") (sprintf "Unknown %s type [%s]; supported: %s" kind other supportedSources)

let parseInputSource (n: Node) : InputSource = parseSource "inputSource" knownInputSources n

let private knownFirehoses = set [ "ingestSegment"; "combining"; "http"; "static-s3"; "static-google-blobstore"; "static-azure-blobstore"; "hdfs"; "sql"; "clipped"; "timed" ]

/// Legacy firehoses map onto the same input sources.
let parseFirehose (n: Node) : InputSource = parseSource "firehose" knownFirehoses n

// ---- tuningConfig ------------------------------------------------------------------------

let private defaultMaxRowsPerSegment = 5_000_000

let private positive (n: Node) (key: string) (v: int64) =
    if v <= 0L then fail (field n key) (sprintf "%s must be positive, got %d" key v)

/// An optional int where -1 means "not given", as in Druid's historical partitioning specs.
let private optPartitionInt (n: Node) (key: string) = optInt n key |> Option.filter (fun v -> v <> -1)

let private shouldBePositive (n: Node) (key: string) (v: int) =
    if v <= 0 then fail (field n key) (sprintf "%s[%d] should be positive" key v)

let private parsePartitionsSpec (p: Node) : PartitionsSpec =
    let p = expectObject p
    match stringOr p "type" "dynamic" with
    | "dynamic" ->
        let maxRows = optPartitionInt p "maxRowsPerSegment"
        maxRows |> Option.iter (shouldBePositive p "maxRowsPerSegment")
        PartitionsSpec.Dynamic(defaultArg maxRows defaultMaxRowsPerSegment, optInt64 p "maxTotalRows" |> Option.filter (fun v -> v <> -1L))
    | "hashed" ->
        let numShards = optPartitionInt p "numShards"
        // targetRowsPerSegment, targetPartitionSize and maxRowsPerSegment are aliases.
        let targets =
            [ "targetRowsPerSegment"; "targetPartitionSize"; "maxRowsPerSegment" ]
            |> List.choose (fun key -> optPartitionInt p key |> Option.map (fun v -> key, v))
        let atMostOne (k1: string) (v1: int) (k2: string) (v2: int) =
            fail p (sprintf "At most one of [%s=%d] or [%s=%d] must be present" k1 v1 k2 v2)
        match targets, numShards with
        | (k1, v1) :: (k2, v2) :: _, _ -> atMostOne k1 v1 k2 v2
        | [ (k, v) ], Some s -> atMostOne k v "numShards" s
        | _ -> ()
        let target = List.tryHead targets
        target |> Option.iter (fun (k, v) -> shouldBePositive p k v)
        numShards |> Option.iter (shouldBePositive p "numShards")
        match tryField p "partitionFunction" with
        | Some f when asString f <> "murmur3_32_abs" ->
            fail f (sprintf "Unknown partitionFunction [%s]; supported: murmur3_32_abs" (asString f))
        | _ -> ()
        PartitionsSpec.Hashed(numShards, target |> Option.map snd, defaultArg (optStringList p "partitionDimensions") [])
    | "single_dim" | "range" as t ->
        fail (field p "type") (sprintf "partitionsSpec type [%s] is not supported yet; supported: dynamic, hashed" t)
    | other -> fail (field p "type") (sprintf "Unknown partitionsSpec type [%s]; supported: dynamic, hashed" other)

let parseTuningConfig (n: Node option) : TuningConfig =
    let defaults =
        { MaxRowsInMemory = 1_000_000
          MaxRowsInMemoryGiven = false
          MaxBytesInMemory = 0L
          Partitions = PartitionsSpec.Dynamic(defaultMaxRowsPerSegment, None)
          ForceGuaranteedRollup = false
          MaxParseExceptions = Int32.MaxValue
          LogParseExceptions = false
          MaxNumConcurrentSubTasks = 1
          IndexSpecJson = None }
    match n with
    | None -> defaults
    | Some n ->
        let n = expectObject n
        let maxRowsKey = if hasField n "maxRowsInMemory" then "maxRowsInMemory" else "rowFlushBoundary"
        let maxRowsInMemory = intOr n maxRowsKey defaults.MaxRowsInMemory
        if hasField n maxRowsKey then positive n maxRowsKey (int64 maxRowsInMemory)
        let maxBytes = int64Or n "maxBytesInMemory" 0L
        let forceGuaranteed = boolOr n "forceGuaranteedRollup" false
        if hasField n "targetPartitionSize" && hasField n "maxRowsPerSegment" then
            fail n "Can't use targetPartitionSize and maxRowsPerSegment together"
        // Druid's deprecated top-level partitioning keys, used when there is no partitionsSpec.
        let legacyMaxRows =
            [ "maxRowsPerSegment"; "targetPartitionSize" ]
            |> List.tryPick (fun key -> optPartitionInt n key |> Option.map (fun v -> key, v))
        let partitions =
            match tryField n "partitionsSpec" with
            | Some p ->
                match parsePartitionsSpec p with
                | PartitionsSpec.Hashed _ when not forceGuaranteed ->
                    fail p "DynamicPartitionsSpec must be used for best-effort rollup; set forceGuaranteedRollup to true to use hashed partitioning"
                | PartitionsSpec.Dynamic _ when forceGuaranteed ->
                    fail p "DynamicPartitionsSpec cannot be used for perfect rollup; use a hashed partitionsSpec or set forceGuaranteedRollup to false"
                | spec -> spec
            | None ->
                legacyMaxRows |> Option.iter (fun (key, v) -> shouldBePositive n key v)
                if forceGuaranteed then
                    let numShards = optPartitionInt n "numShards"
                    match legacyMaxRows, numShards with
                    | Some(key, v), Some s -> fail n (sprintf "At most one of [%s=%d] or [numShards=%d] must be present" key v s)
                    | _ -> ()
                    numShards |> Option.iter (shouldBePositive n "numShards")
                    PartitionsSpec.Hashed(numShards, legacyMaxRows |> Option.map snd, defaultArg (optStringList n "partitionDimensions") [])
                else
                    let maxTotal = optInt64 n "maxTotalRows" |> Option.filter (fun v -> v <> -1L)
                    PartitionsSpec.Dynamic(legacyMaxRows |> Option.map snd |> Option.defaultValue defaultMaxRowsPerSegment, maxTotal)
        let maxParse =
            if boolOr n "reportParseExceptions" false then 0
            else
                match optInt n "maxParseExceptions" with
                | Some v when v < 0 -> fail (field n "maxParseExceptions") (sprintf "maxParseExceptions cannot be negative, got %d" v)
                | Some v -> v
                | None -> Int32.MaxValue
        let subTasksKey = if hasField n "maxNumConcurrentSubTasks" then "maxNumConcurrentSubTasks" else "maxNumSubTasks"
        let subTasks = intOr n subTasksKey 1
        if subTasks <= 0 then fail (field n subTasksKey) (sprintf "%s must be positive, got %d" subTasksKey subTasks)
        { MaxRowsInMemory = maxRowsInMemory
          MaxRowsInMemoryGiven = hasField n maxRowsKey
          MaxBytesInMemory = maxBytes
          Partitions = partitions
          ForceGuaranteedRollup = forceGuaranteed
          MaxParseExceptions = maxParse
          LogParseExceptions = boolOr n "logParseExceptions" false
          MaxNumConcurrentSubTasks = subTasks
          IndexSpecJson = tryField n "indexSpec" |> Option.map rawText }

// ---- the task ----------------------------------------------------------------------------

let private supportedTaskTypes = [ "index"; "index_parallel" ]
let private supportedTaskTypesText = String.Join(", ", supportedTaskTypes)

/// Druid task types this implementation does not run, so they are reported as gaps.
let private knownTaskTypes =
    set [ "compact"; "index_hadoop"; "index_kafka"; "index_kinesis"; "index_realtime"; "index_realtime_appenderator"
          "kill"; "archive"; "restore"; "move"; "noop"; "query_controller"; "query_worker"; "single_phase_sub_task"
          "partial_index_generate"; "partial_dimension_cardinality"; "partial_dimension_distribution"
          "partial_range_index_generate"; "partial_index_generic_merge" ]

let private checkTaskType (typeNode: Node) =
    match asString typeNode with
    | t when List.contains t supportedTaskTypes -> t
    | "kafka" | "kinesis" | "rabbit" as t ->
        fail typeNode (sprintf "[%s] is the type of a streaming supervisor spec, not of a task; streaming ingestion is not supported yet (supported task types: %s)" t supportedTaskTypesText)
    | t when knownTaskTypes.Contains t -> fail typeNode (sprintf "Task type [%s] is not supported yet; supported: %s" t supportedTaskTypesText)
    | t -> fail typeNode (sprintf "Unknown task type [%s]; supported: %s" t supportedTaskTypesText)

/// The legacy `dataSchema.parser`: its `parseSpec` node.
let private legacyParseSpec (p: Node) : Node =
    let p = expectObject p
    match optString p "type" with
    | Some t when t <> "string" && t <> "hadoopyString" && t <> "map" ->
        fail (field p "type") (sprintf "Parser type [%s] is not supported yet; supported: string, hadoopyString, map" t)
    | _ -> ()
    expectObject (field p "parseSpec")

/// Parses a whole task JSON object, checking it in the order Druid does: the task type,
/// the dataSchema, the ioConfig, the tuningConfig, then how they combine.
let parseTask (task: Node) : IngestSpec =
    let task = expectObject task
    let taskType = checkTaskType (field task "type")
    let spec =
        match tryField task "spec" |> Option.orElse (tryField task "schema") with
        | Some s -> expectObject s
        | None -> raise (JsonError(childPath task.Path "spec", "is required but missing"))
    // dataSchema
    let dataSchema = expectObject (field spec "dataSchema")
    let dsNode = field dataSchema "dataSource"
    let dataSource = asString dsNode
    validateDataSource dsNode dataSource
    let parserNode = tryField dataSchema "parser"
    let parseSpec = parserNode |> Option.map legacyParseSpec
    let legacyFormat = parseSpec |> Option.map InputFormatSpec.parseLegacyParseSpec
    let fromSchemaOrParseSpec key =
        tryField dataSchema key |> Option.orElse (parseSpec |> Option.bind (fun ps -> tryField ps key))
    let timestampSpec =
        match fromSchemaOrParseSpec "timestampSpec", parseSpec with
        | Some t, _ -> TimestampSpec.parse (expectObject t)
        | None, Some ps -> fail ps "timestampSpec is required but missing"
        | None, None -> fail dataSchema "timestampSpec is required but missing"
    let dims, dimsNode = parseDimensionsSpecAt (fromSchemaOrParseSpec "dimensionsSpec")
    let metricsNode = tryField dataSchema "metricsSpec"
    let metrics = match metricsNode with Some m -> elements m |> List.mapi parseMetric | None -> []
    checkColumnsUnique dataSchema dimsNode dims metricsNode metrics
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
    // ioConfig
    let ioConfig = expectObject (field spec "ioConfig")
    match optString ioConfig "type" with
    | Some t when not (List.contains t supportedTaskTypes) ->
        fail (field ioConfig "type") (sprintf "ioConfig type [%s] does not match task type [%s]" t taskType)
    | _ -> ()
    let inputSource =
        match tryField ioConfig "inputSource", tryField ioConfig "firehose" with
        | Some _, Some f -> fail f "At most one of properties[[firehose, inputSource]] must be present; use inputSource (firehose is its deprecated form)"
        | Some s, None -> parseInputSource s
        | None, Some f -> parseFirehose f
        | None, None -> fail ioConfig "inputSource is required but missing (or, in the deprecated form, firehose)"
    let inputFormatNode = tryField ioConfig "inputFormat"
    match inputFormatNode, tryField ioConfig "firehose" with
    | Some f, Some _ -> fail f "Cannot use firehose and inputFormat together. Try using inputSource instead of firehose."
    | _ -> ()
    let givenFormat = inputFormatNode |> Option.map InputFormatSpec.parseInputFormat
    match parserNode, tryField ioConfig "inputSource" with
    | Some p, Some _ -> fail p "Cannot use parser and inputSource together. Try using inputFormat instead of parser."
    | _ -> ()
    let inputFormat =
        match givenFormat, legacyFormat with
        | Some f, _ -> f
        | None, Some f -> f
        | None, None -> fail ioConfig "inputFormat is required but missing (the deprecated form gives the format in dataSchema.parser instead)"
    let append = boolOr ioConfig "appendToExisting" false
    let dropExisting = boolOr ioConfig "dropExisting" false
    // tuningConfig
    let tuning = parseTuningConfig (tryField spec "tuningConfig")
    // how they combine
    if dropExisting && append then
        fail (field ioConfig "dropExisting") "Cannot simultaneously replace and append to existing segments. Either dropExisting or appendToExisting should be set to false"
    if dropExisting && granularity.Intervals.IsNone then
        fail (field ioConfig "dropExisting")
            "GranularitySpec's intervals cannot be empty for replace: dropExisting is true, so give granularitySpec.intervals, the time range whose segments are replaced"
    if append && tuning.ForceGuaranteedRollup then
        fail (field ioConfig "appendToExisting") "Perfect rollup cannot be guaranteed when appending to existing dataSources"
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

/// How many rolled-up rows an in-memory index may hold before the host persists it: the
/// spec's maxRowsInMemory when given, otherwise unbounded (maxBytesInMemory still applies).
let persistThresholdRows (tuning: TuningConfig) : int =
    if tuning.MaxRowsInMemoryGiven then tuning.MaxRowsInMemory else Int32.MaxValue

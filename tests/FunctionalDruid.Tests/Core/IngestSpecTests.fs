module FunctionalDruid.Tests.Core.IngestSpecTests

open System
open System.IO
open System.Text.Json
open System.Text.Json.Nodes
open System.Text.RegularExpressions
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Core.IngestSpec

// ---- building specs by editing a valid one -------------------------------------------------

/// A valid spec in the current form that every invalid case below changes in one place.
let baseCurrent =
    """{"type":"index_parallel","spec":{
         "dataSchema":{"dataSource":"wiki",
           "timestampSpec":{"column":"ts","format":"iso"},
           "dimensionsSpec":{"dimensions":["page",{"type":"long","name":"added"}],"dimensionExclusions":["secret"]},
           "metricsSpec":[{"type":"count","name":"count"},{"type":"longSum","name":"delta","fieldName":"delta"}],
           "granularitySpec":{"type":"uniform","segmentGranularity":"day","queryGranularity":"hour","rollup":true,"intervals":["2020-01-01/2020-02-01"]},
           "transformSpec":{"transforms":[{"type":"expression","name":"pageUpper","expression":"upper(page)"}],
                            "filter":{"type":"selector","dimension":"page","value":"x"}}},
         "ioConfig":{"type":"index_parallel","inputSource":{"type":"inline","data":"{}"},"inputFormat":{"type":"json"}},
         "tuningConfig":{"type":"index_parallel","maxRowsInMemory":1000}}}"""

/// The same content in the legacy form: format, timestamp and dimensions in `parser.parseSpec`,
/// the input in a `firehose`.
let baseLegacy =
    """{"type":"index_parallel","spec":{
         "dataSchema":{"dataSource":"wiki",
           "parser":{"type":"string","parseSpec":{"format":"json",
             "timestampSpec":{"column":"ts","format":"iso"},
             "dimensionsSpec":{"dimensions":["page",{"type":"long","name":"added"}],"dimensionExclusions":["secret"]}}},
           "metricsSpec":[{"type":"count","name":"count"},{"type":"longSum","name":"delta","fieldName":"delta"}],
           "granularitySpec":{"type":"uniform","segmentGranularity":"day","queryGranularity":"hour","rollup":true,"intervals":["2020-01-01/2020-02-01"]},
           "transformSpec":{"transforms":[{"type":"expression","name":"pageUpper","expression":"upper(page)"}],
                            "filter":{"type":"selector","dimension":"page","value":"x"}}},
         "ioConfig":{"type":"index_parallel","firehose":{"type":"inline","data":"{}"}},
         "tuningConfig":{"type":"index_parallel","maxRowsInMemory":1000}}}"""

type private Step =
    | Key of string
    | At of int

let private stepsOf (path: string) =
    [ for part in path.Split('.') do
        let bracket = part.IndexOf '['
        if bracket < 0 then yield Key part
        else
            if bracket > 0 then yield Key(part.Substring(0, bracket))
            for m in Regex.Matches(part.Substring bracket, @"\[(\d+)\]") do yield At(int m.Groups.[1].Value) ]

/// Applies edits (path, Some json = set or append, None = remove) to a spec's text.
let edited (text: string) (edits: (string * string option) list) : string =
    let root = JsonNode.Parse(text, documentOptions = JsonDocumentOptions(CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true))
    for path, value in edits do
        let steps = stepsOf path
        let parent =
            steps |> List.take (steps.Length - 1)
            |> List.fold (fun (n: JsonNode) s -> match s with Key k -> n.[k] | At i -> n.[i]) root
        let parse (v: string) = if v = "null" then null else JsonNode.Parse v
        match List.last steps, value with
        | Key k, Some v -> parent.AsObject().[k] <- parse v
        | Key k, None -> parent.AsObject().Remove k |> ignore
        | At i, Some v when i = parent.AsArray().Count -> parent.AsArray().Add(parse v)
        | At i, Some v -> parent.AsArray().[i] <- parse v
        | At i, None -> parent.AsArray().RemoveAt i
    root.ToJsonString()

let set path (json: string) = path, Some json
let remove path = path, None
let str (s: string) = JsonSerializer.Serialize s
let current edits = edited baseCurrent edits
let legacy edits = edited baseLegacy edits

let parse text =
    match parseTaskText text with
    | Ok spec -> spec
    | Error(path, message) -> failwithf "spec did not parse: %s: %s" path message

// ---- the invalid specs -----------------------------------------------------------------------

let private ds = "spec.dataSchema"
let private dims = "spec.dataSchema.dimensionsSpec.dimensions"
let private mets = "spec.dataSchema.metricsSpec"
let private gran = "spec.dataSchema.granularitySpec"
let private xf = "spec.dataSchema.transformSpec"
let private io = "spec.ioConfig"
let private tc = "spec.tuningConfig"
let private hashed = """{"type":"hashed","numShards":2}"""
let private localSource (fields: string) = sprintf """{"type":"local",%s}""" fields

/// (what is wrong, spec text, expected path, expected message)
let invalidSpecs : (string * string * string * string) list =
    [ // the task
      "task type missing", current [ remove "type" ], "type", "is required but missing"
      "task type unknown", current [ set "type" (str "indexx") ], "type", "Unknown task type [indexx]; supported: index, index_parallel"
      "task type not supported", current [ set "type" (str "compact") ], "type", "Task type [compact] is not supported yet; supported: index, index_parallel"
      "supervisor spec sent as a task", current [ set "type" (str "kafka") ], "type",
      "[kafka] is the type of a streaming supervisor spec, not of a task; streaming ingestion is not supported yet (supported task types: index, index_parallel)"
      "task is not an object", "[1,2]", "", "expected an object but found an array"
      "spec missing", current [ remove "spec" ], "spec", "is required but missing"
      "dataSchema missing", current [ remove ds ], ds, "is required but missing"
      "dataSchema not an object", current [ set ds "[]" ], ds, "expected an object but found an array"
      // dataSource
      "dataSource missing", current [ remove (ds + ".dataSource") ], ds + ".dataSource", "is required but missing"
      "dataSource empty", current [ set (ds + ".dataSource") (str "") ], ds + ".dataSource", "Invalid value for field [dataSource]: must not be null"
      "dataSource with a slash", current [ set (ds + ".dataSource") (str "a/b") ], ds + ".dataSource", "Invalid value for field [dataSource]: Value [a/b] cannot contain '/'."
      "dataSource starting with a dot", current [ set (ds + ".dataSource") (str ".hidden") ], ds + ".dataSource", "Invalid value for field [dataSource]: Value [.hidden] cannot start with '.'."
      "dataSource with a tab", current [ set (ds + ".dataSource") (str "a\tb") ], ds + ".dataSource",
      "Invalid value for field [dataSource]: Value [a\tb] contains illegal whitespace characters.  Only space is allowed."
      "dataSource with a control character", current [ set (ds + ".dataSource") (str "a\u0001b") ], ds + ".dataSource",
      "Invalid value for field [dataSource]: Value [a\u0001b] contains illegal UTF8 character [#1] at position [1]"
      // timestampSpec
      "timestampSpec missing", current [ remove (ds + ".timestampSpec") ], ds, "timestampSpec is required but missing"
      "timestampSpec missing from a legacy parseSpec", legacy [ remove (ds + ".parser.parseSpec.timestampSpec") ], ds + ".parser.parseSpec", "timestampSpec is required but missing"
      "timestampSpec not an object", current [ set (ds + ".timestampSpec") (str "ts") ], ds + ".timestampSpec", "expected an object but found a string"
      "timestamp format with an unknown pattern letter", current [ set (ds + ".timestampSpec.format") (str "yyyy-MM-dd qq") ], ds + ".timestampSpec.format",
      "Unable to parse timestamps with format [yyyy-MM-dd qq]"
      "timestamp missingValue not a time", current [ set (ds + ".timestampSpec.missingValue") (str "soon") ], ds + ".timestampSpec.missingValue", "Invalid format: \"soon\""
      // dimensionsSpec
      "dimension that is a number", current [ set (dims + "[1]") "5" ], dims + "[1]",
      "A dimension is a name or an object such as {\"type\":\"long\",\"name\":\"x\"}, but this is a number"
      "dimension that is an array", current [ set (dims + "[0]") """["a"]""" ], dims + "[0]",
      "A dimension is a name or an object such as {\"type\":\"long\",\"name\":\"x\"}, but this is an array"
      "dimension object without a name", current [ set (dims + "[1]") """{"type":"long"}""" ], dims + "[1]", "Encountered dimension with null or empty name at position[1]"
      "dimension with an empty name", current [ set (dims + "[0]") (str "") ], dims + "[0]", "Encountered dimension with null or empty name at position[0]"
      "dimension of an unknown type", current [ set (dims + "[1].type") (str "text") ], dims + "[1].type", "Unknown dimension type [text]; supported: string, long, float, double, auto, json"
      "dimension of an unsupported type", current [ set (dims + "[1].type") (str "spatial") ], dims + "[1].type", "Dimension type [spatial] is not supported yet; supported: string, long, float, double, auto, json"
      "auto dimension cast to an unknown type", current [ set (dims + "[1]") """{"name":"tags","type":"auto","castToType":"ARRAY<BLOB>"}""" ], dims + "[1].castToType",
      "Cannot cast dimension to type [ARRAY<BLOB>]; castToType may be STRING, LONG, DOUBLE, ARRAY<STRING>, ARRAY<LONG> or ARRAY<DOUBLE>"
      "unknown multiValueHandling", current [ set (dims + "[1]") """{"name":"tags","multiValueHandling":"SORTED"}""" ], dims + "[1].multiValueHandling",
      "Unknown multiValueHandling [SORTED]; expected SORTED_ARRAY, SORTED_SET or ARRAY"
      "duplicate dimensions", current [ set (dims + "[2]") (str "page") ], dims, "Cannot specify a column more than once: [page] seen in dimensions list (2 occurrences)"
      "dimension also excluded", current [ set (ds + ".dimensionsSpec.dimensionExclusions") """["page"]""" ], ds + ".dimensionsSpec.dimensionExclusions",
      "dimensions and dimensions exclusions cannot overlap: [page] is in both"
      "__time as a string dimension", current [ set (dims + "[0]") (str "__time") ], dims + "[0]", "Encountered dimension[__time] with incorrect type[STRING]. Type must be 'long'."
      "__time as a later long dimension", current [ set (dims + "[2]") """{"type":"long","name":"__time"}""" ], dims + "[2]",
      "Encountered dimension[__time] at position[2]. Segments sorted by anything but __time first are not supported yet, so __time may only be the first dimension."
      "dimensions not a list", current [ set dims (str "page") ], dims, "expected an array but found a string"
      // metricsSpec
      "metric of an unknown type", current [ set (mets + "[1].type") (str "longSummm") ], mets + "[1].type", "Unknown aggregator type [longSummm]"
      "metric without a type", current [ remove (mets + "[1].type") ], mets + "[1]", "Could not resolve aggregator: missing type id property 'type'"
      "metric without a name", current [ remove (mets + "[1].name") ], mets + "[1]", "Must have a valid, non-null aggregator name"
      "metric with an empty name", current [ set (mets + "[1].name") (str "") ], mets + "[1]", "Encountered metric with null or empty name at position 1"
      "longSum without fieldName", current [ remove (mets + "[1].fieldName") ], mets + "[1]", "Must have a valid, non-null fieldName or expression"
      "duplicate metric names", current [ set (mets + "[1].name") (str "count") ], mets, "Cannot specify a column more than once: [count] seen in metricsSpec list (2 occurrences)"
      "metric named like a dimension", current [ set (mets + "[1].name") (str "page") ], ds, "Cannot specify a column more than once: [page] seen in dimensions list, metricsSpec list"
      "metric named __time", current [ set (mets + "[1].name") (str "__time") ], mets,
      "Cannot specify a column more than once: [__time] seen in metricsSpec list, primary timestamp (__time cannot appear elsewhere except as long-typed dimension)"
      "metric with a bad expression", current [ set (mets + "[1]") """{"type":"longSum","name":"x","expression":"delta +"}""" ], mets + "[1].expression",
      "Unexpected end of expression at position 7 in expression \"delta +\""
      "filtered metric with an unknown filter type", current [ set (mets + "[1]") """{"type":"filtered","filter":{"type":"sometimes"},"aggregator":{"type":"count","name":"c"}}""" ],
      mets + "[1].filter.type", "Unknown filter type [sometimes]"
      "javascript metric", current [ set (mets + "[1]") """{"type":"javascript","name":"js","fieldNames":["a"],"fnAggregate":"","fnReset":"","fnCombine":""}""" ], mets + "[1]", "JavaScript is disabled"
      "extension metric", current [ set (mets + "[1]") """{"type":"thetaSketch","name":"users","fieldName":"user"}""" ], mets + "[1].type",
      "Aggregator type [thetaSketch] (from the druid-datasketches extension) is not supported yet"
      "query-only metric", current [ set (mets + "[1]") """{"type":"stringMin","name":"first","fieldName":"page"}""" ], mets + "[1].type",
      "Aggregator type [stringMin] is for queries only (SQL's MIN and MAX of strings); it cannot be a metric"
      "metricsSpec not a list", current [ set mets """{"type":"count"}""" ], mets, "expected an array but found an object"
      // granularitySpec
      "granularitySpec of an unknown type", current [ set (gran + ".type") (str "weird") ], gran + ".type", "Unknown granularitySpec type [weird]; expected uniform or arbitrary"
      "unknown segmentGranularity", current [ set (gran + ".segmentGranularity") (str "fortnight") ], gran + ".segmentGranularity",
      "Unknown granularity [fortnight]; expected a name (SECOND, MINUTE, FIFTEEN_MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR, ALL, NONE, ...), an ISO-8601 period, or {\"type\":\"period\",\"period\":\"PT1H\"}"
      "unknown queryGranularity", current [ set (gran + ".queryGranularity") (str "sometimes") ], gran + ".queryGranularity",
      "Unknown granularity [sometimes]; expected a name (SECOND, MINUTE, FIFTEEN_MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR, ALL, NONE, ...), an ISO-8601 period, or {\"type\":\"period\",\"period\":\"PT1H\"}"
      "granularity object without a type", current [ set (gran + ".queryGranularity") """{"period":"PT1H"}""" ], gran + ".queryGranularity", "A granularity object needs a \"type\""
      "bad granularity period", current [ set (gran + ".queryGranularity") """{"type":"period","period":"P1X"}""" ], gran + ".queryGranularity.period",
      "Invalid period [P1X]: expected a non-zero ISO-8601 period such as PT1H or P1D"
      "bad granularity timeZone", current [ set (gran + ".queryGranularity") """{"type":"period","period":"PT1H","timeZone":"Mars/Olympus"}""" ], gran + ".queryGranularity.timeZone",
      "The datetime zone id 'Mars/Olympus' is not recognised"
      "bad granularity origin", current [ set (gran + ".queryGranularity") """{"type":"period","period":"PT1H","origin":"noon"}""" ], gran + ".queryGranularity.origin",
      "Invalid origin [noon]: expected an ISO-8601 instant such as 2020-01-01T00:00:00Z"
      "zero duration granularity", current [ set (gran + ".queryGranularity") """{"type":"duration","duration":0}""" ], gran + ".queryGranularity.duration",
      "duration must be a positive number of milliseconds, got 0"
      "queryGranularity coarser than segmentGranularity", current [ set (gran + ".segmentGranularity") (str "hour"); set (gran + ".queryGranularity") (str "day") ],
      gran + ".queryGranularity", "queryGranularity [day] must be equal to or finer than segmentGranularity [hour]"
      "interval that is not an interval", current [ set (gran + ".intervals[0]") (str "yesterday/today") ], gran + ".intervals[0]",
      "Invalid interval [yesterday/today]: expected start/end, start/period or period/end in ISO-8601, such as 2020-01-01/2020-02-01"
      "interval without an end", current [ set (gran + ".intervals[0]") (str "2020-01-01") ], gran + ".intervals[0]",
      "Invalid interval [2020-01-01]: expected start/end, start/period or period/end in ISO-8601, such as 2020-01-01/2020-02-01"
      "reversed interval", current [ set (gran + ".intervals[0]") (str "2020-02-01/2020-01-01") ], gran + ".intervals[0]",
      "Invalid interval [2020-02-01/2020-01-01]: the end instant must be greater than or equal to the start instant"
      "rollup that is not a boolean", current [ set (gran + ".rollup") (str "maybe") ], gran + ".rollup", "expected a boolean but found the string \"maybe\""
      // transformSpec
      "transform of an unknown type", current [ set (xf + ".transforms[0].type") (str "javascript") ], xf + ".transforms[0].type", "Unknown transform type [javascript]; supported: expression"
      "transform without a name", current [ remove (xf + ".transforms[0].name") ], xf + ".transforms[0].name", "is required but missing"
      "transform without an expression", current [ remove (xf + ".transforms[0].expression") ], xf + ".transforms[0].expression", "is required but missing"
      "transform with a syntax error", current [ set (xf + ".transforms[0].expression") (str "upper(page") ], xf + ".transforms[0].expression",
      "Unexpected end of expression at position 10 in expression \"upper(page\""
      "transform calling an unknown function", current [ set (xf + ".transforms[0].expression") (str "shout(page)") ], xf + ".transforms[0].expression",
      "function 'shout' is not defined at position 0 in expression \"shout(page)\""
      "duplicate transform names", current [ set (xf + ".transforms[1]") """{"type":"expression","name":"pageUpper","expression":"lower(page)"}""" ], xf + ".transforms",
      "Transform name [pageUpper] is used 2 times; each transform must have its own name"
      "transform filter of an unknown type", current [ set (xf + ".filter") """{"type":"sometimes"}""" ], xf + ".filter.type", "Unknown filter type [sometimes]"
      "selector filter without a dimension", current [ remove (xf + ".filter.dimension") ], xf + ".filter.dimension", "is required but missing"
      "bound filter without bounds", current [ set (xf + ".filter") """{"type":"bound","dimension":"page"}""" ], xf + ".filter", "lower and upper can not be null at the same time"
      "not filter without a field", current [ set (xf + ".filter") """{"type":"not"}""" ], xf + ".filter.field", "is required but missing"
      // ioConfig
      "ioConfig missing", current [ remove io ], io, "is required but missing"
      "ioConfig type not a task type", current [ set (io + ".type") (str "hadoop") ], io + ".type", "ioConfig type [hadoop] does not match task type [index_parallel]"
      "inputSource missing", current [ remove (io + ".inputSource") ], io, "inputSource is required but missing (or, in the deprecated form, firehose)"
      "inputSource without a type", current [ set (io + ".inputSource") """{"data":"x"}""" ], io + ".inputSource", "inputSource needs a \"type\""
      "inputSource of an unknown type", current [ set (io + ".inputSource") """{"type":"ftp"}""" ], io + ".inputSource.type", "Unknown inputSource type [ftp]; supported: inline, local"
      "inputSource not supported yet", current [ set (io + ".inputSource") """{"type":"s3","uris":["s3://b/k"]}""" ], io + ".inputSource.type",
      "inputSource type [s3] is not supported yet; supported: inline, local"
      "inline inputSource without data", current [ set (io + ".inputSource") """{"type":"inline"}""" ], io + ".inputSource.data", "is required but missing"
      "local inputSource without baseDir or files", current [ set (io + ".inputSource") (localSource "\"filter\":\"*\"") ], io + ".inputSource",
      "At least one of baseDir or files should be specified for a local inputSource"
      "local inputSource with baseDir but no filter", current [ set (io + ".inputSource") (localSource "\"baseDir\":\"/data\"") ], io + ".inputSource",
      "A local inputSource with baseDir needs a filter, such as \"*.json\" or \"*\""
      "local inputSource with both baseDir and files", current [ set (io + ".inputSource") (localSource "\"baseDir\":\"/data\",\"filter\":\"*\",\"files\":[\"/data/a.json\"]") ],
      io + ".inputSource", "A local inputSource takes either baseDir (with filter) or files, not both"
      "local inputSource with an empty baseDir", current [ set (io + ".inputSource") (localSource "\"baseDir\":\" \",\"filter\":\"*\"") ], io + ".inputSource.baseDir", "baseDir cannot be empty"
      "firehose of an unknown type", legacy [ set (io + ".firehose") """{"type":"kafka8"}""" ], io + ".firehose.type", "Unknown firehose type [kafka8]; supported: inline, local"
      "firehose not supported yet", legacy [ set (io + ".firehose") """{"type":"ingestSegment","dataSource":"wiki"}""" ], io + ".firehose.type",
      "firehose type [ingestSegment] is not supported yet; supported: inline, local"
      "local firehose without baseDir or files", legacy [ set (io + ".firehose") (localSource "\"filter\":\"*\"") ], io + ".firehose",
      "At least one of baseDir or files should be specified for a local firehose"
      "both inputSource and firehose", current [ set (io + ".firehose") """{"type":"inline","data":"{}"}""" ], io + ".firehose",
      "At most one of properties[[firehose, inputSource]] must be present; use inputSource (firehose is its deprecated form)"
      "inputFormat missing", current [ remove (io + ".inputFormat") ], io, "inputFormat is required but missing (the deprecated form gives the format in dataSchema.parser instead)"
      "inputFormat of an unknown type", current [ set (io + ".inputFormat.type") (str "parquet") ], io + ".inputFormat.type",
      "Could not resolve type id 'parquet' as a subtype of `org.apache.druid.data.input.InputFormat`: known type ids = [csv, json, tsv]"
      "csv inputFormat without columns", current [ set (io + ".inputFormat") """{"type":"csv"}""" ], io + ".inputFormat", "Either [columns] or [findColumnsFromHeader] must be set"
      "legacy parser with an inputSource", legacy [ remove (io + ".firehose"); set (io + ".inputSource") """{"type":"inline","data":"{}"}""" ], ds + ".parser",
      "Cannot use parser and inputSource together. Try using inputFormat instead of parser."
      "firehose with an inputFormat", legacy [ set (io + ".inputFormat") """{"type":"json"}""" ], io + ".inputFormat",
      "Cannot use firehose and inputFormat together. Try using inputSource instead of firehose."
      "legacy parser of an unsupported type", legacy [ set (ds + ".parser.type") (str "avro_stream") ], ds + ".parser.type",
      "Parser type [avro_stream] is not supported yet; supported: string, hadoopyString, map"
      "legacy parseSpec of an unknown format", legacy [ set (ds + ".parser.parseSpec.format") (str "xml") ], ds + ".parser.parseSpec.format",
      "Could not resolve type id 'xml' as a subtype of `org.apache.druid.data.input.impl.ParseSpec`: known type ids = [csv, json, tsv]"
      // tuningConfig
      "negative maxRowsInMemory", current [ set (tc + ".maxRowsInMemory") "-1" ], tc + ".maxRowsInMemory", "maxRowsInMemory must be positive, got -1"
      "zero maxRowsInMemory", current [ set (tc + ".maxRowsInMemory") "0" ], tc + ".maxRowsInMemory", "maxRowsInMemory must be positive, got 0"
      "maxRowsInMemory not a number", current [ set (tc + ".maxRowsInMemory") (str "lots") ], tc + ".maxRowsInMemory", "expected a whole number but found \"lots\""
      "zero maxRowsPerSegment in a dynamic partitionsSpec", current [ set (tc + ".partitionsSpec") """{"type":"dynamic","maxRowsPerSegment":0}""" ],
      tc + ".partitionsSpec.maxRowsPerSegment", "maxRowsPerSegment[0] should be positive"
      "negative top-level maxRowsPerSegment", current [ set (tc + ".maxRowsPerSegment") "-5" ], tc + ".maxRowsPerSegment", "maxRowsPerSegment[-5] should be positive"
      "targetPartitionSize with maxRowsPerSegment", current [ set (tc + ".maxRowsPerSegment") "5"; set (tc + ".targetPartitionSize") "5" ], tc,
      "Can't use targetPartitionSize and maxRowsPerSegment together"
      "partitionsSpec of an unknown type", current [ set (tc + ".partitionsSpec") """{"type":"random"}""" ], tc + ".partitionsSpec.type", "Unknown partitionsSpec type [random]; supported: dynamic, hashed"
      "single_dim partitionsSpec", current [ set (tc + ".forceGuaranteedRollup") "true"; set (tc + ".partitionsSpec") """{"type":"single_dim","partitionDimension":"page","targetRowsPerSegment":5}""" ],
      tc + ".partitionsSpec.type", "partitionsSpec type [single_dim] is not supported yet; supported: dynamic, hashed"
      "hashed with numShards and targetRowsPerSegment", current [ set (tc + ".forceGuaranteedRollup") "true"; set (tc + ".partitionsSpec") """{"type":"hashed","numShards":2,"targetRowsPerSegment":1000}""" ],
      tc + ".partitionsSpec", "At most one of [targetRowsPerSegment=1000] or [numShards=2] must be present"
      "hashed with two target aliases", current [ set (tc + ".forceGuaranteedRollup") "true"; set (tc + ".partitionsSpec") """{"type":"hashed","targetPartitionSize":10,"maxRowsPerSegment":20}""" ],
      tc + ".partitionsSpec", "At most one of [targetPartitionSize=10] or [maxRowsPerSegment=20] must be present"
      "hashed with zero numShards", current [ set (tc + ".forceGuaranteedRollup") "true"; set (tc + ".partitionsSpec") """{"type":"hashed","numShards":0}""" ],
      tc + ".partitionsSpec.numShards", "numShards[0] should be positive"
      "hashed with an unknown partitionFunction", current [ set (tc + ".forceGuaranteedRollup") "true"; set (tc + ".partitionsSpec") """{"type":"hashed","partitionFunction":"md5"}""" ],
      tc + ".partitionsSpec.partitionFunction", "Unknown partitionFunction [md5]; supported: murmur3_32_abs"
      "hashed without forceGuaranteedRollup", current [ set (tc + ".partitionsSpec") hashed ], tc + ".partitionsSpec",
      "DynamicPartitionsSpec must be used for best-effort rollup; set forceGuaranteedRollup to true to use hashed partitioning"
      "forceGuaranteedRollup with a dynamic partitionsSpec", current [ set (tc + ".forceGuaranteedRollup") "true"; set (tc + ".partitionsSpec") """{"type":"dynamic"}""" ],
      tc + ".partitionsSpec", "DynamicPartitionsSpec cannot be used for perfect rollup; use a hashed partitionsSpec or set forceGuaranteedRollup to false"
      "legacy numShards and maxRowsPerSegment with perfect rollup", current [ set (tc + ".forceGuaranteedRollup") "true"; set (tc + ".numShards") "2"; set (tc + ".maxRowsPerSegment") "9" ],
      tc, "At most one of [maxRowsPerSegment=9] or [numShards=2] must be present"
      "negative maxParseExceptions", current [ set (tc + ".maxParseExceptions") "-1" ], tc + ".maxParseExceptions", "maxParseExceptions cannot be negative, got -1"
      "zero maxNumConcurrentSubTasks", current [ set (tc + ".maxNumConcurrentSubTasks") "0" ], tc + ".maxNumConcurrentSubTasks", "maxNumConcurrentSubTasks must be positive, got 0"
      "zero legacy maxNumSubTasks", current [ set (tc + ".maxNumSubTasks") "0" ], tc + ".maxNumSubTasks", "maxNumSubTasks must be positive, got 0"
      // how the parts combine
      "appendToExisting with perfect rollup", current [ set (io + ".appendToExisting") "true"; set (tc + ".forceGuaranteedRollup") "true"; set (tc + ".partitionsSpec") hashed ],
      io + ".appendToExisting", "Perfect rollup cannot be guaranteed when appending to existing dataSources"
      "dropExisting without intervals", current [ set (io + ".dropExisting") "true"; remove (gran + ".intervals") ], io + ".dropExisting",
      "GranularitySpec's intervals cannot be empty for replace: dropExisting is true, so give granularitySpec.intervals, the time range whose segments are replaced"
      "dropExisting with appendToExisting", current [ set (io + ".dropExisting") "true"; set (io + ".appendToExisting") "true" ], io + ".dropExisting",
      "Cannot simultaneously replace and append to existing segments. Either dropExisting or appendToExisting should be set to false"
      // malformed JSON
      "unclosed object", "{\"type\":\"index\",\n  \"spec\": {\n", "", "Malformed JSON at line 3, column 1: Expected depth to be zero at the end of the JSON payload. There is an open JSON object or array that should be closed"
      "missing comma", "{\"type\":\"index\"\n  \"spec\":{}}", "", "Malformed JSON at line 2, column 3: '\"' is invalid after a value. Expected either ',', '}', or ']'"
      "single-quoted string", "{'type':'index'}", "", "Malformed JSON at line 1, column 2: ''' is an invalid start of a property name. Expected a '\"'" ]

let private invalidTests =
    testList "invalid specs" [
        test "at least 60 distinct invalid specs" {
            let texts = invalidSpecs |> List.map (fun (_, text, _, _) -> text)
            Expect.isGreaterThanOrEqual (List.distinct texts).Length 60 "distinct spec texts"
            Expect.equal (List.distinct texts).Length texts.Length "no case repeats another"
        }
        yield!
            invalidSpecs
            |> List.map (fun (what, text, path, message) ->
                test what { Expect.equal (parseTaskText text |> Result.map ignore) (Error(path, message)) what })
    ]

// ---- valid specs -----------------------------------------------------------------------------

/// Everything the model holds except the raw JSON it records (indexSpec).
let private expectSameModel (a: IngestSpec) (b: IngestSpec) =
    Expect.equal a.TaskType b.TaskType "task type"
    Expect.equal a.DataSource b.DataSource "dataSource"
    Expect.equal a.TimestampSpec b.TimestampSpec "timestampSpec"
    Expect.equal a.DimensionsSpec b.DimensionsSpec "dimensionsSpec"
    Expect.equal a.Metrics b.Metrics "metrics"
    Expect.equal a.GranularitySpec b.GranularitySpec "granularitySpec"
    Expect.equal a.TransformSpec b.TransformSpec "transformSpec"
    Expect.equal a.InputSource b.InputSource "inputSource"
    Expect.equal a.InputFormat b.InputFormat "inputFormat"
    Expect.equal a.AppendToExisting b.AppendToExisting "appendToExisting"
    Expect.equal a.DropExisting b.DropExisting "dropExisting"
    Expect.equal { a.Tuning with IndexSpecJson = None } { b.Tuning with IndexSpecJson = None } "tuningConfig"
    Expect.equal a.Context b.Context "context"

let private csvColumns = """["ts","page","added","delta"]"""

let private validTests =
    testList "valid specs" [
        test "the current and legacy forms of the same spec give the same model" {
            expectSameModel (parse baseCurrent) (parse baseLegacy)
            let spec = parse baseCurrent
            Expect.equal spec.InputSource (InputSource.Inline "{}") "inline input"
            Expect.equal (spec.DimensionsSpec.Dimensions |> List.map (fun d -> d.Name, d.Type)) [ "page", DimensionType.String; "added", DimensionType.Long ] "dimensions"
            Expect.equal (spec.TransformSpec.Transforms |> List.map (fun t -> t.Name, t.ExpressionText)) [ "pageUpper", "upper(page)" ] "transforms"
        }
        test "csv from local files: inputSource + inputFormat equals firehose + parseSpec" {
            let local = """{"type":"local","baseDir":"/data","filter":"*.csv"}"""
            let currentCsv =
                current [ set "spec.ioConfig.inputSource" local
                          set "spec.ioConfig.inputFormat" (sprintf """{"type":"csv","columns":%s,"listDelimiter":"|"}""" csvColumns) ]
            let legacyCsv =
                legacy [ set "spec.ioConfig.firehose" local
                         set "spec.dataSchema.parser.parseSpec.format" (str "csv")
                         set "spec.dataSchema.parser.parseSpec.columns" csvColumns
                         set "spec.dataSchema.parser.parseSpec.listDelimiter" (str "|") ]
            expectSameModel (parse currentCsv) (parse legacyCsv)
            Expect.equal (parse currentCsv).InputSource (InputSource.Local(Some "/data", Some "*.csv", [])) "local source"
        }
        test "comments and trailing commas are accepted" {
            let text =
                """// a task spec as people write them
                   {"type":"index_parallel", /* block comment */ "spec":{
                     "dataSchema":{"dataSource":"wiki",
                       "timestampSpec":{"column":"ts","format":"iso",},   // trailing comma
                       "dimensionsSpec":{"dimensions":["page",{"type":"long","name":"added",},],"dimensionExclusions":["secret"]},
                       "metricsSpec":[{"type":"count","name":"count"},{"type":"longSum","name":"delta","fieldName":"delta"},],
                       "granularitySpec":{"type":"uniform","segmentGranularity":"day","queryGranularity":"hour","rollup":true,"intervals":["2020-01-01/2020-02-01",]},
                       "transformSpec":{"transforms":[{"type":"expression","name":"pageUpper","expression":"upper(page)"}],
                                        "filter":{"type":"selector","dimension":"page","value":"x"}}},
                     "ioConfig":{"type":"index_parallel","inputSource":{"type":"inline","data":"{}"},"inputFormat":{"type":"json"},},
                     "tuningConfig":{"type":"index_parallel","maxRowsInMemory":1000,},},}"""
            expectSameModel (parse text) (parse baseCurrent)
        }
        test "quoted scalars are coerced as Jackson coerces them" {
            let spec =
                parse (current [ set "spec.dataSchema.granularitySpec.rollup" (str "false")
                                 set "spec.tuningConfig.maxRowsInMemory" (str "5000")
                                 set "spec.tuningConfig.maxParseExceptions" (str "0")
                                 set "spec.tuningConfig.maxNumConcurrentSubTasks" (str "3")
                                 set "spec.tuningConfig.forceGuaranteedRollup" (str "true")
                                 set "spec.tuningConfig.partitionsSpec" """{"type":"hashed","numShards":"2"}"""
                                 set "spec.ioConfig.appendToExisting" (str "false") ])
            Expect.isFalse spec.Rollup "rollup \"false\""
            Expect.equal spec.Tuning.MaxRowsInMemory 5000 "maxRowsInMemory \"5000\""
            Expect.equal spec.Tuning.MaxParseExceptions 0 "maxParseExceptions \"0\""
            Expect.equal spec.Tuning.MaxNumConcurrentSubTasks 3 "maxNumConcurrentSubTasks \"3\""
            Expect.isTrue spec.PerfectRollup "forceGuaranteedRollup \"true\""
            Expect.equal spec.Tuning.Partitions (PartitionsSpec.Hashed(Some 2, None, [])) "numShards \"2\""
            Expect.isFalse spec.AppendToExisting "appendToExisting \"false\""
        }
        test "unknown keys are ignored" {
            let spec =
                parse (current [ set "description" (str "ignored")
                                 set "spec.dataSchema.comment" (str "ignored")
                                 set "spec.dataSchema.timestampSpec.note" "1"
                                 set "spec.ioConfig.somethingNew" """{"a":[1,2]}"""
                                 set "spec.tuningConfig.splitHintSpec" """{"type":"maxSize","maxSplitSize":1}"""
                                 set "spec.tuningConfig.patitionsSpec" hashed ])
            expectSameModel spec (parse baseCurrent)
        }
        test "omitted settings take Druid's defaults" {
            let spec =
                parse """{"type":"index","spec":{"dataSchema":{"dataSource":"d","timestampSpec":{}},
                          "ioConfig":{"inputSource":{"type":"inline","data":""},"inputFormat":{"type":"json"}}}}"""
            Expect.equal spec.TimestampSpec TimestampSpec.defaultSpec "timestamp column and auto format"
            Expect.isTrue spec.DimensionsSpec.IsSchemaless "schemaless"
            Expect.equal spec.GranularitySpec
                { SegmentGranularity = (Time.tryGranularityOfName "DAY").Value; QueryGranularity = Time.Granularity.NoTruncation; Rollup = true; Intervals = None } "granularity"
            Expect.equal spec.Tuning.Partitions (PartitionsSpec.Dynamic(5_000_000, None)) "dynamic partitions"
            Expect.equal (spec.Tuning.MaxRowsInMemory, spec.Tuning.MaxParseExceptions, spec.Tuning.MaxNumConcurrentSubTasks) (1_000_000, Int32.MaxValue, 1) "tuning"
            Expect.equal (spec.AppendToExisting, spec.DropExisting) (false, false) "overwrite"
        }
        test "partitioning from Druid's deprecated top-level tuningConfig keys" {
            let partitions edits = (parse (current edits)).Tuning.Partitions
            Expect.equal (partitions [ set "spec.tuningConfig.forceGuaranteedRollup" "true" ]) (PartitionsSpec.Hashed(None, None, [])) "perfect rollup defaults to hashed"
            Expect.equal (partitions [ set "spec.tuningConfig.forceGuaranteedRollup" "true"; set "spec.tuningConfig.maxRowsPerSegment" "3" ])
                (PartitionsSpec.Hashed(None, Some 3, [])) "maxRowsPerSegment sizes hashed partitions"
            Expect.equal (partitions [ set "spec.tuningConfig.forceGuaranteedRollup" "true"; set "spec.tuningConfig.numShards" "4"; set "spec.tuningConfig.partitionDimensions" """["page"]""" ])
                (PartitionsSpec.Hashed(Some 4, None, [ "page" ])) "numShards"
            Expect.equal (partitions [ set "spec.tuningConfig.targetPartitionSize" "7"; set "spec.tuningConfig.maxTotalRows" "70" ])
                (PartitionsSpec.Dynamic(7, Some 70L)) "best-effort rollup keeps dynamic"
            Expect.equal (partitions [ set "spec.tuningConfig.numShards" "4" ]) (PartitionsSpec.Dynamic(5_000_000, None)) "numShards is ignored without perfect rollup"
            Expect.equal (partitions [ set "spec.tuningConfig.partitionsSpec" """{"type":"dynamic","maxRowsPerSegment":-1}""" ])
                (PartitionsSpec.Dynamic(5_000_000, None)) "-1 means the default"
            Expect.equal (partitions [ set "spec.tuningConfig.forceGuaranteedRollup" "true"; set "spec.tuningConfig.partitionsSpec" """{"type":"hashed","maxRowsPerSegment":3,"partitionDimensions":["page"]}""" ])
                (PartitionsSpec.Hashed(None, Some 3, [ "page" ])) "hashed maxRowsPerSegment alias"
        }
        test "__time as the first long dimension is accepted and means time-sorted segments" {
            let spec = parse (current [ set "spec.dataSchema.dimensionsSpec.dimensions" """[{"type":"long","name":"__time"},"page"]""" ])
            Expect.equal (spec.DimensionsSpec.Dimensions |> List.map (fun d -> d.Name)) [ "page" ] "dropped from the list"
        }
        test "a data source name with spaces and unicode letters is accepted" {
            Expect.equal (parse (current [ set "spec.dataSchema.dataSource" (str "wiki edits é") ])).DataSource "wiki edits é" "name"
        }
    ]

// ---- the seed spec and the conformance corpus ------------------------------------------------

/// The JSON object that starts at the first `{` after `key` in `text` (the seed's blocks hold
/// no braces inside strings or comments).
let private objectAfter (key: string) (text: string) =
    let start = text.IndexOf('{', text.IndexOf key)
    let mutable depth = 0
    let mutable i = start
    let mutable stop = -1
    while stop < 0 do
        match text.[i] with
        | '{' -> depth <- depth + 1
        | '}' -> depth <- depth - 1; (if depth = 0 then stop <- i)
        | _ -> ()
        i <- i + 1
    text.Substring(start, stop - start + 1)

let private seedTests =
    test "the seed's legacy Kafka dataSchema (with // comments) works in an index task" {
        let seed = File.ReadAllText(Path.Combine(FunctionalDruid.Tests.TestData.seedsDir, "kafka-indexing-service-notes.zh.txt"))
        let message = Regex.Match(seed, "\\{\"timestamp\":\"\\d+\"[^\\n]*\\}").Value
        let text =
            sprintf "{\"type\":\"index\",\"spec\":{\"dataSchema\":%s,\n\"ioConfig\":{\"type\":\"index\",\"firehose\":{\"type\":\"inline\",\"data\":%s}, // the seed's sample message\n},\n\"tuningConfig\":%s}}"
                (objectAfter "\"dataSchema\"" seed) (str message) (objectAfter "\"tuningConfig\"" seed)
        let spec = parse text
        Expect.equal spec.DataSource "kafkatest" "dataSource"
        Expect.equal (spec.DimensionsSpec.Dimensions |> List.map (fun d -> d.Name)) [ "city"; "platform" ] "dimensions"
        Expect.equal (spec.Metrics |> List.map Aggregation.name) [ "count"; "click" ] "metrics"
        Expect.isFalse spec.Rollup "rollup false"
        Expect.equal (Time.granularityName spec.GranularitySpec.SegmentGranularity) (Some "DAY") "segment granularity"
        Expect.equal spec.GranularitySpec.QueryGranularity Time.Granularity.NoTruncation "query granularity NONE"
        Expect.equal spec.Tuning.MaxParseExceptions Int32.MaxValue "reportParseExceptions false"
        let index = Rollup.IncrementalIndex spec
        for r in Input.readLines spec.InputFormat [ message ] do
            match r with
            | Input.Row row -> Expect.equal (index.Add row) Rollup.RowOutcome.Ingested "ingested"
            | Input.Unparseable m -> failtest m
        let rows = index.Snapshot() |> List.collect FunctionalDruid.Tests.Core.RollupTests.rowsOf
        Expect.equal rows
            [ "2019-06-05T12:02:35.453Z", [ "city", Value.String "beijing"; "platform", Value.String "pc"; "count", Value.Long 1L; "click", Value.Long 0L ] ]
            "the sample message as one row"
    }

let private corpusDir = Path.Combine(FunctionalDruid.Tests.TestData.conformanceDir, "druid-it")

/// Every text a spec file is submitted as in the corpus: placeholders replaced with the values
/// its cases and steps give (a step's values over its case's).
let private substitutedTexts (relative: string) : string list =
    let raw = File.ReadAllText(Path.Combine(corpusDir, relative))
    use manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(corpusDir, "manifest.json")))
    let valuesOf (el: JsonElement) =
        match el.TryGetProperty "placeholders" with
        | true, p -> [ for prop in p.EnumerateObject() -> prop.Name, prop.Value.GetString() ]
        | _ -> []
    let substitute (values: (string * string) list) =
        // later entries win: a step's value over its case's
        Map.ofList values |> Map.fold (fun (text: string) k v -> text.Replace(k, v)) raw
    let fromSteps =
        [ for case in manifest.RootElement.GetProperty("cases").EnumerateArray() do
            for step in case.GetProperty("steps").EnumerateArray() do
                match step.TryGetProperty "spec" with
                | true, s when s.GetString() = relative -> yield substitute (valuesOf case @ valuesOf step)
                | _ -> () ]
    (if fromSteps.IsEmpty then [ raw ] else fromSteps) |> List.distinct

let private specFiles =
    [ yield! Directory.GetFiles(Path.Combine(corpusDir, "specs", "indexer"), "*.json") |> Array.sort |> Array.map (fun f -> "specs/indexer/" + Path.GetFileName f)
      yield! Directory.GetFiles(Path.Combine(corpusDir, "tutorial"), "*-index*.json") |> Array.sort |> Array.map (fun f -> "tutorial/" + Path.GetFileName f) ]

let private streamSupervisor = "type", "[kafka] is the type of a streaming supervisor spec, not of a task; streaming ingestion is not supported yet (supported task types: index, index_parallel)"
let private compaction = "type", "Task type [compact] is not supported yet; supported: index, index_parallel"
let private thetaAt (i: int) = sprintf "spec.dataSchema.metricsSpec[%d].type" i, "Aggregator type [thetaSketch] (from the druid-datasketches extension) is not supported yet"
let private druidSource = "spec.ioConfig.inputSource.type", "inputSource type [druid] is not supported yet; supported: inline, local"

/// What each corpus spec gives: None = it parses; Some = the unsupported feature it needs.
let private corpusExpectations =
    dict [ "specs/indexer/json_path_index_task.json",
           Some("spec.ioConfig.inputFormat.flattenSpec.fields[0].expr", "Invalid JSONPath [$.values.length()]: Functions such as length() are not supported")
           "specs/indexer/kafka_supervisor_spec_input_format.json", Some streamSupervisor
           "specs/indexer/kafka_supervisor_spec_legacy_parser.json", Some streamSupervisor
           "specs/indexer/sparse_column_index_task.json", None
           "specs/indexer/sparse_column_without_dim_compaction_task.json", Some compaction
           "specs/indexer/stream_supervisor_spec_input_format.json", Some streamSupervisor
           "specs/indexer/stream_supervisor_spec_legacy_parser.json", Some streamSupervisor
           "specs/indexer/wikipedia_compaction_task_with_granularity_spec.json", Some compaction
           "specs/indexer/wikipedia_index_no_rollup_preserve_metric.json", None
           "specs/indexer/wikipedia_index_rollup_preserve_metric.json", Some(thetaAt 6)
           "specs/indexer/wikipedia_index_task.json", Some(thetaAt 4)
           "specs/indexer/wikipedia_index_task_hashed_partitioning.json", Some(thetaAt 4)
           "specs/indexer/wikipedia_parallel_druid_input_source_index_task.json", Some druidSource
           "specs/indexer/wikipedia_reindex_druid_input_source_task.json", Some druidSource
           "specs/indexer/wikipedia_reindex_druid_input_source_task_with_transforms.json", Some druidSource
           "specs/indexer/wikipedia_reindex_task.json", Some druidSource
           "specs/indexer/wikipedia_with_timestamp_index_task.json", Some(thetaAt 4)
           "tutorial/compaction-init-index.json", None
           "tutorial/deletion-index.json", None
           "tutorial/retention-index.json", None
           "tutorial/rollup-index.json", None
           "tutorial/transform-index.json", None
           "tutorial/updates-append-index.json", Some("spec.ioConfig.inputSource.type", "inputSource type [combining] is not supported yet; supported: inline, local")
           "tutorial/updates-append-index2.json", None
           "tutorial/updates-init-index.json", None
           "tutorial/updates-overwrite-index.json", None ]

/// The spec with its unsupported parts swapped for supported ones: sketch metrics dropped,
/// druid/combining input read inline as JSON.
let private withoutUnsupportedParts (text: string) =
    let root = JsonNode.Parse(text, documentOptions = JsonDocumentOptions(CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true))
    let spec = root.["spec"]
    match spec.["dataSchema"].["metricsSpec"] with
    | :? JsonArray as metrics ->
        for m in List.ofSeq metrics do
            if (string m.["type"]).EndsWith "Sketch" || (string m.["type"]).StartsWith "HLLSketch" then metrics.Remove m |> ignore
    | _ -> ()
    let io = spec.["ioConfig"]
    match io.["inputSource"] with
    | null -> ()
    | source when string source.["type"] = "druid" || string source.["type"] = "combining" ->
        io.["inputSource"] <- JsonNode.Parse """{"type":"inline","data":""}"""
        if isNull io.["inputFormat"] then io.["inputFormat"] <- JsonNode.Parse """{"type":"json"}"""
    | _ -> ()
    root.ToJsonString()

let private corpusTests =
    testList "conformance corpus specs" [
        test "every indexer and tutorial index spec is listed" {
            Expect.equal (List.sort specFiles) (corpusExpectations.Keys |> List.ofSeq |> List.sort) "the files"
        }
        for file in specFiles do
            test file {
                let texts = substitutedTexts file
                for text in texts do
                    Expect.isFalse (text.Contains "%%") "every placeholder substituted"
                    match corpusExpectations.[file], parseTaskText text with
                    | None, Ok spec -> Expect.isNonEmpty spec.DataSource "parsed"
                    | None, Error(path, message) -> failtestf "%s did not parse: %s: %s" file path message
                    | Some expected, result -> Expect.equal (result |> Result.map ignore) (Error expected) "the unsupported feature is named"
            }
        test "apart from sketches and druid/combining input, the wikipedia specs parse" {
            for file in [ "specs/indexer/wikipedia_index_task.json"; "specs/indexer/wikipedia_index_task_hashed_partitioning.json"
                          "specs/indexer/wikipedia_with_timestamp_index_task.json"; "specs/indexer/wikipedia_index_rollup_preserve_metric.json"
                          "specs/indexer/wikipedia_reindex_task.json"; "specs/indexer/wikipedia_reindex_druid_input_source_task_with_transforms.json"
                          "tutorial/updates-append-index.json" ] do
                for text in substitutedTexts file do
                    match parseTaskText (withoutUnsupportedParts text) with
                    | Ok _ -> ()
                    | Error(path, message) -> failtestf "%s: %s: %s" file path message
        }
        test "the hashed-partitioning spec's misspelt key is ignored, so perfect rollup uses default hashing" {
            let text = substitutedTexts "specs/indexer/wikipedia_index_task_hashed_partitioning.json" |> List.exactlyOne
            let spec = parse (withoutUnsupportedParts text)
            Expect.isTrue spec.PerfectRollup "forceGuaranteedRollup"
            Expect.equal spec.Tuning.Partitions (PartitionsSpec.Hashed(None, None, [])) "default hashed partitions"
        }
        test "the legacy wikipedia spec reads maxRowsPerSegment 3 as dynamic partitioning" {
            let text = substitutedTexts "specs/indexer/wikipedia_index_task.json" |> List.head
            let spec = parse (withoutUnsupportedParts text)
            Expect.equal spec.Tuning.Partitions (PartitionsSpec.Dynamic(3, None)) "dynamic, 3 rows"
            Expect.equal spec.InputSource (InputSource.Local(Some "/resources/data/batch_index/json", Some "wikipedia_index_data*", [])) "firehose"
        }
    ]

[<Tests>]
let tests = testList "IngestSpec" [ invalidTests; validTests; seedTests; corpusTests ]

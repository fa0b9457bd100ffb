/// Segment identity and the segment record Druid keeps in its metadata store
/// (`druid_segments.payload`, `/druid/coordinator/v1/metadata/datasources/{ds}/segments?full`).
module FunctionalDruid.Core.Segment

open System
open System.Buffers
open System.Globalization
open System.Text
open System.Text.Encodings.Web
open System.Text.Json
open FunctionalDruid.Core.Time

/// How a time chunk is split into partitions, named and shaped as Druid's shard specs.
type ShardSpec =
    /// `partitions` is the size of the core partition set; appended partitions go beyond it.
    | Numbered of partitionNum: int * partitions: int
    | Hashed of
        partitionNum: int *
        partitions: int *
        bucketId: int *
        numBuckets: int *
        partitionDimensions: string list *
        partitionFunction: string option
    /// Stream ingestion's shard spec: every partition stands on its own, no core set.
    | Linear of partitionNum: int
    /// Druid's `none`: the only partition of its chunk.
    | NoShard
    /// A segment with no rows that hides older data of its interval (Druid's `tombstone`).
    | Tombstone
    /// Any other Druid shard spec (`single`, `range`, `numbered_overwrite`, ...), kept as its
    /// JSON so a payload read from a Druid metadata store is written back unchanged.
    | Other of typeName: string * partitionNum: int * corePartitions: int * json: string

let partitionNum (spec: ShardSpec) : int =
    match spec with
    | Numbered(n, _) | Hashed(n, _, _, _, _, _) | Linear n | Other(_, n, _, _) -> n
    | NoShard | Tombstone -> 0

/// The number of partitions that must all be present before the chunk's version is
/// complete; 0 means any partition alone is complete (linear, none, tombstone).
let corePartitions (spec: ShardSpec) : int =
    match spec with
    | Numbered(_, c) | Hashed(_, c, _, _, _, _) -> c
    | Other(_, _, c, _) -> max c 0
    | Linear _ | NoShard -> 0
    | Tombstone -> 1

type DataSegment =
    { DataSource: string
      Interval: Interval
      Version: string
      /// Where deep storage keeps the segment, e.g. `["type","local"; "path","/x/index.zip"]`.
      LoadSpec: (string * string) list
      Dimensions: string list
      Metrics: string list
      ShardSpec: ShardSpec
      BinaryVersion: int
      Size: int64
      /// Druid's `lastCompactionState` as raw JSON, kept so payloads survive a round trip.
      LastCompactionState: string option }

// ---- segment ids ---------------------------------------------------------------------------

/// `dataSource_start_end_version`, plus `_partitionNum` when it is not 0.
let formatSegmentId (dataSource: string) (interval: Interval) (version: string) (partition: int) : string =
    let sb = StringBuilder(dataSource.Length + version.Length + 64)
    sb.Append(dataSource).Append('_').Append(formatIso interval.Start).Append('_')
      .Append(formatIso interval.End).Append('_').Append(version) |> ignore
    if partition <> 0 then sb.Append('_').Append(partition) |> ignore
    sb.ToString()

let segmentId (s: DataSegment) : string =
    formatSegmentId s.DataSource s.Interval s.Version (partitionNum s.ShardSpec)

/// All readings of the part of an id after `dataSource_`: a trailing `_123` may be the
/// partition number or the end of the version, so both are returned, the partition first
/// (Druid prefers it).
let private parsingsOfRemainder (remainder: string) : (Interval * string * int) list =
    let parts = remainder.Split('_')
    if parts.Length < 3 then []
    else
        match tryParseInstant parts.[0], tryParseInstant parts.[1] with
        | Some s, Some e when s < e ->
            let interval = { Start = s; End = e }
            if parts.Length = 3 then [ interval, parts.[2], 0 ]
            else
                let withoutTrail = String.Join("_", parts, 2, parts.Length - 3)
                let trail = parts.[parts.Length - 1]
                let whole = withoutTrail + "_" + trail
                match Int32.TryParse(trail, NumberStyles.None, CultureInfo.InvariantCulture) with
                | true, p when p > 0 -> [ (interval, withoutTrail, p); (interval, whole, 0) ]
                | _ -> [ interval, whole, 0 ]
        | _ -> []

/// Reads an id of a known data source into (interval, version, partitionNum).
let tryParseSegmentId (dataSource: string) (id: string) : (Interval * string * int) option =
    if String.IsNullOrEmpty dataSource || isNull id || id.Length <= dataSource.Length + 1
       || not (id.StartsWith(dataSource, StringComparison.Ordinal)) || id.[dataSource.Length] <> '_' then None
    else List.tryHead (parsingsOfRemainder (id.Substring(dataSource.Length + 1)))

/// Every reading of an id whose data source is unknown, as (dataSource, interval, version,
/// partitionNum); data source names may hold underscores, so each split point is tried,
/// shortest data source first (the most probable reading comes first).
let possibleSegmentIdParsings (id: string) : (string * Interval * string * int) list =
    if String.IsNullOrEmpty id then []
    else
        [ let mutable i = id.IndexOf '_'
          while i > 0 do
              let dataSource = id.Substring(0, i)
              for interval, version, partition in parsingsOfRemainder (id.Substring(i + 1)) do
                  yield dataSource, interval, version, partition
              i <- id.IndexOf('_', i + 1) ]

// ---- versions ------------------------------------------------------------------------------

/// A version for a new set of segments: the ISO timestamp of `now`, moved forward when
/// needed so that it sorts strictly after `previousMax` (versions compare as strings).
let newVersion (now: int64) (previousMax: string option) : string =
    match previousMax with
    | None -> formatIso now
    | Some prev ->
        let greater (candidate: string) = String.CompareOrdinal(candidate, prev) > 0
        let nowText = formatIso now
        if greater nowText then nowText
        else
            // Step one millisecond past the previous version's own timestamp; the prefix form
            // also covers versions written with an offset or a suffix.
            let stepped =
                [ tryParseInstant prev
                  (if prev.Length >= 23 then tryParseInstant (prev.Substring(0, 23) + "Z") else None) ]
                |> List.choose id
                |> List.map (fun t -> formatIso (max now (t + 1L)))
                |> List.tryFind greater
            match stepped with
            | Some v -> v
            | None -> prev + "_1"

// ---- JSON ----------------------------------------------------------------------------------

// Jackson writes non-ASCII text and characters such as '+' or '<' as they are.
let private writerOptions =
    JsonWriterOptions(Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false)

let private writeToString (write: Utf8JsonWriter -> unit) : string =
    let buffer = ArrayBufferWriter<byte>(256)
    using (new Utf8JsonWriter(buffer, writerOptions)) (fun w ->
        write w
        w.Flush())
    Encoding.UTF8.GetString(buffer.WrittenSpan)

let writeShardSpec (w: Utf8JsonWriter) (spec: ShardSpec) : unit =
    match spec with
    | Other(_, _, _, json) -> w.WriteRawValue(json, true)
    | _ ->
        w.WriteStartObject()
        match spec with
        | Numbered(n, c) ->
            w.WriteString("type", "numbered")
            w.WriteNumber("partitionNum", n)
            w.WriteNumber("partitions", c)
        | Hashed(n, c, bucket, buckets, dims, fn) ->
            w.WriteString("type", "hashed")
            w.WriteNumber("partitionNum", n)
            w.WriteNumber("partitions", c)
            w.WriteNumber("bucketId", bucket)
            w.WriteNumber("numBuckets", buckets)
            w.WriteStartArray("partitionDimensions")
            for d in dims do w.WriteStringValue d
            w.WriteEndArray()
            match fn with
            | Some f -> w.WriteString("partitionFunction", f)
            | None -> w.WriteNull("partitionFunction")
        | Linear n ->
            w.WriteString("type", "linear")
            w.WriteNumber("partitionNum", n)
        | NoShard -> w.WriteString("type", "none")
        | Tombstone ->
            w.WriteString("type", "tombstone")
            w.WriteNumber("partitionNum", 0)
            w.WriteNumber("partitions", 1)
        | Other _ -> ()
        w.WriteEndObject()

let shardSpecToJson (spec: ShardSpec) : string = writeToString (fun w -> writeShardSpec w spec)

/// Reads a shard spec; missing optional fields take Druid's defaults (a hashed spec without
/// `bucketId` uses its partition number, without `numBuckets` its core partition count).
let shardSpecOfNode (n: Json.Node) : ShardSpec =
    let n = Json.expectObject n
    match Json.requiredString n "type" with
    | "numbered" -> Numbered(Json.intOr n "partitionNum" 0, Json.intOr n "partitions" 0)
    | "hashed" ->
        let p = Json.intOr n "partitionNum" 0
        let c = Json.intOr n "partitions" 0
        Hashed(p, c, Json.intOr n "bucketId" p, Json.intOr n "numBuckets" c,
               defaultArg (Json.optStringList n "partitionDimensions") [],
               Json.optString n "partitionFunction")
    | "linear" -> Linear(Json.asInt (Json.field n "partitionNum"))
    | "none" -> NoShard
    | "tombstone" -> Tombstone
    | other ->
        let core =
            match Json.optInt n "numCorePartitions" with
            | Some c -> c
            | None -> Json.intOr n "partitions" -1
        // `numbered_overwrite` names its partition number `partitionId`.
        let partition =
            match Json.optInt n "partitionNum" with
            | Some p -> p
            | None -> Json.intOr n "partitionId" 0
        Other(other, partition, core, Json.rawText n)

/// Druid stores dimension and metric lists joined by commas, and reads arrays too.
let private commaList (n: Json.Node) : string list =
    let items =
        if Json.isArray n then Json.elements n |> List.map Json.asString
        else (Json.asString n).Split(',') |> List.ofArray
    items |> List.filter (fun s -> not (String.IsNullOrEmpty s))

let writeSegment (w: Utf8JsonWriter) (s: DataSegment) : unit =
    w.WriteStartObject()
    w.WriteString("dataSource", s.DataSource)
    w.WriteString("interval", formatInterval s.Interval)
    w.WriteString("version", s.Version)
    w.WriteStartObject("loadSpec")
    for k, v in s.LoadSpec do w.WriteString(k, v)
    w.WriteEndObject()
    w.WriteString("dimensions", String.Join(",", s.Dimensions))
    w.WriteString("metrics", String.Join(",", s.Metrics))
    w.WritePropertyName("shardSpec")
    writeShardSpec w s.ShardSpec
    match s.LastCompactionState with
    | Some json ->
        w.WritePropertyName("lastCompactionState")
        w.WriteRawValue(json, true)
    | None -> ()
    w.WriteNumber("binaryVersion", s.BinaryVersion)
    w.WriteNumber("size", s.Size)
    w.WriteString("identifier", segmentId s)
    w.WriteEndObject()

/// The segment payload exactly as Druid writes it (keys in Druid's order, `identifier` last).
let toJson (s: DataSegment) : string = writeToString (fun w -> writeSegment w s)

let ofNode (n: Json.Node) : DataSegment =
    let n = Json.expectObject n
    let intervalNode = Json.field n "interval"
    let interval =
        match tryParseInterval (Json.asString intervalNode) with
        | Some i -> i
        | None -> Json.fail intervalNode (sprintf "\"%s\" is not an ISO-8601 interval" (Json.asString intervalNode))
    let loadSpec =
        match Json.tryField n "loadSpec" with
        | Some ls -> Json.properties ls |> List.filter (fun (_, v) -> not (Json.isNull v)) |> List.map (fun (k, v) -> k, Json.asString v)
        | None -> []
    let size = Json.int64Or n "size" 0L
    if size < 0L then Json.fail (Json.field n "size") "must not be negative"
    { DataSource = Json.requiredString n "dataSource"
      Interval = interval
      Version = Json.requiredString n "version"
      LoadSpec = loadSpec
      Dimensions = Json.tryField n "dimensions" |> Option.map commaList |> Option.defaultValue []
      Metrics = Json.tryField n "metrics" |> Option.map commaList |> Option.defaultValue []
      ShardSpec = Json.tryField n "shardSpec" |> Option.map shardSpecOfNode |> Option.defaultValue (Numbered(0, 1))
      BinaryVersion = Json.intOr n "binaryVersion" 9
      Size = size
      LastCompactionState = Json.tryField n "lastCompactionState" |> Option.map Json.rawText }

let ofJson (text: string) : Result<DataSegment, string> =
    match Json.run text ofNode with
    | Ok s -> Ok s
    | Error("", problem) -> Error problem
    | Error(path, problem) -> Error(sprintf "%s: %s" path problem)

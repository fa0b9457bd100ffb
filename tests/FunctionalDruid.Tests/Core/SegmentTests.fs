module FunctionalDruid.Tests.Core.SegmentTests

open Expecto
open FsCheck
open FunctionalDruid.Core
open FunctionalDruid.Core.Time
open FunctionalDruid.Core.Segment

let private iso s = (tryParseInstant s).Value
let private day = { Start = iso "2013-08-31"; End = iso "2013-09-01" }

let private wiki =
    { DataSource = "wiki"
      Interval = day
      Version = "2024-01-01T00:00:00.000Z"
      LoadSpec = [ "type", "local"; "path", "/var/druid/segments/wiki/index.zip" ]
      Dimensions = [ "page"; "language" ]
      Metrics = [ "count"; "added" ]
      ShardSpec = Numbered(1, 2)
      BinaryVersion = 9
      Size = 4711L
      LastCompactionState = None }

let private wikiJson =
    """{"dataSource":"wiki","interval":"2013-08-31T00:00:00.000Z/2013-09-01T00:00:00.000Z","version":"2024-01-01T00:00:00.000Z","loadSpec":{"type":"local","path":"/var/druid/segments/wiki/index.zip"},"dimensions":"page,language","metrics":"count,added","shardSpec":{"type":"numbered","partitionNum":1,"partitions":2},"binaryVersion":9,"size":4711,"identifier":"wiki_2013-08-31T00:00:00.000Z_2013-09-01T00:00:00.000Z_2024-01-01T00:00:00.000Z_1"}"""

let private shardSpecOfJson (text: string) = Json.run text shardSpecOfNode

let private shardSpecCases =
    [ Numbered(0, 1), """{"type":"numbered","partitionNum":0,"partitions":1}"""
      Numbered(3, 2), """{"type":"numbered","partitionNum":3,"partitions":2}"""
      Hashed(0, 2, 0, 2, [], Some "murmur3_32_abs"),
      """{"type":"hashed","partitionNum":0,"partitions":2,"bucketId":0,"numBuckets":2,"partitionDimensions":[],"partitionFunction":"murmur3_32_abs"}"""
      Hashed(1, 3, 2, 4, [ "page"; "user" ], None),
      """{"type":"hashed","partitionNum":1,"partitions":3,"bucketId":2,"numBuckets":4,"partitionDimensions":["page","user"],"partitionFunction":null}"""
      Linear 5, """{"type":"linear","partitionNum":5}"""
      NoShard, """{"type":"none"}"""
      Tombstone, """{"type":"tombstone","partitionNum":0,"partitions":1}""" ]

[<Tests>]
let tests =
    testList "Segment" [
        test "shard specs serialise in Druid's shapes and read back" {
            for spec, json in shardSpecCases do
                Expect.equal (shardSpecToJson spec) json (sprintf "%A to JSON" spec)
                Expect.equal (shardSpecOfJson json) (Ok spec) (sprintf "%s from JSON" json)
        }
        test "hashed shard specs from older Druid fill bucketId, numBuckets and dimensions" {
            Expect.equal (shardSpecOfJson """{"type":"hashed","partitionNum":1,"partitions":3}""")
                (Ok(Hashed(1, 3, 1, 3, [], None))) "defaults"
        }
        test "other shard specs keep their JSON and partition numbers" {
            let json = """{"type":"range","dimensions":["page"],"start":"b","end":null,"partitionNum":2,"numCorePartitions":3}"""
            match shardSpecOfJson json with
            | Ok(Other("range", 2, 3, raw) as spec) ->
                Expect.equal raw json "raw"
                Expect.equal (shardSpecToJson spec) json "written back unchanged"
                Expect.equal (partitionNum spec, corePartitions spec) (2, 3) "numbers"
            | other -> failtestf "unexpected %A" other
            let overwrite = """{"type":"numbered_overwrite","partitionId":32768,"startRootPartitionId":0,"endRootPartitionId":2,"minorVersion":1,"atomicUpdateGroupSize":1}"""
            match shardSpecOfJson overwrite with
            | Ok(Other("numbered_overwrite", 32768, -1, raw)) -> Expect.equal raw overwrite "raw"
            | other -> failtestf "unexpected %A" other
        }
        test "partition numbers and core partition counts" {
            let cases =
                [ Numbered(3, 2), (3, 2); Hashed(1, 4, 1, 4, [], None), (1, 4); Linear 7, (7, 0)
                  NoShard, (0, 0); Tombstone, (0, 1); Other("single", 1, -1, "{}"), (1, 0) ]
            for spec, expected in cases do
                Expect.equal (partitionNum spec, corePartitions spec) expected (sprintf "%A" spec)
        }
        test "segment payload in Druid's exact shape" {
            Expect.equal (toJson wiki) wikiJson "payload"
            Expect.equal (ofJson wikiJson) (Ok wiki) "read back"
        }
        test "payload with a compaction state, unicode, and no partition suffix in the id" {
            let s = { wiki with DataSource = "wiki_édits+"; ShardSpec = NoShard; Dimensions = []; Metrics = []
                                LastCompactionState = Some """{"partitionsSpec":{"type":"dynamic"}}""" }
            let json = toJson s
            Expect.equal json
                ("""{"dataSource":"wiki_édits+","interval":"2013-08-31T00:00:00.000Z/2013-09-01T00:00:00.000Z","version":"2024-01-01T00:00:00.000Z","loadSpec":{"type":"local","path":"/var/druid/segments/wiki/index.zip"},"dimensions":"","metrics":"","shardSpec":{"type":"none"},"lastCompactionState":{"partitionsSpec":{"type":"dynamic"}},"binaryVersion":9,"size":4711,"identifier":"wiki_édits+_2013-08-31T00:00:00.000Z_2013-09-01T00:00:00.000Z_2024-01-01T00:00:00.000Z"}""")
                "payload"
            Expect.equal (ofJson json) (Ok s) "read back"
        }
        test "payloads are read leniently as Druid reads them" {
            let json =
                """{"dataSource":"wiki","interval":"2013-08-31/2013-09-01","version":"v1","dimensions":["a","","b"],
                    "metrics":"x,,y","binaryVersion":"9","size":10,"lastCompactionState":null}"""
            Expect.equal (ofJson json)
                (Ok { wiki with Version = "v1"; LoadSpec = []; Dimensions = [ "a"; "b" ]; Metrics = [ "x"; "y" ]
                                ShardSpec = Numbered(0, 1); Size = 10L }) "missing shardSpec is numbered 0 of 1"
        }
        test "bad payloads name the offending field" {
            Expect.equal (ofJson """{"dataSource":"wiki","interval":"yesterday","version":"v1"}""")
                (Error "interval: \"yesterday\" is not an ISO-8601 interval") "interval"
            Expect.equal (ofJson """{"dataSource":"wiki","interval":"2013-08-31/2013-09-01"}""")
                (Error "version: is required but missing") "version"
            Expect.equal (ofJson """{"dataSource":"wiki","interval":"2013-08-31/2013-09-01","version":"v","shardSpec":{"partitionNum":1}}""")
                (Error "shardSpec.type: is required but missing") "shard spec type"
            Expect.isError (ofJson "{") "syntax"
        }
        test "segment ids" {
            Expect.equal (segmentId wiki) "wiki_2013-08-31T00:00:00.000Z_2013-09-01T00:00:00.000Z_2024-01-01T00:00:00.000Z_1" "partition 1"
            Expect.equal (segmentId { wiki with ShardSpec = Numbered(0, 2) }) "wiki_2013-08-31T00:00:00.000Z_2013-09-01T00:00:00.000Z_2024-01-01T00:00:00.000Z" "partition 0 has no suffix"
        }
        test "parsing ids of a known data source" {
            let id = "my_wiki_2013-08-31T00:00:00.000Z_2013-09-01T00:00:00.000Z_2024-01-01T00:00:00.000Z_3"
            Expect.equal (tryParseSegmentId "my_wiki" id) (Some(day, "2024-01-01T00:00:00.000Z", 3)) "with partition"
            Expect.equal (tryParseSegmentId "my_wiki" "my_wiki_2013-08-31T00:00:00.000Z_2013-09-01T00:00:00.000Z_v_0")
                (Some(day, "v_0", 0)) "_0 belongs to the version"
            Expect.equal (tryParseSegmentId "my_wiki" "my_wiki_2013-08-31T00:00:00.000Z_2013-09-01T00:00:00.000Z_v_x")
                (Some(day, "v_x", 0)) "underscore in the version"
            Expect.equal (tryParseSegmentId "my" id) None "wrong data source"
            Expect.equal (tryParseSegmentId "my_wiki" "my_wiki_2013-09-01T00:00:00.000Z_2013-08-31T00:00:00.000Z_v") None "end before start"
            Expect.equal (tryParseSegmentId "my_wiki" "my_wiki_2013-08-31T00:00:00.000Z_2013-09-01T00:00:00.000Z") None "no version"
            Expect.equal (tryParseSegmentId "my_wiki" "my_wiki") None "data source only"
        }
        test "parsing ids of an unknown data source tries every split point" {
            let id = "my_wiki_2013-08-31T00:00:00.000Z_2013-09-01T00:00:00.000Z_v_2"
            Expect.equal (possibleSegmentIdParsings id)
                [ "my_wiki", day, "v", 2
                  "my_wiki", day, "v_2", 0 ] "both readings of the trailing number"
            Expect.equal (possibleSegmentIdParsings "no-timestamps_here_at_all") [] "nothing"
        }
        testProperty "ids of any data source and version parse back" <| fun (dsParts: NonEmptyString list) (version: NonEmptyString) (partition: byte) (startHour: byte) ->
            let clean (s: string) = String.filter System.Char.IsLetterOrDigit s
            let dataSource = String.concat "_" ("ds" :: (dsParts |> List.truncate 3 |> List.map (fun p -> clean p.Get)))
            // A version ending in `_<number>` is ambiguous and reads as a partition, as in Druid.
            let version = "v" + (clean version.Get) + "_x"
            let start = iso "2020-01-01" + int64 startHour * 3_600_000L
            let interval = { Start = start; End = start + 3_600_000L }
            let id = formatSegmentId dataSource interval version (int partition)
            tryParseSegmentId dataSource id = Some(interval, version, int partition)
            && List.contains (dataSource, interval, version, int partition) (possibleSegmentIdParsings id)
        testProperty "payloads round-trip" <| fun (size: uint32) (n: byte) (c: byte) (dims: NonEmptyString list) (spec: byte) ->
            let dims = dims |> List.map (fun d -> d.Get.Replace(",", "")) |> List.filter (fun d -> d <> "")
            let shard =
                match spec % 5uy with
                | 0uy -> Numbered(int n, int c)
                | 1uy -> Hashed(int n, int c, int n % 3, 3, dims, Some "murmur3_32_abs")
                | 2uy -> Linear(int n)
                | 3uy -> NoShard
                | _ -> Tombstone
            let s = { wiki with Size = int64 size; Dimensions = dims; ShardSpec = shard }
            ofJson (toJson s) = Ok s
        test "new versions sort after the previous maximum" {
            let now = iso "2024-05-01T12:00:00Z"
            Expect.equal (newVersion now None) "2024-05-01T12:00:00.000Z" "first"
            Expect.equal (newVersion now (Some "2024-01-01T00:00:00.000Z")) "2024-05-01T12:00:00.000Z" "clock ahead"
            Expect.equal (newVersion now (Some "2024-05-01T12:00:00.000Z")) "2024-05-01T12:00:00.001Z" "same millisecond"
            Expect.equal (newVersion now (Some "2030-01-01T00:00:00.000Z")) "2030-01-01T00:00:00.001Z" "clock behind"
            Expect.equal (newVersion now (Some "2030-01-01T08:00:00.000+08:00")) "2030-01-01T08:00:00.001Z" "offset version"
            Expect.equal (newVersion now (Some "zzz")) "zzz_1" "not a timestamp"
        }
        testProperty "new versions are strictly greater" <| fun (now: int64) (prev: string) ->
            let now = abs (now % 253402300799999L)
            let prev = if isNull prev then None else Some prev
            let v = newVersion now prev
            match prev with
            | Some p -> System.String.CompareOrdinal(v, p) > 0
            | None -> v = formatIso now
    ]

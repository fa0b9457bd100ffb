module FunctionalDruid.Tests.Core.TimelineTests

open System
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Core.Time
open FunctionalDruid.Core.Segment
open FunctionalDruid.Core.Timeline

let private hourMs = 3_600_000L
let private dayStart = (tryParseInstant "2013-08-31").Value
let private hour (h: int) = dayStart + int64 h * hourMs
let private hours (a: int) (b: int) = { Start = hour a; End = hour b }
let private day = hours 0 24

let private seg (a: int, b: int) (version: string) (shard: ShardSpec) : DataSegment =
    { DataSource = "wiki"
      Interval = hours a b
      Version = version
      LoadSpec = []
      Dimensions = []
      Metrics = []
      ShardSpec = shard
      BinaryVersion = 9
      Size = 0L
      LastCompactionState = None }

let private hourOf (t: int64) = int ((t - dayStart) / hourMs)

/// Visible chunks as (start hour, end hour), version, partition numbers.
let private describe (chunks: (Interval * string * DataSegment list) list) =
    chunks |> List.map (fun (i, v, segs) -> (hourOf i.Start, hourOf i.End), v, segs |> List.map (fun s -> partitionNum s.ShardSpec))

let private ids (segs: DataSegment list) = segs |> List.map segmentId |> Set.ofList

// ---- the brute-force oracle --------------------------------------------------------------

/// Random segments on an hour grid of one day: versions v1..v5, one core count per interval
/// and version, partitions present at random (core ones missing, appended ones beyond).
let private segmentsOf (raw: (byte * byte * byte * byte * byte) list) : DataSegment list =
    let coreOf = Collections.Generic.Dictionary<struct (int * int * string), int>()
    [ for (a, b, v, c, mask) in raw do
          let start = int a % 24
          let finish = min 24 (start + 1 + int b % 6)
          let version = sprintf "v%d" (1 + int v % 5)
          let key = struct (start, finish, version)
          if not (coreOf.ContainsKey key) then coreOf.[key] <- int c % 4
          let core = coreOf.[key]
          for n in 0 .. core + 1 do
              if (int mask >>> n) &&& 1 = 1 then
                  let shard =
                      if core = 0 && (int v / 5) % 2 = 1 then Linear n
                      elif (int c / 4) % 2 = 1 then Hashed(n, core, n, core, [], Some "murmur3_32_abs")
                      else Numbered(n, core)
                  yield seg (start, finish) version shard ]
    |> List.distinctBy segmentId

/// For an instant: the version and partitions Druid would serve, found by looking at every
/// partition set directly.
let private oracleAt (segs: DataSegment list) (t: int64) : (string * int list) option =
    segs
    |> List.groupBy (fun s -> s.Interval, s.Version)
    |> List.filter (fun ((interval, _), members) ->
        let core = corePartitions members.Head.ShardSpec
        let present = members |> List.map (fun s -> partitionNum s.ShardSpec) |> Set.ofList
        interval.Contains t && (core = 0 || List.forall (fun n -> present.Contains n) [ 0 .. core - 1 ]))
    |> List.sortWith (fun ((i1, v1), _) ((i2, v2), _) ->
        let byVersion = String.CompareOrdinal(v2, v1)
        if byVersion <> 0 then byVersion else compare (i1.Start, i1.End) (i2.Start, i2.End))
    |> List.tryHead
    |> Option.map (fun ((_, v), members) -> v, members |> List.map (fun s -> partitionNum s.ShardSpec) |> List.sort)

let private servedAt (chunks: (Interval * string * DataSegment list) list) (t: int64) =
    chunks
    |> List.tryFind (fun (i, _, _) -> i.Contains t)
    |> Option.map (fun (_, v, segs) -> v, segs |> List.map (fun s -> partitionNum s.ShardSpec))

let private gridPoints = [ for h in 0 .. 23 do yield hour h; yield hour h + hourMs / 2L; yield hour h + hourMs - 1L ]

let private config = { FsCheckConfig.defaultConfig with maxTest = 400 }

[<Tests>]
let tests =
    testList "Timeline" [
        test "completeness of partition sets" {
            let cases =
                [ [ 0, 2; 1, 2 ], true
                  [ 1, 0 ], true
                  [ 0, 2 ], false
                  [ 1, 2 ], false
                  [ 0, 2; 2, 2 ], false
                  [ 0, 2; 1, 2; 2, 2; 5, 2 ], true
                  [ 0, 3; 1, 3; 3, 3 ], false
                  [ 0, 1; 0, 1 ], true
                  [], false ]
            for partitions, expected in cases do
                Expect.equal (isComplete partitions) expected (sprintf "%A" partitions)
        }
        test "overwriting a whole day" {
            let old = [ seg (0, 24) "v1" (Numbered(0, 2)); seg (0, 24) "v1" (Numbered(1, 2)) ]
            let fresh = [ seg (0, 24) "v2" (Numbered(0, 1)) ]
            Expect.equal (describe (visible (old @ fresh) day)) [ (0, 24), "v2", [ 0 ] ] "visible"
            Expect.equal (overshadowed (old @ fresh)) (ids old) "old version overshadowed"
        }
        test "overwriting one hour of a day" {
            let segs = [ seg (0, 24) "v1" (Numbered(0, 1)); seg (5, 6) "v2" (Numbered(0, 1)) ]
            Expect.equal (describe (visible segs day))
                [ (0, 5), "v1", [ 0 ]; (5, 6), "v2", [ 0 ]; (6, 24), "v1", [ 0 ] ] "visible"
            Expect.equal (describe (visible segs (hours 3 12)))
                [ (3, 5), "v1", [ 0 ]; (5, 6), "v2", [ 0 ]; (6, 12), "v1", [ 0 ] ] "trimmed to the query"
            Expect.equal (describe (visible segs (hours 5 6))) [ (5, 6), "v2", [ 0 ] ] "inside"
            Expect.equal (overshadowed segs) Set.empty "the day is still partly served"
        }
        test "appended partitions join their version" {
            let segs = [ for n in [ 3; 0; 2; 1 ] -> seg (0, 24) "v1" (Numbered(n, 2)) ]
            Expect.equal (describe (visible segs day)) [ (0, 24), "v1", [ 0; 1; 2; 3 ] ] "all partitions, in order"
        }
        test "an incomplete version is ignored and overshadows nothing" {
            let complete = [ seg (0, 24) "v1" (Numbered(0, 1)) ]
            let incomplete = [ seg (0, 24) "v2" (Numbered(0, 2)); seg (0, 24) "v2" (Numbered(2, 2)) ]
            Expect.equal (describe (visible (complete @ incomplete) day)) [ (0, 24), "v1", [ 0 ] ] "older complete version"
            Expect.equal (overshadowed (complete @ incomplete)) Set.empty "nothing overshadowed"
            let newest = [ seg (0, 24) "v3" (Numbered(0, 1)) ]
            Expect.equal (overshadowed (complete @ incomplete @ newest)) (ids (complete @ incomplete)) "both under v3"
        }
        test "linear, hashed, none and tombstone partition sets" {
            let linear = [ seg (0, 24) "v1" (Linear 5); seg (0, 24) "v1" (Linear 3) ]
            Expect.equal (describe (visible linear day)) [ (0, 24), "v1", [ 3; 5 ] ] "linear is always complete"
            let hashed = [ seg (0, 12) "v2" (Hashed(1, 2, 1, 2, [], None)); seg (0, 12) "v2" (Hashed(0, 2, 0, 2, [], None)) ]
            Expect.equal (describe (visible (linear @ hashed) day)) [ (0, 12), "v2", [ 0; 1 ]; (12, 24), "v1", [ 3; 5 ] ] "hashed"
            let tombstone = [ seg (12, 24) "v3" Tombstone ]
            Expect.equal (describe (visible (linear @ hashed @ tombstone) day)) [ (0, 12), "v2", [ 0; 1 ]; (12, 24), "v3", [ 0 ] ] "tombstone hides"
            Expect.equal (overshadowed (linear @ hashed @ tombstone)) (ids linear) "linear fully covered"
            Expect.equal (describe (visible [ seg (0, 24) "v1" NoShard ] day)) [ (0, 24), "v1", [ 0 ] ] "none"
        }
        test "overlapping newer versions overshadow only where they cover" {
            let v1 = seg (0, 24) "v1" (Numbered(0, 1))
            let v2 = seg (0, 12) "v2" (Numbered(0, 1))
            let v3 = seg (6, 18) "v3" (Numbered(0, 1))
            Expect.equal (describe (visible [ v1; v2; v3 ] day))
                [ (0, 6), "v2", [ 0 ]; (6, 18), "v3", [ 0 ]; (18, 24), "v1", [ 0 ] ] "pieces"
            Expect.equal (overshadowed [ v1; v2; v3 ]) Set.empty "all partly served"
            let v4 = seg (0, 6) "v4" (Numbered(0, 1))
            Expect.equal (overshadowed [ v1; v2; v3; v4 ]) (ids [ v2 ]) "v2 covered by v4 and v3"
        }
        test "gaps and empty results" {
            let segs = [ seg (0, 2) "v1" (Numbered(0, 1)); seg (4, 6) "v1" (Numbered(0, 1)) ]
            Expect.equal (describe (visible segs day)) [ (0, 2), "v1", [ 0 ]; (4, 6), "v1", [ 0 ] ] "two pieces"
            Expect.equal (visible segs (hours 2 4)) [] "query in the gap"
            Expect.equal (visible segs { Start = hour 1; End = hour 1 }) [] "empty query"
            Expect.equal (visible [] day) [] "no segments"
        }
        test "versions compare as strings" {
            let segs = [ seg (0, 24) "2024-01-01T00:00:00.000Z" (Numbered(0, 1)); seg (0, 24) "2024-01-01T00:00:00.000Z_1" (Numbered(0, 1)) ]
            Expect.equal (describe (visible segs day)) [ (0, 24), "2024-01-01T00:00:00.000Z_1", [ 0 ] ] "longer string is newer"
        }
        test "many segments: a year of daily chunks with layered versions" {
            let dayMs = 86_400_000L
            let segs =
                [ for k in 0 .. 9 do
                      for d in 0 .. 364 do
                          if d % (k + 1) = 0 then
                              for n in 0 .. 2 ->
                                  { seg (0, 24) (sprintf "v%d" k) (Numbered(n, 3)) with
                                      Interval = { Start = dayStart + int64 d * dayMs; End = dayStart + int64 (d + 1) * dayMs } } ]
            let year = { Start = dayStart; End = dayStart + 365L * dayMs }
            let chunks = visible segs year
            Expect.equal chunks.Length 365 "one piece per day"
            for (interval, version, members) in chunks do
                let d = int ((interval.Start - dayStart) / dayMs)
                let expected = [ 0 .. 9 ] |> List.filter (fun k -> d % (k + 1) = 0) |> List.max
                Expect.equal (version, members.Length) (sprintf "v%d" expected, 3) (sprintf "day %d" d)
            let overshadowedCount = (overshadowed segs).Count
            Expect.equal overshadowedCount (segs.Length - 365 * 3) "all but the newest of each day"
        }
        testPropertyWithConfig config "visible serves what the oracle serves at every instant" <| fun raw ->
            let segs = segmentsOf raw
            let chunks = visible segs day
            gridPoints |> List.forall (fun t -> servedAt chunks t = oracleAt segs t)
        testPropertyWithConfig config "visible pieces are sorted, disjoint, maximal and trimmed to the query" <| fun raw (qa: byte) (qb: byte) ->
            let segs = segmentsOf raw
            let full = visible segs day
            let a, b = int qa % 25, int qb % 25
            let query = hours (min a b) (max a b)
            let trimmed = visible segs query
            let expected =
                full
                |> List.choose (fun (i, v, m) ->
                    let s, e = max i.Start query.Start, min i.End query.End
                    if s < e then Some({ Start = s; End = e }, v, m) else None)
            let pairs = List.pairwise full
            trimmed = expected
            && full |> List.forall (fun (i, _, m) -> i.Start < i.End && not m.IsEmpty)
            && pairs |> List.forall (fun ((i1, _, _), (i2, _, _)) -> i1.End <= i2.Start)
            && pairs |> List.forall (fun ((i1, v1, m1), (i2, v2, m2)) -> not (i1.End = i2.Start && v1 = v2 && m1 = m2))
        testPropertyWithConfig config "overshadowed matches the oracle: every instant served by a higher version" <| fun raw ->
            let segs = segmentsOf raw
            let expected =
                segs
                |> List.filter (fun s ->
                    [ hourOf s.Interval.Start .. hourOf s.Interval.End - 1 ]
                    |> List.forall (fun h ->
                        match oracleAt segs (hour h) with
                        | Some(v, _) -> String.CompareOrdinal(v, s.Version) > 0
                        | None -> false))
                |> ids
            overshadowed segs = expected
        testPropertyWithConfig config "served segments are never overshadowed; input order does not matter" <| fun raw ->
            let segs = segmentsOf raw
            let chunks = visible segs day
            let served = chunks |> List.collect (fun (_, _, m) -> m) |> ids
            let gone = overshadowed segs
            Set.intersect served gone = Set.empty
            && visible (List.rev segs) day = chunks
            && overshadowed (List.rev segs) = gone
    ]

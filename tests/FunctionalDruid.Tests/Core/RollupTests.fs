module FunctionalDruid.Tests.Core.RollupTests

open System.Collections.Generic
open System.IO
open Expecto
open FsCheck
open FunctionalDruid.Core

/// A task spec around the given dataSchema parts (inline JSON input).
let specWith (dims: string) (metrics: string) (granularity: string) (tuning: string) =
    let text =
        sprintf """{"type":"index_parallel","spec":{"dataSchema":{"dataSource":"t","timestampSpec":{"column":"timestamp","format":"auto"},
                   "dimensionsSpec":{"dimensions":%s},"metricsSpec":%s,"granularitySpec":%s},
                   "ioConfig":{"type":"index_parallel","inputSource":{"type":"inline","data":""},"inputFormat":{"type":"json"}},
                   "tuningConfig":%s}}""" dims metrics granularity tuning
    match IngestSpec.parseTaskText text with
    | Ok s -> s
    | Error(path, msg) -> failwithf "spec did not parse: %s: %s" path msg

let row (pairs: (string * Value) list) : Input.InputRow =
    Input.makeRow (pairs |> List.map fst |> Array.ofList) (pairs |> List.map snd |> Array.ofList)

/// Decoded rows of a content: time then every column's value, in column order.
let rowsOf (c: SegmentContent) =
    [ for r in 0 .. c.Times.Length - 1 ->
        Time.formatIso c.Times.[r], [ for (n, col) in c.Dimensions @ c.Metrics -> n, col.Cell r ] ]

/// Decoded rows with every named dimension, absent ones (a segment keeps only dimensions
/// that have values) read as null, then the metrics.
let rowsOver (dimensions: string list) (c: SegmentContent) =
    [ for r in 0 .. c.Times.Length - 1 ->
        Time.formatIso c.Times.[r],
        [ for d in dimensions ->
            d, (match c.Dimensions |> List.tryFind (fun (n, _) -> n = d) with Some(_, col) -> col.Cell r | None -> Value.Null) ]
        @ [ for (n, col) in c.Metrics -> n, col.Cell r ] ]

let netflowRows () =
    let lines = File.ReadAllLines(Path.Combine(FunctionalDruid.Tests.TestData.conformanceDir, "druid-it", "tutorial", "rollup-data.json"))
    let spec = specWith """["srcIP","dstIP"]""" """[{"type":"count","name":"count"},{"type":"longSum","name":"packets","fieldName":"packets"},{"type":"longSum","name":"bytes","fieldName":"bytes"}]"""
                        """{"segmentGranularity":"day","queryGranularity":"minute","intervals":["2018-01-01/2018-01-03"],"rollup":true}""" "{}"
    let rows = Input.readLines spec.InputFormat lines |> Seq.map (function Input.Row r -> r | Input.Unparseable m -> failwith m) |> List.ofSeq
    spec, rows

[<Tests>]
let tests =
    testList "Rollup" [
        test "netflow rollup: 9 rows at minute granularity become the documented 5" {
            let spec, rows = netflowRows ()
            let index = Rollup.IncrementalIndex spec
            for r in rows do Expect.equal (index.Add r) Rollup.RowOutcome.Ingested "ingested"
            let contents = index.Snapshot()
            let s (x: string) = Value.String x
            let l (x: int64) = Value.Long x
            let expected =
                [ [ "2018-01-01T01:01:00.000Z", [ "srcIP", s "1.1.1.1"; "dstIP", s "2.2.2.2"; "count", l 3L; "packets", l 286L; "bytes", l 35937L ]
                    "2018-01-01T01:02:00.000Z", [ "srcIP", s "1.1.1.1"; "dstIP", s "2.2.2.2"; "count", l 2L; "packets", l 415L; "bytes", l 366260L ]
                    "2018-01-01T01:03:00.000Z", [ "srcIP", s "1.1.1.1"; "dstIP", s "2.2.2.2"; "count", l 1L; "packets", l 49L; "bytes", l 10204L ] ]
                  [ "2018-01-02T21:33:00.000Z", [ "srcIP", s "7.7.7.7"; "dstIP", s "8.8.8.8"; "count", l 2L; "packets", l 161L; "bytes", l 100288L ]
                    "2018-01-02T21:35:00.000Z", [ "srcIP", s "7.7.7.7"; "dstIP", s "8.8.8.8"; "count", l 1L; "packets", l 12L; "bytes", l 2818L ] ] ]
            Expect.equal (contents |> List.map rowsOf) expected "two day chunks with the documented rows"
            Expect.equal (contents |> List.map (fun c -> Time.formatInterval c.Interval))
                [ "2018-01-01T00:00:00.000Z/2018-01-02T00:00:00.000Z"; "2018-01-02T00:00:00.000Z/2018-01-03T00:00:00.000Z" ] "intervals"
        }
        test "a __time transform decides the row time; an unusable one makes the row unparseable" {
            let spec (expression: string) =
                let text =
                    sprintf """{"type":"index","spec":{"dataSchema":{"dataSource":"t","timestampSpec":{"column":"timestamp"},
                                "dimensionsSpec":{"dimensions":["d"]},"granularitySpec":{"segmentGranularity":"day"},
                                "transformSpec":{"transforms":[{"type":"expression","name":"__time","expression":"%s"}]}},
                                "ioConfig":{"inputSource":{"type":"inline","data":""},"inputFormat":{"type":"json"}}}}""" expression
                match IngestSpec.parseTaskText text with Ok s -> s | Error e -> failwithf "%A" e
            let shifted = Rollup.IncrementalIndex(spec "__time + 86400000")
            Expect.equal (shifted.Add(row [ "timestamp", Value.Long 1000L; "d", Value.String "a" ])) Rollup.RowOutcome.Ingested "shifted"
            Expect.equal (shifted.Snapshot() |> List.collect rowsOf) [ "1970-01-02T00:00:01.000Z", [ "d", Value.String "a" ] ] "a day later, in the next chunk"
            let broken = Rollup.IncrementalIndex(spec "concat('x', d)")
            Expect.equal (broken.Add(row [ "timestamp", Value.Long 1000L; "d", Value.String "a" ]))
                (Rollup.RowOutcome.Unparseable "Transform [__time] did not produce a timestamp") "not a time"
            Expect.equal broken.RowCount 0 "nothing ingested"
        }
        test "rows outside granularitySpec intervals are thrown away" {
            let spec = specWith """["d"]""" "[]" """{"segmentGranularity":"day","intervals":["2018-01-01/2018-01-02"]}""" "{}"
            let index = Rollup.IncrementalIndex spec
            Expect.equal (index.Add(row [ "timestamp", Value.String "2018-01-01T05:00:00Z"; "d", Value.String "a" ])) Rollup.RowOutcome.Ingested "inside"
            Expect.equal (index.Add(row [ "timestamp", Value.String "2018-01-02T00:00:00Z"; "d", Value.String "a" ])) Rollup.RowOutcome.ThrownAway "outside"
            Expect.equal index.RowCount 1 "one row"
        }
        test "unparseable timestamps are reported, not ingested" {
            let spec = specWith """["d"]""" "[]" """{"segmentGranularity":"day"}""" "{}"
            let index = Rollup.IncrementalIndex spec
            match index.Add(row [ "timestamp", Value.String "not a time"; "d", Value.String "a" ]) with
            | Rollup.RowOutcome.Unparseable _ -> ()
            | other -> failtestf "expected unparseable, got %A" other
            Expect.equal index.RowCount 0 "nothing ingested"
        }
        test "rollup false keeps every row but truncates time" {
            let spec = specWith """["d"]""" """[{"type":"count","name":"count"}]""" """{"segmentGranularity":"day","queryGranularity":"hour","rollup":false}""" "{}"
            let index = Rollup.IncrementalIndex spec
            for t in [ "2018-01-01T05:10:00Z"; "2018-01-01T05:20:00Z"; "2018-01-01T04:00:00Z" ] do
                index.Add(row [ "timestamp", Value.String t; "d", Value.String "a" ]) |> ignore
            let rows = index.Snapshot() |> List.collect rowsOf
            Expect.equal rows
                [ "2018-01-01T04:00:00.000Z", [ "d", Value.String "a"; "count", Value.Long 1L ]
                  "2018-01-01T05:00:00.000Z", [ "d", Value.String "a"; "count", Value.Long 1L ]
                  "2018-01-01T05:00:00.000Z", [ "d", Value.String "a"; "count", Value.Long 1L ] ] "three rows"
        }
        test "schemaless discovery skips timestamp, exclusions and metric inputs, in first-seen order" {
            let text = """{"type":"index","spec":{"dataSchema":{"dataSource":"t","timestampSpec":{"column":"ts"},
                            "dimensionsSpec":{"dimensionExclusions":["secret"]},"metricsSpec":[{"type":"longSum","name":"total","fieldName":"n"}]},
                            "ioConfig":{"inputSource":{"type":"inline","data":""},"inputFormat":{"type":"json"}}}}"""
            let spec = match IngestSpec.parseTaskText text with Ok s -> s | Error e -> failwithf "%A" e
            let index = Rollup.IncrementalIndex spec
            index.Add(row [ "ts", Value.Long 0L; "b", Value.String "x"; "secret", Value.String "s"; "n", Value.Long 2L ]) |> ignore
            index.Add(row [ "ts", Value.Long 0L; "a", Value.String "y"; "b", Value.String "x"; "n", Value.Long 3L ]) |> ignore
            let rows = index.Snapshot() |> List.collect rowsOf
            Expect.equal rows
                [ "1970-01-01T00:00:00.000Z", [ "b", Value.String "x"; "a", Value.Null; "total", Value.Long 2L ]
                  "1970-01-01T00:00:00.000Z", [ "b", Value.String "x"; "a", Value.String "y"; "total", Value.Long 3L ] ] "discovered b then a"
        }
        test "multi-value dimensions roll up on the sorted array; SORTED_SET dedups" {
            let spec = specWith """["tags",{"type":"string","name":"set","multiValueHandling":"SORTED_SET"}]""" """[{"type":"count","name":"count"}]""" """{"segmentGranularity":"day"}""" "{}"
            let index = Rollup.IncrementalIndex spec
            let arr (xs: string list) = Value.Array(xs |> List.map Value.String |> Array.ofList)
            index.Add(row [ "timestamp", Value.Long 0L; "tags", arr [ "b"; "a" ]; "set", arr [ "x"; "x"; "y" ] ]) |> ignore
            index.Add(row [ "timestamp", Value.Long 0L; "tags", arr [ "a"; "b" ]; "set", arr [ "y"; "x" ] ]) |> ignore
            let rows = index.Snapshot() |> List.collect rowsOf
            Expect.equal rows [ "1970-01-01T00:00:00.000Z", [ "tags", arr [ "a"; "b" ]; "set", arr [ "x"; "y" ]; "count", Value.Long 2L ] ] "one rolled-up row"
        }
        test "typed dimensions convert values and flag bad ones" {
            let spec = specWith """[{"type":"long","name":"n"},{"type":"double","name":"x"}]""" "[]" """{"segmentGranularity":"day"}""" "{}"
            let index = Rollup.IncrementalIndex spec
            Expect.equal (index.Add(row [ "timestamp", Value.Long 0L; "n", Value.String "12"; "x", Value.String "1.5" ])) Rollup.RowOutcome.Ingested "converted"
            Expect.equal (index.Add(row [ "timestamp", Value.Long 1L; "n", Value.String "abc" ]))
                (Rollup.RowOutcome.IngestedWithError "Could not convert value [abc] to long for dimension [n]") "bad long"
            let rows = index.Snapshot() |> List.collect rowsOf
            Expect.equal rows
                [ "1970-01-01T00:00:00.000Z", [ "n", Value.Long 12L; "x", Value.Double 1.5 ]
                  "1970-01-01T00:00:00.001Z", [ "n", Value.Null; "x", Value.Null ] ] "rows"
        }
        test "maxRowsInMemory bounds persists only when the spec sets it" {
            let given = specWith """["d"]""" "[]" """{"segmentGranularity":"day"}""" """{"maxRowsInMemory":25}"""
            let defaulted = specWith """["d"]""" "[]" """{"segmentGranularity":"day"}""" "{}"
            Expect.equal (IngestSpec.persistThresholdRows given.Tuning) 25 "given"
            Expect.equal (IngestSpec.persistThresholdRows defaulted.Tuning) System.Int32.MaxValue "byte budget only"
            Expect.equal defaulted.Tuning.MaxRowsInMemory 1_000_000 "Druid's default is still what the spec reports"
        }
        test "dynamic partitioning splits a chunk by maxRowsPerSegment" {
            let spec = specWith """["d"]""" "[]" """{"segmentGranularity":"day","rollup":false}""" """{"partitionsSpec":{"type":"dynamic","maxRowsPerSegment":2}}"""
            let index = Rollup.IncrementalIndex spec
            for i in 0 .. 4 do index.Add(row [ "timestamp", Value.Long(int64 i); "d", Value.String(string i) ]) |> ignore
            let parts = index.Snapshot() |> List.collect (Partitioning.partition spec)
            Expect.equal (parts |> List.map (fun p -> p.Times.Length)) [ 2; 2; 1 ] "sizes"
        }
        test "dynamic intake cuts segments in arrival order and rolls up only within each" {
            let spec = specWith """["a"]""" """[{"type":"count","name":"count"}]""" """{"segmentGranularity":"hour","queryGranularity":"hour"}"""
                                """{"partitionsSpec":{"type":"dynamic","maxRowsPerSegment":3}}"""
            let intake = Rollup.Intake spec
            // x repeats in every segment: Druid keeps one x per segment, not one in all.
            for v in [ "x"; "b"; "c"; "x"; "d"; "e"; "x"; "x"; "f" ] do
                intake.Add(row [ "timestamp", Value.Long 0L; "a", Value.String v ]) |> ignore
            let segments = (intake.TakeClosed() @ intake.CloseAll()) |> List.map (fun (_, contents) -> (Rollup.merge spec contents).Value)
            let values (c: SegmentContent) = rowsOf c |> List.map (fun (_, cols) -> cols.[0] |> snd, cols.[1] |> snd)
            Expect.equal (segments |> List.map values)
                [ [ Value.String "b", Value.Long 1L; Value.String "c", Value.Long 1L; Value.String "x", Value.Long 1L ]
                  [ Value.String "d", Value.Long 1L; Value.String "e", Value.Long 1L; Value.String "x", Value.Long 1L ]
                  [ Value.String "f", Value.Long 1L; Value.String "x", Value.Long 2L ] ] "3 + 3 + 2 rows, x rolled up only inside the last"
            Expect.equal ((Rollup.chunkPartitions spec segments) |> List.map List.length) [ 3 ] "one hour chunk with three partitions"
            Expect.equal (Rollup.mergeGroups spec [ [ segments.[0] ]; [ segments.[1] ] ] |> List.length) 2 "dynamic groups stay separate"
        }
        test "hashed partitioning keeps each key in one partition" {
            let spec = specWith """["d"]""" """[{"type":"count","name":"count"}]""" """{"segmentGranularity":"day"}""" """{"forceGuaranteedRollup":true,"partitionsSpec":{"type":"hashed","numShards":3}}"""
            let index = Rollup.IncrementalIndex spec
            for i in 0 .. 99 do index.Add(row [ "timestamp", Value.Long 0L; "d", Value.String(string (i % 17)) ]) |> ignore
            let parts = index.Snapshot() |> List.collect (Partitioning.partition spec)
            Expect.equal parts.Length 3 "three shards"
            let keys = parts |> List.map (fun p -> rowsOf p |> List.map (fun (_, cols) -> cols.[0]) |> Set.ofList)
            Expect.equal (keys |> List.sumBy Set.count) 17 "17 keys, none repeated across shards"
            Expect.equal (Set.unionMany keys |> Set.count) 17 "all keys present"
        }
        testProperty "rollup equals a naive group-by of (truncated time, dimensions)" <| fun (input: (byte * byte option * byte option * int16) list) (granPick: byte) ->
            let grans = [| "none"; "second"; "minute"; "hour"; "day" |]
            let gran = grans.[int granPick % grans.Length]
            let spec = specWith """["a","b"]""" """[{"type":"count","name":"count"},{"type":"longSum","name":"sum","fieldName":"x"}]"""
                                (sprintf """{"segmentGranularity":"day","queryGranularity":"%s"}""" gran) "{}"
            let name (v: byte option) = v |> Option.map (fun b -> sprintf "v%d" (b % 4uy))
            let rows = input |> List.map (fun (t, a, b, x) -> int64 t * 7919L * 1000L, name a, name b, int64 x)
            let index = Rollup.IncrementalIndex spec
            for t, a, b, x in rows do
                let opt (v: string option) = match v with Some s -> Value.String s | None -> Value.Null
                index.Add(row [ "timestamp", Value.Long t; "a", opt a; "b", opt b; "x", Value.Long x ]) |> ignore
            let g = (Time.tryGranularityOfName gran).Value
            let cmpOpt (x: string option) = match x with None -> "" | Some s -> "~" + s
            let expected =
                rows
                |> List.groupBy (fun (t, a, b, _) -> Time.bucketStart g t, a, b)
                |> List.map (fun ((t, a, b), grp) -> (t, a, b), (int64 grp.Length, grp |> List.sumBy (fun (_, _, _, x) -> x)))
                |> List.sortBy (fun ((t, a, b), _) -> t, cmpOpt a, cmpOpt b)
            let actual =
                index.Snapshot()
                |> List.collect (fun c ->
                    [ for r in 0 .. c.Times.Length - 1 ->
                        let str i =
                            match c.Dimensions |> List.tryFind (fun (n, _) -> n = [| "a"; "b" |].[i]) with
                            | Some(_, col) -> (match col.Cell r with Value.String s -> Some s | _ -> None)
                            | None -> None
                        let lng i = match (snd c.Metrics.[i]).Cell r with Value.Long l -> l | v -> failwithf "metric %A" v
                        (c.Times.[r], str 0, str 1), (lng 0, lng 1) ])
            actual = expected
    ]

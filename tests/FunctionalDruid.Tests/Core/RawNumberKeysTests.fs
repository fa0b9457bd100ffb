/// Grouping on number columns by their raw values (no ids) gives the groups of a plain
/// grouping of the rows, with nulls, filters, time buckets and string dimensions beside them.
module FunctionalDruid.Tests.Core.RawNumberKeysTests

open System
open System.Text.Json
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Tests.Core.EngineTestData


let private genSegments (rnd: Random) =
    [ for s in 0 .. rnd.Next 3 ->
        let interval: Time.Interval = { Start = dayStart + int64 s * 4L * hour; End = dayStart + int64 (s + 1) * 4L * hour }
        let rows =
            [ for _ in 1 .. rnd.Next 40 ->
                { Time = interval.Start + int64 (rnd.Next 4) * hour + int64 (rnd.Next 1000)
                  D = [| "a"; "b"; null |].[rnd.Next 3]
                  Tags = [||]
                  L = (if rnd.Next 4 = 0 then None else Some([| -3L; 0L; 7L; Int64.MaxValue; Int64.MinValue |].[rnd.Next 5]))
                  X = (if rnd.Next 4 = 0 then None else Some([| -0.5; 0.0; 2.25; 1e300 |].[rnd.Next 4])) } ]
            |> List.sortBy (fun r -> r.Time)
        interval, rows ]

/// Segments whose first few thousand rows (in time order) hold distinct numbers, as ids do,
/// with later rows repeating earlier ones, over several chunks of rows.
let private genMostlyDistinct (rnd: Random) =
    [ for s in 0 .. rnd.Next 2 ->
        let interval: Time.Interval = { Start = dayStart + int64 s * 4L * hour; End = dayStart + int64 (s + 1) * 4L * hour }
        let distinct = rnd.Next(4200, 6000)
        let rows =
            [ for i in 0 .. distinct + rnd.Next 3000 ->
                let l = if i < distinct then int64 i * 7919L else int64 (rnd.Next distinct) * 7919L
                { Time = interval.Start + int64 i * 1000L
                  D = [| "a"; "b"; null |].[rnd.Next 3]
                  Tags = [||]
                  L = (if rnd.Next 200 = 0 then None else Some l)
                  X = (if rnd.Next 4 = 0 then None else Some(float (l % 5L))) } ]
        interval, rows ]

/// Segments of thousands of rows of nearly distinct numbers over the whole long range, without
/// nulls (a few repeated), alone in the key or beside doubles or strings.
let private genDistinctWithoutNulls (rnd: Random) =
    [ for s in 0 .. rnd.Next 2 ->
        let interval: Time.Interval = { Start = dayStart + int64 s * 4L * hour; End = dayStart + int64 (s + 1) * 4L * hour }
        let rows =
            [ for i in 0 .. rnd.Next(12_500, 15_000) ->
                let l = if rnd.Next 20 = 0 then int64 (rnd.Next 50) else rnd.NextInt64(Int64.MinValue, Int64.MaxValue)
                // (Within the segment's four hours.)
                { Time = interval.Start + int64 i * 900L
                  D = [| "a"; "b"; null |].[rnd.Next 3]
                  Tags = [||]
                  L = Some l
                  X = Some([| -0.5; 0.0; 2.25; 1e300 |].[rnd.Next 4]) } ]
        interval, rows ]

/// Segments of thousands of rows whose numbers span a small range (or, at times, the whole
/// long range), without nulls: grouping on the number alone indexes an array by value.
let private genSmallRange (rnd: Random) =
    let offset = [| 0L; -70_000L; Int64.MaxValue - 70_000L; Int64.MinValue |].[rnd.Next 4]
    let span = [| 10; 3000; 65_535; 70_000 |].[rnd.Next 4]
    let extremes = rnd.Next 3 = 0
    [ for s in 0 .. rnd.Next 2 ->
        let interval: Time.Interval = { Start = dayStart + int64 s * 4L * hour; End = dayStart + int64 (s + 1) * 4L * hour }
        let rows =
            [ for i in 0 .. rnd.Next(4100, 9000) ->
                let l = if extremes && rnd.Next 500 = 0 then [| Int64.MinValue; Int64.MaxValue |].[rnd.Next 2] else offset + int64 (rnd.Next span)
                { Time = interval.Start + int64 i * 1000L
                  D = [| "a"; "b"; null |].[rnd.Next 3]
                  Tags = [||]
                  L = Some l
                  X = Some(float (rnd.Next 4)) } ]
        interval, rows ]

/// Events of a groupBy result as comparable text, in result order.
let private eventsOf (json: string) =
    use doc = JsonDocument.Parse json
    [ for row in doc.RootElement.EnumerateArray() ->
        row.GetProperty("timestamp").GetString() + " " + row.GetProperty("event").GetRawText() ]

/// Some of the dimensions d, l and x (l more often than not).
let private someDimensions (rnd: Random) =
    let dims = [| "d"; "l"; "x" |] |> Array.filter (fun _ -> rnd.Next 3 > 0)
    if dims.Length = 0 || not (Array.contains "l" dims) && rnd.Next 2 = 0 then Array.append [| "l" |] dims else dims

let private rawKeysGroupAsRows (generate: Random -> (Time.Interval * RawRow list) list) (pickDimensions: Random -> string[]) (seed: int) =
    let rnd = Random(seed)
    let segments = generate rnd
    let dims = pickDimensions rnd
    let hourly = rnd.Next 2 = 0
    let filterOnD = rnd.Next 3 = 0
    let dimensionJson (d: string) =
        match d with
        | "l" -> """{"type":"default","dimension":"l","outputName":"l","outputType":"LONG"}"""
        | "x" -> """{"type":"default","dimension":"x","outputName":"x","outputType":"DOUBLE"}"""
        | other -> sprintf "\"%s\"" other
    let query =
        sprintf """{"queryType":"groupBy","dataSource":"t","intervals":"2020-01-01/2020-01-02","granularity":"%s","dimensions":[%s],%s
                   "aggregations":[{"type":"count","name":"n"},{"type":"longSum","name":"ls","fieldName":"l"}]}"""
            (if hourly then "hour" else "all") (String.Join(",", dims |> Array.map dimensionJson))
            (if filterOnD then """"filter":{"type":"selector","dimension":"d","value":"a"},""" else "")
    let actual = eventsOf (runQuery query [ for interval, rows in segments -> rawSegment interval rows ])
    // The oracle: rows grouped by bucket and key values, ordered by bucket then keys (nulls
    // first, numbers numerically, strings by their text).
    let keyOf (r: RawRow) =
        dims |> Array.map (fun d ->
            match d with
            | "d" -> (if isNull r.D then Value.Null else Value.String r.D)
            | "l" -> (match r.L with Some l -> Value.Long l | None -> Value.Null)
            | _ -> (match r.X with Some x -> Value.Double x | None -> Value.Null))
    let bucketOf (t: int64) = if hourly then t - (t - dayStart) % hour else dayStart
    let compareKeys (a: Value[]) (b: Value[]) =
        Array.fold2 (fun c x y -> if c <> 0 then c else GroupKeys.KeyValue.compare x y) 0 a b
    let expected =
        [ for _, rows in segments do yield! rows ]
        |> List.filter (fun r -> not filterOnD || r.D = "a")
        |> List.groupBy (fun r -> bucketOf r.Time, keyOf r)
        |> List.sortWith (fun ((b1, k1), _) ((b2, k2), _) -> let c = compare b1 b2 in if c <> 0 then c else compareKeys k1 k2)
        |> List.map (fun ((bucket, key), rows) ->
            let fields =
                [ for i in 0 .. dims.Length - 1 -> dims.[i], QuerySlices.toOut key.[i] ]
                @ [ "n", Json.Out.Long(int64 rows.Length)
                    "ls", (match rows |> List.choose (fun r -> r.L) with [] -> Json.Out.Null | ls -> Json.Out.Long(List.fold (+) 0L ls)) ]
            Time.formatIso bucket + " " + Json.Out.toText false (Json.Out.Object fields))
    if actual <> expected then
        let firstDifference =
            Seq.zip actual expected |> Seq.tryFindIndex (fun (a, e) -> a <> e) |> Option.defaultValue (min actual.Length expected.Length)
        let around (xs: string list) = xs |> List.skip (max 0 (firstDifference - 2)) |> List.truncate 5
        failwithf "query %s\n%d rows, expected %d; from row %d:\nactual   %A\nexpected %A" query actual.Length expected.Length firstDifference (around actual) (around expected)
    true

[<Tests>]
let tests =
    testList "core/raw-number-keys" [
        testProperty "grouping on raw numbers equals grouping the rows" (rawKeysGroupAsRows genSegments someDimensions)
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 100 } "numbers of a small range, found by indexing an array, group as the rows do"
            (rawKeysGroupAsRows genSmallRange (fun rnd -> if rnd.Next 3 = 0 then someDimensions rnd else [| "l" |]))
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 30 } "thousands of nearly distinct keys over several chunks group as the rows do"
            (rawKeysGroupAsRows genMostlyDistinct someDimensions)
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 30 } "nearly distinct keys over the whole long range, without nulls, group as the rows do"
            (rawKeysGroupAsRows genDistinctWithoutNulls (fun rnd -> [| [| "l" |]; [| "l"; "x" |]; [| "x"; "l" |]; [| "l"; "d" |] |].[rnd.Next 4]))
    ]

/// stringMin / stringMax (our extension for SQL's MIN and MAX of strings): the least and
/// greatest value in UTF-8 byte order, over single-value and multi-value string columns, numbers
/// read as text, and columns a segment lacks, in groupBy, topN and timeseries.
module FunctionalDruid.Tests.Core.StringExtremeTests

open System
open System.Text.Json
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Tests.Core.EngineTestData

/// Values on both sides of the surrogate range, where UTF-16 and UTF-8 order differ.
let private texts = [| "a"; "ab"; "b"; ""; "é"; "\U0001F600"; "\uE000"; "z\U0001F600"; null |]

let private rowsOf (rnd: Random) =
    [ for _ in 1 .. rnd.Next(0, 120) ->
        { Time = dayStart + int64 (rnd.Next 48) * hour
          D = pick rnd texts
          Tags = Array.init (rnd.Next 3) (fun _ -> pick rnd (Array.filter (isNull >> not) texts))
          L = (if rnd.Next 5 = 0 then None else Some(int64 (rnd.Next(-3, 12))))
          X = None } ]

let private utf8 (s: string) = Text.Encoding.UTF8.GetBytes s |> Array.toList

/// The oracle: every non-null value a row offers (each value of a multi-value row; numbers as
/// their text), least or greatest by UTF-8 bytes.
let private extreme (isMax: bool) (column: string) (rows: RawRow list) : string =
    let offered =
        rows |> List.collect (fun r ->
            match cellOf r column with
            | Value.Array xs -> xs |> Array.map Value.toStringOrNull |> List.ofArray
            | v -> [ Value.toStringOrNull v ])
        |> List.filter (isNull >> not)
    if offered.IsEmpty then null elif isMax then List.maxBy utf8 offered else List.minBy utf8 offered

let private aggregations =
    """[{"type":"stringMin","name":"dmin","fieldName":"d"},{"type":"stringMax","name":"dmax","fieldName":"d"},
        {"type":"stringMin","name":"tmin","fieldName":"tags"},{"type":"stringMax","name":"tmax","fieldName":"tags"},
        {"type":"stringMax","name":"lmax","fieldName":"l"},{"type":"stringMin","name":"none","fieldName":"missing"},
        {"type":"filtered","filter":{"type":"selector","dimension":"l","value":"1"},"aggregator":{"type":"stringMin","name":"fmin","fieldName":"d"}},
        {"type":"count","name":"n"}]"""

/// The aggregators' oracle values of a set of rows, by output name.
let private expected (rows: RawRow list) =
    [ "dmin", extreme false "d" rows; "dmax", extreme true "d" rows; "tmin", extreme false "tags" rows
      "tmax", extreme true "tags" rows; "lmax", extreme true "l" rows; "none", null
      "fmin", extreme false "d" (rows |> List.filter (fun r -> r.L = Some 1L)) ]

let private textOf (e: JsonElement) = if e.ValueKind = JsonValueKind.Null then null else e.GetString()

let private agreesWithOracle (seed: int) =
    let rnd = Random(seed)
    let rows = rowsOf rnd
    let slices = randomSlices rnd 4 twoDays rows
    let run (text: string) =
        match QueryParseSurface.parseText text with
        | Ok q -> JsonDocument.Parse(Json.Out.toText false (Engine.run q slices)).RootElement
        | Error(path, problem) -> failwithf "%s: %s" path problem
    let interval = Time.formatInterval twoDays
    let check (what: string) (fields: JsonElement) (rows: RawRow list) =
        for name, value in expected rows do
            let actual = textOf (fields.GetProperty name)
            if actual <> value then failwithf "%s %s: %A, expected %A" what name actual value
    match rnd.Next 3 with
    | 0 ->
        let result = run (sprintf """{"queryType":"groupBy","dataSource":"t","intervals":"%s","granularity":"all","dimensions":["d"],"aggregations":%s}""" interval aggregations)
        let groups = rows |> List.groupBy (fun r -> r.D) |> dict
        if result.GetArrayLength() <> groups.Count then failwithf "%d groups, expected %d" (result.GetArrayLength()) groups.Count
        for row in result.EnumerateArray() do
            let event = row.GetProperty "event"
            check "groupBy" event groups.[textOf (event.GetProperty "d")]
    | 1 ->
        let result = run (sprintf """{"queryType":"topN","dataSource":"t","intervals":"%s","granularity":"all","dimension":"d","metric":"n","threshold":3,"aggregations":%s}""" interval aggregations)
        for entry in result.EnumerateArray() do
            for item in (entry.GetProperty "result").EnumerateArray() do
                check "topN" item (rows |> List.filter (fun r -> r.D = textOf (item.GetProperty "d")))
    | _ ->
        let result = run (sprintf """{"queryType":"timeseries","dataSource":"t","intervals":"%s","granularity":"day","aggregations":%s}""" interval aggregations)
        for entry in result.EnumerateArray() do
            let day = (Time.tryParseInstant ((entry.GetProperty "timestamp").GetString())).Value
            check "timeseries" (entry.GetProperty "result") (rows |> List.filter (fun r -> r.Time >= day && r.Time < day + 24L * hour))
    true

[<Tests>]
let tests =
    testList "core/string-extremes" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 200 } "stringMin and stringMax equal the least and greatest UTF-8 value of the rows" agreesWithOracle
        test "the spec reads and prints as written; a missing fieldName is refused" {
            let text = """{"type":"stringMax","name":"m","fieldName":"page"}"""
            match Json.run text AggregatorSpec.parse with
            | Ok spec ->
                Expect.equal spec (AggregatorSpec.StringExtreme { Name = "m"; FieldName = "page"; IsMax = true }) "parsed"
                Expect.equal (AggregatorSpec.toJson spec) text "printed"
                Expect.equal (AggregatorSpec.finalizedType spec) ColumnType.String "a string result"
            | Error(path, problem) -> failtestf "%s: %s" path problem
            Expect.equal (Json.run """{"type":"stringMin","name":"m"}""" AggregatorSpec.parse |> Result.map ignore) (Error("", "Must have a valid, non-null fieldName")) "no field"
        }
    ]

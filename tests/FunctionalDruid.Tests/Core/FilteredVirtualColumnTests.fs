/// Virtual columns evaluated row by row skip the rows the query's filter drops: grouping by
/// such a column over filtered rows gives what the same query gives over only those rows.
module FunctionalDruid.Tests.Core.FilteredVirtualColumnTests

open System
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Tests.Core.EngineTestData

let private span: Time.Interval = { Start = dayStart; End = dayStart + 86_400_000L }

let private genRows (rnd: Random) =
    [ for _ in 1 .. rnd.Next 80 ->
        { Time = dayStart + int64 (rnd.Next 24) * 3_600_000L
          D = [| "a"; "b"; null |].[rnd.Next 3]
          Tags = [||]
          L = (if rnd.Next 4 = 0 then None else Some(int64 (rnd.Next(-3, 5))))
          X = (if rnd.Next 4 = 0 then None else Some(float (rnd.Next(-4, 8)) / 2.0)) } ]

/// The query (given its filter part) with the filter over all rows, and without it over the
/// rows `keep` selects, give the same result.
let private sameAsPrefiltered (rows: RawRow list) (keep: RawRow -> bool) (filter: string) (query: string -> string) =
    let filtered = runQuery (query (sprintf ""","filter":%s""" filter)) [ rawSegment span rows ]
    let prefiltered = runQuery (query "") [ rawSegment span (rows |> List.filter keep) ]
    if filtered <> prefiltered then failwithf "%s\nfiltered    %s\nprefiltered %s" (query (sprintf ""","filter":%s""" filter)) filtered prefiltered
    true

let private filteredEqualsPrefiltered (seed: int) =
    let rnd = Random(seed)
    let rows = genRows rnd
    let keep, filter =
        match rnd.Next 3 with
        | 0 -> (fun (r: RawRow) -> r.D = "a"), """{"type":"selector","dimension":"d","value":"a"}"""
        | 1 -> (fun (r: RawRow) -> r.L = Some 1L), """{"type":"equals","column":"l","matchValueType":"LONG","matchValue":1}"""
        | _ -> (fun (r: RawRow) -> r.L.IsSome && r.L.Value > 0L), """{"type":"range","column":"l","matchValueType":"LONG","lower":0,"lowerOpen":true}"""
    let expression = [| "concat(d, '-', l)"; "case_searched(l > 2, 'big', d)"; "nvl(d, 'none')" |].[rnd.Next 3]
    let granularity = [| "all"; "hour" |].[rnd.Next 2]
    let query (filterPart: string) =
        sprintf """{"queryType":"groupBy","dataSource":"t","intervals":"%s","granularity":"%s"%s,
                    "virtualColumns":[{"type":"expression","name":"v","expression":"%s","outputType":"STRING"}],
                    "dimensions":["v"],"aggregations":[{"type":"count","name":"c"},{"type":"longSum","name":"s","fieldName":"l"}]}"""
            (Time.formatInterval span) granularity filterPart expression
    sameAsPrefiltered rows keep filter query

/// Number dimensions (plain and through an extraction) over filtered rows, including a filter
/// no row passes: as over only the kept rows.
let private numberDimensionsFiltered (seed: int) =
    let rnd = Random(seed)
    let rows = genRows rnd
    let keep, filter =
        match rnd.Next 3 with
        | 0 -> (fun (r: RawRow) -> r.D = "a"), """{"type":"selector","dimension":"d","value":"a"}"""
        | 1 -> (fun (r: RawRow) -> r.D = "zzz"), """{"type":"selector","dimension":"d","value":"zzz"}"""
        | _ -> (fun (r: RawRow) -> r.L = Some 1L), """{"type":"equals","column":"l","matchValueType":"LONG","matchValue":1}"""
    let dimensions =
        [| """{"type":"default","dimension":"l","outputName":"l","outputType":"LONG"}"""
           """{"type":"default","dimension":"x","outputName":"x","outputType":"DOUBLE"}"""
           """{"type":"extraction","dimension":"l","outputName":"e","extractionFn":{"type":"substring","index":0,"length":1}}""" |]
        |> Array.filter (fun _ -> rnd.Next 2 = 0)
    let query (filterPart: string) =
        sprintf """{"queryType":"groupBy","dataSource":"t","intervals":"%s","granularity":"all"%s,"dimensions":[%s],"aggregations":[{"type":"count","name":"c"}]}"""
            (Time.formatInterval span) filterPart (String.Join(",", dimensions))
    sameAsPrefiltered rows keep filter query

/// A number virtual column over one string column is computed once per dictionary value and
/// gathered per row: the same result as the expression evaluated row by row (here forced by
/// also reading `__time`).
let private perValueEqualsPerRow (seed: int) =
    let rnd = Random(seed)
    let rows = genRows rnd
    let expression, outputType, sum =
        [| "strlen(d)", "LONG", "longSum"
           "strlen(d) / 2.0", "DOUBLE", "doubleSum"
           "case_searched(d == 'a', 7, null)", "LONG", "longSum" |].[rnd.Next 3]
    let query (e: string) =
        sprintf """{"queryType":"groupBy","dataSource":"t","intervals":"%s","granularity":"all",
                    "virtualColumns":[{"type":"expression","name":"v","expression":"%s","outputType":"%s"}],
                    "dimensions":[{"type":"default","dimension":"v","outputName":"v","outputType":"%s"}],
                    "aggregations":[{"type":"count","name":"c"},{"type":"%s","name":"s","fieldName":"v"}]}"""
            (Time.formatInterval span) e outputType outputType sum
    let perValue = runQuery (query expression) [ rawSegment span rows ]
    let perRow = runQuery (query (expression + " + __time * 0")) [ rawSegment span rows ]
    if perValue <> perRow then failwithf "%s\nper value %s\nper row   %s" expression perValue perRow
    true

[<Tests>]
let tests =
    testList "core/filtered-virtual-columns" [
        testProperty "a number virtual column over one string column equals it computed row by row" perValueEqualsPerRow
        testProperty "a virtual column over the filtered rows groups as over only those rows" filteredEqualsPrefiltered
        testProperty "number dimensions over the filtered rows group as over only those rows" numberDimensionsFiltered
    ]

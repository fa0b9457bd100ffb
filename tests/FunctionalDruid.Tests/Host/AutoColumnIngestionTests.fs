/// Druid's QA array datasets (auto dimensions) ingested through the HTTP task API and read
/// back with scan queries.
module FunctionalDruid.Tests.Host.AutoColumnIngestionTests

open System.IO
open Expecto
open FunctionalDruid.Tests
open FunctionalDruid.Tests.ServerHarness

let private qaSpec (relative: string) =
    File.ReadAllText(Path.Combine(TestData.conformanceDir, "quidem", "datasets", "qatests", relative, "ingest.json"))

let private scan (r: Running) (dataSource: string) (interval: string) (columns: string list) =
    let query =
        sprintf """{"queryType":"scan","dataSource":"%s","intervals":"%s","resultFormat":"compactedList","columns":[%s],"order":"ascending"}"""
            dataSource interval (System.String.Join(",", columns |> List.map (sprintf "\"%s\"")))
    let code, body = post r "/druid/v2" query
    if code <> 200 then failtestf "scan failed with %d: %s" code body
    // events of every batch, in order
    [ for batch in (json body).AsArray() do
        for e in batch.["events"].AsArray() -> e.ToJsonString() ]

[<Tests>]
let tests =
    testSequenced (
        testList "AutoColumnIngestion" [
            test "qaUnnest array dataset: auto columns ingest and scan back as typed arrays" {
                use r = start Sqlite []
                ingest r (qaSpec "qaUnnest/array") |> ignore
                let events =
                    scan r "test_unnest" "2022/2023" [ "__time"; "s_int"; "a_bool"; "a_int"; "a_float"; "a_str"; "a_null"; "a_empty"; "a_mixed" ]
                Expect.equal events
                    [ """[1640995200000,1,[1,0,null],[1,2,null],[0.1,0.2,null],["S1","S2",null],[null,null,null],[],["true","1","0.1","S1",null]]"""
                      """[1643673600000,2,[null,1,0],[null,1,2],[null,0.1,0.2],[null,"S1","S2"],[null,null,null],[],[null,"true","1","0.1","S1"]]"""
                      """[1646092800000,null,[0,null,1],[2,null,1],[0.2,null,0.1],["S2",null,"S1"],[null,null,null],[],["S1",null,"true","1","0.1"]]""" ]
                    "rows, in time order"
            }
            test "qaArray dataset (without its json_value transforms): auto columns ingest" {
                use r = start Sqlite []
                // json_value is not in the expression language yet; the transformed t_* columns
                // are not what this checks
                let spec = json (qaSpec "qaArray/sql")
                spec.["spec"].["dataSchema"].AsObject().Remove("transformSpec") |> ignore
                ingest r (spec.ToJsonString()) |> ignore
                let events = scan r "test_array" "2022/2023" [ "__time"; "a_bool"; "a_float"; "a_empty"; "cnt" ]
                Expect.equal events
                    [ """[1640995200000,[1,0,null],[0.1,0.2,null],[],1]"""
                      """[1640995200000,[1,0,null],[0.1,0.2,null],[],1]"""
                      """[1643673600000,[null,0,1],[null,0.2,0.1],[],1]"""
                      """[1643673600000,[null,0,1],[null,0.2,0.1],[],1]""" ]
                    "four rows (no rollup)"
            }
        ])

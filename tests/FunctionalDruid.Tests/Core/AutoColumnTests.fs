module FunctionalDruid.Tests.Core.AutoColumnTests

open System
open System.IO
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Core.AutoType
open FunctionalDruid.Core.Nested

type private AT = FunctionalDruid.Core.AutoType.AutoType

let private l (x: int64) = JsonTree.Long x
let private d (x: float) = JsonTree.Double x
let private s (x: string) = JsonTree.String x
let private b (x: bool) = JsonTree.Bool x
let private arr (xs: JsonTree list) = JsonTree.Array(Array.ofList xs)
let private obj (fields: (string * JsonTree) list) = JsonTree.Object(Array.ofList fields)

let private vl (x: int64) = Value.Long x
let private vd (x: float) = Value.Double x
let private vs (x: string) = Value.String x
let private va (xs: Value list) = Value.Array(Array.ofList xs)

/// An ingestion spec over the given dimensions (JSON list), no rollup unless asked.
let specWith (dims: string) (rollup: bool) (extra: string) =
    let text =
        sprintf """{"type":"index_parallel","spec":{"dataSchema":{"dataSource":"t","timestampSpec":{"column":"t","format":"auto"},
                   "dimensionsSpec":{"dimensions":%s%s},"metricsSpec":[{"type":"count","name":"cnt"}],
                   "granularitySpec":{"segmentGranularity":"year","queryGranularity":"none","rollup":%b}},
                   "ioConfig":{"type":"index_parallel","inputSource":{"type":"inline","data":""},"inputFormat":{"type":"json"}}}}""" dims extra rollup
    match IngestSpec.parseTaskText text with
    | Ok spec -> spec
    | Error(path, problem) -> failwithf "spec did not parse: %s: %s" path problem

/// Ingests JSON lines and returns the single segment's content.
let ingest (spec: IngestSpec.IngestSpec) (lines: string list) =
    let index = Rollup.IncrementalIndex spec
    let outcomes =
        Input.readLines spec.InputFormat lines
        |> Seq.map (function Input.Row r -> index.Add r | Input.Unparseable m -> failwith m)
        |> List.ofSeq
    match index.Snapshot() with
    | [ content ] -> content, outcomes
    | other -> failwithf "expected one segment, got %d" other.Length

let private column (content: SegmentContent) (name: string) =
    match content.Dimensions |> List.tryFind (fun (n, _) -> n = name) with
    | Some(_, c) -> c
    | None -> failwithf "no column %s" name

let private cells (c: ColumnData) = List.init c.RowCount c.Cell

let private inferenceCases =
    [ "longs", [ l 1L; l 2L ], AT.Long
      "longs and doubles", [ l 1L; d 2.5 ], AT.Double
      "numbers and strings", [ l 1L; d 0.5; s "a" ], AT.String
      "booleans are longs", [ b true; b false; JsonTree.Null ], AT.Long
      "booleans with doubles", [ b true; d 0.5 ], AT.Double
      "nothing but nulls", [ JsonTree.Null; JsonTree.Null ], AT.String
      "no values", [], AT.String
      "arrays of longs", [ arr [ l 1L; JsonTree.Null ]; arr [ l 2L ] ], AT.LongArray
      "arrays of booleans", [ arr [ b true; b false; JsonTree.Null ] ], AT.LongArray
      "arrays of longs and doubles", [ arr [ l 1L; d 0.5 ] ], AT.DoubleArray
      "arrays of mixed scalars", [ arr [ b true; l 1L; d 0.1; s "S1"; JsonTree.Null ] ], AT.StringArray
      "arrays of doubles then of strings", [ arr [ d 0.1 ]; arr [ s "x" ] ], AT.StringArray
      "only empty arrays", [ arr []; arr [] ], AT.LongArray
      "only all-null arrays", [ arr [ JsonTree.Null; JsonTree.Null ] ], AT.LongArray
      "empty arrays and longs", [ arr []; l 1L ], AT.LongArray
      "empty arrays and strings", [ arr []; s "a" ], AT.StringArray
      "empty arrays and arrays of doubles", [ arr []; arr [ d 1.5 ] ], AT.DoubleArray
      "a scalar and an array", [ l 1L; arr [ s "a" ] ], AT.StringArray
      "a double and an array of longs", [ d 1.5; arr [ l 1L ] ], AT.DoubleArray
      "objects", [ obj [ "x", l 1L ] ], AT.Json
      "empty objects", [ obj [] ], AT.Json
      "arrays of arrays", [ arr [ arr [ l 1L ] ] ], AT.Json
      "arrays of objects", [ arr [ obj [ "x", l 1L ] ] ], AT.Json
      "objects win over everything", [ l 1L; arr [ s "a" ]; obj [ "x", JsonTree.Null ] ], AT.Json ]

let private arrayLines =
    [ """{"t":"2022-01-01","a_bool":[true,false,null],"a_int":[1,2,null],"a_float":[0.1,0.2,null],"a_str":["S1","S2",null],"a_null":[null,null,null],"a_empty":[],"a_mixed":[true,1,0.1,"S1",null],"a_nested":[[true,1],{"k":[0.5,"x"]},[]],"s_int":1,"s_null":null}"""
      """{"t":"2022-01-01","a_bool":[true,false,null],"a_int":[1,2,null],"a_float":[0.1,0.2,null],"a_str":["S1","S2",null],"a_null":[null,null,null],"a_empty":[],"a_mixed":[true,1,0.1,"S1",null],"a_nested":[[true,1],{"k":[0.5,"x"]},[]],"s_int":1,"s_null":null}"""
      """{"t":"2022-02-01","a_bool":[null,false,true],"a_int":[null,2,1],"a_float":[null,0.2,0.1],"a_str":[null,"S2","S1"],"a_null":[null,null,null],"a_empty":[],"a_mixed":[null,"S1",0.1,1,true],"a_nested":null,"s_int":2}""" ]

let private arrayDims = [ "a_bool"; "a_int"; "a_float"; "a_str"; "a_null"; "a_empty"; "a_mixed"; "a_nested"; "s_int"; "s_null" ]

let private autoDims (names: string list) =
    "[" + String.Join(",", names |> List.map (sprintf """{"type":"auto","name":"%s"}""")) + "]"

[<Tests>]
let tests =
    testList "AutoColumn" [
        testList "inference" [
            for name, values, expected in inferenceCases ->
                test name { Expect.equal (infer values) expected "inferred type" }
        ]
        test "column types are Druid's type names" {
            let names = [ AT.Long; AT.Double; AT.String; AT.LongArray; AT.DoubleArray; AT.StringArray; AT.Json ]
                        |> List.map (fun t -> (toColumn t [| JsonTree.Null |]).Type.DruidName)
            Expect.equal names [ "LONG"; "DOUBLE"; "STRING"; "ARRAY<LONG>"; "ARRAY<DOUBLE>"; "ARRAY<STRING>"; "COMPLEX<json>" ] "names"
        }
        test "coercion to the column type" {
            Expect.equal (coerce AT.StringArray (arr [ b true; l 1L; d 0.1; s "S1"; JsonTree.Null ]))
                (Some(arr [ s "true"; s "1"; s "0.1"; s "S1"; JsonTree.Null ])) "mixed array as strings: booleans as words"
            Expect.equal (coerce AT.LongArray (arr [ b true; b false; JsonTree.Null ])) (Some(arr [ l 1L; l 0L; JsonTree.Null ])) "booleans as 1 and 0"
            Expect.equal (coerce AT.LongArray (l 7L)) (Some(arr [ l 7L ])) "a scalar in an array column is a one-element array"
            Expect.equal (coerce AT.DoubleArray (arr [])) (Some(arr [])) "empty stays empty"
            Expect.equal (coerce AT.Long (arr [ s "12" ])) (Some(l 12L)) "a one-element array into a scalar"
            Expect.equal (coerce AT.Long (arr [ l 1L; l 2L ])) None "several values do not fit a scalar"
            Expect.equal (coerce AT.Long (s "abc")) (Some JsonTree.Null) "unparseable text is null"
            Expect.equal (coerce AT.String (obj [ "x", l 1L ])) None "an object is not a string"
            Expect.equal (coerce AT.Json (obj [ "x", b true ])) (Some(obj [ "x", b true ])) "json keeps everything"
        }
        test "compact JSON text keeps booleans, Java doubles and key order" {
            Expect.equal (toText (obj [ "z", arr [ b true; JsonTree.Null; d 1e21; d 0.5; l -3L ]; "a", s "q\"\n" ]))
                """{"z":[true,null,1.0E21,0.5,-3],"a":"q\"\n"}""" "text"
            Expect.equal (tryParse """{"z":[true,null,1.0E21],"a":{}}""") (Some(obj [ "z", arr [ b true; JsonTree.Null; d 1e21 ]; "a", obj [] ])) "parse"
        }
        test "input rows keep booleans, objects and nested arrays as trees" {
            let row =
                match Input.readLines (Input.InputFormat.Json { FlattenSpec = None; KeepNullColumns = false; AllowComments = false; AllowTrailingCommas = false })
                        [ """{"f":true,"a":[true,1],"o":{"x":[1,{"y":null}]},"n":[[1],[]],"p":[1,"b"],"s":"x"}""" ] |> List.ofSeq with
                | [ Input.Row r ] -> r
                | other -> failwithf "%A" other
            Expect.equal row.Names [| "f"; "a"; "p"; "s" |] "objects and nested arrays are not plain fields"
            Expect.equal (row.Get "f") (vs "true") "booleans read as strings by string dimensions"
            Expect.equal (row.Tree "f") (b true) "but stay booleans for auto ones"
            Expect.equal (row.Tree "a") (arr [ b true; l 1L ]) "array with a boolean"
            Expect.equal (row.Tree "o") (obj [ "x", arr [ l 1L; obj [ "y", JsonTree.Null ] ] ]) "object"
            Expect.equal (row.Tree "n") (arr [ arr [ l 1L ]; arr [] ]) "nested arrays"
            Expect.equal (row.Tree "p") (arr [ l 1L; s "b" ]) "flat arrays come from their values"
            Expect.equal (row.Tree "missing") JsonTree.Null "absent"
            Expect.equal (row.ToString()) "{f=true, a=[true, 1], p=[1, b], s=x, o={x=[1, {y=null}]}, n=[[1], []]}" "printed as Druid prints rows"
        }
        test "auto columns of the QA array rows" {
            let content, outcomes = ingest (specWith (autoDims arrayDims) false "") arrayLines
            Expect.allEqual outcomes Rollup.RowOutcome.Ingested "all ingested"
            let types = content.Dimensions |> List.map (fun (n, c) -> n, c.Type.DruidName)
            // s_null has no value, yet an auto column stays (Druid's SELECT * over these rows lists it)
            Expect.equal types
                [ "a_bool", "ARRAY<LONG>"; "a_int", "ARRAY<LONG>"; "a_float", "ARRAY<DOUBLE>"; "a_str", "ARRAY<STRING>"
                  "a_null", "ARRAY<LONG>"; "a_empty", "ARRAY<LONG>"; "a_mixed", "ARRAY<STRING>"; "a_nested", "COMPLEX<json>"
                  "s_int", "LONG"; "s_null", "STRING" ] "types"
            Expect.equal (cells (column content "a_bool")) [ va [ vl 1L; vl 0L; Value.Null ]; va [ vl 1L; vl 0L; Value.Null ]; va [ Value.Null; vl 0L; vl 1L ] ] "a_bool"
            Expect.equal (cells (column content "a_float")) [ va [ vd 0.1; vd 0.2; Value.Null ]; va [ vd 0.1; vd 0.2; Value.Null ]; va [ Value.Null; vd 0.2; vd 0.1 ] ] "a_float"
            Expect.equal (cells (column content "a_null")) [ for _ in 1 .. 3 -> va [ Value.Null; Value.Null; Value.Null ] ] "a_null"
            Expect.equal (cells (column content "a_empty")) [ va []; va []; va [] ] "a_empty"
            Expect.equal (cells (column content "a_mixed"))
                [ va [ vs "true"; vs "1"; vs "0.1"; vs "S1"; Value.Null ]; va [ vs "true"; vs "1"; vs "0.1"; vs "S1"; Value.Null ]
                  va [ Value.Null; vs "S1"; vs "0.1"; vs "1"; vs "true" ] ] "a_mixed"
            Expect.equal (cells (column content "a_nested"))
                [ vs """[[true,1],{"k":[0.5,"x"]},[]]"""; vs """[[true,1],{"k":[0.5,"x"]},[]]"""; Value.Null ] "a_nested as JSON text"
            Expect.equal (Nested.tryCellTree (column content "a_nested") 0) (Some(arr [ arr [ b true; l 1L ]; obj [ "k", arr [ d 0.5; s "x" ] ]; arr [] ])) "a_nested as a tree"
            Expect.equal (cells (column content "s_int")) [ vl 1L; vl 1L; vl 2L ] "s_int"
        }
        test "a json dimension is COMPLEX<json> even for scalars" {
            let content, _ = ingest (specWith """[{"type":"json","name":"j"}]""" false "") [ """{"t":"2022-01-01","j":1}"""; """{"t":"2022-01-01","j":"x"}""" ]
            Expect.equal (column content "j").Type (ColumnType.Complex "json") "type"
            Expect.equal (cells (column content "j")) [ vs "1"; vs "\"x\"" ] "JSON text"
        }
        test "rollup groups on whole arrays, not on their elements" {
            let lines =
                [ """{"t":"2022-01-01","a":[1,2]}"""; """{"t":"2022-01-01","a":[2,1]}"""; """{"t":"2022-01-01","a":[1,2]}"""
                  """{"t":"2022-01-01","a":[]}"""; """{"t":"2022-01-01","a":null}"""; """{"t":"2022-01-01","a":[]}"""; """{"t":"2022-01-01"}""" ]
            let content, _ = ingest (specWith """[{"type":"auto","name":"a"}]""" true "") lines
            let rows = List.init content.Times.Length (fun r -> (column content "a").Cell r, (snd content.Metrics.Head).Cell r)
            Expect.equal rows [ Value.Null, vl 2L; va [], vl 2L; va [ vl 1L; vl 2L ], vl 2L; va [ vl 2L; vl 1L ], vl 1L ] "null, empty and each array order are their own groups"
        }
        test "castToType coerces, and what cannot be coerced is an error with a null value" {
            let spec = specWith """[{"type":"auto","name":"a","castToType":"ARRAY<STRING>"},{"type":"auto","name":"n","castToType":"LONG"}]""" false ""
            let content, outcomes = ingest spec [ """{"t":"2022-01-01","a":[1,2.5],"n":"7"}"""; """{"t":"2022-01-01","a":"x","n":[1,2]}""" ]
            Expect.equal (column content "a").Type (ColumnType.Array ColumnType.String) "array type"
            Expect.equal (cells (column content "a")) [ va [ vs "1"; vs "2.5" ]; va [ vs "x" ] ] "strings"
            Expect.equal (cells (column content "n")) [ vl 7L; Value.Null ] "longs"
            Expect.equal outcomes
                [ Rollup.RowOutcome.Ingested
                  Rollup.RowOutcome.IngestedWithError "Cannot coerce column [n] input to requested type [LONG]" ] "outcomes"
        }
        test "schema discovery makes every discovered column auto" {
            let spec = specWith "[]" false ""","useSchemaDiscovery":true"""
            let content, _ = ingest spec [ """{"t":"2022-01-01","l":1,"s":"a","arr":["x","y"],"o":{"k":1},"bool":true}""" ]
            let types = content.Dimensions |> List.map (fun (n, c) -> n, c.Type.DruidName) |> List.sort
            Expect.equal types [ "arr", "ARRAY<STRING>"; "bool", "LONG"; "l", "LONG"; "o", "COMPLEX<json>"; "s", "STRING" ] "types"
        }
        test "without schema discovery arrays stay multi-value strings and objects are not discovered" {
            let content, _ = ingest (specWith "[]" false "") [ """{"t":"2022-01-01","arr":["x","y"],"o":{"k":1}}""" ]
            Expect.equal (content.Dimensions |> List.map (fun (n, c) -> n, c.Type)) [ "arr", ColumnType.String ] "types"
        }
        test "persisted snapshots merge back with their types" {
            let spec = specWith (autoDims [ "a"; "j"; "x" ]) false ""
            let first, _ = ingest spec [ """{"t":"2022-01-01","a":[1,null],"j":{"k":true},"x":1}""" ]
            let second, _ = ingest spec [ """{"t":"2022-01-01","a":[],"j":[[1]],"x":"b"}""" ]
            let roundTrip (c: SegmentContent) =
                match SegmentFormat.tryOpen (ReadOnlyMemory(SegmentFormat.write c)) with
                | Ok r -> SegmentFormat.readContent r
                | Error e -> failwith e
            let merged = (Rollup.merge spec [ roundTrip first; roundTrip second ]).Value
            // rows sort on the first dimension: the empty array before [1, null]
            Expect.equal (cells (column merged "a")) [ va []; va [ vl 1L; Value.Null ] ] "arrays"
            Expect.equal (cells (column merged "j")) [ vs "[[1]]"; vs """{"k":true}""" ] "json"
            Expect.equal (cells (column merged "x")) [ vs "b"; vs "1" ] "long and string make a string column"
        }
        test "the QA array dataset spec parses with its auto dimensions" {
            let path = Path.Combine(FunctionalDruid.Tests.TestData.conformanceDir, "quidem", "datasets", "qatests", "qaUnnest", "array", "ingest.json")
            match IngestSpec.parseTaskText (File.ReadAllText path) with
            | Ok spec ->
                Expect.isTrue (spec.DimensionsSpec.Dimensions |> List.forall (fun dim -> dim.Type = IngestSpec.DimensionType.Auto None)) "all auto"
            | Error(p, e) -> failtestf "%s: %s" p e
        }
        test "a castToType names its type" {
            let spec = specWith """[{"type":"auto","name":"language","castToType":"ARRAY<STRING>"},{"type":"auto","name":"c","castToType":"COMPLEX<json>"}]""" false ""
            Expect.equal (spec.DimensionsSpec.Dimensions |> List.map (fun dim -> dim.Type))
                [ IngestSpec.DimensionType.Auto(Some AT.StringArray); IngestSpec.DimensionType.Auto None ] "types"
        }
    ]

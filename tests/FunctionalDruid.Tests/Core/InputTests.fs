module FunctionalDruid.Tests.Core.InputTests

open System.IO
open Expecto
open FsCheck
open FunctionalDruid.Core
open FunctionalDruid.Core.Input
open FunctionalDruid.Core.InputFormatSpec
open FunctionalDruid.Tests

let private format (json: string) =
    match Json.run json parseInputFormat with
    | Ok f -> f
    | Error e -> failwithf "spec rejected: %A" e

let private legacy (json: string) =
    match Json.run json parseParser with
    | Ok f -> f
    | Error e -> failwithf "spec rejected: %A" e

let private dataFile (kind: string) (ext: string) =
    Path.Combine(TestData.conformanceDir, "druid-it", "data", "batch_index", kind, "wikipedia_index_data1." + ext)

/// A row as (name, value) pairs in order, so tests compare names, order and values at once.
let private pairs (r: RowResult) =
    match r with
    | Row row -> Array.zip row.Names row.Values |> Array.toList
    | Unparseable m -> failwithf "unparseable: %s" m

let private rows (f: InputFormat) (lines: string list) = readLines f lines |> Seq.toList
let private str (x: string) = Value.String x

[<Tests>]
let tests =
    testList "Input" [
        test "json lines from the wikipedia test data" {
            let lines = File.ReadAllLines(dataFile "json" "json") |> Array.toList
            let result = rows (format """{"type":"json"}""") lines
            Expect.equal result.Length 3 "three rows"
            let first = pairs result.[0]
            Expect.equal (first |> List.map fst)
                [ "timestamp"; "page"; "language"; "tags"; "user"; "unpatrolled"; "newPage"; "robot"; "anonymous"; "namespace"
                  "continent"; "country"; "region"; "city"; "added"; "deleted"; "delta" ] "field order"
            let get name = first |> List.find (fun (n, _) -> n = name) |> snd
            Expect.equal (get "timestamp") (str "2013-08-31T01:02:33Z") "timestamp"
            Expect.equal (get "page") (str "Gypsy Danger") "page"
            Expect.equal (get "tags") (Value.Array [| str "t1"; str "t2" |]) "tags"
            Expect.equal (get "unpatrolled") (str "true") "string stays a string"
            Expect.equal (get "added") (Value.Long 57L) "added"
            Expect.equal (get "delta") (Value.Long -143L) "delta"
            match result.[2] with
            | Row r -> Expect.equal (r.Get "city") (str "Moscow") "third city"
            | other -> failtestf "unexpected %A" other
        }
        test "json value types" {
            let line = """{"l": 12, "d": 1.0, "e": 1e3, "big": 123456789012345678901, "t": true, "f": false, "n": null, "o": {"x": 1}, "a": [1, "b", null], "nested": [[1]], "s": "\u00e9\"q"}"""
            Expect.equal (pairs (rows (format """{"type":"json"}""") [ line ]).Head)
                [ "l", Value.Long 12L; "d", Value.Double 1.0; "e", Value.Double 1000.0; "big", Value.Double 123456789012345678901.0
                  "t", str "true"; "f", str "false"; "a", Value.Array [| Value.Long 1L; str "b"; Value.Null |]; "s", str "é\"q" ] "values"
            Expect.equal (pairs (rows (format """{"type":"json","keepNullColumns":true}""") [ """{"a":null,"b":1}""" ]).Head)
                [ "a", Value.Null; "b", Value.Long 1L ] "kept null"
        }
        test "rows of one shape share a schema" {
            match rows (format """{"type":"json"}""") [ """{"a":1,"b":2}"""; """{"a":3,"b":4}"""; """{"b":5,"a":6}""" ] with
            | [ Row r1; Row r2; Row r3 ] ->
                Expect.isTrue (obj.ReferenceEquals(r1.Schema, r2.Schema)) "shared"
                Expect.equal (r3.Names |> Array.toList) [ "b"; "a" ] "new order"
                Expect.equal (r3.Get "a") (Value.Long 6L) "lookup"
            | other -> failtestf "unexpected %A" other
        }
        test "a repeated json key keeps its first position and last value" {
            Expect.equal (pairs (rows (format """{"type":"json"}""") [ """{"a":1,"b":2,"a":3}""" ]).Head) [ "a", Value.Long 3L; "b", Value.Long 2L ] "dup"
        }
        test "flattenSpec with root, path, jq and tree fields" {
            let f =
                format """{"type":"json","flattenSpec":{"useFieldDiscovery":true,"fields":[
                            {"type":"root","name":"renamed","expr":"x"},
                            {"type":"path","name":"deep","expr":"$.o.inner.v"},
                            {"type":"path","name":"first","expr":"$.o.list[0]"},
                            {"type":"path","name":"last","expr":"$.o.list[-1]"},
                            {"type":"path","name":"spaced","expr":"$['a b']"},
                            {"type":"path","name":"all","expr":"$.o.list[*]"},
                            {"type":"path","name":"anywhere","expr":"$..v"},
                            {"type":"path","name":"missing","expr":"$.nope.nothing"},
                            {"type":"path","name":"obj","expr":"$.o.inner"},
                            {"type":"jq","name":"jqField","expr":".o.list[1]"},
                            {"type":"tree","name":"treeField","nodes":["o","inner","v"]},
                            "x"]}}"""
            let line = """{"x":"root","a b":7,"o":{"inner":{"v":"deepValue"},"list":[10,20,30]},"n":null}"""
            Expect.equal (pairs (rows f [ line ]).Head)
                [ "renamed", str "root"; "deep", str "deepValue"; "first", Value.Long 10L; "last", Value.Long 30L
                  "spaced", Value.Long 7L; "all", Value.Array [| Value.Long 10L; Value.Long 20L; Value.Long 30L |]
                  "anywhere", Value.Array [| str "deepValue" |]; "missing", Value.Null; "obj", str "{v=deepValue}"
                  "jqField", Value.Long 20L; "treeField", str "deepValue"; "x", str "root"
                  // discovery: the remaining scalar fields; with a flattenSpec, nulls are kept by default
                  "a b", Value.Long 7L; "n", Value.Null ] "flattened"
        }
        test "flattenSpec without discovery keeps only its fields" {
            let f = format """{"type":"json","flattenSpec":{"useFieldDiscovery":false,"fields":[{"type":"path","name":"v","expr":"o.v"}]}}"""
            Expect.equal (pairs (rows f [ """{"a":1,"o":{"v":2}}""" ]).Head) [ "v", Value.Long 2L ] "only v"
        }
        test "csv from the wikipedia test data with the header" {
            let lines = File.ReadAllLines(dataFile "csv" "csv") |> Array.toList
            let result = rows (format """{"type":"csv","findColumnsFromHeader":true}""") lines
            Expect.equal result.Length 3 "header consumed"
            let second = pairs result.[1]
            Expect.equal (second |> List.take 5) [ "timestamp", str "2013-08-31T03:32:45Z"; "page", str "Striker Eureka"; "language", str "en"; "user", str "speed"; "unpatrolled", str "FALSE" ] "start"
            Expect.equal (second |> List.last) ("delta", str "330") "csv values are strings"
        }
        test "tsv from the wikipedia test data, with columns and a skipped header" {
            let lines = File.ReadAllLines(dataFile "tsv" "tsv") |> Array.toList
            let f = format """{"type":"tsv","columns":["timestamp","page","language"],"skipHeaderRows":1,"tryParseNumbers":true}"""
            let result = rows f lines
            Expect.equal result.Length 3 "rows"
            Expect.equal (pairs result.[2]) [ "timestamp", str "2013-08-31T07:11:21Z"; "page", str "Cherno Alpha"; "language", str "ru" ] "extra values dropped"
            let all = format """{"type":"tsv","findColumnsFromHeader":true,"tryParseNumbers":true}"""
            let third = pairs (rows all lines).[2]
            Expect.equal (third |> List.last) ("delta", Value.Long 111L) "numbers parsed on request"
        }
        test "csv quoting, nulls, short rows and multi-values" {
            let f = format """{"type":"csv","columns":["a","b","c"],"listDelimiter":"|"}"""
            let result = rows f [ "\"x,y\",\"say \"\"hi\"\"\",z"; "1,,\"\""; "only"; "p|q|,r"; ""; "   " ]
            Expect.equal (result |> List.map pairs)
                [ [ "a", str "x,y"; "b", str "say \"hi\""; "c", str "z" ]
                  [ "a", str "1"; "b", Value.Null; "c", str "" ]
                  [ "a", str "only" ]
                  [ "a", Value.Array [| str "p"; str "q"; str "" |]; "b", str "r" ] ] "rows"
        }
        test "default list delimiter is ctrl-A" {
            let f = format """{"type":"tsv","columns":["a"]}"""
            Expect.equal (pairs (rows f [ "x\u0001y" ]).Head) [ "a", Value.Array [| str "x"; str "y" |] ] "multi"
        }
        test "header handling: skipped rows come before the header, empty names are numbered" {
            let f = format """{"type":"csv","findColumnsFromHeader":true,"skipHeaderRows":2}"""
            let result = rows f [ "junk"; "more junk"; "a,,c"; "1,2,3" ]
            Expect.equal (result |> List.map pairs) [ [ "a", str "1"; "column_2", str "2"; "c", str "3" ] ] "rows"
            let dup = rows (format """{"type":"csv","findColumnsFromHeader":true}""") [ "a,a"; "1,2" ]
            Expect.equal dup [ Unparseable "Duplicate column entries found : [a] (Record: 1, Line: 2)" ] "duplicate header"
        }
        test "bad rows carry Druid's message with record and line" {
            let f = format """{"type":"json"}"""
            let result = readLinesFrom f (Some "file:/data/x.json") [ """{"a":1}"""; "{\"a\":"; ""; "not json"; """{"a":2}""" ] |> Seq.toList
            Expect.equal result.[0] (Row(makeRow [| "a" |] [| Value.Long 1L |])) "rows compare by content"
            Expect.notEqual result.[0] result.[3] "different values"
            Expect.equal (result |> List.map (function Row r -> r.ToString() | Unparseable m -> m))
                [ "{a=1}"
                  "Unable to parse row [{\"a\":] (Path: file:/data/x.json, Record: 2, Line: 2)"
                  "Unable to parse row [not json] (Path: file:/data/x.json, Record: 2, Line: 4)"
                  "{a=2}" ] "messages"
            let csv = rows (format """{"type":"csv","columns":["a"]}""") [ "\"open" ]
            Expect.equal csv [ Unparseable "Unable to parse row [\"open] (Record: 1, Line: 1)" ] "unterminated quote"
        }
        test "timed rows report bad timestamps like Druid" {
            let lines = File.ReadAllLines(dataFile "tsv" "tsv") |> Array.toList
            let f = legacy """{"type":"string","parseSpec":{"format":"tsv","columns":["timestamp","page","language","user"]}}"""
            let result = readTimedLines f TimestampSpec.defaultSpec None lines |> Seq.toList
            Expect.equal result.Length 4 "all lines"
            Expect.equal result.Head (BadRow "Timestamp[timestamp] is unparseable! Event: {timestamp=timestamp, page=page, language=language, user=user} (Record: 1, Line: 1)") "header as data"
            match result.[1] with
            | TimedRow(t, row) ->
                Expect.equal t 1377910953000L "time"
                Expect.equal (row.Get "user") (str "nuclear") "user"
            | other -> failtestf "unexpected %A" other
            let json = readTimedLines (format """{"type":"json"}""") TimestampSpec.defaultSpec None [ """{"timestamp":"x","page":"p"}""" ] |> Seq.toList
            Expect.equal json [ BadRow "Timestamp[x] is unparseable! Event: {timestamp=x, page=p} (Record: 1, Line: 1)" ] "json"
        }
        test "legacy parseSpec formats" {
            match legacy """{"parseSpec":{"format":"csv","hasHeaderRow":true,"skipHeaderRows":1,"listDelimiter":";"}}""" with
            | InputFormat.Csv d ->
                Expect.equal (d.FindColumnsFromHeader, d.SkipHeaderRows, d.ListDelimiter, d.Delimiter) (true, 1, ";", ",") "csv"
            | other -> failtestf "unexpected %A" other
            match legacy """{"type":"string","parseSpec":{"format":"tsv","delimiter":"|","columns":["a","b"]}}""" with
            | InputFormat.Tsv d -> Expect.equal (d.Delimiter, d.Columns) ("|", [ "a"; "b" ]) "tsv"
            | other -> failtestf "unexpected %A" other
            match legacy """{"parseSpec":{"format":"json","flattenSpec":{"fields":[{"type":"path","name":"v","expr":"$.o.v"}]}}}""" with
            | InputFormat.Json j ->
                Expect.isFalse j.KeepNullColumns "legacy json drops nulls by default"
                Expect.equal (j.FlattenSpec |> Option.map (fun f -> f.Fields |> List.map (fun x -> x.Name))) (Some [ "v" ]) "fields"
            | other -> failtestf "unexpected %A" other
        }
        test "invalid inputFormat specs are rejected with Druid's words and the path" {
            let cases =
                [ """{}""", "", "Missing type id when trying to resolve subtype of [simple type, class org.apache.druid.data.input.InputFormat]: missing type id property 'type'"
                  """{"type":"parquet"}""", "type", "Could not resolve type id 'parquet' as a subtype of `org.apache.druid.data.input.InputFormat`: known type ids = [csv, json, tsv]"
                  """{"type":"csv"}""", "", "Either [columns] or [findColumnsFromHeader] must be set"
                  """{"type":"csv","hasHeaderRow":true,"findColumnsFromHeader":true}""", "", "Cannot accept both [findColumnsFromHeader] and [hasHeaderRow]"
                  """{"type":"csv","findColumnsFromHeader":false}""", "", "If [columns] is not set, the first row of your data must have your header and [findColumnsFromHeader] must be set to true."
                  """{"type":"csv","columns":["a","b,c"]}""", "columns[1]", "Column[b,c] cannot have the delimiter[,] in its name"
                  """{"type":"tsv","columns":["a"],"delimiter":"|","listDelimiter":"|"}""", "listDelimiter", "Cannot have same delimiter and list delimiter of [|]"
                  """{"type":"tsv","columns":["a","b","a"]}""", "columns", "Duplicate column entries found : [a]"
                  """{"type":"json","flattenSpec":{"fields":[{"type":"path","expr":"$.a"}]}}""", "flattenSpec.fields[0]", "Missing 'name' in field spec"
                  """{"type":"json","flattenSpec":{"fields":[{"type":"path","name":"a"}]}}""", "flattenSpec.fields[0]", "Missing 'expr' for field[a]"
                  """{"type":"json","flattenSpec":{"fields":[{"type":"tree","name":"a"}]}}""", "flattenSpec.fields[0]", "Missing 'nodes' for field[a], was [null]"
                  """{"type":"json","flattenSpec":{"fields":[{"type":"xpath","name":"a","expr":"/a"}]}}""", "flattenSpec.fields[0].type", "No enum constant org.apache.druid.java.util.common.parsers.JSONPathFieldType.XPATH"
                  """{"type":"json","flattenSpec":{"fields":["a",{"type":"root","name":"a"}]}}""", "flattenSpec.fields[1]", "Cannot have duplicate field definition: a"
                  """{"type":"json","flattenSpec":{"fields":[{"type":"path","name":"a","expr":"$.a[?(@.b)]"}]}}""", "flattenSpec.fields[0].expr", "Invalid JSONPath [$.a[?(@.b)]]: Unsupported JSONPath element [?(@.b)]: only names, indexes and * are supported"
                  """{"type":"json","flattenSpec":{"fields":[{"type":"jq","name":"a","expr":".a | length"}]}}""", "flattenSpec.fields[0].expr", "jq expression [.a | length] is not supported: only paths such as .a.b, .a[0] and .[\"a b\"] are"
                  """{"type":"json","assumeNewlineDelimited":true,"useJsonNodeReader":true}""", "", "useJsonNodeReader cannot be set to true when assumeNewlineDelimited is true."
                  """[]""", "", "expected an object but found an array" ]
            for spec, path, message in cases do
                Expect.equal (Json.run spec parseInputFormat) (Error(path, message)) spec
        }
        test "invalid legacy parsers" {
            let cases =
                [ """{"parseSpec":{"format":"csv"}}""", "parseSpec", "If columns field is not set, the first row of your data must have your header and hasHeaderRow must be set to true."
                  """{"parseSpec":{"format":"csv","columns":["a,b"]}}""", "parseSpec.columns", "Column[a,b] has a comma, it cannot"
                  """{"parseSpec":{"format":"avro"}}""", "parseSpec.format", "Could not resolve type id 'avro' as a subtype of `org.apache.druid.data.input.impl.ParseSpec`: known type ids = [csv, json, tsv]"
                  """{"parseSpec":{}}""", "parseSpec", "Missing type id when trying to resolve subtype of [simple type, class org.apache.druid.data.input.impl.ParseSpec]: missing type id property 'format'"
                  """{"type":"map","parseSpec":{"format":"json"}}""", "type", "Could not resolve type id 'map' as a subtype of `org.apache.druid.data.input.impl.InputRowParser`: known type ids = [hadoopyString, string]"
                  """{"type":"string"}""", "parseSpec", "is required but missing" ]
            for spec, path, message in cases do
                Expect.equal (Json.run spec parseParser) (Error(path, message)) spec
        }
        testProperty "csv written with quoting reads back the same fields" <| fun (cells: NonNull<string> list) ->
            // a naive writer: quote every field that needs it, doubling quotes
            let fields = cells |> List.map (fun c -> c.Get.Replace("\n", "").Replace("\r", "")) |> List.truncate 8
            let quote (s: string) =
                if s = "" || s.Contains "," || s.Contains "\"" || s.Trim() <> s then "\"" + s.Replace("\"", "\"\"") + "\"" else s
            let line = "z" :: (fields |> List.map quote) |> String.concat ","
            let columns = [ 0 .. fields.Length ] |> List.map (sprintf "\"c%d\"") |> String.concat ","
            let f = format (sprintf """{"type":"csv","columns":[%s],"listDelimiter":"\u0002"}""" columns)
            let expected =
                fields |> List.map (fun s -> if s.Contains "\u0002" then Value.Array(s.Split('\u0002') |> Array.map Value.String) else Value.String s)
            match rows f [ line ] with
            | [ Row r ] -> (r.Values |> Array.toList) = Value.String "z" :: expected
            | _ -> false
    ]

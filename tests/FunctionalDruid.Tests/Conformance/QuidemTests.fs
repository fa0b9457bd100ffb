/// Tests of the quidem runner (parser, comparator, a fake server that must score 100%) and the
/// live measurement over the corpus, which prints the figures and asserts only that the corpus
/// parsed to the manifest's counts and that every case was judged.
module FunctionalDruid.Tests.Conformance.QuidemTests

open System
open System.IO
open System.Text
open System.Text.Json
open System.Text.RegularExpressions
open System.Threading.Tasks
open Expecto
open FunctionalDruid.Tests
open FunctionalDruid.Tests.Conformance.QuidemFile
open FunctionalDruid.Tests.Conformance.QuidemCompare
open FunctionalDruid.Tests.Conformance.QuidemCorpus
open FunctionalDruid.Tests.Conformance.QuidemRunner

/// The corpus size the issue names; the manifest must agree.
let private corpusPositive, corpusNegative = 3129, 527

let private timestampCell = Regex(@"^(\d{4})-(\d\d)-(\d\d) (\d\d:\d\d:\d\d)(\.\d{3})?$")

/// A server that answers each case with its own expectation, typed the way Druid's SQL API
/// would send it: numbers as JSON numbers, timestamps as ISO strings, booleans, NULL for empty
/// cells, rows reversed when the statement has no ORDER BY.
let fakeServer (case: QuidemCase) : Task<SqlResponse> =
    let body =
        match case.Expect with
        | ErrorContaining expected when expected = "QueryInterruptedException" ->
            { Status = 500; Body = """{"error":"Unknown exception","errorMessage":"the query failed while running","errorClass":"java.lang.RuntimeException"}""" }
        | ErrorContaining expected ->
            { Status = 400; Body = JsonSerializer.Serialize(dict [ "error", "druidException"; "errorCode", "invalidInput"; "errorMessage", "Problem: " + expected + " (fake)" ]) }
        | ResultTable table ->
            let columnCells (c: int) = table.Rows |> Array.map (fun r -> r.[c]) |> Array.filter (fun s -> s <> "")
            let typeOf (c: int) =
                let cells = columnCells c
                let all (p: string -> bool) = cells.Length > 0 && Array.forall p cells
                if table.Alignments.[c] <> LeftAligned && all (fun s -> Regex.IsMatch(s, @"^-?\d+$")) then "BIGINT"
                elif table.Alignments.[c] <> LeftAligned && all (fun s -> match parseNumber s with Some v -> Double.IsFinite v | None -> false) then "DOUBLE"
                elif all timestampCell.IsMatch then "TIMESTAMP"
                elif all (fun s -> s = "true" || s = "false") then "BOOLEAN"
                else "VARCHAR"
            let types = Array.init table.Columns.Length typeOf
            use buffer = new MemoryStream()
            (use w = new Utf8JsonWriter(buffer)
             w.WriteStartArray()
             w.WriteStartArray()
             for c in table.Columns do w.WriteStringValue c
             w.WriteEndArray()
             w.WriteStartArray()
             for t in types do w.WriteStringValue t
             w.WriteEndArray()
             let rows = if hasTopLevelOrderBy case.Sql then table.Rows else Array.rev table.Rows
             for row in rows do
                 w.WriteStartArray()
                 row |> Array.iteri (fun c cell ->
                     if cell = "" then w.WriteNullValue()
                     else
                         match types.[c] with
                         | "BIGINT" -> w.WriteRawValue cell
                         | "DOUBLE" -> w.WriteNumberValue((parseNumber cell).Value)
                         | "BOOLEAN" -> w.WriteBooleanValue((cell = "true"))
                         | "TIMESTAMP" ->
                             let m = timestampCell.Match cell
                             let millis = if m.Groups.[5].Success then m.Groups.[5].Value else ".000"
                             w.WriteStringValue(sprintf "%s-%s-%sT%s%sZ" m.Groups.[1].Value m.Groups.[2].Value m.Groups.[3].Value m.Groups.[4].Value millis)
                         | _ -> w.WriteStringValue cell)
                 w.WriteEndArray()
             w.WriteEndArray())
            { Status = 200; Body = Encoding.UTF8.GetString(buffer.ToArray()) }
    Task.FromResult body

let private element (json: string) = JsonDocument.Parse(json).RootElement.Clone()
let private table (text: string) =
    match parseTable (List.ofArray (text.Trim().Split('\n'))) with
    | Ok t -> t
    | Error e -> failtestf "table did not parse: %s" e
let private caseOf (sql: string) (expect: Expectation) = { File = "t.iq"; Line = 1; Sql = sql; Settings = []; Datasets = []; Expect = expect }
let private answer (rows: string) = parseArrayResult rows |> Result.defaultWith (fun e -> failtestf "%s" e)

[<Tests>]
let formatTests =
    testList "Conformance.quidem.format" [
        test "a result table: cells cut at the border, padding trimmed, alignment, NULL/'' empty" {
            let t = table "+-----+------+--------+-----+\n| cnt | dim1 | EXPR$2 | x   |\n+-----+------+--------+-----+\n|   1 |      | 1.0    | abc |\n|  12 | a b  |        |     |\n+-----+------+--------+-----+\n(2 rows)"
            Expect.equal t.Columns [| "cnt"; "dim1"; "EXPR$2"; "x" |] "columns"
            Expect.equal t.Rows [| [| "1"; ""; "1.0"; "abc" |]; [| "12"; "a b"; ""; "" |] |] "rows"
            Expect.equal t.Alignments [| RightAligned; LeftAligned; LeftAligned; Unknown |] "alignments"
        }
        test "a cell holding bars (STRING_AGG with '|') stays one cell" {
            let t = table "+-------+---+\n| col   | n |\n+-------+---+\n| a|b|c | 2 |\n+-------+---+\n(1 row)"
            Expect.equal t.Rows [| [| "a|b|c"; "2" |] |] "rows"
        }
        test "an empty result and malformed tables" {
            let t = table "+-----+\n| cnt |\n+-----+\n+-----+\n(0 rows)"
            Expect.equal (t.Columns, t.Rows.Length) ([| "cnt" |], 0) "empty"
            Expect.isError (parseTable [ "+---+"; "| a |"; "+---+"; "| 1 |"; "+---+"; "(2 rows)" ]) "footer count differs"
            Expect.isError (parseTable [ "+---+"; "| a |"; "+---+"; "| 12 |"; "+---+"; "(1 row)" ]) "row wider than the border"
        }
        test "a file: settings, datasets, comments, SQL comments, plans before and after tables, errors" {
            let text =
                String.Join("\n",
                    [ "!set useApproximateCountDistinct false"
                      "!use druidtest://?componentSupplier=StandardComponentSupplier&datasets=sql/src/test/quidem/qatests/qaAggFuncs&numMergeBuffers=3"
                      "!set outputformat mysql"
                      "# a comment"
                      "SELECT cnt -- why"
                      ""
                      "FROM foo;"
                      "+-----+"; "| cnt |"; "+-----+"; "|   1 |"; "+-----+"; "(1 row)"
                      ""
                      "!ok"
                      "{ \"queryType\" : \"scan\" }"
                      "!nativePlan"
                      "SELECT x FROM foo;"
                      "LogicalProject(x=[$0])"
                      "!druidPlan"
                      "+---+"; "| x |"; "+---+"; "+---+"; "(0 rows)"
                      "!ok"
                      "!set sqlCurrentTimestamp 2000-01-01T00:00:00Z"
                      "SELECT array_agg(x, 1) FROM foo;"
                      "is not supported"
                      "!error"
                      "" ])
            let parsed = parse "t.iq" text
            Expect.equal (parsed.Cases |> List.map (fun c -> c.Sql, c.Line))
                [ "SELECT cnt -- why\n\nFROM foo", 15; "SELECT x FROM foo", 26; "SELECT array_agg(x, 1) FROM foo", 30 ] "statements and lines"
            Expect.equal parsed.Cases.[0].Datasets [ "sql/src/test/quidem/qatests/qaAggFuncs" ] "datasets"
            Expect.equal parsed.Cases.[0].Settings [ "useApproximateCountDistinct", "false" ] "outputformat is not context"
            Expect.equal parsed.Cases.[2].Settings [ "useApproximateCountDistinct", "false"; "sqlCurrentTimestamp", "2000-01-01T00:00:00Z" ] "later settings"
            Expect.equal parsed.Cases.[2].Expect (ErrorContaining "is not supported") "error text"
            Expect.equal parsed.OtherDirectives (Map.ofList [ "!use", 1; "!set", 3; "!nativePlan", 1; "!druidPlan", 1 ]) "directive counts"
            match parsed.Cases.[1].Expect with
            | ResultTable t -> Expect.equal (t.Columns, t.Rows.Length) ([| "x" |], 0) "table after a plan belongs to the plan's statement"
            | other -> failtestf "expected a table, got %A" other
            Expect.throws (fun () -> parse "bad.iq" "!ok\n" |> ignore) "!ok without a statement"
        }
        test "!use URLs name their dataset folders" {
            Expect.equal (datasetsOfUse "druidtest:///") [] "classic only"
            Expect.equal (datasetsOfUse "druidtest://?numMergeBuffers=3") [] "merge buffers"
            Expect.equal (datasetsOfUse "druidtest://?componentSupplier=X&datasets=a/b&numMergeBuffers=3") [ "a/b" ] "folder"
        }
        test "the final ORDER BY's items" {
            Expect.equal (topLevelOrderBy "SELECT a, b FROM t ORDER BY 1 DESC, b NULLS LAST LIMIT 3") (Some [ "1"; "b" ]) "ordinal and name"
            Expect.equal (topLevelOrderBy "SELECT x FROM t ORDER BY f(a, b) ASC") (Some [ "f(a, b)" ]) "expression"
            Expect.equal (topLevelOrderBy "SELECT x FROM (SELECT x FROM t ORDER BY x) OFFSET 1") None "inner only"
        }
        test "row order counts only under a top-level ORDER BY" {
            Expect.isTrue (hasTopLevelOrderBy "SELECT a FROM t ORDER BY a") "top level"
            Expect.isTrue (hasTopLevelOrderBy "SELECT a FROM (SELECT a FROM t) order\n  by 1 LIMIT 2") "after a subquery"
            Expect.isFalse (hasTopLevelOrderBy "SELECT a FROM (SELECT a FROM t ORDER BY a LIMIT 3)") "inside a subquery"
            Expect.isFalse (hasTopLevelOrderBy "SELECT ROW_NUMBER() OVER (ORDER BY a) FROM t") "window"
            Expect.isFalse (hasTopLevelOrderBy "SELECT 'order by' AS \"order by\" FROM t -- order by\n") "literals and comments"
        }
        test "identifiers: bare and quoted, upper-cased, not inside literals" {
            Expect.equal (identifiersOf "select count(1) from \"rollup-tutorial\" where x = 'foo'") (set [ "SELECT"; "COUNT"; "FROM"; "ROLLUP-TUTORIAL"; "WHERE"; "X" ]) "ids"
        }
    ]

[<Tests>]
let compareTests =
    let matches (sqlType: string) (json: string) (expected: string) = cellMatches sqlType (element json) expected
    testList "Conformance.quidem.compare" [
        test "TIMESTAMP ARRAY elements print as Calcite's timestamps without a zero fraction" {
            Expect.isTrue (matches "TIMESTAMP ARRAY" "[1577840461000, 1580518861000]" "[2020-01-01 01:01:01, 2020-02-01 01:01:01]") "whole seconds"
            Expect.isTrue (matches "TIMESTAMP ARRAY" "\"[1577840461500]\"" "[2020-01-01 01:01:01.5]") "stringified, with millis"
            Expect.isFalse (matches "BIGINT ARRAY" "[1577840461000]" "[2020-01-01 01:01:01]") "only for timestamps"
        }
        test "Java's Double.toString and Float.toString" {
            let doubles = [ 1.0, "1.0"; 12.0, "12.0"; 0.1, "0.1"; 111.1111111, "111.1111111"; 1e7, "1.0E7"; 9999999.0, "9999999.0"
                            1234567.5, "1234567.5"; 0.001, "0.001"; 0.0001, "1.0E-4"; 1.5e-5, "1.5E-5"; -2.5, "-2.5"; 1e21, "1.0E21"
                            123456789012.0, "1.23456789012E11"; 0.0, "0.0"; -0.0, "-0.0"; 0.30000000000000004, "0.30000000000000004" ]
            for value, text in doubles do Expect.equal (javaDouble value) text (sprintf "double %g" value)
            Expect.equal (javaFloat 0.1f) "0.1" "float 0.1"
            Expect.equal (javaFloat 1.1f) "1.1" "float 1.1"
            Expect.equal (javaFloat 3.4028235e38f) "3.4028235E38" "float max"
            Expect.equal (javaDouble (float 0.1f)) "0.10000000149011612" "float widened"
        }
        test "NULL and '' print empty; numbers match by value; floats widened to double match their float text" {
            Expect.isTrue (matches "" "null" "") "null"
            Expect.isTrue (matches "VARCHAR" "\"\"" "") "empty string"
            Expect.isTrue (matches "DOUBLE" "1" "1.0") "1 vs 1.0"
            Expect.isTrue (matches "" "10000000.0" "1.0E7") "scientific"
            Expect.isTrue (matches "FLOAT" "0.10000000149011612" "0.1") "widened float"
            Expect.isFalse (matches "DOUBLE" "0.1000001" "0.1") "a different double"
            Expect.isTrue (matches "BIGINT" "9223372036854775807" "9223372036854775807") "long max"
            Expect.isFalse (matches "BIGINT" "9007199254740993" "9007199254740992") "large integers compare exactly"
            Expect.isFalse (matches "" "1" "") "a number is not NULL"
            Expect.isFalse (matches "" "null" "0") "NULL is not 0"
            Expect.isTrue (matches "" "\"NaN\"" "NaN") "NaN as a string"
        }
        test "timestamps, booleans, strings, arrays and complex values" {
            Expect.isTrue (matches "TIMESTAMP" "\"2000-01-01T00:00:00.000Z\"" "2000-01-01 00:00:00.000") "iso"
            Expect.isTrue (matches "TIMESTAMP" "\"2015-09-12T00:00:00.000Z\"" "2015-09-12 00:00:00") "without millis"
            Expect.isFalse (matches "TIMESTAMP" "\"1970-01-01T00:00:00.002Z\"" "1970-01-01 00:00:00") "millis cannot be dropped"
            Expect.isTrue (matches "TIMESTAMP" "946684800000" "2000-01-01 00:00:00.000") "epoch millis"
            Expect.isTrue (matches "TIMESTAMP" "\"0000-01-01T00:00:00.000Z\"" "0000-01-01 00:00:00.000") "year 0"
            Expect.isTrue (matches "BOOLEAN" "true" "true") "true"
            Expect.isTrue (matches "BOOLEAN" "0" "false") "boolean as a number"
            Expect.isTrue (matches "VARCHAR" "\"a b\"" "a b") "inner spaces"
            Expect.isFalse (matches "VARCHAR" "\"abc\"" "abd") "different strings"
            Expect.isTrue (matches "BIGINT ARRAY" "[1,0,null]" "[1, 0, null]") "Calcite array"
            Expect.isTrue (matches "DOUBLE ARRAY" "[0.1,2,null]" "[0.1, 2.0, null]") "double array elements"
            Expect.isTrue (matches "VARCHAR ARRAY" "\"[\\\"S1\\\",null]\"" "[S1, null]") "stringified array"
            Expect.isTrue (matches "VARCHAR" "[\"a\",\"b\"]" "[\"a\",\"b\"]") "multi-value as JSON"
            Expect.isTrue (matches "VARCHAR" "[\"d\"]" "d") "a single multi-value prints bare"
            Expect.isTrue (matches "VARCHAR" "[]" "") "an empty multi-value prints empty"
            Expect.isFalse (matches "VARCHAR ARRAY" "[]" "") "an empty ARRAY prints []"
            Expect.isTrue (matches "COMPLEX<hyperUnique>" "\"AQAAAEAAAA==\"" "\"AQAAAEAAAA==\"") "complex values print quoted"
            Expect.isTrue (matches "COMPLEX<json>" "[[1,2],[]]" "[[1,2],[]]") "nested JSON"
        }
        test "tables: multiset unless ORDER BY, then order; counts, names" {
            let expected = table "+---+-----+\n| a | b   |\n+---+-----+\n| 1 | x   |\n| 2 |     |\n+---+-----+\n(2 rows)"
            let shuffled = answer """[["a","b"],["BIGINT","VARCHAR"],[2,null],[1,"x"]]"""
            Expect.isNone (compareTable expected AnyOrder shuffled) "any order"
            Expect.equal ((compareTable expected (SortedBy [ "a" ]) shuffled).Value.Category) "wrong result: row order" "ordered"
            Expect.equal ((compareTable expected (SortedBy [ "length(b)" ]) shuffled).Value.Category) "wrong result: row order" "unknown keys: exact order"
            let ties = table "+---+---+\n| k | v |\n+---+---+\n| 1 | x |\n| 1 | y |\n| 2 | z |\n+---+---+\n(3 rows)"
            let tiesSwapped = answer """[["k","v"],[1,"y"],[1,"x"],[2,"z"]]"""
            Expect.isNone (compareTable ties (SortedBy [ "1" ]) tiesSwapped) "ties on the sort key may swap"
            Expect.isNone (compareTable ties (SortedBy [ "K" ]) tiesSwapped) "sort key by name"
            Expect.isSome (compareTable ties (SortedBy [ "k"; "v" ]) tiesSwapped) "no tie on both keys"
            Expect.equal ((compareTable expected AnyOrder (answer """[["a","b"],[1,"x"]]""")).Value.Category) "wrong result: row count" "count"
            Expect.equal ((compareTable expected AnyOrder (answer """[["a","b"],[1,"x"],[2,"y"]]""")).Value.Category) "wrong result: values" "values"
            Expect.equal ((compareTable expected AnyOrder (answer """[["a","c"],[1,"x"],[2,null]]""")).Value.Category) "wrong result: column names" "names"
            Expect.equal ((compareTable expected AnyOrder (answer """[["a"],[1],[2]]""")).Value.Category) "wrong result: column count" "width"
            Expect.equal (answer """[["a"],["S1"]]""").Rows.Length 1 "a data row of strings is not taken for types"
            let both = answer """[["a","b"],["LONG","STRING"],["BIGINT","VARCHAR"],[1,"x"]]"""
            Expect.equal (both.Types, both.Rows.Length) (Some [| "BIGINT"; "VARCHAR" |], 1) "Druid and SQL type rows"
            Expect.equal (answer """[["a"],["LONG"],[1]]""").Types (Some [| "BIGINT" |]) "a Druid type row alone"
        }
        test "negative cases: the text inside the error, class names, missing endpoint" {
            let druidError message = JsonSerializer.Serialize(dict [ "error", "druidException"; "errorMessage", message ])
            Expect.isTrue (errorMatches 400 (druidError "Cannot apply '=' to arguments of type '<BIGINT ARRAY> = <COMPLEX<JSON>>'") "Cannot apply '=' to arguments of type '<BIGINT ARRAY> = <COMPLEX<JSON>>'") "escaped characters"
            Expect.isFalse (errorMatches 400 (druidError "This is Not Supported") "not support") "case-sensitive"
            Expect.isTrue (errorMatches 500 (druidError "boom") "QueryInterruptedException") "run-time failure"
            Expect.isFalse (errorMatches 400 (druidError "bad syntax") "QueryInterruptedException") "planning failure"
            Expect.isFalse (errorMatches 404 "" "DruidException") "missing endpoint"
            let negative = caseOf "SELECT 1" (ErrorContaining "size")
            Expect.equal (judge negative { Status = 404; Body = "" }).Reason "SQL endpoint HTTP 404" "404 for a negative case"
            Expect.equal (judge negative { Status = 200; Body = """[["x"],[1]]""" }).Reason "negative: query succeeded" "rows instead of an error"
            Expect.equal (judge (caseOf "SELECT 1" (ErrorContaining "x")) { Status = 0; Body = "no answer within 60 s" }).Reason "no answer: no answer within 60 s" "timeout"
        }
        test "error messages group without positions" {
            Expect.equal (normalizeMessage "Unknown function 'FOO' (line [1], column [8])\nmore") "Unknown function 'FOO'" "positions"
        }
        test "request body: array rows, headers, settings as typed context, timeout" {
            let case = { caseOf "SELECT 1" (ErrorContaining "x") with Settings = [ "useApproximateCountDistinct", "false"; "inSubQueryThreshold", "0"; "sqlCurrentTimestamp", "2000-01-01T00:00:00Z" ] }
            Expect.equal (requestBody case)
                """{"query":"SELECT 1","resultFormat":"array","header":true,"sqlTypesHeader":true,"context":{"useApproximateCountDistinct":false,"inSubQueryThreshold":0,"sqlCurrentTimestamp":"2000-01-01T00:00:00Z","timeout":20000}}"""
                "body"
        }
    ]

let private corpus = lazy (
    let manifest = readManifest ()
    manifest, parseAll manifest)

let private allCases () = (snd corpus.Value) |> List.collect (fun f -> f.Cases) |> Array.ofList

[<Tests>]
let corpusTests =
    testList "Conformance.quidem.corpus" [
        test "the parser finds the manifest's cases and directives in every file" {
            let manifest, files = corpus.Value
            Expect.equal (manifest.TotalPositive, manifest.TotalNegative) (corpusPositive, corpusNegative) "manifest totals"
            Expect.equal files.Length 128 "files"
            for entry, file in List.zip manifest.Entries files do
                let positive = file.Cases |> List.filter (fun c -> c.Expect.IsResultTable) |> List.length
                Expect.equal (positive, file.Cases.Length - positive) (entry.Positive, entry.Negative) (entry.File + ": !ok / !error")
                Expect.equal (file.OtherDirectives |> Map.remove "!set") entry.OtherDirectives (entry.File + ": other directives")
                Expect.equal (file.OtherDirectives |> Map.tryFind "!set" |> Option.defaultValue 0) entry.SetLines (entry.File + ": !set lines")
            let cases = allCases ()
            Expect.equal (cases |> Array.filter (fun c -> c.Expect.IsResultTable) |> Array.length) corpusPositive "positive cases"
            Expect.equal (cases |> Array.filter (fun c -> c.Expect.IsErrorContaining) |> Array.length) corpusNegative "negative cases"
        }
        test "every dataset folder a file uses is in the corpus, and specs point at existing files" {
            for folder in allCases () |> Array.collect (fun c -> Array.ofList c.Datasets) |> Array.distinct do
                match folderTables folder with
                | None -> failtestf "folder %s has no specs" folder
                | Some tables -> for t in tables do Expect.isOk t.Spec (t.Source + " resolves")
            for t in classicTables () do Expect.isOk t.Spec (t.Source + " resolves")
            Expect.equal (classicTables () |> List.map (fun t -> t.Table))
                [ "broadcast"; "foo"; "foo2"; "foo4"; "forbiddenDatasource"; "lotsocolumns"; "numfoo"; "some_datasource"; "somexdatasource"; "visits" ] "classic tables"
        }
        test "the two test_unnest flavours get separate servers; everything else shares one" {
            let plans = QuidemLive.planServers (allCases ())
            Expect.equal plans.Length 2 "servers"
            Expect.equal plans.[1].FolderSets [ [ "sql/src/test/quidem/qatests/qaUnnest/mv" ] ] "second server"
        }
        test "a fake server answering each case's expectation scores 100%, a missing endpoint 0%" {
            let cases = allCases ()
            let outcomes = runCases 4 (fun _ -> fakeServer) (fun _ -> None) cases
            let failures = outcomes |> Array.filter (fun o -> not o.Passed)
            let show = failures |> Array.truncate 5 |> Array.map (fun o -> sprintf "%s:%d [%s] %s" o.Case.File o.Case.Line o.Reason o.Detail)
            Expect.equal failures.Length 0 (String.Join("\n", show))
            let missing = runCases 4 (fun _ _ -> Task.FromResult { Status = 404; Body = "" }) (fun _ -> None) cases
            Expect.equal (totalLines corpusPositive corpusNegative 3 missing)
                [ "quidem: 0/3129 positive, 0/527 negative passed"; "quidem top failure reasons (cases):"; "   3656  SQL endpoint HTTP 404" ] "all fail"
        }
    ]

/// The measurement: loads the datasets into real servers, runs every case over HTTP and prints
/// the figures. It fails only if the corpus no longer parses to its counts or a case was not judged.
/// QUIDEM_ONLY=<text> runs only the files whose path contains the text.
[<Tests>]
let conformanceRun =
    testSequenced <| testList "Conformance.quidem" [
        test "run" {
            let only = Environment.GetEnvironmentVariable "QUIDEM_ONLY"
            let cases = allCases () |> Array.filter (fun c -> String.IsNullOrEmpty only || c.File.Contains only)
            let watch = Diagnostics.Stopwatch.StartNew()
            let live = QuidemLive.run cases
            let reportPath = Path.Combine(TestData.tempDir "quidem", "failures.txt")
            File.WriteAllText(reportPath, failureReport live.Outcomes)
            let fileLines =
                live.Outcomes |> Array.groupBy (fun o -> o.Case.File) |> Array.map (fun (file, os) -> fileLine file os)
            let features = featureHistogram (cases |> Seq.filter (fun c -> c.Expect.IsResultTable) |> Seq.map (fun c -> c.Sql)) |> List.truncate 40
            let lines =
                [ yield! live.LoadReport
                  yield! fileLines
                  yield! totalLines corpusPositive corpusNegative 15 live.Outcomes
                  yield sprintf "quidem features (positive cases using them): %s"
                            (String.Join(", ", features |> List.map (fun (f, n) -> sprintf "%s %d" f n)))
                  yield sprintf "quidem: %d cases in %.1f s; every failure with its statement: %s" live.Outcomes.Length watch.Elapsed.TotalSeconds reportPath ]
            printfn "\n%s\n" (String.Join("\n", lines))
            Expect.equal live.Outcomes.Length cases.Length "every case judged"
            if String.IsNullOrEmpty only then Expect.equal live.Outcomes.Length (corpusPositive + corpusNegative) "the whole corpus ran"
        }
    ]

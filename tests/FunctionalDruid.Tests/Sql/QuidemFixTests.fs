/// Exact-value tests for the behaviours the quidem conformance corpus pinned down.
module FunctionalDruid.Tests.Sql.QuidemFixTests

open System
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Core.Query
open FunctionalDruid.Sql
open FunctionalDruid.Tests.Sql.SqlEngineTests

let private L (x: int64) = Value.Long x
let private S (x: string) = Value.String x
let private N = Value.Null

let private native = optionsFor wikiRows SqlEngine.defaultSupports
let private inMemory = optionsFor wikiRows (fun _ -> false)

let private rows (options: SqlEngine.Options) (sql: string) = (run options sql []).Rows |> List.map List.ofArray

let private bothGive (sql: string) (expected: Value list list) =
    Expect.equal (rows native sql) expected ("native: " + sql)
    Expect.equal (rows inMemory sql) expected ("in memory: " + sql)

let private errorOf (f: unit -> 'a) : string =
    try
        f () |> ignore
        "no error"
    with SqlException(_, message) -> message

/// Tables shaped like the corpus's foo and foo2: m1 FLOAT vs BIGINT, dim3 VARCHAR vs BIGINT.
let private unionCatalog =
    StaticCatalog
        [ "foo", [ "__time", ColumnType.Long; "dim1", ColumnType.String; "dim2", ColumnType.String; "dim3", ColumnType.String; "m1", ColumnType.Float ]
          "foo2", [ "__time", ColumnType.Long; "dim1", ColumnType.String; "dim2", ColumnType.String; "dim3", ColumnType.Long; "m1", ColumnType.Long ] ]

let private plannerError (sql: string) =
    match Parser.parse sql with
    | Ok(Ast.QueryStatement q) -> errorOf (fun () -> PlannerRules.check unionCatalog q)
    | other -> failwithf "parse: %A" other

/// Table `t` with one ARRAY<LONG> column `arr`: [1, null], [1, 2], null.
let private arrayOptions (supports: NativeQuery -> bool) : SqlEngine.Options =
    let arr = ColumnData.LongArrays { Offsets = [| 0; 2; 4; 4 |]; Values = [| 1L; 0L; 1L; 2L |]; ElementNulls = Some [| false; true; false; false |]; RowNulls = Some [| false; false; true |] }
    let content: SegmentContent = { Interval = { Start = 0L; End = 10L }; Times = [| 1L; 2L; 3L |]; Dimensions = [ "arr", arr ]; Metrics = []; Metadata = "{}" }
    SingleSliceOptions.optionsOver "t" [ "__time", ColumnType.Long; "arr", ColumnType.Array ColumnType.Long ] content supports 0L

[<Tests>]
let quidemFixTests =
    testList "Sql.QuidemFixes" [
        test "sqlCurrentTimestamp freezes CURRENT_TIMESTAMP" {
            let request: SqlEngine.Request = { Sql = "SELECT CURRENT_TIMESTAMP, CURRENT_TIMESTAMP - INTERVAL '2' DAY"; Parameters = [||]; Context = [ "sqlCurrentTimestamp", "2000-01-01T00:00:00Z" ] }
            Expect.equal (SqlEngine.execute inMemory request).Rows [ [| L 946684800000L; L 946512000000L |] ] "frozen clock"
        }
        test "EXPR$n counts the distinct names before the column, as Calcite's alias set does" {
            let r = run inMemory "SELECT channel AS x, page AS x, UPPER(\"user\") FROM wikipedia LIMIT 1" []
            Expect.equal (r.Columns |> List.map fst) [ "x"; "x"; "EXPR$1" ] "names"
            Expect.equal (SqlRewrite.outputNames [ Ast.Expr.Column(None, "a"), None; Ast.Expr.Literal(Ast.Literal.Number "1"), None; Ast.Expr.Column(None, "a"), None; Ast.Expr.Literal(Ast.Literal.Number "2"), None ])
                [ "a"; "EXPR$1"; "a"; "EXPR$2" ] "duplicates count once"
        }
        test "SUM(CASE WHEN c THEN x ELSE 0 END) is 0 over rows that do not match and null over no rows" {
            bothGive "SELECT SUM(CASE WHEN channel = 'nope' THEN added ELSE 0 END) FROM wikipedia" [ [ L 0L ] ]
            bothGive "SELECT SUM(CASE WHEN channel = 'nope' THEN added ELSE 0 END) FROM wikipedia WHERE page = 'nope'" [ [ N ] ]
            bothGive "SELECT SUM(CASE WHEN channel = '#de.wikipedia' THEN added END), SUM(CASE WHEN channel = 'nope' THEN added END) FROM wikipedia" [ [ L 5L; N ] ]
        }
        test "UNNEST of MV_TO_ARRAY over a null string row gives one null row" {
            Expect.equal (rows inMemory "SELECT channel, p FROM wikipedia, UNNEST(MV_TO_ARRAY(page)) AS u(p) WHERE channel = '#fr.wikipedia' OR page = 'Haupt'")
                [ [ S "#de.wikipedia"; S "Haupt" ]; [ S "#fr.wikipedia"; N ] ] "null row kept"
        }
        test "UNNEST of a non-array is refused with Calcite's operand message" {
            let message = errorOf (fun () -> run inMemory "SELECT p FROM wikipedia, UNNEST(page) AS u(p)" [])
            Expect.stringStarts message "Cannot apply 'UNNEST' to arguments of type 'UNNEST(<VARCHAR>)'. Supported form(s): 'UNNEST(<MULTISET>)'" "varchar"
            let message = errorOf (fun () -> run inMemory "SELECT p FROM wikipedia, UNNEST(added) AS u(p)" [])
            Expect.stringStarts message "Cannot apply 'UNNEST' to arguments of type 'UNNEST(<BIGINT>)'" "bigint"
        }
        test "a UNION ALL datasource refuses filtered arms, renamed columns and clashing types" {
            Expect.equal (plannerError "SELECT dim1, SUM(m1), COUNT(*) FROM (SELECT dim1, m1 FROM foo2 WHERE dim1 = '1' UNION ALL SELECT dim1, m1 FROM foo) GROUP BY 1")
                "Query could not be planned. A possible reason is [SQL requires union between inputs that are not simple table scans and involve a filter or aliasing.]" "filter"
            Expect.equal (plannerError "SELECT c, COUNT(*) FROM (SELECT dim1 AS c, m1 FROM foo UNION ALL SELECT dim2 AS c, m1 FROM foo2) WHERE c = 'a' GROUP BY 1")
                "Query could not be planned. A possible reason is [SQL requires union between two tables and column names queried for each table are different Left: [dim1, m1], Right: [dim2, m1].]" "names"
            Expect.equal (plannerError "SELECT dim1, SUM(m1), MAX(dim3), COUNT(*) FROM (SELECT dim1, m1, dim3 FROM foo UNION ALL SELECT dim1, m1, dim3 FROM foo2) GROUP BY 1")
                "Query could not be planned. A possible reason is [SQL requires union between inputs that are not simple table scans and involve a filter or aliasing.]" "types"
            Expect.equal (plannerError "SELECT dim2, SUM(m1), COUNT(*) FROM (SELECT * FROM foo UNION ALL SELECT * FROM foo2) WHERE dim2 = 'a' GROUP BY 1") "no error" "numbers widen, unused columns may clash"
            Expect.equal (plannerError "SELECT c FROM (SELECT UPPER(dim1) c FROM foo UNION ALL SELECT UPPER(dim1) c FROM foo2)") "no error" "a pass-through outer query leaves a top-level union"
        }
        test "a UNION ALL datasource over joined or unnested arms fails planning as Druid's does" {
            Expect.equal (plannerError "SELECT COUNT(*) FROM (SELECT * FROM foo, UNNEST(ARRAY[1]) AS u(c) UNION ALL SELECT * FROM foo, UNNEST(ARRAY[1]) AS u(c))")
                "Unhandled Query Planning Failure, see broker logs for details" "unnest arms"
            Expect.equal (plannerError "SELECT * FROM (SELECT * FROM foo, UNNEST(ARRAY[1]) AS u(c) UNION ALL SELECT * FROM foo, UNNEST(ARRAY[1]) AS u(c))") "no error" "top-level union"
        }
        test "time functions refuse numeric operands with Calcite's message" {
            Expect.equal (errorOf (fun () -> run inMemory "SELECT TIME_FLOOR(added, 'P1D') FROM wikipedia" []))
                "Cannot apply 'TIME_FLOOR' to arguments of type 'TIME_FLOOR(<BIGINT>, <CHAR(3)>)'" "time_floor"
            Expect.equal (errorOf (fun () -> run inMemory "SELECT TIMESTAMPDIFF(DAY, added, __time) FROM wikipedia" []))
                "Cannot apply 'TIMESTAMPDIFF' to arguments of type 'TIMESTAMPDIFF(<SYMBOL>, <BIGINT>, <TIMESTAMP>)'" "timestampdiff"
            Expect.stringStarts (errorOf (fun () -> run inMemory "SELECT FLOOR(delta TO DAY) FROM wikipedia" [])) "Cannot apply 'FLOOR' to arguments of type 'FLOOR(<DOUBLE>" "floor to"
            Expect.equal (rows inMemory "SELECT TIME_FLOOR(TIME_PARSE('2015-09-12T10:00:00Z'), 'P1D') FROM wikipedia LIMIT 1") [ [ L t0 ] ] "strings still cast"
        }
        test "JSON_VALUE reads the path `$.` as the root" {
            Expect.equal (rows inMemory "SELECT JSON_VALUE(added, '$.') FROM wikipedia LIMIT 1") [ [ S "10" ] ] "root"
            Expect.equal (ExprJson.parsePath "$.") (Ok [||]) "trailing dot"
            Expect.isError (ExprJson.parsePath "$..a") "an empty part inside stays an error"
        }
        test "an ARRAY value holding a null is not null: IS NULL in a subquery, exact COUNT(DISTINCT)" {
            let native, inMemory = arrayOptions SqlEngine.defaultSupports, arrayOptions (fun _ -> false)
            Expect.equal (rows inMemory "SELECT COUNT(*) FROM (SELECT * FROM t WHERE arr IS NULL)") [ [ L 1L ] ] "only the null row"
            let exact: SqlEngine.Request = { Sql = "SELECT COUNT(DISTINCT arr) FROM t"; Parameters = [||]; Context = [ "useApproximateCountDistinct", "false" ] }
            Expect.equal (SqlEngine.execute native exact).Rows [ [| L 2L |] ] "native exact distinct"
            Expect.equal (SqlEngine.execute inMemory exact).Rows [ [| L 2L |] ] "in-memory exact distinct"
        }
        test "HAVING reads a grouped ARRAY column as its dimension" {
            let sql = "SELECT arr AS c, COUNT(*) AS cnt FROM t GROUP BY arr HAVING arr = ARRAY[1, 2]"
            for options in [ arrayOptions SqlEngine.defaultSupports; arrayOptions (fun _ -> false) ] do
                Expect.equal (rows options sql) [ [ Value.Array [| L 1L; L 2L |]; L 1L ] ] sql
        }
        test "JSON_QUERY keeps booleans inside arrays as JSON text" {
            Expect.equal (rows inMemory "SELECT JSON_QUERY(PARSE_JSON('{\"a\":[true,null,1]}'), '$.a') FROM wikipedia LIMIT 1") [ [ S "[true,null,1]" ] ] "booleans"
            Expect.equal (rows inMemory "SELECT JSON_QUERY(PARSE_JSON('{\"a\":[2,null,1]}'), '$.a') FROM wikipedia LIMIT 1") [ [ Value.Array [| L 2L; N; L 1L |] ] ] "numbers stay an array"
        }
        test "JSON_OBJECT takes KEY k VALUE v pairs; JSON_PATHS of a scalar or null is the root" {
            Expect.equal (rows inMemory "SELECT JSON_OBJECT(KEY 'k' VALUE added, KEY 'c' VALUE channel) FROM wikipedia LIMIT 1") [ [ S "{\"k\":10,\"c\":\"#en.wikipedia\"}" ] ] "pairs"
            Expect.equal (rows inMemory "SELECT JSON_PATHS(added), JSON_PATHS(page) FROM wikipedia WHERE channel = '#fr.wikipedia'") [ [ Value.Array [| S "$" |]; Value.Array [| S "$" |] ] ] "root"
        }
        test "STRING_AGG refuses results over its max size with Druid's message" {
            let sql (limit: int) = sprintf "SELECT STRING_AGG(DISTINCT channel, '|', %d) FROM wikipedia" limit
            Expect.equal (rows inMemory (sql 59)) [ [ S "#en.wikipedia|#de.wikipedia|#fr.wikipedia" ] ] "fits"
            Expect.equal (errorOf (fun () -> run inMemory (sql 58) []))
                "Exceeded memory usage when aggregating type [ARRAY<STRING>], size [59] is larger than max [58]" "too big"
        }
        test "a sketch column reads as its serialized bytes in base64" {
            let empty = [| 1uy; 0uy; 0uy; 0uy; 64uy; 0uy; 0uy |]
            let content: SegmentContent =
                { Interval = { Start = 0L; End = 10L }; Times = [| 1L; 2L |]; Dimensions = []
                  Metrics = [ "u", ColumnData.Complex("hyperUnique", [| empty; null |]) ]; Metadata = "{}" }
            let slice: Engine.SegmentSlice = { Id = "s"; Content = content; Serves = content.Interval }
            let scan =
                { DataSource = DataSource.Table "t"; Intervals = [ Time.eternity ]; Filter = None; VirtualColumns = []
                  Kind = QueryKind.Scan { Columns = [ "u" ]; Limit = None; Offset = 0L; Compacted = true; Order = ScanOrder.NoOrder; BatchSize = 20480 }
                  Context = [] }
            Expect.equal (TableReader.read scan [ slice ]) [| [| S "AQAAAEAAAA==" |]; [| N |] |] "base64"
        }
        test "ingestion: an all-null auto column stays, an all-null string column goes, a string column of nested lists holds their Java text" {
            let spec = FunctionalDruid.Tests.Core.AutoColumnTests.specWith """[{"type":"auto","name":"s"},{"type":"string","name":"c"},{"type":"string","name":"m","multiValueHandling":"ARRAY"}]""" false ""
            let content, _ = FunctionalDruid.Tests.Core.AutoColumnTests.ingest spec [ """{"t":"2022-01-01","s":null,"c":null,"m":["1",["2"],["3",["4","5"]]]}""" ]
            Expect.equal (content.Dimensions |> List.map fst) [ "s"; "m" ] "kept columns"
            Expect.equal ((content.Dimensions |> List.find (fun (n, _) -> n = "m") |> snd).Cell 0) (Value.Array [| S "1"; S "[2]"; S "[3, [4, 5]]" |]) "stringified"
        }
        test "a string dimension stores nested list elements as Java prints them" {
            let tree = (Nested.tryParse """[null,"","1",["2"],["3",["4","5"]],{"a":1}]""").Value
            Expect.equal (Nested.stringDimensionValue tree) (Value.Array [| N; S ""; S "1"; S "[2]"; S "[3, [4, 5]]"; S "{a=1}" |]) "elements"
        }
    ]

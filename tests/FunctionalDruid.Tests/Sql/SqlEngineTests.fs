module FunctionalDruid.Tests.Sql.SqlEngineTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open FunctionalDruid.Core
open FunctionalDruid.Core.Query
open FunctionalDruid.Sql

// ---- an in-memory wikipedia-like datasource ------------------------------------------------------

type Row = { Time: int64; Channel: string; Page: string; User: string; Added: int64; Delta: float }

let hour = 3600000L
let t0 = (Time.tryParseInstant "2015-09-12T00:00:00Z").Value

/// Six wikipedia-like rows over two days, shared by the SQL test modules.
let wikiRows =
    [ { Time = t0; Channel = "#en.wikipedia"; Page = "Main"; User = "ann"; Added = 10L; Delta = 1.5 }
      { Time = t0 + 10L; Channel = "#de.wikipedia"; Page = "Haupt"; User = "bob"; Added = 5L; Delta = -2.0 }
      { Time = t0 + hour; Channel = "#en.wikipedia"; Page = "Corbyn"; User = "ann"; Added = 100L; Delta = 0.5 }
      { Time = t0 + hour + 5L; Channel = "#en.wikipedia"; Page = "Main"; User = "cid"; Added = 7L; Delta = 3.0 }
      { Time = t0 + 2L * hour; Channel = "#fr.wikipedia"; Page = null; User = "bob"; Added = 1L; Delta = 0.0 }
      { Time = t0 + 25L * hour; Channel = "#en.wikipedia"; Page = "Main"; User = "dan"; Added = 3L; Delta = 1.0 } ]

let private strings (values: string[]) =
    let dictionary = values |> Array.distinct
    ColumnData.Strings { Dictionary = dictionary; Ids = values |> Array.map (fun v -> Array.IndexOf(dictionary, v)); MultiIds = None; HasBitmapIndex = true }

let contentOf (rows: Row list) : SegmentContent =
    let rows = rows |> List.sortBy (fun r -> r.Time) |> Array.ofList
    { Interval = { Start = t0 - 24L * hour; End = t0 + 48L * hour }
      Times = rows |> Array.map (fun r -> r.Time)
      Dimensions =
        [ "channel", strings (rows |> Array.map (fun r -> r.Channel))
          "page", strings (rows |> Array.map (fun r -> r.Page))
          "user", strings (rows |> Array.map (fun r -> r.User)) ]
      Metrics = [ "added", ColumnData.Longs(rows |> Array.map (fun r -> r.Added), None); "delta", ColumnData.Doubles(rows |> Array.map (fun r -> r.Delta), None) ]
      Metadata = "{}" }

let wikiColumns =
    [ "__time", ColumnType.Long; "channel", ColumnType.String; "page", ColumnType.String; "user", ColumnType.String; "added", ColumnType.Long; "delta", ColumnType.Double ]

/// Engine options over one in-memory segment; `supports` decides native vs in-memory.
let optionsFor (rows: Row list) (supports: NativeQuery -> bool) : SqlEngine.Options =
    let content = contentOf rows
    SingleSliceOptions.optionsOver "wikipedia" wikiColumns content supports (t0 + 100L * hour)

let private native = optionsFor wikiRows SqlEngine.defaultSupports
let private inMemory = optionsFor wikiRows (fun _ -> false)

let run (options: SqlEngine.Options) (sql: string) (parameters: (Value * SqlType) list) =
    SqlEngine.execute options { Sql = sql; Parameters = Array.ofList parameters; Context = [] }

let private rowsOf (options: SqlEngine.Options) (sql: string) = (run options sql []).Rows |> List.map List.ofArray

let private L (x: int64) = Value.Long x
let private D (x: float) = Value.Double x
let private S (x: string) = Value.String x
let private N = Value.Null

let private kindOf (sql: string) =
    match SqlEngine.nativePlan native { Sql = sql; Parameters = [||]; Context = [] } with
    | Some q ->
        match q.Kind with
        | QueryKind.Timeseries _ -> "timeseries"
        | QueryKind.TopN _ -> "topN"
        | QueryKind.GroupBy _ -> "groupBy"
        | QueryKind.Scan _ -> "scan"
        | _ -> "other"
    | None -> "none"

/// Both paths (native where supported, in-memory always) give these rows.
let private expectRows (sql: string) (expected: Value list list) =
    Expect.equal (rowsOf native sql) expected ("native: " + sql)
    Expect.equal (rowsOf inMemory sql) expected ("in memory: " + sql)

[<Tests>]
let engineTests =
    testList "Sql.Engine" [
        test "GROUP BY () with a time filter: one row of totals (timeseries)" {
            let sql = "SELECT COUNT(*) AS \"Count\", SUM(\"added\") AS \"Added\" FROM \"wikipedia\" AS t WHERE (TIMESTAMP '2015-09-12 00:00:00'<=\"__time\" AND \"__time\"<TIMESTAMP '2015-09-13 00:00:00') GROUP BY ()"
            Expect.equal (kindOf sql) "timeseries" "plan"
            expectRows sql [ [ L 5L; L 123L ] ]
            let r = run native sql []
            Expect.equal r.Columns [ "Count", SqlType.Bigint; "Added", SqlType.Bigint ] "columns"
        }
        test "GROUP BY () over no rows still returns one row" {
            expectRows "SELECT COUNT(*), SUM(added) FROM wikipedia WHERE __time >= TIMESTAMP '2000-01-01' AND __time < TIMESTAMP '2000-01-02' GROUP BY ()" [ [ L 0L; N ] ]
        }
        test "hourly TIME_FLOOR with 4 arguments is a timeseries with skipped empty buckets" {
            let sql = "SELECT TIME_FLOOR(\"__time\", 'PT1H', NULL, 'Etc/UTC') AS \"t\", COUNT(*) AS \"Count\", SUM(\"added\") AS \"Added\" FROM \"wikipedia\" AS t WHERE (TIMESTAMP '2015-09-12 00:00:00'<=\"__time\" AND \"__time\"<TIMESTAMP '2015-09-13 00:00:00') GROUP BY 1 ORDER BY \"t\" ASC"
            Expect.equal (kindOf sql) "timeseries" "plan"
            expectRows sql [ [ L t0; L 2L; L 15L ]; [ L(t0 + hour); L 2L; L 107L ]; [ L(t0 + 2L * hour); L 1L; L 1L ] ]
        }
        test "2-argument TIME_FLOOR with date-only literals, ordinal ORDER BY DESC" {
            expectRows "SELECT TIME_FLOOR(\"__time\", 'P1D') AS \"t\", COUNT(*) FROM \"wikipedia\" WHERE \"__time\" >= TIMESTAMP '2015-09-12' AND \"__time\" < TIMESTAMP '2015-09-14' GROUP BY 1 ORDER BY 1 DESC"
                [ [ L(t0 + 24L * hour); L 1L ]; [ L t0; L 5L ] ]
        }
        test "page/user groupBy with HAVING on an alias (literal left), ORDER BY the alias, LIMIT" {
            let sql = "SELECT \"page\" AS \"page\", \"user\" AS \"user\", COUNT(*) AS \"Count\", SUM(\"added\") AS \"Added\" FROM \"wikipedia\" AS t WHERE ((TIMESTAMP '2015-09-12 00:00:00'<=\"__time\" AND \"__time\"<TIMESTAMP '2015-09-13 00:00:00') AND (\"channel\"='#en.wikipedia')) GROUP BY 1,2 HAVING 8<\"Added\" ORDER BY \"Added\" DESC LIMIT 10"
            Expect.equal (kindOf sql) "groupBy" "plan"
            expectRows sql [ [ S "Corbyn"; S "ann"; L 1L; L 100L ]; [ S "Main"; S "ann"; L 1L; L 10L ] ]
        }
        test "one dimension ordered by a metric with a limit plans as topN" {
            let sql = "SELECT channel, SUM(added) AS s FROM wikipedia GROUP BY channel ORDER BY s DESC LIMIT 2"
            Expect.equal (kindOf sql) "topN" "plan"
            expectRows sql [ [ S "#en.wikipedia"; L 120L ]; [ S "#de.wikipedia"; L 5L ] ]
        }
        test "COUNT(DISTINCT) is a cardinality aggregator by default, exact otherwise" {
            let sql = "SELECT COUNT(DISTINCT \"user\") AS \"__VALUE__\" FROM \"wikipedia\" AS t GROUP BY ()"
            expectRows sql [ [ L 4L ] ]
            let q = SqlEngine.nativePlan native { Sql = sql; Parameters = [||]; Context = [] }
            match q with
            | Some { Kind = QueryKind.Timeseries ts } -> Expect.isTrue (match ts.Aggregations with [ AggregatorSpec.Cardinality _ ] -> true | _ -> false) "cardinality"
            | other -> failtestf "plan %A" other
            let exactRequest: SqlEngine.Request = { Sql = sql; Parameters = [||]; Context = [ "useApproximateCountDistinct", "false" ] }
            Expect.equal (SqlEngine.execute native exactRequest).Rows [ [| L 4L |] ] "exact"
            match SqlEngine.nativePlan native exactRequest with
            | Some { DataSource = DataSource.Query inner; Kind = QueryKind.Timeseries outer } ->
                match inner.Kind with
                | QueryKind.GroupBy g -> Expect.equal (g.Dimensions |> List.map (fun d -> d.Dimension, d.OutputName)) [ "user", "d0" ] "inner groups by the counted column"
                | other -> failtestf "inner %A" other
                Expect.isTrue (match outer.Aggregations with [ AggregatorSpec.Filtered(_, _, AggregatorSpec.Count "a0") ] -> true | _ -> false) "outer counts non-null keys"
            | other -> failtestf "exact plan %A" other
            let grouped: SqlEngine.Request = { exactRequest with Sql = "SELECT channel, COUNT(DISTINCT \"user\") FROM wikipedia GROUP BY 1 ORDER BY 1" }
            Expect.equal (SqlEngine.execute native grouped).Rows [ [| S "#de.wikipedia"; L 1L |]; [| S "#en.wikipedia"; L 3L |]; [| S "#fr.wikipedia"; L 1L |] ] "exact per group"
        }
        test "scan with a time range and LIMIT; ORDER BY __time" {
            let sql = "SELECT \"__time\", \"channel\", \"page\", \"added\" FROM \"wikipedia\" AS t WHERE (TIMESTAMP '2015-09-12 00:00:00'<=\"__time\" AND \"__time\"<TIMESTAMP '2015-09-12 01:00:00') LIMIT 5"
            Expect.equal (kindOf sql) "scan" "plan"
            expectRows sql [ [ L t0; S "#en.wikipedia"; S "Main"; L 10L ]; [ L(t0 + 10L); S "#de.wikipedia"; S "Haupt"; L 5L ] ]
            expectRows "SELECT __time, added FROM wikipedia ORDER BY __time DESC LIMIT 2" [ [ L(t0 + 25L * hour); L 3L ]; [ L(t0 + 2L * hour); L 1L ] ]
        }
        test "SELECT * LIMIT 0 keeps the columns" {
            let r = run native "SELECT *\nFROM \"wikipedia\"\nLIMIT 0" []
            Expect.equal r.Rows [] "no rows"
            Expect.equal (r.Columns |> List.map fst) [ "__time"; "channel"; "page"; "user"; "added"; "delta" ] "columns"
            Expect.equal (snd r.Columns.Head) SqlType.Timestamp "__time is a TIMESTAMP"
        }
        test "IN, CONTAINS_STRING on a CAST, expressions and CASE inside aggregates" {
            expectRows "SELECT COUNT(*) FROM wikipedia WHERE channel IN ('#en.wikipedia','#de.wikipedia') AND CONTAINS_STRING(CAST(page AS VARCHAR), 'a')" [ [ L 4L ] ]
            expectRows "SELECT SUM(CASE WHEN (channel='#en.wikipedia') THEN added ELSE 0 END), (SUM(added)*1.0/COUNT(*)) FROM wikipedia" [ [ L 120L; D 21.0 ] ]
            expectRows "SELECT TIME_EXTRACT(__time, 'HOUR', 'Etc/UTC') AS h, COUNT(*) FROM wikipedia GROUP BY 1 ORDER BY 1" [ [ L 0L; L 2L ]; [ L 1L; L 3L ]; [ L 2L; L 1L ] ]
        }
        test "Cube's DATE_TRUNC over TIME_FORMAT with VARCHAR parameters for the bounds" {
            let sql =
                "SELECT DATE_TRUNC('hour', CAST(TIME_FORMAT(\"wikipedia\".__time, 'yyyy-MM-dd HH:mm:ss', 'UTC') AS TIMESTAMP)) \"h\", count(\"wikipedia\".__time) \"c\", sum(\"wikipedia\".added) \"a\" FROM druid.wikipedia AS \"wikipedia\" WHERE (\"wikipedia\".__time >= TIME_PARSE(?) AND \"wikipedia\".__time <= TIME_PARSE(?)) GROUP BY 1 ORDER BY 1 ASC LIMIT 10000"
            let ps = [ S "2015-09-12T00:00:00.000Z", SqlType.Varchar; S "2015-09-12T23:59:59.999Z", SqlType.Varchar ]
            let expected = [ [| L t0; L 2L; L 15L |]; [| L(t0 + hour); L 2L; L 107L |]; [| L(t0 + 2L * hour); L 1L; L 1L |] ]
            Expect.equal (run native sql ps).Rows expected "native"
            Expect.equal (run inMemory sql ps).Rows expected "in memory"
        }
        test "VARCHAR parameters are coerced in numeric comparisons (Cube HAVING)" {
            let sql = "SELECT \"wikipedia\".page \"p\", sum(\"wikipedia\".added) \"a\" FROM druid.wikipedia AS \"wikipedia\" WHERE (\"wikipedia\".channel = ?) GROUP BY 1 HAVING (sum(\"wikipedia\".added) > ?) ORDER BY 2 DESC LIMIT 10"
            let r = run inMemory sql [ S "#en.wikipedia", SqlType.Varchar; S "15", SqlType.Varchar ]
            Expect.equal r.Rows [ [| S "Corbyn"; L 100L |]; [| S "Main"; L 20L |] ] "rows"
        }
        test "EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) and FLOOR" {
            expectRows "SELECT FLOOR((EXTRACT(EPOCH FROM CURRENT_TIMESTAMP)) / 10) as refresh_key" [ [ L((t0 + 100L * hour) / 1000L / 10L) ] ]
        }
        test "INFORMATION_SCHEMA.TABLES and COLUMNS as clients ask for them" {
            expectRows "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = 'druid' AND TABLE_TYPE = 'TABLE'" [ [ S "wikipedia" ] ]
            let r = run native "SELECT COLUMN_NAME as \"column_name\", TABLE_NAME as \"table_name\", TABLE_SCHEMA as \"table_schema\", DATA_TYPE as \"data_type\" FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA NOT IN ('INFORMATION_SCHEMA', 'sys')" []
            Expect.equal (r.Rows |> List.map (fun row -> row.[0], row.[3]))
                [ S "__time", S "TIMESTAMP"; S "channel", S "VARCHAR"; S "page", S "VARCHAR"; S "user", S "VARCHAR"; S "added", S "BIGINT"; S "delta", S "DOUBLE" ] "columns"
            let r = run native "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = ?" [ S "druid", SqlType.Varchar ]
            Expect.equal r.Rows [ [| S "wikipedia" |] ] "parameter"
        }
        test "lower-case information_schema is rejected as in Druid" {
            Expect.throwsC (fun () -> run native "SELECT * FROM information_schema.columns" [] |> ignore) (fun e ->
                match e with
                | SqlException(_, m) -> Expect.stringContains m "information_schema" "message"
                | other -> raise other)
        }
        test "subqueries, joins, UNION ALL, CTEs and window functions run in memory" {
            expectRows "SELECT c, n FROM (SELECT channel AS c, COUNT(*) AS n FROM wikipedia GROUP BY channel) t WHERE n > 1" [ [ S "#en.wikipedia"; L 4L ] ]
            expectRows "SELECT COUNT(*) FROM wikipedia WHERE channel IN (SELECT channel FROM wikipedia WHERE added > 50)" [ [ L 4L ] ]
            expectRows "WITH s AS (SELECT \"user\" AS u, SUM(added) AS a FROM wikipedia GROUP BY 1) SELECT a.u, b.a FROM s a INNER JOIN s b ON a.u = b.u WHERE a.a > 10 ORDER BY 1"
                [ [ S "ann"; L 110L ] ]
            expectRows "SELECT page FROM wikipedia WHERE added > 50 UNION ALL SELECT channel FROM wikipedia WHERE added < 2" [ [ S "Corbyn" ]; [ S "#fr.wikipedia" ] ]
            expectRows "SELECT \"user\", added, ROW_NUMBER() OVER (PARTITION BY \"user\" ORDER BY added DESC) AS rn, SUM(added) OVER (PARTITION BY \"user\") AS total FROM wikipedia WHERE \"user\" IN ('ann', 'bob') ORDER BY 1, 3"
                [ [ S "ann"; L 100L; L 1L; L 110L ]; [ S "ann"; L 10L; L 2L; L 110L ]; [ S "bob"; L 5L; L 1L; L 6L ]; [ S "bob"; L 1L; L 2L; L 6L ] ]
            expectRows "SELECT added, LAG(added) OVER (ORDER BY __time) FROM wikipedia WHERE channel = '#en.wikipedia' ORDER BY __time LIMIT 2" [ [ L 10L; N ]; [ L 100L; L 10L ] ]
        }
        test "GROUPING SETS, ROLLUP and DISTINCT" {
            expectRows "SELECT channel, COUNT(*) FROM wikipedia GROUP BY GROUPING SETS ((channel), ()) ORDER BY 2 DESC, 1 LIMIT 2" [ [ N; L 6L ]; [ S "#en.wikipedia"; L 4L ] ]
            expectRows "SELECT DISTINCT channel FROM wikipedia ORDER BY channel" [ [ S "#de.wikipedia" ]; [ S "#en.wikipedia" ]; [ S "#fr.wikipedia" ] ]
        }
        test "string and numeric functions" {
            expectRows "SELECT UPPER(page), LENGTH(page), SUBSTRING(page, 2, 2), POSITION('a' IN page), page || '!', LPAD(page, 6, '*'), ABS(delta), MOD(added, 3), COALESCE(page, 'none') FROM wikipedia WHERE added = 5"
                [ [ S "HAUPT"; L 5L; S "au"; L 2L; S "Haupt!"; S "*Haupt"; D 2.0; L 2L; S "Haupt" ] ]
            expectRows "SELECT COALESCE(page, 'none'), page IS NULL, added BETWEEN 1 AND 5 FROM wikipedia WHERE channel = '#fr.wikipedia'" [ [ S "none"; L 1L; L 1L ] ]
        }
        test "EXPLAIN PLAN FOR shows the native query" {
            let r = run native "EXPLAIN PLAN FOR SELECT COUNT(*) FROM wikipedia WHERE channel = '#en.wikipedia'" []
            Expect.equal (r.Columns |> List.map fst) [ "PLAN"; "RESOURCES"; "ATTRIBUTES" ] "columns"
            let plan = Value.toStringOrNull r.Rows.Head.[0]
            Expect.stringContains plan "\"queryType\":\"timeseries\"" "timeseries"
            Expect.stringContains plan "\"type\":\"equals\",\"column\":\"channel\"" "filter"
            Expect.equal r.Rows.Head.[1] (S "[{\"name\":\"wikipedia\",\"type\":\"DATASOURCE\"}]") "resources"
        }
        test "unknown columns and tables are invalid input with Druid's wording" {
            let fails (sql: string) (text: string) =
                Expect.throwsC (fun () -> run native sql [] |> ignore) (fun e ->
                    match e with
                    | SqlException(category, m) -> Expect.equal category "INVALID_INPUT" "category"; Expect.stringContains m text "message"
                    | other -> raise other)
            fails "SELECT nope FROM wikipedia" "Column 'nope' not found in any table"
            fails "SELECT * FROM nope" "Object 'nope' not found within 'druid'"
            fails "SELECT page, COUNT(*) FROM wikipedia GROUP BY channel" "Expression 'page' is not being grouped"
            fails "SELECT FOO(page) FROM wikipedia" "No match found for function signature FOO(<VARCHAR>)"
            Expect.throwsC (fun () -> run native "INSERT INTO x SELECT * FROM wikipedia PARTITIONED BY DAY" [] |> ignore) (fun e ->
                match e with
                | SqlException(category, m) -> Expect.equal category "UNSUPPORTED" "category"; Expect.stringStarts m "INSERT statements are not supported" "message"
                | other -> raise other)
        }
        test "in-memory reads push the WHERE into the scan and read only the named columns" {
            let seen = ResizeArray<NativeQuery>()
            let options = { inMemory with Run = (fun q -> seen.Add q; inMemory.Run q); ReadRows = None; ReadCounted = None }
            let r = run options "SELECT channel, SUM(added) FROM wikipedia WHERE channel = '#en.wikipedia' AND added > 5 GROUP BY channel" []
            Expect.equal r.Rows [ [| S "#en.wikipedia"; L 117L |] ] "rows"
            match List.ofSeq seen with
            | [ { Kind = QueryKind.Scan scan; Filter = Some filter } ] ->
                Expect.equal scan.Columns [ "channel"; "added" ] "pruned columns (no __time: no EARLIEST/LATEST)"
                Expect.equal filter
                    (Filter.And [ Filter.Equality("channel", "STRING", S "#en.wikipedia")
                                  Filter.Range { Column = "added"; MatchValueType = "LONG"; Lower = L 5L; Upper = N; LowerOpen = true; UpperOpen = false } ])
                    "pushed filter"
            | other -> failtestf "reads: %A" other
        }
        test "SELECT DISTINCT plans as a groupBy over the select expressions" {
            Expect.equal (kindOf "SELECT DISTINCT channel FROM wikipedia") "groupBy" "plan"
            Expect.equal (kindOf "SELECT channel, ROW_NUMBER() OVER (ORDER BY channel) FROM wikipedia") "none" "window functions run in memory"
        }
        test "multi-value strings: GROUP BY groups under each value, filters match any value" {
            let dictionary = [| "a"; "b"; "c" |]
            let content =
                { Interval = { Start = t0; End = t0 + hour }
                  Times = [| t0; t0 + 1L; t0 + 2L; t0 + 3L |]
                  Dimensions = [ "tags", ColumnData.Strings { Dictionary = dictionary; Ids = [||]; MultiIds = Some [| [| 0; 1 |]; [| 1; 2 |]; [||]; [| 0 |] |]; HasBitmapIndex = true } ]
                  Metrics = []
                  Metadata = "{}" }
            let slice: Engine.SegmentSlice = { Id = "mv"; Content = content; Serves = content.Interval }
            let options: SqlEngine.Options =
                { Catalog = StaticCatalog [ "mv", [ "__time", ColumnType.Long; "tags", ColumnType.String ] ]
                  Run = (fun q -> QueryExecution.execute QuerySlices.sequential (fun _ _ -> [ slice ]) q); Supports = SqlEngine.defaultSupports; Now = t0; ReadRows = None; ReadCounted = None }
            Expect.equal (rowsOf options "SELECT tags, COUNT(*) FROM mv GROUP BY tags ORDER BY 1") [ [ N; L 1L ]; [ S "a"; L 2L ]; [ S "b"; L 2L ]; [ S "c"; L 1L ] ] "groups"
            Expect.equal (rowsOf options "SELECT COUNT(*) FROM mv WHERE tags = 'b'") [ [ L 2L ] ] "native filter matches any value"
            Expect.equal (rowsOf (({ options with Supports = fun _ -> false }: SqlEngine.Options)) "SELECT COUNT(*) FROM mv WHERE tags = 'b'") [ [ L 2L ] ] "pushed filter on the in-memory path"
            Expect.equal (rowsOf options "SELECT tags FROM mv WHERE tags = 'c'") [ [ Value.Array [| S "b"; S "c" |] ] ] "whole value in the scan"
        }
        test "Druid's SQL corner cases: NOT IN with NULL, filtered-sum rewrite, union widening, MV_FILTER_*, window order" {
            expectRows "SELECT COUNT(*) FROM wikipedia WHERE added NOT IN (SELECT c FROM (VALUES (0), (CAST(NULL AS BIGINT))) AS t(c))" [ [ L 0L ] ]
            expectRows "SELECT SUM(CASE WHEN channel = 'none' THEN added ELSE 0 END), SUM(CASE WHEN channel = 'none' THEN 1 ELSE 0 END) FROM wikipedia" [ [ L 0L; L 0L ] ]
            let off = SqlEngine.execute native { Sql = "SELECT SUM(CASE WHEN channel = 'none' THEN added ELSE 0 END) FROM wikipedia"; Parameters = [||]; Context = [ "extendedFilteredSumRewrite", "false" ] }
            Expect.equal off.Rows [ [| L 0L |] ] "no rewrite when the context turns it off"
            let u = run native "SELECT x FROM (SELECT added AS x FROM wikipedia WHERE added = 1 UNION ALL SELECT delta AS x FROM wikipedia WHERE added = 5)" []
            Expect.equal u.Columns [ "x", SqlType.Double ] "BIGINT with DOUBLE widens to DOUBLE"
            Expect.equal u.Rows [ [| D 1.0 |]; [| D -2.0 |] ] "values as doubles"
            expectRows "SELECT MV_FILTER_PREFIX(STRING_TO_MV('apple,banana,apricot', ','), 'ap'), MV_FILTER_PREFIX('apple', 'a')" [ [ Value.Array [| S "apple"; S "apricot" |]; S "apple" ] ]
            expectRows "SELECT added, ROW_NUMBER() OVER (ORDER BY added) FROM wikipedia WHERE added < 8" [ [ L 1L; L 1L ]; [ L 3L; L 2L ]; [ L 5L; L 3L ]; [ L 7L; L 4L ] ]
        }
        test "sqlOuterLimit caps the rows" {
            let r = SqlEngine.execute native { Sql = "SELECT page FROM wikipedia"; Parameters = [||]; Context = [ "sqlOuterLimit", "2" ] }
            Expect.equal r.Rows.Length 2 "rows"
        }
    ]

// ---- generated queries against a naive oracle -----------------------------------------------------

type private GenQuery =
    { Rows: Row list
      GroupByChannel: bool
      MinAdded: int64 option
      Channel: string option }

let private genRow =
    gen {
        let! h = Gen.choose (0, 47)
        let! channel = Gen.elements [ "a"; "b"; "c" ]
        let! user = Gen.elements [ "u1"; "u2"; "u3"; "u4" ]
        let! added = Gen.choose (-5, 100)
        return { Time = t0 - 24L * hour + int64 h * hour; Channel = channel; Page = "p"; User = user; Added = int64 added; Delta = float added / 2.0 }
    }

let private genQuery =
    gen {
        let! rows = Gen.listOf genRow |> Gen.map (List.truncate 30)
        let! g = Gen.elements [ true; false ]
        let! m = Gen.optionOf (Gen.choose (0, 60) |> Gen.map int64)
        let! c = Gen.optionOf (Gen.elements [ "a"; "b"; "z" ])
        return { Rows = rows; GroupByChannel = g; MinAdded = m; Channel = c }
    }

type private QueryArb =
    static member Query() = Arb.fromGen genQuery

let private config = { FsCheckConfig.defaultConfig with maxTest = 150; arbitrary = [ typeof<QueryArb> ] }

let private sqlOf (q: GenQuery) =
    let conditions =
        [ match q.MinAdded with Some m -> sprintf "added >= %d" m | None -> ()
          match q.Channel with Some c -> sprintf "channel = '%s'" c | None -> () ]
    let where = if conditions.IsEmpty then "" else " WHERE " + String.Join(" AND ", conditions)
    if q.GroupByChannel then
        sprintf "SELECT channel, COUNT(*), SUM(added), MIN(added), MAX(delta), COUNT(DISTINCT \"user\") FROM wikipedia%s GROUP BY channel ORDER BY channel" where
    else sprintf "SELECT COUNT(*), SUM(added), MIN(added), MAX(delta), COUNT(DISTINCT \"user\") FROM wikipedia%s" where

let private oracle (q: GenQuery) : Value list list =
    let kept = q.Rows |> List.filter (fun r -> (match q.MinAdded with Some m -> r.Added >= m | None -> true) && (match q.Channel with Some c -> r.Channel = c | None -> true))
    let aggregates (rs: Row list) =
        if rs.IsEmpty then [ L 0L; N; N; N; L 0L ]
        else
            [ L(int64 rs.Length); L(rs |> List.sumBy (fun r -> r.Added)); L(rs |> List.map (fun r -> r.Added) |> List.min)
              D(rs |> List.map (fun r -> r.Delta) |> List.max); L(rs |> List.map (fun r -> r.User) |> List.distinct |> List.length |> int64) ]
    if q.GroupByChannel then
        kept |> List.groupBy (fun r -> r.Channel) |> List.sortBy fst |> List.map (fun (c, rs) -> S c :: aggregates rs)
    else [ aggregates kept ]

[<Tests>]
let oracleTests =
    testList "Sql.Oracle" [
        testPropertyWithConfig config "filters, aggregates and GROUP BY equal a List.groupBy oracle on both paths" <| fun (q: GenQuery) ->
            let sql = sqlOf q
            let expected = oracle q
            let nativeRows = (run (optionsFor q.Rows SqlEngine.defaultSupports) sql []).Rows |> List.map List.ofArray
            let memoryRows = (run (optionsFor q.Rows (fun _ -> false)) sql []).Rows |> List.map List.ofArray
            let throughScanRows = (run { optionsFor q.Rows (fun _ -> false) with ReadRows = None; ReadCounted = None } sql []).Rows |> List.map List.ofArray
            Expect.equal throughScanRows expected ("in memory, tables read through native scans: " + sql)
            Expect.equal nativeRows expected ("native plan: " + sql)
            Expect.equal memoryRows expected ("in memory: " + sql)
    ]

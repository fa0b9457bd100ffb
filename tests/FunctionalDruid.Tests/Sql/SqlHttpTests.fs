/// Druid SQL over HTTP against the real server: the client samples of CLIENT_CONTRACTS §3.2
/// that plan into timeseries and scan, result formats, headers, parameters and errors.
module FunctionalDruid.Tests.Sql.SqlHttpTests

open System.Net.Http
open System.Text
open Expecto
open FunctionalDruid.Tests.ServerHarness

let private data =
    System.Text.Json.JsonSerializer.Serialize(
        String.concat "\n"
            [ """{"ts":"2015-09-12T00:00:00.000Z","channel":"#en.wikipedia","page":"Main","user":"ann","added":10,"delta":1.5}"""
              """{"ts":"2015-09-12T00:00:00.010Z","channel":"#de.wikipedia","page":"Haupt","user":"bob","added":5,"delta":-2.0}"""
              """{"ts":"2015-09-12T01:00:00.000Z","channel":"#en.wikipedia","page":"Corbyn","user":"ann","added":100,"delta":0.5}"""
              """{"ts":"2015-09-12T01:00:00.005Z","channel":"#en.wikipedia","page":"Main","user":"cid","added":7,"delta":3.0}"""
              """{"ts":"2015-09-12T02:00:00.000Z","channel":"#fr.wikipedia","user":"bob","added":1,"delta":0.0}"""
              """{"ts":"2015-09-13T01:00:00.000Z","channel":"#en.wikipedia","page":"Main","user":"dan","added":3,"delta":1.0}""" ])

let private spec =
    sprintf """{"type":"index","spec":{"dataSchema":{"dataSource":"wikipedia","timestampSpec":{"column":"ts"},"dimensionsSpec":{"dimensions":["channel","page","user"]},
               "metricsSpec":[{"type":"longSum","name":"added","fieldName":"added"},{"type":"doubleSum","name":"delta","fieldName":"delta"}],
               "granularitySpec":{"segmentGranularity":"day","queryGranularity":"none","rollup":false}},
               "ioConfig":{"type":"index","inputSource":{"type":"inline","data":%s},"inputFormat":{"type":"json"}}}}""" data

/// POSTs a SQL request; returns status, body and the response headers that matter.
let private sql (r: Running) (path: string) (body: string) =
    use content = new StringContent(body, Encoding.UTF8, "application/json")
    use response = r.Client.PostAsync(path, content).Result
    let header (name: string) =
        match response.Headers.TryGetValues name with
        | true, values -> Some(Seq.head values)
        | _ -> None
    int response.StatusCode, response.Content.ReadAsStringAsync().Result, header "X-Druid-SQL-Query-Id", header "X-Druid-SQL-Header-Included",
    (if isNull response.Content.Headers.ContentType then "" else response.Content.Headers.ContentType.MediaType)

let private quoted (s: string) = System.Text.Json.JsonSerializer.Serialize s

let private expectRows (r: Running) (query: string) (expected: string) =
    let code, body, _, _, _ = sql r "/druid/v2/sql/" (sprintf """{"query":%s,"context":{"sqlTimeZone":"Etc/UTC","timeout":30000}}""" (quoted query))
    Expect.equal code 200 body
    expectJson body expected query

[<Tests>]
let tests =
    testSequenced (
        testList "Sql.Http" [
            test "client queries answer over HTTP with Druid's formats and headers" {
                use r = start Sqlite []
                ingest r spec |> ignore
                // plywood: GROUP BY () totals (timeseries), object format, no header
                expectRows r "SELECT\nCOUNT(*) AS \"Count\",\nSUM(\"added\") AS \"Added\"\nFROM \"wikipedia\" AS t\nWHERE (TIMESTAMP '2015-09-12 00:00:00'<=\"__time\" AND \"__time\"<TIMESTAMP '2015-09-13 00:00:00')\nGROUP BY ()"
                    """[{"Count":5,"Added":123}]"""
                // plywood: hourly 4-argument TIME_FLOOR, TIMESTAMP values as ISO strings
                expectRows r "SELECT\nTIME_FLOOR(\"__time\", 'PT1H', NULL, 'Etc/UTC') AS \"t\",\nCOUNT(*) AS \"Count\",\nSUM(\"added\") AS \"Added\"\nFROM \"wikipedia\" AS t\nWHERE (TIMESTAMP '2015-09-12 00:00:00'<=\"__time\" AND \"__time\"<TIMESTAMP '2015-09-13 00:00:00')\nGROUP BY 1\nORDER BY \"t\" ASC"
                    """[{"t":"2015-09-12T00:00:00.000Z","Count":2,"Added":15},{"t":"2015-09-12T01:00:00.000Z","Count":2,"Added":107},{"t":"2015-09-12T02:00:00.000Z","Count":1,"Added":1}]"""
                // plywood: COUNT(DISTINCT) totals and a scan with LIMIT
                expectRows r "SELECT\nCOUNT(DISTINCT \"user\") AS \"__VALUE__\"\nFROM \"wikipedia\" AS t\nWHERE (TIMESTAMP '2015-09-12 00:00:00'<=\"__time\" AND \"__time\"<TIMESTAMP '2015-09-13 00:00:00')\nGROUP BY ()"
                    """[{"__VALUE__":3}]"""
                expectRows r "SELECT\n\"__time\", \"channel\", \"page\", \"added\"\nFROM \"wikipedia\" AS t\nWHERE (TIMESTAMP '2015-09-12 00:00:00'<=\"__time\" AND \"__time\"<TIMESTAMP '2015-09-12 01:00:00')\nLIMIT 5"
                    """[{"__time":"2015-09-12T00:00:00.000Z","channel":"#en.wikipedia","page":"Main","added":10},{"__time":"2015-09-12T00:00:00.010Z","channel":"#de.wikipedia","page":"Haupt","added":5}]"""
                // plywood: groupBy with HAVING on an alias (runs in memory until groupBy lands natively)
                expectRows r "SELECT\n\"page\" AS \"page\",\n\"user\" AS \"user\",\nCOUNT(*) AS \"Count\",\nSUM(\"added\") AS \"Added\"\nFROM \"wikipedia\" AS t\nWHERE ((TIMESTAMP '2015-09-12 00:00:00'<=\"__time\" AND \"__time\"<TIMESTAMP '2015-09-13 00:00:00') AND (\"channel\"='#en.wikipedia'))\nGROUP BY 1,2\nHAVING 8<\"Added\"\nORDER BY \"Added\" DESC\nLIMIT 10"
                    """[{"page":"Corbyn","user":"ann","Count":1,"Added":100},{"page":"Main","user":"ann","Count":1,"Added":10}]"""
                // web console: date-only literals, 2-argument TIME_FLOOR, array format with the three header rows
                let console =
                    sprintf """{"query":%s,"resultFormat":"array","header":true,"typesHeader":true,"sqlTypesHeader":true,"context":{"sqlOuterLimit":1001,"sqlQueryId":"console-1","sqlStringifyArrays":false}}"""
                        (quoted "SELECT\n  TIME_FLOOR(\"__time\", 'PT1H') AS \"t\",\n  COUNT(*) AS \"Count\",\n  SUM(\"added\") AS \"Added\"\nFROM \"wikipedia\"\nWHERE \"__time\" >= TIMESTAMP '2015-09-12' AND \"__time\" < TIMESTAMP '2015-09-13'\nGROUP BY 1\nORDER BY 1 ASC")
                let code, body, id, included, contentType = sql r "/druid/v2/sql" console
                Expect.equal code 200 body
                Expect.equal id (Some "console-1") "query id from the context"
                Expect.equal included (Some "yes") "header included"
                Expect.equal contentType "application/json" "content type"
                expectJson body
                    """[["t","Count","Added"],["LONG","LONG","LONG"],["TIMESTAMP","BIGINT","BIGINT"],
                        ["2015-09-12T00:00:00.000Z",2,15],["2015-09-12T01:00:00.000Z",2,107],["2015-09-12T02:00:00.000Z",1,1]]"""
                    "array with headers"
                // console column introspection: LIMIT 0 still sends the header rows
                let code, body, _, included, _ = sql r "/druid/v2/sql" """{"query":"SELECT *\nFROM \"wikipedia\"\nLIMIT 0","resultFormat":"array","header":true,"typesHeader":true,"sqlTypesHeader":true}"""
                Expect.equal code 200 body
                Expect.equal included (Some "yes") "header included"
                expectJson body
                    """[["__time","channel","page","user","added","delta"],["LONG","STRING","STRING","STRING","LONG","DOUBLE"],["TIMESTAMP","VARCHAR","VARCHAR","VARCHAR","BIGINT","DOUBLE"]]"""
                    "header rows only"
                // Cube: VARCHAR parameters through TIME_PARSE, object header with sqlType, schema-qualified table, alias without AS
                let cube =
                    sprintf """{"query":%s,"parameters":[{"value":"2015-09-12T00:00:00.000Z","type":"VARCHAR"},{"value":"2015-09-12T23:59:59.999Z","type":"VARCHAR"}],"header":true,"sqlTypesHeader":true,"resultFormat":"object"}"""
                        (quoted "SELECT count(distinct \"wikipedia\".\"user\") \"wikipedia__users\" FROM druid.wikipedia AS \"wikipedia\"  WHERE (\"wikipedia\".__time >= TIME_PARSE(?) AND \"wikipedia\".__time <= TIME_PARSE(?)) LIMIT 10000")
                let code, body, id, included, _ = sql r "/druid/v2/sql/" cube
                Expect.equal code 200 body
                Expect.isSome id "a generated query id"
                Expect.equal included (Some "yes") "header included"
                expectJson body """[{"wikipedia__users":{"sqlType":"BIGINT"}},{"wikipedia__users":3}]""" "cube distinct users"
                let cubeScan =
                    sprintf """{"query":%s,"parameters":[{"value":"2015-09-12T00:00:00.000Z","type":"VARCHAR"},{"value":"2015-09-12T23:59:59.999Z","type":"VARCHAR"}],"resultFormat":"object"}"""
                        (quoted "SELECT \"wikipedia\".__time \"wikipedia__time\", \"wikipedia\".channel \"wikipedia__channel\", \"wikipedia\".page \"wikipedia__page\", \"wikipedia\".added \"wikipedia__added_value\"\n    FROM druid.wikipedia AS \"wikipedia\"  WHERE (\"wikipedia\".__time >= TIME_PARSE(?) AND \"wikipedia\".__time <= TIME_PARSE(?)) ORDER BY 1 ASC LIMIT 2")
                let code, body, _, _, _ = sql r "/druid/v2/sql/" cubeScan
                Expect.equal code 200 body
                expectJson body
                    """[{"wikipedia__time":"2015-09-12T00:00:00.000Z","wikipedia__channel":"#en.wikipedia","wikipedia__page":"Main","wikipedia__added_value":10},
                        {"wikipedia__time":"2015-09-12T00:00:00.010Z","wikipedia__channel":"#de.wikipedia","wikipedia__page":"Haupt","wikipedia__added_value":5}]"""
                    "cube scan"
                // introspection
                expectRows r "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = 'druid' AND TABLE_TYPE = 'TABLE'" """[{"TABLE_NAME":"wikipedia"}]"""
                expectRows r "SELECT COLUMN_NAME, DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = 'wikipedia' AND COLUMN_NAME IN ('__time', 'added')"
                    """[{"COLUMN_NAME":"__time","DATA_TYPE":"TIMESTAMP"},{"COLUMN_NAME":"added","DATA_TYPE":"BIGINT"}]"""
                expectRows r "SELECT datasource, COUNT(*) AS n FROM sys.segments GROUP BY 1" """[{"datasource":"wikipedia","n":2}]"""
                // num_rows: the rows each served segment holds, together the table's rows.
                let _, counted, _, _, _ = sql r "/druid/v2/sql" """{"query":"SELECT COUNT(*) AS c FROM wikipedia"}"""
                let rows = (json counted).[0].["c"].GetValue<int64>()
                Expect.isGreaterThan rows 0L "rows"
                expectRows r "SELECT SUM(num_rows) AS r, MIN(num_rows) > 0 AS each FROM sys.segments WHERE datasource = 'wikipedia'" (sprintf """[{"r":%d,"each":true}]""" rows)
                // line and csv formats
                let code, body, _, _, contentType = sql r "/druid/v2/sql" """{"query":"SELECT channel, SUM(added) AS s FROM wikipedia GROUP BY 1 ORDER BY 2 DESC LIMIT 2","resultFormat":"csv","header":true}"""
                Expect.equal (code, contentType) (200, "text/csv") body
                Expect.equal body "channel,s\n#en.wikipedia,120\n#de.wikipedia,5\n\n" "csv"
                let code, body, _, _, contentType = sql r "/druid/v2/sql" """{"query":"SELECT channel FROM wikipedia WHERE added = 5","resultFormat":"arrayLines"}"""
                Expect.equal (code, contentType, body) (200, "text/plain", "[\"#de.wikipedia\"]\n\n") "arrayLines"
                let _, body, _, _, _ = sql r "/druid/v2/sql" """{"query":"SELECT channel FROM wikipedia WHERE added = 5","resultFormat":"objectLines"}"""
                Expect.equal body "{\"channel\":\"#de.wikipedia\"}\n\n" "objectLines"
                // EXPLAIN
                let _, body, _, _, _ = sql r "/druid/v2/sql" """{"query":"EXPLAIN PLAN FOR SELECT COUNT(*) FROM wikipedia"}"""
                Expect.stringContains body "\\\"queryType\\\":\\\"timeseries\\\"" "explain shows the native query"
            }
            test "errors are Druid-shaped: parse errors with line and column, unknown names, bad bodies" {
                use r = start Sqlite []
                let code, body, _, _, _ = sql r "/druid/v2/sql" """{"query":"SELECT a\nFROM t\nWHERE a = = 1"}"""
                Expect.equal code 400 body
                let error = json body
                Expect.equal (error.["error"].GetValue<string>()) "druidException" "error"
                Expect.equal (error.["errorCode"].GetValue<string>()) "invalidInput" "code"
                Expect.equal (error.["category"].GetValue<string>()) "INVALID_INPUT" "category"
                Expect.stringStarts (error.["errorMessage"].GetValue<string>()) "Received an unexpected token [=] (line [3], column [11])" "message"
                Expect.equal (error.["context"].["line"].GetValue<string>()) "3" "line"
                let code, body, _, _, _ = sql r "/druid/v2/sql" """{"query":"SELECT * FROM nope"}"""
                Expect.equal code 400 body
                Expect.stringContains body "Object 'nope' not found within 'druid'" "unknown table"
                let code, body, _, _, _ = sql r "/druid/v2/sql" """{"quer":"SELECT 1"}"""
                Expect.equal code 400 body
                let code, body, _, _, _ = sql r "/druid/v2/sql" """{"query":"SELECT 1 + 1 AS two, 'x' || 'y' AS xy, 1 = 1 AS t"}"""
                Expect.equal code 200 body
                expectJson body """[{"two":2,"xy":"xy","t":true}]""" "no FROM"
                use response = r.Client.DeleteAsync("/druid/v2/sql/not-running").Result
                Expect.equal (int response.StatusCode) 404 "cancel of an unknown id"
            }
        ])

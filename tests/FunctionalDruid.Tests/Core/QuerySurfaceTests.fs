/// The native query surface in Core: parsing every data source and the scan, search,
/// timeBoundary, segmentMetadata and dataSourceMetadata kinds, run over two small segments
/// with exact Druid-shaped outputs, plus a scan property against a naive oracle.
module FunctionalDruid.Tests.Core.QuerySurfaceTests

open System
open System.Threading
open Expecto
open FsCheck
open FsCheck.FSharp
open FunctionalDruid.Core
open FunctionalDruid.Core.Query
open FunctionalDruid.Core.QuerySlices

let private t (s: string) = (Time.tryParseInstant s).Value
let private interval (s: string) = (Time.tryParseInterval s).Value

let private columns =
    [ "page", Some ColumnType.String; "user", Some ColumnType.String; "added", Some ColumnType.Long; "score", Some ColumnType.Double ]

let private segment (id: string) (iv: string) (metadata: string) (rows: (string * Value list) list) : SegmentSlice =
    let times = rows |> List.map (fst >> t) |> Array.ofList
    let cells = rows |> List.map (snd >> Array.ofList) |> Array.ofList
    let content = { contentOfRows columns times cells with Interval = interval iv; Metadata = metadata }
    { Id = id; Content = content; Serves = interval iv }

let private str (s: string) = Value.String s

let private metadataWith (addedAggregator: string) =
    sprintf """{"aggregators":[{"type":"count","name":"count"},%s],"timestampSpec":{"column":"ts"},"queryGranularity":"HOUR","rollup":true}""" addedAggregator

let segA =
    segment "segA" "2020-01-01/2020-01-02" (metadataWith """{"type":"longSum","name":"added","fieldName":"added_raw"}""")
        [ "2020-01-01T01:00Z", [ str "Apple"; str "ann"; Value.Long 1L; Value.Double 0.5 ]
          "2020-01-01T02:00Z", [ str "banana"; str "bob"; Value.Long 2L; Value.Double 1.5 ]
          "2020-01-01T03:00Z", [ str "cherry pie"; Value.Null; Value.Long 3L; Value.Double 2.0 ] ]

let segB =
    segment "segB" "2020-01-02/2020-01-03" (metadataWith """{"type":"doubleSum","name":"added","fieldName":"added"}""")
        [ "2020-01-02T01:00Z", [ str "apple"; str "ann"; Value.Long 4L; Value.Null ]
          "2020-01-02T05:00Z", [ str "date"; str "cy"; Value.Long 5L; Value.Double 3.0 ] ]

let segOld =
    segment "segOld" "2019-12-01/2019-12-02" "{}" [ "2019-12-01T00:00Z", [ str "old"; str "ann"; Value.Long 9L; Value.Double 1.0 ] ]

let private tables = Map [ "a", [ segA ]; "b", [ segB ]; "wiki", [ segA; segB ]; "history", [ segOld; segB ] ]
let private slicesOf (name: string) (_: Time.Interval list) = defaultArg (tables.TryFind name) []

let private parsed (text: string) =
    match QueryParseSurface.parseText text with
    | Ok q -> q
    | Error(path, problem) -> failtestf "parse failed at %s: %s" path problem

/// Runs a query text over the test tables and prints the result compactly.
let run (text: string) : string =
    Json.Out.toText false (QueryExecution.execute sequential slicesOf (parsed text))

let private parseError (text: string) =
    match QueryParseSurface.parseText text with
    | Ok _ -> failtestf "expected a parse error for %s" text
    | Error(path, problem) -> path, problem

[<Tests>]
let parseTests =
    testList "QuerySurface.parse" [
        test "intervals as a string, an array, periods and compact ISO forms" {
            let q = parsed """{"queryType":"scan","dataSource":"wiki","intervals":"2015-09-12T00Z/2015-09-13T00Z"}"""
            Expect.equal q.Intervals [ interval "2015-09-12/2015-09-13" ] "compact string"
            let q2 = parsed """{"queryType":"scan","dataSource":"wiki","intervals":["2015-09-12/P1D","P1D/2015-09-14"]}"""
            Expect.equal q2.Intervals [ interval "2015-09-12/2015-09-13"; interval "2015-09-13/2015-09-14" ] "start/period and period/end"
            let q3 = parsed """{"queryType":"timeBoundary","dataSource":"wiki"}"""
            Expect.equal q3.Intervals [ Time.eternity ] "timeBoundary without intervals reads all time"
            Expect.equal (parseError """{"queryType":"scan","dataSource":"wiki","intervals":["2015-09-12/nope"]}""")
                ("intervals[0]", "Invalid interval [2015-09-12/nope]; expected start/end, start/period or period/end in ISO-8601") "bad interval"
            Expect.equal (parseError """{"queryType":"scan","dataSource":"wiki"}""") ("", "intervals is required but missing") "scan needs intervals"
        }
        test "data sources: table, union, inline, query" {
            Expect.equal (parsed """{"queryType":"timeBoundary","dataSource":{"type":"table","name":"wiki"}}""").DataSource (DataSource.Table "wiki") "table"
            Expect.equal (parsed """{"queryType":"timeBoundary","dataSource":{"type":"union","dataSources":["a","b"]}}""").DataSource (DataSource.Union [ "a"; "b" ]) "union"
            let inlineQ = parsed """{"queryType":"timeBoundary","dataSource":{"type":"inline","columnNames":["k","n"],"columnTypes":["STRING","LONG"],"rows":[["x",1],[null,2]]}}"""
            Expect.equal inlineQ.DataSource (DataSource.Inline([ "k", ColumnType.String; "n", ColumnType.Long ], [ [| str "x"; Value.Long 1L |]; [| Value.Null; Value.Long 2L |] ])) "inline"
            let sub = parsed """{"queryType":"scan","dataSource":{"type":"query","query":{"queryType":"timeBoundary","dataSource":"wiki"}},"intervals":"2020/2021"}"""
            match sub.DataSource with
            | DataSource.Query inner -> Expect.equal inner.Kind (QueryKind.TimeBoundary Bound.Both) "inner kind"
            | other -> failtestf "expected a query data source, got %A" other
            Expect.equal (tableNames sub.DataSource) [ "wiki" ] "tables read through a subquery"
            Expect.equal (parseError """{"queryType":"timeBoundary","dataSource":{"type":"union","dataSources":[{"type":"inline","columnNames":[],"rows":[]}]}}""")
                ("dataSource.dataSources[0]", "a union may only hold tables") "union of non-tables"
            Expect.equal (parseError """{"queryType":"timeBoundary","dataSource":{"type":"lookup","lookup":"x"}}""")
                ("dataSource.type", "dataSource type [lookup] is not supported yet; expected table, union, inline, query or join") "unknown type"
        }
        test "context values as strings or JSON values; timeout and queryId" {
            let q = parsed """{"queryType":"timeBoundary","dataSource":"wiki","context":{"skipEmptyBuckets":"true","grandTotal":true,"timeout":"1500","queryId":"q-1","vectorize":"force","priority":1}}"""
            Expect.isTrue (QueryParseSurface.contextFlag q "skipEmptyBuckets") "string true"
            Expect.isTrue (QueryParseSurface.contextFlag q "grandTotal") "boolean true"
            Expect.isFalse (QueryParseSurface.contextFlag q "sortByDimsFirst") "absent"
            Expect.equal (QueryParseSurface.contextTimeout q) (Some 1500L) "timeout"
            Expect.equal (QueryParseSurface.contextQueryId q) (Some "q-1") "queryId"
        }
        test "the kinds parsed here, with defaults and errors at their paths" {
            match (parsed """{"queryType":"scan","dataSource":"wiki","intervals":"2020/2021","granularity":"all","legacy":false}""").Kind with
            | QueryKind.Scan s -> Expect.equal s { Columns = []; Limit = None; Offset = 0L; Compacted = false; Order = ScanOrder.NoOrder; BatchSize = 20480 } "scan defaults"
            | k -> failtestf "scan parsed as %A" k
            match (parsed """{"queryType":"segmentMetadata","dataSource":"wiki"}""").Kind with
            | QueryKind.SegmentMetadata m ->
                Expect.equal m { AnalysisTypes = [ AnalysisType.Cardinality; AnalysisType.Interval; AnalysisType.MinMax ]; Merge = false; LenientAggregatorMerge = false; ToInclude = ColumnIncluderator.All } "segmentMetadata defaults"
            | k -> failtestf "segmentMetadata parsed as %A" k
            match (parsed """{"queryType":"search","dataSource":"wiki","intervals":"2020/2021","query":{"type":"fragment","values":["a","b"]},"sort":{"type":"strlen"},"searchDimensions":["page"]}""").Kind with
            | QueryKind.Search s ->
                Expect.equal s.Query (Extraction.Fragment([ "a"; "b" ], false)) "fragment"
                Expect.equal s.Sort Ordering.StringOrdering.Strlen "sort"
                Expect.equal s.Limit 1000 "default limit"
            | k -> failtestf "search parsed as %A" k
            Expect.equal (parsed """{"queryType":"dataSourceMetadata","dataSource":"wiki"}""").Kind QueryKind.DataSourceMetadata "dataSourceMetadata"
            Expect.equal (parseError """{"queryType":"scan","dataSource":"wiki","intervals":"2020/2021","order":"sideways"}""")
                ("order", "Unknown order [sideways]; expected ascending, descending or none") "scan order"
            Expect.equal (parseError """{"queryType":"segmentMetadata","dataSource":"wiki","analysisTypes":["bogus"]}""")
                ("analysisTypes[0]", "Unknown analysisType [bogus]; expected cardinality, size, interval, aggregators, queryGranularity, rollup, minmax or timestampSpec") "analysis type"
            Expect.equal (parseError """{"queryType":"search","dataSource":"wiki","intervals":"2020/2021","query":{"type":"near","value":"x"}}""")
                ("query.type", "Unknown search query type [near]; expected contains, insensitive_contains, fragment or regex") "search query type"
            Expect.equal (snd (parseError """{"queryType":"select","dataSource":"wiki"}""")) "Query type [select] was removed from Druid (0.17); use scan" "select"
            Expect.equal (parseError """{"queryType":"movie","dataSource":"wiki"}""")
                ("queryType", "Unknown query type [movie]; expected one of timeseries, topN, groupBy, scan, search, timeBoundary, segmentMetadata, dataSourceMetadata") "unknown type"
        }
        test "virtual columns" {
            let q = parsed """{"queryType":"scan","dataSource":"wiki","intervals":"2020/2021","virtualColumns":[{"type":"expression","name":"time","expression":"__time","outputType":"STRING"}]}"""
            Expect.equal (q.VirtualColumns |> List.map (fun v -> v.Name, v.Expression, v.OutputType)) [ "time", "__time", Some ColumnType.String ] "parsed"
            Expect.equal (fst (parseError """{"queryType":"scan","dataSource":"wiki","intervals":"2020/2021","virtualColumns":[{"type":"expression","name":"x","expression":"1 +"}]}"""))
                "virtualColumns[0].expression" "bad expression path"
        }
    ]

let private scanOf (rest: string) =
    run (sprintf """{"queryType":"scan","dataSource":"wiki","intervals":"2020-01-01/2020-01-03",%s}""" rest)

[<Tests>]
let runTests =
    testList "QuerySurface.run" [
        test "scan compactedList: descending, offset and limit, batches per segment in key order" {
            Expect.equal (scanOf """"columns":["__time","page","added"],"resultFormat":"compactedList","order":"descending","offset":1,"limit":3""")
                ("""[{"segmentId":"segB","columns":["__time","page","added"],"events":[[1577926800000,"apple",4]]},"""
                 + """{"segmentId":"segA","columns":["__time","page","added"],"events":[[1577847600000,"cherry pie",3],[1577844000000,"banana",2]]}]""") "events"
        }
        test "scan list: filter, virtual column, every column when none are listed" {
            Expect.equal (scanOf """"columns":["page","v"],"filter":{"type":"selector","dimension":"user","value":"ann"},"virtualColumns":[{"type":"expression","name":"v","expression":"added * 2","outputType":"LONG"}]""")
                """[{"segmentId":"segA","columns":["page","v"],"events":[{"page":"Apple","v":2}]},{"segmentId":"segB","columns":["page","v"],"events":[{"page":"apple","v":8}]}]""" "filtered"
            Expect.equal (scanOf """"limit":1""")
                """[{"segmentId":"segA","columns":["__time","page","user","added","score"],"events":[{"__time":1577840400000,"page":"Apple","user":"ann","added":1,"score":0.5}]}]""" "all columns"
            Expect.equal (scanOf """"batchSize":1,"columns":["added"],"resultFormat":"compactedList","filter":{"type":"bound","dimension":"added","lower":"2","upper":"4","ordering":"numeric"}""")
                """[{"segmentId":"segA","columns":["added"],"events":[[2]]},{"segmentId":"segA","columns":["added"],"events":[[3]]},{"segmentId":"segB","columns":["added"],"events":[[4]]}]""" "batchSize"
            Expect.equal (scanOf """"filter":{"type":"selector","dimension":"page","value":"none"}""") "[]" "nothing matches"
        }
        test "search: insensitive contains, strlen sort, limit" {
            Expect.equal (run """{"queryType":"search","dataSource":"wiki","intervals":"2020-01-01/2020-01-03","query":{"type":"insensitive_contains","value":"APP"}}""")
                """[{"timestamp":"2020-01-01T00:00:00.000Z","result":[{"dimension":"page","value":"Apple","count":1},{"dimension":"page","value":"apple","count":1}]}]""" "lexicographic"
            Expect.equal (run """{"queryType":"search","dataSource":"wiki","intervals":"2020-01-01/2020-01-03","query":{"type":"contains","value":"an","caseSensitive":true},"sort":{"type":"strlen"}}""")
                """[{"timestamp":"2020-01-01T00:00:00.000Z","result":[{"dimension":"user","value":"ann","count":2},{"dimension":"page","value":"banana","count":1}]}]""" "strlen"
            Expect.equal (run """{"queryType":"search","dataSource":"wiki","intervals":"2020-01-01/2020-01-03","granularity":"day","searchDimensions":["page"],"query":{"type":"regex","pattern":"^[a-c]"},"limit":1}""")
                """[{"timestamp":"2020-01-01T00:00:00.000Z","result":[{"dimension":"page","value":"banana","count":1}]},{"timestamp":"2020-01-02T00:00:00.000Z","result":[{"dimension":"page","value":"apple","count":1}]}]""" "per day, limited"
        }
        test "timeBoundary and dataSourceMetadata" {
            Expect.equal (run """{"queryType":"timeBoundary","dataSource":"wiki"}""")
                """[{"timestamp":"2020-01-01T01:00:00.000Z","result":{"minTime":"2020-01-01T01:00:00.000Z","maxTime":"2020-01-02T05:00:00.000Z"}}]""" "both"
            Expect.equal (run """{"queryType":"timeBoundary","dataSource":"wiki","bound":"maxTime","filter":{"type":"selector","dimension":"user","value":"ann"}}""")
                """[{"timestamp":"2020-01-02T01:00:00.000Z","result":{"maxTime":"2020-01-02T01:00:00.000Z"}}]""" "filtered max"
            Expect.equal (run """{"queryType":"timeBoundary","dataSource":"wiki","intervals":"2021/2022"}""") "[]" "no rows"
            Expect.equal (run """{"queryType":"dataSourceMetadata","dataSource":"wiki"}""")
                """[{"timestamp":"2020-01-02T05:00:00.000Z","result":{"maxIngestedEventTime":"2020-01-02T05:00:00.000Z"}}]""" "dataSourceMetadata"
        }
        test "segmentMetadata: one analysis per segment with __time, columns sorted by name" {
            let nullStats = "\"cardinality\":null,\"minValue\":null,\"maxValue\":null,\"errorMessage\":null"
            let numeric (t: string) = sprintf "{\"typeSignature\":\"%s\",\"type\":\"%s\",\"hasMultipleValues\":false,\"hasNulls\":false,\"size\":0,%s}" t t nullStats
            let expected =
                "[{\"id\":\"segA\",\"intervals\":[\"2020-01-01T00:00:00.000Z/2020-01-02T00:00:00.000Z\"],\"columns\":{"
                + "\"__time\":" + numeric "LONG" + ",\"added\":" + numeric "LONG"
                + ",\"page\":{\"typeSignature\":\"STRING\",\"type\":\"STRING\",\"hasMultipleValues\":false,\"hasNulls\":false,\"size\":0,\"cardinality\":3,\"minValue\":\"Apple\",\"maxValue\":\"cherry pie\",\"errorMessage\":null}"
                + ",\"score\":" + numeric "DOUBLE"
                + ",\"user\":{\"typeSignature\":\"STRING\",\"type\":\"STRING\",\"hasMultipleValues\":false,\"hasNulls\":true,\"size\":0,\"cardinality\":3,\"minValue\":null,\"maxValue\":\"bob\",\"errorMessage\":null}"
                + "},\"size\":0,\"numRows\":3,\"aggregators\":null,\"timestampSpec\":null,\"queryGranularity\":null,\"rollup\":null}]"
            Expect.equal (run """{"queryType":"segmentMetadata","dataSource":"a"}""") expected "segA"
            let two = run """{"queryType":"segmentMetadata","dataSource":"wiki","analysisTypes":["queryGranularity"],"toInclude":{"type":"list","columns":["page"]}}"""
            Expect.equal two
                ("[{\"id\":\"segA\",\"intervals\":null,\"columns\":{\"__time\":" + numeric "LONG" + ",\"page\":{\"typeSignature\":\"STRING\",\"type\":\"STRING\",\"hasMultipleValues\":false,\"hasNulls\":false,\"size\":0," + nullStats + "}},\"size\":0,\"numRows\":3,\"aggregators\":null,\"timestampSpec\":null,\"queryGranularity\":\"HOUR\",\"rollup\":null},"
                 + "{\"id\":\"segB\",\"intervals\":null,\"columns\":{\"__time\":" + numeric "LONG" + ",\"page\":{\"typeSignature\":\"STRING\",\"type\":\"STRING\",\"hasMultipleValues\":false,\"hasNulls\":false,\"size\":0," + nullStats + "}},\"size\":0,\"numRows\":2,\"aggregators\":null,\"timestampSpec\":null,\"queryGranularity\":\"HOUR\",\"rollup\":null}]")
                "per segment, listed columns plus __time"
        }
        test "segmentMetadata without intervals reads the week before the latest segment's end" {
            let ids (text: string) =
                [ for a in (Text.Json.Nodes.JsonNode.Parse text).AsArray() -> a.["id"].GetValue<string>() ]
            Expect.equal (ids (run """{"queryType":"segmentMetadata","dataSource":"history","analysisTypes":[]}""")) [ "segB" ] "default history"
            Expect.equal (ids (run """{"queryType":"segmentMetadata","dataSource":"history","analysisTypes":[],"intervals":"2019/2021"}""")) [ "segOld"; "segB" ] "explicit intervals"
        }
        test "segmentMetadata merge: sizes add up, aggregators merge strictly or leniently" {
            let merged (lenient: bool) =
                run (sprintf """{"queryType":"segmentMetadata","dataSource":"wiki","merge":true,"lenientAggregatorMerge":%b,"analysisTypes":["size","aggregators","rollup","interval","timestampSpec"],"toInclude":{"type":"list","columns":["user"]}}""" lenient)
            let head =
                "[{\"id\":\"merged\",\"intervals\":[\"2020-01-01T00:00:00.000Z/2020-01-03T00:00:00.000Z\"],\"columns\":{"
                + "\"__time\":{\"typeSignature\":\"LONG\",\"type\":\"LONG\",\"hasMultipleValues\":false,\"hasNulls\":false,\"size\":40,\"cardinality\":null,\"minValue\":null,\"maxValue\":null,\"errorMessage\":null},"
                + "\"user\":{\"typeSignature\":\"STRING\",\"type\":\"STRING\",\"hasMultipleValues\":false,\"hasNulls\":true,\"size\":11,\"cardinality\":null,\"minValue\":null,\"maxValue\":null,\"errorMessage\":null}},"
                + "\"size\":51,\"numRows\":5,"
            let tail = ",\"timestampSpec\":{\"column\":\"ts\"},\"queryGranularity\":null,\"rollup\":true}]"
            Expect.equal (merged false) (head + "\"aggregators\":null" + tail) "strict: a conflict nulls every aggregator"
            Expect.equal (merged true)
                (head + "\"aggregators\":{\"count\":{\"type\":\"longSum\",\"name\":\"count\",\"fieldName\":\"count\",\"expression\":null},\"added\":null}" + tail)
                "lenient: only the conflicting one is null"
        }
        test "union, inline and query data sources" {
            Expect.equal (run """{"queryType":"timeBoundary","dataSource":{"type":"union","dataSources":["b","a"]}}""")
                """[{"timestamp":"2020-01-01T01:00:00.000Z","result":{"minTime":"2020-01-01T01:00:00.000Z","maxTime":"2020-01-02T05:00:00.000Z"}}]""" "union"
            Expect.equal (run """{"queryType":"scan","dataSource":{"type":"inline","columnNames":["k","n"],"columnTypes":["STRING","LONG"],"rows":[["x",1],["y",null]]},"intervals":"1970/2100","resultFormat":"compactedList","columns":["k","n"]}""")
                """[{"segmentId":"inline","columns":["k","n"],"events":[["x",1],["y",null]]}]""" "inline"
            let inner = """{"queryType":"timeseries","dataSource":"wiki","intervals":"2020-01-01/2020-01-03","granularity":"day","aggregations":[{"type":"longSum","name":"added","fieldName":"added"}]}"""
            Expect.equal (run (sprintf """{"queryType":"scan","dataSource":{"type":"query","query":%s},"intervals":"1970/2100","resultFormat":"compactedList","columns":["__time","added"]}""" inner))
                """[{"segmentId":"query","columns":["__time","added"],"events":[[1577836800000,6],[1577923200000,9]]}]""" "scan over a timeseries"
            Expect.equal (run (sprintf """{"queryType":"timeBoundary","dataSource":{"type":"query","query":%s},"filter":{"type":"bound","dimension":"added","lower":"7","ordering":"numeric"}}""" inner))
                """[{"timestamp":"2020-01-02T00:00:00.000Z","result":{"minTime":"2020-01-02T00:00:00.000Z","maxTime":"2020-01-02T00:00:00.000Z"}}]""" "filter over subquery rows"
        }
        test "a cancelled run stops with OperationCanceledException" {
            use cancel = new CancellationTokenSource()
            cancel.Cancel()
            let ctx = { sequential with Cancel = cancel.Token }
            Expect.throwsT<OperationCanceledException> (fun () -> QueryExecution.execute ctx slicesOf (parsed """{"queryType":"timeBoundary","dataSource":"wiki"}""") |> ignore) "cancelled"
        }
    ]

// ---- property: scan equals a naive oracle -------------------------------------------------------

type private ScanCase =
    { Rows: (int64 * string * int64) list list
      Filter: (string * string) option
      Limit: int option
      Offset: int
      Order: string }

let private scanCaseGen =
    gen {
        let! segmentCount = Gen.choose (1, 3)
        let! segments =
            Gen.listOfLength segmentCount (
                gen {
                    let! n = Gen.choose (0, 12)
                    return! Gen.listOfLength n (Gen.zip3 (Gen.choose (0, 23)) (Gen.elements [ "a"; "b"; "c"; "" ]) (Gen.choose (-5, 5)))
                })
        // Segment i covers day i; rows sorted by time within it.
        let rows =
            segments |> List.mapi (fun i rows ->
                rows |> List.map (fun (h, d, m) -> int64 i * 86_400_000L + int64 h * 3_600_000L, d, int64 m) |> List.sortBy (fun (t, _, _) -> t))
        let! filter = Gen.elements [ None; Some("d", "a"); Some("d", "b"); Some("m", "0") ]
        let! limit = Gen.elements [ None; Some 1; Some 3; Some 7; Some 100 ]
        let! offset = Gen.elements [ 0; 1; 2; 5 ]
        let! order = Gen.elements [ "none"; "ascending"; "descending" ]
        return { Rows = rows; Filter = filter; Limit = limit; Offset = offset; Order = order }
    }

let private runScanCase (c: ScanCase) =
    let slices =
        c.Rows |> List.mapi (fun i rows ->
            let iv : Time.Interval = { Start = int64 i * 86_400_000L; End = int64 (i + 1) * 86_400_000L }
            let cells = rows |> List.map (fun (_, d, m) -> [| (if d = "" then Value.Null else Value.String d); Value.Long m |]) |> Array.ofList
            let content = contentOfRows [ "d", Some ColumnType.String; "m", Some ColumnType.Long ] (rows |> List.map (fun (t, _, _) -> t) |> Array.ofList) cells
            { Id = sprintf "s%d" i; Content = { content with Interval = iv }; Serves = iv })
    let filter =
        match c.Filter with
        | Some(dim, v) -> sprintf ""","filter":{"type":"selector","dimension":"%s","value":"%s"}""" dim v
        | None -> ""
    let limit = match c.Limit with Some l -> sprintf ""","limit":%d""" l | None -> ""
    let text =
        sprintf """{"queryType":"scan","dataSource":"t","intervals":"1970/1971","columns":["__time","d","m"],"resultFormat":"compactedList","order":"%s","offset":%d,"batchSize":4%s%s}"""
            c.Order c.Offset filter limit
    let out = QueryExecution.execute sequential (fun _ _ -> slices) (parsed text)
    // Flatten to (segment, time, d, m).
    match out with
    | Json.Out.Array batches ->
        [ for b in batches do
            match b with
            | Json.Out.Object [ "segmentId", Json.Out.String id; "columns", _; "events", Json.Out.Array events ] ->
                for e in events do
                    match e with
                    | Json.Out.Array [ Json.Out.Long t; d; Json.Out.Long m ] -> yield id, t, (match d with Json.Out.String s -> s | _ -> ""), m
                    | other -> failwithf "unexpected event %A" other
            | other -> failwithf "unexpected batch %A" other ]
    | other -> failwithf "unexpected result %A" other

let private oracle (c: ScanCase) =
    let all = c.Rows |> List.mapi (fun i rows -> rows |> List.mapi (fun r (t, d, m) -> (sprintf "s%d" i, i, r), t, d, m)) |> List.concat
    let keep =
        all |> List.filter (fun (_, _, d, m) ->
            match c.Filter with
            | Some("d", v) -> d = v
            | Some(_, v) -> string m = v
            | None -> true)
    let ordered =
        match c.Order with
        | "ascending" -> keep |> List.sortBy (fun ((_, i, r), t, _, _) -> t, i, r)
        | "descending" -> keep |> List.sortBy (fun ((_, i, r), t, _, _) -> t, i, r) |> List.rev
        | _ -> keep
    let paged = ordered |> List.skip (min c.Offset ordered.Length)
    let limited = match c.Limit with Some l -> List.truncate l paged | None -> paged
    limited |> List.map (fun ((id, _, _), t, d, m) -> id, t, d, m)

[<Tests>]
let propertyTests =
    testList "QuerySurface.scan property" [
        testProperty "scan over random segments equals a naive filter, order, offset and limit" <|
            Prop.forAll (Arb.fromGen scanCaseGen) (fun c -> runScanCase c = oracle c)
    ]

// ---- property: search equals a naive count ------------------------------------------------------

let private searchCaseGen =
    gen {
        let! segmentCount = Gen.choose (1, 3)
        let value = Gen.elements [ "a"; "Ab"; "ba"; "bb"; "c"; "" ]
        let! segments = Gen.listOfLength segmentCount (Gen.listOf (Gen.zip3 (Gen.choose (0, 23)) value value))
        let! needle = Gen.elements [ "a"; "b"; "A"; "ab" ]
        let! caseSensitive = Gen.elements [ true; false ]
        return segments, needle, caseSensitive
    }

[<Tests>]
let searchPropertyTests =
    testList "QuerySurface.search property" [
        testProperty "search counts over random segments equal a naive count" <|
            Prop.forAll (Arb.fromGen searchCaseGen) (fun (segments, needle, caseSensitive) ->
                let slices =
                    segments |> List.mapi (fun i rows ->
                        let iv : Time.Interval = { Start = int64 i * 86_400_000L; End = int64 (i + 1) * 86_400_000L }
                        let rows = rows |> List.sortBy (fun (h, _, _) -> h)
                        let cell (s: string) = if s = "" then Value.Null else Value.String s
                        let content =
                            contentOfRows [ "d", Some ColumnType.String; "e", Some ColumnType.String ]
                                (rows |> List.map (fun (h, _, _) -> iv.Start + int64 h * 3_600_000L) |> Array.ofList)
                                (rows |> List.map (fun (_, d, e) -> [| cell d; cell e |]) |> Array.ofList)
                        { Id = sprintf "s%d" i; Content = { content with Interval = iv }; Serves = iv })
                let text =
                    sprintf """{"queryType":"search","dataSource":"t","intervals":"1970/1971","query":{"type":"contains","value":"%s","caseSensitive":%b},"limit":100}""" needle caseSensitive
                let actual =
                    match QueryExecution.execute sequential (fun _ _ -> slices) (parsed text) with
                    | Json.Out.Array [] -> []
                    | Json.Out.Array [ Json.Out.Object [ "timestamp", _; "result", Json.Out.Array hits ] ] ->
                        hits |> List.map (function
                            | Json.Out.Object [ "dimension", Json.Out.String d; "value", Json.Out.String v; "count", Json.Out.Long c ] -> d, v, c
                            | other -> failwithf "unexpected hit %A" other)
                    | other -> failwithf "unexpected result %A" other
                let comparison = if caseSensitive then StringComparison.Ordinal else StringComparison.OrdinalIgnoreCase
                let expected =
                    [ for rows in segments do
                        for (_, d, e) in rows do
                            if d <> "" && d.Contains(needle, comparison) then yield "d", d
                            if e <> "" && e.Contains(needle, comparison) then yield "e", e ]
                    |> List.countBy id
                    |> List.map (fun ((dim, v), n) -> dim, v, int64 n)
                    |> List.sortWith (fun (d1, v1, _) (d2, v2, _) -> match String.CompareOrdinal(v1, v2) with 0 -> String.CompareOrdinal(d1, d2) | c -> c)
                let anyRows = segments |> List.exists (List.isEmpty >> not)
                actual = expected && (anyRows || actual.IsEmpty))
    ]

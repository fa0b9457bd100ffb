/// Every step of batch ingestion over HTTP against the real server: submit, wait, report,
/// query, overwrite, append, restart; the same list runs on SQLite and on PostgreSQL.
module FunctionalDruid.Tests.Host.IngestionIntegrationTests

open System
open System.IO
open Expecto
open FunctionalDruid.Tests
open FunctionalDruid.Tests.ServerHarness

let private rollupSpec () = specFile (Path.Combine(tutorialDir, "rollup-index.json"))
let private seedSpec () = specFile (Path.Combine(examplesDir, "kafkatest-batch-index.json"))
let private seedQuery () = File.ReadAllText(Path.Combine(examplesDir, "kafkatest-timeseries.json"))

let private netflowScan =
    """{"queryType":"scan","dataSource":"rollup-tutorial","intervals":["2018-01-01/2018-01-03"],
        "columns":["__time","srcIP","dstIP","count","packets","bytes"],"resultFormat":"compactedList"}"""

let private netflowRows =
    """[[1514768460000,"1.1.1.1","2.2.2.2",3,286,35937],[1514768520000,"1.1.1.1","2.2.2.2",2,415,366260],
        [1514768580000,"1.1.1.1","2.2.2.2",1,49,10204],[1514928780000,"7.7.7.7","8.8.8.8",2,161,100288],
        [1514928900000,"7.7.7.7","8.8.8.8",1,12,2818]]"""

/// The events of a scan response, batches concatenated.
let private scanEvents (body: string) =
    let batches = (json body).AsArray()
    "[" + String.Join(",", [ for b in batches do for e in b.["events"].AsArray() -> e.ToJsonString() ]) + "]"

let private storeTests (kind: ServerHarness.StoreKind) =
    let name = match kind with Sqlite -> "sqlite" | Postgres -> "postgresql"
    testList name [
        test "status and health" {
            use r = start kind []
            let code, body = get r "/status"
            Expect.equal code 200 "status"
            let version = (json body).["version"].GetValue<string>()
            Expect.isTrue (System.Version.Parse version >= System.Version(0, 14, 0)) (sprintf "version %s >= 0.14.0" version)
            Expect.equal (get r "/status/health") (200, "true") "health"
        }

        test "the seed's timeseries query (P1D in Asia/Shanghai) over seed-shaped rows" {
            use r = start kind []
            // Submitted as `curl -d @file` sends it: line breaks stripped, comments and all.
            let asCurlSendsIt (text: string) = text.Replace("\r", "").Replace("\n", "")
            ingest r (asCurlSendsIt (seedSpec ())) |> ignore
            let code, body = post r "/druid/v2/?pretty" (asCurlSendsIt (seedQuery ()))
            Expect.equal code 200 "query status"
            // Rows by Shanghai day: 06-04 (one row, 3 clicks), 06-05 (four rows: 1+0+5+2),
            // 06-06 (the 20:00Z row); the 2019-06-06T01:00Z row is outside the query interval.
            expectJson body
                """[{"timestamp":"2019-06-04T00:00:00.000+08:00","result":{"click":3,"pv":1}},
                    {"timestamp":"2019-06-05T00:00:00.000+08:00","result":{"click":8,"pv":4}},
                    {"timestamp":"2019-06-06T00:00:00.000+08:00","result":{"click":4,"pv":1}}]""" "timeseries"
            Expect.stringContains body "\n" "pretty printed"
        }

        test "netflow tutorial: rollup, report counters, scan, timeBoundary, coordinator views" {
            use r = start kind []
            let id = ingest r (rollupSpec ())
            let _, scan = post r "/druid/v2" netflowScan
            expectJson (scanEvents scan) netflowRows "rolled-up rows"
            let _, report = get r (sprintf "/druid/indexer/v1/task/%s/reports" id)
            let stats = (json report).["ingestionStatsAndErrors"].["payload"].["rowStats"].["buildSegments"]
            Expect.equal ([ "processed"; "processedWithError"; "unparseable"; "thrownAway" ] |> List.map (fun k -> stats.[k].GetValue<int64>())) [ 9L; 0L; 0L; 0L ] "counters"
            let _, boundary = post r "/druid/v2/" """{"queryType":"timeBoundary","dataSource":"rollup-tutorial"}"""
            expectJson boundary """[{"timestamp":"2018-01-01T01:01:00.000Z","result":{"minTime":"2018-01-01T01:01:00.000Z","maxTime":"2018-01-02T21:35:00.000Z"}}]""" "boundary"
            Expect.equal (get r "/druid/coordinator/v1/datasources") (200, """["rollup-tutorial"]""") "datasources"
            Expect.equal (get r "/druid/v2/datasources") (200, """["rollup-tutorial"]""") "broker datasources"
            let _, segments = get r "/druid/coordinator/v1/metadata/datasources/rollup-tutorial/segments?full"
            let intervals = [ for s in (json segments).AsArray() -> s.["interval"].GetValue<string>() ]
            Expect.equal intervals [ "2018-01-01T00:00:00.000Z/2018-01-02T00:00:00.000Z"; "2018-01-02T00:00:00.000Z/2018-01-03T00:00:00.000Z" ] "one segment per day"
            Expect.equal (get r "/druid/coordinator/v1/loadstatus") (200, """{"rollup-tutorial":100}""") "all loaded"
        }

        test "overwrite makes a new version that overshadows; append adds partitions to it" {
            use r = start kind []
            ingest r (rollupSpec ()) |> ignore
            let firstIds = snd (get r "/druid/coordinator/v1/metadata/datasources/rollup-tutorial/segments")
            ingest r (rollupSpec ()) |> ignore
            let secondIds = snd (get r "/druid/coordinator/v1/metadata/datasources/rollup-tutorial/segments")
            Expect.notEqual secondIds firstIds "new version"
            Expect.equal ((json secondIds).AsArray().Count) 2 "old version unused"
            let _, scan = post r "/druid/v2" netflowScan
            expectJson (scanEvents scan) netflowRows "same rows, counted once"
            let append = (rollupSpec ()).Replace("\"appendToExisting\" : false", "\"appendToExisting\" : true")
            ingest r append |> ignore
            let _, segments = get r "/druid/coordinator/v1/metadata/datasources/rollup-tutorial/segments?full"
            let shards = [ for s in (json segments).AsArray() -> s.["shardSpec"].ToJsonString() ]
            Expect.equal shards
                [ """{"type":"numbered","partitionNum":0,"partitions":1}"""; """{"type":"numbered","partitionNum":1,"partitions":1}"""
                  """{"type":"numbered","partitionNum":0,"partitions":1}"""; """{"type":"numbered","partitionNum":1,"partitions":1}""" ] "appended partitions join the version"
            let _, ts = post r "/druid/v2" """{"queryType":"timeseries","dataSource":"rollup-tutorial","intervals":"2018-01-01/2018-01-03","granularity":"all","aggregations":[{"type":"longSum","name":"count","fieldName":"count"}]}"""
            expectJson ts """[{"timestamp":"2018-01-01T01:01:00.000Z","result":{"count":18}}]""" "appended rows counted"
        }

        test "restart keeps published data and fails the task that was running" {
            let r = start kind []
            ingest r (rollupSpec ()) |> ignore
            // A task the previous process never finished: still active in the metadata store.
            let orphan = FunctionalDruid.Host.Metadata.TaskRecord("index_orphan", "2024-01-01T00:00:00.000Z", "rollup-tutorial", "index", "{}", null, true)
            let store = FunctionalDruid.Host.Metadata.MetadataStoreFactory.Create(
                            (if kind = Sqlite then "sqlite" else "postgresql"),
                            r.Server.Config.MetadataUri, r.Server.Config.MetadataUser, r.Server.Config.MetadataPassword, r.DataDir)
            store.Initialize()
            store.InsertTask orphan
            store.Dispose()
            use r2 = restart r
            let _, scan = post r2 "/druid/v2" netflowScan
            expectJson (scanEvents scan) netflowRows "data survives the restart"
            let _, status = get r2 "/druid/indexer/v1/task/index_orphan/status"
            let s = (json status).["status"]
            Expect.equal (s.["status"].GetValue<string>()) "FAILED" "orphan failed"
            Expect.equal (s.["errorMsg"].GetValue<string>()) "Task was still running when the server stopped; it did not complete and published nothing" "reason"
        }

        test "parse exceptions fail the task past maxParseExceptions and publish nothing" {
            use r = start kind []
            let data =
                System.Text.Json.JsonSerializer.Serialize(
                    "{\"timestamp\":\"2018-01-01T00:00:00Z\",\"d\":\"a\"}\n{not json}\n{\"timestamp\":\"2018-01-01T00:00:01Z\",\"d\":\"b\"}")
            let spec (maxParse: int) =
                sprintf """{"type":"index","spec":{"dataSchema":{"dataSource":"bad","timestampSpec":{"column":"timestamp"},"dimensionsSpec":{"dimensions":["d"]}},
                           "ioConfig":{"type":"index","inputSource":{"type":"inline","data":%s},"inputFormat":{"type":"json"}},
                           "tuningConfig":{"type":"index","maxParseExceptions":%d}}}""" data maxParse
            let id, code = runTask r (spec 0)
            Expect.equal code "FAILED" "fails at the first bad row"
            let _, status = get r (sprintf "/druid/indexer/v1/task/%s/status" id)
            Expect.stringStarts ((json status).["status"].["errorMsg"].GetValue<string>()) "Max parse exceptions [0] exceeded" "reason"
            let _, failedReport = get r (sprintf "/druid/indexer/v1/task/%s/reports" id)
            let failedPayload = (json failedReport).["ingestionStatsAndErrors"].["payload"]
            Expect.equal (failedPayload.["ingestionState"].GetValue<string>()) "BUILD_SEGMENTS" "state reached"
            Expect.equal (failedPayload.["rowStats"].["buildSegments"].["unparseable"].GetValue<int64>()) 1L "the bad row is counted"
            Expect.equal (get r "/druid/coordinator/v1/datasources") (200, "[]") "nothing published"
            let id2 = ingest r (spec 1)
            let _, report = get r (sprintf "/druid/indexer/v1/task/%s/reports" id2)
            let payload = (json report).["ingestionStatsAndErrors"].["payload"]
            Expect.equal (payload.["rowStats"].["buildSegments"].["unparseable"].GetValue<int64>()) 1L "one unparseable"
            Expect.equal (payload.["rowStats"].["buildSegments"].["processed"].GetValue<int64>()) 2L "two processed"
            Expect.equal (payload.["unparseableEvents"].["buildSegments"].AsArray().Count) 1 "message kept"
        }

        test "bad submissions get 400 with the JSON path; unknown things get Druid's answers" {
            use r = start kind []
            let code, body = post r "/druid/indexer/v1/task" """{"type":"index","spec":{"dataSchema":{"dataSource":"x"},"ioConfig":{"inputSource":{"type":"inline","data":""},"inputFormat":{"type":"json"}}}}"""
            Expect.equal code 400 "status"
            Expect.equal ((json body).["errorMessage"].GetValue<string>()) "spec.dataSchema: timestampSpec is required but missing" "message"
            Expect.equal (fst (post r "/druid/indexer/v1/task" "{ not json")) 400 "malformed json"
            Expect.equal (post r "/druid/v2" """{"queryType":"timeseries","dataSource":"nope","intervals":"2018/2019","granularity":"all","aggregations":[]}""") (200, "[]") "unknown datasource"
            let qcode, qbody = post r "/druid/v2" """{"queryType":"timeseries","dataSource":"nope","granularity":"all"}"""
            Expect.equal qcode 400 "bad query"
            Expect.equal ((json qbody).["errorMessage"].GetValue<string>()) "intervals is required but missing" "query message"
            Expect.equal (fst (get r "/druid/indexer/v1/task/nope/status")) 404 "unknown task"
        }

        test "allowedBaseDirs rejects other paths with 400" {
            use r = start kind [ "--druid.ingestion.localInputSource.allowedBaseDirs=[\"/nonexistent-allowed\"]" ]
            let code, body = post r "/druid/indexer/v1/task" (rollupSpec ())
            Expect.equal code 400 "status"
            Expect.stringContains ((json body).["errorMessage"].GetValue<string>()) "is not allowed: druid.ingestion.localInputSource.allowedBaseDirs permits only [/nonexistent-allowed]" "message"
        }

        test "parallel workers over gzip and plain files with spills give the perfect rollup" {
            use r = start kind []
            let dir = TestData.tempDir "parallel"
            // 1,200 rows over 4 files (two gzipped), 3 minutes x 4 x 5 keys, so rollup must
            // combine rows from different files, workers and spills.
            let rows = [ for i in 0 .. 1199 -> i % 3, sprintf "a%d" (i % 4), sprintf "b%d" (i % 5), i ]
            let line (m, a, b, n) = sprintf """{"ts":"2020-01-01T00:0%d:%02dZ","a":"%s","b":"%s","n":%d}""" m (n % 60) a b n
            rows |> List.chunkBySize 300 |> List.iteri (fun f chunk ->
                let text = String.Join("\n", chunk |> List.map line)
                if f % 2 = 0 then File.WriteAllText(Path.Combine(dir, sprintf "part%d.json" f), text)
                else
                    use out = File.Create(Path.Combine(dir, sprintf "part%d.json.gz" f))
                    use gz = new Compression.GZipStream(out, Compression.CompressionLevel.Fastest)
                    let bytes = Text.Encoding.UTF8.GetBytes text
                    gz.Write(bytes, 0, bytes.Length))
            // Snapshots kept in memory, and (with a 1-byte budget) spilled to files and read back.
            for dataSource, extraTuning in [ "par", ""; "parspill", "\"maxBytesInMemory\":1," ] do
                let spec =
                    sprintf """{"type":"index_parallel","spec":{"dataSchema":{"dataSource":"%s","timestampSpec":{"column":"ts"},
                               "dimensionsSpec":{"dimensions":["a","b"]},"metricsSpec":[{"type":"count","name":"count"},{"type":"longSum","name":"n","fieldName":"n"}],
                               "granularitySpec":{"segmentGranularity":"hour","queryGranularity":"minute"}},
                               "ioConfig":{"type":"index_parallel","inputSource":{"type":"local","baseDir":"%s","filter":"part*"},"inputFormat":{"type":"json"}},
                               "tuningConfig":{"type":"index_parallel","maxNumConcurrentSubTasks":3,"maxRowsInMemory":25,%s"forceGuaranteedRollup":true,
                                               "partitionsSpec":{"type":"hashed","numShards":2}}}}""" dataSource dir extraTuning
                ingest r spec |> ignore
                let _, scan = post r "/druid/v2" (sprintf """{"queryType":"scan","dataSource":"%s","intervals":"2020/2021","columns":["__time","a","b","count","n"],"resultFormat":"compactedList"}""" dataSource)
                let actual = [ for e in (json (scanEvents scan)).AsArray() -> e.ToJsonString() ] |> List.sort
                let minute m = 1577836800000L + int64 m * 60000L
                let expected =
                    rows
                    |> List.groupBy (fun (m, a, b, _) -> m, a, b)
                    |> List.map (fun ((m, a, b), g) -> sprintf "[%d,\"%s\",\"%s\",%d,%d]" (minute m) a b g.Length (g |> List.sumBy (fun (_, _, _, n) -> n)))
                    |> List.sort
                Expect.equal actual expected (dataSource + ": one row per (minute, a, b) with exact count and sum")
                let _, segments = get r (sprintf "/druid/coordinator/v1/metadata/datasources/%s/segments?full" dataSource)
                Expect.equal [ for s in (json segments).AsArray() -> s.["shardSpec"].["type"].GetValue<string>() ] [ "hashed"; "hashed" ] "two hashed shards"
        }

        test "task listing and payload" {
            use r = start kind []
            let id = ingest r (rollupSpec ())
            let _, complete = get r "/druid/indexer/v1/tasks?state=complete&datasource=rollup-tutorial"
            let listed = (json complete).AsArray()
            Expect.equal listed.Count 1 "one complete task"
            Expect.equal (listed.[0].["id"].GetValue<string>()) id "its id"
            Expect.equal (listed.[0].["statusCode"].GetValue<string>()) "SUCCESS" "status"
            Expect.equal (get r "/druid/indexer/v1/tasks?state=running") (200, "[]") "none running"
            let _, payload = get r (sprintf "/druid/indexer/v1/task/%s" id)
            Expect.equal ((json payload).["payload"].["spec"].["dataSchema"].["dataSource"].GetValue<string>()) "rollup-tutorial" "payload kept"
        }
    ]

[<Tests>]
let tests = testSequenced (testList "Integration" [ storeTests Sqlite; storeTests Postgres ])

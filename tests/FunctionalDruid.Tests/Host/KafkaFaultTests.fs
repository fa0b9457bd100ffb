/// Exactly-once of the Kafka indexing service under real faults: the server runs as its own
/// process and is SIGKILLed at seeded random moments while its tasks read, persist and publish,
/// then started again on the same data dir and metadata store (SQLite and PostgreSQL); brokers
/// of librdkafka's mock cluster go down and up while it ingests. The final sums come from the
/// published segments only and equal the produced messages exactly.
module FunctionalDruid.Tests.Host.KafkaFaultTests

open System
open System.IO
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Host.Config
open FunctionalDruid.Host.Metadata
open FunctionalDruid.Tests
open FunctionalDruid.Tests.ServerHarness
open FunctionalDruid.Tests.ServerProcess
open FunctionalDruid.Tests.Host.KafkaSupport

type KillPoint =
    | WhileReading
    | WhilePersisting
    | WhilePublishing

let private partitions = 4

/// replicas 2 over 2 task groups, persists spilled after 50 rows beyond a tiny byte budget.
let private faultSpec (bootstraps: string) =
    (seedSupervisorSpec bootstraps)
        .Replace("\"replicas\": 2,", "\"replicas\": 2, \"taskCount\": 2,")
        .Replace("\"reportParseExceptions\": false", "\"reportParseExceptions\": false, \"maxRowsInMemory\": 50, \"maxBytesInMemory\": 4096")

/// The data source's offsets as the metadata store holds them.
let storedOffsets (args: string[]) : Map<int, int64> =
    let config = ServerConfig.FromArgs(args, dict [])
    use store = MetadataStoreFactory.Create(config.MetadataType, config.MetadataUri, config.MetadataUser, config.MetadataPassword, config.DataDir)
    store.Initialize()
    match store.GetCommitMetadata "kafkatest" with
    | null -> Map.empty
    | text ->
        match KafkaOffsets.parseMetadataText text with
        | Ok(_, offsets) -> offsets |> Map.toSeq |> Map.ofSeq
        | Error e -> failtestf "stored offsets unreadable: %A" e

/// Intermediate persist files of running tasks (under the data dir's task work dirs).
let persistFiles (dataDir: string) =
    let tasks = Path.Combine(dataDir, "tasks")
    if Directory.Exists tasks then Directory.GetFiles(tasks, "*.fdseg", SearchOption.AllDirectories) else [||]

let private fastPoll (seconds: float) (what: string) (observe: unit -> 'a) (check: 'a -> bool) =
    waitUntilEvery 10 seconds what observe check

let private activeRead (s: Server) =
    let p = statusPayload s "kafkatest"
    let active = p.["activeTasks"].AsArray()
    let read =
        active
        |> Seq.sumBy (fun t ->
            let current = t.["currentOffsets"].AsObject()
            let start = t.["startingOffsets"].AsObject()
            current |> Seq.sumBy (fun kv -> kv.Value.GetValue<int64>() - start.[kv.Key].GetValue<int64>()))
    active.Count, read

let private publishing (s: Server) = (statusPayload s "kafkatest").["publishingTasks"].AsArray().Count

/// Waits for the moment the kill point names, then SIGKILLs the server and starts it again.
let private killAt (s: Server) (dataDir: string) (rnd: Random) (point: KillPoint) =
    match point with
    | WhileReading ->
        fastPoll 30.0 "tasks reading" (fun () -> activeRead s) (fun (n, read) -> n = 2 * 2 && read > 0L) |> ignore
        Threading.Thread.Sleep(rnd.Next(0, 300))
    | WhilePersisting ->
        let before = set (persistFiles dataDir)
        fastPoll 30.0 "a new intermediate persist file" (fun () -> persistFiles dataDir) (Array.exists (before.Contains >> not)) |> ignore
        Threading.Thread.Sleep(rnd.Next(0, 20))
    | WhilePublishing ->
        fastPoll 30.0 "tasks publishing" (fun () -> publishing s) (fun n -> n > 0) |> ignore
        Threading.Thread.Sleep(rnd.Next(0, 60))
    let leftBehind = persistFiles dataDir
    s.Restart()
    Expect.equal (leftBehind |> Array.filter File.Exists) [||] "the killed tasks' persists are discarded at the next start"

/// The end of every scenario: suspend, let the tasks publish, start a fresh process (no task
/// holds rows any more) and compare the published sums and the stored offsets exactly.
let expectExactlyOnce (s: Server) (produced: Produced) =
    let expected = expectedDays produced.Events
    waitUntil 90.0 "sums after the faults" (fun () -> queryDays s (seedQuery ())) (fun d -> d = expected) |> ignore
    Expect.equal (fst (post s "/druid/indexer/v1/supervisor/kafkatest/suspend" "")) 200 "suspend"
    waitIdle s "kafkatest"
    s.Restart()
    Expect.equal ((statusPayload s "kafkatest").["activeTasks"].AsArray().Count) 0 "a suspended supervisor starts no task"
    let published = queryDays s (seedQuery ())
    Expect.equal (List.sumBy snd published) (int64 produced.Events.Length) "row count from the published segments"
    Expect.equal (List.sumBy fst published) (produced.Events |> List.sumBy (fun e -> e.Click)) "click sum from the published segments"
    Expect.equal published expected "every message exactly once in the published segments, per day"
    Expect.equal (storedOffsets s.Args) produced.EndOffsets "the stored offsets are the topic's end offsets"

let private killScenario (kind: StoreKind) (seed: int) =
    use cluster = new KafkaMockCluster.Cluster(3)
    cluster.CreateTopic("adtest", partitions)
    use s = startProcess kind (fastTimings "1200" |> List.map (fun a -> if a = "300" then "200" else a))
    let dataDir = s.Args.[Array.IndexOf(s.Args, "--data-dir") + 1]
    Expect.equal (post s "/druid/indexer/v1/supervisor" (faultSpec cluster.Bootstraps)) (200, """{"id":"kafkatest"}""") "supervisor accepted"
    // useEarliestOffset is false: the first tasks start at the end of the topic, so produce after them.
    waitUntil 30.0 "no active tasks" (fun () -> fst (activeRead s)) (fun n -> n = 4) |> ignore
    let rnd = Random seed
    let produced = Produced(cluster, "adtest", partitions)
    // A steady stream, as in production: 10 messages every 100 ms while the kills go on, so
    // every generation of tasks has something to read, persist and publish.
    let stream = events 20_000 seed |> List.chunkBySize 10 |> Array.ofList
    use stop = new Threading.CancellationTokenSource()
    let producer =
        Threading.Tasks.Task.Run(fun () ->
            let partitionOf = Random(seed + 1)
            let mutable i = 0
            while not stop.IsCancellationRequested && i < stream.Length do
                produced.Send(stream.[i], fun _ -> partitionOf.Next partitions)
                i <- i + 1
                Threading.Thread.Sleep 100)
    // Each kind of kill point seven times, in a seeded random order.
    let points = [ for _ in 1..7 do yield! [ WhileReading; WhilePersisting; WhilePublishing ] ] |> List.sortBy (fun _ -> rnd.Next())
    let started = DateTime.UtcNow
    try
        for point in points do killAt s dataDir rnd point
    finally
        stop.Cancel()
        producer.Wait()
    Expect.equal s.Kills points.Length "one SIGKILL per kill point"
    Expect.equal (List.sumBy snd (expectedDays produced.Events)) (int64 produced.Events.Length) "every event falls inside the seed query's interval"
    expectExactlyOnce s produced
    let segments =
        (json (snd (get s "/druid/coordinator/v1/metadata/datasources/kafkatest/segments?full"))).AsArray()
        |> Seq.map (fun seg -> seg.["shardSpec"].["partitionNum"].GetValue<int>())
    Expect.isGreaterThan (Seq.max segments) 0 "late messages were appended to days that generations before had published"
    printfn "kafka kills (%A): %d SIGKILLs, %d messages, %d segments, %.0f s" kind s.Kills produced.Events.Length (Seq.length segments)
        (DateTime.UtcNow - started).TotalSeconds

[<Tests>]
let tests =
    testSequencedGroup "kafka" <| testList "Kafka faults" [
        test "a server process: SIGKILL ends it with exit code 137 and a new process on the same data dir becomes healthy" {
            use s = startProcess Sqlite []
            let firstPid = s.Pid
            Expect.equal (get s "/status/health") (200, "true") "healthy"
            s.Restart()
            Expect.notEqual s.Pid firstPid "a new process"
            Expect.equal (s.Kills, s.Starts) (1, 2) "one kill, two starts"
            Expect.equal (get s "/status/health") (200, "true") "healthy again"
        }

        test "exactly once on SQLite across 21 SIGKILLs while tasks read, persist and publish" { killScenario Sqlite 41 }

        test "exactly once on PostgreSQL across 21 SIGKILLs while tasks read, persist and publish" { killScenario Postgres 42 }

        test "brokers down and up while a server process ingests, with a SIGKILL during the outage" {
            use cluster = new KafkaMockCluster.Cluster(3)
            cluster.CreateTopic("adtest", 2)
            use s = startProcess Sqlite (fastTimings "1500")
            let produced = Produced(cluster, "adtest", 2)
            brokerOutage cluster s produced (fun () ->
                s.Restart()
                let state =
                    waitUntil 30.0 "the restarted supervisor noticing the outage" (fun () -> (statusPayload s "kafkatest").["detailedState"].GetValue<string>())
                        (fun st -> st = "UNABLE_TO_CONNECT_TO_STREAM")
                Expect.equal state "UNABLE_TO_CONNECT_TO_STREAM" "a supervisor that never reached the brokers")
            expectExactlyOnce s produced
        }
    ]

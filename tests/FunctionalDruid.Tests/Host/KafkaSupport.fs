/// Shared pieces of the Kafka integration tests: the seed's supervisor spec pointed at a mock
/// cluster, generated messages with a naive oracle of the seed query, and polling helpers.
module FunctionalDruid.Tests.Host.KafkaSupport

open System
open System.IO
open System.Text.Json.Nodes
open Expecto
open FunctionalDruid.Tests
open FunctionalDruid.Tests.ServerHarness

let seedText () = File.ReadAllText(Path.Combine(TestData.seedsDir, "kafka-indexing-service-notes.zh.txt"))

/// The seed's supervisor spec exactly as written (comments included), with its brokers
/// replaced by the mock cluster's.
let seedSupervisorSpec (bootstraps: string) =
    let text = seedText ()
    let start = text.IndexOf("{\n    \"type\": \"kafka\"")
    let stop = text.IndexOf("```", start)
    text.Substring(start, stop - start).Replace("hp101:9092,hp102:9092", bootstraps)

let seedQuery () = File.ReadAllText(Path.Combine(examplesDir, "kafkatest-timeseries.json"))

/// Server flags that shrink the supervisor's timings so a test sees several task generations.
let fastTimings (taskDuration: string) =
    [ "--druid.supervisor.override.taskDuration"; taskDuration
      "--druid.supervisor.override.period"; "100"
      "--druid.supervisor.override.startDelay"; "0"
      "--druid.supervisor.override.intermediatePersistPeriod"; "300"
      "--druid.supervisor.override.completionTimeout"; "PT60S" ]

/// A seed-shaped message: millisecond timestamps and numbers as strings.
type Event = { Time: int64; City: string; Platform: string; Click: int64 }

let eventJson (e: Event) =
    sprintf """{"timestamp":"%d","city":"%s","platform":"%s","click":"%d"}""" e.Time e.City e.Platform e.Click

let private cities = [| "beijing"; "shanghai"; "hangzhou"; "shenzhen" |]
let private platforms = [| "pc"; "mobile"; "pad" |]

/// Events spread over 2019-06-01..2019-06-05 (UTC) in a scrambled order, so partitions carry
/// out-of-order and late timestamps; the seed's own message comes first.
let events (count: int) (seed: int) : Event list =
    let rnd = Random(seed)
    let start = 1559347200000L // 2019-06-01T00:00:00Z
    { Time = 1559736155453L; City = "beijing"; Platform = "pc"; Click = 0L }
    :: [ for _ in 2 .. count ->
            { Time = start + rnd.NextInt64(5L * 86_400_000L - 1L)
              City = cities.[rnd.Next cities.Length]
              Platform = platforms.[rnd.Next platforms.Length]
              Click = int64 (rnd.Next 10) } ]

/// The oracle of the seed query: per Asia/Shanghai day, the sum of click and the row count
/// (rollup is false, so count is the number of messages).
let expectedDays (evs: Event list) : (int64 * int64) list =
    let shanghai = 8L * 3_600_000L
    evs
    |> List.filter (fun e -> e.Time >= 1527897600000L && e.Time < 1559779200000L) // 2018-06-02/2019-06-06
    |> List.groupBy (fun e -> (e.Time + shanghai) / 86_400_000L)
    |> List.sortBy fst
    |> List.map (fun (_, es) -> es |> List.sumBy (fun e -> e.Click), int64 es.Length)

/// The non-empty (click, pv) buckets of a timeseries response, in time order.
let days (body: string) : (int64 * int64) list =
    match JsonNode.Parse body with
    | :? JsonArray as rows ->
        [ for row in rows do
            let r = row.["result"]
            let v (name: string) = match r.[name] with null -> 0L | n -> n.GetValue<int64>()
            let click, pv = v "click", v "pv"
            if pv <> 0L then yield click, pv ]
    | _ -> failtestf "not a timeseries result: %s" body

/// Polls every `pollMillis` until `check` holds, failing with the last observation after `seconds`.
let waitUntilEvery (pollMillis: int) (seconds: float) (what: string) (observe: unit -> 'a) (check: 'a -> bool) : 'a =
    let deadline = DateTime.UtcNow.AddSeconds seconds
    let rec loop () =
        let v = observe ()
        if check v then v
        elif DateTime.UtcNow > deadline then failtestf "%s: still %A after %.0f s" what v seconds
        else
            Threading.Thread.Sleep pollMillis
            loop ()
    loop ()

/// Polls until `check` holds, failing with the last observation after `seconds`.
let waitUntil (seconds: float) (what: string) (observe: unit -> 'a) (check: 'a -> bool) : 'a =
    waitUntilEvery 100 seconds what observe check

let queryDays (r: #IServer) (query: string) =
    let code, body = post r "/druid/v2" query
    if code <> 200 then failtestf "query failed with %d: %s" code body
    days body

let statusPayload (r: #IServer) (id: string) =
    let code, body = get r (sprintf "/druid/indexer/v1/supervisor/%s/status" id)
    if code <> 200 then failtestf "status failed with %d: %s" code body
    (json body).["payload"]

let usedSegments (r: #IServer) (ds: string) =
    let code, body = get r (sprintf "/druid/coordinator/v1/metadata/datasources/%s/segments" ds)
    if code = 200 then (json body).AsArray().Count else 0

/// Waits until the supervisor has no task reading or publishing (after suspend/terminate).
let waitIdle (r: #IServer) (id: string) =
    waitUntil 60.0 "tasks still running" (fun () ->
        let p = statusPayload r id
        p.["activeTasks"].AsArray().Count, p.["publishingTasks"].AsArray().Count) (fun (a, b) -> a = 0 && b = 0)
    |> ignore

let roundRobin (partitions: int) (evs: Event list) = evs |> List.mapi (fun i e -> i % partitions, eventJson e)

/// What a test produced to a topic: the events and how many messages each partition got (its
/// end offset, the mock cluster's partitions starting at 0).
type Produced(cluster: KafkaMockCluster.Cluster, topic: string, partitions: int) =
    let mutable all: Event list = []
    let counts = Array.zeroCreate<int64> partitions
    member _.Events = all
    member _.EndOffsets = counts |> Array.mapi (fun p n -> p, n) |> Map.ofArray
    /// Sends a batch, the i-th event of it to partition `partitionOf i`.
    member _.Send(batch: Event list, partitionOf: int -> int) =
        let messages = batch |> List.mapi (fun i e -> partitionOf i, eventJson e)
        cluster.Produce(topic, messages)
        for p, _ in messages do counts.[p] <- counts.[p] + 1L
        all <- all @ batch

/// Every broker goes down while tasks hold rows and comes back; `duringOutage` runs while they
/// are down. Ends once the sums of everything produced are queryable (not yet published).
let brokerOutage (cluster: KafkaMockCluster.Cluster) (r: #IServer) (produced: Produced) (duringOutage: unit -> unit) =
    Expect.equal (fst (post r "/druid/indexer/v1/supervisor" (seedSupervisorSpec cluster.Bootstraps))) 200 "supervisor accepted"
    waitUntil 30.0 "no active tasks" (fun () -> (statusPayload r "kafkatest").["activeTasks"].AsArray().Count) (fun n -> n = 2) |> ignore
    produced.Send(events 300 21, fun i -> i % 2)
    waitUntil 30.0 "sums before the outage" (fun () -> queryDays r (seedQuery ())) (fun d -> d = expectedDays produced.Events) |> ignore
    cluster.AllDown()
    let stateDuringOutage =
        waitUntil 30.0 "the supervisor noticing the outage" (fun () -> (statusPayload r "kafkatest").["detailedState"].GetValue<string>())
            (fun s -> s = "LOST_CONTACT_WITH_STREAM")
    Expect.equal stateDuringOutage "LOST_CONTACT_WITH_STREAM" "state during the outage"
    Expect.equal (queryDays r (seedQuery ())) (expectedDays produced.Events) "nothing lost or doubled during the outage"
    duringOutage ()
    cluster.AllUp()
    produced.Send(events 300 22 |> List.tail, fun i -> i % 2)
    let expected = expectedDays produced.Events
    waitUntil 60.0 "sums after the outage" (fun () -> queryDays r (seedQuery ())) (fun d -> d = expected) |> ignore

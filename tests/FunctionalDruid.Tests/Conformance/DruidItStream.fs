/// The stream cases of the druid-it corpus: each case's supervisor spec (template with an
/// inputFormat or a legacy parser, json/csv/tsv) against librdkafka's mock cluster, the IT's
/// generated events, and its query file while tasks serve the rows and again after hand-off.
module FunctionalDruid.Tests.Conformance.DruidItStream

open System
open System.IO
open System.Text.Json
open Expecto
open FunctionalDruid.Tests
open FunctionalDruid.Tests.ServerHarness
open FunctionalDruid.Tests.Conformance.DruidItCorpus

let private str (e: JsonElement) (key: string) =
    match e.TryGetProperty key with
    | true, v when v.ValueKind = JsonValueKind.String -> Some(v.GetString())
    | _ -> None

let private pairsOf (e: JsonElement) (key: string) =
    match e.TryGetProperty key with
    | true, o when o.ValueKind = JsonValueKind.Object -> [ for p in o.EnumerateObject() -> p.Name, p.Value.GetString() ]
    | _ -> []

let private corpusFile (relative: string) = File.ReadAllText(Path.Combine(corpusRoot, relative))

/// Harness-provided placeholder values: the topic, the brokers, and file contents.
let private resolve (topic: string) (bootstraps: string) (placeholders: (string * string) list) =
    placeholders
    |> List.map (fun (k, v) ->
        if v = "<topic name created by the harness>" then k, topic
        elif v.StartsWith "<contents of " then k, corpusFile (v.Substring(13, v.Length - 14))
        else k, v.Replace("<kafka host:port>", bootstraps))

let private fields =
    [ "timestamp"; "page"; "language"; "user"; "unpatrolled"; "newPage"; "robot"; "anonymous"; "namespace"
      "continent"; "country"; "region"; "city"; "added"; "deleted"; "delta" ]

/// WikipediaStreamEventStreamGenerator's events, serialized as the step says.
let private generatedEvents (step: JsonElement) : string list =
    let first = DateTime.Parse((str step "first_event_time").Value, Globalization.CultureInfo.InvariantCulture, Globalization.DateTimeStyles.AdjustToUniversal ||| Globalization.DateTimeStyles.AssumeUniversal)
    let seconds = step.GetProperty("seconds").GetInt32()
    let perSecond = step.GetProperty("events_per_second").GetInt32()
    let format = defaultArg (str step "format") "json"
    [ for s in 0 .. seconds - 1 do
        for i in 1 .. perSecond do
            let values =
                [ first.AddSeconds(float s).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"); "Gypsy Danger"; "en"; "nuclear"; "true"; "true"; "false"; "false"
                  "article"; "North America"; "United States"; "Bay Area"; "San Francisco"; string i; "0"; string i ]
            match format with
            | "csv" -> yield String.Join(",", values)
            | "tsv" -> yield String.Join("\t", values)
            | _ ->
                let numeric = set [ "added"; "deleted"; "delta" ]
                yield "{" + String.Join(",", List.map2 (fun f (v: string) -> sprintf "\"%s\":%s" f (if numeric.Contains f then v else JsonSerializer.Serialize v)) fields values) + "}" ]

type private Outcome = { Case: string; Query: string; Passed: bool option; Detail: string }

let private outcomes = Collections.Concurrent.ConcurrentQueue<Outcome>()

let private runnableOps = set [ "create_stream"; "submit_supervisor"; "publish_events"; "wait_until"; "run_queries" ]

let private count (r: Running) (ds: string) =
    let q = sprintf """{"queryType":"timeseries","dataSource":"%s","intervals":["1000/3000"],"granularity":"all","aggregations":[{"type":"longSum","name":"c","fieldName":"count"}]}""" ds
    let code, body = post r "/druid/v2" q
    if code <> 200 then -1L
    else
        match (json body).AsArray() |> Seq.tryHead with
        | Some row -> row.["result"].["c"].GetValue<int64>()
        | None -> 0L

let private runQueries (r: Running) (caseName: string) (file: string) (placeholders: (string * string) list) (phase: string) =
    let text = substitute placeholders [] (corpusFile file)
    for i, entry in (parseJson text).EnumerateArray() |> Seq.indexed do
        let query = entry.GetProperty "query"
        let queryType = defaultArg (str query "queryType") "?"
        let title = sprintf "%s #%d %s (%s)" (Path.GetFileName file) i (defaultArg (str entry "description") queryType) phase
        match queryGap (query.GetRawText()) with
        | Some gap -> outcomes.Enqueue { Case = caseName; Query = title; Passed = None; Detail = gap }
        | None ->
            let fieldsToTest =
                match entry.TryGetProperty "fieldsToTest" with
                | true, f -> [ for x in f.EnumerateArray() -> x.GetString() ]
                | _ -> []
            let check =
                { Title = title; Endpoint = Native; QueryText = query.GetRawText(); ExpectedText = (entry.GetProperty "expectedResults").GetRawText()
                  FieldsToTest = fieldsToTest; Unordered = false; Rows = TopLevel }
            let code, body = post r "/druid/v2" check.QueryText
            let result = if code <> 200 then Error(sprintf "HTTP %d: %s" code body) else DruidItConformance.compare check body
            outcomes.Enqueue { Case = caseName; Query = title; Passed = Some result.IsOk; Detail = (match result with Error e -> e | Ok() -> "") }

let private runCase (cluster: KafkaMockCluster.Cluster) (case: JsonElement) =
    let name = (str case "name").Value
    let steps = [ for s in case.GetProperty("steps").EnumerateArray() -> s ]
    match steps |> List.tryFind (fun s -> not (runnableOps.Contains (defaultArg (str s "op") "?"))) with
    | Some s -> outcomes.Enqueue { Case = name; Query = "case"; Passed = None; Detail = sprintf "step op %s (time-dependent expectations) not run" (str s "op").Value }
    | None ->
        let topic = name.Replace('.', '_')
        use r = start Sqlite [ "--druid.supervisor.override.taskDuration"; "PT3S"; "--druid.supervisor.override.period"; "200"
                               "--druid.supervisor.override.startDelay"; "0" ]
        let casePlaceholders = resolve topic cluster.Bootstraps (pairsOf case "placeholders")
        let ds = casePlaceholders |> List.find (fun (k, _) -> k = "%%DATASOURCE%%") |> snd
        let mutable published = 0
        let mutable queryRuns = 0
        for step in steps do
            match (str step "op").Value with
            | "create_stream" -> cluster.CreateTopic(topic, step.GetProperty("partitions").GetInt32())
            | "submit_supervisor" ->
                let placeholders = resolve topic cluster.Bootstraps (pairsOf step "placeholders") @ casePlaceholders
                let code, body = post r "/druid/indexer/v1/supervisor" (substitute placeholders [] (corpusFile (str step "spec").Value))
                if code <> 200 then failtestf "%s: supervisor rejected with %d: %s" name code body
            | "publish_events" ->
                let partitions = step.GetProperty("stream_partitions").GetInt32()
                let events = generatedEvents step
                published <- events.Length
                cluster.Produce(topic, events |> List.mapi (fun i e -> i % partitions, e))
            | "wait_until" when queryRuns = 0 ->
                Host.KafkaSupport.waitUntil 60.0 (name + ": all events counted") (fun () -> count r ds) (fun c -> c = int64 published) |> ignore
            | "wait_until" ->
                // Hand-off: a task of the data source has published and its segments are served.
                Host.KafkaSupport.waitUntil 60.0 (name + ": a completed task") (fun () ->
                    let _, body = get r (sprintf "/druid/indexer/v1/tasks?state=complete&datasource=%s" ds)
                    (json body).AsArray() |> Seq.exists (fun t -> t.["status"].GetValue<string>() = "SUCCESS")) id |> ignore
            | "run_queries" ->
                queryRuns <- queryRuns + 1
                let placeholders = resolve topic cluster.Bootstraps (pairsOf step "placeholders") @ casePlaceholders
                runQueries r name (str step "file").Value placeholders (if queryRuns = 1 then "served by tasks" else "after hand-off")
            | _ -> ()

let private summary () =
    let all = List.ofSeq outcomes
    let run = all |> List.filter (fun o -> o.Passed.IsSome)
    let passed = run |> List.filter (fun o -> o.Passed = Some true) |> List.length
    let notRun = all |> List.filter (fun o -> o.Passed.IsNone)
    let lines =
        [ for o in all do
            match o.Passed with
            | Some true -> ()
            | Some false -> yield sprintf "  FAIL     %s %s: %s" o.Case o.Query o.Detail
            | None -> yield sprintf "  NOT RUN  %s %s: %s" o.Case o.Query o.Detail ]
    sprintf "druid-it stream: %d/%d queries passed, %d not run\n%s" passed run.Length notRun.Length (String.Join("\n", lines)), passed, run.Length

[<Tests>]
let tests =
    testSequencedGroup "kafka" <| testList "Conformance.druid-it.stream" [
        test "stream cases through the supervisor API on the mock cluster" {
            let manifest = parseJson (corpusFile "manifest.json")
            use cluster = new KafkaMockCluster.Cluster(1)
            for case in manifest.GetProperty("cases").EnumerateArray() do
                if str case "kind" = Some "stream" then runCase cluster case
            let text, passed, total = summary ()
            printfn "\n%s\n" text
            Expect.isGreaterThan total 0 "some stream queries ran"
            Expect.equal passed total "every runnable stream query passed"
        }
    ]

/// The live quidem run: plans servers so that no two dataset folders with the same table name
/// share one (the array and multi-value flavours of `test_unnest` do), ingests each server's
/// tables once over HTTP, runs every case and collects the outcomes.
module FunctionalDruid.Tests.Conformance.QuidemLive

open System
open System.Collections.Generic
open System.IO
open FunctionalDruid.Tests
open FunctionalDruid.Tests.ServerHarness
open FunctionalDruid.Tests.Conformance.QuidemFile
open FunctionalDruid.Tests.Conformance.QuidemCorpus
open FunctionalDruid.Tests.Conformance.QuidemCompare
open FunctionalDruid.Tests.Conformance.QuidemRunner

/// The folder sets (`datasets=` of a `!use`) served by one server.
type ServerPlan = { FolderSets: string list list; Tables: TableSpec list }

/// Groups the cases' folder sets onto as few servers as table names allow; every server also
/// holds the classic tables.
let planServers (cases: QuidemCase seq) : ServerPlan list =
    let classic = classicTables ()
    let tablesOf (folderSet: string list) = folderSet |> List.collect (fun f -> defaultArg (folderTables f) [])
    let plans = ResizeArray<string list list * HashSet<string>>()
    for folderSet in cases |> Seq.map (fun c -> c.Datasets) |> Seq.distinct do
        let names = tablesOf folderSet |> List.map (fun t -> t.Table.ToUpperInvariant())
        match plans |> Seq.tryFindIndex (fun (_, taken) -> names |> List.forall (taken.Contains >> not)) with
        | Some i ->
            let sets, taken = plans.[i]
            plans.[i] <- (sets @ [ folderSet ], taken)
            for n in names do taken.Add n |> ignore
        | None -> plans.Add([ folderSet ], HashSet(classic |> List.map (fun t -> t.Table.ToUpperInvariant()) |> Seq.append names))
    [ for sets, _ in plans ->
        { FolderSets = sets
          Tables = classic @ (sets |> List.collect tablesOf |> List.distinctBy (fun t -> t.Source)) } ]

/// Submits every table's task at once, then waits for each; the map holds each table's failure.
let private loadTables (server: Running) (tables: TableSpec list) : Map<string, string> =
    let submitted =
        tables |> List.map (fun t ->
            t,
            t.Spec |> Result.bind (fun spec ->
                let status, body = try post server "/druid/indexer/v1/task" spec with e -> 0, e.Message
                if status = 200 then Ok((json body).["task"].GetValue<string>())
                else Error(sprintf "task submission answered HTTP %d: %s" status (errorMessage body))))
    let deadline = DateTime.UtcNow.AddMinutes 5.0
    let rec waitFor (id: string) =
        let _, body = get server (sprintf "/druid/indexer/v1/task/%s/status" (Uri.EscapeDataString id))
        let status = (json body).["status"]
        match status.["status"].GetValue<string>() with
        | "SUCCESS" -> Ok()
        | "RUNNING" | "PENDING" | "WAITING" when DateTime.UtcNow < deadline ->
            Threading.Thread.Sleep 50
            waitFor id
        | code ->
            let message = match status.["errorMsg"] with null -> body | m -> m.ToString()
            Error(sprintf "task %s: %s" code message)
    submitted
    |> List.choose (fun (t, submission) ->
        match submission |> Result.bind waitFor with
        | Ok() -> None
        | Error e -> Some(t.Table.ToUpperInvariant(), sprintf "%s (%s)" e t.Source))
    |> Map.ofList

type LiveRun =
    { Outcomes: Outcome[]
      /// One line per server: what it holds and which tables failed to load.
      LoadReport: string list }

/// Starts the servers, loads their tables, runs the cases (4 in flight per run) and stops the servers.
let run (cases: QuidemCase[]) : LiveRun =
    let plans = planServers cases
    let servers = plans |> List.map (fun _ -> start Sqlite [])
    try
        let failures = List.map2 (fun server (plan: ServerPlan) -> loadTables server plan.Tables) servers plans
        let serverOf = Dictionary<string list, int>()
        plans |> List.iteri (fun i p -> for s in p.FolderSets do serverOf.[s] <- i)
        let executors = servers |> List.map (fun s -> httpExecutor s.Client) |> Array.ofList
        let failed = Array.ofList failures
        let blocked (case: QuidemCase) =
            match case.Datasets |> List.tryFind (fun f -> (folderTables f).IsNone) with
            | Some folder -> Some(sprintf "dataset folder %s not in the corpus" folder)
            | None ->
                let ids = identifiersOf case.Sql
                failed.[serverOf.[case.Datasets]]
                |> Map.toList |> List.tryFind (fun (table, _) -> ids.Contains table)
                |> Option.map (fun (table, why) -> sprintf "table %s not loaded: %s" (table.ToLowerInvariant()) (normalizeMessage why))
        let outcomes = runCases 4 (fun c -> executors.[serverOf.[c.Datasets]]) blocked cases
        let loadReport =
            List.zip plans failures |> List.mapi (fun i (plan, failure) ->
                let folders = plan.FolderSets |> List.concat |> List.distinct |> List.map (fun f -> f.Replace("sql/src/test/quidem/", ""))
                sprintf "quidem server %d (classic%s): %d/%d tables loaded%s" (i + 1)
                    (String.Join("", folders |> List.map (fun f -> " + " + f))) (plan.Tables.Length - failure.Count) plan.Tables.Length
                    (String.Join("", failure |> Map.toList |> List.map (fun (t, why) -> sprintf "\n    %s: %s" (t.ToLowerInvariant()) why))))
        { Outcomes = outcomes; LoadReport = loadReport }
    finally
        for s in servers do (s :> IDisposable).Dispose()

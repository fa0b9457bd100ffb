/// Starts the real server in-process on a free loopback port with a temporary data dir, on
/// SQLite or on a database of the throw-away PostgreSQL cluster, and talks to it over HTTP.
module FunctionalDruid.Tests.ServerHarness

open System
open System.IO
open System.Net.Http
open System.Text
open System.Text.Json.Nodes
open Expecto
open FunctionalDruid.Host
open FunctionalDruid.Host.Config

type StoreKind =
    | Sqlite
    | Postgres

/// Anything the tests talk to over HTTP: a server in this process or one in its own process.
type IServer =
    abstract Client: HttpClient

type Running =
    { Server: DruidServer
      Client: HttpClient
      DataDir: string
      Args: string[] }
    interface IServer with
        member this.Client = this.Client
    interface IDisposable with
        member this.Dispose() =
            this.Client.Dispose()
            this.Server.DisposeAsync().AsTask().Wait()

let private noEnv = dict [] :> Collections.Generic.IDictionary<string, string>

/// Server flags for a fresh data dir on the given store.
let argsFor (kind: StoreKind) (dataDir: string) (extra: string list) =
    let storeArgs =
        match kind with
        | Sqlite -> [||]
        | Postgres -> (PostgresCluster.require ()).CreateDatabase("it").ServerArgs
    Array.concat [ [| "--port"; "0"; "--data-dir"; dataDir |]; storeArgs; Array.ofList extra ]

let startWith (args: string[]) : Running =
    let config = ServerConfig.FromArgs(args, noEnv)
    let server = DruidServer.Create config
    server.StartAsync().Wait()
    let client = new HttpClient(BaseAddress = Uri server.BaseUrl, Timeout = TimeSpan.FromMinutes 2.0)
    { Server = server; Client = client; DataDir = config.DataDir; Args = args }

let start (kind: StoreKind) (extra: string list) =
    startWith (argsFor kind (TestData.tempDir "server") extra)

/// Stops a server and starts another on the same data dir and store.
let restart (r: Running) : Running =
    (r :> IDisposable).Dispose()
    startWith r.Args

let post (r: #IServer) (path: string) (body: string) : int * string =
    use content = new StringContent(body, Encoding.UTF8, "application/json")
    use response = (r :> IServer).Client.PostAsync(path, content).Result
    int response.StatusCode, response.Content.ReadAsStringAsync().Result

let get (r: #IServer) (path: string) : int * string =
    use response = (r :> IServer).Client.GetAsync(path).Result
    int response.StatusCode, response.Content.ReadAsStringAsync().Result

let json (text: string) = JsonNode.Parse text

/// Compact canonical text of a JSON document (whitespace only; key order and number
/// spelling are kept, so 3 and 3.0 stay different as they are for Druid clients).
let canonical (text: string) = (JsonNode.Parse text).ToJsonString()

let expectJson (actual: string) (expected: string) (message: string) =
    Expect.equal (canonical actual) (canonical expected) message

/// Submits a task and waits for it to finish; returns its id and final status code.
let runTask (r: Running) (spec: string) : string * string =
    let status, body = post r "/druid/indexer/v1/task" spec
    if status <> 200 then failtestf "task submission failed with %d: %s" status body
    let id = (json body).["task"].GetValue<string>()
    let deadline = DateTime.UtcNow.AddMinutes 3.0
    let rec wait () =
        let _, statusBody = get r (sprintf "/druid/indexer/v1/task/%s/status" (Uri.EscapeDataString id))
        let code = (json statusBody).["status"].["status"].GetValue<string>()
        if code <> "RUNNING" then code
        elif DateTime.UtcNow > deadline then failtestf "task %s still running after 3 minutes" id
        else
            Threading.Thread.Sleep 50
            wait ()
    id, wait ()

/// Runs a task and expects SUCCESS, showing the error message otherwise.
let ingest (r: Running) (spec: string) : string =
    let id, code = runTask r spec
    if code <> "SUCCESS" then
        let _, statusBody = get r (sprintf "/druid/indexer/v1/task/%s/status" (Uri.EscapeDataString id))
        failtestf "task %s ended %s: %s" id code statusBody
    id

let tutorialDir = Path.Combine(TestData.conformanceDir, "druid-it", "tutorial")
let examplesDir = Path.Combine(TestData.repoRoot, "examples")

/// A corpus or example file with its relative paths made absolute.
let specFile (path: string) =
    File.ReadAllText(path)
        .Replace("\"quickstart/tutorial\"", "\"" + tutorialDir + "\"")
        .Replace("\"examples\"", "\"" + examplesDir + "\"")

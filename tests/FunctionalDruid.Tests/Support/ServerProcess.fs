/// The real server as a separate OS process (`dotnet FunctionalDruid.Host.dll --port 0 --data-dir
/// D ...`, the README's command line), so a test can SIGKILL it at any instant and start it again
/// on the same data dir and metadata store: nothing of the dead process survives but its files
/// and its database rows, exactly as after a crash.
module FunctionalDruid.Tests.ServerProcess

open System
open System.Collections.Concurrent
open System.Diagnostics
open System.IO
open System.Net.Http
open System.Text.RegularExpressions
open FunctionalDruid.Tests.ServerHarness

/// The Host build next to the test assembly: the test project references the Host project, so
/// every build of the tests (CI's clean checkout included) puts it there with its runtimeconfig.
let hostDll =
    let dll = Path.Combine(AppContext.BaseDirectory, "FunctionalDruid.Host.dll")
    if not (File.Exists dll && File.Exists(Path.ChangeExtension(dll, ".runtimeconfig.json"))) then
        failwithf "%s (with its runtimeconfig.json) is missing: build the test project first" dll
    dll

/// Exit code .NET reports for a process ended by signal 9 (128 + SIGKILL).
let sigkillExitCode = 137

let private listening = Regex(@"listening on (http://\S+?:\d+)", RegexOptions.Compiled)

/// Every server process a test started, so none outlives the test run even if a test crashes.
let private started = ConcurrentDictionary<int, Process>()
do AppDomain.CurrentDomain.ProcessExit.Add(fun _ ->
    for p in started.Values do
        try p.Kill true with _ -> ())

/// One server across any number of kills and restarts; its HTTP client always points at the
/// current process (the port is picked anew by each start).
type Server(args: string[], logPath: string) =
    let mutable proc: Process = null
    let mutable client: HttpClient = null
    let mutable starts = 0
    let mutable kills = 0
    let log = obj ()

    let appendLog (line: string) =
        if not (isNull line) then lock log (fun () -> File.AppendAllText(logPath, line + "\n"))

    let tail () =
        lock log (fun () ->
            if File.Exists logPath then
                File.ReadAllLines logPath |> Array.rev |> Array.truncate 40 |> Array.rev |> String.concat "\n"
            else "")

    let start () =
        let psi = ProcessStartInfo("dotnet", UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true)
        psi.ArgumentList.Add hostDll
        for a in args do psi.ArgumentList.Add a
        // Druid properties may come from the environment; the test's own flags must be all there is.
        for key in psi.Environment.Keys |> Seq.toList do
            if key.StartsWith("druid_", StringComparison.OrdinalIgnoreCase) then psi.Environment.Remove key |> ignore
        let baseUrl = Threading.Tasks.TaskCompletionSource<string>()
        let p = new Process(StartInfo = psi)
        p.OutputDataReceived.Add(fun e ->
            appendLog e.Data
            if not (isNull e.Data) then
                let m = listening.Match e.Data
                if m.Success then baseUrl.TrySetResult m.Groups.[1].Value |> ignore)
        p.ErrorDataReceived.Add(fun e -> appendLog e.Data)
        p.Exited.Add(fun _ -> baseUrl.TrySetException(Exception "the server exited before listening") |> ignore)
        p.EnableRaisingEvents <- true
        appendLog (sprintf "---- start %d" (starts + 1))
        if not (p.Start()) then failwith "dotnet did not start"
        started.[p.Id] <- p
        p.BeginOutputReadLine()
        p.BeginErrorReadLine()
        proc <- p
        starts <- starts + 1
        let url =
            try
                if not (baseUrl.Task.Wait(TimeSpan.FromSeconds 60.0)) then failwith "no 'listening on' line within 60 s"
                baseUrl.Task.Result
            with e -> failwithf "server process did not start: %s\n%s" e.Message (tail ())
        client <- new HttpClient(BaseAddress = Uri url, Timeout = TimeSpan.FromMinutes 2.0)
        // Listening is not enough for a load balancer; health is what Druid clients wait for.
        let deadline = DateTime.UtcNow.AddSeconds 30.0
        let rec healthy () =
            let ok =
                try
                    use r = client.GetAsync("/status/health").Result
                    r.IsSuccessStatusCode && r.Content.ReadAsStringAsync().Result = "true"
                with _ -> false
            if not ok then
                if DateTime.UtcNow > deadline then failwithf "/status/health never answered true\n%s" (tail ())
                Threading.Thread.Sleep 20
                healthy ()
        healthy ()

    do start ()

    member _.Args = args
    member _.Pid = proc.Id
    member _.Starts = starts
    member _.Kills = kills
    member _.LogTail() = tail ()

    /// SIGKILL: the process gets no chance to flush, publish or close anything.
    member _.Kill() =
        let p = proc
        client.Dispose()
        p.Kill false // on Linux this is kill(pid, SIGKILL)
        p.WaitForExit()
        started.TryRemove p.Id |> ignore
        if p.ExitCode <> sigkillExitCode then
            failwithf "the server ended with exit code %d, not by SIGKILL (%d)\n%s" p.ExitCode sigkillExitCode (tail ())
        p.Dispose()
        kills <- kills + 1

    /// A new process on the same data dir and metadata store.
    member this.Restart() =
        this.Kill()
        start ()

    interface IServer with
        member _.Client = client

    interface IDisposable with
        member _.Dispose() =
            if not (isNull proc) && started.ContainsKey proc.Id then
                client.Dispose()
                try proc.Kill true with _ -> ()
                proc.WaitForExit()
                started.TryRemove proc.Id |> ignore
                proc.Dispose()

/// A server process on a fresh data dir and store (SQLite, or a new PostgreSQL database), with
/// its log next to the data dir.
let startProcess (kind: StoreKind) (extra: string list) =
    let dataDir = TestData.tempDir "server-process"
    new Server(argsFor kind dataDir extra, dataDir + ".log")

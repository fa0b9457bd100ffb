/// A throw-away PostgreSQL cluster for the test run (see /work/shared/design/TESTING.md): initdb into
/// a temporary folder, pg_ctl start on a free loopback port, a fresh database per suite, and stop +
/// delete when the process exits. Started at most once per process, on first use.
module FunctionalDruid.Tests.PostgresCluster

open System
open System.Diagnostics
open System.IO
open System.Net
open System.Net.Sockets
open Expecto
open Npgsql

let user = "druid"
let password = "diurd"

/// One database of the cluster, in the forms the server's configuration takes.
type Database =
    { Name: string
      /// Druid's druid.metadata.storage.connector.connectURI
      ConnectUri: string
      User: string
      Password: string
      /// Npgsql connection string, for tests that look into the database directly
      ConnectionString: string }

    /// Server flags that point the metadata store at this database.
    member this.ServerArgs =
        [| "--druid.metadata.storage.type=postgresql"
           "--druid.metadata.storage.connector.connectURI=" + this.ConnectUri
           "--druid.metadata.storage.connector.user=" + this.User
           "--druid.metadata.storage.connector.password=" + this.Password |]

let private runAsRoot = Environment.UserName = "root"

/// Runs a PostgreSQL program; server-side ones must not run as root, so they go through runuser.
let private run (program: string) (args: string list) (asServerUser: bool) =
    let psi =
        if asServerUser && runAsRoot then
            let p = ProcessStartInfo("runuser")
            for a in [ "-u"; "postgres"; "--"; program ] @ args do p.ArgumentList.Add a
            p
        else
            let p = ProcessStartInfo(program)
            for a in args do p.ArgumentList.Add a
            p
    psi.RedirectStandardOutput <- true
    psi.RedirectStandardError <- true
    psi.UseShellExecute <- false
    psi.Environment["PGPASSWORD"] <- password
    use proc = Process.Start psi
    let stdout = proc.StandardOutput.ReadToEndAsync()
    let stderr = proc.StandardError.ReadToEndAsync()
    proc.WaitForExit()
    if proc.ExitCode <> 0 then
        failwithf "%s %s exited with %d:\n%s\n%s" (Path.GetFileName program) (String.Join(" ", args)) proc.ExitCode stdout.Result stderr.Result

/// /usr/lib/postgresql/<version>/bin of the newest installed version.
let private findBinDir () =
    let root = "/usr/lib/postgresql"
    if not (Directory.Exists root) then None
    else
        Directory.GetDirectories root
        |> Array.choose (fun d ->
            let bin = Path.Combine(d, "bin")
            match Double.TryParse(Path.GetFileName d, Globalization.NumberStyles.Float, Globalization.CultureInfo.InvariantCulture) with
            | true, version when File.Exists(Path.Combine(bin, "initdb")) && File.Exists(Path.Combine(bin, "pg_ctl")) -> Some(version, bin)
            | _ -> None)
        |> Array.sortByDescending fst
        |> Array.tryHead
        |> Option.map snd

let private freeLoopbackPort () =
    let listener = new TcpListener(IPAddress.Loopback, 0)
    listener.Start()
    let port = (listener.LocalEndpoint :?> IPEndPoint).Port
    listener.Stop()
    port

type Cluster private (binDir: string, root: string, port: int) =
    let dataDir = Path.Combine(root, "data")
    let mutable stopped = false
    let gate = obj ()

    member _.Port = port
    member _.Root = root

    member _.ConnectionString(database: string) =
        NpgsqlConnectionStringBuilder(Host = "127.0.0.1", Port = port, Database = database, Username = user, Password = password)
            .ConnectionString

    /// A new empty database, named from the prefix and a random suffix.
    member this.CreateDatabase(prefix: string) : Database =
        let name = sprintf "%s_%s" prefix (Guid.NewGuid().ToString("N").Substring(0, 10))
        do
            use connection = new NpgsqlConnection(this.ConnectionString "postgres")
            connection.Open()
            use command = new NpgsqlCommand(sprintf "CREATE DATABASE \"%s\"" name, connection)
            command.ExecuteNonQuery() |> ignore
        { Name = name
          ConnectUri = sprintf "jdbc:postgresql://127.0.0.1:%d/%s" port name
          User = user
          Password = password
          ConnectionString = this.ConnectionString name }

    member _.Stop() =
        lock gate (fun () ->
            if not stopped then
                stopped <- true
                NpgsqlConnection.ClearAllPools()
                try run (Path.Combine(binDir, "pg_ctl")) [ "-D"; dataDir; "-m"; "immediate"; "-w"; "stop" ] true
                with e -> eprintfn "stopping the test PostgreSQL cluster: %s" e.Message
                try Directory.Delete(root, true) with _ -> ())

    static member Start(binDir: string) : Cluster =
        let root = TestData.tempDir "pg"
        let passwordFile = Path.Combine(root, "password")
        File.WriteAllText(passwordFile, password)
        // Another process may take the free port between our probe and postgres binding it.
        let rec start attempt =
            let port = freeLoopbackPort ()
            try
                run (Path.Combine(binDir, "pg_ctl"))
                    [ "-D"; Path.Combine(root, "data"); "-l"; Path.Combine(root, "server.log"); "-w"; "-t"; "60"
                      "-o"; sprintf "-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" port root
                      "start" ] true
                port
            with e when attempt < 3 ->
                eprintfn "PostgreSQL did not start on port %d, retrying: %s" port e.Message
                start (attempt + 1)
        let port =
            try
                if runAsRoot then run "chown" [ "-R"; "postgres:postgres"; root ] false
                run (Path.Combine(binDir, "initdb"))
                    [ "-D"; Path.Combine(root, "data"); "-U"; user; "--pwfile"; passwordFile; "--auth=scram-sha-256"
                      "-E"; "UTF8"; "--locale=C"; "--no-sync" ] true
                start 1
            with _ ->
                (try Directory.Delete(root, true) with _ -> ())
                reraise ()
        let cluster = new Cluster(binDir, root, port)
        AppDomain.CurrentDomain.ProcessExit.Add(fun _ -> cluster.Stop())
        run (Path.Combine(binDir, "createdb")) [ "-h"; "127.0.0.1"; "-p"; string port; "-U"; user; "druid" ] false
        cluster

type Availability =
    | Available of Cluster
    | Unavailable of reason: string

/// The process-wide cluster, started on first use. A cluster that fails to start raises on every
/// use (a broken installation fails tests); missing binaries make it Unavailable (tests skip).
let shared : Lazy<Availability> =
    lazy
        (match findBinDir () with
         | None -> Unavailable "PostgreSQL binaries not found"
         | Some _ when runAsRoot && not (File.ReadAllLines "/etc/passwd" |> Array.exists (fun l -> l.StartsWith "postgres:")) ->
             Unavailable "user postgres not found (initdb cannot run as root)"
         | Some binDir -> Available(Cluster.Start binDir))

let private announced = obj ()
let mutable private skipAnnounced = false

/// The shared cluster, or skips the calling test, printing `skipped: <reason>` once per run.
let require () : Cluster =
    match shared.Force() with
    | Available cluster -> cluster
    | Unavailable reason ->
        lock announced (fun () ->
            if not skipAnnounced then
                skipAnnounced <- true
                printfn "skipped: %s" reason)
        skiptest reason

module FunctionalDruid.Tests.Host.MetadataStoreTests

open System
open System.IO
open System.Threading.Tasks
open Expecto
open FunctionalDruid.Host.Metadata
open FunctionalDruid.Tests

/// Where a suite's stores live: each Open gives a new, uninitialized store on the same database.
type private Target =
    { Open: string -> IMetadataStore
      /// Lower-cased table names, sorted
      Tables: unit -> string list
      /// Lower-cased column names of a table, in table order
      Columns: string -> string list
      Cleanup: unit -> unit }

let private sqliteQuery (path: string) (sql: string) (column: int) =
    use connection = new Microsoft.Data.Sqlite.SqliteConnection(sprintf "Data Source=%s;Pooling=False" path)
    connection.Open()
    use command = connection.CreateCommand()
    command.CommandText <- sql
    use reader = command.ExecuteReader()
    [ while reader.Read() do yield reader.GetValue(column) |> string ]

let private sqliteTarget () =
    let dir = TestData.tempDir "metadata"
    let db = Path.Combine(dir, "metadata.db")
    { Open = fun prefix -> MetadataStoreFactory.Create("sqlite", null, null, null, dir, prefix)
      Tables = fun () ->
        sqliteQuery db "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name" 0
        |> List.map (fun n -> n.ToLowerInvariant())
      Columns = fun table -> sqliteQuery db (sprintf "PRAGMA table_info(%s)" table) 1 |> List.map (fun n -> n.ToLowerInvariant())
      Cleanup = fun () -> try Directory.Delete(dir, true) with _ -> () }

let private postgresQuery (connectionString: string) (sql: string) =
    use connection = new Npgsql.NpgsqlConnection(connectionString)
    connection.Open()
    use command = new Npgsql.NpgsqlCommand(sql, connection)
    use reader = command.ExecuteReader()
    [ while reader.Read() do yield reader.GetString 0 ]

let private postgresTarget () =
    let cluster = PostgresCluster.require ()
    let db = cluster.CreateDatabase "metadata"
    { Open = fun prefix -> MetadataStoreFactory.Create("postgresql", db.ConnectUri, db.User, db.Password, "unused", prefix)
      Tables = fun () ->
        postgresQuery db.ConnectionString "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name"
      Columns = fun table ->
        postgresQuery db.ConnectionString
            (sprintf "SELECT column_name FROM information_schema.columns WHERE table_name = '%s' ORDER BY ordinal_position" (table.ToLowerInvariant()))
      Cleanup = ignore }

/// Runs body against a freshly initialized "druid" store of a new target.
let private withStore (newTarget: unit -> Target) (body: Target -> IMetadataStore -> unit) =
    let target = newTarget ()
    try
        use store = target.Open "druid"
        store.Initialize()
        body target store
    finally
        target.Cleanup()

let private segment (ds: string) (start: string) (finish: string) (version: string) (partition: int) =
    let id = sprintf "%s_%s_%s_%s%s" ds start finish version (if partition = 0 then "" else sprintf "_%d" partition)
    SegmentRecord(id, ds, start, finish, version, partition > 0, true,
                  sprintf """{"dataSource":"%s","interval":"%s/%s","version":"%s","shardSpec":{"partitionNum":%d}}""" ds start finish version partition,
                  "2024-05-01T10:00:00.000Z")

let private d1 = "2024-01-01T00:00:00.000Z"
let private d2 = "2024-01-02T00:00:00.000Z"
let private d3 = "2024-01-03T00:00:00.000Z"
let private v1 = "2024-05-01T00:00:00.000Z"
let private v2 = "2024-05-02T00:00:00.000Z"

let private ids (segments: seq<SegmentRecord>) = segments |> Seq.map (fun s -> s.Id) |> List.ofSeq
let private isoInstant = Text.RegularExpressions.Regex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
let private expectIso (s: string) what = Expect.isTrue (isoInstant.IsMatch s) (sprintf "%s is an ISO instant: %s" what s)

let private commit ds (old: string option) (next: string) = DataSourceCommit(ds, Option.toObj old, next)

let private storeTests (kind: string) (newTarget: unit -> Target) =
    let case name body = test name { withStore newTarget body }
    testList kind [
        case "Druid's tables and segment columns are created" <| fun target store ->
            Expect.equal store.Kind kind "kind"
            Expect.equal (target.Tables())
                [ "druid_audit"; "druid_config"; "druid_datasource"; "druid_pendingsegments"; "druid_rules"
                  "druid_segments"; "druid_supervisors"; "druid_tasklocks"; "druid_tasks" ] "tables"
            Expect.equal (target.Columns "druid_segments")
                [ "id"; "datasource"; "created_date"; "start"; "end"; "partitioned"; "version"; "used"; "payload"; "used_status_last_updated" ] "segments"
            Expect.equal (target.Columns "druid_tasks")
                [ "id"; "created_date"; "datasource"; "payload"; "status_payload"; "active"; "type"; "group_id" ] "tasks"

        case "publish, read, mark unused and used, delete" <| fun _ store ->
            let a1 = segment "wiki" d1 d2 v1 0
            let a2 = segment "wiki" d1 d2 v1 1
            let b = segment "wiki" d2 d3 v1 0
            let k = segment "koalas" d1 d2 v2 0
            Expect.equal (store.PublishSegments [| b; a2; k; a1 |]) CommitOutcome.Committed "publish"
            Expect.equal (List.ofSeq (store.GetUsedSegments())) [ k; a1; a2; b ] "all used, ordered by dataSource then interval"
            Expect.equal (List.ofSeq (store.GetUsedSegments "wiki")) [ a1; a2; b ] "one dataSource"
            Expect.equal (List.ofSeq (store.GetDataSources())) [ "koalas"; "wiki" ] "dataSources"
            Expect.equal (store.MarkSegmentsUnused [ a1.Id; "no-such-segment" ]) 1 "marked"
            Expect.equal (store.MarkSegmentsUnused [ a1.Id ]) 0 "already unused"
            Expect.equal (ids (store.GetUsedSegments "wiki")) [ a2.Id; b.Id ] "used after marking"
            Expect.equal (List.ofSeq (store.GetAllSegments "wiki")) [ SegmentRecord(a1.Id, "wiki", d1, d2, v1, false, false, a1.Payload, a1.CreatedDate); a2; b ] "all keeps unused"
            Expect.equal (store.MarkDataSourceUnused "koalas") 1 "whole dataSource"
            Expect.equal (List.ofSeq (store.GetDataSources())) [ "wiki" ] "used dataSources"
            Expect.equal (List.ofSeq (store.GetDataSources false)) [ "koalas"; "wiki" ] "every dataSource"
            Expect.equal (store.MarkSegmentsUsed [ a1.Id; a2.Id ]) 1 "only the unused one changes"
            Expect.equal (ids (store.GetUsedSegments "wiki")) [ a1.Id; a2.Id; b.Id ] "used again"
            Expect.equal (store.DeleteSegments [ k.Id; "no-such-segment" ]) 1 "deleted"
            Expect.equal (List.ofSeq (store.GetDataSources false)) [ "wiki" ] "koalas gone"

        case "publishing a new version marks the old one unused in the same transaction" <| fun _ store ->
            let old = segment "wiki" d1 d2 v1 0
            let replacement = segment "wiki" d1 d2 v2 0
            store.PublishSegments [| old |] |> ignore
            Expect.equal (store.PublishSegments([| replacement |], markUnused = [| old.Id |])) CommitOutcome.Committed "publish"
            Expect.equal (ids (store.GetUsedSegments "wiki")) [ replacement.Id ] "only the new version is used"
            Expect.equal (ids (store.GetAllSegments "wiki")) [ old.Id; replacement.Id ] "old kept as unused"

        case "publishing the same ids again inserts nothing twice" <| fun _ store ->
            let a = segment "wiki" d1 d2 v1 0
            let b = segment "wiki" d2 d3 v1 0
            let c = segment "wiki" d2 d3 v1 1
            store.PublishSegments [| a; b |] |> ignore
            let changedA = SegmentRecord(a.Id, a.DataSource, a.Start, a.End, a.Version, a.Partitioned, a.Used, """{"changed":true}""", a.CreatedDate)
            Expect.equal (store.PublishSegments [| changedA; c; b |]) CommitOutcome.Committed "second publish"
            Expect.equal (List.ofSeq (store.GetAllSegments "wiki")) [ a; b; c ] "a keeps its first payload, c is added"

        case "commit metadata compare-and-swap succeeds on the expected value" <| fun _ store ->
            let s1 = segment "wiki" d1 d2 v1 0
            let s2 = segment "wiki" d2 d3 v1 0
            Expect.equal (store.GetCommitMetadata "wiki") null "nothing yet"
            Expect.equal (store.PublishSegments([| s1 |], commit "wiki" None """{"offset":1}""")) CommitOutcome.Committed "first"
            Expect.equal (store.GetCommitMetadata "wiki") """{"offset":1}""" "stored"
            Expect.equal (store.PublishSegments([| s2 |], commit "wiki" (Some """{"offset":1}""") """{"offset":2}""")) CommitOutcome.Committed "second"
            Expect.equal (store.GetCommitMetadata "wiki") """{"offset":2}""" "swapped"
            Expect.equal (ids (store.GetUsedSegments "wiki")) [ s1.Id; s2.Id ] "both published"
            Expect.equal (store.GetCommitMetadata "koalas") null "other dataSource untouched"

        case "commit metadata mismatch writes nothing" <| fun _ store ->
            let s1 = segment "wiki" d1 d2 v1 0
            let s2 = segment "wiki" d2 d3 v1 0
            store.PublishSegments([| s1 |], commit "wiki" None "A") |> ignore
            Expect.equal (store.PublishSegments([| s2 |], commit "wiki" (Some "X") "B", [| s1.Id |])) CommitOutcome.MetadataMismatch "wrong old value"
            Expect.equal (store.PublishSegments([| s2 |], commit "wiki" None "B", [| s1.Id |])) CommitOutcome.MetadataMismatch "row exists but none expected"
            Expect.equal (store.PublishSegments([| s2 |], commit "koalas" (Some "A") "B")) CommitOutcome.MetadataMismatch "no row but one expected"
            Expect.equal (store.GetCommitMetadata "wiki") "A" "metadata unchanged"
            Expect.equal (store.GetCommitMetadata "koalas") null "no metadata created"
            Expect.equal (List.ofSeq (store.GetAllSegments "wiki")) [ s1 ] "no segment added, none marked unused"
            Expect.isTrue (store.DeleteCommitMetadata "wiki") "deleted"
            Expect.isFalse (store.DeleteCommitMetadata "wiki") "already gone"
            Expect.equal (store.PublishSegments([| s2 |], commit "wiki" None "C")) CommitOutcome.Committed "fresh start after delete"
            Expect.equal (store.GetCommitMetadata "wiki") "C" "restarted"

        case "tasks: insert, duplicate, status update, filters and newest-first order" <| fun _ store ->
            let t1 = TaskRecord("index_wiki_1", "2024-05-01T00:00:01.000Z", "wiki", "index_parallel", """{"id":"index_wiki_1"}""", """{"status":"RUNNING"}""", true, "group_1")
            let t2 = TaskRecord("index_koalas_1", "2024-05-01T00:00:03.000Z", "koalas", "index_kafka", """{"id":"index_koalas_1"}""", null, true)
            let t3 = TaskRecord("kill_wiki_1", "2024-05-01T00:00:02.000Z", "wiki", "kill", """{"id":"kill_wiki_1"}""", """{"status":"SUCCESS"}""", false)
            for t in [ t1; t2; t3 ] do store.InsertTask t
            Expect.throwsT<DuplicateTaskException> (fun () -> store.InsertTask(TaskRecord("index_wiki_1", d1, "other", "x", "{}", null, true)))
            Expect.equal (store.GetTask "index_wiki_1") t1 "duplicate left the first one as it was"
            let taskIds (tasks: seq<TaskRecord>) = tasks |> Seq.map (fun t -> t.Id) |> List.ofSeq
            Expect.equal (List.ofSeq (store.GetTasks())) [ t2; t3; t1 ] "newest first"
            Expect.equal (taskIds (store.GetTasks(active = true))) [ "index_koalas_1"; "index_wiki_1" ] "active"
            Expect.equal (taskIds (store.GetTasks(active = false))) [ "kill_wiki_1" ] "complete"
            Expect.equal (taskIds (store.GetTasks(dataSource = "wiki"))) [ "kill_wiki_1"; "index_wiki_1" ] "by dataSource"
            Expect.equal (taskIds (store.GetTasks(active = true, dataSource = "wiki"))) [ "index_wiki_1" ] "both filters"
            Expect.equal (taskIds (store.GetTasks(limit = 2))) [ "index_koalas_1"; "kill_wiki_1" ] "limit"
            Expect.isTrue (store.UpdateTaskStatus("index_wiki_1", """{"status":"SUCCESS"}""", false)) "updated"
            Expect.isFalse (store.UpdateTaskStatus("no_such_task", "{}", false)) "missing task"
            Expect.equal (store.GetTask "index_wiki_1")
                (TaskRecord("index_wiki_1", "2024-05-01T00:00:01.000Z", "wiki", "index_parallel", """{"id":"index_wiki_1"}""", """{"status":"SUCCESS"}""", false, "group_1")) "after update"
            Expect.equal (taskIds (store.GetTasks(active = true))) [ "index_koalas_1" ] "no longer active"
            Expect.isNull (store.GetTask "no_such_task") "missing"

        case "task locks" <| fun _ store ->
            let l1 = store.AddTaskLock("t1", """{"interval":"a"}""")
            let l2 = store.AddTaskLock("t1", """{"interval":"b"}""")
            let l3 = store.AddTaskLock("t2", """{"interval":"c"}""")
            Expect.isTrue (l1 < l2 && l2 < l3) "ids increase"
            Expect.equal (List.ofSeq (store.GetTaskLocks()))
                [ TaskLockRecord(l1, "t1", """{"interval":"a"}"""); TaskLockRecord(l2, "t1", """{"interval":"b"}"""); TaskLockRecord(l3, "t2", """{"interval":"c"}""") ] "all"
            store.RemoveTaskLock l1
            Expect.equal (List.ofSeq (store.GetTaskLocks "t1")) [ TaskLockRecord(l2, "t1", """{"interval":"b"}""") ] "t1 after removal"
            Expect.equal (List.ofSeq (store.GetTaskLocks "t3")) [] "none"

        case "pending segments" <| fun _ store ->
            let p1 = PendingSegmentRecord("wiki_a_1", "wiki", v1, d1, d2, "seq", "", """{"id":1}""")
            let p2 = PendingSegmentRecord("wiki_a_2", "wiki", v1, d1, d2, "seq", "wiki_a_1", """{"id":2}""")
            let p3 = PendingSegmentRecord("wiki_b_1", "wiki", v1, d2, d3, "seq", "", """{"id":3}""")
            Expect.isTrue (store.InsertPendingSegment p1) "first"
            Expect.isFalse (store.InsertPendingSegment(PendingSegmentRecord("wiki_a_9", "wiki", v1, d1, d2, "seq", "", "{}"))) "same sequence, previous id and interval"
            Expect.isFalse (store.InsertPendingSegment(PendingSegmentRecord("wiki_a_1", "wiki", v1, d1, d2, "other", "", "{}"))) "same id"
            Expect.isTrue (store.InsertPendingSegment p3) "same sequence and previous id, other interval"
            Expect.isTrue (store.InsertPendingSegment p2) "next in sequence"
            Expect.equal (store.FindPendingSegment("wiki", "seq", "", d1, d2)) p1 "found again"
            Expect.equal (store.FindPendingSegment("wiki", "seq", "wiki_a_1", d1, d2)) p2 "successor"
            Expect.isNull (store.FindPendingSegment("wiki", "seq", "wiki_a_2", d1, d2)) "not allocated"
            Expect.isNull (store.FindPendingSegment("koalas", "seq", "", d1, d2)) "other dataSource"
            Expect.equal (List.ofSeq (store.GetPendingSegments "wiki")) [ p1; p2; p3 ] "ordered by interval then id"
            Expect.equal (store.DeletePendingSegments "koalas") 0 "nothing there"
            Expect.equal (store.DeletePendingSegments "wiki") 3 "deleted"
            Expect.equal (List.ofSeq (store.GetPendingSegments "wiki")) [] "gone"

        case "supervisors: latest per spec and history" <| fun _ store ->
            let a1 = store.InsertSupervisor("wiki_kafka", """{"v":1}""")
            let b1 = store.InsertSupervisor("koalas_kafka", """{"v":1}""")
            let a2 = store.InsertSupervisor("wiki_kafka", """{"v":2}""")
            let latest = store.GetLatestSupervisors()
            Expect.equal [ for s in latest -> s.Id, s.SpecId, s.Payload ] [ b1, "koalas_kafka", """{"v":1}"""; a2, "wiki_kafka", """{"v":2}""" ] "latest"
            Expect.equal [ for s in store.GetSupervisorHistory "wiki_kafka" -> s.Id, s.Payload ] [ a2, """{"v":2}"""; a1, """{"v":1}""" ] "history newest first"
            Expect.equal (List.ofSeq (store.GetSupervisorHistory "none")) [] "unknown spec"
            for s in latest do expectIso s.CreatedDate "created_date"

        case "rules are versioned and audited" <| fun _ store ->
            Expect.isNull (store.GetRules "wiki") "no rules"
            store.SetRules("wiki", """[{"type":"loadForever"}]""", "alice", "first")
            store.SetRules("wiki", """[{"type":"dropForever"}]""", "bob", "second")
            store.SetRules("_default", """[{"type":"loadForever","tieredReplicants":{"_default_tier":2}}]""", "system", "")
            Expect.equal (store.GetRules "wiki") """[{"type":"dropForever"}]""" "newest version wins"
            Expect.equal (store.GetAllRules() |> Seq.map (fun kv -> kv.Key, kv.Value) |> Seq.sort |> List.ofSeq)
                [ "_default", """[{"type":"loadForever","tieredReplicants":{"_default_tier":2}}]"""; "wiki", """[{"type":"dropForever"}]""" ] "all"
            Expect.equal [ for a in store.GetAudit("wiki", "rules") -> a.Key, a.Type, a.Author, a.Comment, a.Payload ]
                [ "wiki", "rules", "alice", "first", """[{"type":"loadForever"}]"""; "wiki", "rules", "bob", "second", """[{"type":"dropForever"}]""" ] "audit"

        case "audit entries by key and type, oldest first, limit keeps the newest" <| fun _ store ->
            let e1 = store.AddAudit("wiki", "compaction", "alice", "c1", "p1")
            let _ = store.AddAudit("wiki", "compaction", "bob", "c2", "p2")
            let _ = store.AddAudit("koalas", "compaction", "carol", "c3", "p3")
            let _ = store.AddAudit("wiki", "rules", "dave", "c4", "p4")
            let payloads (entries: seq<AuditRecord>) = entries |> Seq.map (fun a -> a.Payload) |> List.ofSeq
            Expect.equal (payloads (store.GetAudit("wiki", "compaction"))) [ "p1"; "p2" ] "by key and type"
            Expect.equal (payloads (store.GetAudit(null, "compaction"))) [ "p1"; "p2"; "p3" ] "every key"
            Expect.equal (payloads (store.GetAudit(null, "compaction", limit = 2))) [ "p2"; "p3" ] "limit"
            let first = store.GetAudit("wiki", "compaction").[0]
            Expect.equal (first.Id, first.Key, first.Type, first.Author, first.Comment) (e1, "wiki", "compaction", "alice", "c1") "fields"
            expectIso first.CreatedDate "created_date"

        case "config entries are replaced" <| fun _ store ->
            Expect.isNull (store.GetConfig "coordinator.config") "none"
            store.SetConfig("coordinator.config", """{"maxSegmentsToMove":5}""")
            store.SetConfig("coordinator.config", """{"maxSegmentsToMove":100}""")
            Expect.equal (store.GetConfig "coordinator.config") """{"maxSegmentsToMove":100}""" "replaced"

        case "initializing again keeps the data; another prefix gets its own tables" <| fun target store ->
            let s = segment "wiki" d1 d2 v1 0
            store.PublishSegments([| s |], commit "wiki" None "A") |> ignore
            store.InsertTask(TaskRecord("t1", d1, "wiki", "index", "{}", null, true))
            store.Initialize()
            use again = target.Open "druid"
            again.Initialize()
            again.Initialize()
            Expect.equal (List.ofSeq (again.GetUsedSegments())) [ s ] "segments survive"
            Expect.equal (again.GetCommitMetadata "wiki") "A" "commit metadata survives"
            Expect.equal ((again.GetTask "t1").DataSource) "wiki" "tasks survive"
            use other = target.Open "custom"
            other.Initialize()
            Expect.equal (List.ofSeq (other.GetUsedSegments())) [] "separate tables"
            Expect.contains (target.Tables()) "custom_segments" "prefixed table"

        case "concurrent publishes from several threads and two store instances all land" <| fun target store ->
            use second = target.Open "druid"
            second.Initialize()
            let threads, perThread = 8, 20
            let work thread =
                Task.Run(fun () ->
                    let s = if thread % 2 = 0 then store else second
                    for i in 0 .. perThread - 1 do
                        let seg = segment (sprintf "ds%d" thread) d1 d2 v1 (i + 1)
                        Expect.equal (s.PublishSegments [| seg |]) CommitOutcome.Committed "publish")
            Task.WaitAll [| for t in 0 .. threads - 1 -> work t |]
            let used = store.GetUsedSegments()
            Expect.equal used.Count (threads * perThread) "every segment landed"
            Expect.equal (used |> Seq.map (fun s -> s.Id) |> Seq.distinct |> Seq.length) (threads * perThread) "no duplicates"
            Expect.equal (List.ofSeq (store.GetDataSources())) [ for t in 0 .. threads - 1 -> sprintf "ds%d" t ] "dataSources"

        case "concurrent compare-and-swap never loses an update" <| fun target store ->
            use second = target.Open "druid"
            second.Initialize()
            let threads, perThread = 4, 10
            let work thread =
                Task.Run(fun () ->
                    let s = if thread % 2 = 0 then store else second
                    let mutable done' = 0
                    while done' < perThread do
                        let old = s.GetCommitMetadata "counter"
                        let current = if isNull old then 0 else int old
                        let next = string (current + 1)
                        let seg = segment "counter" d1 d2 v1 (current + 1)
                        match s.PublishSegments([| seg |], DataSourceCommit("counter", old, next)) with
                        | CommitOutcome.Committed -> done' <- done' + 1
                        | _ -> ())
            Task.WaitAll [| for t in 0 .. threads - 1 -> work t |]
            Expect.equal (store.GetCommitMetadata "counter") (string (threads * perThread)) "every increment counted once"
            Expect.equal (store.GetUsedSegments "counter").Count (threads * perThread) "one segment per successful swap"
    ]

let private connectionParts (connectionString: string) =
    let b = Npgsql.NpgsqlConnectionStringBuilder(connectionString)
    b.Host, b.Port, b.Database, b.Username, b.Password

[<Tests>]
let tests =
    testList "MetadataStore" [
        storeTests "sqlite" sqliteTarget
        storeTests "postgresql" postgresTarget

        test "sqlite keeps one WAL-mode file in the data dir" {
            let dir = TestData.tempDir "metadata"
            try
                use store = MetadataStoreFactory.Create("sqlite", null, null, null, dir)
                store.Initialize()
                let path = Path.Combine(dir, "metadata.db")
                Expect.equal (store :?> SqliteMetadataStore).DatabasePath path "path"
                Expect.isTrue (File.Exists path) "metadata.db"
                Expect.equal (sqliteQuery path "PRAGMA journal_mode" 0) [ "wal" ] "journal mode"
            finally
                try Directory.Delete(dir, true) with _ -> ()
        }

        test "derby means the embedded store; unknown kinds and prefixes are refused" {
            let dir = TestData.tempDir "metadata"
            try
                use store = MetadataStoreFactory.Create("derby", "jdbc:derby://localhost:1527/var/druid/metadata.db;create=true", null, null, dir)
                Expect.equal store.Kind "sqlite" "derby"
                let message (f: unit -> IMetadataStore) = try f () |> ignore; "" with :? ArgumentException as e -> e.Message
                Expect.equal (message (fun () -> MetadataStoreFactory.Create("mysql", null, null, null, dir)))
                    "druid.metadata.storage.type must be sqlite or postgresql, got \"mysql\"" "mysql"
                Expect.equal (message (fun () -> MetadataStoreFactory.Create("postgresql", " ", null, null, dir)))
                    "druid.metadata.storage.type=postgresql needs druid.metadata.storage.connector.connectURI" "no uri"
                Expect.equal (message (fun () -> MetadataStoreFactory.Create("sqlite", null, null, null, dir, "druid; DROP TABLE x")))
                    "druid.metadata.storage.tables.base must be letters, digits and underscores, got \"druid; DROP TABLE x\"" "prefix"
            finally
                try Directory.Delete(dir, true) with _ -> ()
        }

        test "JDBC connectURIs become Npgsql connection strings" {
            let convert uri user password = connectionParts (PostgresConnectionString.FromConnectUri(uri, user, password))
            Expect.equal (convert "jdbc:postgresql://db.example.com:5433/druid" "druid" "secret")
                ("db.example.com", 5433, "druid", "druid", "secret") "host, port, database, credentials"
            Expect.equal (convert "jdbc:postgresql://db.example.com/metadata" "u" null)
                ("db.example.com", 5432, "metadata", "u", null) "default port"
            Expect.equal (convert "jdbc:postgresql:druid" null null) ("localhost", 5432, "druid", null, null) "database only"
            Expect.equal (convert "jdbc:postgresql://[::1]:6000/druid?user=a&password=p%40ss" null null)
                ("::1", 6000, "druid", "a", "p@ss") "IPv6 and URL parameters"
            Expect.equal (convert "jdbc:postgresql://h/druid?user=a&password=b" "c" "d") ("h", 5432, "druid", "c", "d") "properties win"
            Expect.equal (convert "postgresql://a:b@h:7000/druid" null null) ("h", 7000, "druid", "a", "b") "libpq URI"
            Expect.equal (convert "Host=h;Port=7001;Database=x" "u" "p") ("h", 7001, "x", "u", "p") "Npgsql form"
            let multi = Npgsql.NpgsqlConnectionStringBuilder(PostgresConnectionString.FromConnectUri("jdbc:postgresql://h1:5432,h2:5433/druid?targetServerType=primary&sslmode=require&currentSchema=meta", null, null))
            Expect.equal (multi.Host, multi.TargetSessionAttributes, multi.SslMode, multi.SearchPath)
                ("h1:5432,h2:5433", "primary", Npgsql.SslMode.Require, "meta") "several hosts and parameters"
            Expect.throwsT<ArgumentException> (fun () -> PostgresConnectionString.FromConnectUri("jdbc:mysql://h/druid", null, null) |> ignore) "not PostgreSQL"
        }
    ]

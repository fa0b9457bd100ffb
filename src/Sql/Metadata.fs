/// INFORMATION_SCHEMA and sys tables, with Druid's (upper-case / lower-case) column names,
/// built from the catalog the Host supplies.
module FunctionalDruid.Sql.Metadata

open FunctionalDruid.Core

let private s (x: string) = if isNull x then Value.Null else Value.String x
let private l (x: int64) = Value.Long x
let private b (x: bool) = Value.Long(if x then 1L else 0L)

let private v = SqlType.Varchar
let private n = SqlType.Bigint

let private schemataColumns = [ "CATALOG_NAME", v; "SCHEMA_NAME", v; "SCHEMA_OWNER", v; "DEFAULT_CHARACTER_SET_CATALOG", v; "DEFAULT_CHARACTER_SET_SCHEMA", v; "DEFAULT_CHARACTER_SET_NAME", v; "SQL_PATH", v ]
let private tablesColumns = [ "TABLE_CATALOG", v; "TABLE_SCHEMA", v; "TABLE_NAME", v; "TABLE_TYPE", v; "IS_JOINABLE", v; "IS_BROADCAST", v ]
let private columnsColumns =
    [ "TABLE_CATALOG", v; "TABLE_SCHEMA", v; "TABLE_NAME", v; "COLUMN_NAME", v; "ORDINAL_POSITION", n; "COLUMN_DEFAULT", v; "IS_NULLABLE", v
      "DATA_TYPE", v; "CHARACTER_MAXIMUM_LENGTH", n; "CHARACTER_OCTET_LENGTH", n; "NUMERIC_PRECISION", n; "NUMERIC_PRECISION_RADIX", n
      "NUMERIC_SCALE", n; "DATETIME_PRECISION", n; "CHARACTER_SET_NAME", v; "COLLATION_NAME", v; "JDBC_TYPE", n ]

let private sysTables = [ "segments"; "server_segments"; "servers"; "supervisors"; "tasks" ]
let private infoTables = [ "COLUMNS"; "ROUTINES"; "SCHEMATA"; "TABLES" ]

let private segmentsColumns =
    [ "segment_id", v; "datasource", v; "start", v; "end", v; "size", n; "version", v; "partition_num", n; "num_replicas", n; "num_rows", n
      "is_active", n; "is_published", n; "is_available", n; "is_realtime", n; "is_overshadowed", n; "shard_spec", v; "dimensions", v
      "metrics", v; "last_compaction_state", v; "replication_factor", n ]
let private tasksColumns =
    [ "task_id", v; "group_id", v; "type", v; "datasource", v; "created_time", v; "queue_insertion_time", v; "status", v; "runner_status", v
      "duration", n; "location", v; "host", v; "plaintext_port", n; "tls_port", n; "error_msg", v ]
let private serversColumns =
    [ "server", v; "host", v; "plaintext_port", n; "tls_port", n; "server_type", v; "tier", v; "curr_size", n; "max_size", n; "is_leader", n
      "start_time", v ]
let private serverSegmentsColumns = [ "server", v; "segment_id", v ]
let private supervisorsColumns =
    [ "supervisor_id", v; "state", v; "detailed_state", v; "healthy", n; "type", v; "source", v; "suspended", n; "spec", v ]

/// The column type Druid reports for a native column type in INFORMATION_SCHEMA.COLUMNS
/// (complex columns by their native name, e.g. `COMPLEX<json>`).
let private dataType (name: string) (t: ColumnType) =
    if name = "__time" then "TIMESTAMP"
    else
        match SqlType.ofColumnType t with
        | SqlType.Other nativeName -> nativeName
        | sqlType -> sqlType.SqlName

let private jdbcType (dataType: string) =
    match dataType with
    | "TIMESTAMP" -> 93L
    | "BIGINT" -> -5L
    | "DOUBLE" -> 8L
    | "FLOAT" -> 6L
    | "VARCHAR" -> 12L
    | _ -> 1111L

/// Columns and rows of a metadata table, or None when the schema is not a metadata schema.
let table (catalog: ICatalog) (schema: string) (name: string) : ((string * SqlType) list * Value[] list) option =
    match schema, name with
    | "INFORMATION_SCHEMA", "SCHEMATA" ->
        Some(schemataColumns, [ for sch in [ "druid"; "INFORMATION_SCHEMA"; "lookup"; "sys"; "view" ] -> [| s "druid"; s sch; Value.Null; Value.Null; Value.Null; Value.Null; Value.Null |] ])
    | "INFORMATION_SCHEMA", "TABLES" ->
        let row sch t typ joinable = [| s "druid"; s sch; s t; s typ; s joinable; s joinable |]
        Some(
            tablesColumns,
            [ for ds in catalog.DataSources() -> row "druid" ds "TABLE" "NO"
              for t in infoTables -> row "INFORMATION_SCHEMA" t "SYSTEM_TABLE" "NO"
              for t in sysTables -> row "sys" t "SYSTEM_TABLE" "NO" ])
    | "INFORMATION_SCHEMA", "COLUMNS" ->
        Some(
            columnsColumns,
            [ for ds in catalog.DataSources() do
                  for i, (c, t) in List.indexed (catalog.ColumnsOf ds) do
                      let dt = dataType c t
                      let nullable = if c = "__time" then "NO" else "YES"
                      yield
                          [| s "druid"; s "druid"; s ds; s c; l (int64 (i + 1)); Value.Null; s nullable; s dt; Value.Null; Value.Null; Value.Null
                             Value.Null; Value.Null; Value.Null; Value.Null; Value.Null; l (jdbcType dt) |] ])
    | "INFORMATION_SCHEMA", "ROUTINES" -> Some([ "ROUTINE_CATALOG", v; "ROUTINE_SCHEMA", v; "ROUTINE_NAME", v; "ROUTINE_TYPE", v ], [])
    | "sys", "segments" ->
        Some(
            segmentsColumns,
            [ for g in catalog.Segments() ->
                  [| s g.SegmentId; s g.DataSource; s g.Start; s g.End; l g.Size; s g.Version; l (int64 g.PartitionNum); l (if g.IsAvailable then 1L else 0L)
                     l g.NumRows; b (g.IsPublished && not g.IsOvershadowed); b g.IsPublished; b g.IsAvailable; l 0L; b g.IsOvershadowed; s g.ShardSpec
                     s g.Dimensions; s g.Metrics; Value.Null; l 1L |] ])
    | "sys", "tasks" ->
        Some(
            tasksColumns,
            [ for t in catalog.Tasks() ->
                  [| s t.TaskId; s t.GroupId; s t.Type; s t.DataSource; s t.CreatedTime; s t.QueueInsertionTime; s t.StatusCode; s t.RunnerStatusCode
                     l t.Duration; s t.Location; Value.Null; l -1L; l -1L; s t.ErrorMessage |] ])
    | "sys", "servers" ->
        let server = catalog.ServerName()
        let host, port =
            match server.LastIndexOf ':' with
            | -1 -> server, -1L
            | i -> server.Substring(0, i), (match System.Int64.TryParse(server.Substring(i + 1)) with | true, p -> p | _ -> -1L)
        let size = catalog.Segments() |> List.filter (fun g -> g.IsAvailable) |> List.sumBy (fun g -> g.Size)
        Some(
            serversColumns,
            [ for role in [ "coordinator"; "overlord"; "broker"; "historical"; "indexer" ] ->
                  [| s server; s host; l port; l -1L; s role; (if role = "historical" then s "_default_tier" else Value.Null)
                     l (if role = "historical" then size else 0L); l 0L; l (if role = "coordinator" || role = "overlord" then 1L else 0L); Value.Null |] ])
    | "sys", "server_segments" ->
        let server = catalog.ServerName()
        Some(serverSegmentsColumns, [ for g in catalog.Segments() do if g.IsAvailable then yield [| s server; s g.SegmentId |] ])
    | "sys", "supervisors" ->
        Some(
            supervisorsColumns,
            [ for sv in catalog.Supervisors() -> [| s sv.SupervisorId; s sv.State; s sv.DetailedState; b sv.Healthy; s sv.Type; s sv.Source; b sv.Suspended; s sv.Spec |] ])
    | ("INFORMATION_SCHEMA" | "sys"), other -> SqlError.invalid (sprintf "Object '%s' not found within '%s'" other schema)
    | _ -> None

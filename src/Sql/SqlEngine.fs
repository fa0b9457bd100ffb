/// The SQL entry point: text + parameters + context → a typed result set (or EXPLAIN's plan).
/// Queries one native query can answer run as that native query when the engine supports
/// its kind; the rest read their tables through native scans and finish in memory.
module FunctionalDruid.Sql.SqlEngine

open System
open FunctionalDruid.Core
open FunctionalDruid.Core.Query
open FunctionalDruid.Sql.Ast

/// A statement that did not parse; carries line and column.
exception SqlParseException of Parser.ParseError

type Options =
    { Catalog: ICatalog
      /// Runs a native query over the cluster (the Host's query service).
      Run: NativeQuery -> Json.Out
      /// Whether `Run` executes a native query completely (kinds, virtual columns, ...).
      Supports: NativeQuery -> bool
      /// The query's start time, for CURRENT_TIMESTAMP (Core reads no clock).
      Now: int64
      /// Reads a compacted scan's rows directly (see TableReader), given an order only the
      /// rows each slice can contribute to it; None reads every row through `Run`.
      ReadRows: (NativeQuery -> Relational.RowOrder option -> Value[][]) option
      /// Reads a compacted scan of one column as distinct values with row counts (see
      /// TableReader.readCounted), for in-memory aggregates over that column; None aggregates
      /// the rows one by one.
      ReadCounted: (NativeQuery -> TableReader.CountedColumn option) option }

/// What a native engine executes completely; the SQL layer runs everything else in memory.
type Capabilities =
    { /// Query types: "scan", "timeseries", "topN", "groupBy".
      Kinds: Set<string>
      /// Expression virtual columns in every query part.
      VirtualColumns: bool
      /// `query` data sources (nested queries).
      NestedQueries: bool }

/// The engine of this landing: scans and timeseries without virtual columns. Widen it as
/// groupBy, topN and virtual columns land (one line), or pass your own `Supports`.
let currentEngine = { Kinds = set [ "scan"; "timeseries"; "topN"; "groupBy" ]; VirtualColumns = true; NestedQueries = true }

let supportsWith (c: Capabilities) (q: NativeQuery) : bool =
    let kind =
        match q.Kind with
        | QueryKind.Scan _ -> "scan"
        | QueryKind.Timeseries _ -> "timeseries"
        | QueryKind.TopN _ -> "topN"
        | QueryKind.GroupBy _ -> "groupBy"
        | _ -> "other"
    c.Kinds.Contains kind
    && (c.VirtualColumns || q.VirtualColumns.IsEmpty)
    && (match q.DataSource with
        | DataSource.Table _ -> true
        | DataSource.Query _ -> c.NestedQueries
        | _ -> false)

let defaultSupports (q: NativeQuery) : bool = supportsWith currentEngine q

type Request =
    { Sql: string
      Parameters: (Value * SqlType)[]
      Context: (string * string) list }

let private contextValue (ctx: (string * string) list) (key: string) = ctx |> List.tryFind (fun (k, _) -> k = key) |> Option.map snd

let private contextBool (ctx: (string * string) list) (key: string) (fallback: bool) =
    match contextValue ctx key with
    | Some v -> v.Trim().ToLowerInvariant() = "true"
    | None -> fallback

let zoneOf (ctx: (string * string) list) =
    match contextValue ctx "sqlTimeZone" with
    | Some z ->
        match Time.tryParseZone z with
        | Some zone -> zone
        | None -> SqlError.invalid (sprintf "Invalid value for context parameter sqlTimeZone [%s]: unknown time zone" z)
    | None -> NodaTime.DateTimeZone.Utc

let private tableScan (dataSource: string) (intervals: Time.Interval list) (names: string list) (filter: Filter.Filter option) : NativeQuery =
    { DataSource = DataSource.Table dataSource
      Intervals = intervals
      Filter = filter
      VirtualColumns = []
      Kind = QueryKind.Scan { Columns = names; Limit = None; Offset = 0L; Compacted = true; Order = ScanOrder.NoOrder; BatchSize = 20480 }
      Context = [] }

/// Reads one column of a datasource as distinct values with row counts.
let private readCounted (read: NativeQuery -> TableReader.CountedColumn option) (dataSource: string) (intervals: Time.Interval list) (column: string * ColumnType) (filter: Filter.Filter option) : (Value[] * int64[]) option =
    read (tableScan dataSource intervals [ fst column ] filter) |> Option.map (fun c -> c.Values, c.Counts)

/// Reads columns of a datasource through a compacted native scan.
let private readTable (options: Options) (dataSource: string) (intervals: Time.Interval list) (columns: (string * ColumnType) list) (filter: Filter.Filter option) (order: Relational.RowOrder option) : Value[][] =
    let scan = tableScan dataSource intervals (columns |> List.map fst) filter
    match options.ReadRows with
    | Some read -> read scan order
    | None ->
    match options.Run scan with
    | Json.Out.Array batches ->
        [| for b in batches do
              match b with
              | Json.Out.Object f ->
                  match f |> List.tryFind (fun (k, _) -> k = "events") with
                  | Some(_, Json.Out.Array events) ->
                      for e in events do
                          match e with
                          | Json.Out.Array cells -> yield cells |> List.map NativeJson.outValue |> Array.ofList
                          | _ -> ()
                  | _ -> ()
              | _ -> () |]
    | _ -> [||]

/// A WHERE conjunct as the native filter a scan runs in its place, when every column it reads
/// is stored (the scan sees no computed columns).
/// ARRAY columns stay out of pushed filters: a row-level native filter reads an array's
/// elements as the values of a multi-value string (an array holding a null would be null).
let private pushFilter (scope: Translate.Scope) (conjunct: Ast.Expr) : Filter.Filter option =
    let stored = scope.Fields |> List.filter (fun f -> match f.Type with SqlType.Array _ -> false | _ -> true) |> List.map (fun f -> f.Key) |> set
    let f = NativePlan.toFilter scope conjunct
    if Filter.requiredColumns f |> List.forall stored.Contains then Some f else None

/// CURRENT_TIMESTAMP: the context's `sqlCurrentTimestamp` when given (Druid freezes the
/// planner's clock with it), else the query's start time.
let private nowOf (options: Options) (request: Request) : int64 =
    contextValue request.Context "sqlCurrentTimestamp" |> Option.bind Time.tryParseInstant |> Option.defaultValue options.Now

let private evalContextFor (options: Options) (request: Request) (q: Query option) : Evaluate.Context =
    { Catalog = options.Catalog
      ReadTable = readTable options
      ReadCounted = options.ReadCounted |> Option.map readCounted
      Params = request.Parameters
      Zone = zoneOf request.Context
      Now = nowOf options request
      Ctes = Map.empty
      Needed = q |> Option.bind SqlRewrite.referencedColumns
      PushFilter = pushFilter
      FilteredSumRewrite = contextBool request.Context "extendedFilteredSumRewrite" true }

let private evalContext (options: Options) (request: Request) = evalContextFor options request None

let private planOf (options: Options) (request: Request) (q: Query) : NativePlan.Plan option =
    if NativePlan.hasExpressionSubquery q then None
    else
        let ctx = evalContext options request
        let scope = Evaluate.emptyScope ctx []
        let approx = contextBool request.Context "useApproximateCountDistinct" true
        let nativeContext =
            [ yield "sqlQueryId", defaultArg (contextValue request.Context "sqlQueryId") ""
              match contextValue request.Context "sqlTimeZone" with Some z -> yield "sqlTimeZone", z | None -> () ]
            |> List.filter (fun (_, v) -> v <> "")
        NativePlan.tryPlan options.Catalog scope approx (contextBool request.Context "extendedFilteredSumRewrite" true) nativeContext q

/// Values in the representation of their column's SQL type (native results carry sketch
/// estimates as doubles, expression results may be wider than the column type).
let normalize (result: ResultSet) : ResultSet =
    let convert (t: SqlType) (v: Value) =
        match t, v with
        | _, Value.Null -> Value.Null
        | (SqlType.Bigint | SqlType.Timestamp | SqlType.Date), Value.Double d -> if Double.IsNaN d then Value.Null else Value.Long(int64 (Math.Round d))
        | (SqlType.Bigint | SqlType.Timestamp | SqlType.Date), Value.String s -> (match Value.toLong v with Some l -> Value.Long l | None -> Value.Null)
        | (SqlType.Double | SqlType.Float), Value.Long l -> Value.Double(float l)
        | (SqlType.Double | SqlType.Float), Value.String _ -> (match Value.toDouble v with Some d -> Value.Double d | None -> Value.Null)
        | SqlType.Varchar, (Value.Long _ | Value.Double _) -> Value.String(Value.toStringOrNull v)
        // A multi-value string with one value is that value; with none, null.
        | SqlType.Varchar, Value.Array [| x |] -> x
        | SqlType.Varchar, Value.Array [||] -> Value.Null
        | SqlType.Boolean, v -> Value.Long(if Expr.isTruthy v then 1L else 0L)
        | _ -> v
    let types = result.Columns |> List.map snd |> Array.ofList
    { result with Rows = result.Rows |> List.map (Array.mapi (fun i v -> if i < types.Length then convert types.[i] v else v)) }

let private runQuery (options: Options) (request: Request) (q: Query) : ResultSet =
    let result =
        match planOf options request q with
        | Some plan when options.Supports plan.Query ->
            { Columns = plan.Outputs |> List.map (fun (n, t, _) -> n, t); Rows = NativePlan.rowsOf plan (options.Run plan.Query) }
        | _ ->
            let r = Evaluate.evalQuery (evalContextFor options request (Some q)) q
            { Columns = r.Fields |> List.map (fun f -> f.Name, f.Type); Rows = r.Rows }
    let result = normalize result
    match contextValue request.Context "sqlOuterLimit" |> Option.bind Value.parseLongText with
    | Some limit when limit >= 0L -> { result with Rows = List.truncate (int (min limit (int64 Int32.MaxValue))) result.Rows }
    | _ -> result

let rec private tablesOf (q: Query) : string list =
    let rec fromTable (t: TableRef) =
        match t with
        | Table((None | Some "druid"), n, _) -> [ n ]
        | Table _ -> []
        | Derived(sub, _, _) -> tablesOf sub
        | Join(l, _, r, _) -> fromTable l @ fromTable r
        | Unnest _ -> []
    let rec body (b: QueryBody) =
        match b with
        | SelectBody s -> s.From |> Option.map fromTable |> Option.defaultValue []
        | UnionAll(l, r) | Union(l, r) -> body l @ body r
        | Values _ -> []
        | Nested q -> tablesOf q
    let ctes = q.With |> List.map (fun (n, _, _) -> n) |> set
    (q.With |> List.collect (fun (_, _, sub) -> tablesOf sub)) @ (body q.Body |> List.filter (ctes.Contains >> not)) |> List.distinct

let private explain (options: Options) (request: Request) (q: Query) : ResultSet =
    let queries =
        match planOf options request q with
        | Some plan ->
            [ Json.Out.Object
                  [ "query", NativeJson.queryOut plan.Query
                    "signature", Json.Out.Array(plan.Outputs |> List.map (fun (n, t, _) -> Json.Out.Object [ "name", Json.Out.String n; "type", Json.Out.String t.NativeName ]))
                    "columnMappings", Json.Out.Array(plan.Outputs |> List.map (fun (n, _, k) -> Json.Out.Object [ "queryColumn", Json.Out.String k; "outputColumn", Json.Out.String n ])) ] ]
        | None ->
            // Planned as native scans of each table plus in-memory operators on top; the scans
            // read only the columns the statement names (as the in-memory reader does).
            let needed = SqlRewrite.referencedColumns q
            [ for t in tablesOf q ->
                  let columns = options.Catalog.ColumnsOf t |> List.map fst |> List.filter (fun c -> needed |> Option.forall (fun n -> n.Contains c))
                  let scan =
                      { DataSource = DataSource.Table t; Intervals = [ Time.eternity ]; Filter = None; VirtualColumns = []
                        Kind = QueryKind.Scan { Columns = columns; Limit = None; Offset = 0L; Compacted = true; Order = ScanOrder.NoOrder; BatchSize = 20480 }
                        Context = [] }
                  Json.Out.Object [ "query", NativeJson.queryOut scan; "operators", Json.Out.String "in-memory" ] ]
    let resources = tablesOf q |> List.map (fun t -> Json.Out.Object [ "name", Json.Out.String t; "type", Json.Out.String "DATASOURCE" ])
    { Columns = [ "PLAN", SqlType.Varchar; "RESOURCES", SqlType.Varchar; "ATTRIBUTES", SqlType.Varchar ]
      Rows =
        [ [| Value.String(Json.Out.toText false (Json.Out.Array queries))
             Value.String(Json.Out.toText false (Json.Out.Array resources))
             Value.String(Json.Out.toText false (Json.Out.Object [ "statementType", Json.Out.String "SELECT" ])) |] ] }

/// Parses, plans and runs one statement. Raises SqlParseException for syntax errors and
/// SqlException for planning and validation problems.
let private unsupportedStatements =
    set [ "INSERT"; "REPLACE"; "SET"; "DELETE"; "UPDATE"; "CREATE"; "DROP"; "ALTER"; "MERGE" ]

/// A statement kind this server does not run is named as such, not reported as a syntax error.
let private parseError (e: Parser.ParseError) : exn =
    let token = e.Token.ToUpperInvariant()
    if e.Line = 1L && e.Column = 1L && unsupportedStatements.Contains token then
        SqlException("UNSUPPORTED", sprintf "%s statements are not supported (SQL-based ingestion and session statements are not implemented); send SELECT, WITH, VALUES or EXPLAIN PLAN FOR" token)
    else SqlParseException e

let execute (options: Options) (request: Request) : ResultSet =
    match Parser.parse request.Sql with
    | Error e -> raise (parseError e)
    | Ok(QueryStatement q) -> PlannerRules.check options.Catalog q; runQuery options request q
    | Ok(Explain q) -> PlannerRules.check options.Catalog q; explain options request q

/// The native query a statement plans into, when one native query answers it.
let nativePlan (options: Options) (request: Request) : NativeQuery option =
    match Parser.parse request.Sql with
    | Ok(QueryStatement q) | Ok(Explain q) -> planOf options request q |> Option.map (fun p -> p.Query)
    | Error e -> raise (parseError e)

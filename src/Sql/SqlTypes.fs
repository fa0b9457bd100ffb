/// SQL column types, result sets and the catalog the Host supplies (datasources with their
/// columns, segments, tasks, servers) for planning and for INFORMATION_SCHEMA / sys tables.
namespace FunctionalDruid.Sql

open System
open FunctionalDruid.Core

[<RequireQualifiedAccess>]
type SqlType =
    | Varchar
    | Bigint
    | Double
    | Float
    | Boolean
    | Timestamp
    | Date
    | Array of SqlType
    | Other of nativeName: string
    | Null
    /// The name Druid shows in `sqlTypesHeader` and INFORMATION_SCHEMA.COLUMNS.DATA_TYPE.
    member this.SqlName =
        match this with
        | Varchar -> "VARCHAR"
        | Bigint -> "BIGINT"
        | Double -> "DOUBLE"
        | Float -> "FLOAT"
        | Boolean -> "BOOLEAN"
        | Timestamp -> "TIMESTAMP"
        | Date -> "DATE"
        | Array t -> t.SqlName + " ARRAY"
        | Other _ -> "OTHER"
        | Null -> "NULL"
    /// The native type Druid shows in `typesHeader`.
    member this.NativeName =
        match this with
        | Varchar -> "STRING"
        | Bigint | Boolean | Timestamp | Date -> "LONG"
        | Double -> "DOUBLE"
        | Float -> "FLOAT"
        | Array t -> "ARRAY<" + t.NativeName + ">"
        | Other n -> n
        | Null -> "STRING"
    member this.IsNumeric =
        match this with
        | Bigint | Double | Float | Boolean -> true
        | _ -> false
    member this.IsTime =
        match this with
        | Timestamp | Date -> true
        | _ -> false

module SqlType =
    let rec ofColumnType (t: ColumnType) : SqlType =
        match t with
        | ColumnType.String -> SqlType.Varchar
        | ColumnType.Long -> SqlType.Bigint
        | ColumnType.Float -> SqlType.Float
        | ColumnType.Double -> SqlType.Double
        | ColumnType.Complex n -> SqlType.Other(sprintf "COMPLEX<%s>" n)
        | ColumnType.Array e -> SqlType.Array(ofColumnType e)

    /// The type named in `CAST(x AS ...)`.
    let ofCastName (name: string) : SqlType option =
        let isArray = name.EndsWith " ARRAY"
        let baseName = (if isArray then name.Substring(0, name.Length - 6) else name).Split('(').[0].Trim()
        let scalar =
            match baseName with
            | "VARCHAR" | "CHAR" | "CHARACTER" | "STRING" | "TEXT" -> Some SqlType.Varchar
            | "BIGINT" | "INTEGER" | "INT" | "SMALLINT" | "TINYINT" | "LONG" -> Some SqlType.Bigint
            | "DOUBLE" | "DECIMAL" | "NUMERIC" | "REAL" -> Some SqlType.Double
            | "FLOAT" -> Some SqlType.Float
            | "BOOLEAN" -> Some SqlType.Boolean
            | "TIMESTAMP" -> Some SqlType.Timestamp
            | "DATE" -> Some SqlType.Date
            | "OTHER" -> Some(SqlType.Other "COMPLEX<json>")
            | _ -> None
        scalar |> Option.map (fun t -> if isArray then SqlType.Array t else t)

/// A planning or execution problem reported to the client as Druid does.
exception SqlException of category: string * message: string

module SqlError =
    /// Druid's INVALID_INPUT: the statement is wrong or refers to something unknown.
    let invalid (message: string) : 'a = raise (SqlException("INVALID_INPUT", message))
    /// Druid's UNSUPPORTED: a valid construct this server does not plan.
    let unsupported (message: string) : 'a = raise (SqlException("UNSUPPORTED", message))

/// A result: named, typed columns and rows of values (TIMESTAMP/DATE as epoch millis,
/// BOOLEAN as Long 1/0, until the output writer formats them).
type ResultSet = { Columns: (string * SqlType) list; Rows: Value[] list }

type SegmentInfo =
    { SegmentId: string
      DataSource: string
      Start: string
      End: string
      Size: int64
      Version: string
      PartitionNum: int
      NumRows: int64
      IsPublished: bool
      IsAvailable: bool
      IsOvershadowed: bool
      ShardSpec: string
      Dimensions: string
      Metrics: string }

type TaskInfo =
    { TaskId: string
      GroupId: string
      Type: string
      DataSource: string
      CreatedTime: string
      QueueInsertionTime: string
      StatusCode: string
      RunnerStatusCode: string
      Duration: int64
      Location: string
      ErrorMessage: string }

type SupervisorInfo = { SupervisorId: string; State: string; DetailedState: string; Healthy: bool; Type: string; Source: string; Suspended: bool; Spec: string }

/// What the SQL layer knows about the cluster; the Host implements it.
type ICatalog =
    /// Datasources that can be queried, sorted.
    abstract DataSources: unit -> string list
    /// The columns of a datasource in Druid's order: `__time` first, then dimensions, then metrics.
    abstract ColumnsOf: dataSource: string -> (string * ColumnType) list
    abstract Segments: unit -> SegmentInfo list
    abstract Tasks: unit -> TaskInfo list
    abstract Supervisors: unit -> SupervisorInfo list
    /// Host name and port of this server (the one server plays every role).
    abstract ServerName: unit -> string

/// A catalog with fixed content (tests).
type StaticCatalog(tables: (string * (string * ColumnType) list) list) =
    interface ICatalog with
        member _.DataSources() = tables |> List.map fst |> List.sort
        member _.ColumnsOf ds = tables |> List.tryFind (fun (n, _) -> n = ds) |> Option.map snd |> Option.defaultValue []
        member _.Segments() = []
        member _.Tasks() = []
        member _.Supervisors() = []
        member _.ServerName() = "localhost:8082"

/// A one-table SQL engine over generated rows, natively planned or not: the table the SQL
/// planner tests compare both paths on.
module FunctionalDruid.Tests.Sql.SqlTestTable

open System
open FunctionalDruid.Core
open FunctionalDruid.Core.Query
open FunctionalDruid.Sql

type Row = { Time: int64; G: string; U: string; N: int64 option; X: float option }

let columns = [ "__time", ColumnType.Long; "g", ColumnType.String; "u", ColumnType.String; "n", ColumnType.Long; "x", ColumnType.Double ]

let strings (values: string[]) =
    let dictionary = values |> Array.distinct
    ColumnData.Strings { Dictionary = dictionary; Ids = values |> Array.map (fun v -> Array.IndexOf(dictionary, v)); MultiIds = None; HasBitmapIndex = true }

let optionsFor (rows: Row list) (supports: NativeQuery -> bool) : SqlEngine.Options =
    let rows = rows |> List.sortBy (fun r -> r.Time) |> Array.ofList
    let content: SegmentContent =
        { Interval = { Start = 0L; End = 1000L }
          Times = rows |> Array.map (fun r -> r.Time)
          Dimensions = [ "g", strings (rows |> Array.map (fun r -> r.G)); "u", strings (rows |> Array.map (fun r -> r.U)) ]
          Metrics =
            [ "n", ColumnData.Longs(rows |> Array.map (fun r -> defaultArg r.N 0L), Some(rows |> Array.map (fun r -> r.N.IsNone)))
              "x", ColumnData.Doubles(rows |> Array.map (fun r -> defaultArg r.X 0.0), Some(rows |> Array.map (fun r -> r.X.IsNone))) ]
          Metadata = "{}" }
    SingleSliceOptions.optionsOver "t" columns content supports 0L

let exact = [ "useApproximateCountDistinct", "false" ]

let request (sql: string) : SqlEngine.Request = { Sql = sql; Parameters = [||]; Context = exact }

let rowsOf (options: SqlEngine.Options) (sql: string) = (SqlEngine.execute options (request sql)).Rows |> List.map List.ofArray

let L (x: int64) = Value.Long x
let D (x: float) = Value.Double x
let S (x: string) = Value.String x
let N = Value.Null


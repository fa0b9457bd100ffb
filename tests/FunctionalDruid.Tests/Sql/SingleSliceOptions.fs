/// SQL engine options over one table held in one segment slice, run in order: what the SQL
/// tests plan and run statements against (native, in-memory row reads, counted reads).
module FunctionalDruid.Tests.Sql.SingleSliceOptions

open FunctionalDruid.Core
open FunctionalDruid.Core.Query
open FunctionalDruid.Sql

/// Options whose catalog holds `table` with `columns`, served by `content`; `supports` decides
/// which native queries run natively (the rest in memory), `now` is CURRENT_TIMESTAMP.
let optionsOver (table: string) (columns: (string * ColumnType) list) (content: SegmentContent) (supports: NativeQuery -> bool) (now: int64) : SqlEngine.Options =
    let slice: Engine.SegmentSlice = { Id = table + "_seg"; Content = content; Serves = content.Interval }
    { Catalog = StaticCatalog [ table, columns ]
      Run = (fun q -> QueryExecution.execute QuerySlices.sequential (fun _ _ -> [ slice ]) q)
      Supports = supports
      Now = now
      ReadRows = Some(fun q order -> TableReader.readTop q order [ slice ])
      ReadCounted = Some(fun q -> TableReader.readCounted q [ slice ]) }

/// An aggregating SELECT over a subquery that plans as a groupBy reads it as a query data
/// source (one native query, as Druid nests them) instead of scanning the table into memory;
/// both paths answer alike.
module FunctionalDruid.Tests.Sql.SubqueryDataSourceTests

open System
open Expecto
open FunctionalDruid.Core.Query
open FunctionalDruid.Sql
open FunctionalDruid.Tests.Sql.SqlTestTable

let private statements =
    [ "SELECT COUNT(*), SUM(c), MAX(c) FROM (SELECT g, u, COUNT(*) AS c FROM t GROUP BY g, u)"
      "SELECT c, COUNT(*) FROM (SELECT g, COUNT(*) AS c FROM t GROUP BY g) GROUP BY c ORDER BY c"
      "SELECT s.g, MIN(s.m), SUM(s.total), COUNT(*) FROM (SELECT g, u, MIN(n) AS m, SUM(n) AS total FROM t WHERE x > 0 GROUP BY g, u) AS s WHERE s.total > 2 GROUP BY s.g ORDER BY s.g"
      "SELECT MAX(u), COUNT(*) FROM (SELECT u, COUNT(*) AS c FROM t GROUP BY u HAVING COUNT(*) > 1)"
      "SELECT SUM(c), COUNT(*) FROM (SELECT g, COUNT(*) AS c FROM t GROUP BY g ORDER BY c DESC, g LIMIT 2)"
      "SELECT MIN(g), COUNT(*) FROM (SELECT g, u FROM t GROUP BY g, u ORDER BY g, u LIMIT 3 OFFSET 2)"
      "SELECT k, COUNT(*) AS n FROM (SELECT UPPER(g) AS k, u FROM t GROUP BY UPPER(g), u) GROUP BY k ORDER BY n DESC, k LIMIT 2" ]

let private randomRows (seed: int) : Row list =
    let rnd = Random(seed)
    [ for i in 1 .. rnd.Next(0, 40) ->
        { Time = int64 (rnd.Next 1000)
          G = [| "a"; "b"; "c"; null |].[rnd.Next 4]
          U = [| "u1"; "u2"; "u3"; "é"; null |].[rnd.Next 5]
          N = (if rnd.Next 4 = 0 then None else Some(int64 (rnd.Next(-3, 9))))
          X = (if rnd.Next 4 = 0 then None else Some(float (rnd.Next(-4, 8)) / 2.0)) } ]

let private readsSubquery (options: SqlEngine.Options) (sql: string) =
    match SqlEngine.nativePlan options (request sql) with
    | Some { DataSource = DataSource.Query { DataSource = DataSource.Table "t"; Kind = QueryKind.GroupBy _ } } -> true
    | _ -> false

[<Tests>]
let tests =
    testList "sql/subquery data sources" [
        test "COUNT(*) over a grouped subquery is a timeseries over a groupBy; values exact" {
            let rows =
                [ { Time = 1L; G = "a"; U = "u1"; N = Some 1L; X = None }; { Time = 2L; G = "a"; U = "u1"; N = Some 2L; X = None }
                  { Time = 3L; G = "b"; U = "u2"; N = None; X = Some 1.0 }; { Time = 4L; G = null; U = "u1"; N = Some 5L; X = None } ]
            let native = optionsFor rows SqlEngine.defaultSupports
            let sql = "SELECT COUNT(*), SUM(c), MAX(c) FROM (SELECT g, u, COUNT(*) AS c FROM t GROUP BY g, u)"
            match SqlEngine.nativePlan native (request sql) with
            | Some { DataSource = DataSource.Query inner; Kind = QueryKind.Timeseries _ } ->
                Expect.equal inner.DataSource (DataSource.Table "t") "inner reads the table"
            | other -> failtestf "plan %A" other
            Expect.equal (rowsOf native sql) [ [ L 3L; L 4L; L 2L ] ] "native"
            Expect.equal (rowsOf (optionsFor rows (fun _ -> false)) sql) [ [ L 3L; L 4L; L 2L ] ] "in memory"
        }
        test "a plain SELECT of a subquery stays in memory; an inner LIMIT with OFFSET is the groupBy's own" {
            let native = optionsFor [ { Time = 1L; G = "a"; U = "u1"; N = Some 1L; X = None }; { Time = 2L; G = "b"; U = "u1"; N = Some 1L; X = None } ] SqlEngine.defaultSupports
            let plain = "SELECT * FROM (SELECT g, COUNT(*) AS c FROM t GROUP BY g)"
            Expect.isFalse (readsSubquery native plain) "a scan of a subquery"
            Expect.equal (rowsOf native plain) [ [ S "a"; L 1L ]; [ S "b"; L 1L ] ] plain
            let offset = "SELECT COUNT(*), MIN(g) FROM (SELECT g, COUNT(*) AS c FROM t GROUP BY g ORDER BY g LIMIT 5 OFFSET 1)"
            Expect.isTrue (readsSubquery native offset) "nested"
            Expect.equal (rowsOf native offset) [ [ L 1L; S "b" ] ] offset
        }
        testProperty "outer aggregates over grouped subqueries: the nested native query answers as the in-memory operators" <| fun (seed: int) ->
            let rows = randomRows seed
            let native = optionsFor rows SqlEngine.defaultSupports
            let inMemory = optionsFor rows (fun _ -> false)
            for sql in statements do
                if not (readsSubquery native sql) then failwithf "not nested: %s" sql
                let expected = rowsOf inMemory sql
                let actual = rowsOf native sql
                if actual <> expected then failwithf "%s\nnative %A\nin memory %A" sql actual expected
            true
    ]

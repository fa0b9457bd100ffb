/// Exact COUNT(DISTINCT x) beside other aggregates (useApproximateCountDistinct=false): planned
/// natively as an inner groupBy over (keys, x) computing partials and an outer query
/// re-aggregating them; checked against the in-memory operators and a naive oracle.
module FunctionalDruid.Tests.Sql.DistinctPlanTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open FunctionalDruid.Core
open FunctionalDruid.Core.Query
open FunctionalDruid.Sql

open FunctionalDruid.Tests.Sql.SqlTestTable

let private sample =
    [ { Time = 1L; G = "a"; U = "u1"; N = Some 1L; X = Some 1.5 }
      { Time = 2L; G = "a"; U = "u1"; N = Some 2L; X = None }
      { Time = 3L; G = "a"; U = "u2"; N = None; X = Some 4.0 }
      { Time = 4L; G = "a"; U = null; N = Some 10L; X = Some -1.0 }
      { Time = 5L; G = "b"; U = "u3"; N = None; X = None }
      { Time = 6L; G = "b"; U = null; N = None; X = None }
      { Time = 7L; G = null; U = "u1"; N = Some 5L; X = Some 2.0 }
      { Time = 8L; G = null; U = "u4"; N = Some 7L; X = None } ]

let private native = optionsFor sample SqlEngine.defaultSupports
let private inMemory = optionsFor sample (fun _ -> false)

/// The statement plans as an outer query over an inner groupBy.
let private isNested (sql: string) =
    match SqlEngine.nativePlan native (request sql) with
    | Some { DataSource = DataSource.Query { Kind = QueryKind.GroupBy _ } } -> true
    | _ -> false

/// Native (nested) and in-memory give these rows.
let private expectNested (sql: string) (expected: Value list list) =
    Expect.isTrue (isNested sql) ("nested native plan: " + sql)
    Expect.equal (rowsOf native sql) expected ("native: " + sql)
    Expect.equal (rowsOf inMemory sql) expected ("in memory: " + sql)

[<Tests>]
let distinctPlanTests =
    testList "sql/distinct beside aggregates" [
        test "SUM, COUNT(*), AVG, COUNT(col), MIN, MAX beside COUNT(DISTINCT), null groups and values" {
            expectNested
                "SELECT g, SUM(n), COUNT(*) AS c, AVG(n), COUNT(n), MIN(x), MAX(n), COUNT(DISTINCT u) FROM t GROUP BY g ORDER BY g"
                [ [ N; L 12L; L 2L; D 6.0; L 2L; D 2.0; L 7L; L 2L ]
                  [ S "a"; L 13L; L 4L; D(13.0 / 3.0); L 3L; D -1.0; L 10L; L 2L ]
                  [ S "b"; N; L 2L; N; L 0L; N; N; L 1L ] ]
        }
        test "ClickBench Q10 shape: a topN over the nested groupBy, ordered by a re-aggregated count" {
            let sql = "SELECT g, SUM(n), COUNT(*) AS c, AVG(x), COUNT(DISTINCT u) FROM t GROUP BY g ORDER BY c DESC LIMIT 1"
            Expect.isTrue (isNested sql) "nested"
            match SqlEngine.nativePlan native (request sql) with
            | Some { DataSource = DataSource.Query inner; Kind = QueryKind.TopN outer } ->
                match inner.Kind with
                | QueryKind.GroupBy g ->
                    Expect.equal (g.Dimensions |> List.map (fun d -> d.Dimension, d.OutputName)) [ "g", "d0"; "u", "d1" ] "inner keys"
                    Expect.equal (g.Aggregations |> List.map AggregatorSpec.name) [ "a0"; "a1"; "a2:sum"; "a2:count" ] "inner partials"
                | other -> failtestf "inner %A" other
                Expect.equal (outer.Dimension.Dimension, outer.Dimension.OutputName) ("d0", "_d0") "outer key"
                Expect.equal (outer.Aggregations |> List.map AggregatorSpec.name) [ "_a0"; "_a1"; "_a2:sum"; "_a2:count"; "_a3" ] "outer aggregators"
            | other -> failtestf "plan %A" other
            Expect.equal (rowsOf native sql) [ [ S "a"; L 13L; L 4L; D 1.5; L 2L ] ] "native"
            Expect.equal (rowsOf inMemory sql) (rowsOf native sql) "in memory"
        }
        test "MIN and MAX of strings: stringMin / stringMax, re-aggregated beside COUNT(DISTINCT), plain without it" {
            expectNested
                "SELECT g, MIN(u), MAX(u), MAX(u) FILTER (WHERE n > 1), COUNT(DISTINCT n) FROM t GROUP BY g ORDER BY g"
                [ [ N; S "u1"; S "u4"; S "u4"; L 2L ]; [ S "a"; S "u1"; S "u2"; S "u1"; L 3L ]; [ S "b"; S "u3"; S "u3"; N; L 0L ] ]
            let sql = "SELECT g, MIN(u), MAX(u) FROM t GROUP BY g ORDER BY g"
            match SqlEngine.nativePlan native (request sql) with
            | Some { DataSource = DataSource.Table _; Kind = QueryKind.GroupBy g } ->
                Expect.equal (g.Aggregations |> List.map AggregatorSpec.typeName) [ "stringMin"; "stringMax" ] "native aggregators"
            | other -> failtestf "plan %A" other
            let expected = [ [ N; S "u1"; S "u4" ]; [ S "a"; S "u1"; S "u2" ]; [ S "b"; S "u3"; S "u3" ] ]
            Expect.equal (rowsOf native sql) expected "native"
            Expect.equal (rowsOf inMemory sql) expected "in memory"
        }
        test "EXPLAIN shows a groupBy over a query data source" {
            let plan = (SqlEngine.execute native (request "EXPLAIN PLAN FOR SELECT g, SUM(n), COUNT(DISTINCT u) FROM t GROUP BY g")).Rows.Head.[0]
            let text = Value.toStringOrNull plan
            Expect.stringContains text "\"dataSource\":{\"type\":\"query\"" "query data source"
            Expect.stringContains text "\"queryType\":\"groupBy\"" "groupBy"
            Expect.stringContains text "\"type\":\"longSum\",\"name\":\"_a0\",\"fieldName\":\"a0\"" "sum of partial sums"
        }
        test "FILTER clauses on the other aggregates and on the distinct count" {
            expectNested
                "SELECT g, SUM(n) FILTER (WHERE u = 'u1'), COUNT(*) FILTER (WHERE x > 0), COUNT(DISTINCT u) FILTER (WHERE n > 1), COUNT(DISTINCT u) FROM t GROUP BY g ORDER BY g"
                [ [ N; L 5L; L 1L; L 2L; L 2L ]
                  [ S "a"; L 3L; L 2L; L 1L; L 2L ]
                  [ S "b"; N; L 0L; L 0L; L 1L ] ]
        }
        test "GROUP BY (): one row, also over no input (counts 0, sums and averages null)" {
            expectNested "SELECT COUNT(*), SUM(n), AVG(x), COUNT(DISTINCT u), MIN(n) FROM t" [ [ L 8L; L 25L; D(6.5 / 4.0); L 4L; L 1L ] ]
            expectNested "SELECT COUNT(*), SUM(n), AVG(x), COUNT(DISTINCT u), COUNT(n) FROM t WHERE g = 'zz'" [ [ L 0L; N; N; L 0L; L 0L ] ]
        }
        test "HAVING and ORDER BY a distinct count, WHERE filter, LIMIT with OFFSET" {
            expectNested "SELECT g, COUNT(*) AS c, COUNT(DISTINCT u) AS d FROM t GROUP BY g HAVING COUNT(DISTINCT u) > 1 ORDER BY c DESC" [ [ S "a"; L 4L; L 2L ]; [ N; L 2L; L 2L ] ]
            expectNested "SELECT g, COUNT(*) AS c, COUNT(DISTINCT u) AS d FROM t GROUP BY g HAVING g <> 'b' AND MAX(x) > 1.8 ORDER BY g" [ [ S "a"; L 4L; L 2L ] ]
            expectNested "SELECT g, COUNT(DISTINCT u) AS d FROM t GROUP BY g HAVING g IS NULL OR COUNT(DISTINCT u) < 2 ORDER BY g" [ [ N; L 2L ]; [ S "b"; L 1L ] ]
            expectNested "SELECT g, SUM(n) AS s, COUNT(DISTINCT u) AS d FROM t WHERE x IS NOT NULL OR n > 6 GROUP BY g ORDER BY d DESC, g LIMIT 2 OFFSET 1" [ [ S "a"; L 11L; L 2L ] ]
        }
        test "expressions over the aggregates and a grouping key expression" {
            expectNested
                "SELECT UPPER(g) AS k, COUNT(*) - COUNT(DISTINCT u) AS dup, SUM(n) * 2 FROM t GROUP BY UPPER(g) ORDER BY k"
                [ [ N; L 0L; L 24L ]; [ S "A"; L 2L; L 26L ]; [ S "B"; L 1L; N ] ]
        }
        test "numeric keys with nulls: grouping by a LONG, counting distinct LONG values" {
            expectNested
                "SELECT n, COUNT(*), COUNT(DISTINCT u), SUM(x) FROM t GROUP BY n ORDER BY n"
                [ [ N; L 3L; L 2L; D 4.0 ]; [ L 1L; L 1L; L 1L; D 1.5 ]; [ L 2L; L 1L; L 1L; N ]; [ L 5L; L 1L; L 1L; D 2.0 ]; [ L 7L; L 1L; L 1L; N ]; [ L 10L; L 1L; L 0L; D -1.0 ] ]
            expectNested "SELECT g, COUNT(DISTINCT n), SUM(x) FROM t GROUP BY g ORDER BY g" [ [ N; L 2L; D 2.0 ]; [ S "a"; L 3L; D 4.5 ]; [ S "b"; L 0L; N ] ]
        }
        test "a time floor grouping key stays a dimension of the nested groupBy" {
            expectNested "SELECT FLOOR(__time TO SECOND) AS s, COUNT(*), SUM(n), COUNT(DISTINCT u) FROM t GROUP BY 1" [ [ L 0L; L 8L; L 25L; L 4L ] ]
        }
        test "shapes it cannot decompose run in memory with the same answers" {
            for sql, expected in
                [ "SELECT g, COUNT(DISTINCT u), COUNT(DISTINCT n) FROM t GROUP BY g ORDER BY g", [ [ N; L 2L; L 2L ]; [ S "a"; L 2L; L 3L ]; [ S "b"; L 1L; L 0L ] ]
                  "SELECT g, EARLIEST(n), COUNT(DISTINCT u) FROM t GROUP BY g ORDER BY g", [ [ N; L 5L; L 2L ]; [ S "a"; L 1L; L 2L ]; [ S "b"; N; L 1L ] ]
                  "SELECT COUNT(DISTINCT u) FROM t HAVING COUNT(*) > 100", []
                  "SELECT COUNT(*) + 1, COUNT(DISTINCT u) FROM t WHERE g = 'zz'", [ [ L 1L; L 0L ] ] ] do
                Expect.isNone (SqlEngine.nativePlan native (request sql)) ("not native: " + sql)
                Expect.equal (rowsOf native sql) expected ("native options: " + sql)
                Expect.equal (rowsOf inMemory sql) expected ("in memory: " + sql)
        }
        test "EXPLAIN of an in-memory statement scans only the columns it reads" {
            let plan = (SqlEngine.execute native (request "EXPLAIN PLAN FOR SELECT g, COUNT(DISTINCT u), COUNT(DISTINCT n) FROM t GROUP BY g")).Rows.Head.[0]
            Expect.stringContains (Value.toStringOrNull plan) "\"columns\":[\"g\",\"u\",\"n\"]" "needed columns"
        }
    ]

// ---- generated tables against a naive oracle ---------------------------------------------------

let private genRow =
    gen {
        let! t = Gen.choose (0, 999)
        let! g = Gen.elements [ "a"; "b"; "c"; null ]
        // UTF-16 and UTF-8 order differ between a surrogate pair and U+E000.
        let! u = Gen.elements [ "u1"; "u2"; "u3"; null; "\U0001F600"; "\uE000"; "é" ]
        let! n = Gen.optionOf (Gen.choose (-5, 20) |> Gen.map int64)
        let! x = Gen.optionOf (Gen.choose (-10, 10) |> Gen.map (fun i -> float i / 4.0))
        return { Time = int64 t; G = g; U = u; N = n; X = x }
    }

type private Case = { Rows: Row list; Grouped: bool; Threshold: int64 }

type private CaseArb =
    static member Case() =
        gen {
            let! rows = Gen.listOf genRow |> Gen.map (List.truncate 25)
            let! grouped = Gen.elements [ true; false ]
            let! threshold = Gen.choose (-5, 20) |> Gen.map int64
            return { Rows = rows; Grouped = grouped; Threshold = threshold }
        }
        |> Arb.fromGen

let private sqlOf (c: Case) =
    let aggregates =
        sprintf "COUNT(*), SUM(n), MIN(n), MAX(x), AVG(n), COUNT(x), SUM(x) FILTER (WHERE n >= %d), COUNT(DISTINCT u), COUNT(DISTINCT u) FILTER (WHERE n < %d), MIN(u), MAX(u) FILTER (WHERE n >= %d)"
            c.Threshold c.Threshold c.Threshold
    if c.Grouped then sprintf "SELECT g, %s FROM t GROUP BY g ORDER BY g" aggregates
    else sprintf "SELECT %s FROM t" aggregates

let private oracle (c: Case) : Value list list =
    let optional (values: 'a list) (f: 'a list -> Value) = if values.IsEmpty then N else f values
    let aggregates (rows: Row list) =
        let ns = rows |> List.choose (fun r -> r.N)
        let xs = rows |> List.choose (fun r -> r.X)
        let filteredXs = rows |> List.filter (fun r -> r.N |> Option.exists (fun n -> n >= c.Threshold)) |> List.choose (fun r -> r.X)
        let distinctUsers (rs: Row list) = rs |> List.choose (fun r -> Option.ofObj r.U) |> List.distinct |> List.length |> int64 |> L
        let utf8 (u: string) = Text.Encoding.UTF8.GetBytes u |> Array.toList
        let users (rs: Row list) = rs |> List.choose (fun r -> Option.ofObj r.U)
        let atLeast (rs: Row list) = rs |> List.filter (fun r -> r.N |> Option.exists (fun n -> n >= c.Threshold))
        [ L(int64 rows.Length)
          optional ns (List.sum >> L)
          optional ns (List.min >> L)
          optional xs (List.max >> D)
          optional ns (fun ns -> D(float (List.sum ns) / float ns.Length))
          L(int64 xs.Length)
          optional filteredXs (List.sum >> D)
          distinctUsers rows
          distinctUsers (rows |> List.filter (fun r -> r.N |> Option.exists (fun n -> n < c.Threshold)))
          optional (users rows) (List.minBy utf8 >> S)
          optional (users (atLeast rows)) (List.maxBy utf8 >> S) ]
    if c.Grouped then
        // Ascending groups, the null key first.
        c.Rows |> List.groupBy (fun r -> r.G) |> List.sortBy fst |> List.map (fun (g, rs) -> (if isNull g then N else S g) :: aggregates rs)
    else [ aggregates c.Rows ]

let private config = { FsCheckConfig.defaultConfig with maxTest = 150; arbitrary = [ typeof<CaseArb> ] }

[<Tests>]
let distinctPlanProperties =
    testList "sql/distinct beside aggregates (oracle)" [
        testPropertyWithConfig config "the nested native plan and the in-memory path equal a List.groupBy oracle" <| fun (c: Case) ->
            let sql = sqlOf c
            Expect.isTrue (match SqlEngine.nativePlan (optionsFor c.Rows SqlEngine.defaultSupports) (request sql) with Some { DataSource = DataSource.Query _ } -> true | _ -> false) ("nested: " + sql)
            let expected = oracle c
            Expect.equal (rowsOf (optionsFor c.Rows SqlEngine.defaultSupports) sql) expected ("native: " + sql)
            Expect.equal (rowsOf (optionsFor c.Rows (fun _ -> false)) sql) expected ("in memory: " + sql)
    ]

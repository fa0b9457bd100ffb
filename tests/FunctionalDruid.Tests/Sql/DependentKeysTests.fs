/// GROUP BY keys that are functions of other keys (ClickBench Q36: ClientIP, ClientIP - 1, ...):
/// planned as one dimension per independent key and post-aggregators over it, with the same
/// rows as grouping on every key (the in-memory operators do) and as a naive oracle.
module FunctionalDruid.Tests.Sql.DependentKeysTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open FunctionalDruid.Core
open FunctionalDruid.Core.Query
open FunctionalDruid.Sql

type private Row = { Time: int64; S: string; Tags: string list; K: int64 option; M: int64 option; X: float option }

let private columns =
    [ "__time", ColumnType.Long; "s", ColumnType.String; "tags", ColumnType.String; "k", ColumnType.Long; "m", ColumnType.Long; "x", ColumnType.Double ]

let private strings (values: string[]) =
    let dictionary = values |> Array.distinct
    ColumnData.Strings { Dictionary = dictionary; Ids = values |> Array.map (fun v -> Array.IndexOf(dictionary, v)); MultiIds = None; HasBitmapIndex = true }

let private multiStrings (values: string list[]) =
    let dictionary = values |> Seq.concat |> Seq.distinct |> Seq.sort |> Array.ofSeq
    let ids = values |> Array.map (fun vs -> vs |> List.map (fun v -> Array.IndexOf(dictionary, v)) |> Array.ofList)
    ColumnData.Strings { Dictionary = dictionary; Ids = [||]; MultiIds = Some ids; HasBitmapIndex = true }

let private longs (values: int64 option[]) = ColumnData.Longs(values |> Array.map (fun v -> defaultArg v 0L), Some(values |> Array.map Option.isNone))

let private optionsFor (rows: Row list) (supports: NativeQuery -> bool) : SqlEngine.Options =
    let rows = rows |> List.sortBy (fun r -> r.Time) |> Array.ofList
    let content: SegmentContent =
        { Interval = { Start = 0L; End = 1000L }
          Times = rows |> Array.map (fun r -> r.Time)
          Dimensions = [ "s", strings (rows |> Array.map (fun r -> r.S)); "tags", multiStrings (rows |> Array.map (fun r -> r.Tags)) ]
          Metrics =
            [ "k", longs (rows |> Array.map (fun r -> r.K))
              "m", longs (rows |> Array.map (fun r -> r.M))
              "x", ColumnData.Doubles(rows |> Array.map (fun r -> defaultArg r.X 0.0), Some(rows |> Array.map (fun r -> r.X.IsNone))) ]
          Metadata = "{}" }
    SingleSliceOptions.optionsOver "t" columns content supports 0L

let private request (sql: string) : SqlEngine.Request = { Sql = sql; Parameters = [||]; Context = [ "useApproximateCountDistinct", "false" ] }

let private rowsOf (options: SqlEngine.Options) (sql: string) = (SqlEngine.execute options (request sql)).Rows |> List.map List.ofArray

let private L (x: int64) = Value.Long x
let private D (x: float) = Value.Double x
let private S (x: string) = Value.String x
let private N = Value.Null

let private row t s tags k m x = { Time = t; S = s; Tags = tags; K = k; M = m; X = x }

let private sample =
    [ row 1L "a" [ "p"; "q" ] (Some 5L) (Some 1L) (Some 1.5)
      row 2L "a" [ "p" ] (Some 5L) (Some 2L) None
      row 3L "b" [] (Some 5L) None (Some 2.0)
      row 4L "b" [ "q" ] (Some 7L) (Some 3L) (Some 1.5)
      row 5L null [ "r" ] (Some 7L) (Some 4L) None
      row 6L "c" [ "p"; "r" ] None (Some 5L) (Some -1.0)
      row 7L "c" [] None None (Some -1.0)
      row 8L "a" [ "q" ] (Some -2L) (Some 6L) None
      row 9L null [] (Some 0L) (Some 7L) (Some 2.0) ]

let private native = optionsFor sample SqlEngine.defaultSupports
let private inMemory = optionsFor sample (fun _ -> false)

let private planOf (sql: string) =
    match SqlEngine.nativePlan native (request sql) with
    | Some q -> q
    | None -> failtestf "no native plan: %s" sql

/// The (outer) query's grouping dimensions: (source, output name).
let private groupingOf (q: NativeQuery) =
    match q.Kind with
    | QueryKind.GroupBy g -> g.Dimensions |> List.map (fun d -> d.Dimension, d.OutputName)
    | QueryKind.TopN t -> [ t.Dimension.Dimension, t.Dimension.OutputName ]
    | other -> failtestf "not grouped: %A" other

let private postAggregatorsOf (q: NativeQuery) =
    match q.Kind with
    | QueryKind.GroupBy g -> g.PostAggregations
    | QueryKind.TopN t -> t.PostAggregations
    | _ -> []
    |> List.map (function PostAggregator.Expression(name, e) -> name, ExprText.toText e | p -> p.Name, "")

/// Native and in-memory (which groups on every key) give these rows.
let private expectRows (sql: string) (expected: Value list list) =
    Expect.equal (rowsOf native sql) expected ("native: " + sql)
    Expect.equal (rowsOf inMemory sql) expected ("in memory: " + sql)

[<Tests>]
let dependentKeysTests =
    testList "sql/dependent keys" [
        test "ClickBench Q36 shape: one dimension, the derived keys as post-aggregators, same rows" {
            let sql = "SELECT k, k - 1, k - 2, k - 3, COUNT(*) AS c FROM t GROUP BY k, k - 1, k - 2, k - 3 ORDER BY c DESC LIMIT 3"
            let plan = planOf sql
            Expect.equal (groupingOf plan) [ "k", "d0" ] "one dimension"
            Expect.equal (postAggregatorsOf plan) [ "p0", "d0 - 1"; "p1", "d0 - 2"; "p2", "d0 - 3" ] "derived keys"
            Expect.isEmpty plan.VirtualColumns "no virtual columns"
            Expect.isTrue (match plan.Kind with QueryKind.GroupBy _ -> true | _ -> false) "stays a groupBy (ties by key, as before)"
            // 5 three times; 7 and null twice each: ties order by the key, null first, as the
            // groupBy on all four keys ordered them (the in-memory operators keep input order).
            let expected = [ [ L 5L; L 4L; L 3L; L 2L; L 3L ]; [ N; N; N; N; L 2L ]; [ L 7L; L 6L; L 5L; L 4L; L 2L ] ]
            Expect.equal (rowsOf native sql) expected "native"
            expectRows (sql.Replace("c DESC", "c DESC, k")) expected
        }
        test "a null key gives null derived values; every group, ordered by the key" {
            expectRows
                "SELECT k, k * 2 AS twice, CASE WHEN k > 0 THEN 1 ELSE 0 END AS positive, COUNT(*), SUM(m) FROM t GROUP BY k, k * 2, CASE WHEN k > 0 THEN 1 ELSE 0 END ORDER BY k"
                [ [ N; N; L 0L; L 2L; L 5L ]
                  [ L -2L; L -4L; L 0L; L 1L; L 6L ]
                  [ L 0L; L 0L; L 0L; L 1L; L 7L ]
                  [ L 5L; L 10L; L 1L; L 3L; L 3L ]
                  [ L 7L; L 14L; L 1L; L 2L; L 7L ] ]
            Expect.equal (groupingOf (planOf "SELECT k, k * 2, CASE WHEN k > 0 THEN 1 ELSE 0 END, COUNT(*) FROM t GROUP BY 1, 2, 3")) [ "k", "d0" ] "one dimension"
        }
        test "HAVING and ORDER BY on a derived key, by alias, position and expression" {
            expectRows "SELECT k, k * 2 AS twice, COUNT(*) AS c FROM t GROUP BY k, k * 2 HAVING k * 2 > 0 ORDER BY twice DESC" [ [ L 7L; L 14L; L 2L ]; [ L 5L; L 10L; L 3L ] ]
            expectRows "SELECT k, k * 2 AS twice, COUNT(*) AS c FROM t GROUP BY k, k * 2 HAVING twice < 10 AND c = 1 ORDER BY 2 LIMIT 1" [ [ L -2L; L -4L; L 1L ] ]
            expectRows "SELECT k - 1 AS prev, COUNT(*) FROM t GROUP BY k, k - 1 ORDER BY k - 1 DESC LIMIT 2 OFFSET 1" [ [ L 4L; L 3L ]; [ L -1L; L 1L ] ]
            let plan = planOf "SELECT k, k * 2 AS twice, COUNT(*) FROM t GROUP BY k, k * 2 ORDER BY twice DESC LIMIT 2"
            Expect.equal (groupingOf plan) [ "k", "d0" ] "one dimension"
            Expect.equal (postAggregatorsOf plan) [ "p0", "d0 * 2" ] "ordered on the selected post-aggregator"
            match plan.Kind with
            | QueryKind.GroupBy { LimitSpec = Some l } -> Expect.equal (l.Columns |> List.map (fun c -> c.Column, c.Descending)) [ "p0", true ] "limit spec"
            | other -> failtestf "plan %A" other
        }
        test "derived string keys over a number key; a DOUBLE key" {
            let sql = "SELECT k, CONCAT('k-', k), CAST(k AS VARCHAR) AS txt, COUNT(*) FROM t GROUP BY 1, 2, 3 ORDER BY txt DESC"
            Expect.equal (groupingOf (planOf sql)) [ "k", "d0" ] "one dimension"
            expectRows sql
                [ [ L 7L; S "k-7"; S "7"; L 2L ]; [ L 5L; S "k-5"; S "5"; L 3L ]; [ L 0L; S "k-0"; S "0"; L 1L ]; [ L -2L; S "k--2"; S "-2"; L 1L ]; [ N; N; N; L 2L ] ]
            let doubles = "SELECT x, x * 2, x + 1, COUNT(*) FROM t GROUP BY x, x * 2, x + 1 ORDER BY x"
            Expect.equal (groupingOf (planOf doubles)) [ "x", "d0" ] "one DOUBLE dimension"
            expectRows doubles
                [ [ N; N; N; L 3L ]; [ D -1.0; D -2.0; D 0.0; L 2L ]; [ D 1.5; D 3.0; D 2.5; L 2L ]; [ D 2.0; D 4.0; D 3.0; L 2L ] ]
        }
        test "SELECT DISTINCT and exact COUNT(DISTINCT) with a derived key" {
            let distinct = "SELECT DISTINCT k, k + 10 FROM t ORDER BY k DESC"
            Expect.equal (groupingOf (planOf distinct)) [ "k", "d0" ] "one dimension"
            expectRows distinct [ [ L 7L; L 17L ]; [ L 5L; L 15L ]; [ L 0L; L 10L ]; [ L -2L; L 8L ]; [ N; N ] ]
            let exact = "SELECT k, k + 1, COUNT(DISTINCT s), SUM(m) FROM t GROUP BY k, k + 1 ORDER BY k"
            let plan = planOf exact
            Expect.equal (groupingOf plan) [ "d0", "_d0" ] "outer query: one dimension"
            match plan.DataSource with
            | DataSource.Query inner -> Expect.equal (groupingOf inner) [ "k", "d0"; "s", "d1" ] "inner: the key and the distinct argument"
            | other -> failtestf "data source %A" other
            expectRows exact [ [ N; N; L 1L; L 5L ]; [ L -2L; L -1L; L 1L; L 6L ]; [ L 0L; L 1L; L 0L; L 7L ]; [ L 5L; L 6L; L 2L; L 3L ]; [ L 7L; L 8L; L 1L; L 7L ] ]
        }
        test "ClickBench Q35 shape: constant keys beside a string or multi-value key; constants alone stay keys" {
            let q35 = "SELECT 1, s, COUNT(*) AS c FROM t GROUP BY 1, s ORDER BY c DESC, s"
            let plan = planOf q35
            Expect.equal (groupingOf plan) [ "s", "d0" ] "one dimension"
            Expect.equal (postAggregatorsOf plan) [ "p0", "1" ] "the constant"
            expectRows q35 [ [ L 1L; S "a"; L 3L ]; [ L 1L; N; L 2L ]; [ L 1L; S "b"; L 2L ]; [ L 1L; S "c"; L 2L ] ]
            let multiValue = "SELECT 'x' AS c, tags, COUNT(*) FROM t GROUP BY 1, 2 ORDER BY tags"
            Expect.equal (groupingOf (planOf multiValue)) [ "tags", "d0" ] "one multi-value dimension"
            expectRows multiValue [ [ S "x"; N; L 3L ]; [ S "x"; S "p"; L 3L ]; [ S "x"; S "q"; L 3L ]; [ S "x"; S "r"; L 2L ] ]
            // Grouping on a constant alone: no row over no input (GROUP BY () would give one).
            let constantOnly = "SELECT 1, COUNT(*) FROM t WHERE k = 99 GROUP BY 1"
            Expect.equal (groupingOf (planOf constantOnly)).Length 1 "the constant stays a key"
            expectRows constantOnly []
            expectRows "SELECT 1, COUNT(*) FROM t GROUP BY 1" [ [ L 1L; L 9L ] ]
        }
        test "keys that must stay dimensions: an ungrouped column, a string or multi-value key, a mixed-type CASE" {
            let expectKept (sql: string) (dimensions: int) (expected: Value list list) =
                Expect.equal (groupingOf (planOf sql)).Length dimensions ("dimensions: " + sql)
                expectRows sql expected
            expectKept "SELECT k, k + m, COUNT(*) FROM t WHERE k = 5 GROUP BY k, k + m ORDER BY 2" 2 [ [ L 5L; N; L 1L ]; [ L 5L; L 6L; L 1L ]; [ L 5L; L 7L; L 1L ] ]
            expectKept "SELECT s, UPPER(s), COUNT(*) FROM t GROUP BY s, UPPER(s) ORDER BY s" 2 [ [ N; N; L 2L ]; [ S "a"; S "A"; L 3L ]; [ S "b"; S "B"; L 2L ]; [ S "c"; S "C"; L 2L ] ]
            // Natively two multi-value dimensions group under every pair of their values, as in
            // Druid: a post-aggregator over `tags` would pair each value with its own only.
            let multiValue = "SELECT tags, UPPER(tags), COUNT(*) FROM t GROUP BY tags, UPPER(tags) ORDER BY tags, 2"
            Expect.equal (groupingOf (planOf multiValue)).Length 2 "dimensions: multi-value"
            Expect.equal
                (rowsOf native multiValue)
                [ [ N; N; L 3L ]; [ S "p"; S "P"; L 3L ]; [ S "p"; S "Q"; L 1L ]; [ S "p"; S "R"; L 1L ]; [ S "q"; S "P"; L 1L ]; [ S "q"; S "Q"; L 3L ]; [ S "r"; S "P"; L 1L ]; [ S "r"; S "R"; L 2L ] ]
                "native: every pair"
            // 1 or 0.5: the dimension would read 1 as 1.0, a post-aggregator would not.
            expectKept "SELECT k, CASE WHEN k > 5 THEN 1 ELSE 0.5 END, COUNT(*) FROM t GROUP BY 1, 2 ORDER BY k DESC LIMIT 2" 2 [ [ L 7L; D 1.0; L 2L ]; [ L 5L; D 0.5; L 3L ] ]
            expectKept "SELECT FLOOR(__time TO SECOND), __time, COUNT(*) FROM t WHERE k = 7 GROUP BY 1, 2 ORDER BY 2" 2 [ [ L 0L; L 4L; L 1L ]; [ L 0L; L 5L; L 1L ] ]
        }
        test "EXPLAIN shows one dimension and the post-aggregators" {
            let plan = (SqlEngine.execute native (request "EXPLAIN PLAN FOR SELECT k, k - 1, k - 2, k - 3, COUNT(*) AS c FROM t GROUP BY k, k - 1, k - 2, k - 3 ORDER BY c DESC LIMIT 10")).Rows.Head.[0]
            let text = Value.toStringOrNull plan
            Expect.stringContains text "\"dimensions\":[{\"type\":\"default\",\"dimension\":\"k\",\"outputName\":\"d0\",\"outputType\":\"LONG\"}]" "one dimension"
            Expect.stringContains text "\"postAggregations\":[{\"type\":\"expression\",\"name\":\"p0\",\"expression\":\"d0 - 1\"},{\"type\":\"expression\",\"name\":\"p1\",\"expression\":\"d0 - 2\"}" "derived key"
            Expect.isFalse (text.Contains "virtualColumns\":[{") "no virtual columns"
        }
    ]

// ---- generated tables and derived keys against the in-memory path and a naive oracle ------------

/// A derived key: its SQL text and its value for a key value.
type private Derived = { Sql: string; Of: int64 option -> Value }

let private derivedKeys =
    let number (f: int64 -> int64) (k: int64 option) = match k with Some k -> L(f k) | None -> N
    [ { Sql = "k - 1"; Of = number (fun k -> k - 1L) }
      { Sql = "k * 2"; Of = number (fun k -> k * 2L) }
      { Sql = "k + k"; Of = number (fun k -> k + k) }
      { Sql = "-k"; Of = number (fun k -> -k) }
      { Sql = "k / 2"; Of = number (fun k -> k / 2L) }
      { Sql = "k % 3"; Of = number (fun k -> k % 3L) }
      { Sql = "CASE WHEN k > 0 THEN 1 ELSE 0 END"; Of = (fun k -> L(match k with Some k when k > 0L -> 1L | _ -> 0L)) }
      { Sql = "CAST(k AS VARCHAR)"; Of = (fun k -> match k with Some k -> S(string k) | None -> N) }
      { Sql = "CONCAT('k', k)"; Of = (fun k -> match k with Some k -> S("k" + string k) | None -> N) }
      { Sql = "'c'"; Of = (fun _ -> S "c") } ]

type private Case = { Rows: Row list; Derived: Derived; ByDerived: bool; Descending: bool; Limit: int option }

let private genRow =
    gen {
        let! t = Gen.choose (0, 999)
        let! k = Gen.optionOf (Gen.choose (-4, 6) |> Gen.map int64)
        let! m = Gen.optionOf (Gen.choose (-3, 9) |> Gen.map int64)
        return row (int64 t) "a" [] k m None
    }

type private CaseArb =
    static member Case() =
        gen {
            let! rows = Gen.listOf genRow |> Gen.map (List.truncate 30)
            let! derived = Gen.elements derivedKeys
            let! byDerived = Gen.elements [ true; false ]
            let! descending = Gen.elements [ true; false ]
            let! limit = Gen.optionOf (Gen.choose (0, 6))
            return { Rows = rows; Derived = derived; ByDerived = byDerived; Descending = descending; Limit = limit }
        }
        |> Arb.fromGen

let private sqlOf (c: Case) =
    let direction = if c.Descending then "DESC" else "ASC"
    // The key last makes the order total whatever the derived values tie on.
    let order = if c.ByDerived then sprintf "f %s, k" direction else sprintf "c %s, k" direction
    let limit = match c.Limit with Some n -> sprintf " LIMIT %d" n | None -> ""
    sprintf "SELECT k, %s AS f, COUNT(*) AS c, SUM(m) FROM t GROUP BY k, %s ORDER BY %s%s" c.Derived.Sql c.Derived.Sql order limit

/// Nulls first, as the native ordering puts them.
let private compareValues (a: Value) (b: Value) =
    match a, b with
    | Value.Null, Value.Null -> 0
    | Value.Null, _ -> -1
    | _, Value.Null -> 1
    | Value.Long x, Value.Long y -> compare x y
    | x, y -> String.CompareOrdinal(Value.toStringOrNull x, Value.toStringOrNull y)

let private oracle (c: Case) : Value list list =
    let groups =
        c.Rows |> List.groupBy (fun r -> r.K, c.Derived.Of r.K)
        |> List.map (fun ((k, f), rs) ->
            let ms = rs |> List.choose (fun r -> r.M)
            [ (match k with Some k -> L k | None -> N); f; L(int64 rs.Length); (if ms.IsEmpty then N else L(List.sum ms)) ])
    let sortKey (r: Value list) = if c.ByDerived then r.[1] else r.[2]
    let sorted =
        groups |> List.sortWith (fun a b ->
            let byKey = compareValues (sortKey a) (sortKey b)
            let byKey = if c.Descending then -byKey else byKey
            if byKey <> 0 then byKey else compareValues a.[0] b.[0])
    match c.Limit with Some n -> List.truncate n sorted | None -> sorted

let private config = { FsCheckConfig.defaultConfig with maxTest = 200; arbitrary = [ typeof<CaseArb> ] }

[<Tests>]
let dependentKeysProperties =
    testList "sql/dependent keys (oracle)" [
        testPropertyWithConfig config "grouping on the independent key gives the rows of grouping on every key" <| fun (c: Case) ->
            let sql = sqlOf c
            let nativeOptions = optionsFor c.Rows SqlEngine.defaultSupports
            match SqlEngine.nativePlan nativeOptions (request sql) with
            | Some plan -> Expect.equal (groupingOf plan) [ "k", "d0" ] ("one dimension: " + sql)
            | None -> failtestf "no native plan: %s" sql
            let expected = oracle c
            Expect.equal (rowsOf nativeOptions sql) expected ("native: " + sql)
            Expect.equal (rowsOf (optionsFor c.Rows (fun _ -> false)) sql) expected ("in memory: " + sql)
    ]

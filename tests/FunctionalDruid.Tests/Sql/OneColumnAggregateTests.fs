/// In-memory aggregates over one table column read that column as distinct values with row
/// counts (TableReader.readCounted) and must answer exactly as the row-by-row path, which the
/// engine takes when no counted reader is given.
module FunctionalDruid.Tests.Sql.OneColumnAggregateTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open FunctionalDruid.Core
open FunctionalDruid.Sql

let private day = 86_400_000L

let private stringColumn (values: string[]) =
    let dictionary = values |> Array.distinct
    ColumnData.Strings { Dictionary = dictionary; Ids = values |> Array.map (fun v -> Array.IndexOf(dictionary, v)); MultiIds = None; HasBitmapIndex = true }

let private multiValueColumn (rows: string[][]) =
    let dictionary = rows |> Array.concat |> Array.distinct
    ColumnData.Strings
        { Dictionary = dictionary; Ids = Array.zeroCreate rows.Length
          MultiIds = Some(rows |> Array.map (Array.map (fun v -> Array.IndexOf(dictionary, v)))); HasBitmapIndex = true }

/// One segment row of table `t`: a string `s`, a multi-value string `m`, a nullable long `n`
/// and a double `d`.
type Row = { S: string; M: string[]; N: int64 option; D: float }

let private row (s: string) : Row = { S = s; M = [||]; N = None; D = 0.0 }

/// One segment per day; row i of day k is at k days + i ms.
let slicesOf (days: Row list list) : Engine.SegmentSlice list =
    days |> List.mapi (fun k rows ->
        let rows = Array.ofList rows
        let interval: Time.Interval = { Start = int64 k * day; End = int64 (k + 1) * day }
        let content: SegmentContent =
            { Interval = interval; Times = Array.init rows.Length (fun i -> interval.Start + int64 i)
              Dimensions = [ "s", stringColumn (rows |> Array.map (fun r -> r.S)); "m", multiValueColumn (rows |> Array.map (fun r -> r.M)) ]
              Metrics =
                [ "n", ColumnData.Longs(rows |> Array.map (fun r -> defaultArg r.N 0L), Some(rows |> Array.map (fun r -> r.N.IsNone)))
                  "d", ColumnData.Doubles(rows |> Array.map (fun r -> r.D), None) ]
              Metadata = "{}" }
        { Id = sprintf "t_%d" k; Content = content; Serves = interval })

let private catalog =
    StaticCatalog [ "t", [ "__time", ColumnType.Long; "s", ColumnType.String; "m", ColumnType.String; "n", ColumnType.Long; "d", ColumnType.Double ] ]

/// Everything runs in memory; `counted` gives the engine the counted reader.
let optionsOver (slices: Engine.SegmentSlice list) (counted: bool) : SqlEngine.Options =
    { Catalog = catalog
      Run = (fun q -> QueryExecution.execute QuerySlices.sequential (fun _ _ -> slices) q)
      Supports = (fun _ -> false)
      Now = 0L
      ReadRows = Some(fun q order -> TableReader.readTop q order slices)
      ReadCounted = if counted then Some(fun q -> TableReader.readCounted q slices) else None }

let execute (options: SqlEngine.Options) (sql: string) =
    SqlEngine.execute options { Sql = sql; Parameters = [||]; Context = [] }

/// A result as text that tells doubles apart by their bits, or the error's type.
let outcome (options: SqlEngine.Options) (sql: string) : string =
    let cell (v: Value) =
        match v with
        | Value.Double d -> sprintf "D%016x" (BitConverter.DoubleToInt64Bits d)
        | v -> sprintf "%A" v
    try
        let r = execute options sql
        sprintf "%A\n%s" r.Columns (r.Rows |> List.map (fun row -> String.Join(" | ", row |> Array.map cell)) |> String.concat "\n")
    with e -> "error " + e.GetType().Name

/// Which reader a statement used.
let private readersUsed (slices: Engine.SegmentSlice list) (sql: string) =
    let counted = ref 0
    let rows = ref 0
    let options =
        { optionsOver slices true with
            ReadRows = Some(fun q order -> rows.Value <- rows.Value + 1; TableReader.readTop q order slices)
            ReadCounted = Some(fun q -> counted.Value <- counted.Value + 1; TableReader.readCounted q slices) }
    let result = execute options sql
    result, counted.Value, rows.Value

let private S (s: string) = Value.String s
let private L (l: int64) = Value.Long l
let private D (d: float) = Value.Double d

let private referers =
    [ [ row "https://www.google.ru/search?q=1"; row ""; row "http://news.example.com/a/b"; row "https://www.google.ru/x/" ]
      [ row "http://news.example.com/c"; row null; row "https://www.google.ru/search?q=22"; row "not a url" ]
      [ row "https://maps.google.com/"; row "https://www.google.ru/"; row "" ] ]

let private q29 =
    "SELECT REGEXP_REPLACE(s, '^https?://(?:www\\.)?([^/]+)/.*$', '$1') AS k, AVG(length(s)) AS l, COUNT(*) AS c, MIN(s) "
    + "FROM t WHERE s <> '' GROUP BY k HAVING COUNT(*) > 1 ORDER BY l DESC LIMIT 25"

// ---- generated tables and statements -------------------------------------------------------------

let private stringPool = [| null; ""; "a"; "ab"; "b"; "B"; "http://www.x.com/p"; "https://y.org/q/r"; "é" |]
let private longPool = [| None; Some 0L; Some 1L; Some -2L; Some 7L; Some 3_000_000_000_000_000_000L; Some -3_000_000_000_000_000_000L |]
let private doublePool = [| 0.0; -0.0; 0.1; 0.2; 0.7; 1e17; -1.5 |]

let private rowGen (doubles: float[]) =
    gen {
        let! s = Gen.elements stringPool
        let! n = Gen.frequency [ 6, Gen.elements longPool.[0..4]; 1, Gen.elements longPool ]
        let! d = Gen.elements doubles
        return { S = s; M = [||]; N = n; D = d }
    }

/// Up to four segments; some tables hold only zeros of both signs (equal values that differ).
let tableGen =
    gen {
        let! doubles = Gen.elements [ doublePool; [| 0.0; -0.0 |] ]
        let! days = Gen.listOf (Gen.listOf (rowGen doubles))
        return List.truncate 4 days
    }

let private statements =
    let wheres column =
        match column with
        | "s" -> [ ""; " WHERE s <> ''"; " WHERE s LIKE '%a%'"; " WHERE s IS NOT NULL"; " WHERE UPPER(s) <> 'B'" ]
        | "n" -> [ ""; " WHERE n > 0"; " WHERE n IS NULL OR n < 5" ]
        | _ -> [ ""; " WHERE d < 0.5" ]
    let havings = [ ""; " HAVING COUNT(*) > 1" ]
    [ for w in wheres "s" do
          yield sprintf "SELECT MIN(s), MAX(s), COUNT(*), COUNT(s), COUNT(DISTINCT s), ANY_VALUE(s) FROM t%s" w
          for h in havings do
              yield sprintf "SELECT UPPER(s) AS k, COUNT(*) AS c, MIN(s), MAX(s), AVG(LENGTH(s)) FROM t%s GROUP BY UPPER(s)%s ORDER BY c DESC LIMIT 3" w h
              yield sprintf "SELECT SUBSTRING(s, 1, 1) AS k, COUNT(*), SUM(LENGTH(s)), COUNT(DISTINCT s) FROM t%s GROUP BY 1%s" w h
          yield sprintf "SELECT s, COUNT(*) FROM t%s GROUP BY s" w
          yield sprintf "SELECT COUNT(*) FILTER (WHERE s = 'a'), MIN(s) FILTER (WHERE s <> 'a') FROM t%s" w
      for w in wheres "n" do
          yield sprintf "SELECT MIN(n), MAX(n), SUM(n), AVG(n), COUNT(n), COUNT(DISTINCT n) FROM t%s" w
          for h in havings do
              yield sprintf "SELECT MOD(n, 3) AS k, SUM(n), AVG(n), COUNT(*), MAX(n) FROM t%s GROUP BY MOD(n, 3)%s" w h
          yield sprintf "SELECT n * 0.5 AS k, COUNT(*), SUM(n * 0.5) FROM t%s GROUP BY 1" w
      for w in wheres "d" do
          yield sprintf "SELECT SUM(d), AVG(d), MIN(d), MAX(d), COUNT(*) FROM t%s" w
          yield sprintf "SELECT MIN(d), MAX(d), COUNT(DISTINCT d) FROM t%s" w
          yield sprintf "SELECT d > 0 AS k, SUM(d), MAX(d), COUNT(*) FROM t%s GROUP BY 1" w
      yield "SELECT COUNT(*) FROM t"
      yield "SELECT COUNT(*), MIN(__time), MAX(__time) FROM t WHERE __time >= TIMESTAMP '1970-01-02 00:00:00'" ]

[<Tests>]
let tests =
    testList "sql/one-column aggregates" [
        test "Q7's shape: MIN and MAX of a string column, read as counted values" {
            let dates = [ [ "2013-07-02"; "2013-07-01"; "2013-07-02" ]; [ "2013-07-15"; "2013-07-03" ]; [ "2013-07-31"; "2013-07-01" ] ]
            let slices = slicesOf (dates |> List.map (List.map row))
            let result, counted, rows = readersUsed slices "SELECT MIN(s), MAX(s) FROM t"
            Expect.equal result.Rows [ [| S "2013-07-01"; S "2013-07-31" |] ] "rows"
            Expect.equal result.Columns [ "EXPR$0", SqlType.Varchar; "EXPR$1", SqlType.Varchar ] "columns"
            Expect.equal (counted, rows) (1, 0) "one counted read, no row read"
        }

        test "Q29's shape: domains of a string column, grouped over counted values" {
            let slices = slicesOf referers
            let result, counted, rows = readersUsed slices q29
            let average (urls: string list) = D(float (urls |> List.sumBy String.length) / float urls.Length)
            Expect.equal result.Rows
                [ [| S "google.ru"; average [ "https://www.google.ru/search?q=1"; "https://www.google.ru/x/"; "https://www.google.ru/search?q=22"; "https://www.google.ru/" ]
                     L 4L; S "https://www.google.ru/" |]
                  [| S "news.example.com"; average [ "http://news.example.com/a/b"; "http://news.example.com/c" ]; L 2L; S "http://news.example.com/a/b" |] ] "rows"
            Expect.equal (counted, rows) (1, 0) "one counted read, no row read"
            Expect.equal (outcome (optionsOver slices true) q29) (outcome (optionsOver slices false) q29) "same as row by row"
        }

        test "nulls and empty strings are values of their own" {
            let slices = slicesOf [ [ row "b"; row null; row "" ]; [ row "a"; row null; row "b"; row "" ]; [ row null ] ]
            let options = optionsOver slices true
            Expect.equal (execute options "SELECT s, COUNT(*), COUNT(s) FROM t GROUP BY s ORDER BY s").Rows
                [ [| Value.Null; L 3L; L 0L |]; [| S ""; L 2L; L 2L |]; [| S "a"; L 1L; L 1L |]; [| S "b"; L 2L; L 2L |] ] "groups"
            Expect.equal (execute options "SELECT MIN(s), MAX(s), COUNT(*), COUNT(s), COUNT(DISTINCT s) FROM t").Rows
                [ [| S ""; S "b"; L 8L; L 5L; L 3L |] ] "no GROUP BY"
            Expect.equal (execute options "SELECT COUNT(*), MIN(s) FROM t WHERE s <> ''").Rows [ [| L 3L; S "a" |] ] "WHERE on the column"
            Expect.equal (execute options "SELECT COUNT(*), MIN(s) FROM t WHERE s = 'zz'").Rows [ [| L 0L; Value.Null |] ] "no row passes"
            Expect.equal (execute options "SELECT s, COUNT(*) FROM t WHERE s IS NULL GROUP BY s").Rows [ [| Value.Null; L 3L |] ] "only nulls"
        }

        test "a number column: sums and averages of longs with counts, in order of first rows" {
            let rows = [ Some 5L; None; Some 2L; Some 5L; Some 3L; Some 2L; Some 5L ] |> List.map (fun n -> { row "x" with N = n })
            let slices = slicesOf [ List.take 4 rows; List.skip 4 rows ]
            let sql = "SELECT MOD(n, 2) AS k, SUM(n), AVG(n), COUNT(n), COUNT(*), MIN(n), MAX(n) FROM t GROUP BY MOD(n, 2)"
            let result, counted, read = readersUsed slices sql
            Expect.equal result.Rows
                [ [| L 1L; L 18L; D 4.5; L 4L; L 4L; L 3L; L 5L |]
                  [| Value.Null; Value.Null; Value.Null; L 0L; L 1L; Value.Null; Value.Null |]
                  [| L 0L; L 4L; D 2.0; L 2L; L 2L; L 2L; L 2L |] ] "groups in order of first row"
            Expect.equal (counted, read) (1, 0) "counted"
        }

        test "sums of doubles and long sums that may overflow read the rows one by one" {
            let doubles = slicesOf [ [ { row "x" with D = 0.1 }; { row "x" with D = 0.2 }; { row "x" with D = 0.1 } ]; [ { row "x" with D = 0.7 }; { row "x" with D = 0.1 } ] ]
            let result, counted, read = readersUsed doubles "SELECT SUM(d), AVG(d), COUNT(*) FROM t"
            Expect.equal result.Rows [ [| D(0.1 + 0.2 + 0.1 + 0.7 + 0.1); D((0.1 + 0.2 + 0.1 + 0.7 + 0.1) / 5.0); L 5L |] ] "row order sums"
            Expect.equal (counted, read) (0, 1) "a sum of doubles reads the rows without trying counts"
            let result, counted, read = readersUsed doubles "SELECT MIN(d), MAX(d), COUNT(*) FROM t"
            Expect.equal result.Rows [ [| D 0.1; D 0.7; L 5L |] ] "extremes of doubles"
            Expect.equal (counted, read) (1, 0) "extremes of doubles other than zero take counts"
            let big = slicesOf [ [ { row "x" with N = Some Int64.MaxValue }; { row "x" with N = Some -5L }; { row "x" with N = Some 5L } ] ]
            let result, counted, read = readersUsed big "SELECT SUM(n), MIN(n) FROM t"
            Expect.equal result.Rows [ [| L Int64.MaxValue; L -5L |] ] "no overflow one by one"
            Expect.equal (counted, read) (1, 1) "a magnitude over 2^62 reads the rows"
        }

        test "of equal doubles that differ (-0.0 and 0.0), MIN keeps the first row's, MAX the last row's" {
            let slices = slicesOf [ [ { row "x" with D = 0.0 }; { row "x" with D = -0.0 } ]; [ { row "x" with D = 0.0 } ] ]
            let bits (v: Value) = match v with Value.Double d -> BitConverter.DoubleToInt64Bits d | _ -> -1L
            let result, counted, read = readersUsed slices "SELECT MIN(d), MAX(d) FROM t"
            Expect.equal (result.Rows |> List.map (Array.map bits)) [ [| 0L; 0L |] ] "0.0 and 0.0"
            Expect.equal (counted, read) (1, 1) "counted first, then the rows"
        }

        test "aggregates that depend on row order or repetitions read the rows" {
            let slices = slicesOf [ [ row "b"; row "a" ]; [ row "b" ] ]
            // (statement, rows, (counted reads, row reads))
            for sql, expected, reads in
                [ "SELECT STRING_AGG(s, ',') FROM t", [ [| S "b,a,b" |] ], (0, 1)
                  "SELECT ARRAY_AGG(s) FROM t", [ [| Value.Array [| S "b"; S "a"; S "b" |] |] ], (0, 1)
                  "SELECT LATEST(s) FROM t", [ [| S "b" |] ], (0, 1)
                  "SELECT APPROX_COUNT_DISTINCT(s), SUM(DISTINCT LENGTH(s)) FROM t", [ [| L 2L; L 1L |] ], (0, 1)
                  "SELECT COUNT(*), s FROM t GROUP BY s ORDER BY COUNT(*) DESC", [ [| L 2L; S "b" |]; [| L 1L; S "a" |] ], (1, 0) ] do
                let result, counted, read = readersUsed slices sql
                Expect.equal result.Rows expected sql
                Expect.equal (counted, read) reads (sql + ": reads")
        }

        test "multi-value strings read their rows (grouping expands them)" {
            let rows = [ [| "a"; "b" |]; [||]; [| "b" |]; [| "a"; "b" |] ] |> List.map (fun m -> { row "x" with M = m })
            let slices = slicesOf [ rows ]
            let result, counted, read = readersUsed slices "SELECT m, COUNT(*) FROM t GROUP BY m ORDER BY m"
            Expect.equal result.Rows [ [| Value.Null; L 1L |]; [| S "a"; L 2L |]; [| S "b"; L 3L |] ] "expanded groups"
            Expect.equal (counted, read) (1, 1) "the counted reader refuses, the rows are read"
        }

        test "readCounted: values in order of their first row across segments, within intervals and filter" {
            let slices = slicesOf [ [ row "b"; row "a"; row "b"; row null ]; [ row "c"; row "a"; row "b" ] ]
            let scan (intervals: Time.Interval list) (filter: Filter.Filter option) : Query.NativeQuery =
                { DataSource = Query.DataSource.Table "t"; Intervals = intervals; Filter = filter; VirtualColumns = []
                  Kind = Query.QueryKind.Scan { Columns = [ "s" ]; Limit = None; Offset = 0L; Compacted = true; Order = Query.ScanOrder.NoOrder; BatchSize = 20480 }
                  Context = [] }
            let read intervals filter =
                TableReader.readCounted (scan intervals filter) slices |> Option.map (fun c -> List.zip (List.ofArray c.Values) (List.ofArray c.Counts))
            Expect.equal (read [ Time.eternity ] None) (Some [ S "b", 3L; S "a", 2L; Value.Null, 1L; S "c", 1L ]) "all rows"
            Expect.equal (read [ { Start = 1L; End = day + 2L } ] None) (Some [ S "a", 2L; S "b", 1L; Value.Null, 1L; S "c", 1L ]) "within an interval"
            // The rows `read` returns, counted per value in order of first row.
            let fromRows intervals filter =
                TableReader.read (scan intervals filter) slices |> Array.map (fun r -> r.[0]) |> List.ofArray |> List.countBy id |> List.map (fun (v, n) -> v, int64 n)
            for intervals, filter in
                [ [ Time.eternity ], None; [ { Start = 1L; End = day + 2L } ], None
                  [ Time.eternity ], Some(Filter.Not(Filter.Selector("s", Some "b"))); [ { Start = 0L; End = 3L } ], Some(Filter.Selector("s", Some "b")) ] do
                Expect.equal (read intervals filter) (Some(fromRows intervals filter)) (sprintf "as read: %A %A" intervals filter)
            let numbers (column: string) = TableReader.readCounted { scan [ Time.eternity ] None with Kind = Query.QueryKind.Scan { Columns = [ column ]; Limit = None; Offset = 0L; Compacted = true; Order = Query.ScanOrder.NoOrder; BatchSize = 20480 } } (slicesOf [ [ { row "x" with N = Some 2L; D = -0.0 }; { row "x" with D = 0.0 } ]; [ { row "x" with N = Some 2L; D = -0.0 } ] ])
            Expect.equal (numbers "n" |> Option.map (fun c -> c.Values, c.Counts)) (Some([| L 2L; Value.Null |], [| 2L; 1L |])) "longs with nulls"
            Expect.equal (numbers "d" |> Option.map (fun c -> c.Values |> Array.map (function Value.Double d -> BitConverter.DoubleToInt64Bits d | _ -> 0L), c.Counts))
                (Some([| BitConverter.DoubleToInt64Bits -0.0; 0L |], [| 2L; 1L |])) "-0.0 and 0.0 apart"
            Expect.isNone (numbers "m") "multi-value strings are not counted"
            Expect.equal (numbers "missing" |> Option.map (fun c -> c.Values, c.Counts)) (Some([| Value.Null |], [| 3L |])) "an absent column is null"
        }

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 60 } "rows read slice by slice in parallel come in slice order, with or without an order" <| fun (seed: int) ->
            let rnd = Random(seed)
            let values = [| "a"; "b"; "c"; null; "" |]
            let slices =
                slicesOf [ for _ in 0 .. rnd.Next 6 ->
                             [ for _ in 1 .. rnd.Next 40 -> { row values.[rnd.Next values.Length] with N = (if rnd.Next 3 = 0 then None else Some(int64 (rnd.Next 5))) } ] ]
            let columns = [ [ "s" ]; [ "s"; "n" ]; [ "n"; "__time" ]; [ "m"; "s" ] ].[rnd.Next 4]
            let filter = [| None; Some(Filter.Not(Filter.Selector("s", Some "b"))); Some(Filter.Selector("n", Some "2")) |].[rnd.Next 3]
            let scan: Query.NativeQuery =
                { DataSource = Query.DataSource.Table "t"; Intervals = [ Time.eternity ]; Filter = filter; VirtualColumns = []
                  Kind = Query.QueryKind.Scan { Columns = columns; Limit = None; Offset = 0L; Compacted = true; Order = Query.ScanOrder.NoOrder; BatchSize = 20480 }
                  Context = [] }
            let order: Relational.RowOrder option =
                if rnd.Next 2 = 0 then None else Some { Keys = [ 0, rnd.Next 2 = 0, None ]; Count = rnd.Next 5 }
            TableReader.readTopWith (FunctionalDruid.Tests.Core.EngineTestData.shuffledRunner seed) scan order slices = TableReader.readTop scan order slices

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 150 } "counted values give the row-by-row results" <| fun () ->
            Prop.forAll (Arb.fromGen (Gen.zip tableGen (Gen.elements statements))) (fun (days, sql) ->
                let slices = slicesOf days
                let expected = outcome (optionsOver slices false) sql
                let actual = outcome (optionsOver slices true) sql
                if actual <> expected then failwithf "%s\ncounted:\n%s\nrow by row:\n%s" sql actual expected
                true)
    ]

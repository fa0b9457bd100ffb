/// The fast paths of the in-memory SQL operators against the plain ones they replace: top-k
/// against the full stable sort, streaming aggregates against `aggregate`, the contains form
/// of `LIKE '%text%'` against the LIKE filter, and per-value memoized expressions.
module FunctionalDruid.Tests.Sql.InMemoryOperatorsTests

open Expecto
open FsCheck
open FsCheck.FSharp
open FunctionalDruid.Core
open FunctionalDruid.Sql
open FunctionalDruid.Sql.Translate

let private pool =
    [| Value.Null; Value.String ""; Value.String "a"; Value.String "b"; Value.String "ab"; Value.String "é"
       Value.String "1"; Value.Long 1L; Value.Long 2L; Value.Long -3L; Value.Double 1.0; Value.Double 2.5 |]

let private numberPool = [| Value.Null; Value.Long 1L; Value.Long 2L; Value.Long -3L; Value.Double 1.0; Value.Double 2.5; Value.String "4"; Value.String "x" |]

/// Rows of two key columns plus their input position, so ties show which row came first. A
/// column holds one kind of value (strings or numbers, and nulls), as a SQL column does: mixed
/// kinds have no total order, so no two sorts need agree on them.
let private rowsGen =
    let strings = [| Value.Null; Value.String ""; Value.String "a"; Value.String "b"; Value.String "ab"; Value.String "é"; Value.String "😀" |]
    let numbers = [| Value.Null; Value.Long 1L; Value.Long 2L; Value.Long -3L; Value.Double 1.0; Value.Double 2.5 |]
    Gen.zip (Gen.elements strings) (Gen.elements numbers)
    |> Gen.listOf
    |> Gen.map (List.mapi (fun i (a, b) -> [| a; b; Value.Long(int64 i) |]))

type private Order = { Rows: Value[] list; Desc: bool list; Nulls: bool option list; KeyCount: int; Count: int }

let private orderGen =
    gen {
        let! rows = rowsGen
        let! keyCount = Gen.choose (1, 2)
        let! desc = Gen.listOfLength keyCount (Gen.elements [ false; true ])
        let! nulls = Gen.listOfLength keyCount (Gen.elements [ None; Some true; Some false ])
        let! count = Gen.choose (0, rows.Length + 3)
        return { Rows = rows; Desc = desc; Nulls = nulls; KeyCount = keyCount; Count = count }
    }

let private keysOf (n: int) = List.init n (fun i -> fun (row: Value[]) -> row.[i])

let private show (v: Value) = sprintf "%A" v

let private parsed (text: string) = match Expr.parse text with Ok e -> e | Error e -> failwith e

/// One slice of rows 0 .. n-1 (time = row): a string column `s` over a small dictionary with a
/// null entry, and a long column `l`.
let private sliceOf (ids: int[]) : Engine.SegmentSlice =
    let dictionary = [| null; ""; "ab"; "xaby"; "b%" |]
    let content: SegmentContent =
        { Interval = { Start = 0L; End = 1000L }; Times = Array.init ids.Length int64
          Dimensions = [ "s", ColumnData.Strings { Dictionary = dictionary; Ids = ids; MultiIds = None; HasBitmapIndex = true }
                         "l", ColumnData.Longs(Array.init ids.Length (fun i -> int64 (i % 3)), None) ]
          Metrics = []; Metadata = "{}" }
    { Id = "t"; Content = content; Serves = content.Interval }

let private scanOver (interval: Time.Interval) (columns: string list) (filter: Filter.Filter option) : Query.NativeQuery =
    { DataSource = Query.DataSource.Table "t"; Intervals = [ interval ]; Filter = filter; VirtualColumns = []
      Kind = Query.QueryKind.Scan { Columns = columns; Limit = None; Offset = 0L; Compacted = true; Order = Query.ScanOrder.NoOrder; BatchSize = 20480 }
      Context = [] }

let private scanOf = scanOver { Start = 0L; End = 1000L }

[<Tests>]
let tests =
    testList "sql/in-memory operators" [
        testProperty "top-k is the head of the stable full sort, ties included" <| fun () ->
            Prop.forAll (Arb.fromGen orderGen) (fun o ->
                let keys = keysOf o.KeyCount
                let expected = Relational.sortRows keys o.Desc o.Nulls o.Rows |> List.truncate o.Count
                let actual = Relational.sortRowsTop keys o.Desc o.Nulls o.Count o.Rows
                actual = expected)

        test "top-k keeps the earlier of tied rows and orders nulls as the full sort" {
            let rows = [ [| Value.String "b"; Value.Long 0L |]; [| Value.Null; Value.Long 1L |]; [| Value.String "a"; Value.Long 2L |]
                         [| Value.String "a"; Value.Long 3L |]; [| Value.String "b"; Value.Long 4L |] ]
            let first = [ fun (r: Value[]) -> r.[0] ]
            let positions rows = rows |> List.map (fun (r: Value[]) -> r.[1])
            Expect.equal (positions (Relational.sortRowsTop first [ false ] [ None ] 3 rows)) [ Value.Long 1L; Value.Long 2L; Value.Long 3L ] "ascending, null first"
            Expect.equal (positions (Relational.sortRowsTop first [ true ] [ None ] 3 rows)) [ Value.Long 0L; Value.Long 4L; Value.Long 2L ] "descending, ties in input order"
            Expect.equal (positions (Relational.sortRowsTop first [ true ] [ Some true ] 2 rows)) [ Value.Long 1L; Value.Long 0L ] "NULLS FIRST"
            Expect.equal (Relational.sortRowsTop first [ false ] [ None ] 0 rows) [] "no rows for a zero count"
        }

        test "a count above the bounded buffer takes the full sort" {
            let rows = List.init 6000 (fun i -> [| Value.Long(int64 ((i * 7919) % 1000)); Value.Long(int64 i) |])
            let keys = [ fun (r: Value[]) -> r.[0] ]
            let expected = Relational.sortRows keys [ false ] [ None ] rows |> List.truncate 5000
            Expect.equal (Relational.sortRowsTop keys [ false ] [ None ] 5000 rows) expected "same as the full sort"
        }

        testProperty "streaming aggregates agree with aggregate" <| fun () ->
            let caseGen =
                gen {
                    let! name, distinct = Gen.elements [ "COUNT", false; "COUNT", true; "MIN", false; "MAX", false; "SUM", false; "AVG", false; "MIN", true ]
                    let! resultType = Gen.elements [ SqlType.Bigint; SqlType.Double; SqlType.Varchar ]
                    let! values = Gen.listOf (Gen.elements (if name = "SUM" || name = "AVG" then numberPool else pool))
                    return name, distinct, (if name = "SUM" && resultType = SqlType.Varchar then SqlType.Double else resultType), Array.ofList values
                }
            Prop.forAll (Arb.fromGen caseGen) (fun (name, distinct, resultType, values) ->
                let rows = values |> Array.map (fun v -> [| v |])
                let run = Relational.accumulate (Relational.streamingAggregate name distinct resultType [| fun (r: Value[]) -> r.[0] |]).Value
                let expected = Relational.aggregate name distinct resultType rows (Array.create rows.Length Value.Null) []
                show (run rows) = show expected)

        test "COUNT(*) streams the row count; other aggregates keep the general path" {
            let count = Relational.accumulate (Relational.streamingAggregate "COUNT" false SqlType.Bigint [||]).Value
            Expect.equal (count (Array.init 5 (fun _ -> [||]))) (Value.Long 5L) "five rows"
            Expect.equal (count [||]) (Value.Long 0L) "no rows"
            Expect.isNone (Relational.streamingAggregate "SUM" true SqlType.Bigint [| fun r -> r.[0] |]) "SUM(DISTINCT)"
            Expect.isNone (Relational.streamingAggregate "STRING_AGG" false SqlType.Varchar [| fun r -> r.[0] |]) "STRING_AGG"
        }

        test "a long SUM that overflows fails as the general path does" {
            let sum = Relational.accumulate (Relational.streamingAggregate "SUM" false SqlType.Bigint [| fun (r: Value[]) -> r.[0] |]).Value
            Expect.throwsT<System.OverflowException> (fun () -> sum [| [| Value.Long System.Int64.MaxValue |]; [| Value.Long 1L |] |] |> ignore) "checked"
        }

        testProperty "LIKE '%text%' as a contains search matches the same strings" <| fun () ->
            let alphabet = Gen.elements [ 'a'; 'b'; '%'; '_'; '\\'; '\n' ]
            let text = Gen.arrayOf alphabet |> Gen.map System.String
            let caseGen = Gen.zip3 text (Gen.listOf (Gen.elements [ None; Some(Value.Null) ] |> Gen.bind (fun n -> match n with Some v -> Gen.constant v | None -> text |> Gen.map Value.String))) (Gen.elements [ None; Some "\\"; Some "b" ])
            Prop.forAll (Arb.fromGen caseGen) (fun (inner, values, escape) ->
                let like = Filter.Like("d", "%" + inner + "%", escape)
                let faster = TableReader.fasterFilter like
                values |> List.forall (fun v -> Filter.compile like (fun _ -> v) = Filter.compile faster (fun _ -> v)))

        test "only a plain '%text%' LIKE becomes a search" {
            Expect.equal (TableReader.fasterFilter (Filter.Like("d", "%google%", None))) (Filter.Search("d", Extraction.Contains("google", true))) "plain"
            Expect.equal (TableReader.fasterFilter (Filter.Not(Filter.Like("d", "%.google.%", None)))) (Filter.Not(Filter.Search("d", Extraction.Contains(".google.", true)))) "under NOT"
            for pattern, escape in [ "%a_b%", None; "%a%b%", None; "google%", None; "%a!%%", Some "!"; "%ab%", Some "ab" ] do
                Expect.equal (TableReader.fasterFilter (Filter.Like("d", pattern, escape))) (Filter.Like("d", pattern, escape)) pattern
        }

        testProperty "string comparison skipping the common prefix agrees with UTF-8 order" <| fun () ->
            let text = Gen.arrayOf (Gen.elements [ 'a'; 'b'; 'é'; '\uFFFD'; '\uD83D'; '\uDE00'; '\u0000' ]) |> Gen.map System.String
            Prop.forAll (Arb.fromGen (Gen.zip text text)) (fun (x, y) ->
                Relational.compareStrings x y = Ordering.compareLexicographic x y && Relational.compareStrings x x = 0)

        testProperty "table reads keep the rows a row-by-row filter keeps" <| fun () ->
            let filters =
                [ Filter.Like("s", "%ab%", None); Filter.Not(Filter.Like("s", "%b%%", None)); Filter.Not(Filter.Selector("s", Some ""))
                  Filter.And [ Filter.Like("s", "%a%", None); Filter.Selector("l", Some "1") ]; Filter.Or [ Filter.Null "s"; Filter.Like("s", "%_%", None) ] ]
            // Rows past one word of a mask, and intervals cutting words anywhere.
            let idsGen = Gen.choose (0, 300) |> Gen.bind (fun n -> Gen.arrayOfLength n (Gen.choose (0, 4)))
            let caseGen = Gen.zip3 idsGen (Gen.elements filters) (Gen.zip (Gen.choose (0, 310)) (Gen.choose (0, 310)))
            Prop.forAll (Arb.fromGen caseGen) (fun (ids, filter, (a, b)) ->
                let slice = sliceOf ids
                let interval: Time.Interval = { Start = int64 (min a b); End = int64 (max a b) }
                let cell (name: string) (row: int) =
                    match name with
                    | "s" -> slice.Content.Dimensions.Head |> snd |> fun c -> c.Cell row
                    | _ -> Value.Long(int64 (row % 3))
                let keep = Filter.compile filter
                let inside (row: int) = int64 row >= interval.Start && int64 row < interval.End
                let expected = [| for row in 0 .. ids.Length - 1 do if inside row && keep (fun n -> cell n row) then yield [| cell "s" row |] |]
                let oneColumn = TableReader.read (scanOver interval [ "s" ] (Some filter)) [ slice ]
                let twoColumns = TableReader.read (scanOver interval [ "l"; "s" ] (Some filter)) [ slice ]
                oneColumn = expected && (twoColumns |> Array.map (fun r -> [| r.[1] |])) = expected)

        test "a statement reads __time only when it names it or takes EARLIEST/LATEST" {
            let columnsOf (sql: string) =
                match Parser.parse sql with
                | Ok(Ast.QueryStatement q) -> SqlRewrite.referencedColumns q |> Option.map Set.toList
                | other -> failwithf "%A" other
            Expect.equal (columnsOf "SELECT MIN(EventDate), MAX(EventDate) FROM hits") (Some [ "EventDate" ]) "no __time"
            Expect.equal (columnsOf "SELECT LATEST(x) FROM t") (Some [ "__time"; "x" ]) "LATEST"
            Expect.equal (columnsOf "SELECT earliest(x, 10) FROM t GROUP BY y") (Some [ "__time"; "x"; "y" ]) "earliest, any case"
            Expect.equal (columnsOf "SELECT x FROM t ORDER BY __time") (Some [ "__time"; "x" ]) "named"
            Expect.equal (columnsOf "SELECT * FROM t") None "star"
        }

        test "an expression of one column gives the same values when remembered per value" {
            let fields = [ { Qualifier = None; Name = "x"; Key = "x"; Type = SqlType.Varchar }; { Qualifier = None; Name = "y"; Key = "y"; Type = SqlType.Bigint } ]
            let strlen = Relational.compileOver fields (parsed "strlen(x)")
            let rows = [| [| Value.String "abc"; Value.Long 1L |]; [| Value.Null; Value.Long 2L |]; [| Value.String "abc"; Value.Long 3L |]; [| Value.String "z"; Value.Long 4L |]; [| Value.Null; Value.Long 5L |] |]
            Expect.equal (rows |> Array.map strlen) [| Value.Long 3L; Value.Null; Value.Long 3L; Value.Long 1L; Value.Null |] "strlen per row"
            let host = Relational.compileOver fields (parsed "regexp_replace(x, '^(a)b.*$', '$1')")
            Expect.equal (rows |> Array.map host) [| Value.String "a"; Value.Null; Value.String "a"; Value.String "z"; Value.Null |] "regexp_replace per row"
            let plus = Relational.compileOver fields (parsed "y + 10")
            Expect.equal (rows |> Array.map plus) [| Value.Long 11L; Value.Long 12L; Value.Long 13L; Value.Long 14L; Value.Long 15L |] "numbers are computed each time"
        }
    ]

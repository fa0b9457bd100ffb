module FunctionalDruid.Tests.Sql.ParserTests

open System
open System.IO
open Expecto
open FsCheck
open FsCheck.FSharp
open FunctionalDruid.Sql
open FunctionalDruid.Sql.Ast
open FunctionalDruid.Tests

let private parseOk (text: string) =
    match Parser.parse text with
    | Ok s -> s
    | Error e -> failtestf "did not parse: %s\n%s" e.Message text

let private selectOf (text: string) =
    match parseOk text with
    | QueryStatement { Body = SelectBody s } -> s
    | other -> failtestf "not a plain select: %A" other

let private col n = Expr.Column(None, n)
let private num n = Expr.Literal(Literal.Number n)
let private str s = Expr.Literal(Literal.String s)

// ---- generated syntax trees for the print → parse identity ------------------------------------

let private names = [ "a"; "page"; "__time"; "Sel ect"; "x\"y"; "SELECT"; "µ" ]
let private genName = Gen.elements names
let private genString = Gen.elements [ ""; "a"; "it's"; "%x_"; "--no comment"; "/*" ]

let private genLiteral =
    Gen.oneof
        [ Gen.elements [ Literal.Null; Literal.Bool true; Literal.Bool false ]
          Gen.elements [ "0"; "42"; "1.5"; "2e3"; "0.25" ] |> Gen.map Literal.Number
          genString |> Gen.map Literal.String
          Gen.elements [ "2015-09-12"; "2015-09-12 10:11:12.345" ] |> Gen.map Literal.Timestamp
          Gen.constant (Literal.Date "2015-09-12")
          Gen.elements [ "1", "DAY"; "2", "HOUR"; "1-2", "YEAR TO MONTH" ] |> Gen.map Literal.Interval ]

let private ops =
    [ BinaryOp.Add; BinaryOp.Sub; BinaryOp.Mul; BinaryOp.Div; BinaryOp.Mod; BinaryOp.Concat; BinaryOp.Eq; BinaryOp.Ne
      BinaryOp.Lt; BinaryOp.Le; BinaryOp.Gt; BinaryOp.Ge; BinaryOp.And; BinaryOp.Or ]

let rec private genExpr (size: int) : Gen<Expr> =
    let leaf =
        Gen.oneof
            [ genLiteral |> Gen.map Expr.Literal
              genName |> Gen.map (fun n -> Expr.Column(None, n))
              Gen.map2 (fun q n -> Expr.Column(Some q, n)) genName genName
              Gen.elements [ "CURRENT_TIMESTAMP"; "CURRENT_DATE" ] |> Gen.map (fun n -> Expr.Call(n, false, [], None, None)) ]
    if size <= 0 then leaf
    else
        let sub = genExpr (size / 2)
        let subs = Gen.listOfLength 2 sub
        let bool = Gen.elements [ true; false ]
        Gen.frequency
            [ 3, leaf
              1, sub |> Gen.map Expr.Negate
              1, sub |> Gen.map Expr.Not
              4, Gen.map3 (fun op l r -> Expr.Binary(op, l, r)) (Gen.elements ops) sub sub
              3, Gen.map4 (fun n d args f -> Expr.Call(n, d, args, f, None)) (Gen.elements [ "SUM"; "TIME_FLOOR"; "LEFT"; "MV_CONTAINS" ]) bool subs (Gen.optionOf sub)
              1, Gen.constant (Expr.Call("COUNT", false, [ Expr.Star None ], None, None))
              1, Gen.map3 (fun p o f -> Expr.Call("ROW_NUMBER", false, [], None, Some { PartitionBy = p; OrderBy = o; Frame = f }))
                     subs (Gen.map2 (fun e d -> [ { Expr = e; Descending = d; NullsFirst = None } ]) sub bool)
                     (Gen.optionOf (Gen.elements [ { Rows = true; Lower = FrameBound.UnboundedPreceding; Upper = FrameBound.CurrentRow }
                                                   { Rows = false; Lower = FrameBound.Preceding 2L; Upper = FrameBound.Following 3L } ]))
              1, Gen.map2 (fun u x -> Expr.Call("TIMESTAMPADD", false, [ Expr.Keyword u; num "1"; x ], None, None)) (Gen.elements [ "HOUR"; "DAY" ]) sub
              1, Gen.map3 (fun o ws e -> Expr.Case(o, ws, e)) (Gen.optionOf sub) (Gen.nonEmptyListOf (Gen.zip sub sub) |> Gen.map (List.truncate 2)) (Gen.optionOf sub)
              1, Gen.map2 (fun x t -> Expr.Cast(x, t)) sub (Gen.elements [ "VARCHAR"; "BIGINT"; "DOUBLE"; "TIMESTAMP"; "DECIMAL(10, 2)"; "VARCHAR ARRAY" ])
              1, Gen.map3 (fun x xs n -> Expr.InList(x, xs, n)) sub subs bool
              1, Gen.map4 (fun x l h n -> Expr.Between(x, l, h, n)) sub sub sub bool
              1, Gen.map4 (fun x p e n -> Expr.Like(x, p, e, n)) sub sub (Gen.optionOf sub) bool
              1, Gen.map2 (fun x n -> Expr.IsNull(x, n)) sub bool
              1, Gen.map3 (fun x v n -> Expr.IsBool(x, v, n)) sub bool bool
              1, Gen.map3 (fun x y n -> Expr.IsDistinctFrom(x, y, n)) sub sub bool
              1, Gen.map2 (fun u x -> Expr.Extract(u, x)) (Gen.elements [ "EPOCH"; "HOUR"; "DOW" ]) sub
              1, Gen.map3 (fun c x u -> Expr.FloorTo(c, x, u)) bool sub (Gen.elements [ "DAY"; "MONTH" ])
              1, Gen.map3 (fun a b f -> Expr.Position(a, b, f)) sub sub (Gen.optionOf sub)
              1, Gen.map3 (fun w c x -> Expr.Trim(w, c, x)) (Gen.elements [ "BOTH"; "LEADING"; "TRAILING" ]) (Gen.optionOf sub) sub
              1, subs |> Gen.map Expr.Array
              1, genQuery (size / 4) |> Gen.map Expr.ScalarQuery
              1, genQuery (size / 4) |> Gen.map Expr.Exists
              1, Gen.map3 (fun x q n -> Expr.InQuery(x, q, n)) sub (genQuery (size / 4)) bool ]

and private genTable (size: int) : Gen<TableRef> =
    let alias = Gen.optionOf genName
    let table = Gen.map3 (fun s n a -> Table(s, n, a)) (Gen.optionOf (Gen.elements [ "druid"; "sys"; "INFORMATION_SCHEMA" ])) genName alias
    if size <= 0 then table
    else
        Gen.frequency
            [ 3, table
              1, Gen.map3 (fun q a c -> Derived(q, Some a, c)) (genQuery (size / 3)) genName (Gen.elements [ []; [ "x" ]; [ "x"; "y" ] ])
              1, Gen.map2 (fun e a -> Unnest(e, Some a, [ "v" ])) (genExpr 2) genName
              1, Gen.map4 (fun l k r on -> Join(l, k, r, (if k = Cross then None else Some on))) (genTable (size / 2))
                     (Gen.elements [ Inner; LeftJoin; RightJoin; FullJoin; Cross ]) table (genExpr 2) ]

and private genSelect (size: int) : Gen<Select> =
    let sub = genExpr (size / 2)
    let item =
        Gen.frequency
            [ 4, Gen.map2 (fun e a -> Item(e, a)) sub (Gen.optionOf genName)
              1, Gen.optionOf genName |> Gen.map AllColumns ]
    let group =
        Gen.oneof
            [ sub |> Gen.map GroupExpr
              Gen.constant GroupEmpty
              Gen.listOfLength 2 (Gen.elements [ []; [ col "a" ]; [ col "a"; col "b" ] ]) |> Gen.map GroupingSets
              Gen.listOfLength 2 sub |> Gen.map Rollup
              Gen.listOfLength 1 sub |> Gen.map Cube ]
    gen {
        let! distinct = Gen.elements [ true; false ]
        let! items = Gen.nonEmptyListOf item |> Gen.map (List.truncate 3)
        let! from = Gen.optionOf (genTable (size / 2))
        let! where = Gen.optionOf sub
        let! groupBy = Gen.optionOf (Gen.nonEmptyListOf group |> Gen.map (List.truncate 2))
        let! having = Gen.optionOf sub
        return { Distinct = distinct; Items = items; From = from; Where = where; GroupBy = groupBy; Having = having }
    }

and private genQuery (size: int) : Gen<Query> =
    let select = genSelect size |> Gen.map SelectBody
    let body =
        if size <= 1 then select
        else
            Gen.frequency
                [ 5, select
                  1, Gen.map2 (fun l r -> UnionAll(l, r)) select select
                  1, Gen.map2 (fun l r -> Union(l, r)) select select
                  1, Gen.listOfLength 2 (Gen.listOfLength 2 (genExpr 1)) |> Gen.map Values ]
    gen {
        let! w = if size > 2 then Gen.optionOf (Gen.map2 (fun n q -> [ n, [], q ]) genName (genQuery (size / 3))) else Gen.constant None
        let! b = body
        let! order = Gen.listOf (Gen.map3 (fun e d n -> { Expr = e; Descending = d; NullsFirst = n }) (genExpr 1) (Gen.elements [ true; false ]) (Gen.optionOf (Gen.elements [ true; false ])))
        let! limit = Gen.optionOf (Gen.elements [ "0"; "10" ] |> Gen.map num)
        let! offset = Gen.optionOf (Gen.elements [ "5" ] |> Gen.map num)
        return { With = defaultArg w []; Body = b; OrderBy = List.truncate 2 order; Limit = limit; Offset = offset }
    }

let private genStatement =
    Gen.sized (fun s -> genQuery (min s 8)) |> Gen.bind (fun q -> Gen.elements [ QueryStatement q; Explain q ])

type private StatementArb =
    static member Statement() = Arb.fromGenShrink (genStatement, fun _ -> Seq.empty)

let private config = { FsCheckConfig.defaultConfig with maxTest = 300; arbitrary = [ typeof<StatementArb> ] }

// ---- examples in sql-grammar/ -------------------------------------------------------------------

let examples () : (string * string) list =
    let dir = Path.Combine(TestData.repoRoot, "sql-grammar", "examples")
    [ for file in Directory.GetFiles(dir, "*.sql") |> Array.sort do
          let text = File.ReadAllText file
          let parts = Text.RegularExpressions.Regex.Split(text, @"^\s*;\s*$", Text.RegularExpressions.RegexOptions.Multiline)
          for i, p in Array.indexed parts do
              let withoutComments = Text.RegularExpressions.Regex.Replace(p, @"--[^\n]*|/\*[\s\S]*?\*/", "")
              if not (String.IsNullOrWhiteSpace withoutComments) then yield sprintf "%s #%d" (Path.GetFileName file) (i + 1), p ]

[<Tests>]
let grammarTests =
    testList "Sql.Grammar" [
        test "there are examples to parse" { Expect.isGreaterThan (examples().Length) 40 "examples found" }
        for name, text in examples () do
            test name {
                let parsed = parseOk text
                // The printed form of every example parses back to the same tree.
                Expect.equal (parseOk (Printer.statement parsed)) parsed "print then parse"
            }
    ]

[<Tests>]
let parserTests =
    testList "Sql.Parser" [
        test "keywords are case-insensitive, identifiers keep their case" {
            let s = selectOf "select Page AS \"P\", \"page\" from Wiki where Page = 'x'"
            Expect.equal s.Items [ Item(col "Page", Some "P"); Item(col "page", None) ] "items"
            Expect.equal s.From (Some(Table(None, "Wiki", None))) "from"
            Expect.equal s.Where (Some(Expr.Binary(BinaryOp.Eq, col "Page", str "x"))) "where"
        }
        test "aliases with and without AS, schema-qualified tables" {
            let s = selectOf "SELECT \"wikipedia\".page \"p\", x y FROM druid.wikipedia AS \"wikipedia\""
            Expect.equal s.Items [ Item(Expr.Column(Some "wikipedia", "page"), Some "p"); Item(col "x", Some "y") ] "items"
            Expect.equal s.From (Some(Table(Some "druid", "wikipedia", Some "wikipedia"))) "from"
        }
        test "operator precedence: AND binds tighter than OR, * tighter than +" {
            let s = selectOf "SELECT 1 + 2 * 3 FROM t WHERE a = 1 OR b = 2 AND NOT c = 3"
            Expect.equal s.Items [ Item(Expr.Binary(BinaryOp.Add, num "1", Expr.Binary(BinaryOp.Mul, num "2", num "3")), None) ] "arithmetic"
            let eq c v = Expr.Binary(BinaryOp.Eq, col c, num v)
            Expect.equal s.Where (Some(Expr.Binary(BinaryOp.Or, eq "a" "1", Expr.Binary(BinaryOp.And, eq "b" "2", Expr.Not(eq "c" "3"))))) "logic"
        }
        test "dynamic parameters are numbered in order" {
            let s = selectOf "SELECT ? FROM t WHERE a = ? AND b IN (?, ?)"
            Expect.equal s.Items [ Item(Expr.Param 0, None) ] "first"
            Expect.equal s.Where (Some(Expr.Binary(BinaryOp.And, Expr.Binary(BinaryOp.Eq, col "a", Expr.Param 1), Expr.InList(col "b", [ Expr.Param 2; Expr.Param 3 ], false)))) "rest"
        }
        test "GROUP BY (), ordinals and HAVING" {
            let s = selectOf "SELECT COUNT(*) FROM t GROUP BY () HAVING 100 < \"Added\""
            Expect.equal s.GroupBy (Some [ GroupEmpty ]) "empty group"
            Expect.equal s.Items [ Item(Expr.Call("COUNT", false, [ Expr.Star None ], None, None), None) ] "count star"
            let s = selectOf "SELECT a, b FROM t GROUP BY 1, 2"
            Expect.equal s.GroupBy (Some [ GroupExpr(num "1"); GroupExpr(num "2") ]) "ordinals"
        }
        test "special forms" {
            let s = selectOf "SELECT EXTRACT(epoch FROM __time), floor(__time to hour), trim(leading 'x' from s), position('a' in s), count(distinct u), sum(x) filter (where y > 1) FROM t"
            let items = s.Items |> List.map (function Item(e, _) -> e | _ -> failwith "item")
            Expect.equal items
                [ Expr.Extract("EPOCH", col "__time")
                  Expr.FloorTo(false, col "__time", "HOUR")
                  Expr.Trim("LEADING", Some(str "x"), col "s")
                  Expr.Position(str "a", col "s", None)
                  Expr.Call("COUNT", true, [ col "u" ], None, None)
                  Expr.Call("SUM", false, [ col "x" ], Some(Expr.Binary(BinaryOp.Gt, col "y", num "1")), None) ]
                "forms"
        }
        test "timestamp literals keep their text; date-only forms too" {
            let s = selectOf "SELECT TIMESTAMP '2015-09-12', DATE '2015-09-13', INTERVAL '1' DAY FROM t"
            Expect.equal s.Items
                [ Item(Expr.Literal(Literal.Timestamp "2015-09-12"), None); Item(Expr.Literal(Literal.Date "2015-09-13"), None)
                  Item(Expr.Literal(Literal.Interval("1", "DAY")), None) ]
                "literals"
        }
        test "EXPLAIN PLAN FOR wraps the query" {
            match parseOk "EXPLAIN PLAN FOR SELECT 1" with
            | Explain _ -> ()
            | other -> failtestf "expected explain, got %A" other
        }
        test "comments are whitespace" {
            let s = selectOf "SELECT /* c */ a -- x\nFROM t"
            Expect.equal s.Items [ Item(col "a", None) ] "items"
        }
        test "a syntax error names the token, its line and column, and what was acceptable" {
            match Parser.parse "SELECT a\nFROM t\nWHERE a = = 1" with
            | Ok s -> failtestf "parsed %A" s
            | Error e ->
                Expect.equal (e.Line, e.Column, e.Token) (3L, 11L, "=") "position"
                Expect.stringStarts e.Message "Received an unexpected token [=] (line [3], column [11]), acceptable options: [" "message"
                Expect.contains e.Expected "expression" "expected"
        }
        test "a reserved word as a bare identifier is an error at that word" {
            match Parser.parse "SELECT a FROM select" with
            | Ok s -> failtestf "parsed %A" s
            | Error e -> Expect.equal (e.Line, e.Column, e.Token) (1L, 15L, "select") "position"
        }
        test "unterminated string is reported at end of input" {
            match Parser.parse "SELECT 'abc" with
            | Ok s -> failtestf "parsed %A" s
            | Error e -> Expect.equal e.Line 1L "line"
        }
        testPropertyWithConfig config "print then parse is the identity on generated statements" <| fun (s: Statement) ->
            let text = Printer.statement s
            match Parser.parse text with
            | Ok back -> if back <> s then failtestf "printed:\n%s\nreprinted:\n%s" text (Printer.statement back)
            | Error e -> failtestf "printed:\n%s\nerror: %s" text e.Message
    ]

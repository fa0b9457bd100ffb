/// A plain SELECT ... ORDER BY ... LIMIT over one table lets the table read keep only each
/// slice's first rows by the order (Relational.RowOrder); the statement must answer exactly as
/// when every row is read. Tables and helpers from OneColumnAggregateTests.
module FunctionalDruid.Tests.Sql.TableReadOrderTests

open Expecto
open FsCheck
open FsCheck.FSharp
open FunctionalDruid.Core
open FunctionalDruid.Sql
open FunctionalDruid.Tests.Sql.OneColumnAggregateTests

/// The engine over `slices`, its table reads given (or denied) the statement's order; each
/// order given is recorded.
let private optionsWith (slices: Engine.SegmentSlice list) (giveOrder: bool) (seen: ResizeArray<Relational.RowOrder>) : SqlEngine.Options =
    { optionsOver slices false with
        ReadRows =
            Some(fun q order ->
                Option.iter seen.Add order
                TableReader.readTop q (if giveOrder then order else None) slices) }

let private statementGen =
    gen {
        let! select = Gen.elements [ "s"; "s, n"; "n AS s, s AS n"; "d, s"; "__time, s"; "n, d, m" ]
        let! where = Gen.elements [ ""; " WHERE s <> ''"; " WHERE n > 0"; " WHERE UPPER(s) <> 'B'"; " WHERE d < 0.5 AND s IS NOT NULL" ]
        let key = Gen.zip3 (Gen.elements [ "s"; "n"; "d"; "__time"; "1"; "2"; "LENGTH(s)" ]) (Gen.elements [ ""; " DESC"; " ASC" ]) (Gen.elements [ ""; " NULLS FIRST"; " NULLS LAST" ])
        let! keys = Gen.choose (1, 2) |> Gen.bind (fun n -> Gen.listOfLength n key)
        let! limit = Gen.choose (0, 6)
        let! offset = Gen.elements [ ""; " OFFSET 1"; " OFFSET 4" ]
        let orderBy = keys |> List.map (fun (k, d, n) -> k + d + n) |> String.concat ", "
        return sprintf "SELECT %s FROM t%s ORDER BY %s LIMIT %d%s" select where orderBy limit offset
    }

[<Tests>]
let tests =
    testList "sql/table-read order" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 400 } "per-slice first rows give the statement's rows" <|
            Prop.forAll (Arb.fromGen (Gen.zip tableGen statementGen)) (fun (days, sql) ->
                let slices = slicesOf days
                let pushed = outcome (optionsWith slices true (ResizeArray())) sql
                let everyRow = outcome (optionsWith slices false (ResizeArray())) sql
                if pushed <> everyRow then failwithf "%s\npushed:\n%s\nevery row:\n%s" sql pushed everyRow
                true)

        test "Q26 and Q27's shapes: each slice gives its first ten rows, ties in row order" {
            let day (values: string list) = values |> List.map (fun v -> { S = v; M = [||]; N = None; D = 0.0 })
            let slices = slicesOf [ day [ "b"; ""; "a"; "c"; "a" ]; day [ "a"; "d"; ""; "b" ]; day [ "a"; null; "e" ] ]
            let seen = ResizeArray()
            let options = optionsWith slices true seen
            let rows (sql: string) = (execute options sql).Rows |> List.map List.ofArray
            Expect.equal (rows "SELECT s FROM t WHERE s <> '' ORDER BY s LIMIT 4")
                [ [ Value.String "a" ]; [ Value.String "a" ]; [ Value.String "a" ]; [ Value.String "a" ] ] "by the string"
            Expect.equal (List.ofSeq seen) [ { Keys = [ 0, false, None ]; Count = 4 } ] "pushed to the read"
            Expect.equal (rows "SELECT s FROM t WHERE s <> '' ORDER BY __time, s LIMIT 2 OFFSET 1")
                [ [ Value.String "a" ]; [ Value.String "c" ] ] "by time then string"
            Expect.equal seen.[1].Count 3 "offset + limit rows per slice"
            seen.Clear()
            rows "SELECT s FROM t ORDER BY LENGTH(s) LIMIT 2" |> ignore
            Expect.isEmpty seen "an expression key"
            rows "SELECT DISTINCT s FROM t ORDER BY s LIMIT 2" |> ignore
            Expect.isEmpty seen "distinct rows"
            rows "SELECT s, COUNT(*) FROM t GROUP BY s ORDER BY s LIMIT 2" |> ignore
            Expect.isEmpty seen "grouped"
        }
    ]

/// The in-memory SQL join probes a hash of the right rows' equality keys: a key may put rows
/// together that are not equal (the condition decides), but must never separate rows that the
/// expression language's `==` finds equal.
module FunctionalDruid.Tests.Sql.HashJoinCandidatesTests

open Expecto
open FsCheck
open FsCheck.FSharp
open FunctionalDruid.Core
open FunctionalDruid.Sql

let private pool =
    [| Value.Null; Value.String ""; Value.String "1"; Value.String "1.0"; Value.String "01"; Value.String " 2"
       Value.String "abc"; Value.String "1.5"; Value.Long 1L; Value.Long 2L; Value.Long -1L; Value.Double 1.0
       Value.Double 1.5; Value.Double -0.0; Value.Long 0L; Value.Double nan |]

let private equal =
    match Expr.parseCompiled "l == r" with
    | Ok f -> fun (l: Value) (r: Value) -> Expr.isTruthy (f (fun n -> if n = "l" then l else r))
    | Error e -> failwith e

let private rowsGen = Gen.elements pool |> Gen.map (fun v -> [| v |]) |> Gen.arrayOf

[<Tests>]
let tests =
    testList "sql/hash join candidates" [
        testProperty "every pair equal under == is a candidate, in right-row order" <| fun () ->
            Prop.forAll (Arb.fromGen (Gen.zip rowsGen rowsGen)) (fun (left: Value[][], right: Value[][]) ->
                let key = (fun (row: Value[]) -> row.[0])
                let candidates = Relational.hashedCandidates [ key, key ] right (Array.init right.Length id)
                left |> Array.forall (fun l ->
                    let found = candidates l
                    let needed = [| for j in 0 .. right.Length - 1 do if equal l.[0] right.[j].[0] then yield j |]
                    Array.sort found = found && needed |> Array.forall (fun j -> Array.contains j found)))

        test "distinct strings land in different buckets" {
            let right = [| [| Value.String "a" |]; [| Value.String "b" |]; [| Value.String "a" |] |]
            let key = (fun (row: Value[]) -> row.[0])
            let candidates = Relational.hashedCandidates [ key, key ] right [| 0; 1; 2 |]
            Expect.equal (candidates [| Value.String "a" |]) [| 0; 2 |] "a"
            Expect.equal (candidates [| Value.String "c" |]) [||] "c"
        }

        test "an array key falls back to every right row" {
            let right = [| [| Value.String "a" |]; [| Value.Array [| Value.String "a" |] |] |]
            let key = (fun (row: Value[]) -> row.[0])
            let candidates = Relational.hashedCandidates [ key, key ] right [| 0; 1 |]
            Expect.equal (candidates [| Value.String "zz" |]) [| 0; 1 |] "all"
        }
    ]

/// The host's per-segment runner: results in index order, and a failing segment's own
/// exception (not an AggregateException) reaches the caller, as in a sequential run.
module FunctionalDruid.Tests.Host.ParallelSegmentRunnerTests

open System
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Host.Querying

let private runner = ParallelSegmentRunner.Instance :> QuerySlices.ISegmentRunner

[<Tests>]
let tests =
    testList "Host.ParallelSegmentRunner" [
        test "results come in index order" {
            Expect.equal (runner.Map(57, fun i -> i * i)) (Array.init 57 (fun i -> i * i)) "squares"
            Expect.equal (runner.Map(1, fun i -> i + 1)) [| 1 |] "one item"
            Expect.equal (runner.Map(0, fun i -> i)) [||] "no item"
        }
        test "a failing item's exception is thrown as itself" {
            Expect.throwsT<ExprFunctions.FunctionError>
                (fun () -> runner.Map(40, fun i -> if i = 7 then raise (ExprFunctions.FunctionError "bad row") else i) |> ignore)
                "the expression error, not an AggregateException"
        }
        test "a cancellation with no other failure is thrown as a cancellation" {
            Expect.throwsT<OperationCanceledException>
                (fun () -> runner.Map(40, fun i -> if i >= 3 then raise (OperationCanceledException()) else i) |> ignore)
                "cancelled"
        }
    ]

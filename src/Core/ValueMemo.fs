/// Tests on the values of a long column decided once per distinct value: a filter on
/// `UserID` or `CounterID` then costs a table lookup per row instead of a boxed value and a
/// predicate call.
module FunctionalDruid.Core.ValueMemo

open System.Collections.Generic
open FunctionalDruid.Core

/// `test` of `Value.Long v`, remembered per `v` (and for the previous row's value, as
/// sorted and clustered columns repeat it). One instance per segment and thread.
type LongTest<'T>(test: Value -> 'T) =
    let known = Dictionary<int64, 'T>()
    let mutable hasLast = false
    let mutable lastKey = 0L
    let mutable lastResult = Unchecked.defaultof<'T>
    member _.Of(v: int64) : 'T =
        if hasLast && v = lastKey then lastResult
        else
            let result =
                match known.TryGetValue v with
                | true, r -> r
                | _ ->
                    let r = test (Value.Long v)
                    known.[v] <- r
                    r
            hasLast <- true
            lastKey <- v
            lastResult <- result
            result

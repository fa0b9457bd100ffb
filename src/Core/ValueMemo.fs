/// Tests on the values of a long column decided once per distinct value: a filter on
/// `CounterID` then costs a table lookup per row instead of a boxed value and a predicate
/// call; long equality (`UserID = …`, often over unique ids) compares longs instead.
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

/// The test of a filter on a long column's non-null values: long equality compares longs
/// (`ofBool` makes its result), any other filter is `test` remembered per distinct value.
let longTest (f: Filter.Filter) (test: Value -> 'T) (ofBool: bool -> 'T) : int64 -> 'T =
    match f with
    | Filter.Equality(_, _, Value.Long k) ->
        let yes, no = ofBool true, ofBool false
        fun v -> if v = k then yes else no
    | _ -> LongTest(test).Of

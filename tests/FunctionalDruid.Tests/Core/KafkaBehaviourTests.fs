/// The supervisor's rules added for issue 5's missing behaviours: what happens to stored
/// offsets the stream no longer holds.
module FunctionalDruid.Tests.Core.KafkaBehaviourTests

open Expecto
open FsCheck
open FunctionalDruid.Core
open FunctionalDruid.Core.KafkaOffsets

let private offsets (pairs: (int * int64) list) : OffsetMap = Map.ofList pairs

let resetTests =
    testList "unavailable stored offsets" [
        test "offsets inside [earliest, latest] are available, the ends included" {
            let stored = offsets [ 0, 5L; 1, 10L; 2, 3L ]
            Expect.equal (checkStoredOffsets stored [ 0; 1; 2 ] (offsets [ 0, 5L; 1, 0L; 2, 0L ]) (offsets [ 0, 9L; 1, 10L; 2, 3L ]) false false)
                StartCheck.Available "available"
        }
        test "partitions without a stored offset or without watermarks are not checked" {
            Expect.equal (checkStoredOffsets (offsets [ 1, 99L ]) [ 0; 1 ] (offsets [ 0, 5L ]) (offsets [ 0, 9L ]) false false) StartCheck.Available "unchecked"
        }
        test "with resetOffsetAutomatically an offset past the end goes to latest, one before the start to earliest when useEarliestOffset" {
            let stored = offsets [ 0, 1000L; 1, 2L; 2, 7L ]
            let earliest = offsets [ 0, 0L; 1, 4L; 2, 0L ]
            let latest = offsets [ 0, 10L; 1, 20L; 2, 8L ]
            match checkStoredOffsets stored [ 0; 1; 2 ] earliest latest false true with
            | StartCheck.Reset(next, notes) ->
                Expect.equal next (offsets [ 0, 10L; 1, 20L; 2, 7L ]) "latest for both"
                Expect.equal notes
                    [ "Previous sequenceNumber [1000] is no longer available for partition [0] (earliest: [0], latest: [10]) - automatically resetting offset to [10] (useEarliestOffset is false: messages may be skipped)"
                      "Previous sequenceNumber [2] is no longer available for partition [1] (earliest: [4], latest: [20]) - automatically resetting offset to [20] (useEarliestOffset is false: messages may be skipped)" ]
                    "one note per partition"
            | other -> failtestf "expected a reset, got %A" other
            match checkStoredOffsets stored [ 0; 1; 2 ] earliest latest true true with
            | StartCheck.Reset(next, _) -> Expect.equal next (offsets [ 0, 0L; 1, 4L; 2, 7L ]) "earliest for both"
            | other -> failtestf "expected a reset, got %A" other
        }
        test "without resetOffsetAutomatically the group does not start and the message says how to recover" {
            Expect.equal (checkStoredOffsets (offsets [ 0, 3L; 1, 1000L ]) [ 0; 1 ] (offsets [ 0, 0L; 1, 0L ]) (offsets [ 0, 10L; 1, 10L ]) true false)
                (StartCheck.Unavailable
                    "Previous sequenceNumber [1000] is no longer available for partition [1] (earliest: [0], latest: [10]). You can clear the previous sequenceNumber and start reading from a valid message by using the supervisor's reset API.")
                "unavailable"
        }
        testProperty "a reset changes exactly the out-of-range partitions, to an in-range offset" (fun (entries: (byte * int16 * byte * byte) list) (useEarliest: bool) ->
            let entries = entries |> List.distinctBy (fun (p, _, _, _) -> p)
            let stored = entries |> List.map (fun (p, s, _, _) -> int p, int64 s) |> Map.ofList
            let earliest = entries |> List.map (fun (p, _, lo, _) -> int p, int64 lo) |> Map.ofList
            let latest = entries |> List.map (fun (p, _, lo, len) -> int p, int64 lo + int64 len) |> Map.ofList
            let partitions = entries |> List.map (fun (p, _, _, _) -> int p)
            let outside p = stored.[p] < earliest.[p] || stored.[p] > latest.[p]
            match checkStoredOffsets stored partitions earliest latest useEarliest true with
            | StartCheck.Available -> partitions |> List.forall (outside >> not)
            | StartCheck.Reset(next, notes) ->
                notes.Length = (partitions |> List.filter outside |> List.length)
                && partitions |> List.forall (fun p ->
                    if outside p then next.[p] = (if useEarliest then earliest.[p] else latest.[p]) else next.[p] = stored.[p])
            | StartCheck.Unavailable _ -> false)
    ]

[<Tests>]
let tests = testList "Kafka behaviours core" [ resetTests ]

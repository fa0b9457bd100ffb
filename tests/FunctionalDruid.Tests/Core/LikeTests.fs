/// LIKE patterns matched by literal pieces agree with the pattern's regular expression.
module FunctionalDruid.Tests.Core.LikeTests

open System
open Expecto
open FunctionalDruid.Core

let private piecesMatchRegex (seed: int) =
    let rnd = Random(seed)
    let text (alphabet: string) length = String(Array.init (rnd.Next(length + 1)) (fun _ -> alphabet.[rnd.Next alphabet.Length]))
    let pattern = text "ab%%_\\\n" 6
    let escape = [| null; ""; "\\" |].[rnd.Next 3]
    match ExprOps.likeRegex pattern escape, ExprOps.likePredicate pattern escape with
    | Ok regex, Ok matches ->
        for _ in 1 .. 30 do
            let s = text "ab%_\\\n" 8
            if regex.IsMatch s <> matches s then failwithf "pattern %A escape %A on %A: regex %b, pieces %b" pattern escape s (regex.IsMatch s) (matches s)
        true
    | Error a, Error b -> a = b
    | a, b -> failwithf "%A %A" a b

/// The vectorized contains search equals `String.Contains`, case-sensitive or not.
let private containsEqualsStringContains (seed: int) =
    let rnd = Random(seed)
    let text length = String(Array.init (rnd.Next(length + 1)) (fun _ -> "aAbB.é/É\u00DF"[rnd.Next 9]))
    let comparison = if rnd.Next 2 = 0 then StringComparison.Ordinal else StringComparison.OrdinalIgnoreCase
    let needle = text 4
    let contains = ExprOps.containsText needle comparison
    for _ in 1 .. 40 do
        let s = text 12
        if contains s <> s.Contains(needle, comparison) then failwithf "%A in %A (%A): %b" needle s comparison (contains s)
    true

[<Tests>]
let tests =
    testList "core/like" [
        testProperty "LIKE by literal pieces equals LIKE by regular expression" piecesMatchRegex
        testProperty "the contains search equals String.Contains, ordinal or ignoring case" containsEqualsStringContains
        test "a whole value must match, a trailing newline included" {
            let matches p s = match ExprOps.likePredicate p null with Ok m -> m s | Error e -> failwith e
            Expect.isFalse (matches "abc" "abc\n") "exact"
            Expect.isFalse (matches "a%c" "abc\n") "suffix"
            Expect.isFalse (matches "a_c" "abc\n") "regex"
            Expect.isTrue (matches "%oo%" "google") "contains"
            Expect.isFalse (matches "ab%ba" "aba") "prefix and suffix may not overlap"
            Expect.isTrue (matches "a%b%c" "axxbyyc") "pieces in order"
            Expect.isFalse (matches "a%b%c" "acb") "out of order"
            Expect.isFalse (matches "a%b%b%" "abx") "one occurrence cannot serve two pieces"
            Expect.isTrue (matches "x%ab%ab%" "xyabab") "each piece after the one before"
            Expect.isFalse (matches "x%ab%ab%" "xyaba") "the second piece after the first"
        }
    ]

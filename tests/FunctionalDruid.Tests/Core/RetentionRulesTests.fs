module FunctionalDruid.Tests.Core.RetentionRulesTests

open Expecto
open FsCheck
open FsCheck.FSharp
open FunctionalDruid.Core
open FunctionalDruid.Core.Time
open FunctionalDruid.Core.RetentionRules

let private iso s = (tryParseInstant s).Value
let private interval s = (tryParseInterval s).Value
let private parse text =
    match tryParseRules text with
    | Ok rules -> rules
    | Error(path, problem) -> failtestf "rules did not parse: %s: %s" path problem
let private errorOf text =
    match tryParseRules text with
    | Ok _ -> failtestf "expected an error for %s" text
    | Error e -> e
let private typeOf (rule: Rule option) = rule |> Option.map typeName

// ---- the naive oracle: rules and segments on an hour grid, matched as sets of hours -------

let private hour = 3_600_000L
let private baseTime = iso "2020-01-01T00:00:00Z"
let private at (h: int) = baseTime + int64 h * hour

type private GridRule =
    { Kind: string; A: int; B: int; Hours: int; Future: bool; Replicants: int }

/// The hours of a segment [a, b) (a < b) and predicates over them, phrased without the
/// interval arithmetic the implementation uses.
let private oracleApplies (now: int) (a: int) (b: int) (r: GridRule) =
    let hours = [ a .. b - 1 ]
    let inRule h = r.A <= h && h < r.B
    let windowStart = now - r.Hours
    let inWindow h = windowStart <= h && h < now
    match r.Kind with
    | "loadForever" | "dropForever" | "broadcastForever" -> true
    | "loadByInterval" | "broadcastByInterval" -> List.exists inRule hours
    | "dropByInterval" -> List.forall inRule hours
    | "loadByPeriod" | "broadcastByPeriod" ->
        if r.Future then List.exists (fun h -> h >= windowStart) hours else List.exists inWindow hours
    | "dropByPeriod" -> if r.Future then List.forall (fun h -> h >= windowStart) hours else List.forall inWindow hours
    | "dropBeforeByPeriod" -> List.forall (fun h -> h < windowStart) hours
    | other -> failwithf "unknown kind %s" other

let private gridRuleJson (r: GridRule) =
    let scope =
        match r.Kind with
        | k when k.EndsWith "ByInterval" -> sprintf ",\"interval\":\"%s/%s\"" (formatIso (at r.A)) (formatIso (at r.B))
        | "dropBeforeByPeriod" -> sprintf ",\"period\":\"PT%dH\"" r.Hours
        | k when k.EndsWith "ByPeriod" -> sprintf ",\"period\":\"PT%dH\",\"includeFuture\":%b" r.Hours r.Future
        | _ -> ""
    let replicants = if r.Kind.StartsWith "load" then sprintf ",\"tieredReplicants\":{\"hot\":%d}" r.Replicants else ""
    sprintf "{\"type\":\"%s\"%s%s}" r.Kind scope replicants

let private kinds =
    [| "loadForever"; "loadByInterval"; "loadByPeriod"; "dropForever"; "dropByInterval"; "dropByPeriod"
       "dropBeforeByPeriod"; "broadcastForever"; "broadcastByInterval"; "broadcastByPeriod" |]

let private genRule =
    gen {
        let! kind = Gen.elements kinds
        let! a = Gen.choose (0, 60)
        // Empty rule intervals and windows are left out: Joda counts an empty interval strictly
        // inside another as overlapping it, which a set of hours cannot express.
        let! len = Gen.choose (1, 30)
        let! hours = Gen.choose (1, 48)
        let! future = Gen.elements [ true; false ]
        let! replicants = Gen.choose (0, 3)
        return { Kind = kind; A = a; B = a + len; Hours = hours; Future = future; Replicants = replicants }
    }

let private genCase =
    gen {
        let! own = Gen.listOfLength 3 genRule
        let! count = Gen.choose (0, 4)
        let! defaults = Gen.listOfLength 2 genRule
        let! useDefaults = Gen.elements [ true; false ]
        let! now = Gen.choose (0, 90)
        let! a = Gen.choose (0, 80)
        let! len = Gen.choose (1, 24)
        return List.truncate count own, (if useDefaults then None else Some defaults), now, a, a + len
    }

[<Tests>]
let tests =
    testList "RetentionRules" [
        test "Druid's rule JSON parses with its defaults and prints back in full" {
            let rules =
                parse """[{"type":"loadByPeriod","period":"P1M","tieredReplicants":{"hot":1,"_default_tier":1}},
                          {"type":"loadByInterval","interval":"2012-01-01/2013-01-01"},
                          {"type":"loadForever","useDefaultTierForNull":false},
                          {"type":"dropByPeriod","period":"P1M","includeFuture":false},
                          {"type":"dropBeforeByPeriod","period":"P1Y"},
                          {"type":"dropByInterval","interval":"2012-01-01/2013-01-01"},
                          {"type":"dropForever"},
                          {"type":"broadcastByPeriod","period":"PT12H"},
                          {"type":"broadcastByInterval","interval":"2012-01-01/P1D"},
                          {"type":"broadcastForever"}]"""
            Expect.equal
                (rulesText rules)
                ("""[{"type":"loadByPeriod","period":"P1M","includeFuture":true,"tieredReplicants":{"hot":1,"_default_tier":1},"useDefaultTierForNull":true},"""
                 + """{"type":"loadByInterval","interval":"2012-01-01T00:00:00.000Z/2013-01-01T00:00:00.000Z","tieredReplicants":{"_default_tier":2},"useDefaultTierForNull":true},"""
                 + """{"type":"loadForever","tieredReplicants":{},"useDefaultTierForNull":false},"""
                 + """{"type":"dropByPeriod","period":"P1M","includeFuture":false},"""
                 + """{"type":"dropBeforeByPeriod","period":"P1Y"},"""
                 + """{"type":"dropByInterval","interval":"2012-01-01T00:00:00.000Z/2013-01-01T00:00:00.000Z"},"""
                 + """{"type":"dropForever"},"""
                 + """{"type":"broadcastByPeriod","period":"PT12H","includeFuture":true},"""
                 + """{"type":"broadcastByInterval","interval":"2012-01-01T00:00:00.000Z/2012-01-02T00:00:00.000Z"},"""
                 + """{"type":"broadcastForever"}]""")
                "normalised rules"
            Expect.equal (parse (rulesText rules)) rules "printing then parsing gives the same rules"
            Expect.equal (rulesText defaultRules) """[{"type":"loadForever","tieredReplicants":{"_default_tier":2},"useDefaultTierForNull":true}]""" "Druid's default rule"
        }
        test "bad rules name the JSON path" {
            Expect.equal (errorOf """[{"type":"loadForever","tieredReplicants":{"hot":-1}}]""")
                ("[0].tieredReplicants.hot", "Replicant value [-1] is less than 0, which is not allowed") "negative replicas"
            Expect.equal (errorOf """[{"type":"dropForever"},{"type":"loadForever","tieredReplicants":{"hot":null}}]""")
                ("[1].tieredReplicants.hot", "Replicant value cannot be empty") "null replicas"
            Expect.equal (fst (errorOf """[{"type":"keepForever"}]""")) "[0].type" "unknown type"
            Expect.equal (errorOf """[{"type":"loadByPeriod","period":"one month"}]""") ("[0].period", "Invalid period [one month]") "bad period"
            Expect.equal (errorOf """[{"type":"dropByInterval","interval":"2013/2012"}]""") ("[0].interval", "Invalid interval [2013/2012]") "bad interval"
            Expect.equal (fst (errorOf """[{"type":"loadByInterval"}]""")) "[0].interval" "missing interval"
            Expect.equal (errorOf """{"type":"loadForever"}""") ("", "Expected a JSON array of rules") "not an array"
            Expect.isOk (tryParseRules "[]") "no rules at all is fine"
        }
        test "first matching rule of the data source, then of the defaults" {
            let now = iso "2024-06-15T12:00:00Z"
            let own = parse """[{"type":"loadByPeriod","period":"P1M"},{"type":"dropByInterval","interval":"2024-01-01/2024-04-01"}]"""
            let defaults = parse """[{"type":"dropForever"}]"""
            let hit s = firstMatch now own defaults (interval s) |> typeOf
            Expect.equal (hit "2024-06-01/2024-06-02") (Some "loadByPeriod") "inside the month"
            Expect.equal (hit "2024-05-15/2024-05-16") (Some "loadByPeriod") "ends inside the month (overlap)"
            Expect.equal (hit "2024-05-14/2024-05-15") (Some "dropForever") "ends at the window's start"
            Expect.equal (hit "2030-01-01/2030-01-02") (Some "loadByPeriod") "the future counts by default"
            Expect.equal (hit "2024-03-31/2024-04-01") (Some "dropByInterval") "contained in the drop interval"
            Expect.equal (hit "2024-03-31/2024-04-02") (Some "dropForever") "not contained: falls to the defaults"
            Expect.equal (firstMatch now [] defaultRules (interval "1000-01-01/1000-01-02") |> typeOf) (Some "loadForever") "Druid's default"
            Expect.equal (firstMatch now [] [] (interval "2024-01-01/2024-01-02")) None "nothing matches"
        }
        test "period rules with and without the future, dropBeforeByPeriod" {
            let now = iso "2024-06-15T00:00:00Z"
            let matches rule s = appliesTo now (interval s) (parse (sprintf "[%s]" rule)).Head
            let loadPast = """{"type":"loadByPeriod","period":"P1D","includeFuture":false}"""
            Expect.isTrue (matches loadPast "2024-06-14T12:00:00Z/2024-06-15T12:00:00Z") "overlaps the past day"
            Expect.isFalse (matches loadPast "2024-06-15/2024-06-16") "starts at now: no overlap with [now-1d, now)"
            let dropFuture = """{"type":"dropByPeriod","period":"P1D"}"""
            Expect.isTrue (matches dropFuture "2024-06-14/2030-01-01") "starts at the window start"
            Expect.isFalse (matches dropFuture "2024-06-13T23:00:00Z/2024-06-14T01:00:00Z") "starts before the window"
            let dropPast = """{"type":"dropByPeriod","period":"P1D","includeFuture":false}"""
            Expect.isTrue (matches dropPast "2024-06-14/2024-06-15") "the whole past day"
            Expect.isFalse (matches dropPast "2024-06-14/2024-06-15T00:00:00.001Z") "reaches past now"
            let before = """{"type":"dropBeforeByPeriod","period":"P1M"}"""
            Expect.isTrue (matches before "2024-05-14/2024-05-15") "ends at now − 1 month"
            Expect.isFalse (matches before "2024-05-14/2024-05-15T00:00:00.001Z") "ends after it"
            Expect.isTrue (matches """{"type":"loadByPeriod","period":"P1M"}""" "2024-05-14/2024-05-15T00:00:00.001Z") "calendar month back"
        }
        test "what this cluster loads" {
            let rule text = Some (parse (sprintf "[%s]" text)).Head
            Expect.isTrue (shouldLoad (rule """{"type":"loadForever","tieredReplicants":{"hot":1}}""")) "any tier counts"
            Expect.isFalse (shouldLoad (rule """{"type":"loadForever","tieredReplicants":{"hot":0}}""")) "zero replicas"
            Expect.isFalse (shouldLoad (rule """{"type":"loadForever","useDefaultTierForNull":false}""")) "no tiers"
            Expect.isTrue (shouldLoad (rule """{"type":"broadcastForever"}""")) "broadcast"
            Expect.isFalse (shouldLoad (rule """{"type":"dropForever"}""")) "drop"
            Expect.isFalse (shouldLoad None) "no rule"
            Expect.isTrue (isDrop (rule """{"type":"dropBeforeByPeriod","period":"P1D"}""")) "drop rule"
            Expect.isFalse (isDrop None) "no rule is not a drop"
        }
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 500; arbitrary = [] } "first match agrees with an hour-grid oracle" <|
            Prop.forAll (Arb.fromGen genCase) (fun (own, defaults, now, a, b) ->
                let text (rs: GridRule list) = "[" + String.concat "," (List.map gridRuleJson rs) + "]"
                let parsedDefaults = match defaults with None -> defaultRules | Some d -> parse (text d)
                let actual = firstMatch (at now) (parse (text own)) parsedDefaults { Start = at a; End = at b } |> typeOf
                let oracleDefaults = defaults |> Option.defaultValue [ { Kind = "loadForever"; A = 0; B = 0; Hours = 0; Future = true; Replicants = 2 } ]
                let expected = own @ oracleDefaults |> List.tryFind (oracleApplies now a b) |> Option.map (fun r -> r.Kind)
                actual = expected)
    ]

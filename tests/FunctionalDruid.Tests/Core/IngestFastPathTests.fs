/// Fast paths of ingestion against the general code they stand in for: records read from
/// UTF-8 bytes against the decoded text, remembered time buckets against Time.bucketStart.
module FunctionalDruid.Tests.Core.IngestFastPathTests

open System
open System.Collections.Generic
open System.Text
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Core.Input
open FunctionalDruid.Core.InputFormatSpec
open NodaTime

let private format (json: string) =
    match Json.run json parseInputFormat with
    | Ok f -> f
    | Error e -> failwithf "spec rejected: %A" e

let private formats =
    [ "json", format """{"type":"json"}"""
      "json keeping nulls", format """{"type":"json","keepNullColumns":true}"""
      "json with flattenSpec",
      format """{"type":"json","flattenSpec":{"useFieldDiscovery":true,"fields":[{"type":"path","name":"ef","expr":"$.e.f"},{"type":"root","name":"aa","expr":"a"},{"type":"jq","name":"d0","expr":".d[0]"}]}}"""
      "csv", format """{"type":"csv","columns":["a","b","c"]}""" ]

let private utf8 (s: string) = Encoding.UTF8.GetBytes s

/// Pieces of stream records: rows of the bench's shape, every JSON value kind (string
/// numbers, nulls, multi-values, nested objects, booleans), repeated keys, broken JSON,
/// blank and Unicode-blank lines, line ends, non-ASCII text and invalid UTF-8 (a lone
/// continuation byte, a cut sequence, an encoded surrogate, an overlong form), so lines
/// split, decode and parse in every way the string path can.
let private fragments : byte[][] =
    Array.append
        ([| """{"timestamp":"1559736155453","city":"beijing","platform":"pc","click":"0"}"""
            """{"a":1,"b":2.5,"c":null,"d":[1,"x",null],"e":{"f":true},"g":false}"""
            """{"t":"2024-01-01T00:00:00Z","d":["a","b"],"n":-12345678901234567890,"x":1e400}"""
            """{"nested":[[1],[2]],"s":"é字😀","d":[true,false]}"""
            """{"dup":1,"dup":"2","a":"x,y"}"""
            """{"a":"""; """{"s":"""; "\""; "\"}"; ","; "1"; "\"v\u0001w\""
            "not json"; "[1,2,3]"; " \"just a string\" "; "{}"; "null"; """{"a":1}{"b":2}"""
            "   "; "\t"; "\r"; "\n"; "\r\n"; "\n\n"; "\u00a0"; "\u2003"; "\u0085"; "a,b,c"; "\"q,\"\"x\",,3" |]
         |> Array.map utf8)
        [| [| 0xFFuy |]; [| 0x80uy |]; [| 0xC3uy |]; [| 0xE2uy; 0x82uy |]; [| 0xEDuy; 0xA0uy; 0x80uy |]; [| 0xC0uy; 0xAFuy |]; [| 0xEFuy; 0xBBuy; 0xBFuy |] |]

let private message (random: Random) =
    Array.concat [ for _ in 1 .. random.Next(1, 7) -> fragments.[random.Next fragments.Length] ]

/// What a result shows: the row's names, values and printed form (which includes JSON
/// trees and nested-only fields), or the full error text with its location.
let private shown (r: RowResult) =
    match r with
    | Row row -> sprintf "row %A %A %s" row.Names row.Values (row.ToString())
    | Unparseable m -> "unparseable " + m

/// The string path the Kafka task used before: decode the record, split its lines, read each.
let private viaStrings (f: InputFormat) (messages: byte[] list) =
    let reader = RowReader(f, None)
    [ for m in messages do
        for line in Encoding.UTF8.GetString(m).Split('\n') do
            match reader.Read line with
            | ValueSome r -> yield shown r
            | ValueNone -> () ]

let private viaBytes (f: InputFormat) (messages: byte[] list) =
    let reader = RowReader(f, None)
    let results = List<RowResult>()
    for m in messages do reader.ReadUtf8Lines(ReadOnlySpan m, results)
    [ for r in results -> shown r ]

let private config = { FsCheckConfig.defaultConfig with maxTest = 300 }

[<Tests>]
let tests =
    testList "Utf8Input" [
        for name, f in formats do
            testPropertyWithConfig config (sprintf "%s: records read from UTF-8 bytes equal the decoded text read line by line" name) <| fun (seed: int) ->
                let random = Random seed
                let messages = [ for _ in 1 .. random.Next(1, 6) -> message random ]
                Expect.equal (viaBytes f messages) (viaStrings f messages) "same rows, errors and locations"

        test "a bench record parses from bytes to the same row as from text" {
            let record = utf8 """{"timestamp":"1559736155453","city":"beijing","platform":"pc","click":"0"}"""
            let reader = RowReader(format """{"type":"json"}""", None)
            match reader.ReadUtf8(ReadOnlySpan record) with
            | ValueSome(Row row) ->
                Expect.equal row.Names [| "timestamp"; "city"; "platform"; "click" |] "names in input order"
                Expect.equal row.Values [| Value.String "1559736155453"; Value.String "beijing"; Value.String "pc"; Value.String "0" |] "string numbers stay strings"
            | other -> failtestf "expected a row, got %A" other
        }

        test "an invalid UTF-8 record is read as its decoded text, replacement characters included" {
            let record = Array.concat [ utf8 """{"city":"b"""; [| 0xFFuy |]; utf8 "\"}" ]
            let reader = RowReader(format """{"type":"json"}""", None)
            match reader.ReadUtf8(ReadOnlySpan record) with
            | ValueSome(Row row) -> Expect.equal (row.Get "city") (Value.String "b\uFFFD") "U+FFFD for the invalid byte"
            | other -> failtestf "expected a row, got %A" other
        }

        test "a bad line in a record is unparseable with its line number, blank lines are skipped" {
            let record = utf8 "{\"a\":1}\r\n\n  \n{\"a\":\n{\"a\":2}"
            let results = List<RowResult>()
            RowReader(format """{"type":"json"}""", None).ReadUtf8Lines(ReadOnlySpan record, results)
            Expect.equal [ for r in results -> shown r ]
                [ shown (Row(makeRow [| "a" |] [| Value.Long 1L |]))
                  "unparseable Unable to parse row [{\"a\":] (Record: 2, Line: 4)"
                  shown (Row(makeRow [| "a" |] [| Value.Long 2L |])) ] "rows and the error in order"
        }
    ]

let private granularities =
    [ for name in [ "NONE"; "ALL"; "SECOND"; "MINUTE"; "FIFTEEN_MINUTE"; "HOUR"; "SIX_HOUR"; "DAY"; "WEEK"; "MONTH"; "QUARTER"; "YEAR"; "P2D"; "PT7M"; "P3W" ] ->
        name, (Time.tryGranularityOfName name).Value ]
    @ [ "P1D in Los Angeles (DST)", Time.Granularity.Period({ Time.zeroPeriod with Days = 1 }, DateTimeZoneProviders.Tzdb.["America/Los_Angeles"], None, None)
        "PT2H from an origin", Time.Granularity.Period({ Time.zeroPeriod with Hours = 2 }, DateTimeZone.Utc, Some 1377910800000L, None)
        "duration 90 s", Time.Granularity.Duration(90_000L, 17L) ]

[<Tests>]
let bucketTests =
    testList "TimeBuckets" [
        for name, g in granularities do
            testPropertyWithConfig config (sprintf "%s: remembered bucket starts equal Time.bucketStart" name) <| fun (seed: int) ->
                let random = Random seed
                let cache = TimeBuckets.BucketCache g
                // times clustered around a few instants (hits) and spread over centuries (misses, slot reuse)
                let centers = [| for _ in 1 .. 3 -> random.NextInt64(-2_000_000_000_000L, 4_000_000_000_000L) |]
                let times =
                    [ for _ in 1 .. 400 ->
                        if random.Next 4 = 0 then random.NextInt64(-30_000_000_000_000L, 30_000_000_000_000L)
                        else centers.[random.Next centers.Length] + random.NextInt64(-3L * 86_400_000L, 3L * 86_400_000L) ]
                for t in times do
                    Expect.equal (cache.Start t) (Time.bucketStart g t) (sprintf "bucket of %d" t)
    ]

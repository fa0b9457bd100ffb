module FunctionalDruid.Tests.Core.TimestampSpecTests

open Expecto
open FsCheck
open FunctionalDruid.Core
open FunctionalDruid.Core.TimestampSpec
open NodaTime

let private zone s = (Time.tryParseZone s).Value
let private fmt text = match tryParseFormat text with Ok f -> f | Error e -> failwith e
let private spec text = Json.run text parse
let private s (x: string) = Value.String x

[<Tests>]
let tests =
    testList "TimestampSpec" [
        test "auto reads lenient ISO strings and numbers as millis" {
            let cases =
                [ s "2013-08-31T01:02:33Z", 1377910953000L
                  s "2022-6-14T10:32:08Z", 1655202728000L
                  s "2013-08-31 01:02:33", 1377910953000L
                  s "2013-08-31", 1377907200000L
                  s "2013-08-31T09:02:33.5+08:00", 1377910953500L
                  s "\"2013-08-31T01:02:33Z\"", 1377910953000L
                  // Druid drops a trailing zone id but still reads the time as UTC
                  s "2013-08-31 01:02:33 America/Los_Angeles", 1377910953000L
                  s "1377910953000", 1377910953000L
                  s "20130831", 20130831L
                  Value.Long 1377910953000L, 1377910953000L
                  Value.Double 1377910953123.9, 1377910953123L ]
            for v, expected in cases do
                Expect.equal (tryParseValue TimestampFormat.Auto v) (Some expected) (sprintf "%A" v)
        }
        test "auto rejects what Druid rejects" {
            for v in [ s ""; s "yesterday"; s "2013-13-01"; s "99999999999999999999"; Value.Array [| s "2013-08-31" |] ] do
                Expect.equal (tryParseValue TimestampFormat.Auto v) None (sprintf "%A" v)
        }
        test "iso, millis, posix, micro, nano and ruby" {
            let cases =
                [ "iso", s "2013-08-31T01:02:33.123Z", Some 1377910953123L
                  "iso", s "2013-08-31", Some 1377907200000L
                  "iso", s "2013-08-31 01:02:33", None
                  "millis", s "1377910953123", Some 1377910953123L
                  "millis", Value.Long 1377910953123L, Some 1377910953123L
                  "millis", s "2013-08-31", None
                  "posix", Value.Long 1377910953L, Some 1377910953000L
                  "posix", s " 1377910953 ", Some 1377910953000L
                  "posix", Value.Double 1377910953.9, Some 1377910953000L
                  "posix", s "1377910953.9", None
                  "micro", Value.Long 1377910953123456L, Some 1377910953123L
                  "micro", s "1377910953123456", Some 1377910953123L
                  "nano", Value.Long 1377910953123456789L, Some 1377910953123L
                  "ruby", s "1377910953.5", Some 1377910953500L
                  "ruby", Value.Double 1377910953.25, Some 1377910953250L
                  "ruby", Value.Long 1377910953L, Some 1377910953000L
                  "POSIX", s "0", Some 0L ]
            for f, v, expected in cases do
                Expect.equal (tryParseValue (fmt f) v) expected (sprintf "%s %A" f v)
        }
        test "joda patterns parse to exact millis" {
            let cases =
                [ "yyyy-MM-dd HH:mm:ss", "2013-08-31 01:02:33", 1377910953000L
                  "yyyy-MM-dd'T'HH:mm:ss.SSSZZ", "2013-08-31T09:02:33.123+08:00", 1377910953123L
                  "yyyy-MM-ddTHH:mm:ss", "2013-08-31T01:02:33", 1377910953000L
                  "dd/MMM/yyyy:HH:mm:ss Z", "31/Aug/2013:01:02:33 +0000", 1377910953000L
                  "dd/MMM/yyyy:HH:mm:ss Z", "31/aug/2013:03:02:33 +0200", 1377910953000L
                  "EEE, dd MMM yyyy HH:mm:ss Z", "Sat, 31 Aug 2013 01:02:33 Z", 1377910953000L
                  "MMMM d, yyyy", "August 31, 2013", 1377907200000L
                  "yyyyMMdd", "20130831", 1377907200000L
                  "yyyyMMddHHmmss", "20130831010233", 1377910953000L
                  "MM/dd/yyyy hh:mm:ss a", "08/31/2013 01:02:33 PM", 1377954153000L
                  "MM/dd/yyyy hh:mm a", "08/31/2013 12:00 AM", 1377907200000L
                  "yy-M-d", "13-8-31", 1377907200000L
                  "yy-M-d", "99-1-1", 915148800000L
                  "yyyy-MM-dd HH:mm:ss ZZZ", "2013-08-31 03:02:33 Europe/Paris", 1377910953000L
                  "yyyy-MM-dd HH:mm:ss.S", "2013-08-31 01:02:33.5", 1377910953500L
                  "yyyy-D", "2013-243", 1377907200000L
                  "'day' d 'of' MMM yyyy", "day 31 of Aug 2013", 1377907200000L ]
            for pattern, text, expected in cases do
                Expect.equal (JodaPattern.tryParse pattern DateTimeZone.Utc text) (Some expected) (pattern + " <- " + text)
        }
        test "joda patterns reject malformed text" {
            let cases =
                [ "yyyy-MM-dd", "2013-02-30"; "yyyy-MM-dd", "2013-08-31x"; "HH:mm", "24:00"
                  "yyyy-MM-dd", "2013/08/31"; "dd MMM yyyy", "31 Foo 2013"; "yyyyMMdd", "2013831" ]
            for pattern, text in cases do
                Expect.equal (JodaPattern.tryParse pattern DateTimeZone.Utc text) None (pattern + " <- " + text)
        }
        test "joda patterns without an offset read local time in the given zone" {
            Expect.equal (JodaPattern.tryParse "yyyy-MM-dd HH:mm" (zone "Asia/Shanghai") "2013-08-31 09:02") (Some 1377910920000L) "shanghai"
            // 02:30 on 2013-03-10 does not exist in Los Angeles
            Expect.equal (JodaPattern.tryParse "yyyy-MM-dd HH:mm" (zone "America/Los_Angeles") "2013-03-10 02:30") None "gap"
        }
        test "joda patterns format" {
            let t = 1377910953123L
            Expect.equal (JodaPattern.format "yyyy-MM-dd'T'HH:mm:ss.SSSZZ" (zone "Asia/Shanghai") t) "2013-08-31T09:02:33.123+08:00" "iso-like"
            Expect.equal (JodaPattern.format "EEE, dd MMM yyyy HH:mm:ss Z" DateTimeZone.Utc t) "Sat, 31 Aug 2013 01:02:33 +0000" "rfc"
            Expect.equal (JodaPattern.format "EEEE MMMM d yy h:mm a" DateTimeZone.Utc t) "Saturday August 31 13 1:02 AM" "text"
            Expect.equal (JodaPattern.format "yyyy-MM-dd HH:mm ZZZ" (zone "America/Los_Angeles") t) "2013-08-30 18:02 America/Los_Angeles" "zone id"
            Expect.equal (JodaPattern.format "D 'o''clock' S SSSS" DateTimeZone.Utc t) "243 o'clock 1 1230" "day of year, quote, fraction"
        }
        test "invalid joda patterns are named" {
            Expect.equal (JodaPattern.compile "yyyy-bb") (Error "Illegal pattern component: bb") "letter b"
        }
        testProperty "joda format then parse is the identity" <| fun (t: int64) (zoneIndex: byte) ->
            let t = abs (t % 253402300799999L)
            let z = [| DateTimeZone.Utc; zone "Asia/Shanghai"; zone "America/Los_Angeles"; zone "Asia/Kolkata" |].[int zoneIndex % 4]
            let pattern = "yyyy-MM-dd'T'HH:mm:ss.SSSZZ"
            JodaPattern.tryParse pattern z (JodaPattern.format pattern z t) = Some t
        testProperty "auto reads back every ISO timestamp Druid prints" <| fun (t: int64) ->
            let t = abs (t % 253402300799999L)
            tryParseValue TimestampFormat.Auto (Value.String(Time.formatIso t)) = Some t
        test "spec defaults and fields" {
            Expect.equal (spec "{}") (Ok defaultSpec) "defaults"
            Expect.equal (spec """{"column":"ts","format":"posix"}""") (Ok { Column = "ts"; Format = TimestampFormat.Posix; MissingValue = None }) "posix"
            Expect.equal (spec """{"missingValue":"2010-01-01T00:00:00Z"}""") (Ok { defaultSpec with MissingValue = Some 1262304000000L }) "missing iso"
            Expect.equal (spec """{"missingValue":1262304000000}""") (Ok { defaultSpec with MissingValue = Some 1262304000000L }) "missing millis"
            match spec """{"format":"dd/MMM/yyyy"}""" with
            | Ok { Format = TimestampFormat.Joda p } -> Expect.equal p.Text "dd/MMM/yyyy" "pattern kept"
            | other -> failtestf "unexpected %A" other
        }
        test "spec errors name the path" {
            Expect.equal (Json.run """{"timestampSpec":{"format":"yyyy-bb"}}""" (fun n -> parse (Json.field n "timestampSpec")))
                (Error("timestampSpec.format", "Unable to parse timestamps with format [yyyy-bb]")) "bad pattern"
            Expect.equal (spec """{"missingValue":"soon"}""") (Error("missingValue", "Invalid format: \"soon\"")) "bad missing value"
            Expect.equal (spec """[]""") (Error("", "expected an object but found an array")) "not an object"
        }
        test "extract uses missingValue only for absent values" {
            let withMissing = { defaultSpec with MissingValue = Some 42L }
            Expect.equal (extract withMissing Value.Null) (Ok 42L) "null -> missing value"
            Expect.equal (extract withMissing (s "nope")) (Error "Timestamp[nope] is unparseable! Event: {timestamp=nope}") "bad is still bad"
            Expect.equal (extract defaultSpec Value.Null) (Error "Timestamp[null] is unparseable! Event: {timestamp=null}") "null"
            Expect.equal (extract defaultSpec (Value.Array [| s "a"; Value.Long 1L |])) (Error "Timestamp[[a, 1]] is unparseable! Event: {timestamp=[a, 1]}") "array"
            Expect.equal (extract { defaultSpec with Format = TimestampFormat.Posix } (Value.Long 9_000_000_000_000_000L))
                (Error "Encountered row with timestamp[285200616-07-24T16:00:00.000Z] that cannot be represented as a long: [{timestamp=9000000000000000}]") "beyond eternity"
        }
        test "long events are cut at 100 characters" {
            let ev = String.replicate 120 "x"
            Expect.equal (extractWith defaultSpec (s "bad") (fun () -> ev)) (Error("Timestamp[bad] is unparseable! Event: " + String.replicate 100 "x" + "...")) "cut"
        }
    ]

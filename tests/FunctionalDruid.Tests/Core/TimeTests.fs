module FunctionalDruid.Tests.Core.TimeTests

open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Core.Time
open NodaTime

let private iso s = (tryParseInstant s).Value
let private zone s = (tryParseZone s).Value

[<Tests>]
let tests =
    testList "Time" [
        test "lenient ISO instants" {
            let cases =
                [ "2013-08-31T01:02:33Z", 1377910953000L
                  "2013-08-31T01:02:33.123Z", 1377910953123L
                  "2013-08-31", 1377907200000L
                  "2015-09-12T00Z", 1442016000000L
                  "2022-6-14T10:32:08Z", 1655202728000L
                  "2013-08-31T09:02:33+08:00", 1377910953000L
                  "2013-08-31 01:02:33", 1377910953000L
                  "1969-12-31T23:59:59.999Z", -1L ]
            for s, expected in cases do Expect.equal (tryParseInstant s) (Some expected) s
        }
        test "bad instants are rejected" {
            for s in [ "2013-13-01"; "2013-02-30"; "yesterday"; "2013-08-31T25:00"; "2013-08-31Tx"; "" ] do
                Expect.equal (tryParseInstant s) None s
        }
        test "formatting in UTC and in a zone" {
            Expect.equal (formatIso 1377910953000L) "2013-08-31T01:02:33.000Z" "utc"
            Expect.equal (formatIso -1L) "1969-12-31T23:59:59.999Z" "before epoch"
            Expect.equal (formatInZone (zone "Asia/Shanghai") (iso "2019-06-04T16:00:00Z")) "2019-06-05T00:00:00.000+08:00" "shanghai"
            Expect.equal (formatInZone (zone "America/Los_Angeles") (iso "2019-01-01T08:00:00Z")) "2019-01-01T00:00:00.000-08:00" "la"
        }
        testProperty "format then parse is the identity" <| fun (t: int64) ->
            let t = t % 253402300799999L |> abs
            tryParseInstant (formatIso t) = Some t
        test "periods" {
            Expect.equal (tryParsePeriod "P1D") (Some { zeroPeriod with Days = 1 }) "P1D"
            Expect.equal (tryParsePeriod "PT1H30M") (Some { zeroPeriod with Hours = 1; Minutes = 30 }) "PT1H30M"
            Expect.equal (tryParsePeriod "P1Y2M3W4DT5H6M7.5S") (Some { Years = 1; Months = 2; Weeks = 3; Days = 4; Hours = 5; Minutes = 6; Seconds = 7; Millis = 500 }) "all"
            Expect.equal (tryParsePeriod "P") None "empty"
            Expect.equal (tryParsePeriod "PT1D") None "day in time part"
            Expect.equal (formatPeriod { zeroPeriod with Hours = 1; Minutes = 30 }) "PT1H30M" "format"
        }
        test "simple granularity buckets in UTC" {
            let t = iso "2013-08-31T01:02:33.456Z"
            let cases =
                [ "SECOND", "2013-08-31T01:02:33.000Z"; "MINUTE", "2013-08-31T01:02:00.000Z"
                  "FIFTEEN_MINUTE", "2013-08-31T01:00:00.000Z"; "HOUR", "2013-08-31T01:00:00.000Z"
                  "SIX_HOUR", "2013-08-31T00:00:00.000Z"; "DAY", "2013-08-31T00:00:00.000Z"
                  "WEEK", "2013-08-26T00:00:00.000Z"; "MONTH", "2013-08-01T00:00:00.000Z"
                  "QUARTER", "2013-07-01T00:00:00.000Z"; "YEAR", "2013-01-01T00:00:00.000Z" ]
            for name, expected in cases do
                let g = (tryGranularityOfName name).Value
                Expect.equal (formatIso (bucketStart g t)) expected name
            Expect.equal (bucketStart Granularity.NoTruncation t) t "none"
        }
        test "period granularity in a time zone" {
            let g = Granularity.Period({ zeroPeriod with Days = 1 }, zone "Asia/Shanghai", None, None)
            // 1559736155453 = 2019-06-05T12:02:35.453Z = 20:02 in Shanghai
            Expect.equal (formatInZone (zone "Asia/Shanghai") (bucketStart g 1559736155453L)) "2019-06-05T00:00:00.000+08:00" "day in shanghai"
            Expect.equal (formatInZone (zone "Asia/Shanghai") (bucketStart g (iso "2019-06-05T16:30:00Z"))) "2019-06-06T00:00:00.000+08:00" "next local day"
            let dst = Granularity.Period({ zeroPeriod with Days = 1 }, zone "America/Los_Angeles", None, None)
            let b = bucketStart dst (iso "2019-03-10T12:00:00Z")
            Expect.equal (nextBucket dst b - b) (23L * 3600000L) "DST day is 23 hours"
        }
        test "period granularity with an origin and duration granularity" {
            let g = Granularity.Period({ zeroPeriod with Hours = 2 }, DateTimeZone.Utc, Some(iso "2013-08-31T01:00:00Z"), None)
            Expect.equal (formatIso (bucketStart g (iso "2013-08-31T04:30:00Z"))) "2013-08-31T03:00:00.000Z" "origin"
            let m = Granularity.Period({ zeroPeriod with Months = 1 }, DateTimeZone.Utc, Some(iso "2013-01-15T00:00:00Z"), None)
            Expect.equal (formatIso (bucketStart m (iso "2013-03-10T00:00:00Z"))) "2013-02-15T00:00:00.000Z" "calendar origin"
            let d = Granularity.Duration(3600000L * 5L, 0L)
            // 2013-08-31T04:30Z is 382756.5 hours after the epoch; 5-hour buckets start at 382755.
            Expect.equal (formatIso (bucketStart d (iso "2013-08-31T04:30:00Z"))) "2013-08-31T03:00:00.000Z" "duration"
        }
        testProperty "bucketStart is a floor: bucket contains t, and is stable" <| fun (t: int64) (pick: byte) ->
            let t = t % 4000000000000L
            let name, _ = simpleGranularities.[int pick % simpleGranularities.Length]
            let g = (tryGranularityOfName name).Value
            let s = bucketStart g t
            s <= t && t < nextBucket g s && bucketStart g s = s
        test "intervals" {
            Expect.equal (tryParseInterval "2013-08-31/2013-09-01") (Some { Start = iso "2013-08-31"; End = iso "2013-09-01" }) "dates"
            Expect.equal (tryParseInterval "2013-08-31/P1D") (Some { Start = iso "2013-08-31"; End = iso "2013-09-01" }) "start/period"
            Expect.equal (tryParseInterval "P1D/2013-09-01") (Some { Start = iso "2013-08-31"; End = iso "2013-09-01" }) "period/end"
            Expect.equal (tryParseInterval "2013-09-01/2013-08-31") None "reversed"
            Expect.equal (formatInterval { Start = iso "2013-08-31"; End = iso "2013-09-01" }) "2013-08-31T00:00:00.000Z/2013-09-01T00:00:00.000Z" "format"
        }
        test "granularity nesting" {
            let g n = (tryGranularityOfName n).Value
            Expect.isTrue (isFinerOrEqual (g "MINUTE") (g "DAY")) "minute in day"
            Expect.isFalse (isFinerOrEqual (g "DAY") (g "HOUR")) "day not in hour"
            Expect.isFalse (isFinerOrEqual (g "WEEK") (g "MONTH")) "week not in month"
            Expect.isTrue (isFinerOrEqual Granularity.NoTruncation (g "YEAR")) "none"
        }
    ]

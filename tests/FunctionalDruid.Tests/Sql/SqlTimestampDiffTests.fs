/// TIMESTAMPDIFF in calendar units: whole months between two instants (Joda's monthsBetween,
/// truncated toward zero), quarters and years as whole thirds and twelfths of those; and
/// TIME_IN_INTERVAL over a literal interval.
module FunctionalDruid.Tests.Sql.SqlTimestampDiffTests

open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Sql
open FunctionalDruid.Tests.Sql.SqlEngineTests

let private twoRows =
    [ { Time = t0; Channel = "#en.wikipedia"; Page = "Main"; User = "ann"; Added = 10L; Delta = 1.5 }
      { Time = t0 + 25L * 3600000L; Channel = "#en.wikipedia"; Page = "Main"; User = "dan"; Added = 3L; Delta = 1.0 } ]

let private rows (options: SqlEngine.Options) (sql: string) = (run options sql []).Rows |> List.map List.ofArray

let private constant (sql: string) (expected: int64) =
    test sql {
        Expect.equal (rows (optionsFor twoRows SqlEngine.defaultSupports) sql) [ [ Value.Long expected ] ] sql
    }

[<Tests>]
let tests =
    testList "sql/timestampdiff" [
        constant "SELECT TIMESTAMPDIFF(MONTH, TIMESTAMP '2015-01-31 00:00:00', TIMESTAMP '2015-03-30 00:00:00')" 1L
        constant "SELECT TIMESTAMPDIFF(MONTH, TIMESTAMP '2015-01-31 00:00:00', TIMESTAMP '2015-03-31 00:00:00')" 2L
        constant "SELECT TIMESTAMPDIFF(MONTH, TIMESTAMP '2015-03-30 00:00:00', TIMESTAMP '2015-01-31 00:00:00')" -1L
        constant "SELECT TIMESTAMPDIFF(QUARTER, TIMESTAMP '2013-07-01 00:00:00', TIMESTAMP '2015-06-30 00:00:00')" 7L
        constant "SELECT TIMESTAMPDIFF(YEAR, TIMESTAMP '2013-07-01 00:00:00', TIMESTAMP '2015-06-30 00:00:00')" 1L
        constant "SELECT TIMESTAMPDIFF(YEAR, TIMESTAMP '2013-07-01 00:00:00', TIMESTAMP '2015-07-01 00:00:00')" 2L

        test "TIME_IN_INTERVAL: start inclusive, end exclusive, natively and in memory" {
            let sql = "SELECT COUNT(*) FROM wikipedia WHERE TIME_IN_INTERVAL(__time, '2015-09-12/2015-09-13T01:00:00Z')"
            Expect.equal (rows (optionsFor twoRows SqlEngine.defaultSupports) sql) [ [ Value.Long 1L ] ] "native"
            Expect.equal (rows (optionsFor twoRows (fun _ -> false)) sql) [ [ Value.Long 1L ] ] "in memory"
            let wider = "SELECT COUNT(*) FROM wikipedia WHERE TIME_IN_INTERVAL(__time, '2015-09-12/P2D')"
            Expect.equal (rows (optionsFor twoRows SqlEngine.defaultSupports) wider) [ [ Value.Long 2L ] ] "P2D"
        }

        test "TIME_IN_INTERVAL reads an interval without offsets in the session time zone" {
            // Los Angeles is UTC-7 in September: 2015-09-12/2015-09-13 there is 07:00Z to 07:00Z.
            let sql = "SELECT TIME_FORMAT(__time, 'yyyy-MM-dd HH:mm', 'UTC') FROM wikipedia WHERE TIME_IN_INTERVAL(__time, '2015-09-12/2015-09-13')"
            let inZone (supports: Query.NativeQuery -> bool) (zone: string) =
                (SqlEngine.execute (optionsFor twoRows supports) { Sql = sql; Parameters = [||]; Context = [ "sqlTimeZone", zone ] }).Rows |> List.map List.ofArray
            Expect.equal (inZone SqlEngine.defaultSupports "UTC") [ [ Value.String "2015-09-12 00:00" ] ] "UTC"
            Expect.equal (inZone SqlEngine.defaultSupports "America/Los_Angeles") [ [ Value.String "2015-09-13 01:00" ] ] "Los Angeles, native"
            Expect.equal (inZone (fun _ -> false) "America/Los_Angeles") [ [ Value.String "2015-09-13 01:00" ] ] "Los Angeles, in memory"
            Expect.equal (inZone SqlEngine.defaultSupports "America/Los_Angeles" |> List.length) 1 "one row"
        }

        test "TIME_IN_INTERVAL refuses a number as its timestamp, as Calcite does" {
            let message =
                try
                    run (optionsFor twoRows SqlEngine.defaultSupports) "SELECT TIME_IN_INTERVAL(added, '2001-01-01/P1D') FROM wikipedia" [] |> ignore
                    "no error"
                with SqlException(_, m) -> m
            Expect.equal message "Cannot apply 'TIME_IN_INTERVAL' to arguments of type 'TIME_IN_INTERVAL(<BIGINT>, <CHAR(14)>)'" "message"
        }

        test "months from a column, natively and in memory" {
            let sql = "SELECT __time, TIMESTAMPDIFF(MONTH, TIMESTAMP '2015-07-12 12:00:00', __time) FROM wikipedia ORDER BY __time"
            let expected = [ [ Value.Long t0; Value.Long 1L ]; [ Value.Long(t0 + 25L * 3600000L); Value.Long 2L ] ]
            Expect.equal (rows (optionsFor twoRows SqlEngine.defaultSupports) sql) expected "native"
            Expect.equal (rows (optionsFor twoRows (fun _ -> false)) sql) expected "in memory"
        }
    ]

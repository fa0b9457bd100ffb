/// Column-at-a-time arithmetic equals the row-by-row interpreter on random expressions over
/// long and double columns with nulls, over the lengths of a string column with nulls, and
/// for string CASEs over comparisons of long columns.
module FunctionalDruid.Tests.Core.VectorExprTests

open System
open Expecto
open FunctionalDruid.Core

let private rowCount = 20

let private genColumns (rnd: Random) : Map<string, ColumnData> =
    let nulls () = if rnd.Next 2 = 0 then None else Some(Array.init rowCount (fun _ -> rnd.Next 4 = 0))
    let extremes = [| Int64.MaxValue; Int64.MinValue; 0L; -1L; 3L |]
    Map.ofList
        [ "a", ColumnData.Longs(Array.init rowCount (fun _ -> if rnd.Next 6 = 0 then extremes.[rnd.Next extremes.Length] else int64 (rnd.Next(-50, 50))), nulls ())
          "b", ColumnData.Longs(Array.init rowCount (fun _ -> int64 (rnd.Next(-5, 5))), nulls ())
          "x", ColumnData.Doubles(Array.init rowCount (fun _ -> float (rnd.Next(-40, 40)) / 8.0), nulls ())
          "s", QuerySlices.stringColumnOfValues (Array.init rowCount (fun i -> Value.String(string i)))
          // Strings of several lengths (a surrogate pair counts two, as in Java), nulls, empties.
          "t", QuerySlices.stringColumnOfValues (Array.init rowCount (fun _ ->
                  match rnd.Next 5 with
                  | 0 -> Value.Null
                  | 1 -> Value.String ""
                  | 2 -> Value.String "\U0001F600é"
                  | _ -> Value.String(String('x', rnd.Next 12)))) ]

let rec private genExpr (rnd: Random) (depth: int) : string =
    if depth = 0 || rnd.Next 3 = 0 then
        match rnd.Next 6 with
        | 0 -> "a"
        | 1 -> "b"
        | 2 -> "x"
        | 3 -> string (rnd.Next(-3, 100))
        | 4 -> "2.5"
        | _ ->
            match rnd.Next 6 with
            | 0 -> "s"
            | 1 | 2 | 3 -> "strlen(t)"
            | _ -> "a"
    else
        let op = [| "+"; "-"; "*"; "/"; "%" |].[rnd.Next 5]
        sprintf "(%s %s %s)" (genExpr rnd (depth - 1)) op (genExpr rnd (depth - 1))

let private vectorMatchesRows (seed: int) =
    let rnd = Random(seed)
    let columns = genColumns rnd
    let text = genExpr rnd 3
    let e = match Expr.parse text with Ok e -> e | Error problem -> failwithf "%s: %s" text problem
    let outputType = [| None; Some ColumnType.Long; Some ColumnType.Double |].[rnd.Next 3]
    let columnOf name = Map.tryFind name columns
    match VectorExpr.tryColumn columnOf rowCount outputType e with
    | None -> true
    | Some vector ->
        let compiled = Expr.compile e
        let rows = SegmentColumns.columnOfValues outputType rowCount (fun r -> compiled (fun name -> match columnOf name with Some c -> c.Cell r | None -> Value.Null))
        // Printed, so that NaN (0.0 / 0.0) equals NaN.
        let cells (c: ColumnData) = sprintf "%A" (c.Type, [ for r in 0 .. rowCount - 1 -> c.Cell r ])
        if cells vector <> cells rows then failwithf "%s as %A\nvector %A\nrows   %A" text outputType (cells vector) (cells rows)
        true

/// A string CASE (or `if`) over comparisons of long columns, choosing between string columns
/// and constants, equals the interpreter per row whenever it is computed by column; and it is
/// computed by column whenever the comparisons read no nulls and one arm reads a column
/// (declared a string).
let private stringCaseMatchesRows (seed: int) =
    let rnd = Random(seed)
    let columns = genColumns rnd
    let columnOf name = Map.tryFind name columns
    let hasNulls name = match columnOf name with Some(ColumnData.Longs(_, Some _)) -> true | _ -> false
    let operand () = [| "a"; "b"; string (rnd.Next(-3, 4)) |].[rnd.Next 3]
    let rec condition depth =
        if depth > 0 && rnd.Next 3 = 0 then
            sprintf "(%s %s %s)" (condition (depth - 1)) [| "&&"; "||" |].[rnd.Next 2] (condition (depth - 1))
        else sprintf "(%s %s %s)" (operand ()) [| "=="; "!="; "<"; "<="; ">"; ">=" |].[rnd.Next 6] (operand ())
    let arm () = [| "t"; "s"; "'x'"; "''"; "null"; "'3'" |].[rnd.Next 6]
    let arms = rnd.Next(1, 4)
    let pairs = [ for _ in 1 .. arms -> condition 2, arm () ]
    let otherwise = if rnd.Next 3 = 0 then None else Some(arm ())
    let text =
        match pairs, otherwise with
        | [ c, a ], Some b when rnd.Next 2 = 0 -> sprintf "if(%s, %s, %s)" c a b
        | _ -> sprintf "case_searched(%s%s)" (pairs |> List.map (fun (c, a) -> c + ", " + a) |> String.concat ", ") (match otherwise with Some e -> ", " + e | None -> "")
    let e = match Expr.parse text with Ok e -> e | Error problem -> failwithf "%s: %s" text problem
    let outputType = [| None; Some ColumnType.String |].[rnd.Next 2]
    let armTexts = (pairs |> List.map snd) @ Option.toList otherwise
    let columnArms = armTexts |> List.filter (fun a -> a = "t" || a = "s") |> List.length
    let readsNulls = (hasNulls "a" && text.Contains "a") || (hasNulls "b" && text.Contains "b")
    match VectorExpr.tryColumn columnOf rowCount outputType e with
    | None ->
        // (Undeclared, a CASE giving only nulls is left to the interpreter, which makes it longs.)
        if columnArms = 1 && not readsNulls && outputType.IsSome then failwithf "%s not computed by column" text
        true
    | Some vector ->
        let compiled = Expr.compile e
        let rows = SegmentColumns.columnOfValues outputType rowCount (fun r -> compiled (fun name -> match columnOf name with Some c -> c.Cell r | None -> Value.Null))
        let cells (c: ColumnData) = c.Type, [ for r in 0 .. rowCount - 1 -> c.Cell r ]
        if cells vector <> cells rows then failwithf "%s\nvector %A\nrows   %A" text (cells vector) (cells rows)
        match vector with
        | ColumnData.Strings s when (Array.distinct s.Dictionary).Length <> s.Dictionary.Length -> failwithf "%s: repeated dictionary values %A" text s.Dictionary
        | _ -> true

/// SUM over a virtual `l + k` (summed without building the column) equals the same sum
/// written as an aggregator expression (read row by row), grouped and not, filtered or not.
let private shiftedSumMatchesRows (seed: int) =
    let rnd = Random(seed)
    let dayStart = EngineTestData.iso "2020-01-01"
    let span: Time.Interval = { Start = dayStart; End = dayStart + 86_400_000L }
    let rows =
        [ for _ in 1 .. rnd.Next 50 ->
            ({ Time = dayStart + int64 (rnd.Next 24) * 3_600_000L
               D = [| "a"; "b"; null |].[rnd.Next 3]
               Tags = [||]
               L = (if rnd.Next 4 = 0 then None elif rnd.Next 8 = 0 then Some Int64.MaxValue else Some(int64 (rnd.Next(-20, 20))))
               X = None }: EngineTestData.RawRow) ]
    let segments = [ EngineTestData.rawSegment span rows ]
    // Several shifted sums of the one column (as ClickBench's Q30), which share its sums.
    let expressions =
        [ for _ in 1 .. rnd.Next(1, 4) ->
            let k = [| 1L; -7L; Int64.MaxValue; 0L |].[rnd.Next 4]
            [| sprintf "l + %d" k; sprintf "%d + l" k; sprintf "l - %d" k |].[rnd.Next 3] ]
    let filter = if rnd.Next 2 = 0 then "" else ""","filter":{"type":"selector","dimension":"d","value":"a"}"""
    let shape = if seed % 2 = 0 then "\"queryType\":\"timeseries\",\"granularity\":\"all\"" else "\"queryType\":\"groupBy\",\"granularity\":\"hour\",\"dimensions\":[\"d\"]"
    let query (virtuals: string) (aggregators: string) =
        sprintf """{%s,"dataSource":"t","intervals":"%s"%s,"virtualColumns":[%s],"aggregations":[%s]}""" shape (Time.formatInterval span) filter virtuals aggregators
    let listed (f: int -> string -> string) = expressions |> List.mapi f |> String.concat ","
    let shifted =
        query (listed (fun i e -> sprintf """{"type":"expression","name":"v%d","expression":"%s","outputType":"LONG"}""" i e))
              (listed (fun i _ -> sprintf """{"type":"longSum","name":"s%d","fieldName":"v%d"}""" i i))
    let perRow = query "" (listed (fun i e -> sprintf """{"type":"longSum","name":"s%d","expression":"%s"}""" i e))
    let a = EngineTestData.runQuery shifted segments
    let b = EngineTestData.runQuery perRow segments
    if a <> b then failwithf "%s\n%s\n%s" shifted a b
    true

/// `timestamp_extract` of a time column by runs equals the interpreter per row, for sorted
/// and unsorted times around the epoch and at the ends of the representable range.
let private extractMatchesRows (seed: int) =
    let rnd = Random(seed)
    let n = 1 + rnd.Next 60
    let spans = [| 1L; 999L; 1_000L; 60_000L; 3_600_000L; 86_400_000L; 40L * 86_400_000L |]
    let start = [| 0L; -86_400_000L * 3L; 1_600_000_000_000L; -1L; 253_402_300_000_000L |].[rnd.Next 5]
    let times = Array.init n (fun _ -> start + int64 (rnd.Next(-3, 4)) * spans.[rnd.Next spans.Length] + int64 (rnd.Next(-2, 3)))
    if rnd.Next 2 = 0 then Array.sortInPlace times
    let unit = [| "MILLISECOND"; "SECOND"; "minute"; "HOUR"; "DAY"; "DOW"; "DOY"; "WEEK"; "MONTH"; "QUARTER"; "YEAR"; "ISOYEAR"; "DECADE"; "EPOCH"; "CENTURY" |].[rnd.Next 15]
    let zone = [| ""; ",'UTC'"; ",'Etc/UTC'"; ",'America/New_York'"; ",'+05:30'" |].[rnd.Next 5]
    let text = sprintf "timestamp_extract(t, '%s'%s)" unit zone
    let e = match Expr.parse text with Ok e -> e | Error problem -> failwithf "%s: %s" text problem
    let column = ColumnData.Longs(times, None)
    let columnOf name = if name = "t" then Some column else None
    let compiled = Expr.compile e
    let rows = SegmentColumns.columnOfValues (Some ColumnType.Long) n (fun r -> compiled (fun _ -> Value.Long times.[r]))
    match VectorExpr.tryColumn columnOf n (Some ColumnType.Long) e with
    | None ->
        let utc = zone = "" || zone.Contains "UTC"
        if utc && unit <> "EPOCH" && unit <> "CENTURY" then failwithf "%s not computed by runs" text
        true
    | Some vector ->
        let cells (c: ColumnData) = [ for r in 0 .. n - 1 -> c.Cell r ]
        if cells vector <> cells rows then failwithf "%s over %A\nvector %A\nrows   %A" text times (cells vector) (cells rows)
        true

[<Tests>]
let tests =
    testList "core/vector-expr" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300 } "column arithmetic equals the row interpreter" vectorMatchesRows
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 500 } "a string CASE by column equals the row interpreter" stringCaseMatchesRows
        testProperty "a long sum of a shifted column equals the row-by-row sum" shiftedSumMatchesRows
        testProperty "timestamp_extract by runs of equal time spans equals the row interpreter" extractMatchesRows
        test "sums of a long column and a constant are computed by column" {
            let columnOf name = if name = "w" then Some(ColumnData.Longs([| 1L; 2L; Int64.MaxValue |], None)) else None
            let e = match Expr.parse "(\"w\" + 2)" with Ok e -> e | Error p -> failwith p
            Expect.equal (VectorExpr.tryColumn columnOf 3 (Some ColumnType.Long) e) (Some(ColumnData.Longs([| 3L; 4L; Int64.MinValue + 1L |], None))) "wraps like Java"
            Expect.isNone (VectorExpr.tryColumn columnOf 3 None (match Expr.parse "concat(w, 'x')" with Ok e -> e | Error p -> failwith p)) "a call"
        }
        test "a CASE between a string column and constants keeps the column's ids" {
            let strings = QuerySlices.stringColumnOfValues [| Value.String "r1"; Value.String ""; Value.Null; Value.String "r2" |]
            let columns = Map.ofList [ "se", ColumnData.Longs([| 0L; 0L; 1L; 0L |], None); "ae", ColumnData.Longs([| 0L; 0L; 0L; 2L |], None); "ref", strings ]
            let e = match Expr.parse "case_searched(((se == 0) && (ae == 0)), ref, 'none')" with Ok e -> e | Error p -> failwith p
            let expected = ColumnData.Strings { Dictionary = [| "r1"; ""; null; "r2"; "none" |]; Ids = [| 0; 1; 4; 4 |]; MultiIds = None; HasBitmapIndex = true }
            Expect.equal (VectorExpr.tryColumn (fun n -> Map.tryFind n columns) 4 (Some ColumnType.String) e) (Some expected) "ids"
        }
        test "string lengths are measured per dictionary value, null rows null" {
            let strings = QuerySlices.stringColumnOfValues [| Value.String "abc"; Value.Null; Value.String ""; Value.String "abc" |]
            let columnOf name = if name = "u" then Some strings else None
            let e = match Expr.parse "strlen(u)" with Ok e -> e | Error p -> failwith p
            Expect.equal (VectorExpr.tryColumn columnOf 4 (Some ColumnType.Long) e) (Some(ColumnData.Longs([| 3L; 0L; 0L; 3L |], Some [| false; true; false; false |]))) "lengths"
        }
    ]

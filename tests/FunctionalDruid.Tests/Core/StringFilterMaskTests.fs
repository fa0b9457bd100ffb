/// String filters on a dictionary column (selector, equality, in, like, regex, search) are
/// decided once per dictionary value without a cell per value; the rows where they are true
/// and where they are false must be those of the filter evaluated row by row, null rows included.
module FunctionalDruid.Tests.Core.StringFilterMaskTests

open System
open Expecto
open FunctionalDruid.Core

let private words = [| "google"; "Google"; ".google."; "news"; ""; "12"; "12.0"; "a_b"; "x%y" |]

let private randomText (rnd: Random) =
    String.Join("", Array.init (rnd.Next 3) (fun _ -> words.[rnd.Next words.Length]))

let private randomFilter (rnd: Random) : Filter.Filter =
    let word () = words.[rnd.Next words.Length]
    match rnd.Next 8 with
    | 0 -> Filter.Selector("s", Some(randomText rnd))
    | 1 -> Filter.Equality("s", "STRING", Value.String(randomText rnd))
    | 2 -> Filter.Equality("s", "LONG", Value.Long 12L)
    | 3 -> Filter.In("s", [ Some(randomText rnd); (if rnd.Next 2 = 0 then None else Some(word ())) ])
    | 4 -> Filter.Like("s", [| "%google%"; "%.google.%"; "G%"; "a\\_b"; "%"; "_2" |].[rnd.Next 6], (if rnd.Next 3 = 0 then Some "\\" else None))
    | 5 -> Filter.Regex("s", [| "^g"; "o{2}"; "\\d+" |].[rnd.Next 3])
    | 6 -> Filter.Search("s", Extraction.Contains(word (), rnd.Next 2 = 0))
    | _ -> Filter.Selector("s", None)

let private masksEqualRowByRow (seed: int) =
    let rnd = Random(seed)
    // A third of the columns hold one or two values (every value decided alike, as a day
    // segment's date), some of them no null.
    let few = if rnd.Next 3 = 0 then Array.init (1 + rnd.Next 2) (fun _ -> randomText rnd) else null
    let nullEvery = if not (isNull few) && rnd.Next 2 = 0 then Int32.MaxValue else 5
    let cells =
        Array.init (rnd.Next 200) (fun _ ->
            if rnd.Next nullEvery = 0 then Value.Null
            elif isNull few then Value.String(randomText rnd)
            else Value.String few.[rnd.Next few.Length])
    let leaf = randomFilter rnd
    EngineTestData.masksAgreeWithRows "s" (QuerySlices.stringColumnOfValues cells) cells (if rnd.Next 2 = 0 then leaf else Filter.Not leaf)

/// AND, OR and NOT of string filters over two columns give the rows of the row-by-row filter.
let private compoundMasksEqualRowByRow (seed: int) =
    let rnd = Random(seed)
    let n = rnd.Next 300
    let cellsOf () = Array.init n (fun _ -> if rnd.Next 6 = 0 then Value.Null else Value.String(randomText rnd))
    let s, t = cellsOf (), cellsOf ()
    let onColumn (column: string) (f: Filter.Filter) =
        match f with
        | Filter.Selector(_, v) -> Filter.Selector(column, v)
        | Filter.Equality(_, kind, v) -> Filter.Equality(column, kind, v)
        | Filter.In(_, vs) -> Filter.In(column, vs)
        | Filter.Like(_, p, e) -> Filter.Like(column, p, e)
        | Filter.Regex(_, p) -> Filter.Regex(column, p)
        | Filter.Search(_, q) -> Filter.Search(column, q)
        | other -> other
    let rec compound (depth: int) =
        match (if depth = 0 then 0 else rnd.Next 4) with
        | 1 -> Filter.And(List.init (2 + rnd.Next 2) (fun _ -> compound (depth - 1)))
        | 2 -> Filter.Or(List.init (2 + rnd.Next 2) (fun _ -> compound (depth - 1)))
        | 3 -> Filter.Not(compound (depth - 1))
        | _ -> onColumn (if rnd.Next 2 = 0 then "s" else "t") (randomFilter rnd)
    let f = Filter.And(List.init (2 + rnd.Next 2) (fun _ -> compound 2))
    let content: SegmentContent =
        { Interval = { Start = 0L; End = 1000L }; Times = Array.zeroCreate n
          Dimensions = [ "s", QuerySlices.stringColumnOfValues s; "t", QuerySlices.stringColumnOfValues t ]; Metrics = []; Metadata = "{}" }
    let masks = FilterBitmaps.masks (SegmentColumns.Columns(content, [])) f
    let isTrue, isFalse = Filter.compile f, Filter.compile (Filter.Not f)
    [ 0 .. n - 1 ] |> List.forall (fun r ->
        let cell (column: string) = if column = "s" then s.[r] elif column = "t" then t.[r] else Value.Null
        masks.Yes.Contains r = isTrue cell && masks.No.Contains r = isFalse cell
        || failwithf "%A, row %d (%A, %A): yes %b no %b" f r s.[r] t.[r] (masks.Yes.Contains r) (masks.No.Contains r))

/// A string column interned row by row equals the one built from all values at once, arrays
/// of other than one value (a multi-value column) included.
let private rowsInternedAsValues (seed: int) =
    let rnd = Random(seed)
    let values =
        Array.init (rnd.Next 40) (fun _ ->
            match rnd.Next 8 with
            | 0 -> Value.Null
            | 1 -> Value.Long(int64 (rnd.Next 3))
            | 2 -> Value.Array [| Value.String(randomText rnd) |]
            | 3 when rnd.Next 4 = 0 -> Value.Array(Array.init (rnd.Next 3) (fun _ -> Value.String(randomText rnd)))
            | _ -> Value.String(randomText rnd))
    QuerySlices.stringColumnOfRows values.Length (fun r -> values.[r]) = QuerySlices.stringColumnOfValues values

[<Tests>]
let tests =
    testList "core/string-filter-masks" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300 } "a string column interned row by row equals the one from all values" rowsInternedAsValues
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300 } "string filter masks equal the row-by-row filter" masksEqualRowByRow
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300 } "AND, OR and NOT of string filters over two columns equal the row-by-row filter" compoundMasksEqualRowByRow
        test "the string filters are decided without a cell per value" {
            for f in [ Filter.Selector("s", Some "a"); Filter.Equality("s", "STRING", Value.String "a"); Filter.In("s", [ Some "a" ])
                       Filter.Like("s", "%a%", None); Filter.Regex("s", "a"); Filter.Search("s", Extraction.Contains("a", true)) ] do
                Expect.isSome (Filter.stringTruth f) (sprintf "%A" f)
            Expect.isNone (Filter.stringTruth (Filter.Selector("s", None))) "is null needs the null cell"
        }
    ]

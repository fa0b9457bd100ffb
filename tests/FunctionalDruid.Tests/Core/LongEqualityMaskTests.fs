/// Long equality filters (`CounterID = 62`, `AdvEngineID <> 0`) become row masks a word at a
/// time; the rows where they are true and where they are false must be those of the filter
/// evaluated row by row, null rows included.
module FunctionalDruid.Tests.Core.LongEqualityMaskTests

open System
open Expecto
open FunctionalDruid.Core

let private masksEqualRowByRow (seed: int) =
    let rnd = Random(seed)
    let n = rnd.Next 300
    let values = Array.init n (fun _ -> int64 (rnd.Next(-3, 4)))
    let nulls = if rnd.Next 2 = 0 then None else Some(Array.init n (fun _ -> rnd.Next 4 = 0))
    let content: SegmentContent =
        { Interval = { Start = 0L; End = 1000L }; Times = Array.zeroCreate n; Dimensions = []
          Metrics = [ "l", ColumnData.Longs(Array.mapi (fun r v -> if nulls.IsSome && nulls.Value.[r] then 0L else v) values, nulls) ]
          Metadata = "{}" }
    let equality = Filter.Equality("l", "LONG", Value.Long(int64 (rnd.Next(-4, 5))))
    let f = if rnd.Next 2 = 0 then equality else Filter.Not equality
    let masks = FilterBitmaps.masks (SegmentColumns.Columns(content, [])) f
    let cell (r: int) (name: string) = if name = "l" && not (nulls.IsSome && nulls.Value.[r]) then Value.Long values.[r] else Value.Null
    let isTrue, isFalse = Filter.compile f, Filter.compile (Filter.Not f)
    [ 0 .. n - 1 ] |> List.forall (fun r ->
        masks.Yes.Contains r = isTrue (cell r) && masks.No.Contains r = isFalse (cell r)
        || failwithf "row %d (%A): yes %b no %b" r (cell r "l") (masks.Yes.Contains r) (masks.No.Contains r))

[<Tests>]
let tests =
    testList "core/long-equality-masks" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 200 } "long equality masks equal the row-by-row filter" masksEqualRowByRow
    ]

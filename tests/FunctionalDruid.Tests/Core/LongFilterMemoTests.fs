/// Filters on long columns decided once per distinct value (row masks and scan matchers)
/// keep exactly the rows the row-by-row filter keeps.
module FunctionalDruid.Tests.Core.LongFilterMemoTests

open System
open Expecto
open FunctionalDruid.Core

let private filterTexts (rnd: Random) =
    let v () = rnd.Next(-3, 4)
    [| sprintf """{"type":"selector","dimension":"l","value":"%d"}""" (v ())
       sprintf """{"type":"equals","column":"l","matchValueType":"LONG","matchValue":%d}""" (v ())
       sprintf """{"type":"in","dimension":"l","values":["%d","%d",null]}""" (v ()) (v ())
       sprintf """{"type":"bound","dimension":"l","lower":"%d","upper":"%d","ordering":"numeric"}""" (v ()) (v ())
       sprintf """{"type":"range","column":"l","matchValueType":"LONG","lower":%d}""" (v ())
       """{"type":"null","column":"l"}"""
       """{"type":"not","field":{"type":"null","column":"l"}}"""
       sprintf """{"type":"not","field":{"type":"equals","column":"l","matchValueType":"LONG","matchValue":%d}}""" (v ())
       sprintf """{"type":"not","field":{"type":"selector","dimension":"l","value":"%d"}}""" (v ()) |]

let private memoMatchesRows (seed: int) =
    let rnd = Random(seed)
    let n = rnd.Next 200
    let values = Array.init n (fun _ -> int64 (rnd.Next(-3, 4)))
    let nulls = if rnd.Next 2 = 0 then None else Some(Array.init n (fun _ -> rnd.Next 5 = 0))
    let content: SegmentContent =
        { Interval = Time.eternity; Times = Array.zeroCreate n; Dimensions = []
          Metrics = [ "l", ColumnData.Longs(values, nulls) ]; Metadata = "{}" }
    let texts = filterTexts rnd
    let text = texts.[rnd.Next texts.Length]
    let filter = match Json.run text Filter.parse with Ok f -> f | Error e -> failwithf "%A" e
    let cell r = if (match nulls with Some m -> m.[r] | None -> false) then Value.Null else Value.Long values.[r]
    let compiled = Filter.compile filter
    let expected = [ for r in 0 .. n - 1 do if compiled (fun name -> if name = "l" then cell r else Value.Null) then yield r ]
    let masked = FilterBitmaps.matching (SegmentColumns.Columns(content, [])) filter
    let fromMask = [ for r in 0 .. n - 1 do if masked.Contains r then yield r ]
    let matcher = QuerySlices.rowMatcher (Some filter) (QuerySlices.SliceColumns(content, []))
    let fromMatcher = [ for r in 0 .. n - 1 do if matcher r then yield r ]
    if fromMask <> expected || fromMatcher <> expected then failwithf "%s\nexpected %A\nmask %A\nmatcher %A" text expected fromMask fromMatcher
    true

[<Tests>]
let tests =
    testList "core/long-filter-memo" [
        testProperty "long column filters decided per value keep the rows the row filter keeps" memoMatchesRows
    ]

/// Random data sets split into 1..3 segments (raw or rolled up) and random timeseries, topN
/// and groupBy queries: the engine's output equals a naive oracle over the raw rows.
module FunctionalDruid.Tests.Core.EnginePropertyTests

open System
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Tests.Core.EngineTestData

let private config = { FsCheckConfig.defaultConfig with maxTest = 150 }
let private span = twoDays

type private Case =
    { Rows: RawRow list
      Rollup: bool
      Segments: SegmentContent list
      Interval: Time.Interval
      IntervalText: string
      GranularityJson: string
      Granularity: Time.Granularity
      FilterJson: string option
      Filter: Filter.Filter option }

let private genRows (rnd: Random) =
    [ for _ in 1 .. rnd.Next 40 ->
        { Time = dayStart + int64 (rnd.Next 48) * hour + int64 (pick rnd [| 0; 15; 30; 45 |]) * 60_000L
          D = pick rnd [| "a"; "b"; "c"; null; "ä" |]
          Tags = [| "x"; "y"; "z" |] |> Array.filter (fun _ -> rnd.Next 3 = 0)
          L = (if rnd.Next 5 = 0 then None else Some(int64 (rnd.Next(-5, 20))))
          X = (if rnd.Next 5 = 0 then None else Some(float (rnd.Next(-8, 40)) / 4.0)) } ]

let private genFilter (rnd: Random) (rollup: bool) : string option =
    let value () = pick rnd [| "\"a\""; "\"b\""; "\"c\""; "null"; "\"ä\"" |]
    let tag () = pick rnd [| "\"x\""; "\"y\""; "\"z\""; "null" |]
    let choices =
        [| fun () -> sprintf """{"type":"selector","dimension":"d","value":%s}""" (value ())
           fun () -> sprintf """{"type":"in","dimension":"d","values":[%s,%s]}""" (value ()) (value ())
           fun () -> sprintf """{"type":"not","field":{"type":"selector","dimension":"d","value":%s}}""" (value ())
           fun () -> sprintf """{"type":"selector","dimension":"tags","value":%s}""" (tag ())
           fun () -> sprintf """{"type":"or","fields":[{"type":"selector","dimension":"d","value":%s},{"type":"selector","dimension":"tags","value":%s}]}""" (value ()) (tag ())
           fun () -> """{"type":"bound","dimension":"d","lower":"b"}"""
           fun () -> """{"type":"search","dimension":"d","query":{"type":"insensitive_contains","value":"A"}}"""
           fun () -> sprintf """{"type":"and","fields":[{"type":"not","field":{"type":"selector","dimension":"tags","value":%s}},{"type":"regex","dimension":"d","pattern":"^[ab]"}]}""" (tag ())
           fun () -> """{"type":"selector","dimension":"d","value":"A","extractionFn":{"type":"upper"}}""" |]
    let rawOnly =
        [| fun () -> sprintf """{"type":"bound","dimension":"l","lower":"%d","ordering":"numeric"}""" (rnd.Next(-5, 20))
           fun () -> """{"type":"expression","expression":"l > x"}""" |]
    let all = if rollup then choices else Array.append choices rawOnly
    if rnd.Next 4 = 0 then None else Some((pick rnd all) ())

let private granularities =
    [| "\"all\""; "\"hour\""; "\"six_hour\""; "\"day\""; """{"type":"period","period":"PT6H","timeZone":"Asia/Kolkata"}"""; """{"type":"duration","duration":5400000}""" |]

let private genCase (seed: int) : Case =
    let rnd = Random(seed)
    let rows = genRows rnd
    let rollup = rnd.Next 2 = 0
    let k = 1 + rnd.Next 3
    let parts = Array.init k (fun _ -> ResizeArray<RawRow>())
    for r in rows do parts.[rnd.Next k].Add r
    let segments = [ for p in parts -> (if rollup then rolledSegment else rawSegment) span (List.ofSeq p) ]
    let interval =
        if rnd.Next 2 = 0 then span
        else
            let a, b = rnd.Next 48, rnd.Next 49
            { Start = dayStart + int64 (min a b) * hour; End = dayStart + int64 (max (max a b) (min a b + 1)) * hour }
    let granularityJson = pick rnd granularities
    let filterJson = genFilter rnd rollup
    let parseWith parser text = match Json.run text parser with Ok v -> v | Error e -> failwithf "%A" e
    { Rows = rows; Rollup = rollup; Segments = segments; Interval = interval
      IntervalText = Time.formatInterval interval
      GranularityJson = granularityJson
      Granularity = parseWith IngestSpec.parseGranularity granularityJson
      FilterJson = filterJson
      Filter = filterJson |> Option.map (parseWith Filter.parse) }

// ---- the oracle ------------------------------------------------------------------------------

let private aggregationsJson (c: Case) =
    if c.Rollup then
        """[{"type":"longSum","name":"c","fieldName":"count"},{"type":"longSum","name":"ls","fieldName":"lsum"},{"type":"longMin","name":"lmin","fieldName":"lmin"},
            {"type":"longMax","name":"lmax","fieldName":"lmax"},{"type":"doubleSum","name":"xs","fieldName":"xsum"},
            {"type":"filtered","filter":{"type":"selector","dimension":"d","value":"a"},"aggregator":{"type":"longSum","name":"aRows","fieldName":"count"}}]"""
    else
        """[{"type":"count","name":"c"},{"type":"longSum","name":"ls","fieldName":"l"},{"type":"longMin","name":"lmin","fieldName":"l"},
            {"type":"longMax","name":"lmax","fieldName":"l"},{"type":"doubleSum","name":"xs","fieldName":"x"},
            {"type":"filtered","filter":{"type":"selector","dimension":"d","value":"a"},"aggregator":{"type":"count","name":"aRows"}}]"""

let private optionOut (f: 'a -> Json.Out) (v: 'a option) = match v with Some x -> f x | None -> Json.Out.Null

/// The aggregator values of a set of raw rows, in the queries' order.
let private aggregateWith (rollup: bool) (rows: RawRow list) : (string * Json.Out) list =
    let ls = rows |> List.choose (fun r -> r.L)
    let xs = rows |> List.choose (fun r -> r.X)
    [ "c", (if rollup && rows.IsEmpty then Json.Out.Null else Json.Out.Long(int64 rows.Length))
      "ls", (if ls.IsEmpty then Json.Out.Null else Json.Out.Long(List.sum ls))
      "lmin", (if ls.IsEmpty then Json.Out.Null else Json.Out.Long(List.min ls))
      "lmax", (if ls.IsEmpty then Json.Out.Null else Json.Out.Long(List.max ls))
      "xs", (if xs.IsEmpty then Json.Out.Null else Json.Out.Double(List.sum xs))
      // Rolled up, the filtered aggregator is a longSum of counts: null when no row matched.
      "aRows",
      (match rows |> List.filter (fun r -> r.D = "a") |> List.length with
       | 0 when rollup -> Json.Out.Null
       | n -> Json.Out.Long(int64 n)) ]

let private aggregateOf (c: Case) rows = aggregateWith c.Rollup rows
let private inInterval (c: Case) = c.Rows |> List.filter (fun r -> c.Interval.Contains r.Time)
let private matching (c: Case) =
    inInterval c |> List.filter (fun r -> match c.Filter with Some f -> Filter.matchesRow (cellOf r) f | None -> true)
let private bucketOf (c: Case) (t: int64) = Time.bucketStart c.Granularity t
let private stampOf (c: Case) (b: int64) = Json.Out.String(Time.formatInZone (Time.granularityZone c.Granularity) b)
let private firstTime (c: Case) = inInterval c |> List.map (fun r -> r.Time) |> List.min

let private valueOut (s: string) = if isNull s then Json.Out.Null else Json.Out.String s
let private explode (dim: string) (r: RawRow) : string list =
    match dim with
    | "d" -> [ r.D ]
    | _ -> if r.Tags.Length = 0 then [ null ] else List.ofArray r.Tags

/// Nulls first, then UTF-8 order.
let private compareStrings (a: string) (b: string) = Ordering.compareWith Ordering.StringOrdering.Lexicographic a b

let private query (c: Case) (kind: string) (extra: string) =
    sprintf """{"queryType":"%s","dataSource":"t","intervals":"%s","granularity":%s,%s"aggregations":%s%s}"""
        kind c.IntervalText c.GranularityJson (match c.FilterJson with Some f -> sprintf "\"filter\":%s," f | None -> "") (aggregationsJson c) extra

let private check (engine: string) (oracle: Json.Out) (c: Case) (q: string) =
    let expected = Json.Out.toText false oracle
    if engine = expected then true
    else failwithf "query %s\nrollup %b, %d segments\nengine %s\noracle %s" q c.Rollup c.Segments.Length engine expected

let private timeseriesHolds (seed: int) =
    let c = genCase seed
    let descending = seed % 2 = 0
    let skipEmpty = seed % 3 <> 0
    let q = query c "timeseries" (sprintf ""","descending":%b,"context":{"skipEmptyBuckets":%b}""" descending skipEmpty)
    let oracle =
        if c.Granularity = Time.Granularity.All then
            if (inInterval c).IsEmpty then []
            else [ Json.Out.Object [ "timestamp", Json.Out.String(Time.formatIso (firstTime c)); "result", Json.Out.Object(aggregateOf c (matching c)) ] ]
        else
            let filled =
                // Empty buckets between each segment's first and last row, inside the interval.
                if skipEmpty then Set.empty
                else
                    set [ for seg in c.Segments do
                            if seg.Times.Length > 0 then
                                let s = max c.Interval.Start seg.Times.[0]
                                let e = min c.Interval.End (Time.nextBucket c.Granularity (bucketOf c seg.Times.[seg.Times.Length - 1]))
                                if s < e then
                                    for b in Time.bucketsOf c.Granularity { Start = s; End = e } -> b.Start ]
            let groups = matching c |> List.groupBy (fun r -> bucketOf c r.Time) |> Map.ofList
            Set.union filled (set groups.Keys) |> Set.toList
            |> List.map (fun b -> Json.Out.Object [ "timestamp", stampOf c b; "result", Json.Out.Object(aggregateOf c (defaultArg (groups.TryFind b) [])) ])
    let oracle = if descending then List.rev oracle else oracle
    check (runQuery q c.Segments) (Json.Out.Array oracle) c q

let private topNHolds (seed: int) =
    let c = genCase seed
    let rnd = Random(seed + 1)
    let dim = pick rnd [| "d"; "tags" |]
    let metric, inverted = pick rnd [| "c", false; "ls", false; "ls", true; "xs", false |]
    let threshold = 1 + rnd.Next 4
    let metricJson = if inverted then sprintf """{"type":"inverted","metric":"%s"}""" metric else sprintf "\"%s\"" metric
    let q = query c "topN" (sprintf ""","dimension":"%s","metric":%s,"threshold":%d""" dim metricJson threshold)
    let numberOf (o: Json.Out) = match o with Json.Out.Long l -> Some(float l) | Json.Out.Double d -> Some d | _ -> None
    let oracle =
        [ for (b, rows) in matching c |> List.collect (fun r -> explode dim r |> List.map (fun v -> (bucketOf c r.Time, v), r)) |> List.groupBy (fst >> fst) |> List.sortBy fst do
            let entries =
                rows |> List.groupBy (fst >> snd) |> List.map (fun (v, rs) -> v, aggregateOf c (List.map snd rs))
                |> List.sortWith (fun (va, a) (vb, b) ->
                    let ma = a |> List.find (fun (n, _) -> n = metric) |> snd |> numberOf
                    let mb = b |> List.find (fun (n, _) -> n = metric) |> snd |> numberOf
                    // Largest first with nulls last (inverted: smallest first, nulls first); ties by value.
                    let byMetric = compare mb ma
                    let byMetric = if inverted then -byMetric else byMetric
                    if byMetric <> 0 then byMetric
                    elif inverted then compareStrings vb va
                    else compareStrings va vb)
                |> List.truncate threshold
            let stamp = if c.Granularity = Time.Granularity.All then Json.Out.String(Time.formatIso (firstTime c)) else stampOf c b
            yield Json.Out.Object [ "timestamp", stamp; "result", Json.Out.Array [ for (v, aggs) in entries -> Json.Out.Object((dim, valueOut v) :: aggs) ] ] ]
    check (runQuery q c.Segments) (Json.Out.Array oracle) c q

let private groupByHolds (seed: int) =
    let c = genCase seed
    let rnd = Random(seed + 2)
    let dims = pick rnd [| [ "d" ]; [ "tags" ]; [ "d"; "tags" ]; [ "tags"; "d" ] |]
    let q = query c "groupBy" (sprintf ""","dimensions":[%s]""" (String.Join(",", dims |> List.map (sprintf "\"%s\""))))
    let keysOf (r: RawRow) =
        dims |> List.fold (fun acc dim -> [ for prefix in acc do for v in explode dim r -> prefix @ [ v ] ]) [ [] ]
    let compareKeys (a: string list) (b: string list) = List.fold2 (fun acc x y -> if acc <> 0 then acc else compareStrings x y) 0 a b
    let oracle =
        matching c
        |> List.collect (fun r -> keysOf r |> List.map (fun k -> (bucketOf c r.Time, k), r))
        |> List.groupBy fst
        |> List.sortWith (fun ((ba, ka), _) ((bb, kb), _) -> let t = compare ba bb in if t <> 0 then t else compareKeys ka kb)
        |> List.map (fun ((b, k), rows) ->
            let stamp = if c.Granularity = Time.Granularity.All then Json.Out.String(Time.formatIso c.Interval.Start) else stampOf c b
            Json.Out.Object
                [ "version", Json.Out.String "v1"; "timestamp", stamp
                  "event", Json.Out.Object(List.map2 (fun d v -> d, valueOut v) dims k @ aggregateOf c (List.map snd rows)) ])
    check (runQuery q c.Segments) (Json.Out.Array oracle) c q

[<Tests>]
let tests =
    testList "EngineProperties" [
        testPropertyWithConfig config "timeseries equals the oracle over raw rows" timeseriesHolds
        testPropertyWithConfig config "topN equals the oracle over raw rows" topNHolds
        testPropertyWithConfig config "groupBy equals the oracle over raw rows" groupByHolds
    ]

/// Kernels against plain loops over random spans, masks and ranges.
[<Tests>]
let kernelTests =
    testList "Kernels" [
        testPropertyWithConfig config "masked and plain kernels equal plain loops" <| fun (seed: int) ->
            let rnd = Random(seed)
            let n = rnd.Next 700
            let longs = Array.init n (fun _ -> rnd.NextInt64(-1_000_000L, 1_000_000L))
            let ints = Array.init n (fun _ -> rnd.Next(-1000, 1000))
            let doubles = Array.init n (fun _ -> float (rnd.Next(-400, 400)) / 4.0)
            let mask = Array.init ((n + 63) / 64) (fun _ -> match rnd.Next 4 with 0 -> 0UL | 1 -> UInt64.MaxValue | _ -> uint64 (rnd.NextInt64()))
            let lo = if n = 0 then 0 else rnd.Next n
            let hi = lo + rnd.Next(n - lo + 1)
            let selected = [ for r in lo .. hi - 1 do if (mask.[r / 64] >>> (r % 64)) &&& 1UL = 1UL then yield r ]
            let mutable found = false
            let minL = Kernels.minInt64Masked (ReadOnlySpan<int64> longs) mask lo hi &found
            let minOk = if selected.IsEmpty then not found else found && minL = (selected |> List.map (fun r -> longs.[r]) |> List.min)
            let maxD = Kernels.maxDoubleMasked (ReadOnlySpan<float> doubles) mask lo hi &found
            let maxOk = if selected.IsEmpty then not found else found && maxD = (selected |> List.map (fun r -> doubles.[r]) |> List.max)
            Kernels.sumInt64Masked (ReadOnlySpan<int64> longs) mask lo hi = (selected |> List.sumBy (fun r -> longs.[r]))
            && Kernels.sumDoubleMasked (ReadOnlySpan<float> doubles) mask lo hi = (selected |> List.sumBy (fun r -> doubles.[r]))
            && Kernels.sumInt32Masked (ReadOnlySpan<int> ints) mask lo hi = (selected |> List.sumBy (fun r -> int64 ints.[r]))
            && Kernels.countMasked mask lo hi = selected.Length
            && Kernels.sumInt64 (ReadOnlySpan<int64> longs) = Array.sum longs
            && Kernels.sumInt32Wide (ReadOnlySpan<int> ints) = (ints |> Array.sumBy int64)
            && minOk && maxOk
    ]

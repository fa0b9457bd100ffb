/// Segments built from plain rows for engine tests: one string dimension `d`, a multi-value
/// dimension `tags`, a long metric `l` and a double metric `x` (both nullable), stored raw or
/// rolled up into count/lsum/lmin/lmax/xsum.
module FunctionalDruid.Tests.Core.EngineTestData

open System
open System.Collections.Generic
open System.Threading
open System.Threading.Tasks
open FunctionalDruid.Core

type RawRow = { Time: int64; D: string; Tags: string[]; L: int64 option; X: float option }

let iso (s: string) = (Time.tryParseInstant s).Value

/// The day the engine tests put their rows on, and an hour.
let dayStart = iso "2020-01-01"
let hour = 3_600_000L
/// The two days property tests spread their rows over.
let twoDays: Time.Interval = { Start = dayStart; End = dayStart + 48L * hour }
/// One of `xs`, at random.
let pick (rnd: Random) (xs: 'a[]) = xs.[rnd.Next xs.Length]

let private strings (values: string[]) : ColumnData =
    let interner = StringInterner()
    let rowIds = values |> Array.map interner.Id
    ColumnData.Strings { Dictionary = interner.Values; Ids = rowIds; MultiIds = None; HasBitmapIndex = true }

let private multiStrings (values: string[][]) : ColumnData =
    let ids = Dictionary<string, int>(StringComparer.Ordinal)
    let dict = ResizeArray<string>()
    let id (s: string) =
        match ids.TryGetValue s with
        | true, i -> i
        | _ ->
            ids.[s] <- dict.Count
            dict.Add s
            dict.Count - 1
    let multi = values |> Array.map (Array.map id)
    ColumnData.Strings { Dictionary = dict.ToArray(); Ids = [||]; MultiIds = Some multi; HasBitmapIndex = true }

let private longs (values: int64 option[]) =
    ColumnData.Longs(values |> Array.map (Option.defaultValue 0L), (if Array.contains None values then Some(values |> Array.map Option.isNone) else None))

let private doubles (values: float option[]) =
    ColumnData.Doubles(values |> Array.map (Option.defaultValue 0.0), (if Array.contains None values then Some(values |> Array.map Option.isNone) else None))

/// A segment holding the rows as they are.
let rawSegment (interval: Time.Interval) (rows: RawRow list) : SegmentContent =
    let rows = rows |> List.sortBy (fun r -> r.Time) |> Array.ofList
    { Interval = interval
      Times = rows |> Array.map (fun r -> r.Time)
      Dimensions = [ "d", strings (rows |> Array.map (fun r -> r.D)); "tags", multiStrings (rows |> Array.map (fun r -> r.Tags)) ]
      Metrics = [ "l", longs (rows |> Array.map (fun r -> r.L)); "x", doubles (rows |> Array.map (fun r -> r.X)) ]
      Metadata = "{}" }

/// `rows` dealt at random into 1 to `most` raw segments of `interval`, as the engine's slices.
let randomSlices (rnd: Random) (most: int) (interval: Time.Interval) (rows: RawRow list) : Engine.SegmentSlice list =
    let k = 1 + rnd.Next most
    let parts = Array.init k (fun _ -> ResizeArray<RawRow>())
    for r in rows do parts.[rnd.Next k].Add r
    [ for i, p in Seq.indexed parts ->
        let c = rawSegment interval (List.ofSeq p)
        ({ Id = sprintf "seg%d" i; Content = c; Serves = c.Interval }: Engine.SegmentSlice) ]

let private optReduce (f: 'a -> 'a -> 'a) (xs: 'a option list) = match List.choose id xs with [] -> None | ys -> Some(List.reduce f ys)

/// A segment with rows of equal time and dimensions rolled up.
let rolledSegment (interval: Time.Interval) (rows: RawRow list) : SegmentContent =
    let groups =
        rows
        |> List.groupBy (fun r -> r.Time, r.D, String.Join("\u0001", r.Tags), r.Tags.Length)
        |> List.map (fun ((t, d, _, _), rs) -> t, d, rs.Head.Tags, rs)
        |> List.sortBy (fun (t, _, _, _) -> t)
        |> Array.ofList
    { Interval = interval
      Times = groups |> Array.map (fun (t, _, _, _) -> t)
      Dimensions = [ "d", strings (groups |> Array.map (fun (_, d, _, _) -> d)); "tags", multiStrings (groups |> Array.map (fun (_, _, tags, _) -> tags)) ]
      Metrics =
        [ "count", longs (groups |> Array.map (fun (_, _, _, rs) -> Some(int64 rs.Length)))
          "lsum", longs (groups |> Array.map (fun (_, _, _, rs) -> optReduce (+) (rs |> List.map (fun r -> r.L))))
          "lmin", longs (groups |> Array.map (fun (_, _, _, rs) -> optReduce min (rs |> List.map (fun r -> r.L))))
          "lmax", longs (groups |> Array.map (fun (_, _, _, rs) -> optReduce max (rs |> List.map (fun r -> r.L))))
          "xsum", doubles (groups |> Array.map (fun (_, _, _, rs) -> optReduce (+) (rs |> List.map (fun r -> r.X)))) ]
      Metadata = "{}" }

/// A row as filters and expressions read it.
let cellOf (r: RawRow) (column: string) : Value =
    match column with
    | "__time" -> Value.Long r.Time
    | "d" -> if isNull r.D then Value.Null else Value.String r.D
    | "tags" ->
        match r.Tags with
        | [||] -> Value.Null
        | [| one |] -> Value.String one
        | many -> Value.Array(many |> Array.map Value.String)
    | "l" -> match r.L with Some l -> Value.Long l | None -> Value.Null
    | "x" -> match r.X with Some x -> Value.Double x | None -> Value.Null
    | _ -> Value.Null

let runQuery (queryJson: string) (segments: SegmentContent list) : string =
    let q =
        match QueryParseSurface.parseText queryJson with
        | Ok q -> q
        | Error(path, problem) -> failwithf "%s: %s" path problem
    let slices = segments |> List.mapi (fun i c -> ({ Id = sprintf "seg%d" i; Content = c; Serves = c.Interval }: Engine.SegmentSlice))
    Json.Out.toText false (Engine.run q slices)

/// Runs items on the thread pool in a shuffled order, each after a short random pause.
let shuffledRunner (seed: int) =
    { new QuerySlices.ISegmentRunner with
        member _.Map(count, work) =
            let rnd = Random(seed)
            let order = Array.init count id |> Array.sortBy (fun _ -> rnd.Next())
            let pauses = Array.init count (fun _ -> rnd.Next 3)
            let results = Array.zeroCreate count
            Parallel.ForEach(order, ParallelOptions(MaxDegreeOfParallelism = 3), fun i ->
                Thread.Sleep pauses.[i]
                results.[i] <- work i) |> ignore
            results }

/// Whether the row masks of `f` over one column (`cells`, stored as `column`) hold exactly the
/// rows where `f` and `NOT f`, evaluated row by row, are true; fails naming the first row that
/// differs.
let masksAgreeWithRows (name: string) (column: ColumnData) (cells: Value[]) (f: Filter.Filter) : bool =
    let n = cells.Length
    let content: SegmentContent =
        { Interval = { Start = 0L; End = 1000L }; Times = Array.zeroCreate n; Dimensions = [ name, column ]; Metrics = []; Metadata = "{}" }
    let masks = FilterBitmaps.masks (SegmentColumns.Columns(content, [])) f
    let cell (r: int) (column: string) = if column = name then cells.[r] else Value.Null
    let isTrue, isFalse = Filter.compile f, Filter.compile (Filter.Not f)
    [ 0 .. n - 1 ] |> List.forall (fun r ->
        masks.Yes.Contains r = isTrue (cell r) && masks.No.Contains r = isFalse (cell r)
        || failwithf "%A, row %d (%A): yes %b no %b" f r cells.[r] (masks.Yes.Contains r) (masks.No.Contains r))

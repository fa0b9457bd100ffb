/// The scan query: matching rows of each segment as batches keyed `segmentId`, `columns`,
/// `events` (Druid's key order, which streaming clients rely on), with offset, limit and
/// time order. Each segment's matching rows are found independently (in parallel when the
/// host's runner is), then merged.
module FunctionalDruid.Core.ScanEngine

open System
open System.Collections.Generic
open FunctionalDruid.Core
open FunctionalDruid.Core.Query
open FunctionalDruid.Core.QuerySlices

/// The most rows one segment can contribute: offset + limit. Segment rows are sorted by
/// time, so the first (ascending, unordered) or last (descending) matches are the only
/// candidates.
let private perSliceCap (sq: ScanQuery) : int =
    match sq.Limit with
    | Some l -> int (min (l + sq.Offset) (int64 Int32.MaxValue))
    | None -> Int32.MaxValue

/// A long column of the slice that an equality filter compares with a long (a point lookup
/// such as `WHERE UserID = 4350...`): its values, null flags and the long.
let private longEquality (filter: Filter.Filter option) (columns: SliceColumns) =
    match filter with
    | Some(Filter.Equality(column, _, Value.Long k)) ->
        match columns.Stored column with
        | Some(ColumnData.Longs(values, nulls)) -> Some(values, nulls, k)
        | _ -> None
    | _ -> None

/// The matching rows of one slice inside the query intervals, in row order, at most `cap`.
let matchSlice (ctx: RunContext) (q: NativeQuery) (cap: int) (descending: bool) (slice: SegmentSlice) : int[] =
    let columns = SliceColumns(slice.Content, q.VirtualColumns)
    let found = List<int>()
    let ranges = rowRanges slice (condense q.Intervals)
    let cancellation = CancellationCheck ctx
    match longEquality q.Filter columns with
    | Some(values, nulls, k) when not descending ->
        // A vectorized search for the long instead of a test per row.
        ctx.Cancel.ThrowIfCancellationRequested()
        for (_, _, lo, hi) in ranges do
            let mutable start = lo
            while start < hi && found.Count < cap do
                let i = ReadOnlySpan<int64>(values, start, hi - start).IndexOf k
                if i < 0 then start <- hi
                else
                    let row = start + i
                    if nulls.IsNone || not nulls.Value.[row] then found.Add row
                    start <- row + 1
        found.ToArray()
    | _ ->
    let matches = rowMatcher q.Filter columns
    let visit (row: int) =
        cancellation.Tick()
        if matches row then found.Add row
    if descending then
        for (_, _, lo, hi) in List.rev ranges do
            let mutable row = hi - 1
            while row >= lo && found.Count < cap do
                visit row
                row <- row - 1
        found.Reverse()
    else
        for (_, _, lo, hi) in ranges do
            let mutable row = lo
            while row < hi && found.Count < cap do
                visit row
                row <- row + 1
    found.ToArray()

/// The output columns of a slice: the requested ones, or `__time`, dimensions, metrics.
let private columnsFor (sq: ScanQuery) (slice: SegmentSlice) =
    if not sq.Columns.IsEmpty then sq.Columns
    else "__time" :: (slice.Content.Dimensions |> List.map fst) @ (slice.Content.Metrics |> List.map fst)

/// Orders, pages and prints the per-slice matches (`matched.[i]` belongs to `slices.[i]`).
let assemble (q: NativeQuery) (sq: ScanQuery) (slices: SegmentSlice[]) (matched: int[][]) : Json.Out =
    let picked =
        [| for si in 0 .. slices.Length - 1 do
             for row in matched.[si] -> struct (si, row) |]
    let timeOf (struct (si: int, row: int)) = slices.[si].Content.Times.[row]
    let ordered =
        match sq.Order with
        | ScanOrder.NoOrder -> picked
        | ScanOrder.Ascending | ScanOrder.Descending ->
            let sorted = picked |> Array.sortBy (fun (struct (si, row) as p) -> struct (timeOf p, si, row))
            if sq.Order = ScanOrder.Descending then Array.rev sorted else sorted
    let skipped = if sq.Offset >= int64 ordered.Length then [||] else Array.skip (int sq.Offset) ordered
    let limited = match sq.Limit with Some l when l < int64 skipped.Length -> Array.truncate (int l) skipped | _ -> skipped
    let columnsOf = Dictionary<int, SliceColumns>()
    let columnsAt (si: int) =
        match columnsOf.TryGetValue si with
        | true, c -> c
        | _ ->
            let c = SliceColumns(slices.[si].Content, q.VirtualColumns)
            columnsOf.[si] <- c
            c
    // Consecutive rows of one segment form a batch of at most batchSize events.
    let batches = List<Json.Out>()
    let mutable i = 0
    while i < limited.Length do
        let struct (si, _) = limited.[i]
        let mutable j = i
        while j < limited.Length && j - i < sq.BatchSize && (let struct (sj, _) = limited.[j] in sj = si) do
            j <- j + 1
        let slice = slices.[si]
        let cols = columnsFor sq slice
        let columns = columnsAt si
        let events =
            [ for k in i .. j - 1 ->
                let struct (_, row) = limited.[k]
                if sq.Compacted then Json.Out.Array [ for c in cols -> toOut (columns.Cell(c, row)) ]
                else Json.Out.Object [ for c in cols -> c, toOut (columns.Cell(c, row)) ] ]
        batches.Add(
            Json.Out.Object
                [ "segmentId", Json.Out.String slice.Id
                  "columns", Json.Out.Array(cols |> List.map Json.Out.String)
                  "events", Json.Out.Array events ])
        i <- j
    Json.Out.Array(List.ofSeq batches)

/// Runs a scan over the slices, one segment per unit of the runner's work.
let run (ctx: RunContext) (q: NativeQuery) (sq: ScanQuery) (slices: SegmentSlice list) : Json.Out =
    let slices = Array.ofList slices
    let cap = perSliceCap sq
    let descending = sq.Order = ScanOrder.Descending
    let matched =
        if sq.Order = ScanOrder.NoOrder && sq.Limit.IsSome then
            // Unordered with a limit: segments in order until enough rows are found, so a
            // small limit reads only the first segments.
            let result = Array.create slices.Length [||]
            let mutable remaining = cap
            let mutable si = 0
            while si < slices.Length && remaining > 0 do
                let rows = matchSlice ctx q remaining false slices.[si]
                result.[si] <- rows
                remaining <- remaining - rows.Length
                si <- si + 1
            result
        else ctx.Runner.Map(slices.Length, fun si -> matchSlice ctx q cap descending slices.[si])
    assemble q sq slices matched

/// Runs native queries over the visible parts of segments and prints results in Druid's
/// shapes: the dispatcher over the per-kind engines. Timeseries, topN and groupBy aggregate
/// each segment on its own (in parallel on the run's runner) and merge the partials.
module FunctionalDruid.Core.Engine

open System.Threading
open FunctionalDruid.Core
open FunctionalDruid.Core.Query

/// One segment as the engine sees it (declared with the shared slice helpers).
type SegmentSlice = QuerySlices.SegmentSlice

let condense = QuerySlices.condense

/// The merged groups of a timeseries, topN or groupBy: one partial per segment, run by the
/// context's runner. Partials merge in segment order (so sums of doubles come out the same
/// every time), each as soon as those before it are merged: a worker that finds the merge free
/// takes it over, so merging overlaps the other workers' segments instead of following them.
let private mergedGroups (ctx: QuerySlices.RunContext) (plan: GroupingEngine.Plan) (slices: SegmentSlice list) =
    let segments = Array.ofList slices
    let merger = GroupingEngine.Merger(plan)
    let finished = Array.zeroCreate<GroupingEngine.Partial> segments.Length
    let mergeGate = obj ()
    let mutable merged = 0
    let mergeFinished () =
        while merged < finished.Length && not (obj.ReferenceEquals(Volatile.Read(&finished.[merged]), null)) do
            merger.Add finished.[merged]
            finished.[merged] <- Unchecked.defaultof<_>
            merged <- merged + 1
    ctx.Runner.Map(segments.Length, fun i ->
        ctx.Cancel.ThrowIfCancellationRequested()
        Volatile.Write(&finished.[i], GroupingEngine.runSegment plan segments.[i].Content segments.[i].Serves)
        if Monitor.TryEnter mergeGate then
            try mergeFinished ()
            finally Monitor.Exit mergeGate)
    |> ignore
    lock mergeGate mergeFinished
    merger.Result()

/// A timeseries, topN or groupBy finished into Druid's result shape.
let private aggregate (ctx: QuerySlices.RunContext) (q: NativeQuery) (slices: SegmentSlice list) : Json.Out =
    let plan = (QueryResults.plan q).Value
    QueryResults.finish q plan (mergedGroups ctx plan slices)

/// A groupBy without subtotals as segment content (its rows read as a query data source),
/// skipping the JSON result; other queries answer None. `ordered`: as in the result, rather
/// than in any order within a time.
let groupByContentWith (ctx: QuerySlices.RunContext) (ordered: bool) (q: NativeQuery) (slices: SegmentSlice list) : SegmentContent option =
    match q.Kind with
    | QueryKind.GroupBy g when g.SubtotalsSpec.IsNone ->
        let plan = (QueryResults.plan q).Value
        Some(QueryResults.groupByContent ordered q g (mergedGroups ctx plan slices))
    | _ -> None

/// Runs a query over the slices the timeline made visible for its intervals, with the
/// run's cancellation and per-segment runner.
let runWith (ctx: QuerySlices.RunContext) (q: NativeQuery) (slices: SegmentSlice list) : Json.Out =
    match q.Kind with
    | QueryKind.Timeseries _ | QueryKind.TopN _ | QueryKind.GroupBy _ -> aggregate ctx q slices
    | QueryKind.Scan sq -> ScanEngine.run ctx q sq slices
    | QueryKind.Search spec -> SearchEngine.run ctx q spec slices
    | QueryKind.TimeBoundary b -> MetadataEngine.timeBoundary ctx q b slices
    | QueryKind.SegmentMetadata smq -> MetadataEngine.segmentMetadata ctx q smq slices
    | QueryKind.DataSourceMetadata -> MetadataEngine.dataSourceMetadata slices

/// Runs a query in order on the calling thread, without cancellation.
let run (q: NativeQuery) (slices: SegmentSlice list) : Json.Out = runWith QuerySlices.sequential q slices

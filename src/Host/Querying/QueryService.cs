using FunctionalDruid.Core;
using FunctionalDruid.Host.Storage;
using Microsoft.FSharp.Collections;

namespace FunctionalDruid.Host.Querying;

/// <summary>A query failure to report with Druid's error body and an HTTP status.</summary>
public sealed class QueryFailure(string error, string message, string errorClass, int status) : Exception(message)
{
    public string Error { get; } = error;
    public string ErrorClass { get; } = errorClass;
    public int Status { get; } = status;
}

/// <summary>
/// The broker and historical in one: parses native queries, asks Core's timeline which loaded
/// segments serve the query intervals, and runs Core's engine over them.
/// </summary>
public sealed class QueryService(SegmentCache cache, IRealtimeSegments? realtime = null)
{
    public string Execute(string body, bool pretty)
    {
        var parsed = Query.parseText(body);
        if (parsed.IsError)
            throw new QueryFailure("Unknown exception", Api.DruidErrors.AtPath(parsed.ErrorValue.Item1, parsed.ErrorValue.Item2),
                "java.lang.IllegalArgumentException", 400);
        var query = parsed.ResultValue;
        if (!query.DataSource.IsTable)
            throw new QueryFailure("Unknown exception", "Only table data sources are supported yet", "java.lang.UnsupportedOperationException", 400);
        var leased = cache.Lease(Query.tableNames(query.DataSource).Head);
        try
        {
            var slices = SlicesFor(query, leased);
            // Rows that stream tasks hold in memory, unless their published segments are among the leased ones.
            if (realtime is not null)
                slices.AddRange(realtime.SlicesFor(Query.tableNames(query.DataSource).Head, Engine.condense(query.Intervals).ToList(), leased.Select(s => s.Id).ToHashSet()));
            return Json.OutModule.toText(pretty, Engine.run(query, ListModule.OfSeq(slices)));
        }
        finally
        {
            foreach (var s in leased) s.Release();
        }
    }

    /// <summary>The visible parts of the leased segments for the query's intervals, in time
    /// then partition order.</summary>
    static List<Engine.SegmentSlice> SlicesFor(Query.NativeQuery query, List<LoadedSegment> leased)
    {
        var byId = leased.ToDictionary(s => s.Id);
        var segments = leased.Select(s => s.Segment).ToList();
        var slices = new List<Engine.SegmentSlice>();
        foreach (var interval in Engine.condense(query.Intervals))
        foreach (var piece in Timeline.visible(segments, interval))
        foreach (var segment in piece.Item3)
        {
            if (segment.ShardSpec.IsTombstone) continue;
            var loaded = byId[Segment.segmentId(segment)];
            slices.Add(new Engine.SegmentSlice(loaded.Id, loaded.Content, piece.Item1));
        }
        return slices;
    }
}

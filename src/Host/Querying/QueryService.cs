using System.Collections.Concurrent;
using FunctionalDruid.Core;
using FunctionalDruid.Host.Storage;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace FunctionalDruid.Host.Querying;

/// <summary>A query failure to report with Druid's error body and an HTTP status.</summary>
public sealed class QueryFailure(string error, string message, string errorClass, int status) : Exception(message)
{
    public string Error { get; } = error;
    public string ErrorClass { get; } = errorClass;
    public int Status { get; } = status;
    /// <summary>The id of the query that failed, once known (for the X-Druid-Query-Id header).</summary>
    public string? QueryId { get; init; }
}

/// <summary>A finished query: its JSON text and its id.</summary>
public sealed record QueryAnswer(string Body, string QueryId);

/// <summary>
/// Runs per-segment work on all cores, taking items in index order (each worker takes the next
/// one) so that results finishing in order can be consumed while later items still run.
/// </summary>
public sealed class ParallelSegmentRunner : QuerySlices.ISegmentRunner
{
    public static readonly ParallelSegmentRunner Instance = new();

    public T[] Map<T>(int count, FSharpFunc<int, T> work)
    {
        var results = new T[count];
        if (count == 1) results[0] = work.Invoke(0);
        else if (count > 1)
        {
            var next = -1;
            try
            {
                Parallel.For(0, Math.Min(count, Environment.ProcessorCount), (_, loop) =>
                {
                    // A failed item stops the others.
                    int i;
                    while (!loop.ShouldExitCurrentIteration && (i = Interlocked.Increment(ref next)) < count) results[i] = work.Invoke(i);
                });
            }
            catch (AggregateException e)
            {
                // The item's own exception, as a sequential run throws it (a bad expression is a
                // 400, not a 500 about an AggregateException); a cancellation only when that is all.
                var inner = e.Flatten().InnerExceptions;
                var first = inner.FirstOrDefault(x => x is not OperationCanceledException) ?? inner.FirstOrDefault();
                if (first != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
                throw;
            }
        }
        return results;
    }
}

/// <summary>
/// The broker and historical in one: parses native queries, asks Core's timeline which loaded
/// segments serve the query intervals of every table the query reads, and runs Core's engine
/// over them. Running queries are registered by id so DELETE /druid/v2/{id} can cancel them;
/// the context's timeout cancels them too.
/// </summary>
public sealed class QueryService(SegmentCache cache, IRealtimeSegments? realtime = null)
{
    /// <summary>Druid's default query timeout (druid.server.http.defaultQueryTimeout).</summary>
    public const long DefaultTimeoutMillis = 300_000;

    sealed class Running(CancellationTokenSource cancel)
    {
        public CancellationTokenSource Cancel { get; } = cancel;
        public volatile bool CancelledByUser;
    }

    readonly ConcurrentDictionary<string, Running> _running = new();

    /// <summary>Cancels a running query; false when no query with that id is running.</summary>
    public bool Cancel(string queryId)
    {
        if (!_running.TryGetValue(queryId, out var running)) return false;
        running.CancelledByUser = true;
        try { running.Cancel.Cancel(); }
        catch (ObjectDisposedException) { }
        return true;
    }

    public async Task<QueryAnswer> ExecuteAsync(string body, bool pretty, CancellationToken requestAborted = default)
    {
        var parsed = QueryParseSurface.parseText(body);
        if (parsed.IsError)
            throw new QueryFailure("Unknown exception", Api.DruidErrors.AtPath(parsed.ErrorValue.Item1, parsed.ErrorValue.Item2),
                "java.lang.IllegalArgumentException", 400);
        var query = parsed.ResultValue;
        var queryId = QueryParseSurface.contextQueryId(query) is { } given ? given.Value : Guid.NewGuid().ToString();

        var tables = Query.tableNames(query.DataSource).Distinct().ToList();
        var leases = tables.ToDictionary(t => t, t => cache.Lease(t));
        var releaseNow = true;
        try
        {
            // Druid answers a query over data sources it does not know with an empty result.
            if (tables.Count > 0 && leases.Values.All(l => l.Count == 0) && !tables.Any(HasRealtimeRows))
                return new QueryAnswer(pretty ? "[ ]" : "[]", queryId);

            var timeout = QueryParseSurface.contextTimeout(query) is { } t ? t.Value : DefaultTimeoutMillis;
            using var timeoutCancel = new CancellationTokenSource();
            using var userCancel = new CancellationTokenSource();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeoutCancel.Token, userCancel.Token, requestAborted);
            var running = new Running(userCancel);
            var registered = _running.TryAdd(queryId, running);
            if (timeout > 0) timeoutCancel.CancelAfter(TimeSpan.FromMilliseconds(Math.Min(timeout, int.MaxValue)));
            try
            {
                var context = new QuerySlices.RunContext(linked.Token, ParallelSegmentRunner.Instance);
                var work = Task.Run(() =>
                {
                    var answer = QueryExecution.execute(context, SourceOf(leases), query);
                    QueryGarbage.AfterQuery();
                    return answer;
                });
                try
                {
                    await work.WaitAsync(linked.Token);
                }
                catch (OperationCanceledException)
                {
                    // Engine parts that do not watch the token finish in the background; the
                    // segments they read stay leased until then.
                    releaseNow = false;
                    work.ContinueWith(_ => ReleaseAll(leases), TaskScheduler.Default);
                    throw;
                }
                var result = await work;
                return new QueryAnswer(Json.OutModule.toText(pretty, result), queryId);
            }
            catch (Exception e) when (Unwrap(e) is OperationCanceledException)
            {
                if (timeoutCancel.IsCancellationRequested && !running.CancelledByUser)
                    throw new QueryFailure("Query timeout", $"Query [{queryId}] timed out.", "java.util.concurrent.TimeoutException", 504) { QueryId = queryId };
                throw new QueryFailure("Query cancelled", $"Query [{queryId}] was cancelled.", "java.util.concurrent.CancellationException", 500) { QueryId = queryId };
            }
            catch (Exception e) when (Unwrap(e) is not QueryFailure)
            {
                throw Translate(Unwrap(e), queryId);
            }
            finally
            {
                if (registered) _running.TryRemove(new KeyValuePair<string, Running>(queryId, running));
            }
        }
        finally
        {
            if (releaseNow) ReleaseAll(leases);
        }
    }

    /// <summary>Runs a native query the SQL layer planned, on the calling thread: every table
    /// it reads is leased for the run, and stream tasks' in-memory rows are included.</summary>
    public Json.Out RunPlanned(Query.NativeQuery query, CancellationToken cancel)
    {
        var leases = Query.tableNames(query.DataSource).Distinct().ToDictionary(t => t, t => cache.Lease(t));
        try
        {
            return QueryExecution.execute(new QuerySlices.RunContext(cancel, ParallelSegmentRunner.Instance), SourceOf(leases), query);
        }
        finally
        {
            ReleaseAll(leases);
        }
    }

    /// <summary>Hands the visible slices of a table query (realtime rows included) to
    /// <paramref name="use"/> while the table's segments are leased.</summary>
    public T WithTableSlices<T>(Query.NativeQuery query, Func<FSharpList<QuerySlices.SegmentSlice>, T> use)
    {
        var table = Query.tableNames(query.DataSource).Head;
        var leased = cache.Lease(table);
        try
        {
            return use(ListModule.OfSeq(SlicesFor(table, query.Intervals, leased)));
        }
        finally
        {
            foreach (var s in leased) s.Release();
        }
    }

    FSharpFunc<string, FSharpFunc<FSharpList<Time.Interval>, FSharpList<QuerySlices.SegmentSlice>>> SourceOf(Dictionary<string, List<LoadedSegment>> leases) =>
        FuncConvert.FromFunc<string, FSharpList<Time.Interval>, FSharpList<QuerySlices.SegmentSlice>>(
            (table, intervals) => ListModule.OfSeq(SlicesFor(table, intervals, leases.TryGetValue(table, out var l) ? l : [])));

    static void ReleaseAll(Dictionary<string, List<LoadedSegment>> leases)
    {
        foreach (var list in leases.Values)
        foreach (var s in list)
            s.Release();
    }

    static Exception Unwrap(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } a) e = a.InnerException!;
        return e;
    }

    static QueryFailure Translate(Exception e, string queryId) => e switch
    {
        Json.JsonError j => new QueryFailure("Unknown exception", Api.DruidErrors.AtPath(j.path, j.problem), "java.lang.IllegalArgumentException", 400) { QueryId = queryId },
        // An expression that fails on a row's values (e.g. left('abc', -1)) is bad input, as in Druid.
        ExprFunctions.FunctionError f => new QueryFailure("Unknown exception", f.Data0, "org.apache.druid.java.util.common.IAE", 400) { QueryId = queryId },
        QueryExecution.UnsupportedQuery u => new QueryFailure("Unsupported operation", u.Data0, "java.lang.UnsupportedOperationException", 501) { QueryId = queryId },
        NotSupportedException n => new QueryFailure("Unsupported operation", n.Message, "java.lang.UnsupportedOperationException", 501) { QueryId = queryId },
        QueryFailure f => f,
        _ => new QueryFailure("Unknown exception", e.Message, e.GetType().FullName ?? "java.lang.RuntimeException", 500) { QueryId = queryId },
    };

    /// <summary>The visible parts of the leased segments for the intervals, in time then
    /// partition order.</summary>
    List<QuerySlices.SegmentSlice> SlicesFor(string table, FSharpList<Time.Interval> intervals, List<LoadedSegment> leased)
    {
        var byId = leased.ToDictionary(s => s.Id);
        var segments = ListModule.OfSeq(leased.Select(s => s.Segment));
        var slices = new List<QuerySlices.SegmentSlice>();
        foreach (var interval in QuerySlices.condense(intervals))
        foreach (var piece in Timeline.visible(segments, interval))
        foreach (var segment in piece.Item3)
        {
            if (segment.ShardSpec.IsTombstone) continue;
            var loaded = byId[Segment.segmentId(segment)];
            slices.Add(new QuerySlices.SegmentSlice(loaded.Id, loaded.Content, piece.Item1));
        }
        // Rows that stream tasks hold in memory, unless their published segments are among the leased ones.
        if (realtime is not null)
            slices.AddRange(realtime.SlicesFor(table, QuerySlices.condense(intervals).ToList(), leased.Select(s => s.Id).ToHashSet()));
        return slices;
    }

    bool HasRealtimeRows(string table) =>
        realtime is not null && realtime.SlicesFor(table, [Time.eternity], new HashSet<string>()).Any();

    /// <summary>Dimensions and metrics of a data source's loaded segments, sorted
    /// (GET /druid/v2/datasources/{name}).</summary>
    public (List<string> Dimensions, List<string> Metrics) Schema(string dataSource, Time.Interval? interval = null)
    {
        var leased = cache.Lease(dataSource);
        try
        {
            var segments = leased.Where(s => interval is not { } iv || (s.Segment.Interval.Start < iv.End && iv.Start < s.Segment.Interval.End)).ToList();
            var dims = segments.SelectMany(s => s.Segment.Dimensions).Distinct().Order(StringComparer.Ordinal).ToList();
            var metrics = segments.SelectMany(s => s.Segment.Metrics).Distinct().Order(StringComparer.Ordinal).ToList();
            return (dims, metrics);
        }
        finally
        {
            foreach (var s in leased) s.Release();
        }
    }
}

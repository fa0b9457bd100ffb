using System.Collections.Concurrent;
using System.Text.Json;
using FunctionalDruid.Core;
using FunctionalDruid.Host.Metadata;
using FunctionalDruid.Host.Storage;
using FunctionalDruid.Sql;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace FunctionalDruid.Host.Querying;

/// <summary>
/// Druid SQL for the broker: the catalog the SQL layer plans against (loaded datasources and
/// their columns, segments, tasks, supervisors), a runner for the native queries it plans, and
/// the registry of running SQL queries so DELETE /druid/v2/sql/{id} can cancel them.
/// </summary>
public sealed class SqlService(SegmentCache cache, IMetadataStore store, QueryService queries, string serverName) : ICatalog
{
    readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new();

    /// <summary>Runs one native query the way /druid/v2 does (unions, subqueries, realtime rows).</summary>
    public Json.Out RunNative(Query.NativeQuery query) => queries.RunPlanned(query, CancellationToken.None);

    /// <summary>Reads a compacted scan's rows without building JSON (the in-memory operators' input);
    /// with an order, only each segment's first rows by it.</summary>
    public Value[][] ReadRows(Query.NativeQuery query, FSharpOption<Relational.RowOrder> order)
    {
        if (!query.DataSource.IsTable)
            throw new SqlException("UNSUPPORTED", "Only table data sources are read row by row; the SQL layer plans the rest in memory");
        return queries.WithTableSlices(query, slices => TableReader.readTopWith(ParallelSegmentRunner.Instance, query, order, slices));
    }

    /// <summary>Reads one column of a table as distinct values with row counts (in-memory aggregates over it).</summary>
    public FSharpOption<TableReader.CountedColumn> ReadCounted(Query.NativeQuery query)
    {
        if (!query.DataSource.IsTable)
            return FSharpOption<TableReader.CountedColumn>.None;
        return queries.WithTableSlices(query, slices => TableReader.readCounted(query, slices));
    }

    SqlEngine.Options OptionsAt(long now) => new(
        this,
        FuncConvert.FromFunc<Query.NativeQuery, Json.Out>(RunNative),
        FuncConvert.FromFunc<Query.NativeQuery, bool>(SqlEngine.defaultSupports),
        now,
        FSharpOption<FSharpFunc<Query.NativeQuery, FSharpFunc<FSharpOption<Relational.RowOrder>, Value[][]>>>.Some(
            FuncConvert.FromFunc<Query.NativeQuery, FSharpOption<Relational.RowOrder>, Value[][]>(ReadRows)),
        FSharpOption<FSharpFunc<Query.NativeQuery, FSharpOption<TableReader.CountedColumn>>>.Some(
            FuncConvert.FromFunc<Query.NativeQuery, FSharpOption<TableReader.CountedColumn>>(ReadCounted)));

    /// <summary>Runs a statement under its query id; a timeout or a cancel ends the wait with
    /// an OperationCanceledException (TimeoutException for the timeout).</summary>
    public async Task<ResultSet> Execute(SqlHttp.HttpRequest request, string queryId, CancellationToken aborted)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        if (!_running.TryAdd(queryId, cts))
            throw new SqlException("INVALID_INPUT", $"A query with id [{queryId}] is already running");
        try
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var engineRequest = new SqlEngine.Request(request.Query, request.Parameters, request.Context);
            var work = Task.Run(() =>
            {
                var result = SqlEngine.execute(OptionsAt(now), engineRequest);
                QueryGarbage.AfterQuery();
                return result;
            });
            var timeout = TimeoutOf(request);
            try
            {
                return timeout is { } t ? await work.WaitAsync(t, cts.Token) : await work.WaitAsync(cts.Token);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"Query timeout: query [{queryId}] did not finish within {timeout!.Value.TotalMilliseconds} ms");
            }
        }
        finally
        {
            _running.TryRemove(queryId, out _);
        }
    }

    static TimeSpan? TimeoutOf(SqlHttp.HttpRequest request)
    {
        var value = request.ContextValue("timeout");
        if (value == null || !FSharpOption<string>.get_IsSome(value)) return null;
        return long.TryParse(value.Value, out var ms) && ms > 0 ? TimeSpan.FromMilliseconds(ms) : null;
    }

    /// <summary>Cancels a running SQL query; false when no query has that id.</summary>
    public bool Cancel(string queryId)
    {
        if (!_running.TryGetValue(queryId, out var cts)) return false;
        cts.Cancel();
        return true;
    }

    // ---- catalog -----------------------------------------------------------------------------

    FSharpList<string> ICatalog.DataSources() => ListModule.OfSeq(cache.DataSources());

    FSharpList<Tuple<string, ColumnType>> ICatalog.ColumnsOf(string dataSource)
    {
        var leased = cache.Lease(dataSource);
        try
        {
            if (leased.Count == 0) return FSharpList<Tuple<string, ColumnType>>.Empty;
            var columns = new List<Tuple<string, ColumnType>> { Tuple.Create("__time", ColumnType.Long) };
            var seen = new HashSet<string> { "__time" };
            // The newest segments decide the order, as Druid's segment-metadata schema does.
            var ordered = leased.OrderByDescending(s => s.Segment.Interval.End).ThenByDescending(s => s.Segment.Version, StringComparer.Ordinal).ToList();
            foreach (var kind in new[] { true, false })
            foreach (var s in ordered)
            foreach (var (name, data) in kind ? s.Content.Dimensions : s.Content.Metrics)
                if (seen.Add(name)) columns.Add(Tuple.Create(name, data.Type));
            return ListModule.OfSeq(columns);
        }
        finally
        {
            foreach (var s in leased) s.Release();
        }
    }

    FSharpList<SegmentInfo> ICatalog.Segments()
    {
        var infos = new List<SegmentInfo>();
        foreach (var record in store.GetUsedSegments())
        {
            var loaded = cache.IsLoaded(record.Id);
            long size = 0, rows = 0;
            string shardSpec = "{}", dimensions = "[]", metrics = "[]";
            int partition = 0;
            try
            {
                using var doc = JsonDocument.Parse(record.Payload);
                var root = doc.RootElement;
                if (root.TryGetProperty("size", out var sz) && sz.TryGetInt64(out var s)) size = s;
                if (root.TryGetProperty("shardSpec", out var ss))
                {
                    shardSpec = ss.GetRawText();
                    if (ss.TryGetProperty("partitionNum", out var pn) && pn.TryGetInt32(out var p)) partition = p;
                }
                if (root.TryGetProperty("dimensions", out var d)) dimensions = CommaListAsJson(d);
                if (root.TryGetProperty("metrics", out var m)) metrics = CommaListAsJson(m);
                if (root.TryGetProperty("numRows", out var nr) && nr.TryGetInt64(out var n)) rows = n;
            }
            catch (JsonException) { }
            if (cache.RowCountOf(record.Id) is { } served) rows = served;
            infos.Add(new SegmentInfo(record.Id, record.DataSource, record.Start, record.End, size, record.Version, partition, rows,
                true, loaded, false, shardSpec, dimensions, metrics));
        }
        return ListModule.OfSeq(infos);
    }

    static string CommaListAsJson(JsonElement e) =>
        e.ValueKind == JsonValueKind.String
            ? JsonSerializer.Serialize(e.GetString()!.Split(',', StringSplitOptions.RemoveEmptyEntries))
            : e.GetRawText();

    FSharpList<TaskInfo> ICatalog.Tasks()
    {
        var infos = new List<TaskInfo>();
        foreach (var t in store.GetTasks())
        {
            string status = t.Active ? "RUNNING" : "SUCCESS", error = null!;
            long duration = -1;
            if (t.StatusPayload != null)
            {
                try
                {
                    using var doc = JsonDocument.Parse(t.StatusPayload);
                    var root = doc.RootElement;
                    if (root.TryGetProperty("status", out var st) && st.ValueKind == JsonValueKind.String) status = st.GetString()!;
                    if (root.TryGetProperty("duration", out var du) && du.TryGetInt64(out var d)) duration = d;
                    if (root.TryGetProperty("errorMsg", out var em) && em.ValueKind == JsonValueKind.String) error = em.GetString()!;
                }
                catch (JsonException) { }
            }
            infos.Add(new TaskInfo(t.Id, t.GroupId ?? t.Id, t.Type, t.DataSource, t.CreatedDate, t.CreatedDate, status,
                t.Active ? "RUNNING" : "NONE", duration, serverName, error));
        }
        return ListModule.OfSeq(infos);
    }

    FSharpList<SupervisorInfo> ICatalog.Supervisors() =>
        ListModule.OfSeq(store.GetLatestSupervisors().Select(s =>
            new SupervisorInfo(s.SpecId, "RUNNING", "RUNNING", true, "kafka", s.SpecId, false, s.Payload)));

    string ICatalog.ServerName() => serverName;
}

using FunctionalDruid.Host.Querying;
using FunctionalDruid.Host.Storage;

namespace FunctionalDruid.Host.Api;

/// <summary>The broker's native query API: /druid/v2 (with and without the trailing slash,
/// ?pretty), cancellation by query id, and /druid/v2/datasources.</summary>
public static class QueryEndpoints
{
    public static void Map(WebApplication app, QueryService queries, SegmentCache cache)
    {
        // Not a bare HttpContext parameter: that would bind as a RequestDelegate and drop the result.
        async Task<IResult> Run(HttpRequest request, HttpResponse response, CancellationToken aborted)
        {
            var body = await DruidErrors.ReadBody(request);
            var pretty = request.Query.ContainsKey("pretty");
            if (string.IsNullOrWhiteSpace(body))
                return DruidErrors.Query("Unknown exception", "Request body is empty: expected a native query JSON object", "java.lang.IllegalArgumentException", 400);
            try
            {
                var answer = await queries.ExecuteAsync(body, pretty, aborted);
                response.Headers["X-Druid-Query-Id"] = answer.QueryId;
                return Results.Text(answer.Body, "application/json");
            }
            catch (QueryFailure f)
            {
                if (f.QueryId is { } id) response.Headers["X-Druid-Query-Id"] = id;
                return DruidErrors.Query(f.Error, f.Message, f.ErrorClass, f.Status);
            }
        }

        IResult Cancel(string queryId) =>
            queries.Cancel(queryId)
                ? Results.StatusCode(202)
                : DruidErrors.Query("Query not found", $"No active query with id [{queryId}]", "org.apache.druid.query.QueryInterruptedException", 404);

        // `?interval=start/end` limits the answer to segments overlapping it, as Druid's broker does.
        IResult Schema(string dataSource, HttpRequest request, string part)
        {
            Core.Time.Interval? interval = null;
            if (request.Query.TryGetValue("interval", out var text))
            {
                var parsed = Core.Time.tryParseInterval(text.ToString());
                if (parsed is null)
                    return DruidErrors.Query("Unknown exception", $"Invalid interval [{text}]", "java.lang.IllegalArgumentException", 400);
                interval = parsed.Value;
            }
            var (dimensions, metrics) = queries.Schema(dataSource, interval);
            return part switch
            {
                "dimensions" => Results.Json(dimensions),
                "metrics" => Results.Json(metrics),
                _ => Results.Json(new Dictionary<string, object> { ["dimensions"] = dimensions, ["metrics"] = metrics }),
            };
        }

        // Routing matches these with and without the trailing slash, as clients send both.
        app.MapPost("/druid/v2", Run);
        app.MapDelete("/druid/v2/{queryId}", Cancel);
        app.MapGet("/druid/v2/datasources", () => Results.Json(cache.DataSources()));
        app.MapGet("/druid/v2/datasources/{dataSource}", (string dataSource, HttpRequest request) => Schema(dataSource, request, ""));
        app.MapGet("/druid/v2/datasources/{dataSource}/dimensions", (string dataSource, HttpRequest request) => Schema(dataSource, request, "dimensions"));
        app.MapGet("/druid/v2/datasources/{dataSource}/metrics", (string dataSource, HttpRequest request) => Schema(dataSource, request, "metrics"));
    }
}

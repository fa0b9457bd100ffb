using FunctionalDruid.Host.Querying;
using FunctionalDruid.Host.Storage;

namespace FunctionalDruid.Host.Api;

/// <summary>The broker's native query API: /druid/v2 (with and without the trailing slash,
/// ?pretty) and /druid/v2/datasources.</summary>
public static class QueryEndpoints
{
    public static void Map(WebApplication app, QueryService queries, SegmentCache cache)
    {
        async Task<IResult> Run(HttpRequest request)
        {
            var body = await DruidErrors.ReadBody(request);
            var pretty = request.Query.ContainsKey("pretty");
            if (string.IsNullOrWhiteSpace(body))
                return DruidErrors.Query("Unknown exception", "Request body is empty: expected a native query JSON object", "java.lang.IllegalArgumentException", 400);
            try
            {
                return Results.Text(queries.Execute(body, pretty), "application/json");
            }
            catch (QueryFailure f)
            {
                return DruidErrors.Query(f.Error, f.Message, f.ErrorClass, f.Status);
            }
        }
        // Routing matches these with and without the trailing slash, as clients send both.
        app.MapPost("/druid/v2", Run);
        app.MapGet("/druid/v2/datasources", () => Results.Json(cache.DataSources()));
    }
}

using FunctionalDruid.Host.Querying;
using FunctionalDruid.Sql;

namespace FunctionalDruid.Host.Api;

/// <summary>The broker's SQL API: POST /druid/v2/sql (with or without the trailing slash) and
/// DELETE /druid/v2/sql/{sqlQueryId}.</summary>
public static class SqlEndpoints
{
    public static void Map(WebApplication app, SqlService sql)
    {
        async Task Run(HttpContext http)
        {
            var body = await DruidErrors.ReadBody(http.Request);
            var queryId = Guid.NewGuid().ToString();
            http.Response.Headers["X-Druid-SQL-Query-Id"] = queryId;
            try
            {
                var request = SqlHttp.parseRequest(body);
                var given = request.ContextValue("sqlQueryId");
                if (given != null && !string.IsNullOrWhiteSpace(given.Value)) queryId = given.Value;
                http.Response.Headers["X-Druid-SQL-Query-Id"] = queryId;
                var result = await sql.Execute(request, queryId, http.RequestAborted);
                var (text, contentType) = SqlHttp.formatResult(request, result);
                if (request.Header) http.Response.Headers["X-Druid-SQL-Header-Included"] = "yes";
                http.Response.StatusCode = 200;
                http.Response.ContentType = contentType;
                await http.Response.WriteAsync(text);
            }
            catch (TimeoutException e)
            {
                await WriteError(http, 504, SqlHttp.errorBody("timeout", "TIMEOUT", e.Message, Microsoft.FSharp.Collections.FSharpList<Tuple<string, string>>.Empty));
            }
            catch (OperationCanceledException)
            {
                await WriteError(http, 500, SqlHttp.errorBody("canceled", "CANCELED", $"Query [{queryId}] was canceled",
                    Microsoft.FSharp.Collections.FSharpList<Tuple<string, string>>.Empty));
            }
            catch (Exception e)
            {
                var (status, error) = SqlHttp.errorOf(e);
                await WriteError(http, status, error);
            }
        }

        static async Task WriteError(HttpContext http, int status, string body)
        {
            if (http.Response.HasStarted) return;
            http.Response.StatusCode = status;
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(body);
        }

        // Routing matches these with and without the trailing slash, as clients send both.
        app.MapPost("/druid/v2/sql", Run);
        app.MapDelete("/druid/v2/sql/{sqlQueryId}", (string sqlQueryId) =>
            sql.Cancel(sqlQueryId)
                ? Results.StatusCode(202)
                : DruidErrors.NotFound($"Query [{sqlQueryId}] is not running"));
    }
}

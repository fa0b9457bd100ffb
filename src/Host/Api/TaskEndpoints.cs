using System.Text.Json.Nodes;
using FunctionalDruid.Host.Indexing;
using FunctionalDruid.Host.Metadata;

namespace FunctionalDruid.Host.Api;

/// <summary>The overlord's task API under /druid/indexer/v1.</summary>
public static class TaskEndpoints
{
    public static void Map(WebApplication app, TaskQueue queue)
    {
        const string root = "/druid/indexer/v1";

        app.MapPost($"{root}/task", async (HttpRequest request) =>
        {
            var body = await DruidErrors.ReadBody(request);
            if (string.IsNullOrWhiteSpace(body)) return DruidErrors.InvalidInput("Request body is empty: expected a task JSON object");
            try { return Results.Json(new { task = queue.Submit(body) }); }
            catch (InvalidTaskException e) { return DruidErrors.InvalidInput(e.Message); }
        });

        app.MapGet($"{root}/task/{{id}}/status", (string id) =>
            queue.Get(id) is { } t
                ? Results.Json(new JsonObject { ["task"] = id, ["status"] = StatusPlus(t, queue) })
                : Results.Json(new JsonObject { ["task"] = id, ["status"] = null }, statusCode: 404));

        app.MapGet($"{root}/task/{{id}}", (string id) =>
            queue.Get(id) is { } t
                ? Results.Json(new JsonObject { ["task"] = id, ["payload"] = JsonNode.Parse(t.Payload) })
                : Results.Json(new JsonObject { ["task"] = id, ["payload"] = null }, statusCode: 404));

        app.MapGet($"{root}/task/{{id}}/reports", (string id) =>
            queue.Get(id) is null ? DruidErrors.NotFound($"Task [{id}] not found")
            : queue.Report(id) is { } report ? Results.Json(report)
            : DruidErrors.NotFound($"No reports for task [{id}]"));

        app.MapPost($"{root}/task/{{id}}/shutdown", (string id) =>
        {
            if (queue.Get(id) is null) return DruidErrors.NotFound($"Task [{id}] not found");
            queue.Shutdown(id);
            return Results.Json(new { task = id });
        });

        app.MapGet($"{root}/tasks", (string? state, string? datasource, int? max) =>
        {
            var wanted = state?.ToLowerInvariant();
            if (wanted is not (null or "running" or "complete" or "waiting" or "pending"))
                return DruidErrors.InvalidInput($"Invalid state [{state}]: expected running, complete, waiting or pending");
            bool? active = wanted switch { null => null, "complete" => false, _ => true };
            var tasks = queue.List(active, datasource)
                .Where(t => wanted is null or "complete" || RunnerState(t, queue) == wanted)
                .Take(max ?? int.MaxValue)
                .Select(t => StatusPlus(t, queue))
                .ToList();
            return Results.Json(tasks);
        });

        foreach (var (path, state) in new[] { ("runningTasks", "running"), ("completeTasks", "complete"), ("pendingTasks", "pending"), ("waitingTasks", "waiting") })
            app.MapGet($"{root}/{path}", () => Results.Json(queue.List(state != "complete", null)
                .Where(t => state == "complete" || RunnerState(t, queue) == state)
                .Select(t => StatusPlus(t, queue)).ToList()));
    }

    static string RunnerState(TaskRecord t, TaskQueue queue) => queue.RunnerStatus(t.Id) switch
    {
        "RUNNING" => "running",
        "PENDING" => "pending",
        _ => t.Active ? "waiting" : "complete",
    };

    /// <summary>Druid's TaskStatusPlus.</summary>
    static JsonObject StatusPlus(TaskRecord t, TaskQueue queue)
    {
        var status = TaskStatusPayload.FromJson(t.StatusPayload);
        var code = status?.Status ?? (t.Active ? TaskState.Running : TaskState.Failed);
        return new JsonObject
        {
            ["id"] = t.Id,
            ["groupId"] = t.GroupId ?? t.Id,
            ["type"] = t.Type,
            ["createdTime"] = t.CreatedDate,
            ["queueInsertionTime"] = t.CreatedDate,
            ["statusCode"] = code,
            ["status"] = code,
            ["runnerStatusCode"] = t.Active ? queue.RunnerStatus(t.Id) : "NONE",
            ["duration"] = status?.Duration ?? -1,
            ["location"] = new JsonObject { ["host"] = null, ["port"] = -1, ["tlsPort"] = -1 },
            ["dataSource"] = t.DataSource,
            ["errorMsg"] = status?.ErrorMsg,
        };
    }
}

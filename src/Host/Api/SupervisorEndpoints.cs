using System.Text.Json.Nodes;
using FunctionalDruid.Host.Streaming;

namespace FunctionalDruid.Host.Api;

/// <summary>The overlord's supervisor API under /druid/indexer/v1/supervisor, in Druid's shapes.</summary>
public static class SupervisorEndpoints
{
    public static void Map(WebApplication app, SupervisorManager supervisors)
    {
        const string root = "/druid/indexer/v1/supervisor";

        IResult Guard(Func<IResult> action)
        {
            try { return action(); }
            catch (KeyNotFoundException e) { return Results.Json(new JsonObject { ["error"] = e.Message }, statusCode: 404); }
            catch (InvalidSupervisorException e) { return DruidErrors.InvalidInput(e.Message); }
        }

        app.MapPost(root, async (HttpRequest request) =>
        {
            var body = await DruidErrors.ReadBody(request);
            if (string.IsNullOrWhiteSpace(body)) return DruidErrors.InvalidInput("Request body is empty: expected a supervisor spec JSON object");
            return Guard(() => Results.Json(new JsonObject { ["id"] = supervisors.Submit(body) }));
        });

        app.MapGet(root, (HttpRequest request) =>
        {
            if (request.Query.ContainsKey("full")) return Results.Json(supervisors.Full());
            if (request.Query.TryGetValue("state", out var state) && state.ToString() != "false") return Results.Json(supervisors.States());
            return Results.Json(supervisors.Ids());
        });

        app.MapGet($"{root}/history", () => Results.Json(supervisors.AllHistory()));
        app.MapGet($"{root}/{{id}}", (string id) => Guard(() => Results.Json(supervisors.SpecOf(id))));
        app.MapGet($"{root}/{{id}}/status", (string id) => Guard(() => Results.Json(supervisors.Status(id))));
        app.MapGet($"{root}/{{id}}/history", (string id) =>
            supervisors.History(id) is { } history ? Results.Json(history)
            : Results.Json(new JsonObject { ["error"] = $"No history for [{id}]." }, statusCode: 404));

        app.MapPost($"{root}/{{id}}/suspend", (string id) => Guard(() => Results.Json(supervisors.SetSuspended(id, true))));
        app.MapPost($"{root}/{{id}}/resume", (string id) => Guard(() => Results.Json(supervisors.SetSuspended(id, false))));
        app.MapPost($"{root}/{{id}}/reset", (string id) => Guard(() =>
        {
            supervisors.Reset(id);
            return Results.Json(new JsonObject { ["id"] = id });
        }));
        app.MapPost($"{root}/{{id}}/resetOffsets", async (string id, HttpRequest request) =>
        {
            var body = await DruidErrors.ReadBody(request);
            var preview = request.Query.TryGetValue("preview", out var p) && p.ToString() != "false"
                          || request.Query.TryGetValue("dryRun", out var d) && d.ToString() != "false";
            if (string.IsNullOrWhiteSpace(body)) return DruidErrors.InvalidInput("Request body is empty: expected the offsets to reset to");
            return Guard(() => Results.Json(supervisors.ResetOffsets(id, body, preview)));
        });
        app.MapPost($"{root}/{{id}}/terminate", (string id) => Guard(() =>
        {
            supervisors.Terminate(id);
            return Results.Json(new JsonObject { ["id"] = id });
        }));
        // Druid's older name for terminate.
        app.MapPost($"{root}/{{id}}/shutdown", (string id) => Guard(() =>
        {
            supervisors.Terminate(id);
            return Results.Json(new JsonObject { ["id"] = id });
        }));

        app.MapPost($"{root}/suspendAll", () => { supervisors.SuspendAll(); return Results.Json(new JsonObject { ["status"] = "success" }); });
        app.MapPost($"{root}/resumeAll", () => { supervisors.ResumeAll(); return Results.Json(new JsonObject { ["status"] = "success" }); });
        app.MapPost($"{root}/terminateAll", () => { supervisors.TerminateAll(); return Results.Json(new JsonObject { ["status"] = "success" }); });
    }
}

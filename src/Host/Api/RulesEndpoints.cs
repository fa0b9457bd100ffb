using System.Globalization;
using System.Text.Json.Nodes;
using FunctionalDruid.Core;
using FunctionalDruid.Host.Metadata;
using FunctionalDruid.Host.Storage;

namespace FunctionalDruid.Host.Api;

/// <summary>Druid's retention rules API: the rules of every data source (and the `_default`
/// ones), updates with their audit trail, and that trail.</summary>
public static class RulesEndpoints
{
    const string AuditType = "rules";
    /// <summary>Druid's druid.audit.manager.auditHistoryMillis default: one week.</summary>
    static readonly TimeSpan DefaultHistory = TimeSpan.FromDays(7);

    public static void Map(WebApplication app, IMetadataStore store, SegmentCache cache)
    {
        const string root = "/druid/coordinator/v1/rules";

        app.MapGet(root, () =>
        {
            var all = store.GetAllRules();
            var result = new JsonObject();
            if (!all.ContainsKey(RetentionRules.DefaultRulesKey))
                result[RetentionRules.DefaultRulesKey] = RulesJson(RetentionRules.defaultRules);
            foreach (var (dataSource, payload) in all.OrderBy(p => p.Key, StringComparer.Ordinal))
                result[dataSource] = JsonNode.Parse(payload);
            return Results.Json(result);
        });

        app.MapGet($"{root}/history", (HttpRequest request) => History(store, null, request));
        app.MapGet($"{root}/{{dataSource}}/history", (string dataSource, HttpRequest request) => History(store, dataSource, request));

        app.MapGet($"{root}/{{dataSource}}", (string dataSource, HttpRequest request) =>
        {
            var stored = store.GetRules(dataSource);
            var own = stored is null ? new JsonArray() : JsonNode.Parse(stored)!.AsArray();
            if (!request.Query.ContainsKey("full")) return Results.Json(own);
            var (_, defaults) = cache.RulesFor(dataSource);
            foreach (var rule in RulesJson(defaults).AsArray().ToList()) own.Add(rule!.DeepClone());
            return Results.Json(own);
        });

        app.MapPost($"{root}/{{dataSource}}", async (string dataSource, HttpRequest request) =>
        {
            var body = await DruidErrors.ReadBody(request);
            var parsed = RetentionRules.tryParseRules(body);
            if (parsed.IsError) return Results.Json(new JsonObject { ["error"] = DruidErrors.AtPath(parsed.ErrorValue.Item1, parsed.ErrorValue.Item2) }, statusCode: 400);
            var author = request.Headers["X-Druid-Author"].FirstOrDefault() ?? "";
            var comment = request.Headers["X-Druid-Comment"].FirstOrDefault() ?? "";
            store.SetRules(dataSource, RetentionRules.rulesText(parsed.ResultValue), author, comment);
            // Apply the new rules now rather than at the next periodic sync.
            cache.Sync();
            return Results.Ok();
        });
    }

    static JsonNode RulesJson(Microsoft.FSharp.Collections.FSharpList<RetentionRules.Rule> rules) =>
        JsonNode.Parse(RetentionRules.rulesText(rules))!;

    /// <summary>Audit entries, oldest first: the last `count`, or those within `interval`
    /// (default: the past week).</summary>
    static IResult History(IMetadataStore store, string? dataSource, HttpRequest request)
    {
        var intervalText = request.Query["interval"].FirstOrDefault();
        var countText = request.Query["count"].FirstOrDefault();
        IEnumerable<AuditRecord> entries;
        if (countText is not null)
        {
            if (!int.TryParse(countText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) || count <= 0)
                return Results.Json(new JsonObject { ["error"] = "Count must be greater than zero if set (count : " + countText + ")" }, statusCode: 400);
            entries = store.GetAudit(dataSource, AuditType, count);
        }
        else
        {
            Time.Interval window;
            if (intervalText is null)
            {
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                window = new Time.Interval(now - (long)DefaultHistory.TotalMilliseconds, now);
            }
            else if (Time.tryParseInterval(intervalText.Replace('_', '/')) is { } parsed) window = parsed.Value;
            else return Results.Json(new JsonObject { ["error"] = $"Invalid interval [{intervalText}]" }, statusCode: 400);
            entries = store.GetAudit(dataSource, AuditType).Where(e =>
                Time.tryParseInstant(e.CreatedDate) is { } t && t.Value >= window.Start && t.Value < window.End);
        }
        return Results.Json(new JsonArray(entries.Select(e => (JsonNode?)new JsonObject
        {
            ["key"] = e.Key,
            ["type"] = e.Type,
            ["auditInfo"] = new JsonObject { ["author"] = e.Author, ["comment"] = e.Comment, ["ip"] = "" },
            ["request"] = null,
            ["payload"] = e.Payload,
            ["auditTime"] = e.CreatedDate,
        }).ToArray()));
    }
}

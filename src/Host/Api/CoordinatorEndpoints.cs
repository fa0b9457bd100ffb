using System.Text.Json.Nodes;
using FunctionalDruid.Host.Metadata;
using FunctionalDruid.Host.Storage;

namespace FunctionalDruid.Host.Api;

/// <summary>The coordinator reads that tools and harnesses poll: data sources, their used
/// segments, and load status; the retention rules API lives in RulesEndpoints.</summary>
public static class CoordinatorEndpoints
{
    public static void Map(WebApplication app, IMetadataStore store, SegmentCache cache)
    {
        const string root = "/druid/coordinator/v1";

        app.MapGet($"{root}/datasources", () => Results.Json(store.GetDataSources()));
        app.MapGet($"{root}/metadata/datasources", () => Results.Json(store.GetDataSources()));

        app.MapGet($"{root}/datasources/{{ds}}", (string ds) =>
        {
            var used = store.GetUsedSegments(ds);
            if (used.Count == 0) return Results.NoContent();
            var size = used.Sum(s => SizeOf(s));
            return Results.Json(new JsonObject
            {
                ["tiers"] = new JsonObject { ["_default_tier"] = new JsonObject { ["size"] = size, ["segmentCount"] = used.Count } },
                ["segments"] = new JsonObject
                {
                    ["count"] = used.Count,
                    ["size"] = size,
                    ["minTime"] = used.Min(s => s.Start),
                    ["maxTime"] = used.Max(s => s.End),
                },
            });
        });

        app.MapGet($"{root}/metadata/datasources/{{ds}}/segments", (string ds, HttpRequest request) =>
        {
            var used = store.GetUsedSegments(ds);
            if (request.Query.ContainsKey("full"))
                return Results.Json(used.Select(s => JsonNode.Parse(s.Payload)).ToList());
            return Results.Json(used.Select(s => s.Id).ToList());
        });

        app.MapGet($"{root}/metadata/datasources/{{ds}}/segments/{{id}}", (string ds, string id) =>
        {
            var segment = store.GetAllSegments(ds).FirstOrDefault(s => s.Id == id);
            return segment is null ? DruidErrors.NotFound($"Segment [{id}] not found") : Results.Text(segment.Payload, "application/json");
        });

        // Percentage of each data source's segments to load (used, and loaded by the retention
        // rules) that the segment cache serves.
        app.MapGet($"{root}/loadstatus", () =>
        {
            var result = new JsonObject();
            foreach (var group in store.GetUsedSegments().GroupBy(s => s.DataSource))
                result[group.Key] = LoadedPercent(group, cache);
            return Results.Json(result);
        });

        app.MapGet($"{root}/datasources/{{ds}}/loadstatus", (string ds) =>
        {
            var used = store.GetUsedSegments(ds);
            if (used.Count == 0) return Results.NoContent();
            return Results.Json(new JsonObject { [ds] = LoadedPercent(used, cache) });
        });

        RulesEndpoints.Map(app, store, cache);
    }

    static double LoadedPercent(IEnumerable<SegmentRecord> used, SegmentCache cache)
    {
        var toLoad = used.Where(s => !cache.IsRuledOut(s.Id)).ToList();
        return toLoad.Count == 0 ? 100.0 : 100.0 * toLoad.Count(s => cache.IsLoaded(s.Id)) / toLoad.Count;
    }

    static long SizeOf(SegmentRecord record) =>
        JsonNode.Parse(record.Payload)?["size"]?.GetValue<long>() ?? 0;
}

namespace FunctionalDruid.Host.Api;

/// <summary>/status and /status/health, which clients and load balancers probe.</summary>
public static class StatusEndpoints
{
    /// <summary>The Druid API level we speak; clients compare it against 0.14.0 and later.</summary>
    public const string DruidVersion = "31.0.0";

    public static void Map(WebApplication app)
    {
        app.MapGet("/status", () => Results.Json(new
        {
            version = DruidVersion,
            modules = Array.Empty<object>(),
            memory = new
            {
                maxMemory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
                totalMemory = GC.GetTotalMemory(false),
                freeMemory = Math.Max(0, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes - GC.GetTotalMemory(false)),
                usedMemory = GC.GetTotalMemory(false),
            },
        }));
        app.MapGet("/status/health", () => Results.Json(true));
        app.MapGet("/status/selfDiscovered", () => Results.Json(new { selfDiscovered = true }));
    }
}

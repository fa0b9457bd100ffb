using System.Text.Json;
using System.Text.Json.Nodes;

namespace FunctionalDruid.Host.Indexing;

/// <summary>Druid's task status codes.</summary>
public static class TaskState
{
    public const string Running = "RUNNING";
    public const string Success = "SUCCESS";
    public const string Failed = "FAILED";
}

/// <summary>The status Druid stores in druid_tasks.status_payload and prints from the task API.</summary>
public sealed record TaskStatusPayload(string Id, string Status, long Duration, string? ErrorMsg)
{
    public string ToJson() => new JsonObject
    {
        ["id"] = Id,
        ["status"] = Status,
        ["duration"] = Duration,
        ["errorMsg"] = ErrorMsg,
        ["location"] = new JsonObject { ["host"] = null, ["port"] = -1, ["tlsPort"] = -1 },
    }.ToJsonString();

    public static TaskStatusPayload? FromJson(string? json)
    {
        if (string.IsNullOrEmpty(json)) return null;
        var o = JsonNode.Parse(json)!.AsObject();
        return new TaskStatusPayload(
            (string?)o["id"] ?? "",
            (string?)o["status"] ?? TaskState.Running,
            (long?)o["duration"] ?? -1,
            (string?)o["errorMsg"]);
    }
}

/// <summary>Row counters and parse errors of one ingestion, as the task report prints them.</summary>
public sealed class IngestionProgress
{
    readonly object _gate = new();
    public long Processed, ProcessedWithError, Unparseable, ThrownAway, ProcessedBytes;
    readonly List<string> _parseErrors = [];
    public const int MaxSavedParseExceptions = 100;

    public void Add(Core.Rollup.RowCounters counters, long bytes)
    {
        lock (_gate)
        {
            Processed += counters.Processed;
            ProcessedWithError += counters.ProcessedWithError;
            Unparseable += counters.Unparseable;
            ThrownAway += counters.ThrownAway;
            ProcessedBytes += bytes;
        }
    }

    public void SaveParseError(string message)
    {
        lock (_gate)
            if (_parseErrors.Count < MaxSavedParseExceptions) _parseErrors.Add(message);
    }

    public JsonObject RowStats()
    {
        lock (_gate)
            return new JsonObject
            {
                ["processed"] = Processed,
                ["processedBytes"] = ProcessedBytes,
                ["processedWithError"] = ProcessedWithError,
                ["thrownAway"] = ThrownAway,
                ["unparseable"] = Unparseable,
            };
    }

    public JsonArray ParseErrors()
    {
        lock (_gate) return new JsonArray(_parseErrors.Select(e => (JsonNode?)JsonValue.Create(e)).ToArray());
    }
}

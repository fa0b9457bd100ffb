using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace FunctionalDruid.Bench.ClickBench;

/// <summary>
/// Samples the process's allocations by type (the runtime's allocation tick: one event per
/// ~100 KB allocated, naming the type that crossed the mark), so that a query whose time goes
/// to garbage collection shows what it allocates. Diagnostics only (`--allocations`).
/// </summary>
sealed class AllocationSampler : EventListener
{
    const EventKeywords GcKeyword = (EventKeywords)0x1;
    readonly ConcurrentDictionary<string, long> bytesByType = new();
    volatile bool listening;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(source, EventLevel.Verbose, GcKeyword);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!listening || e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload is null) return;
        var typeIndex = e.PayloadNames!.IndexOf("TypeName");
        var amountIndex = e.PayloadNames.IndexOf("AllocationAmount64");
        if (typeIndex < 0 || amountIndex < 0) return;
        var type = e.Payload[typeIndex] as string ?? "?";
        var amount = Convert.ToInt64(e.Payload[amountIndex]);
        bytesByType.AddOrUpdate(type, amount, (_, total) => total + amount);
    }

    public void Start()
    {
        bytesByType.Clear();
        listening = true;
    }

    /// <summary>The sampled megabytes of the most allocated types since <see cref="Start"/>.</summary>
    public string Stop(int top)
    {
        listening = false;
        var total = bytesByType.Values.Sum();
        var parts = bytesByType.OrderByDescending(p => p.Value).Take(top)
            .Select(p => $"{ShortName(p.Key)} {p.Value / 1e6:N0}");
        return $"{total / 1e6:N0} MB: " + string.Join(", ", parts);
    }

    static string ShortName(string type)
    {
        var generic = type.IndexOf('[');
        var head = generic < 0 ? type : type[..generic];
        var dot = head.LastIndexOf('.');
        return (dot < 0 ? type : type[(dot + 1)..]);
    }
}

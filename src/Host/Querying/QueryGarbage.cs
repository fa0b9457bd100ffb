namespace FunctionalDruid.Host.Querying;

/// <summary>
/// Collects garbage that queries leave in the older generations, at the end of a query. A
/// large groupBy's partials and merged groups live through the young collections during the
/// query, which promote them; dead afterwards, they stay until the runtime collects their
/// generation, which on a heap holding GBs of loaded segments comes only after GBs more.
/// Until then every big query takes fresh memory, and each fresh page costs a kernel fault:
/// ClickBench Q9 at 10 M rows faulted ~200 k pages per run (half of its 1-2 s) while gen 1
/// grew by 700 MB a run; collecting after each query, 4-12 k faults and 0.7 s. The
/// collection runs before the answer is sent, so its time counts as the query's.
/// </summary>
public static class QueryGarbage
{
    /// <summary>Garbage worth a collection: gen 1 this large, or the old generation grown by
    /// this much (and by an eighth of what the last full collection kept: marking grows with
    /// the live heap, so a larger heap waits for more garbage).</summary>
    public const long WorthCollectingBytes = 256L << 20;

    static int _collecting;

    /// <summary>The generation to collect (2 full, 1 young and gen 1, -1 none), given the
    /// old generation (gen 2, large and pinned objects) as the last full collection left it
    /// (null before the first) and as the latest collection left it, and gen 1's size.</summary>
    public static int GenerationToCollect(long? keptByLastFull, long oldNow, long gen1Now) =>
        keptByLastFull is { } kept && oldNow - kept >= Math.Max(WorthCollectingBytes, kept / 8) ? 2
        : gen1Now >= WorthCollectingBytes ? 1
        : -1;

    static long OldGenerationAfter(GCMemoryInfo info)
    {
        var generations = info.GenerationInfo;
        long size = 0;
        for (var g = 2; g < generations.Length; g++) size += generations[g].SizeAfterBytes;
        return size;
    }

    /// <summary>Called when a query's work is done (its partials and groups are garbage now).
    /// One query at a time collects; the others go on.</summary>
    public static void AfterQuery()
    {
        var latest = GC.GetGCMemoryInfo(GCKind.Any);
        var full = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        var background = GC.GetGCMemoryInfo(GCKind.Background);
        var lastFull = background.Index > full.Index ? background : full;
        var generation = GenerationToCollect(
            lastFull.Index > 0 ? OldGenerationAfter(lastFull) : null, OldGenerationAfter(latest), latest.GenerationInfo[1].SizeAfterBytes);
        if (generation < 0 || Interlocked.CompareExchange(ref _collecting, 1, 0) != 0) return;
        try { GC.Collect(generation, GCCollectionMode.Forced, blocking: true, compacting: false); }
        finally { Volatile.Write(ref _collecting, 0); }
    }
}

using FunctionalDruid.Core;
using Microsoft.FSharp.Collections;

namespace FunctionalDruid.Host.Streaming;

/// <summary>
/// Keeps a streaming task's realtime parts few without merging the same rows over and over.
/// Every realtime query snapshots the rows read since the previous one into a new part, so
/// parts pile up at the query rate. Merging all of them whenever there are too many (the
/// simple policy) rewrites every row read so far each time: quadratic in the rows. Here parts
/// fall into size tiers (×<see cref="FanIn"/> rows per tier) and only a tier that has gathered
/// <see cref="FanIn"/> parts merges, into one part of a higher tier: each row is merged about
/// log_FanIn(rows) times, and at most (FanIn − 1) parts stay in each tier.
/// </summary>
public static class RealtimeParts
{
    public const int FanIn = 16;

    /// <summary>More parts than this merge their smallest tier even before it is full.</summary>
    public const int MaxParts = 48;

    static int Tier(int rows)
    {
        var tier = 0;
        for (long bound = FanIn; rows >= bound; bound *= FanIn) tier++;
        return tier;
    }

    /// <summary>
    /// Merges, in place, every run of <see cref="FanIn"/> adjacent parts of one tier (and the
    /// newest parts when there are more than <see cref="MaxParts"/>). A merged part takes its
    /// members' place, so rows keep their arrival order, as merging every part would.
    /// </summary>
    public static void Compact(IngestSpec.IngestSpec spec, List<SegmentContent> parts) =>
        Compact(spec, parts, p => p.Times.Length, p => p, merged => merged, _ => { });

    /// <summary>
    /// The same over parts that wrap their content (persists that may live on disk): the merge
    /// reads members through <paramref name="content"/>, wraps the result with
    /// <paramref name="wrap"/> and lets each member go with <paramref name="discard"/>.
    /// </summary>
    public static void Compact<T>(IngestSpec.IngestSpec spec, List<T> parts, Func<T, int> rows,
        Func<T, SegmentContent> content, Func<SegmentContent, T> wrap, Action<T> discard)
    {
        while (FindRun(parts, rows) is var (start, count) && count > 1)
        {
            var members = parts.GetRange(start, count);
            if (Rollup.merge(spec, ListModule.OfSeq(members.Select(content))) is not { } merged) return;
            foreach (var member in members) discard(member);
            parts.RemoveRange(start, count);
            parts.Insert(start, wrap(merged.Value));
        }
    }

    static (int Start, int Count) FindRun<T>(List<T> parts, Func<T, int> rows)
    {
        var runStart = 0;
        for (var i = 1; i <= parts.Count; i++)
        {
            if (i < parts.Count && Tier(rows(parts[i])) == Tier(rows(parts[runStart]))) continue;
            if (i - runStart >= FanIn) return (runStart, i - runStart);
            runStart = i;
        }
        return parts.Count > MaxParts ? (parts.Count - FanIn, FanIn) : (0, 0);
    }
}

using FunctionalDruid.Core;

namespace FunctionalDruid.Host.Querying;

/// <summary>
/// Rows that stream ingestion tasks have read but whose segments are not yet served by the
/// segment cache. A task group answers through one replica only, and stops answering once the
/// segments it published are among <paramref name="leasedSegmentIds"/>, so every row is
/// counted once whatever the number of replicas and whenever handoff happens.
/// </summary>
public interface IRealtimeSegments
{
    IEnumerable<QuerySlices.SegmentSlice> SlicesFor(string dataSource, IReadOnlyList<Time.Interval> intervals, IReadOnlySet<string> leasedSegmentIds);
}

using FunctionalDruid.Core;

namespace FunctionalDruid.Host.Indexing;

/// <summary>
/// Where a task's intermediate persists live: snapshots stay in memory while they fit the task's
/// byte budget (columnar, far smaller than the index that made them); beyond it they are written
/// as segment files into the task's work dir and read back when the task merges them. Batch and
/// Kafka tasks share it; the work dir goes away with the task (or, after a crash, at the next start).
/// </summary>
public sealed class IntermediatePersists(string workDir, string prefix, long maxBytes)
{
    long _retainedBytes;
    int _sequence;

    /// <summary>Keeps a snapshot in memory if it fits the budget (returns null), else writes it to a file and returns the path.</summary>
    public string? SpillIfOverBudget(SegmentContent content)
    {
        var size = EstimatedBytes(content);
        if (_retainedBytes + size <= maxBytes)
        {
            _retainedBytes += size;
            return null;
        }
        Directory.CreateDirectory(workDir);
        var path = Path.Combine(workDir, $"{prefix}-{_sequence++}.fdseg");
        File.WriteAllBytes(path, SegmentFormat.write(content));
        return path;
    }

    /// <summary>A snapshot kept in memory was merged away: its bytes return to the budget.</summary>
    public void Released(SegmentContent content) => _retainedBytes = Math.Max(0, _retainedBytes - EstimatedBytes(content));

    /// <summary>Rough heap size of a snapshot: times, one int or number per cell, dictionary text.</summary>
    public static long EstimatedBytes(SegmentContent content)
    {
        long rows = content.Times.Length;
        long bytes = rows * 8 + rows * 8 * content.Metrics.Length;
        foreach (var (_, column) in content.Dimensions)
        {
            bytes += rows * 8;
            if (column is ColumnData.Strings s)
                foreach (var v in s.Item.Dictionary) bytes += 24 + 2L * (v?.Length ?? 0);
        }
        return bytes;
    }

    public static SegmentContent Read(string path)
    {
        var opened = SegmentFormat.tryOpen(new ReadOnlyMemory<byte>(File.ReadAllBytes(path)));
        if (opened.IsError) throw new TaskFailure($"Intermediate persist {path} is unreadable: {opened.ErrorValue}");
        return SegmentFormat.readContent(opened.ResultValue);
    }

    /// <summary>Removes a work dir and what is in it, if it is there.</summary>
    public static void Discard(string workDir)
    {
        try { if (Directory.Exists(workDir)) Directory.Delete(workDir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

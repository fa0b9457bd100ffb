using FunctionalDruid.Core;

namespace FunctionalDruid.Host.Storage;

/// <summary>Deep storage in a local (or shared, mounted) directory, laid out as Druid's local
/// deep storage is: dataSource/interval/version/partition/.</summary>
public sealed class LocalDeepStorage(string root)
{
    public string Root { get; } = root;

    public Segment.DataSegment Push(Segment.DataSegment segment, byte[] file)
    {
        var interval = $"{Time.formatIso(segment.Interval.Start)}_{Time.formatIso(segment.Interval.End)}";
        var dir = Path.Combine(Root, Sanitize(segment.DataSource), interval, Sanitize(segment.Version),
            Segment.partitionNum(segment.ShardSpec).ToString());
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "index.fdseg");
        // Write then rename, so a crash never leaves a half file under the final name.
        var temp = path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        File.WriteAllBytes(temp, file);
        File.Move(temp, path, overwrite: true);
        return Publish.pushedToLocal(segment, path, file.LongLength);
    }

    static string Sanitize(string name) => name.Replace('/', '_').Replace('\\', '_');
}

using System.Globalization;
using System.Text;

namespace FunctionalDruid.Bench.Ingest;

/// <summary>What was generated: the files (one per part, so the task gets one split per core)
/// and the shape every benchmark step relies on.</summary>
public sealed record GeneratedData(string Folder, IReadOnlyList<string> Files, long Rows, long Bytes);

/// <summary>
/// Writes the benchmark's JSON lines. Each part has its own fixed seed, so parts are generated
/// in parallel and a run is reproducible. Dimension values follow a Zipf distribution with
/// exponent 1 (value rank k is drawn with probability proportional to 1/k), the usual skew of
/// real event data; timestamps are uniform over one day and not sorted.
/// </summary>
public static class DataGenerator
{
    public const string FilePattern = "part-*.json";
    public const string Day = "2024-01-01";
    public static readonly int[] Cardinalities = [10, 20, 50, 100, 500, 1_000, 5_000, 10_000, 50_000, 100_000];
    public static readonly string[] Dimensions = Cardinalities.Select((_, i) => $"d{i + 1}").ToArray();
    public static readonly string[] LongMetrics = ["clicks", "bytes", "latency_us"];
    public static readonly string[] DoubleMetrics = ["price", "score"];
    const double ZipfExponent = 1.0;
    const int FormatVersion = 1;

    /// <summary>Generates the files into <paramref name="folder"/>, or reuses them when a manifest
    /// there says they were made with the same rows, parts and seed.</summary>
    public static GeneratedData GenerateOrReuse(string folder, long rows, int parts, int seed)
    {
        Directory.CreateDirectory(folder);
        var manifestPath = Path.Combine(folder, "bench-manifest.txt");
        var manifest = $"version={FormatVersion} rows={rows} parts={parts} seed={seed}";
        var files = Enumerable.Range(0, parts).Select(p => Path.Combine(folder, $"part-{p:D3}.json")).ToList();
        if (File.Exists(manifestPath) && File.ReadAllText(manifestPath).Trim() == manifest && files.All(File.Exists))
            return new GeneratedData(folder, files, rows, files.Sum(f => new FileInfo(f).Length));

        foreach (var stale in Directory.EnumerateFiles(folder, FilePattern)) File.Delete(stale);
        File.Delete(manifestPath);
        var cdfs = Cardinalities.Select(ZipfCdf).ToArray();
        var values = Cardinalities.Select(c => Enumerable.Range(0, c).Select(k => "v" + k.ToString(CultureInfo.InvariantCulture)).ToArray()).ToArray();
        Parallel.For(0, parts, p =>
        {
            var first = rows * p / parts;
            var count = rows * (p + 1) / parts - first;
            WritePart(files[p], count, seed + p, cdfs, values);
        });
        File.WriteAllText(manifestPath, manifest + "\n");
        return new GeneratedData(folder, files, rows, files.Sum(f => new FileInfo(f).Length));
    }

    static double[] ZipfCdf(int cardinality)
    {
        var cdf = new double[cardinality];
        double sum = 0;
        for (var k = 0; k < cardinality; k++)
        {
            sum += 1.0 / Math.Pow(k + 1, ZipfExponent);
            cdf[k] = sum;
        }
        for (var k = 0; k < cardinality; k++) cdf[k] /= sum;
        return cdf;
    }

    static int SampleRank(double[] cdf, double u)
    {
        var i = Array.BinarySearch(cdf, u);
        if (i < 0) i = ~i;
        return Math.Min(i, cdf.Length - 1);
    }

    static void WritePart(string path, long count, int seed, double[][] cdfs, string[][] values)
    {
        var random = new Random(seed);
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false), bufferSize: 1 << 20);
        Span<char> number = stackalloc char[32];
        var timestamp = $"{Day}T00:00:00.000Z".ToCharArray();
        for (long row = 0; row < count; row++)
        {
            FormatTime(timestamp, random.Next(0, 86_400_000));
            writer.Write("{\"timestamp\":\"");
            writer.Write(timestamp);
            writer.Write('"');
            for (var d = 0; d < cdfs.Length; d++)
            {
                writer.Write(",\"");
                writer.Write(Dimensions[d]);
                writer.Write("\":\"");
                writer.Write(values[d][SampleRank(cdfs[d], random.NextDouble())]);
                writer.Write('"');
            }
            WriteLong(writer, "clicks", random.Next(0, 100), number);
            WriteLong(writer, "bytes", random.Next(0, 1_000_000), number);
            WriteLong(writer, "latency_us", random.NextInt64(0, 10_000_000_000), number);
            // price has three exact decimals; score is a full-precision double.
            var milli = random.Next(0, 10_000_000);
            writer.Write(",\"price\":");
            (milli / 1000).TryFormat(number, out var written, default, CultureInfo.InvariantCulture);
            writer.Write(number[..written]);
            writer.Write('.');
            (milli % 1000).TryFormat(number, out written, "D3", CultureInfo.InvariantCulture);
            writer.Write(number[..written]);
            writer.Write(",\"score\":");
            random.NextDouble().TryFormat(number, out written, "R", CultureInfo.InvariantCulture);
            writer.Write(number[..written]);
            writer.Write("}\n");
        }
    }

    static void WriteLong(StreamWriter writer, string name, long value, Span<char> buffer)
    {
        writer.Write(",\"");
        writer.Write(name);
        writer.Write("\":");
        value.TryFormat(buffer, out var written, default, CultureInfo.InvariantCulture);
        writer.Write(buffer[..written]);
    }

    static void FormatTime(char[] iso, int millisOfDay)
    {
        var hours = millisOfDay / 3_600_000;
        var minutes = millisOfDay / 60_000 % 60;
        var seconds = millisOfDay / 1000 % 60;
        var millis = millisOfDay % 1000;
        // "2024-01-01T" is 11 characters; the rest is HH:mm:ss.fffZ.
        Two(iso, 11, hours);
        Two(iso, 14, minutes);
        Two(iso, 17, seconds);
        iso[20] = (char)('0' + millis / 100);
        iso[21] = (char)('0' + millis / 10 % 10);
        iso[22] = (char)('0' + millis % 10);
    }

    static void Two(char[] s, int at, int v)
    {
        s[at] = (char)('0' + v / 10);
        s[at + 1] = (char)('0' + v % 10);
    }
}

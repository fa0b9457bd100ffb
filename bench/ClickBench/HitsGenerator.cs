using System.Globalization;
using System.Text;

namespace FunctionalDruid.Bench.ClickBench;

/// <summary>The generated files and their shape.</summary>
public sealed record HitsData(string Folder, IReadOnlyList<string> Files, long Rows, long Bytes);

/// <summary>One column of the generated <c>hits</c> table: its name, Druid dimension type and DuckDB type.</summary>
public sealed record HitsColumn(string Name, string DruidType, string DuckType);

/// <summary>
/// Writes a <c>hits</c>-shaped table as JSON lines: only the 25 columns the 43 ClickBench queries
/// use, with skews like the real Yandex.Metrica sample (CounterID 62 the busiest counter,
/// SearchPhrase mostly empty, URLs and users in the hundreds of thousands to millions, one
/// WatchID per hit). Popular values follow a log-uniform rank law (rank k with probability
/// ≈ 1/(k ln n)), a Zipf exponent of 1. Times are uniform over July 2013 with milliseconds (so
/// ORDER BY EventTime rarely ties). Dictionaries come from the base seed and each part from seed
/// + part, so parts are written in parallel and every run with the same options is identical.
/// </summary>
public static class HitsGenerator
{
    public const string FilePattern = "part-*.json";
    const int FormatVersion = 1;
    /// <summary>The constants Q41 and Q42 filter on go to the most popular Referer and URL, so those queries find rows.</summary>
    public const long PopularRefererHash = 3594120000172545465L;
    public const long PopularUrlHash = 2868770270353813622L;
    /// <summary>Q20's user: a few hits carry it.</summary>
    public const long LookedUpUser = 435090932899640449L;
    public static readonly DateTime July = new(2013, 7, 1, 0, 0, 0, DateTimeKind.Utc);
    const long MonthMillis = 31L * 86_400_000L;

    /// <summary>Column order as in ClickBench's table (EventTime first here: it becomes __time).</summary>
    public static readonly HitsColumn[] Columns =
    [
        new("WatchID", "long", "BIGINT"), new("Title", "string", "VARCHAR"), new("EventDate", "string", "DATE"),
        new("CounterID", "long", "INTEGER"), new("ClientIP", "long", "INTEGER"), new("RegionID", "long", "INTEGER"),
        new("UserID", "long", "BIGINT"), new("URL", "string", "VARCHAR"), new("Referer", "string", "VARCHAR"),
        new("IsRefresh", "long", "SMALLINT"), new("ResolutionWidth", "long", "SMALLINT"), new("MobilePhone", "long", "SMALLINT"),
        new("MobilePhoneModel", "string", "VARCHAR"), new("TraficSourceID", "long", "SMALLINT"), new("SearchEngineID", "long", "SMALLINT"),
        new("SearchPhrase", "string", "VARCHAR"), new("AdvEngineID", "long", "SMALLINT"), new("WindowClientWidth", "long", "SMALLINT"),
        new("WindowClientHeight", "long", "SMALLINT"), new("IsLink", "long", "SMALLINT"), new("IsDownload", "long", "SMALLINT"),
        new("DontCountHits", "long", "SMALLINT"), new("RefererHash", "long", "BIGINT"), new("URLHash", "long", "BIGINT"),
    ];

    public static HitsData GenerateOrReuse(string folder, long rows, int parts, int seed)
    {
        Directory.CreateDirectory(folder);
        var manifestPath = Path.Combine(folder, "hits-manifest.txt");
        var manifest = $"version={FormatVersion} rows={rows} parts={parts} seed={seed}";
        var files = Enumerable.Range(0, parts).Select(p => Path.Combine(folder, $"part-{p:D3}.json")).ToList();
        if (File.Exists(manifestPath) && File.ReadAllText(manifestPath).Trim() == manifest && files.All(File.Exists))
            return new HitsData(folder, files, rows, files.Sum(f => new FileInfo(f).Length));
        foreach (var stale in Directory.EnumerateFiles(folder, FilePattern)) File.Delete(stale);
        File.Delete(manifestPath);
        var dictionaries = new Dictionaries(rows, seed);
        Parallel.For(0, parts, p =>
        {
            var first = rows * p / parts;
            WritePart(files[p], rows * (p + 1) / parts - first, seed + 1 + p, dictionaries);
        });
        File.WriteAllText(manifestPath, manifest + "\n");
        return new HitsData(folder, files, rows, files.Sum(f => new FileInfo(f).Length));
    }

    /// <summary>Rank in [0, n): log-uniform, so rank k comes up with probability ≈ 1/(k ln n).</summary>
    static int Skewed(Random random, int n) => Math.Min(n - 1, (int)Math.Pow(n + 1, random.NextDouble()) - 1);

    sealed class Dictionaries
    {
        public readonly string[] Urls, Referers, Titles, Phrases, Models;
        public readonly long[] UrlHashes, RefererHashes, Users, ClientIps;
        public readonly (int W, int H)[] Windows;

        public Dictionaries(long rows, int seed)
        {
            var random = new Random(seed);
            var words = Words(random, 3000);
            var hosts = Enumerable.Range(0, 6000).Select(i => Host(random, words, i)).ToArray();
            Urls = Distinct(Math.Max(200, (int)(rows / 6)), () => Url(random, words, hosts, random.Next(20) == 0 ? "search" : null));
            Referers = Distinct(Math.Max(200, (int)(rows / 12)), () => Url(random, words, hosts, null));
            Titles = Distinct(Math.Max(200, (int)(rows / 15)), () => Title(random, words));
            Phrases = Distinct(Math.Max(100, (int)(rows / 40)), () => Phrase(random, words));
            Models = Distinct(160, () => Model(random));
            UrlHashes = Urls.Select(Hash).ToArray();
            UrlHashes[0] = PopularUrlHash;
            RefererHashes = Referers.Select(Hash).ToArray();
            RefererHashes[0] = PopularRefererHash;
            // Kept below 5·10^18 / rows so SUM(UserID) fits a long, as AVG(UserID) needs in both engines.
            var userRange = Math.Max(1_000_000L, 5_000_000_000_000_000_000L / Math.Max(rows, 1));
            Users = Enumerable.Range(0, Math.Max(100, (int)(rows / 8))).Select(_ => 1 + random.NextInt64(userRange)).ToArray();
            ClientIps = Enumerable.Range(0, Math.Max(100, (int)(rows / 10))).Select(_ => (long)random.Next(int.MinValue, int.MaxValue)).ToArray();
            Windows = Enumerable.Range(0, 400).Select(i => i == 0 ? (0, 0) : (random.Next(300, 2000), random.Next(200, 1200))).ToArray();
        }

        static string[] Distinct(int count, Func<string> make)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var result = new List<string>(count);
            for (var tries = 0; result.Count < count && tries < count * 4; tries++)
            {
                var s = make();
                if (seen.Add(s)) result.Add(s);
            }
            return result.ToArray();
        }
    }

    static readonly string[] Fixed = ["news", "sport", "video", "google", "Google", "weather", "shop", "cart", "movie", "film", "games", "music", "auto", "maps", "mail", "search"];
    static readonly string[] Syllables = ["ka", "ro", "mi", "ne", "to", "va", "li", "sa", "po", "de", "zu", "gi", "lo", "ta", "ve", "ra", "ni", "ko", "bu", "me"];

    static string[] Words(Random random, int count)
    {
        var result = new string[count];
        for (var i = 0; i < count; i++)
        {
            if (i < Fixed.Length) { result[i] = Fixed[i]; continue; }
            var sb = new StringBuilder();
            for (var s = random.Next(2, 5); s > 0; s--) sb.Append(Syllables[random.Next(Syllables.Length)]);
            result[i] = sb.ToString();
        }
        return result;
    }

    static readonly string[] Zones = [".ru", ".com", ".net", ".org", ".ua", ".by", ".kz", ".info"];

    static string Host(Random random, string[] words, int index) => index switch
    {
        0 => "www.google.ru",
        3 => "images.google.com",
        7 => "maps.google.com",
        _ => (random.Next(3) == 0 ? "www." : "") + words[Fixed.Length + random.Next(words.Length - Fixed.Length)] + Zones[random.Next(Zones.Length)],
    };

    static string Url(Random random, string[] words, string[] hosts, string? firstSegment)
    {
        var sb = new StringBuilder(random.Next(10) == 0 ? "https://" : "http://");
        sb.Append(hosts[Skewed(random, hosts.Length)]).Append('/');
        if (firstSegment is not null) sb.Append(firstSegment).Append('/');
        for (var s = random.Next(0, 4); s > 0; s--) sb.Append(words[Skewed(random, words.Length)]).Append('/');
        if (random.Next(3) == 0) sb.Append(words[random.Next(words.Length)]).Append(".html");
        if (random.Next(2) == 0) sb.Append("?id=").Append(random.Next(1_000_000).ToString(CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    static string Title(Random random, string[] words)
    {
        var sb = new StringBuilder();
        for (var w = random.Next(2, 7); w > 0; w--)
        {
            if (sb.Length > 0) sb.Append(' ');
            var word = words[Skewed(random, words.Length)];
            sb.Append(char.ToUpperInvariant(word[0])).Append(word, 1, word.Length - 1);
        }
        if (random.Next(6) == 0) sb.Append(" - ").Append(random.Next(4) == 0 ? "Google" : "Yandex");
        return sb.ToString();
    }

    static string Phrase(Random random, string[] words)
    {
        var sb = new StringBuilder();
        for (var w = random.Next(1, 5); w > 0; w--)
        {
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(words[Skewed(random, words.Length)]);
        }
        if (random.Next(8) == 0) sb.Append(' ').Append(random.Next(1990, 2014).ToString(CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    static readonly string[] Brands = ["iPhone", "iPad", "GT-I", "GT-S", "HTC", "Nokia", "Lumia", "SM-N", "LG-P", "Xperia"];

    static string Model(Random random) => Brands[random.Next(Brands.Length)] + (random.Next(3) == 0 ? "" : random.Next(100, 9999).ToString(CultureInfo.InvariantCulture));

    /// <summary>FNV-1a, folded to 63 bits plus sign: stands in for the real table's CityHash of the URL.</summary>
    static long Hash(string s)
    {
        var h = 14695981039346656037UL;
        foreach (var c in s) { h ^= c; h *= 1099511628211UL; }
        return (long)h;
    }

    static readonly int[] Resolutions = [1366, 1920, 1280, 1440, 1600, 1024, 1680, 1536, 360, 375, 414, 768, 0, 1280, 2560, 320, 800];
    static readonly int[] TrafficSources = [0, 1, 0, 2, -1, 0, 3, 6, 1, 0, 4, 5, 2, 7, 8, 9, 10, -1, 6, 0];

    static void WritePart(string path, long count, int seed, Dictionaries d)
    {
        var random = new Random(seed);
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        var sb = new StringBuilder(1024);
        for (long i = 0; i < count; i++)
        {
            var millis = random.NextInt64(MonthMillis);
            var time = July.AddMilliseconds(millis);
            var counterRank = Skewed(random, 7000);
            var counter = counterRank == 0 ? 62 : 100 + counterRank;
            var hasPhrase = random.Next(100) < 13;
            var phrase = hasPhrase ? d.Phrases[Skewed(random, d.Phrases.Length)] : "";
            var searchEngine = hasPhrase ? 1 + Skewed(random, 20) : 0;
            var mobile = random.Next(100) < 8 ? 1 + Skewed(random, 80) : 0;
            var model = mobile == 0 ? "" : d.Models[Skewed(random, d.Models.Length)];
            var urlRank = random.Next(100) == 0 ? -1 : Skewed(random, d.Urls.Length);
            var refererRank = random.Next(100) < 40 ? -1 : Skewed(random, d.Referers.Length);
            var titleRank = random.Next(100) < 8 ? -1 : Skewed(random, d.Titles.Length);
            var user = random.Next(2_000_000) == 0 ? LookedUpUser : d.Users[Skewed(random, d.Users.Length)];
            var window = d.Windows[Skewed(random, d.Windows.Length)];
            sb.Clear();
            sb.Append("{\"EventTime\":").Append(time.Ticks / TimeSpan.TicksPerMillisecond - 62135596800000L);
            sb.Append(",\"WatchID\":").Append(random.NextInt64(1, long.MaxValue));
            Str(sb, "Title", titleRank < 0 ? "" : d.Titles[titleRank]);
            Str(sb, "EventDate", time.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            Num(sb, "CounterID", counter);
            Num(sb, "ClientIP", d.ClientIps[Skewed(random, d.ClientIps.Length)]);
            Num(sb, "RegionID", 1 + (long)Skewed(random, 9000) * 7919 % 30011);
            Num(sb, "UserID", user);
            Str(sb, "URL", urlRank < 0 ? "" : d.Urls[urlRank]);
            Str(sb, "Referer", refererRank < 0 ? "" : d.Referers[refererRank]);
            Num(sb, "IsRefresh", random.Next(100) < 9 ? 1 : 0);
            Num(sb, "ResolutionWidth", Resolutions[Skewed(random, Resolutions.Length)]);
            Num(sb, "MobilePhone", mobile);
            Str(sb, "MobilePhoneModel", model);
            Num(sb, "TraficSourceID", TrafficSources[Skewed(random, TrafficSources.Length)]);
            Num(sb, "SearchEngineID", searchEngine);
            Str(sb, "SearchPhrase", phrase);
            Num(sb, "AdvEngineID", random.Next(100) < 3 ? 1 + Skewed(random, 40) : 0);
            Num(sb, "WindowClientWidth", window.W);
            Num(sb, "WindowClientHeight", window.H);
            Num(sb, "IsLink", random.Next(100) < 4 ? 1 : 0);
            Num(sb, "IsDownload", random.Next(100) < 1 ? 1 : 0);
            Num(sb, "DontCountHits", random.Next(100) < 2 ? 1 : 0);
            Num(sb, "RefererHash", refererRank < 0 ? 0 : d.RefererHashes[refererRank]);
            Num(sb, "URLHash", urlRank < 0 ? 0 : d.UrlHashes[urlRank]);
            sb.Append('}');
            writer.WriteLine(sb);
        }
    }

    // Generated strings hold only letters, digits, spaces and URL punctuation: nothing to escape.
    static void Str(StringBuilder sb, string name, string value) => sb.Append(",\"").Append(name).Append("\":\"").Append(value).Append('"');

    static void Num(StringBuilder sb, string name, long value) => sb.Append(",\"").Append(name).Append("\":").Append(value);
}

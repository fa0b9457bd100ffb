using System.Globalization;

namespace FunctionalDruid.Host.Config;

/// <summary>
/// The server's settings under Druid's property names. Sources, later ones winning:
/// built-in defaults, a runtime.properties file (--config), environment variables
/// (druid_plaintextPort or DRUID_PLAINTEXTPORT style, as Druid's Docker images use), and
/// command-line flags (--name=value, plus the shortcuts --port and --data-dir).
/// </summary>
public sealed class ServerConfig
{
    readonly Dictionary<string, string> _props;

    ServerConfig(Dictionary<string, string> props) => _props = props;

    public string? Get(string name) => _props.TryGetValue(name, out var v) ? v : null;
    public string Get(string name, string fallback) => Get(name) ?? fallback;

    public int GetInt(string name, int fallback)
    {
        var v = Get(name);
        if (v is null) return fallback;
        if (int.TryParse(v.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)) return i;
        throw new ConfigException($"Property {name} must be a whole number, got \"{v}\"");
    }

    public IReadOnlyDictionary<string, string> All => _props;

    /// <summary>Root of all local state (metadata database, deep storage, segment cache, task logs).</summary>
    public string DataDir => Path.GetFullPath(Get("druid.dataDir", "var"));
    public int Port => GetInt("druid.plaintextPort", 8888);
    public string Host => Get("druid.host", "127.0.0.1");
    public string MetadataType => Get("druid.metadata.storage.type", "sqlite").Trim().ToLowerInvariant();
    public string? MetadataUri => Get("druid.metadata.storage.connector.connectURI");
    public string? MetadataUser => Get("druid.metadata.storage.connector.user");
    public string? MetadataPassword => Get("druid.metadata.storage.connector.password");
    public string StorageType => Get("druid.storage.type", "local").Trim().ToLowerInvariant();
    public string StorageDirectory => Path.GetFullPath(Get("druid.storage.storageDirectory", Path.Combine(DataDir, "druid", "segments")));
    public string SegmentCacheDirectory => SegmentCachePath(Get("druid.segmentCache.locations"));
    public int WorkerCapacity => GetInt("druid.worker.capacity", Math.Max(2, Environment.ProcessorCount));

    /// <summary>druid.ingestion.localInputSource.allowedBaseDirs: a JSON list or comma list; empty allows any.</summary>
    public IReadOnlyList<string> AllowedLocalInputDirs
    {
        get
        {
            var raw = Get("druid.ingestion.localInputSource.allowedBaseDirs");
            if (string.IsNullOrWhiteSpace(raw)) return [];
            return raw.Trim().TrimStart('[').TrimEnd(']').Split(',')
                .Select(s => s.Trim().Trim('"').Trim())
                .Where(s => s.Length > 0)
                .Select(Path.GetFullPath)
                .ToList();
        }
    }

    string SegmentCachePath(string? locations)
    {
        var fallback = Path.Combine(DataDir, "druid", "segment-cache");
        if (string.IsNullOrWhiteSpace(locations)) return fallback;
        // Druid's form: [{"path":"var/druid/segment-cache","maxSize":"300g"}]
        var i = locations.IndexOf("\"path\"", StringComparison.Ordinal);
        if (i < 0) return Path.GetFullPath(locations.Trim());
        var start = locations.IndexOf('"', locations.IndexOf(':', i) + 1) + 1;
        var end = locations.IndexOf('"', start);
        return start > 0 && end > start ? Path.GetFullPath(locations[start..end]) : fallback;
    }

    public static ServerConfig FromArgs(string[] args, IDictionary<string, string>? environment = null)
    {
        var props = new Dictionary<string, string>(StringComparer.Ordinal);
        string? configFile = null;
        var flags = new List<(string, string)>();
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--")) throw new ConfigException($"Unexpected argument \"{a}\": use --name=value, --port N, --data-dir PATH or --config FILE");
            var body = a[2..];
            string name, value;
            var eq = body.IndexOf('=');
            if (eq >= 0) { name = body[..eq]; value = body[(eq + 1)..]; }
            else
            {
                if (i + 1 >= args.Length) throw new ConfigException($"Flag --{body} needs a value");
                name = body; value = args[++i];
            }
            switch (name)
            {
                case "config": configFile = value; break;
                case "port": flags.Add(("druid.plaintextPort", value)); break;
                case "data-dir": flags.Add(("druid.dataDir", value)); break;
                default: flags.Add((name, value)); break;
            }
        }
        if (configFile is not null)
        {
            if (!File.Exists(configFile)) throw new ConfigException($"Config file {configFile} does not exist");
            foreach (var (k, v) in ParseProperties(File.ReadAllText(configFile))) props[k] = v;
        }
        var env = environment ?? Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "");
        foreach (var (k, v) in env)
        {
            if (k.StartsWith("druid_", StringComparison.Ordinal)) props["druid." + k[6..].Replace('_', '.')] = v;
            else if (k.StartsWith("druid.", StringComparison.Ordinal)) props[k] = v;
        }
        foreach (var (k, v) in flags) props[k] = v;
        var config = new ServerConfig(props);
        config.Validate();
        return config;
    }

    /// <summary>Java .properties lines: key=value or key: value, # and ! comments.</summary>
    public static IEnumerable<(string, string)> ParseProperties(string text)
    {
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.Length == 0 || line[0] == '#' || line[0] == '!') continue;
            var sep = line.IndexOfAny(['=', ':']);
            if (sep < 0) { yield return (line, ""); continue; }
            yield return (line[..sep].Trim(), line[(sep + 1)..].Trim());
        }
    }

    void Validate()
    {
        if (Port is < 0 or > 65535) throw new ConfigException($"druid.plaintextPort must be between 0 and 65535, got {Port}");
        if (MetadataType is not ("sqlite" or "postgresql" or "derby"))
            throw new ConfigException($"druid.metadata.storage.type must be sqlite or postgresql, got \"{MetadataType}\"");
        if (MetadataType == "postgresql" && string.IsNullOrWhiteSpace(MetadataUri))
            throw new ConfigException("druid.metadata.storage.type=postgresql needs druid.metadata.storage.connector.connectURI");
        if (StorageType != "local")
            throw new ConfigException($"druid.storage.type \"{StorageType}\" is not supported; use local");
    }
}

public sealed class ConfigException(string message) : Exception(message);

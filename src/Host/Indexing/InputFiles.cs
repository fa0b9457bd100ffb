using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using FunctionalDruid.Core;

namespace FunctionalDruid.Host.Indexing;

/// <summary>A piece of input a worker reads on its own: one file, or inline data.</summary>
public sealed record InputSplit(string Description, Func<IEnumerable<string>> ReadLines);

/// <summary>Resolves an ingestion spec's input source into splits, enforcing the allow-list of
/// local base directories, and reads lines (gzip files transparently).</summary>
public static class InputFiles
{
    public static IReadOnlyList<InputSplit> Resolve(IngestSpec.InputSource source, IReadOnlyList<string> allowedBaseDirs)
    {
        if (source is IngestSpec.InputSource.Inline inline)
            return [new InputSplit("inline data", () => SplitLines(inline.data))];
        var local = (IngestSpec.InputSource.Local)source;
        var files = new List<string>();
        if (local.files.Any())
        {
            foreach (var f in local.files)
            {
                var full = Path.GetFullPath(f);
                CheckAllowed(full, allowedBaseDirs);
                if (!File.Exists(full)) throw new InputSourceException($"Input file [{f}] does not exist");
                files.Add(full);
            }
        }
        else
        {
            var baseDir = Path.GetFullPath(local.baseDir.Value);
            CheckAllowed(baseDir, allowedBaseDirs);
            if (!Directory.Exists(baseDir)) throw new InputSourceException($"baseDir [{local.baseDir.Value}] does not exist or is not a directory");
            var glob = GlobToRegex(local.filter.Value);
            // Druid matches the filter against file names anywhere below baseDir.
            files.AddRange(Directory.EnumerateFiles(baseDir, "*", SearchOption.AllDirectories)
                .Where(f => glob.IsMatch(Path.GetFileName(f)))
                .Order(StringComparer.Ordinal));
            if (files.Count == 0) throw new InputSourceException($"No files in baseDir [{local.baseDir.Value}] match filter [{local.filter.Value}]");
        }
        return files.Select(f => new InputSplit(f, () => ReadFileLines(f))).ToList();
    }

    static void CheckAllowed(string fullPath, IReadOnlyList<string> allowedBaseDirs)
    {
        if (allowedBaseDirs.Count == 0) return;
        foreach (var dir in allowedBaseDirs)
        {
            var prefix = dir.EndsWith(Path.DirectorySeparatorChar) ? dir : dir + Path.DirectorySeparatorChar;
            if (fullPath == dir || fullPath.StartsWith(prefix, StringComparison.Ordinal)) return;
        }
        throw new InputSourceForbiddenException(
            $"Access to [{fullPath}] is not allowed: druid.ingestion.localInputSource.allowedBaseDirs permits only [{string.Join(", ", allowedBaseDirs)}]");
    }

    public static Regex GlobToRegex(string glob)
    {
        var sb = new StringBuilder("^");
        foreach (var c in glob)
        {
            sb.Append(c switch
            {
                '*' => ".*",
                '?' => ".",
                _ => Regex.Escape(c.ToString()),
            });
        }
        sb.Append('$');
        return new Regex(sb.ToString(), RegexOptions.CultureInvariant);
    }

    static IEnumerable<string> SplitLines(string data)
    {
        using var reader = new StringReader(data);
        while (reader.ReadLine() is { } line) yield return line;
    }

    static IEnumerable<string> ReadFileLines(string path)
    {
        using var file = File.OpenRead(path);
        Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        while (reader.ReadLine() is { } line) yield return line;
    }
}

/// <summary>An input source that cannot be read (400 at submission when detectable).</summary>
public class InputSourceException(string message) : Exception(message);

/// <summary>A path outside the allowed base directories (always 400 at submission).</summary>
public sealed class InputSourceForbiddenException(string message) : InputSourceException(message);

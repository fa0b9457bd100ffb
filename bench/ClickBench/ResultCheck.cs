using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;

namespace FunctionalDruid.Bench.ClickBench;

/// <summary>How two answers to one query are compared.</summary>
public abstract record Check
{
    /// <summary>Same rows in the same order (the query's order is total).</summary>
    public sealed record Ordered : Check;
    /// <summary>Same rows, any order (no ORDER BY, or its key is not in the output).</summary>
    public sealed record AnyOrder : Check;
    /// <summary>ORDER BY these output columns with LIMIT/OFFSET: the key sequence must be equal, and
    /// rows may differ only where their key ties with the first or last row's (a tie cut by the limit
    /// may keep different rows in each engine).</summary>
    public sealed record ByKey(int[] Columns) : Check;
    /// <summary>GROUP BY … LIMIT without ORDER BY: any rows qualify, so only the count is compared.</summary>
    public sealed record CountOnly : Check;

    /// <summary>The check of each of the 43 queries, in file order.</summary>
    public static readonly Check[] ForQueries =
    [
        new Ordered(), new Ordered(), new Ordered(), new Ordered(), new Ordered(), new Ordered(), new Ordered(),
        new ByKey([1]), new ByKey([1]), new ByKey([2]), new ByKey([1]), new ByKey([2]), new ByKey([1]), new ByKey([1]),
        new ByKey([2]), new ByKey([1]), new ByKey([2]), new CountOnly(), new ByKey([3]), new AnyOrder(), new Ordered(),
        new ByKey([2]), new ByKey([3]), new ByKey([0]), new AnyOrder(), new ByKey([0]), new AnyOrder(), new ByKey([1]),
        new ByKey([1]), new Ordered(), new ByKey([2]), new ByKey([2]), new ByKey([2]), new ByKey([1]), new ByKey([2]),
        new ByKey([4]), new ByKey([1]), new ByKey([1]), new ByKey([1]), new ByKey([5]), new ByKey([2]), new ByKey([2]),
        new ByKey([0]),
    ];
}

/// <summary>Brings both engines' cells to one representation (null, long, double or string;
/// timestamps as epoch milliseconds, dates as yyyy-MM-dd) and compares answers.</summary>
public static class ResultCheck
{
    public static object?[][] FromDruid(JsonArray rows) =>
        rows.Select(r => r!.AsArray().Select(FromJson).ToArray()).ToArray();

    static object? FromJson(JsonNode? node)
    {
        if (node is null) return null;
        var value = node.AsValue();
        if (value.TryGetValue<long>(out var l)) return l;
        if (value.TryGetValue<double>(out var d)) return d;
        if (value.TryGetValue<string>(out var s))
            return s.Length == 24 && s[10] == 'T' && s[23] == 'Z' && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
                ? t.ToUnixTimeMilliseconds() : s;
        return node.ToJsonString();
    }

    public static object?[][] FromDuck(List<object?[]> rows) => rows.Select(r => r.Select(FromDuckValue).ToArray()).ToArray();

    static object? FromDuckValue(object? v) => v switch
    {
        null or DBNull => null,
        sbyte or byte or short or ushort or int or uint or long => Convert.ToInt64(v, CultureInfo.InvariantCulture),
        ulong u => u <= long.MaxValue ? (long)u : (double)u,
        BigInteger b => b >= long.MinValue && b <= long.MaxValue ? (long)b : (double)b,
        decimal m => (double)m,
        float f => (double)f,
        double d => d,
        DateTime t => new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)).ToUnixTimeMilliseconds(),
        DateOnly date => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        bool b => b ? 1L : 0L,
        string s => s,
        _ => Convert.ToString(v, CultureInfo.InvariantCulture),
    };

    static bool SameCell(object? a, object? b)
    {
        if (a is null || b is null) return a is null && b is null;
        if (a is string sa || b is string) return a is string x && b is string y && string.Equals(x, y, StringComparison.Ordinal);
        if (a is long la && b is long lb) return la == lb;
        var da = Convert.ToDouble(a, CultureInfo.InvariantCulture);
        var db = Convert.ToDouble(b, CultureInfo.InvariantCulture);
        return Math.Abs(da - db) <= 1e-9 * Math.Max(1.0, Math.Max(Math.Abs(da), Math.Abs(db)));
    }

    static bool SameRow(object?[] a, object?[] b) => a.Length == b.Length && a.Zip(b).All(p => SameCell(p.First, p.Second));

    static string SortKey(object?[] row) => string.Join("\u0001", row.Select(c => c switch
    {
        null => "\u0000",
        double d => d.ToString("G8", CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        _ => c.ToString(),
    }));

    static bool SameBag(IEnumerable<object?[]> a, IEnumerable<object?[]> b)
    {
        var x = a.OrderBy(SortKey, StringComparer.Ordinal).ToArray();
        var y = b.OrderBy(SortKey, StringComparer.Ordinal).ToArray();
        return x.Length == y.Length && x.Zip(y).All(p => SameRow(p.First, p.Second));
    }

    /// <summary>null when the answers agree under the query's check, else what differs.</summary>
    public static string? Compare(Check check, object?[][] ours, object?[][] duck)
    {
        if (ours.Length != duck.Length) return $"{ours.Length} rows vs {duck.Length}";
        if (ours.Length > 0 && ours[0].Length != duck[0].Length) return $"{ours[0].Length} columns vs {duck[0].Length}";
        switch (check)
        {
            case Check.Ordered:
                for (var i = 0; i < ours.Length; i++)
                    if (!SameRow(ours[i], duck[i])) return $"row {i}: {Show(ours[i])} vs {Show(duck[i])}";
                return null;
            case Check.AnyOrder:
                return SameBag(ours, duck) ? null : $"rows differ, e.g. ours {Show(ours.FirstOrDefault())} vs {Show(duck.FirstOrDefault())}";
            case Check.ByKey(var columns):
                object?[] Key(object?[] row) => columns.Select(c => row[c]).ToArray();
                for (var i = 0; i < ours.Length; i++)
                    if (!SameRow(Key(ours[i]), Key(duck[i]))) return $"sort key at row {i}: {Show(ours[i])} vs {Show(duck[i])}";
                if (ours.Length == 0) return null;
                var first = Key(ours[0]);
                var last = Key(ours[^1]);
                bool Inner(object?[] row) => !SameRow(Key(row), first) && !SameRow(Key(row), last);
                return SameBag(ours.Where(Inner), duck.Where(Inner)) ? null : "rows differ away from the limit's ties";
            default:
                return null;
        }
    }

    public static string Show(object?[]? row) => row is null ? "(none)" : "[" + string.Join(", ", row.Select(c => c switch
    {
        null => "null",
        double d => d.ToString("G10", CultureInfo.InvariantCulture),
        string s => s.Length > 40 ? "\"" + s[..40] + "…\"" : "\"" + s + "\"",
        _ => Convert.ToString(c, CultureInfo.InvariantCulture),
    })) + "]";
}

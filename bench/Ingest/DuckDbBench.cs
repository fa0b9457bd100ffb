using System.Diagnostics;
using DuckDB.NET.Data;

namespace FunctionalDruid.Bench.Ingest;

/// <summary>DuckDB's times on the same files: a plain load, the minute rollup over the loaded
/// table, and the rollup read straight from the files in one pass.</summary>
public sealed record DuckDbResult(
    TimeSpan Load,
    TimeSpan Rollup,
    TimeSpan SinglePass,
    string TimestampType,
    MemoryPeaks Memory,
    Totals Rolled);

/// <summary>Runs DuckDB in-process on an in-memory database with its default thread count
/// (one per core), so both engines get the same machine.</summary>
public static class DuckDbBench
{
    public static DuckDbResult Run(GeneratedData data, int threads)
    {
        var glob = Path.Combine(data.Folder, DataGenerator.FilePattern).Replace("'", "''");
        var source = $"read_json('{glob}', format = 'newline_delimited')";
        using var sampler = new MemorySampler();
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        Execute(connection, $"SET threads = {threads}");

        var load = Time(() => Execute(connection, $"CREATE TABLE t AS SELECT * FROM {source}"));
        var timestampType = Scalar(connection, "SELECT data_type FROM information_schema.columns WHERE table_name = 't' AND column_name = 'timestamp'")?.ToString() ?? "?";
        var rollup = Time(() => Execute(connection, $"CREATE TABLE r AS {RollupSelect("t")}"));
        var singlePass = Time(() => Execute(connection, $"CREATE TABLE r2 AS {RollupSelect(source)}"));
        var rolled = ReadTotals(connection, "r");
        var memory = sampler.Stop();
        return new DuckDbResult(load, rollup, singlePass, timestampType, memory, rolled);
    }

    /// <summary>The same rollup our task does: minute buckets of the time, the ten dimensions,
    /// a row count and the sums of the five metrics.</summary>
    static string RollupSelect(string from)
    {
        var dims = string.Join(", ", DataGenerator.Dimensions);
        var sums = string.Join(", ", DataGenerator.LongMetrics.Concat(DataGenerator.DoubleMetrics).Select(m => $"sum({m}) AS {m}"));
        return $"SELECT date_trunc('minute', \"timestamp\") AS minute, {dims}, count(*) AS count, {sums} FROM {from} GROUP BY ALL";
    }

    static Totals ReadTotals(DuckDBConnection connection, string table)
    {
        var sums = string.Join(", ", DataGenerator.LongMetrics.Concat(DataGenerator.DoubleMetrics).Select(m => $"sum({m})::DOUBLE"));
        var longSums = string.Join(", ", DataGenerator.LongMetrics.Select(m => $"sum({m})::BIGINT"));
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*)::BIGINT, sum(count)::BIGINT, {longSums}, {sums} FROM {table}";
        using var reader = command.ExecuteReader();
        reader.Read();
        var longs = DataGenerator.LongMetrics.Select((_, i) => reader.GetInt64(2 + i)).ToArray();
        var doubles = DataGenerator.DoubleMetrics.Select((_, i) => reader.GetDouble(2 + 2 * DataGenerator.LongMetrics.Length + i)).ToArray();
        return new Totals(reader.GetInt64(0), reader.GetInt64(1), longs, doubles);
    }

    static TimeSpan Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed;
    }

    static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    static object? Scalar(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}

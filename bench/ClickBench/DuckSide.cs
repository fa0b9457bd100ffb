using System.Diagnostics;
using DuckDB.NET.Data;

namespace FunctionalDruid.Bench.ClickBench;

/// <summary>DuckDB in-process on an in-memory database, one thread per core, with the same
/// files loaded into a table typed as ClickBench's DuckDB schema (EventTime TIMESTAMP,
/// EventDate DATE, narrow integers).</summary>
public sealed class DuckSide : IDisposable
{
    readonly DuckDBConnection connection;

    public DuckSide(int threads)
    {
        connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        Execute($"SET threads = {threads}");
    }

    public TimeSpan Load(HitsData data)
    {
        var glob = Path.Combine(data.Folder, HitsGenerator.FilePattern).Replace("'", "''");
        var read = string.Join(", ", new[] { "EventTime: 'BIGINT'" }
            .Concat(HitsGenerator.Columns.Select(c => $"{c.Name}: '{(c.DruidType == "long" ? "BIGINT" : "VARCHAR")}'")));
        var select = string.Join(", ", new[] { "epoch_ms(EventTime) AS EventTime" }
            .Concat(HitsGenerator.Columns.Select(c => $"CAST({c.Name} AS {c.DuckType}) AS {c.Name}")));
        var clock = Stopwatch.StartNew();
        Execute($"CREATE TABLE hits AS SELECT {select} FROM read_json('{glob}', format = 'newline_delimited', columns = {{{read}}})");
        return clock.Elapsed;
    }

    public (List<object?[]> Rows, TimeSpan Took) Query(string sql)
    {
        var clock = Stopwatch.StartNew();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var values = new object?[reader.FieldCount];
            reader.GetValues(values!);
            rows.Add(values);
        }
        return (rows, clock.Elapsed);
    }

    void Execute(string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose() => connection.Dispose();
}

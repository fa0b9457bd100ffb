using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace FunctionalDruid.Host.Metadata;

/// <summary>
/// The embedded default store: one SQLite file, &lt;dataDir&gt;/metadata.db, in WAL mode so readers
/// never wait for the writer. Each call takes a pooled connection of its own; write transactions
/// are serialized in-process by a lock, and the busy timeout covers other processes opening the
/// same file.
/// </summary>
public sealed class SqliteMetadataStore : SqlMetadataStore
{
    const int BusyTimeoutMillis = 30_000;

    readonly string _connectionString;
    readonly Lock _writeLock = new();
    volatile bool _walEnabled;

    public string DatabasePath { get; }

    public SqliteMetadataStore(string dataDir, string tablePrefix = "druid") : base(tablePrefix)
    {
        Directory.CreateDirectory(dataDir);
        DatabasePath = Path.Combine(Path.GetFullPath(dataDir), "metadata.db");
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = BusyTimeoutMillis / 1000,
        }.ToString();
    }

    public override string Kind => "sqlite";

    protected override string SerialPrimaryKey => "INTEGER PRIMARY KEY AUTOINCREMENT";

    // SQLite compares TEXT byte-wise (BINARY collation) by default.
    protected override string KeyType => "VARCHAR(255)";

    protected override DbConnection OpenConnection()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        // busy_timeout is per connection; journal_mode is stored in the file, so once is enough.
        pragma.CommandText = _walEnabled
            ? $"PRAGMA busy_timeout={BusyTimeoutMillis};"
            : $"PRAGMA busy_timeout={BusyTimeoutMillis}; PRAGMA journal_mode=WAL;";
        pragma.ExecuteNonQuery();
        _walEnabled = true;
        return connection;
    }

    protected override T Serialized<T>(Func<T> write)
    {
        lock (_writeLock) return write();
    }

    public override void Dispose()
    {
        // Pooled connections keep the file (and its -wal/-shm files) open; release them so the data
        // dir can be moved or deleted once the store is gone.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }
}

using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace FunctionalDruid.Host.Metadata;

/// <summary>
/// The metadata store in SQL common to SQLite and PostgreSQL; subclasses supply connections and
/// the few dialect differences. Table and column names follow Druid's (tables are
/// &lt;prefix&gt;_segments etc., prefix from druid.metadata.storage.tables.base).
/// </summary>
public abstract partial class SqlMetadataStore : IMetadataStore
{
    protected readonly string SegmentsTable, PendingSegmentsTable, DataSourceTable, TasksTable, TaskLocksTable,
        SupervisorsTable, RulesTable, AuditTable, ConfigTable;

    static readonly Regex Identifier = new("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant);

    protected SqlMetadataStore(string tablePrefix)
    {
        // The prefix is spliced into SQL text, so only plain identifiers are accepted.
        if (!Identifier.IsMatch(tablePrefix))
            throw new ArgumentException($"druid.metadata.storage.tables.base must be letters, digits and underscores, got \"{tablePrefix}\"");
        SegmentsTable = tablePrefix + "_segments";
        PendingSegmentsTable = tablePrefix + "_pendingSegments";
        DataSourceTable = tablePrefix + "_dataSource";
        TasksTable = tablePrefix + "_tasks";
        TaskLocksTable = tablePrefix + "_tasklocks";
        SupervisorsTable = tablePrefix + "_supervisors";
        RulesTable = tablePrefix + "_rules";
        AuditTable = tablePrefix + "_audit";
        ConfigTable = tablePrefix + "_config";
    }

    public abstract string Kind { get; }

    protected abstract DbConnection OpenConnection();

    /// <summary>Column type of Druid's auto-increment ids (tasklocks, supervisors, audit).</summary>
    protected abstract string SerialPrimaryKey { get; }

    /// <summary>
    /// Type of key and name columns. It must compare byte-wise so that ORDER BY gives the same
    /// order on every store whatever the database's locale.
    /// </summary>
    protected abstract string KeyType { get; }

    /// <summary>Hook to serialize concurrent Initialize calls from several processes.</summary>
    protected virtual void BeforeCreatingTables(DbConnection connection, DbTransaction transaction) { }

    /// <summary>Wraps every write transaction; SQLite uses it to let one writer at a time in.</summary>
    protected virtual T Serialized<T>(Func<T> write) => write();

    /// <summary>Runs work in one transaction, committed when work returns and commitIf (if given) accepts its result.</summary>
    protected T InTransaction<T>(Func<DbConnection, DbTransaction, T> work, Func<T, bool>? commitIf = null) =>
        Serialized(() =>
        {
            using var connection = OpenConnection();
            using var transaction = connection.BeginTransaction();
            var result = work(connection, transaction);
            if (commitIf is null || commitIf(result)) transaction.Commit();
            else transaction.Rollback();
            return result;
        });

    protected T Read<T>(Func<DbConnection, T> work)
    {
        using var connection = OpenConnection();
        return work(connection);
    }

    public abstract void Dispose();

    // ------------------------------------------------------------------ schema

    public void Initialize()
    {
        var key = KeyType;
        // Payloads are JSON text, so TEXT columns (Druid itself uses binary BLOB/BYTEA holding the same UTF-8 JSON).
        string[] statements =
        [
            $"""
            CREATE TABLE IF NOT EXISTS {SegmentsTable} (
              id {key} NOT NULL PRIMARY KEY,
              dataSource {key} NOT NULL,
              created_date {key} NOT NULL,
              start {key} NOT NULL,
              "end" {key} NOT NULL,
              partitioned BOOLEAN NOT NULL,
              version {key} NOT NULL,
              used BOOLEAN NOT NULL,
              payload TEXT NOT NULL,
              used_status_last_updated {key} NOT NULL)
            """,
            $"CREATE INDEX IF NOT EXISTS idx_{SegmentsTable}_used ON {SegmentsTable}(used)",
            $"CREATE INDEX IF NOT EXISTS idx_{SegmentsTable}_datasource_used_end_start ON {SegmentsTable}(dataSource, used, \"end\", start)",
            $"""
            CREATE TABLE IF NOT EXISTS {PendingSegmentsTable} (
              id {key} NOT NULL PRIMARY KEY,
              dataSource {key} NOT NULL,
              created_date {key} NOT NULL,
              start {key} NOT NULL,
              "end" {key} NOT NULL,
              sequence_name {key} NOT NULL,
              sequence_prev_id {key} NOT NULL,
              sequence_name_prev_id_sha1 {key} NOT NULL UNIQUE,
              payload TEXT NOT NULL)
            """,
            $"CREATE INDEX IF NOT EXISTS idx_{PendingSegmentsTable}_datasource_end ON {PendingSegmentsTable}(dataSource, \"end\")",
            $"CREATE INDEX IF NOT EXISTS idx_{PendingSegmentsTable}_datasource_sequence ON {PendingSegmentsTable}(dataSource, sequence_name)",
            $"""
            CREATE TABLE IF NOT EXISTS {DataSourceTable} (
              dataSource {key} NOT NULL PRIMARY KEY,
              created_date {key} NOT NULL,
              commit_metadata_payload TEXT NOT NULL,
              commit_metadata_sha1 {key} NOT NULL)
            """,
            // status_payload may be null: a task is recorded before its first status exists.
            $"""
            CREATE TABLE IF NOT EXISTS {TasksTable} (
              id {key} NOT NULL PRIMARY KEY,
              created_date {key} NOT NULL,
              datasource {key} NOT NULL,
              payload TEXT NOT NULL,
              status_payload TEXT,
              active BOOLEAN NOT NULL DEFAULT FALSE,
              type {key},
              group_id {key})
            """,
            $"CREATE INDEX IF NOT EXISTS idx_{TasksTable}_active_created_date ON {TasksTable}(active, created_date)",
            $"CREATE INDEX IF NOT EXISTS idx_{TasksTable}_datasource_active ON {TasksTable}(datasource, active)",
            $"""
            CREATE TABLE IF NOT EXISTS {TaskLocksTable} (
              id {SerialPrimaryKey},
              task_id {key},
              lock_payload TEXT)
            """,
            $"CREATE INDEX IF NOT EXISTS idx_{TaskLocksTable}_task_id ON {TaskLocksTable}(task_id)",
            $"""
            CREATE TABLE IF NOT EXISTS {SupervisorsTable} (
              id {SerialPrimaryKey},
              spec_id {key} NOT NULL,
              created_date {key} NOT NULL,
              payload TEXT NOT NULL)
            """,
            $"CREATE INDEX IF NOT EXISTS idx_{SupervisorsTable}_spec_id ON {SupervisorsTable}(spec_id)",
            $"""
            CREATE TABLE IF NOT EXISTS {RulesTable} (
              id {key} NOT NULL PRIMARY KEY,
              dataSource {key} NOT NULL,
              version {key} NOT NULL,
              payload TEXT NOT NULL)
            """,
            $"CREATE INDEX IF NOT EXISTS idx_{RulesTable}_datasource ON {RulesTable}(dataSource)",
            $"""
            CREATE TABLE IF NOT EXISTS {AuditTable} (
              id {SerialPrimaryKey},
              audit_key {key} NOT NULL,
              type {key} NOT NULL,
              author {key} NOT NULL,
              comment TEXT NOT NULL,
              created_date {key} NOT NULL,
              payload TEXT NOT NULL)
            """,
            $"CREATE INDEX IF NOT EXISTS idx_{AuditTable}_key_time ON {AuditTable}(audit_key, created_date)",
            $"CREATE INDEX IF NOT EXISTS idx_{AuditTable}_type_time ON {AuditTable}(type, created_date)",
            $"CREATE INDEX IF NOT EXISTS idx_{AuditTable}_audit_time ON {AuditTable}(created_date)",
            $"""
            CREATE TABLE IF NOT EXISTS {ConfigTable} (
              name {key} NOT NULL PRIMARY KEY,
              payload TEXT NOT NULL)
            """,
        ];
        InTransaction((c, tx) =>
        {
            BeforeCreatingTables(c, tx);
            foreach (var sql in statements) Execute(c, tx, sql);
            return 0;
        });
    }

    // ------------------------------------------------------------------ helpers

    protected static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var p = command.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            command.Parameters.Add(p);
        }
        return command;
    }

    protected static int Execute(DbConnection connection, DbTransaction? transaction, string sql, params (string, object?)[] parameters)
    {
        using var command = Command(connection, transaction, sql, parameters);
        return command.ExecuteNonQuery();
    }

    protected static object? Scalar(DbConnection connection, DbTransaction? transaction, string sql, params (string, object?)[] parameters)
    {
        using var command = Command(connection, transaction, sql, parameters);
        var value = command.ExecuteScalar();
        return value is DBNull ? null : value;
    }

    protected static List<T> Query<T>(DbConnection connection, DbTransaction? transaction, string sql, Func<DbDataReader, T> row, params (string, object?)[] parameters)
    {
        using var command = Command(connection, transaction, sql, parameters);
        using var reader = command.ExecuteReader();
        var result = new List<T>();
        while (reader.Read()) result.Add(row(reader));
        return result;
    }

    static string? NullableString(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    /// <summary>UTC now the way Druid prints instants.</summary>
    protected static string Now() => FormatInstant(DateTime.UtcNow);

    static string FormatInstant(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Upper-case hex SHA-1 of the parts, each followed by a 0xFF byte (which UTF-8 never contains).</summary>
    protected static string Sha1Hex(params string[] parts)
    {
        var bytes = new List<byte>();
        foreach (var part in parts)
        {
            bytes.AddRange(Encoding.UTF8.GetBytes(part));
            bytes.Add(0xFF);
        }
        return Convert.ToHexString(SHA1.HashData(bytes.ToArray()));
    }

    // ------------------------------------------------------------------ segments

    const string SegmentColumns = "id, dataSource, start, \"end\", version, partitioned, used, payload, created_date";
    const string SegmentOrder = " ORDER BY dataSource, start, \"end\", version, id";

    static SegmentRecord ReadSegment(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4),
            r.GetBoolean(5), r.GetBoolean(6), r.GetString(7), r.GetString(8));

    public CommitOutcome PublishSegments(IReadOnlyList<SegmentRecord> segments, DataSourceCommit? commit = null, IReadOnlyList<string>? markUnused = null) =>
        InTransaction((c, tx) =>
        {
            var now = Now();
            if (commit is not null && !SwapCommitMetadata(c, tx, commit, now)) return CommitOutcome.MetadataMismatch;
            if (segments.Count > 0)
            {
                using var insert = Command(c, tx,
                    $"INSERT INTO {SegmentsTable} (id, dataSource, created_date, start, \"end\", partitioned, version, used, payload, used_status_last_updated) " +
                    "VALUES (@id, @ds, @created, @start, @end, @partitioned, @version, @used, @payload, @now) ON CONFLICT (id) DO NOTHING",
                    ("@id", ""), ("@ds", ""), ("@created", ""), ("@start", ""), ("@end", ""), ("@partitioned", false),
                    ("@version", ""), ("@used", false), ("@payload", ""), ("@now", now));
                foreach (var s in segments)
                {
                    insert.Parameters[0].Value = s.Id;
                    insert.Parameters[1].Value = s.DataSource;
                    insert.Parameters[2].Value = string.IsNullOrEmpty(s.CreatedDate) ? now : s.CreatedDate;
                    insert.Parameters[3].Value = s.Start;
                    insert.Parameters[4].Value = s.End;
                    insert.Parameters[5].Value = s.Partitioned;
                    insert.Parameters[6].Value = s.Version;
                    insert.Parameters[7].Value = s.Used;
                    insert.Parameters[8].Value = s.Payload;
                    insert.ExecuteNonQuery();
                }
            }
            if (markUnused is { Count: > 0 }) SetUsed(c, tx, markUnused, false, now);
            return CommitOutcome.Committed;
        }, outcome => outcome == CommitOutcome.Committed);

    /// <summary>
    /// The conditional UPDATE/INSERT is atomic on its own (PostgreSQL re-checks the WHERE after
    /// waiting for a concurrent writer's row lock), so no explicit row lock is needed.
    /// </summary>
    bool SwapCommitMetadata(DbConnection c, DbTransaction tx, DataSourceCommit commit, string now)
    {
        var newSha1 = Sha1Hex(commit.New);
        var changed = commit.ExpectedOld is null
            ? Execute(c, tx,
                $"INSERT INTO {DataSourceTable} (dataSource, created_date, commit_metadata_payload, commit_metadata_sha1) " +
                "VALUES (@ds, @now, @payload, @sha1) ON CONFLICT (dataSource) DO NOTHING",
                ("@ds", commit.DataSource), ("@now", now), ("@payload", commit.New), ("@sha1", newSha1))
            : Execute(c, tx,
                $"UPDATE {DataSourceTable} SET commit_metadata_payload = @payload, commit_metadata_sha1 = @sha1 " +
                "WHERE dataSource = @ds AND commit_metadata_payload = @old",
                ("@ds", commit.DataSource), ("@payload", commit.New), ("@sha1", newSha1), ("@old", commit.ExpectedOld));
        return changed == 1;
    }

    int SetUsed(DbConnection c, DbTransaction tx, IEnumerable<string> ids, bool used, string now)
    {
        using var update = Command(c, tx,
            $"UPDATE {SegmentsTable} SET used = @used, used_status_last_updated = @now WHERE id = @id AND used = @was",
            ("@used", used), ("@now", now), ("@id", ""), ("@was", !used));
        var changed = 0;
        foreach (var id in ids)
        {
            update.Parameters[2].Value = id;
            changed += update.ExecuteNonQuery();
        }
        return changed;
    }

    public IReadOnlyList<SegmentRecord> GetUsedSegments(string? dataSource = null) =>
        Read(c => dataSource is null
            ? Query(c, null, $"SELECT {SegmentColumns} FROM {SegmentsTable} WHERE used = @used" + SegmentOrder, ReadSegment, ("@used", true))
            : Query(c, null, $"SELECT {SegmentColumns} FROM {SegmentsTable} WHERE dataSource = @ds AND used = @used" + SegmentOrder, ReadSegment,
                ("@ds", dataSource), ("@used", true)));

    public IReadOnlyList<SegmentRecord> GetAllSegments(string dataSource) =>
        Read(c => Query(c, null, $"SELECT {SegmentColumns} FROM {SegmentsTable} WHERE dataSource = @ds" + SegmentOrder, ReadSegment, ("@ds", dataSource)));

    public IReadOnlyList<string> GetDataSources(bool usedOnly = true) =>
        Read(c => usedOnly
            ? Query(c, null, $"SELECT DISTINCT dataSource FROM {SegmentsTable} WHERE used = @used ORDER BY dataSource", r => r.GetString(0), ("@used", true))
            : Query(c, null, $"SELECT DISTINCT dataSource FROM {SegmentsTable} ORDER BY dataSource", r => r.GetString(0)));

    public int MarkSegmentsUnused(IEnumerable<string> ids) => InTransaction((c, tx) => SetUsed(c, tx, ids, false, Now()));

    public int MarkSegmentsUsed(IEnumerable<string> ids) => InTransaction((c, tx) => SetUsed(c, tx, ids, true, Now()));

    public int MarkDataSourceUnused(string dataSource) =>
        InTransaction((c, tx) => Execute(c, tx,
            $"UPDATE {SegmentsTable} SET used = @unused, used_status_last_updated = @now WHERE dataSource = @ds AND used = @used",
            ("@unused", false), ("@now", Now()), ("@ds", dataSource), ("@used", true)));

    public int DeleteSegments(IEnumerable<string> ids) =>
        InTransaction((c, tx) =>
        {
            using var delete = Command(c, tx, $"DELETE FROM {SegmentsTable} WHERE id = @id", ("@id", ""));
            var deleted = 0;
            foreach (var id in ids)
            {
                delete.Parameters[0].Value = id;
                deleted += delete.ExecuteNonQuery();
            }
            return deleted;
        });

    // ------------------------------------------------------------------ commit metadata

    public string? GetCommitMetadata(string dataSource) =>
        Read(c => (string?)Scalar(c, null, $"SELECT commit_metadata_payload FROM {DataSourceTable} WHERE dataSource = @ds", ("@ds", dataSource)));

    public bool DeleteCommitMetadata(string dataSource) =>
        InTransaction((c, tx) => Execute(c, tx, $"DELETE FROM {DataSourceTable} WHERE dataSource = @ds", ("@ds", dataSource))) > 0;

    // ------------------------------------------------------------------ pending segments

    const string PendingColumns = "id, dataSource, created_date, start, \"end\", sequence_name, sequence_prev_id, payload";

    static PendingSegmentRecord ReadPending(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7));

    static string PendingSha1(string sequenceName, string sequencePrevId, string start, string end) =>
        Sha1Hex(sequenceName, sequencePrevId, start, end);

    public bool InsertPendingSegment(PendingSegmentRecord p) =>
        InTransaction((c, tx) => Execute(c, tx,
            $"INSERT INTO {PendingSegmentsTable} (id, dataSource, created_date, start, \"end\", sequence_name, sequence_prev_id, sequence_name_prev_id_sha1, payload) " +
            "VALUES (@id, @ds, @created, @start, @end, @seq, @prev, @sha1, @payload) ON CONFLICT DO NOTHING",
            ("@id", p.Id), ("@ds", p.DataSource), ("@created", string.IsNullOrEmpty(p.CreatedDate) ? Now() : p.CreatedDate),
            ("@start", p.Start), ("@end", p.End), ("@seq", p.SequenceName), ("@prev", p.SequencePrevId),
            ("@sha1", PendingSha1(p.SequenceName, p.SequencePrevId, p.Start, p.End)), ("@payload", p.Payload))) == 1;

    public PendingSegmentRecord? FindPendingSegment(string dataSource, string sequenceName, string sequencePrevId, string start, string end) =>
        Read(c => Query(c, null,
            $"SELECT {PendingColumns} FROM {PendingSegmentsTable} WHERE dataSource = @ds AND sequence_name_prev_id_sha1 = @sha1",
            ReadPending, ("@ds", dataSource), ("@sha1", PendingSha1(sequenceName, sequencePrevId, start, end)))).FirstOrDefault();

    public IReadOnlyList<PendingSegmentRecord> GetPendingSegments(string dataSource) =>
        Read(c => Query(c, null, $"SELECT {PendingColumns} FROM {PendingSegmentsTable} WHERE dataSource = @ds ORDER BY start, \"end\", id",
            ReadPending, ("@ds", dataSource)));

    public int DeletePendingSegments(string dataSource) =>
        InTransaction((c, tx) => Execute(c, tx, $"DELETE FROM {PendingSegmentsTable} WHERE dataSource = @ds", ("@ds", dataSource)));

    // ------------------------------------------------------------------ tasks

    const string TaskColumns = "id, created_date, datasource, type, payload, status_payload, active, group_id";

    static TaskRecord ReadTask(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), NullableString(r, 3) ?? "", r.GetString(4),
            NullableString(r, 5), r.GetBoolean(6), NullableString(r, 7));

    public void InsertTask(TaskRecord t)
    {
        var inserted = InTransaction((c, tx) => Execute(c, tx,
            $"INSERT INTO {TasksTable} (id, created_date, datasource, payload, status_payload, active, type, group_id) " +
            "VALUES (@id, @created, @ds, @payload, @status, @active, @type, @group) ON CONFLICT (id) DO NOTHING",
            ("@id", t.Id), ("@created", string.IsNullOrEmpty(t.CreatedDate) ? Now() : t.CreatedDate), ("@ds", t.DataSource),
            ("@payload", t.Payload), ("@status", t.StatusPayload), ("@active", t.Active), ("@type", t.Type), ("@group", t.GroupId)));
        if (inserted == 0) throw new DuplicateTaskException(t.Id);
    }

    public bool UpdateTaskStatus(string id, string statusPayload, bool active) =>
        InTransaction((c, tx) => Execute(c, tx,
            $"UPDATE {TasksTable} SET status_payload = @status, active = @active WHERE id = @id",
            ("@status", statusPayload), ("@active", active), ("@id", id))) > 0;

    public TaskRecord? GetTask(string id) =>
        Read(c => Query(c, null, $"SELECT {TaskColumns} FROM {TasksTable} WHERE id = @id", ReadTask, ("@id", id))).FirstOrDefault();

    public IReadOnlyList<TaskRecord> GetTasks(bool? active = null, string? dataSource = null, int? limit = null)
    {
        var where = new List<string>();
        var parameters = new List<(string, object?)>();
        if (active is { } a) { where.Add("active = @active"); parameters.Add(("@active", a)); }
        if (dataSource is not null) { where.Add("datasource = @ds"); parameters.Add(("@ds", dataSource)); }
        var sql = $"SELECT {TaskColumns} FROM {TasksTable}"
                  + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "")
                  + " ORDER BY created_date DESC, id DESC";
        if (limit is { } n) { sql += " LIMIT @limit"; parameters.Add(("@limit", Math.Max(0, n))); }
        return Read(c => Query(c, null, sql, ReadTask, parameters.ToArray()));
    }

    public long AddTaskLock(string taskId, string lockPayload) =>
        InTransaction((c, tx) => Convert.ToInt64(Scalar(c, tx,
            $"INSERT INTO {TaskLocksTable} (task_id, lock_payload) VALUES (@task, @payload) RETURNING id",
            ("@task", taskId), ("@payload", lockPayload)), CultureInfo.InvariantCulture));

    public void RemoveTaskLock(long lockId) =>
        InTransaction((c, tx) => Execute(c, tx, $"DELETE FROM {TaskLocksTable} WHERE id = @id", ("@id", lockId)));

    public IReadOnlyList<TaskLockRecord> GetTaskLocks(string? taskId = null)
    {
        static TaskLockRecord ReadLock(DbDataReader r) => new(r.GetInt64(0), r.GetString(1), r.GetString(2));
        return Read(c => taskId is null
            ? Query(c, null, $"SELECT id, task_id, lock_payload FROM {TaskLocksTable} ORDER BY id", ReadLock)
            : Query(c, null, $"SELECT id, task_id, lock_payload FROM {TaskLocksTable} WHERE task_id = @task ORDER BY id", ReadLock, ("@task", taskId)));
    }
}

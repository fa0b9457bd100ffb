using System.Data.Common;
using System.Globalization;

namespace FunctionalDruid.Host.Metadata;

/// <summary>Supervisors, rules, audit and config: the slowly changing, append-mostly tables.</summary>
public abstract partial class SqlMetadataStore
{
    // ------------------------------------------------------------------ supervisors

    static SupervisorRecord ReadSupervisor(DbDataReader r) => new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3));

    public long InsertSupervisor(string specId, string payload) =>
        InTransaction((c, tx) => Convert.ToInt64(Scalar(c, tx,
            $"INSERT INTO {SupervisorsTable} (spec_id, created_date, payload) VALUES (@spec, @now, @payload) RETURNING id",
            ("@spec", specId), ("@now", Now()), ("@payload", payload)), CultureInfo.InvariantCulture));

    public IReadOnlyList<SupervisorRecord> GetLatestSupervisors() =>
        Read(c => Query(c, null,
            $"SELECT id, spec_id, created_date, payload FROM {SupervisorsTable} " +
            $"WHERE id IN (SELECT MAX(id) FROM {SupervisorsTable} GROUP BY spec_id) ORDER BY spec_id",
            ReadSupervisor));

    public IReadOnlyList<SupervisorRecord> GetSupervisorHistory(string specId) =>
        Read(c => Query(c, null,
            $"SELECT id, spec_id, created_date, payload FROM {SupervisorsTable} WHERE spec_id = @spec ORDER BY id DESC",
            ReadSupervisor, ("@spec", specId)));

    // ------------------------------------------------------------------ rules

    public void SetRules(string dataSource, string payload, string author, string comment) =>
        InTransaction((c, tx) =>
        {
            // Versions are instants; the newest is current, so a change within the same millisecond
            // as the previous one gets the next millisecond.
            var version = Now();
            var latest = (string?)Scalar(c, tx, $"SELECT MAX(version) FROM {RulesTable} WHERE dataSource = @ds", ("@ds", dataSource));
            if (latest is not null && string.CompareOrdinal(version, latest) <= 0)
                version = DateTime.TryParse(latest, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t)
                    ? FormatInstant(t.AddMilliseconds(1))
                    : latest + "+";
            Execute(c, tx,
                $"INSERT INTO {RulesTable} (id, dataSource, version, payload) VALUES (@id, @ds, @version, @payload)",
                ("@id", dataSource + "_" + version), ("@ds", dataSource), ("@version", version), ("@payload", payload));
            InsertAudit(c, tx, dataSource, "rules", author, comment, payload);
            return 0;
        });

    public string? GetRules(string dataSource) =>
        Read(c => (string?)Scalar(c, null,
            $"SELECT payload FROM {RulesTable} WHERE dataSource = @ds ORDER BY version DESC LIMIT 1", ("@ds", dataSource)));

    public IReadOnlyDictionary<string, string> GetAllRules() =>
        Read(c => Query(c, null,
                $"SELECT r.dataSource, r.payload FROM {RulesTable} r " +
                $"JOIN (SELECT dataSource, MAX(version) AS version FROM {RulesTable} GROUP BY dataSource) latest " +
                "ON r.dataSource = latest.dataSource AND r.version = latest.version",
                r => (r.GetString(0), r.GetString(1)))
            .ToDictionary(p => p.Item1, p => p.Item2, StringComparer.Ordinal));

    // ------------------------------------------------------------------ audit

    long InsertAudit(DbConnection c, DbTransaction tx, string key, string type, string author, string comment, string payload) =>
        Convert.ToInt64(Scalar(c, tx,
            $"INSERT INTO {AuditTable} (audit_key, type, author, comment, created_date, payload) " +
            "VALUES (@key, @type, @author, @comment, @now, @payload) RETURNING id",
            ("@key", key), ("@type", type), ("@author", author), ("@comment", comment), ("@now", Now()), ("@payload", payload)),
            CultureInfo.InvariantCulture);

    public long AddAudit(string key, string type, string author, string comment, string payload) =>
        InTransaction((c, tx) => InsertAudit(c, tx, key, type, author, comment, payload));

    public IReadOnlyList<AuditRecord> GetAudit(string? key, string type, int? limit = null)
    {
        var sql = $"SELECT id, audit_key, type, author, comment, created_date, payload FROM {AuditTable} WHERE type = @type"
                  + (key is null ? "" : " AND audit_key = @key")
                  + " ORDER BY id DESC"
                  + (limit is null ? "" : " LIMIT @limit");
        var parameters = new List<(string, object?)> { ("@type", type) };
        if (key is not null) parameters.Add(("@key", key));
        if (limit is { } n) parameters.Add(("@limit", Math.Max(0, n)));
        var rows = Read(c => Query(c, null, sql,
            r => new AuditRecord(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6)),
            parameters.ToArray()));
        rows.Reverse();
        return rows;
    }

    // ------------------------------------------------------------------ config

    public void SetConfig(string name, string payload) =>
        InTransaction((c, tx) => Execute(c, tx,
            $"INSERT INTO {ConfigTable} (name, payload) VALUES (@name, @payload) " +
            "ON CONFLICT (name) DO UPDATE SET payload = excluded.payload",
            ("@name", name), ("@payload", payload)));

    public string? GetConfig(string name) =>
        Read(c => (string?)Scalar(c, null, $"SELECT payload FROM {ConfigTable} WHERE name = @name", ("@name", name)));
}

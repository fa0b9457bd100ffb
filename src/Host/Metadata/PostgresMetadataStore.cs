using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace FunctionalDruid.Host.Metadata;

/// <summary>The metadata store on PostgreSQL through Npgsql's pooled data source.</summary>
public sealed class PostgresMetadataStore : SqlMetadataStore
{
    readonly NpgsqlDataSource _dataSource;
    readonly long _schemaLockKey;

    public PostgresMetadataStore(string connectionString, string tablePrefix = "druid") : base(tablePrefix)
    {
        _dataSource = NpgsqlDataSource.Create(connectionString);
        _schemaLockKey = BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes("functional-druid-schema:" + tablePrefix)));
    }

    public override string Kind => "postgresql";

    protected override string SerialPrimaryKey => "BIGSERIAL PRIMARY KEY";

    // Byte-wise ordering whatever locale the database was created with.
    protected override string KeyType => "VARCHAR(255) COLLATE \"C\"";

    protected override DbConnection OpenConnection() => _dataSource.OpenConnection();

    /// <summary>
    /// Two servers starting against one database at once would otherwise race in CREATE TABLE IF
    /// NOT EXISTS (it is not safe under concurrency in PostgreSQL).
    /// </summary>
    protected override void BeforeCreatingTables(DbConnection connection, DbTransaction transaction) =>
        Scalar(connection, transaction, "SELECT pg_advisory_xact_lock(@key)", ("@key", _schemaLockKey));

    public override void Dispose() => _dataSource.Dispose();
}

/// <summary>Turns Druid's JDBC connectURI into an Npgsql connection string.</summary>
public static class PostgresConnectionString
{
    /// <summary>
    /// Accepts jdbc:postgresql://host[:port][,host2[:port2]]/db?params, jdbc:postgresql:db,
    /// postgresql://user:password@host:port/db?params, or a ready Npgsql connection string
    /// (Host=...;...). The user and password arguments (Druid's connector.user/password) win over
    /// credentials in the URI when given.
    /// </summary>
    public static string FromConnectUri(string connectUri, string? user, string? password)
    {
        var uri = connectUri.Trim();
        NpgsqlConnectionStringBuilder builder;
        if (uri.StartsWith("jdbc:postgresql:", StringComparison.OrdinalIgnoreCase))
            builder = FromUrl(uri["jdbc:postgresql:".Length..], allowUserInfo: false);
        else if (uri.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
            builder = FromUrl(uri["postgresql:".Length..], allowUserInfo: true);
        else if (uri.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase))
            builder = FromUrl(uri["postgres:".Length..], allowUserInfo: true);
        else if (uri.Contains('=') && !uri.Contains("://"))
            builder = new NpgsqlConnectionStringBuilder(uri);
        else
            throw new ArgumentException($"druid.metadata.storage.connector.connectURI must look like jdbc:postgresql://host:port/database, got \"{connectUri}\"");
        if (!string.IsNullOrEmpty(user)) builder.Username = user;
        if (!string.IsNullOrEmpty(password)) builder.Password = password;
        return builder.ConnectionString;
    }

    static NpgsqlConnectionStringBuilder FromUrl(string rest, bool allowUserInfo)
    {
        var builder = new NpgsqlConnectionStringBuilder { Host = "localhost", Port = 5432 };
        var query = "";
        var q = rest.IndexOf('?');
        if (q >= 0) { query = rest[(q + 1)..]; rest = rest[..q]; }
        string database;
        if (rest.StartsWith("//", StringComparison.Ordinal))
        {
            var authorityEnd = rest.IndexOf('/', 2);
            var authority = authorityEnd < 0 ? rest[2..] : rest[2..authorityEnd];
            database = authorityEnd < 0 ? "" : rest[(authorityEnd + 1)..];
            var at = authority.LastIndexOf('@');
            if (at >= 0)
            {
                if (!allowUserInfo) throw new ArgumentException("user and password go in druid.metadata.storage.connector.user/password, not in a JDBC URI's host part");
                var userInfo = authority[..at];
                authority = authority[(at + 1)..];
                var colon = userInfo.IndexOf(':');
                builder.Username = Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo[..colon]);
                if (colon >= 0) builder.Password = Uri.UnescapeDataString(userInfo[(colon + 1)..]);
            }
            SetHosts(builder, authority);
        }
        else database = rest; // jdbc:postgresql:database means localhost:5432
        database = Uri.UnescapeDataString(database.TrimEnd('/'));
        if (database.Length > 0) builder.Database = database;
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..].Replace('+', ' '));
            ApplyParameter(builder, name, value);
        }
        return builder;
    }

    static void SetHosts(NpgsqlConnectionStringBuilder builder, string authority)
    {
        var hosts = authority.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(SplitHostPort).ToList();
        if (hosts.Count == 0) return;
        if (hosts.Count == 1)
        {
            builder.Host = hosts[0].Host;
            if (hosts[0].Port is { } port) builder.Port = port;
        }
        else builder.Host = string.Join(",", hosts.Select(h => h.Port is { } p ? $"{h.Host}:{p}" : h.Host));
    }

    static (string Host, int? Port) SplitHostPort(string hostPort)
    {
        // [::1]:5432 for IPv6 literals
        if (hostPort.StartsWith('['))
        {
            var close = hostPort.IndexOf(']');
            var host = hostPort[1..close];
            var after = hostPort[(close + 1)..];
            return (host, after.StartsWith(':') ? ParsePort(after[1..]) : null);
        }
        var colon = hostPort.LastIndexOf(':');
        return colon < 0 ? (hostPort, null) : (hostPort[..colon], ParsePort(hostPort[(colon + 1)..]));
    }

    static int ParsePort(string text) =>
        int.TryParse(text, out var port) && port is > 0 and < 65536
            ? port
            : throw new ArgumentException($"Bad port \"{text}\" in druid.metadata.storage.connector.connectURI");

    /// <summary>The PgJDBC URL parameters that have an Npgsql counterpart; others are ignored.</summary>
    static void ApplyParameter(NpgsqlConnectionStringBuilder builder, string name, string value)
    {
        switch (name.ToLowerInvariant())
        {
            case "user": builder.Username = value; break;
            case "password": builder.Password = value; break;
            case "ssl":
                // PgJDBC's ssl=true verifies the certificate and host name.
                if (value.Length == 0 || value.Equals("true", StringComparison.OrdinalIgnoreCase)) builder.SslMode = SslMode.VerifyFull;
                break;
            case "sslmode":
                builder.SslMode = value.ToLowerInvariant() switch
                {
                    "disable" => SslMode.Disable,
                    "allow" => SslMode.Allow,
                    "prefer" => SslMode.Prefer,
                    "require" => SslMode.Require,
                    "verify-ca" => SslMode.VerifyCA,
                    "verify-full" => SslMode.VerifyFull,
                    _ => throw new ArgumentException($"Unknown sslmode \"{value}\" in druid.metadata.storage.connector.connectURI"),
                };
                break;
            case "currentschema": builder.SearchPath = value; break;
            case "applicationname": builder.ApplicationName = value; break;
            case "connecttimeout": if (int.TryParse(value, out var connect)) builder.Timeout = connect; break;
            case "sockettimeout": if (int.TryParse(value, out var socket)) builder.CommandTimeout = socket; break;
            case "targetservertype":
                builder.TargetSessionAttributes = value.ToLowerInvariant() switch
                {
                    "primary" or "master" => "primary",
                    "secondary" or "slave" => "standby",
                    "preferprimary" => "prefer-primary",
                    "prefersecondary" or "preferslave" => "prefer-standby",
                    _ => "any",
                };
                break;
        }
    }
}

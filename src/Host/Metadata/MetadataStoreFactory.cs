namespace FunctionalDruid.Host.Metadata;

public static class MetadataStoreFactory
{
    /// <summary>
    /// The store for druid.metadata.storage.type. "derby" (what Druid's quickstart configs say)
    /// gets the embedded SQLite store, since both mean "a local file, nothing to install".
    /// The store is not initialized yet: call Initialize() once at startup.
    /// </summary>
    public static IMetadataStore Create(string kind, string? connectUri, string? user, string? password, string dataDir, string tablePrefix = "druid") =>
        kind.Trim().ToLowerInvariant() switch
        {
            "sqlite" or "derby" => new SqliteMetadataStore(dataDir, tablePrefix),
            "postgresql" => new PostgresMetadataStore(
                PostgresConnectionString.FromConnectUri(
                    string.IsNullOrWhiteSpace(connectUri)
                        ? throw new ArgumentException("druid.metadata.storage.type=postgresql needs druid.metadata.storage.connector.connectURI")
                        : connectUri,
                    user, password),
                tablePrefix),
            _ => throw new ArgumentException($"druid.metadata.storage.type must be sqlite or postgresql, got \"{kind}\""),
        };
}

namespace FunctionalDruid.Host.Metadata;

/// <summary>One row of the segments table. Start/End/Version/CreatedDate are ISO-8601 strings as Druid writes them.</summary>
public sealed record SegmentRecord(
    string Id, string DataSource, string Start, string End, string Version,
    bool Partitioned, bool Used, string Payload, string CreatedDate);

/// <summary>One row of the tasks table. GroupId is Druid's later-added group_id column (optional).</summary>
public sealed record TaskRecord(
    string Id, string CreatedDate, string DataSource, string Type, string Payload,
    string? StatusPayload, bool Active, string? GroupId = null);

public sealed record SupervisorRecord(long Id, string SpecId, string CreatedDate, string Payload);

public sealed record TaskLockRecord(long Id, string TaskId, string Payload);

/// <summary>
/// A segment id handed out by segment allocation but not yet published. A (SequenceName,
/// SequencePrevId, Start, End) combination allocates at most one id, so a retried allocation finds
/// the id it was given before.
/// </summary>
public sealed record PendingSegmentRecord(
    string Id, string DataSource, string CreatedDate, string Start, string End,
    string SequenceName, string SequencePrevId, string Payload);

public sealed record AuditRecord(
    long Id, string Key, string Type, string Author, string Comment, string CreatedDate, string Payload);

/// <summary>
/// Compare-and-swap of a dataSource's commit metadata (e.g. stream offsets): the stored payload must
/// equal ExpectedOld (null: no row yet) for New to be written.
/// </summary>
public sealed record DataSourceCommit(string DataSource, string? ExpectedOld, string New);

public enum CommitOutcome { Committed, MetadataMismatch }

public sealed class DuplicateTaskException(string taskId)
    : Exception($"Task [{taskId}] already exists")
{
    public string TaskId { get; } = taskId;
}

/// <summary>
/// Druid's metadata store: segments, pending segments, tasks and their locks, dataSource commit
/// metadata, supervisors, rules, audit and config, in Druid's table layout. Every method is safe to
/// call from several threads at once. Call Initialize once before anything else; it creates missing
/// tables and indexes and may be called again at no harm.
/// </summary>
public interface IMetadataStore : IDisposable
{
    /// <summary>"sqlite" or "postgresql".</summary>
    string Kind { get; }

    void Initialize();

    // ---- segments

    /// <summary>
    /// Publishes segments atomically. With a commit, the dataSource commit metadata is compared and
    /// swapped in the same transaction; on a mismatch nothing at all is written. Segment ids already
    /// present are left as they are; markUnused ids are marked unused in the same transaction.
    /// </summary>
    CommitOutcome PublishSegments(IReadOnlyList<SegmentRecord> segments, DataSourceCommit? commit = null, IReadOnlyList<string>? markUnused = null);

    /// <summary>Used segments, ordered by dataSource, start, end, version, id.</summary>
    IReadOnlyList<SegmentRecord> GetUsedSegments(string? dataSource = null);

    /// <summary>Used and unused segments of one dataSource, same order as GetUsedSegments.</summary>
    IReadOnlyList<SegmentRecord> GetAllSegments(string dataSource);

    /// <summary>Sorted dataSource names having (used, unless usedOnly is false) segments.</summary>
    IReadOnlyList<string> GetDataSources(bool usedOnly = true);

    /// <summary>Returns how many segments changed from used to unused.</summary>
    int MarkSegmentsUnused(IEnumerable<string> ids);

    /// <summary>Returns how many segments changed from unused to used.</summary>
    int MarkSegmentsUsed(IEnumerable<string> ids);

    int MarkDataSourceUnused(string dataSource);

    /// <summary>Removes segment rows for good (kill tasks); returns how many were removed.</summary>
    int DeleteSegments(IEnumerable<string> ids);

    // ---- dataSource commit metadata

    string? GetCommitMetadata(string dataSource);
    bool DeleteCommitMetadata(string dataSource);

    // ---- tasks

    /// <summary>Throws DuplicateTaskException when the id exists.</summary>
    void InsertTask(TaskRecord task);

    /// <summary>Returns false when there is no such task.</summary>
    bool UpdateTaskStatus(string id, string statusPayload, bool active);

    TaskRecord? GetTask(string id);

    /// <summary>Newest first (created_date, then id, descending).</summary>
    IReadOnlyList<TaskRecord> GetTasks(bool? active = null, string? dataSource = null, int? limit = null);

    long AddTaskLock(string taskId, string lockPayload);
    void RemoveTaskLock(long lockId);

    /// <summary>Locks in the order they were added.</summary>
    IReadOnlyList<TaskLockRecord> GetTaskLocks(string? taskId = null);

    // ---- pending segments

    /// <summary>
    /// Returns false (and writes nothing) when the id, or the same sequence/previous id/interval,
    /// is already allocated.
    /// </summary>
    bool InsertPendingSegment(PendingSegmentRecord pending);

    PendingSegmentRecord? FindPendingSegment(string dataSource, string sequenceName, string sequencePrevId, string start, string end);

    /// <summary>Ordered by start, end, id.</summary>
    IReadOnlyList<PendingSegmentRecord> GetPendingSegments(string dataSource);

    int DeletePendingSegments(string dataSource);

    // ---- supervisors (every spec version is kept; the newest one per spec id is the current one)

    long InsertSupervisor(string specId, string payload);

    /// <summary>The newest entry per spec id, ordered by spec id.</summary>
    IReadOnlyList<SupervisorRecord> GetLatestSupervisors();

    /// <summary>Newest first.</summary>
    IReadOnlyList<SupervisorRecord> GetSupervisorHistory(string specId);

    // ---- rules (versioned per dataSource; each change is audited with type "rules")

    void SetRules(string dataSource, string payload, string author, string comment);
    string? GetRules(string dataSource);

    /// <summary>The current rules of every dataSource that has any.</summary>
    IReadOnlyDictionary<string, string> GetAllRules();

    // ---- audit

    long AddAudit(string key, string type, string author, string comment, string payload);

    /// <summary>Oldest first; key null means every key of that type; limit keeps the newest entries.</summary>
    IReadOnlyList<AuditRecord> GetAudit(string? key, string type, int? limit = null);

    // ---- config (dynamic configs, e.g. coordinator.config)

    void SetConfig(string name, string payload);
    string? GetConfig(string name);
}

namespace FunctionalDruid.Bench.KafkaIngest;

/// <summary>
/// CPU time of this process's threads grouped by thread name (Linux /proc), so the bench can
/// tell the mock brokers' and Kafka client's threads (librdkafka names them `rdk:...`) from
/// the task's consume loop, the GC and the HTTP server. Threads that end between two samples
/// lose their time, so the groups may add up to a little less than the process total.
/// </summary>
public static class ThreadCpu
{
    /// <summary>CPU seconds so far of every live thread, by thread id, with its group.</summary>
    public static Dictionary<string, (string Group, double Seconds)> Sample()
    {
        var byThread = new Dictionary<string, (string, double)>();
        if (!Directory.Exists("/proc/self/task")) return byThread;
        foreach (var dir in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                var name = File.ReadAllText(Path.Combine(dir, "comm")).Trim();
                var ns = long.Parse(File.ReadAllText(Path.Combine(dir, "schedstat")).Split(' ')[0]);
                byThread[Path.GetFileName(dir)] = (Group(name), ns / 1e9);
            }
            catch (IOException) { }
        }
        return byThread;
    }

    static string Group(string name) =>
        name.StartsWith("rdk:") ? "librdkafka (" + (name.Contains("main") ? "main" : name.StartsWith("rdk:broker") ? "broker" : name) + ")"
        : name.StartsWith(".NET Server GC") || name.StartsWith(".NET BGC") ? ".NET GC"
        : name.StartsWith(".NET TP") ? ".NET thread pool"
        : name.StartsWith(".NET Long") ? ".NET long-running tasks"
        : name;

    /// <summary>CPU seconds between two samples by group (threads born in between count in full).</summary>
    public static Dictionary<string, double> Delta(Dictionary<string, (string Group, double Seconds)> before, Dictionary<string, (string Group, double Seconds)> after)
    {
        var byGroup = new Dictionary<string, double>();
        foreach (var (tid, (group, seconds)) in after)
            byGroup[group] = byGroup.GetValueOrDefault(group) + seconds - (before.TryGetValue(tid, out var b) ? b.Seconds : 0);
        return byGroup;
    }

    public static void Print(Dictionary<string, (string Group, double Seconds)> before, Dictionary<string, (string Group, double Seconds)> after, long messages)
    {
        foreach (var (group, seconds) in Delta(before, after).Select(kv => (kv.Key, kv.Value)).Where(g => g.Item2 > 0.05).OrderByDescending(g => g.Item2))
            Console.WriteLine($"    {group,-32} {seconds,7:F2} s CPU  {seconds * 1e6 / messages,6:F2} µs/msg");
    }
}

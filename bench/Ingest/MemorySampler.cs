using System.Diagnostics;

namespace FunctionalDruid.Bench.Ingest;

/// <summary>Largest memory figures seen during one phase of the run.</summary>
public sealed record MemoryPeaks(long MaxWorkingSet, long MaxManagedHeap, long ProcessPeakWorkingSet);

/// <summary>
/// Samples the process's working set and the GC's managed heap every few milliseconds on a
/// background thread. Process.PeakWorkingSet64 is for the whole process lifetime, so each phase
/// also keeps its own sampled maximum.
/// </summary>
public sealed class MemorySampler : IDisposable
{
    readonly Process _process = Process.GetCurrentProcess();
    readonly Thread _thread;
    volatile bool _stop;
    long _maxWorkingSet;
    long _maxManaged;

    public MemorySampler(int intervalMs = 20)
    {
        _thread = new Thread(() =>
        {
            while (!_stop)
            {
                Sample();
                Thread.Sleep(intervalMs);
            }
        }) { IsBackground = true, Name = "memory sampler" };
        _thread.Start();
    }

    void Sample()
    {
        _process.Refresh();
        var ws = _process.WorkingSet64;
        var managed = GC.GetTotalMemory(false);
        if (ws > Interlocked.Read(ref _maxWorkingSet)) Interlocked.Exchange(ref _maxWorkingSet, ws);
        if (managed > Interlocked.Read(ref _maxManaged)) Interlocked.Exchange(ref _maxManaged, managed);
    }

    public MemoryPeaks Stop()
    {
        _stop = true;
        _thread.Join();
        Sample();
        _process.Refresh();
        return new MemoryPeaks(_maxWorkingSet, _maxManaged, _process.PeakWorkingSet64);
    }

    public void Dispose()
    {
        if (!_stop) Stop();
    }
}

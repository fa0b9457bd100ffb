using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace FunctionalDruid.Host.Storage;

/// <summary>A read-only memory-mapped file exposed as Memory&lt;byte&gt;, so Core reads segment
/// columns straight from the page cache without copying.</summary>
public sealed unsafe class MappedFile : MemoryManager<byte>
{
    readonly MemoryMappedFile _file;
    readonly MemoryMappedViewAccessor _view;
    readonly byte* _pointer;
    readonly int _length;
    bool _disposed;

    public MappedFile(string path)
    {
        var length = new FileInfo(path).Length;
        if (length == 0 || length > int.MaxValue) throw new IOException($"Segment file {path} has unsupported size {length}");
        _length = (int)length;
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _pointer = p + _view.PointerOffset;
    }

    public int Length => _length;
    public override Span<byte> GetSpan() => new(_pointer, _length);
    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);
    public override void Unpin() { }

    protected override void Dispose(bool disposing)
    {
        if (_disposed) return;
        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}

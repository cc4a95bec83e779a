using System.Runtime.InteropServices;

namespace EdgeRuntime.Models.Sessions;

/// <summary>Stores a 64-bit token position in two floats of a state block (bit pattern, not value), so snapshots carry it.</summary>
/// <remarks>Stateless; safe from any thread.</remarks>
public static class StatePosition
{
    /// <summary>Floats a position occupies.</summary>
    public const int Length = 2;

    /// <summary>Reads the position stored at <paramref name="offset"/>.</summary>
    public static long Get(ReadOnlySpan<float> state, int offset) =>
        MemoryMarshal.Read<long>(MemoryMarshal.AsBytes(state.Slice(offset, Length)));

    /// <summary>Writes <paramref name="position"/> at <paramref name="offset"/>.</summary>
    public static void Set(Span<float> state, int offset, long position) =>
        MemoryMarshal.Write(MemoryMarshal.AsBytes(state.Slice(offset, Length)), in position);
}

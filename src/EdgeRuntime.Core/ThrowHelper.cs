using System.Diagnostics.CodeAnalysis;

namespace EdgeRuntime.Core;

/// <summary>Throw sites kept out of hot methods so kernels stay small and inlinable.</summary>
/// <remarks>Stateless; safe from any thread.</remarks>
public static class ThrowHelper
{
    /// <summary>Throws when two spans that must agree in length do not.</summary>
    [DoesNotReturn]
    public static void LengthMismatch(string name, int actual, int expected) =>
        throw new ArgumentException($"'{name}' has length {actual}, expected {expected}.", name);

    /// <summary>Throws when a span is shorter than a kernel needs.</summary>
    [DoesNotReturn]
    public static void TooShort(string name, int actual, int needed) =>
        throw new ArgumentException($"'{name}' has length {actual}, needs at least {needed}.", name);

    /// <summary>Throws for an argument outside its documented range.</summary>
    [DoesNotReturn]
    public static void OutOfRange(string name, long value, string expected) =>
        throw new ArgumentOutOfRangeException(name, value, $"'{name}' is {value}, expected {expected}.");
}

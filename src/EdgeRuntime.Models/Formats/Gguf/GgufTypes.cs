using EdgeRuntime.Core.Tensors;

namespace EdgeRuntime.Models.Formats.Gguf;

/// <summary>Type ids of GGUF metadata values (<c>gguf_metadata_value_type</c> in ggml-org/ggml docs/gguf.md).</summary>
public enum GgufValueType : uint
{
    /// <summary>8-bit unsigned integer.</summary>
    UInt8 = 0,
    /// <summary>8-bit signed integer.</summary>
    Int8 = 1,
    /// <summary>16-bit unsigned integer.</summary>
    UInt16 = 2,
    /// <summary>16-bit signed integer.</summary>
    Int16 = 3,
    /// <summary>32-bit unsigned integer.</summary>
    UInt32 = 4,
    /// <summary>32-bit signed integer.</summary>
    Int32 = 5,
    /// <summary>32-bit IEEE float.</summary>
    Float32 = 6,
    /// <summary>One byte, 0 or 1.</summary>
    Bool = 7,
    /// <summary>uint64 byte length + UTF-8 bytes, no terminator.</summary>
    String = 8,
    /// <summary>uint32 element type + uint64 count + elements (arrays may nest).</summary>
    Array = 9,
    /// <summary>64-bit unsigned integer.</summary>
    UInt64 = 10,
    /// <summary>64-bit signed integer.</summary>
    Int64 = 11,
    /// <summary>64-bit IEEE float.</summary>
    Float64 = 12,
}

/// <summary>Tensor element types (<c>ggml_type</c>); ids are ggml's, so they match <see cref="DType"/> where both exist.</summary>
public enum GgmlType : uint
{
#pragma warning disable CS1591 // ggml's own names; the table in GgmlTypeInfo documents sizes.
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
    I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
    TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39, NVFP4 = 40, Q1_0 = 41, Q2_0 = 42,
#pragma warning restore CS1591
}

/// <summary>Block sizes of every ggml type (ggml <c>type_traits</c>), so a reader can size any tensor it meets.</summary>
/// <remarks>
/// Values from ggml-org/ggml@d99724f src/ggml-common.h (<c>static_assert(sizeof(block_…))</c>), QK_K = 256.
/// Only the types in <see cref="ToDType"/> can be loaded as weights; the others are parsed, sized and reported.
/// Immutable; safe from any thread.
/// </remarks>
public static class GgmlTypeInfo
{
    private static readonly (string Name, int BlockSize, int TypeSize)[] s_table = Build();

    private static (string, int, int)[] Build()
    {
        var t = new (string, int, int)[43];
        void Row(GgmlType type, int block, int size) => t[(int)type] = (type.ToString(), block, size);
        Row(GgmlType.F32, 1, 4); Row(GgmlType.F16, 1, 2); Row(GgmlType.BF16, 1, 2); Row(GgmlType.F64, 1, 8);
        Row(GgmlType.I8, 1, 1); Row(GgmlType.I16, 1, 2); Row(GgmlType.I32, 1, 4); Row(GgmlType.I64, 1, 8);
        Row(GgmlType.Q4_0, 32, 18); Row(GgmlType.Q4_1, 32, 20); Row(GgmlType.Q5_0, 32, 22); Row(GgmlType.Q5_1, 32, 24);
        Row(GgmlType.Q8_0, 32, 34); Row(GgmlType.Q8_1, 32, 36); Row(GgmlType.IQ4_NL, 32, 18); Row(GgmlType.MXFP4, 32, 17);
        Row(GgmlType.Q2_K, 256, 84); Row(GgmlType.Q3_K, 256, 110); Row(GgmlType.Q4_K, 256, 144); Row(GgmlType.Q5_K, 256, 176);
        Row(GgmlType.Q6_K, 256, 210); Row(GgmlType.Q8_K, 256, 292);
        Row(GgmlType.IQ2_XXS, 256, 66); Row(GgmlType.IQ2_XS, 256, 74); Row(GgmlType.IQ3_XXS, 256, 98); Row(GgmlType.IQ1_S, 256, 50);
        Row(GgmlType.IQ3_S, 256, 110); Row(GgmlType.IQ2_S, 256, 82); Row(GgmlType.IQ4_XS, 256, 136); Row(GgmlType.IQ1_M, 256, 56);
        Row(GgmlType.TQ1_0, 256, 54); Row(GgmlType.TQ2_0, 256, 66);
        Row(GgmlType.NVFP4, 64, 36); Row(GgmlType.Q1_0, 128, 18); Row(GgmlType.Q2_0, 64, 18);
        return t;
    }

    /// <summary>Whether <paramref name="id"/> is a ggml type this table knows (removed ids such as 4, 5, 31..33 are not).</summary>
    public static bool IsKnown(uint id) => id < (uint)s_table.Length && s_table[id].Name is not null;

    /// <summary>ggml's name, e.g. <c>Q8_0</c>.</summary>
    public static string Name(GgmlType type) => IsKnown((uint)type) ? s_table[(int)type].Name : $"type {(uint)type}";

    /// <summary>Elements per block.</summary>
    public static int BlockSize(GgmlType type) => s_table[(int)type].BlockSize;

    /// <summary>Bytes per block.</summary>
    public static int TypeSize(GgmlType type) => s_table[(int)type].TypeSize;

    /// <summary>The weight dtype this build can compute with, or null.</summary>
    public static DType? ToDType(GgmlType type) => type switch
    {
        GgmlType.F32 => DType.F32,
        GgmlType.F16 => DType.F16,
        GgmlType.BF16 => DType.BF16,
        GgmlType.Q8_0 => DType.Q8_0,
        GgmlType.Q4_0 => DType.Q4_0,
        _ => null,
    };
}

/// <summary>Values of <c>general.file_type</c> (llama.cpp <c>LLAMA_FTYPE</c>): the type of most tensors.</summary>
public enum GgufFileType : uint
{
    /// <summary>All tensors f32.</summary>
    AllF32 = 0,
    /// <summary>Matrices f16, the rest f32.</summary>
    MostlyF16 = 1,
    /// <summary>Matrices Q4_0, the rest f32.</summary>
    MostlyQ4_0 = 2,
    /// <summary>Matrices Q8_0, the rest f32.</summary>
    MostlyQ8_0 = 7,
}

using EdgeRuntime.Core.Memory;
using EdgeRuntime.Models.Mechanisms;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Models.Families.Aaren;

/// <summary>One session's working memory for <see cref="AarenModel"/>: row buffers for one prefill block, allocated once.</summary>
/// <remarks>
/// Size is fixed by the config and <see cref="ModelOptions.PrefillBlock"/>: 6 × block × d_model + block × mlp_hidden +
/// 2 × block floats, whatever the sequence length. A step uses row 0. Owned by one session; not thread-safe.
/// </remarks>
internal sealed class AarenScratch : ModelScratch
{
    private readonly NativeBuffer _hidden, _normed, _keys, _values, _mixed, _delta, _mlp, _scan;

    public AarenScratch(int block, int width, int mlpHidden)
    {
        Block = block;
        Width = width;
        MlpHidden = mlpHidden;
        _hidden = new NativeBuffer((long)block * width);
        _normed = new NativeBuffer((long)block * width);
        _keys = new NativeBuffer((long)block * width);
        _values = new NativeBuffer((long)block * width);
        _mixed = new NativeBuffer((long)block * width);
        _delta = new NativeBuffer((long)block * width);
        _mlp = new NativeBuffer((long)block * mlpHidden);
        _scan = new NativeBuffer(AarenAttention.PrefillScratchLength(block));
    }

    /// <summary>Rows per prefill block.</summary>
    public int Block { get; }

    /// <summary>d_model.</summary>
    public int Width { get; }

    /// <summary>mlp_hidden.</summary>
    public int MlpHidden { get; }

    /// <summary>Residual stream h, (tokens, d).</summary>
    public Span<float> Hidden(int tokens) => _hidden.Slice(0, tokens * Width);

    /// <summary>LayerNorm output, (tokens, d).</summary>
    public Span<float> Normed(int tokens) => _normed.Slice(0, tokens * Width);

    /// <summary>Keys, (tokens, d).</summary>
    public Span<float> Keys(int tokens) => _keys.Slice(0, tokens * Width);

    /// <summary>Values, (tokens, d).</summary>
    public Span<float> Values(int tokens) => _values.Slice(0, tokens * Width);

    /// <summary>Attention output, (tokens, d).</summary>
    public Span<float> Mixed(int tokens) => _mixed.Slice(0, tokens * Width);

    /// <summary>Sub-layer output added to h, (tokens, d).</summary>
    public Span<float> Delta(int tokens) => _delta.Slice(0, tokens * Width);

    /// <summary>MLP hidden activations, (tokens, mlp_hidden).</summary>
    public Span<float> Mlp(int tokens) => _mlp.Slice(0, tokens * MlpHidden);

    /// <summary>Scan scratch for <see cref="AarenAttention.Prefill"/>: one chunk = one block.</summary>
    public Span<float> Scan => _scan.Span;

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        _hidden.Dispose();
        _normed.Dispose();
        _keys.Dispose();
        _values.Dispose();
        _mixed.Dispose();
        _delta.Dispose();
        _mlp.Dispose();
        _scan.Dispose();
    }
}

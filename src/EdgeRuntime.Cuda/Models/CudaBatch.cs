using EdgeRuntime.Core;
using EdgeRuntime.Cuda.Runtime;

namespace EdgeRuntime.Cuda.Models;

/// <summary>Several sessions decoding together on the GPU, their states resident in device memory: one <see cref="Step(ReadOnlySpan{int}, Span{float})"/>
/// advances every session by one token, reading each weight row once for the whole batch.</summary>
/// <remarks>
/// The step is captured once into a CUDA graph per variant (with or without the head) and replayed: the graph copies the
/// tokens (or input vectors) from pinned host memory, runs every kernel, and copies the logits back; positions live in
/// the device states, so the same graph serves every step. Slots are independent: <see cref="SetState"/> /
/// <see cref="GetState"/> move one session's state (the CPU model's layout) in or out, e.g. to snapshot it or to admit a
/// new request. Every slot steps on every call; give idle slots any valid token and ignore their outputs.
/// Owned by one thread at a time; the model (weights) may be shared by several batches.
/// </remarks>
public sealed unsafe class CudaBatch : IDisposable
{
    private readonly CudaFamily _family;
    private readonly CudaWorkspace _workspace;
    private readonly CudaStream _stream;
    private readonly PinnedBuffer _input;    // Size int32 tokens or Size × InputLength floats
    private readonly PinnedBuffer _output;   // Size × OutputLength floats
    private readonly List<KernelOp>?[] _ops = new List<KernelOp>?[2];
    private readonly CudaGraph?[] _graphs = new CudaGraph?[2];
    private readonly float[] _scratchState;

    internal CudaBatch(CudaFamily family, int size, bool useGraphs)
    {
        if (size <= 0) ThrowHelper.OutOfRange(nameof(size), size, "> 0");
        _family = family;
        UsesGraphs = useGraphs;
        var device = family.Device;
        device.MakeCurrent();
        _workspace = new CudaWorkspace(device, family, size);
        try
        {
            _workspace.FamilyBuffers = family.CreateBuffers(_workspace);
            _stream = new CudaStream(device);
            _input = device.AllocatePinned(family.InputLength > 0 ? (long)size * family.InputLength * 4 : size * 4L);
            _output = device.AllocatePinned((long)size * family.OutputLength * 4);
        }
        catch
        {
            _workspace.Dispose();
            throw;
        }
        _scratchState = new float[family.StateLength];
        for (int slot = 0; slot < size; slot++) InitState(slot);
    }

    /// <summary>Sessions that step together.</summary>
    public int Size => _workspace.Size;

    /// <summary>Floats of one session's state (the CPU model's layout).</summary>
    public int StateLength => _family.StateLength;

    /// <summary>Logits (padded vocabulary) or outputs per session per step.</summary>
    public int OutputLength => _family.OutputLength;

    /// <summary>Input floats per session per step (sequence models); 0 for token models.</summary>
    public int InputLength => _family.InputLength;

    /// <summary>Whether steps replay a captured CUDA graph (else the kernels are launched one by one).</summary>
    public bool UsesGraphs { get; }

    /// <summary>Device bytes of this batch (states, activations, inputs and outputs).</summary>
    public long DeviceBytes => _workspace.Bytes;

    /// <summary>Kernel launches per step with the head (after the first step).</summary>
    public int KernelsPerStep => _ops[1]?.Count ?? 0;

    /// <summary>Resets slot <paramref name="slot"/> to the empty state.</summary>
    public void InitState(int slot)
    {
        _family.InitState(_scratchState);
        SetState(slot, _scratchState);
    }

    /// <summary>Copies a session's state (from a CPU model, a snapshot or <see cref="GetState"/>) into slot <paramref name="slot"/>.</summary>
    /// <exception cref="ArgumentException">Wrong length or slot.</exception>
    public void SetState(int slot, ReadOnlySpan<float> state)
    {
        CheckSlot(slot, state.Length);
        _family.Device.MakeCurrent();
        fixed (float* p = state) _stream.CopyToDevice(SlotAddress(slot), p, StateLength * 4L);
        _stream.Synchronize();
    }

    /// <summary>Copies slot <paramref name="slot"/>'s state to the host.</summary>
    public void GetState(int slot, Span<float> state)
    {
        CheckSlot(slot, state.Length);
        _family.Device.MakeCurrent();
        fixed (float* p = state) _stream.CopyToHost(p, SlotAddress(slot), StateLength * 4L);
        _stream.Synchronize();
    }

    /// <summary>One token for every session (token models): <paramref name="tokens"/> has <see cref="Size"/> ids;
    /// <paramref name="logits"/> is empty (skip the head) or <c>Size × OutputLength</c>.</summary>
    /// <exception cref="ArgumentException">Wrong lengths or a token outside the vocabulary.</exception>
    public void Step(ReadOnlySpan<int> tokens, Span<float> logits)
    {
        if (_family.InputLength > 0) throw new InvalidOperationException("cuda: this model takes input vectors, not tokens");
        if (tokens.Length != Size) ThrowHelper.LengthMismatch(nameof(tokens), tokens.Length, Size);
        CheckOutputs(logits.Length, nameof(logits));
        int limit = _family.TokenLimit;
        foreach (int t in tokens)
            if ((uint)t >= (uint)limit) ThrowHelper.OutOfRange(nameof(tokens), t, $"0..{limit - 1} (padded vocabulary)");
        tokens.CopyTo(_input.AsSpan<int>());
        Run(!logits.IsEmpty, logits);
    }

    /// <summary>One step for every session (sequence models): <paramref name="inputs"/> is <c>Size × InputLength</c>;
    /// <paramref name="outputs"/> is empty or <c>Size × OutputLength</c>.</summary>
    public void Step(ReadOnlySpan<float> inputs, Span<float> outputs)
    {
        if (_family.InputLength == 0) throw new InvalidOperationException("cuda: this model takes tokens, not input vectors");
        if (inputs.Length != Size * InputLength) ThrowHelper.LengthMismatch(nameof(inputs), inputs.Length, Size * InputLength);
        CheckOutputs(outputs.Length, nameof(outputs));
        inputs.CopyTo(_input.AsSpan<float>());
        Run(!outputs.IsEmpty, outputs);
    }

    /// <summary>Replays the step <paramref name="count"/> times on the tokens already in place, without reading outputs
    /// (benchmarks: the GPU time of decode alone).</summary>
    public void Replay(int count, bool head)
    {
        _family.Device.MakeCurrent();
        for (int i = 0; i < count; i++) Issue(head);
        _stream.Synchronize();
    }

    /// <summary>Milliseconds of GPU time for <paramref name="count"/> replayed steps, measured with events.</summary>
    public double TimeReplay(int count, bool head)
    {
        _family.Device.MakeCurrent();
        nint start = _stream.RecordEvent();
        for (int i = 0; i < count; i++) Issue(head);
        nint end = _stream.RecordEvent();
        return CudaStream.ElapsedAndDestroy(start, end);
    }

    /// <summary>GPU milliseconds per step spent in each kernel (by name, largest first), from events around every launch
    /// over <paramref name="repeats"/> steps launched one by one (not as a graph; launch gaps excluded).</summary>
    public IReadOnlyList<(string Kernel, double MsPerStep, int Launches)> ProfileKernels(int repeats = 5)
    {
        _family.Device.MakeCurrent();
        var ops = _ops[1] ??= Record(head: true);
        var totals = new Dictionary<string, (double Ms, int Count)>(StringComparer.Ordinal);
        for (int rep = 0; rep < repeats; rep++)
        {
            foreach (var op in ops)
            {
                nint start = _stream.RecordEvent();
                _stream.Launch(op);
                nint end = _stream.RecordEvent();
                double ms = CudaStream.ElapsedAndDestroy(start, end);
                totals[op.Name] = totals.TryGetValue(op.Name, out var t) ? (t.Ms + ms, t.Count + 1) : (ms, 1);
            }
        }
        return totals.Select(kv => (kv.Key, kv.Value.Ms / repeats, kv.Value.Count / repeats)).OrderByDescending(x => x.Item2).ToList();
    }

    private void Run(bool head, Span<float> outputs)
    {
        _family.Device.MakeCurrent();
        Issue(head);
        _stream.Synchronize();
        if (head) _output.AsSpan<float>()[..outputs.Length].CopyTo(outputs);
    }

    private void Issue(bool head)
    {
        int variant = head ? 1 : 0;
        var ops = _ops[variant] ??= Record(head);
        if (!UsesGraphs)
        {
            Enqueue(_stream, ops, head);
            return;
        }
        var graph = _graphs[variant] ??= _stream.Capture(s => Enqueue(s, ops, head));
        graph.Launch(_stream);
    }

    private List<KernelOp> Record(bool head)
    {
        var recorder = new StepRecorder(_family.Device, _workspace);
        _family.Record(recorder, head);
        return recorder.Ops;
    }

    private void Enqueue(CudaStream stream, List<KernelOp> ops, bool head)
    {
        if (_family.InputLength > 0) stream.CopyToDevice(_workspace.Inputs, _input.Pointer, (long)Size * InputLength * 4);
        else stream.CopyToDevice(_workspace.Tokens, _input.Pointer, Size * 4L);
        foreach (var op in ops) stream.Launch(op);
        if (head) stream.CopyToHost(_output.Pointer, _workspace.Outputs, (long)Size * OutputLength * 4);
    }

    private ulong SlotAddress(int slot) => _workspace.States + (ulong)slot * (ulong)_workspace.StateStride * 4;

    private void CheckSlot(int slot, int length)
    {
        if ((uint)slot >= (uint)Size) ThrowHelper.OutOfRange(nameof(slot), slot, $"0..{Size - 1}");
        if (length != StateLength) ThrowHelper.LengthMismatch("state", length, StateLength);
    }

    private void CheckOutputs(int length, string name)
    {
        if (length != 0 && length != Size * OutputLength)
            throw new ArgumentException($"cuda: {name} has length {length}, expected 0 or {Size * OutputLength} ({Size} × {OutputLength})", name);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _family.Device.MakeCurrent();
        foreach (var g in _graphs) g?.Dispose();
        _stream.Dispose();
        _input.Dispose();
        _output.Dispose();
        _workspace.Dispose();
    }
}

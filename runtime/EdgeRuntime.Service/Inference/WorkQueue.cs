using System.Threading.Channels;
using EdgeRuntime.Service.Options;
using Microsoft.Extensions.Options;

namespace EdgeRuntime.Service.Inference;

/// <summary>The bounded queue between the MQTT handler and the inference workers, plus the index <c>cancel</c> uses.</summary>
/// <remarks>
/// Holds at most <c>Limits:QueueLength</c> waiting requests (running ones are not counted); <see cref="TryEnqueue"/> never
/// waits, so a full queue answers <c>busy</c> at once. Thread-safe.
/// </remarks>
public sealed class WorkQueue
{
    private readonly Channel<WorkItem> _channel;
    private readonly Dictionary<string, List<WorkItem>> _byId = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private bool _closed;

    /// <summary>Creates the queue with the configured length.</summary>
    public WorkQueue(IOptions<LimitsOptions> limits)
    {
        _channel = Channel.CreateBounded<WorkItem>(new BoundedChannelOptions(limits.Value.QueueLength)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
        });
    }

    /// <summary>The workers' end.</summary>
    public ChannelReader<WorkItem> Reader => _channel.Reader;

    /// <summary>Requests waiting (not yet taken by a worker).</summary>
    public int Waiting => _channel.Reader.Count;

    /// <summary>Whether the queue no longer accepts work (shutdown).</summary>
    public bool IsClosed
    {
        get { lock (_gate) return _closed; }
    }

    /// <summary>Adds <paramref name="item"/> unless the queue is full or closed.</summary>
    public bool TryEnqueue(WorkItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        lock (_gate)
        {
            if (_closed || !_channel.Writer.TryWrite(item)) return false;
            if (!_byId.TryGetValue(item.Id, out var list)) _byId[item.Id] = list = [];
            list.Add(item);
            return true;
        }
    }

    /// <summary>Forgets a finished item (it can no longer be cancelled).</summary>
    public void Complete(WorkItem item)
    {
        lock (_gate)
        {
            if (_byId.TryGetValue(item.Id, out var list) && list.Remove(item) && list.Count == 0) _byId.Remove(item.Id);
        }
    }

    /// <summary>Cancels every queued or running request with <paramref name="id"/>; returns how many.</summary>
    public int Cancel(string id)
    {
        WorkItem[] items;
        lock (_gate)
        {
            if (!_byId.TryGetValue(id, out var list)) return 0;
            items = [.. list];
        }
        foreach (var item in items) TryCancel(item);
        return items.Length;
    }

    /// <summary>Stops accepting work and cancels everything queued or running (their final messages say <c>unavailable</c>).</summary>
    public void Close()
    {
        WorkItem[] items;
        lock (_gate)
        {
            if (_closed) return;
            _closed = true;
            _channel.Writer.TryComplete();
            items = [.. _byId.Values.SelectMany(l => l)];
        }
        foreach (var item in items)
        {
            item.ShuttingDown = true;
            TryCancel(item);
        }
    }

    private static void TryCancel(WorkItem item)
    {
        try
        {
            item.Cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Finished and disposed between the lookup and now.
        }
    }
}

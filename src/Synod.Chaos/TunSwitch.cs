using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Synod.Chaos;

/// <summary>
/// A switch in user space between network namespaces, for links with delay and loss on a kernel without the netem
/// qdisc (this machine's): each port is a TUN device (made here, moved into its namespace, gone when this process
/// closes it), and every IPv4 packet a port sends is forwarded to the port that owns its destination address, held
/// for the link's delay plus a uniform jitter and dropped with the link's loss chance. The kernels' TCP stacks see
/// real delay, loss and, with jitter, reordering; the switch adds its own cost (a read and a write system call per
/// packet, tens of microseconds) to every link, delayed or not. Thread-safe.
/// </summary>
public sealed partial class TunSwitch : IDisposable
{
    /// <summary>The largest packet a port carries: the TUN devices' MTU.</summary>
    public const int PacketBytesMax = 1500;

    /// <summary>The most packets held for their delay at once; beyond it packets are dropped, as a full queue does.</summary>
    public const int HeldPacketsMax = 100_000;

    private const int OpenReadWrite = 2;
    private const uint TunSetInterface = 0x400454ca;
    private const short InterfaceTun = 0x0001;
    private const short InterfaceNoPacketInfo = 0x1000;
    private const int ClockMonotonic = 1;

    private readonly Dictionary<byte, Port> _ports = [];
    // A monitor, not a Lock: the scheduler waits on it for packets.
    private readonly object _gate = new();
    private readonly PriorityQueue<Held, (long Due, long Sequence)> _held = new();
    private readonly Dictionary<(byte From, byte To), LinkShape> _links = [];
    private readonly Thread _scheduler;
    private readonly Random _random = new(1);
    private LinkShape _default = LinkShape.None;
    private long _sequence;
    private volatile bool _stopping;

    /// <summary>Packets forwarded, dropped by a link's loss, and dropped because the queue was full or no port owned the address.</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    public long Lost => Interlocked.Read(ref _lost);

    public long Discarded => Interlocked.Read(ref _discarded);

    private long _forwarded;
    private long _lost;
    private long _discarded;

    public TunSwitch()
    {
        _scheduler = new Thread(Schedule) { IsBackground = true, Name = "tun-switch scheduler", Priority = ThreadPriority.AboveNormal };
        _scheduler.Start();
    }

    /// <summary>How a link treats packets: held this long plus up to <see cref="Jitter"/> more, and dropped with chance <see cref="LossPercent"/> %.</summary>
    public readonly record struct LinkShape(TimeSpan Delay, TimeSpan Jitter, double LossPercent)
    {
        public static LinkShape None => new(TimeSpan.Zero, TimeSpan.Zero, 0);

        public string? Problem() =>
            Delay < TimeSpan.Zero || Delay > TimeSpan.FromSeconds(10) ? $"a delay of {Delay.TotalMilliseconds} ms is outside 0 to 10,000 ms"
            : Jitter < TimeSpan.Zero || Jitter > TimeSpan.FromSeconds(10) ? $"a jitter of {Jitter.TotalMilliseconds} ms is outside 0 to 10,000 ms"
            : LossPercent is < 0 or > 100 ? $"a loss of {LossPercent} % is outside 0 to 100 %"
            : null;
    }

    /// <summary>
    /// Makes a TUN device named <paramref name="device"/> whose packets are those of address ending in
    /// <paramref name="host"/>: the caller moves it into its namespace and gives it its address. The device exists
    /// while this switch does.
    /// </summary>
    public void AddPort(byte host, string device)
    {
        if (device.Length is 0 or > 15)
        {
            throw new ArgumentException($"a network device name has 1 to 15 characters; got '{device}'.", nameof(device));
        }

        var fd = NativeOpen("/dev/net/tun", OpenReadWrite);
        if (fd < 0)
        {
            throw new InvalidOperationException($"cannot open /dev/net/tun (errno {Marshal.GetLastPInvokeError()}): TUN devices need root and the tun driver.");
        }

        var request = new byte[40];
        System.Text.Encoding.ASCII.GetBytes(device).CopyTo(request, 0);
        BitConverter.GetBytes((short)(InterfaceTun | InterfaceNoPacketInfo)).CopyTo(request, 16);
        if (NativeIoctl(fd, TunSetInterface, request) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            NativeClose(fd);
            throw new InvalidOperationException($"cannot make TUN device {device} (errno {errno}).");
        }

        var port = new Port(host, device, fd);
        lock (_gate)
        {
            if (!_ports.TryAdd(host, port))
            {
                NativeClose(fd);
                throw new ArgumentException($"host .{host} has a port already.", nameof(host));
            }
        }

        port.Reader = new Thread(() => Read(port)) { IsBackground = true, Name = $"tun-switch {device}" };
        port.Reader.Start();
    }

    /// <summary>Shapes every link not shaped by <see cref="Shape"/>.</summary>
    public void ShapeAll(LinkShape shape)
    {
        Check(shape);
        lock (_gate)
        {
            _default = shape;
        }
    }

    /// <summary>Shapes the packets <paramref name="from"/> sends to <paramref name="to"/> (one way).</summary>
    public void Shape(byte from, byte to, LinkShape shape)
    {
        Check(shape);
        lock (_gate)
        {
            _links[(from, to)] = shape;
        }
    }

    /// <summary>Every link back to <see cref="ShapeAll"/>'s shape.</summary>
    public void ClearShapes()
    {
        lock (_gate)
        {
            _links.Clear();
        }
    }

    public void Dispose()
    {
        _stopping = true;
        lock (_gate)
        {
            Monitor.PulseAll(_gate);
            foreach (var port in _ports.Values)
            {
                // Closing the descriptor removes the device (it was never made persistent); the blocked read then fails.
                port.Close();
            }
        }
    }

    private static void Check(LinkShape shape)
    {
        if (shape.Problem() is { } problem)
        {
            throw new ArgumentOutOfRangeException(nameof(shape), shape, problem);
        }
    }

    private void Read(Port port)
    {
        var buffer = new byte[PacketBytesMax + 64];
        while (!_stopping)
        {
            var read = (int)NativeRead(port.Descriptor, buffer, buffer.Length);
            if (read <= 0)
            {
                if (_stopping || port.Closed)
                {
                    return;
                }

                continue;
            }

            // IPv4 only (version 4, a whole header): the destination's last byte names the port.
            if (read < 20 || buffer[0] >> 4 != 4)
            {
                continue;
            }

            var to = buffer[19];
            Port? target;
            LinkShape shape;
            double draw;
            lock (_gate)
            {
                _ports.TryGetValue(to, out target);
                shape = _links.GetValueOrDefault((port.Host, to), _default);
                draw = _random.NextDouble();
            }

            if (target is null)
            {
                Interlocked.Increment(ref _discarded);
                continue;
            }

            if (draw * 100 < shape.LossPercent)
            {
                Interlocked.Increment(ref _lost);
                continue;
            }

            var hold = shape.Delay + (shape.Jitter > TimeSpan.Zero ? shape.Jitter * Random.Shared.NextDouble() : TimeSpan.Zero);
            if (hold <= TimeSpan.Zero)
            {
                Write(target, buffer, read);
                continue;
            }

            var packet = buffer.AsSpan(0, read).ToArray();
            var due = Stopwatch.GetTimestamp() + (long)(hold.TotalSeconds * Stopwatch.Frequency);
            lock (_gate)
            {
                if (_held.Count >= HeldPacketsMax)
                {
                    Interlocked.Increment(ref _discarded);
                    continue;
                }

                _held.Enqueue(new Held(target, packet), (due, _sequence++));
                Monitor.Pulse(_gate);
            }
        }
    }

    /// <summary>Writes each held packet when it is due: sleeps (not spins) until the earliest one, with nanosleep's precision.</summary>
    private void Schedule()
    {
        var due = new List<Held>();
        while (!_stopping)
        {
            long wait;
            lock (_gate)
            {
                while (_held.Count == 0 && !_stopping)
                {
                    Monitor.Wait(_gate);
                }

                var now = Stopwatch.GetTimestamp();
                while (_held.TryPeek(out var held, out var at) && at.Due <= now)
                {
                    _held.Dequeue();
                    due.Add(held);
                }

                wait = _held.TryPeek(out _, out var next) ? next.Due - now : 0;
            }

            foreach (var held in due)
            {
                Write(held.Target, held.Packet, held.Packet.Length);
            }

            due.Clear();
            if (wait > 0)
            {
                // A packet that arrives meanwhile is due no earlier than this one (the same delay, or within the jitter).
                var nanoseconds = wait * 1_000_000_000 / Stopwatch.Frequency;
                var request = new TimeSpec { Seconds = nanoseconds / 1_000_000_000, Nanoseconds = nanoseconds % 1_000_000_000 };
                NativeSleep(ClockMonotonic, 0, ref request, IntPtr.Zero);
            }
        }
    }

    private void Write(Port target, byte[] packet, int length)
    {
        if (!target.Closed && NativeWrite(target.Descriptor, packet, length) == length)
        {
            Interlocked.Increment(ref _forwarded);
        }
        else
        {
            Interlocked.Increment(ref _discarded);
        }
    }

    private sealed record Held(Port Target, byte[] Packet);

    private sealed class Port(byte host, string device, int descriptor)
    {
        public byte Host { get; } = host;

        public string Device { get; } = device;

        public int Descriptor { get; } = descriptor;

        public Thread? Reader { get; set; }

        public bool Closed { get; private set; }

        public void Close()
        {
            if (!Closed)
            {
                Closed = true;
                NativeClose(Descriptor);
            }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeOpen(string path, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int NativeIoctl(int fd, ulong request, byte[] argument);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint NativeRead(int fd, byte[] buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint NativeWrite(int fd, byte[] buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int NativeClose(int fd);

    [LibraryImport("libc", EntryPoint = "clock_nanosleep")]
    private static partial int NativeSleep(int clock, int flags, ref TimeSpec request, IntPtr remain);
}

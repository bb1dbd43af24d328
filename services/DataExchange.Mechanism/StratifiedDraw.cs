namespace DataExchange.Mechanism;

/// <summary>
/// The walks of <see cref="StratifiedSampler"/>'s cycles, drawn from its one stream: the orders only, so that the walks
/// themselves can run anywhere afterwards.
/// </summary>
internal sealed class StratifiedDraw
{
    private readonly SeededRandom _rng;
    private readonly int _sellers;
    private readonly int[] _shuffled;   // tau: the sellers in a uniform order, cut into chunks per cycle
    private readonly int[] _pool;
    private readonly int[] _order;
    private readonly int[] _chunkStamp;
    private readonly int[] _drawnStamp;
    private int _stamp;

    public StratifiedDraw(int sellers, SeededRandom rng)
    {
        _rng = rng;
        _sellers = sellers;
        _shuffled = Enumerable.Range(0, sellers).ToArray();
        _pool = new int[sellers];
        _order = new int[sellers];
        _chunkStamp = new int[sellers];
        _drawnStamp = new int[sellers];
    }

    /// <summary>
    /// One cycle of the band [start, end) (<see cref="StratifiedSampler.Cycle"/>): ceil(M / w) walks, as the orders of
    /// their first end sellers (walk i at [i end, (i + 1) end) of <paramref name="orders"/>), and which of each walk's band
    /// positions hold its chunk (at [i w, (i + 1) w) of <paramref name="inChunk"/>: the samples; the other positions fill
    /// a short last chunk's band).
    /// </summary>
    public void Cycle(int start, int end, Span<int> orders, Span<bool> inChunk)
    {
        var w = end - start;
        var m = _sellers;
        _rng.Shuffle(_shuffled);
        for (var c = 0; c < m; c += w)
        {
            var size = Math.Min(w, m - c);
            _stamp++;
            for (var i = 0; i < size; i++) _chunkStamp[_shuffled[c + i]] = _stamp;
            // the prefix and the band's fillers: end - size of the other sellers drawn without replacement, in random order
            var draw = end - size;
            if (2 * end <= m)
            {
                // few of many: draw uniformly and reject the chunk and repeats (O(end) a walk, not O(M))
                for (var i = 0; i < draw;)
                {
                    var j = _rng.Next(m);
                    if (_chunkStamp[j] == _stamp || _drawnStamp[j] == _stamp) continue;
                    _drawnStamp[j] = _stamp;
                    _pool[i++] = j;
                }
            }
            else
            {
                var n = 0;
                for (var i = 0; i < m; i++)
                    if (_chunkStamp[_shuffled[i]] != _stamp) _pool[n++] = _shuffled[i];
                for (var i = 0; i < draw; i++)
                {
                    var k = i + _rng.Next(n - i);
                    (_pool[i], _pool[k]) = (_pool[k], _pool[i]);
                }
            }
            _pool.AsSpan(0, start).CopyTo(_order);
            _shuffled.AsSpan(c, size).CopyTo(_order.AsSpan(start));
            _pool.AsSpan(start, draw - start).CopyTo(_order.AsSpan(start + size));
            _rng.Shuffle(_order.AsSpan(start, w));
            var walk = c / w;
            _order.AsSpan(0, end).CopyTo(orders.Slice(walk * end, end));
            for (var p = 0; p < w; p++) inChunk[walk * w + p] = _chunkStamp[_order[start + p]] == _stamp;
        }
    }
}

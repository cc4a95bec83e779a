// BASED's three token mixers, one decode step for a batch of sessions (Mechanisms/ShortConv, BasedLinearAttention,
// SlidingWindowAttention: same state layout, same math).

// Gated short convolution: u = in_proj(x) is (tokens, 2·inner) = u1 | u2; state (k−1, inner) holds the last k−1 u1
// rows, oldest first. c = bias + Σ_j taps[j]·input_j; out = silu(c) ⊙ u2; then the state shifts by one row.
// One thread per (token, channel): grid (ceil(inner/256), tokens).
extern "C" __global__ void short_conv_step(const float* u, int ldu, const float* taps, const float* convBias,
    float* states, int stride, int layerOffset, int inner, int kernel, float* out, int ldo)
{
    int t = blockIdx.y, ch = blockIdx.x * blockDim.x + threadIdx.x;
    if (ch >= inner) return;
    float* st = states + (i64)t * stride + layerOffset;
    const float* ur = u + (i64)t * ldu;
    float u1 = ur[ch], c = convBias ? convBias[ch] : 0.f;
    int history = kernel - 1;
    for (int j = 0; j < kernel; j++)
    {
        float input = j < history ? st[j * inner + ch] : u1;
        c = input * taps[j * inner + ch] + c;
    }
    c = c * (1.f / (1.f + expf(-c)));
    out[(i64)t * ldo + ch] = c * ur[inner + ch];
    for (int j = 0; j + 1 < history; j++) st[j * inner + ch] = st[(j + 1) * inner + ch];
    if (history > 0) st[(history - 1) * inner + ch] = u1;
}

// The symmetric Taylor feature map of BasedLinearAttention.FeatureMap: [1, x/⁴√f, x_i²/(√2√f), x_i x_j/√f (i<j)].
__device__ __forceinline__ float taylor_feature(const float* x, int f, int p, float linear, float square, float cross)
{
    if (p == 0) return 1.f;
    if (p <= f) return x[p - 1] * linear;
    int offset = 1 + f;
    for (int i = 0; i < f; i++)
    {
        int len = f - i;
        if (p < offset + len)
        {
            int j = i + (p - offset);
            float xi = x[i];
            return j == i ? xi * xi * square : (xi * cross) * x[j];
        }
        offset += len;
    }
    return 0.f;
}

// Taylor linear attention, one token: per head S += φ(k)vᵀ, z += φ(k); y = φ(q)S / (φ(q)·z + eps).
// q, k, v are columns qOffset, kOffset, vOffset of each (tokens, ldx) row; state per head (D, hd) then z (D).
// One block per (head, token); the block's threads form `parts` groups of hd columns that split the D rows of S, their
// partial numerators summed in shared memory. Dynamic shared memory 2·D + 2·f + hd + blockDim floats.
extern "C" __global__ void taylor_step(const float* qkv, int ldx, int qOffset, int kOffset, int vOffset,
    float* states, int stride, int layerOffset, int heads, int f, int hd, float linear, float square, float cross,
    float eps, float* out, int ldo)
{
    extern __shared__ float smem[];
    int h = blockIdx.x, t = blockIdx.y, dx = 1 + f + f * (f + 1) / 2;
    float* phiQ = smem;
    float* phiK = phiQ + dx;
    float* q = phiK + dx;
    float* k = q + f;
    float* v = k + f;
    float* partial = v + hd;
    const float* row = qkv + (i64)t * ldx;
    for (int i = threadIdx.x; i < f; i += blockDim.x)
    {
        q[i] = row[qOffset + h * f + i];
        k[i] = row[kOffset + h * f + i];
    }
    for (int i = threadIdx.x; i < hd; i += blockDim.x) v[i] = row[vOffset + h * hd + i];
    __syncthreads();
    for (int p = threadIdx.x; p < dx; p += blockDim.x)
    {
        phiQ[p] = taylor_feature(q, f, p, linear, square, cross);
        phiK[p] = taylor_feature(k, f, p, linear, square, cross);
    }
    __syncthreads();
    float* s = states + (i64)t * stride + layerOffset + (i64)h * (dx * hd + dx);
    float* z = s + dx * hd;
    // z += φ(k); den = φ(q)·z in double.
    double den = 0.0;
    for (int r = threadIdx.x; r < dx; r += blockDim.x)
    {
        float zr = z[r] + phiK[r];
        z[r] = zr;
        den += (double)phiQ[r] * zr;
    }
    den = block_sum_d(den);
    float inv = (float)(1.0 / (den + (double)eps));
    int parts = max(1, (int)blockDim.x / hd), part = threadIdx.x / hd, c = threadIdx.x % hd;
    if (part < parts)
    {
        for (int cc = c; cc < hd; cc += blockDim.x)   // hd > blockDim: one part, columns strided
        {
            float num = 0.f, vc = v[cc];
            for (int r = part; r < dx; r += parts)
            {
                float sr = vc * phiK[r] + s[r * hd + cc];
                s[r * hd + cc] = sr;
                num = sr * phiQ[r] + num;
            }
            if (parts > 1) partial[part * hd + cc] = num;
            else out[(i64)t * ldo + h * hd + cc] = num * inv;
        }
    }
    if (parts == 1) return;
    __syncthreads();
    if (part == 0)
    {
        float num = 0.f;
        for (int g = 0; g < parts; g++) num += partial[g * hd + c];
        out[(i64)t * ldo + h * hd + c] = num * inv;
    }
}

// Sliding window, part 1: rotary (NeoX halves or GPT-J pairs, angles in double at the session's absolute position) on
// each q and k head of the (tokens, (heads + 2·kvHeads)·hd) qkv rows, then k and v into ring slot position mod ring.
// One block per (q or k head, token); blockDim >= hd.
extern "C" __global__ void sliding_rotary_store(float* qkv, int ldx, int heads, int kvHeads, int hd, int rotaryDim,
    double theta, int interleaved, float* states, int stride, int layerOffset, int ring)
{
    int head = blockIdx.x, t = blockIdx.y;
    float* x = qkv + (i64)t * ldx + head * hd;
    float* st = states + (i64)t * stride;
    i64 position = state_position(st);
    int half = rotaryDim / 2;
    float x1 = 0.f, x2 = 0.f, c = 0.f, s = 0.f;
    int i = threadIdx.x;
    if (i < half)
    {
        double invFreq = 1.0 / pow(theta, 2.0 * i / rotaryDim);
        double a = (double)position * invFreq;
        c = (float)cos(a);
        s = (float)sin(a);
        x1 = interleaved ? x[2 * i] : x[i];
        x2 = interleaved ? x[2 * i + 1] : x[i + half];
    }
    __syncthreads();
    if (i < half)
    {
        if (interleaved)
        {
            x[2 * i] = x1 * c - x2 * s;
            x[2 * i + 1] = x2 * c + x1 * s;
        }
        else
        {
            x[i] = x1 * c - x2 * s;
            x[i + half] = x2 * c + x1 * s;
        }
    }
    __syncthreads();
    if (head < heads) return;
    int g = head - heads, kvw = kvHeads * hd, slot = (int)(position % ring);
    float* keys = st + layerOffset;
    float* values = keys + (i64)ring * kvw;
    const float* v = qkv + (i64)t * ldx + (heads + kvHeads + g) * hd;
    for (int e = threadIdx.x; e < hd; e += blockDim.x)
    {
        keys[(i64)slot * kvw + g * hd + e] = x[e];
        values[(i64)slot * kvw + g * hd + e] = v[e];
    }
}

// Sliding window, part 2: per head, softmax over the ring's positions max(0, p−ring+1) .. p of scale·q·k, then Σ p v.
// One block per (head, token): each warp scores positions (lanes split the head dims), then groups of hd threads split
// the positions of the weighted sum. Dynamic shared memory ring + hd + blockDim floats; blockDim >= hd.
extern "C" __global__ void sliding_attention(const float* qkv, int ldx, int heads, int kvHeads, int hd, float scale,
    const float* states, int stride, int layerOffset, int ring, float* out, int ldo)
{
    extern __shared__ float smem[];
    float* scores = smem;
    float* q = scores + ring;
    float* partial = q + hd;
    __shared__ float red[32];
    int h = blockIdx.x, t = blockIdx.y, g = h / (heads / kvHeads), kvw = kvHeads * hd;
    int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP, warps = blockDim.x / WARP;
    const float* st = states + (i64)t * stride;
    i64 position = state_position(st);
    i64 first = max(position - ring + 1, (i64)0);
    int count = (int)(position - first + 1);
    int slot0 = (int)(first % ring);   // slot of position first + m is slot0 + m, wrapped once
    const float* keys = st + layerOffset + g * hd;
    const float* values = st + layerOffset + (i64)ring * kvw + g * hd;
    for (int e = threadIdx.x; e < hd; e += blockDim.x) q[e] = qkv[(i64)t * ldx + h * hd + e];
    __syncthreads();
    for (int m = warp; m < count; m += warps)
    {
        int slot = slot0 + m;
        if (slot >= ring) slot -= ring;
        const float* key = keys + (i64)slot * kvw;
        float dot = 0.f;
        for (int e = lane; e < hd; e += WARP) dot = q[e] * key[e] + dot;
        dot = warp_sum(dot);
        if (lane == 0) scores[m] = dot * scale;
    }
    __syncthreads();
    float mx = NEG_INF;
    for (int m = threadIdx.x; m < count; m += blockDim.x) mx = fmaxf(mx, scores[m]);
    mx = warp_max(mx);
    if (lane == 0) red[warp] = mx;
    __syncthreads();
    if (threadIdx.x < WARP)
    {
        float v = threadIdx.x < warps ? red[threadIdx.x] : NEG_INF;
        v = warp_max(v);
        if (threadIdx.x == 0) red[0] = v;
    }
    __syncthreads();
    mx = red[0];
    double sum = 0.0;
    for (int m = threadIdx.x; m < count; m += blockDim.x)
    {
        float e = expf(scores[m] - mx);
        scores[m] = e;
        sum += e;
    }
    float total = (float)block_sum_d(sum);
    int parts = max(1, (int)blockDim.x / hd), part = threadIdx.x / hd, c = threadIdx.x % hd;
    if (part < parts)
    {
        float o = 0.f;
        for (int m = part; m < count; m += parts)
        {
            int slot = slot0 + m;
            if (slot >= ring) slot -= ring;
            o = values[(i64)slot * kvw + c] * (scores[m] / total) + o;
        }
        partial[part * hd + c] = o;
    }
    __syncthreads();
    if (part == 0)
    {
        float o = 0.f;
        for (int p = 0; p < parts; p++) o += partial[p * hd + c];
        out[(i64)t * ldo + h * hd + c] = o;
    }
}

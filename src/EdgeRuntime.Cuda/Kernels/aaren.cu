// Aaren attention, one step (Mechanisms/AarenAttention.Step): s = q·k (double, rounded once), m' = max(m, s),
// c' = c e^{m−m'} + e^{s−m'}, a' = a e^{m−m'} + v e^{s−m'}, o = a'/c' (0 when c' = 0); e^{−∞−m} = 0.
// k, v are columns 0 and width of each (tokens, ldx) row; state per head [m, c, a(hd)]. One block per (head, token).
__device__ __forceinline__ float aaren_scale(float x, float m)
{
    return isinf(x) && x < 0.f ? 0.f : (float)exp((double)x - (double)m);
}

extern "C" __global__ void aaren_step(const float* kv, int ldx, int width, const float* query, int hd,
    float* states, int stride, int layerOffset, float* out, int ldo)
{
    int h = blockIdx.x, t = blockIdx.y;
    const float* row = kv + (i64)t * ldx;
    double dot = 0.0;
    for (int i = threadIdx.x; i < hd; i += blockDim.x) dot += (double)query[h * hd + i] * row[h * hd + i];
    float s = (float)block_sum_d(dot);
    float* hs = states + (i64)t * stride + layerOffset + (i64)h * (hd + 2);
    float m0 = hs[0];
    float m = fmaxf(m0, s);
    float alpha = aaren_scale(m0, m), beta = aaren_scale(s, m);
    float c = hs[1] * alpha + beta;
    __syncthreads();   // every thread has read m0 and c before they change
    for (int i = threadIdx.x; i < hd; i += blockDim.x)
    {
        float a = hs[2 + i] * alpha;
        a = row[width + h * hd + i] * beta + a;
        hs[2 + i] = a;
        out[(i64)t * ldo + h * hd + i] = c > 0.f ? a / c : 0.f;
    }
    if (threadIdx.x == 0)
    {
        hs[0] = m;
        hs[1] = c;
    }
}

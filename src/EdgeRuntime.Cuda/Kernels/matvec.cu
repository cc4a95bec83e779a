// Linear layers for a batch of tokens: Y[t, r] = (accumulate ? Y[t, r] : 0) + (W[r, :] · X[t, :] + bias[r]).
// One warp computes R rows for NT tokens: each weight element is read once per NT tokens (the "mat-mat over the
// batch"), the tokens' activations come from L1. Blocks of 4 warps; grid.x = token tiles (fastest, so the tiles that
// share weight rows run together and hit L2), grid.y = row groups. Mirrors Core's Linear.Forward / MatVec / MatVecQ8_0.

__device__ __forceinline__ int dp4a(int a, int b, int c)
{
    int d;
    asm("dp4a.s32.s32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
    return d;
}

template <int R, int NT>
__device__ __forceinline__ void mv_store(float (&acc)[R][NT], const float* bias, float* Y, int rows, int ldy, int tokens,
    int accumulate, int row0, int t0, int lane)
{
#pragma unroll
    for (int r = 0; r < R; r++)
    {
#pragma unroll
        for (int t = 0; t < NT; t++)
        {
            float s = warp_sum(acc[r][t]);
            int row = row0 + r, tok = t0 + t;
            if (lane == 0 && row < rows && tok < tokens)
            {
                float v = bias ? s + bias[row] : s;
                float* y = Y + (i64)tok * ldy + row;
                *y = accumulate ? *y + v : v;
            }
        }
    }
}

// f32 or f16 weights; VEC: 16-byte loads (cols a multiple of 4 for f32, 8 for f16; ldx a multiple of 4).
template <int DT, bool VEC, int R, int NT>
__device__ __forceinline__ void mv_float(const void* Wv, const float* bias, const float* X, float* Y,
    int rows, int cols, int ldx, int ldy, int tokens, int accumulate)
{
    int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;
    int row0 = (blockIdx.y * (blockDim.x / WARP) + warp) * R, t0 = blockIdx.x * NT;
    if (row0 >= rows) return;
    float acc[R][NT];
    const float* xr[NT];
    i64 wr[R];
#pragma unroll
    for (int t = 0; t < NT; t++) xr[t] = X + (i64)min(t0 + t, tokens - 1) * ldx;
#pragma unroll
    for (int r = 0; r < R; r++)
    {
        wr[r] = (i64)min(row0 + r, rows - 1) * cols;
#pragma unroll
        for (int t = 0; t < NT; t++) acc[r][t] = 0.f;
    }
    if (DT == DT_F32 && VEC)
    {
        const float* W = (const float*)Wv;
        for (int c = lane; c < cols / 4; c += WARP)
        {
            float4 w[R];
#pragma unroll
            for (int r = 0; r < R; r++) w[r] = __ldg((const float4*)(W + wr[r]) + c);
#pragma unroll
            for (int t = 0; t < NT; t++)
            {
                float4 x = ((const float4*)xr[t])[c];
#pragma unroll
                for (int r = 0; r < R; r++) acc[r][t] += w[r].x * x.x + w[r].y * x.y + w[r].z * x.z + w[r].w * x.w;
            }
        }
    }
    else if (DT == DT_F16 && VEC)
    {
        const u16* W = (const u16*)Wv;
        for (int c = lane; c < cols / 8; c += WARP)
        {
            float w[R][8];
#pragma unroll
            for (int r = 0; r < R; r++)
            {
                uint4 raw = __ldg((const uint4*)(W + wr[r]) + c);
                unsigned parts[4] = { raw.x, raw.y, raw.z, raw.w };
#pragma unroll
                for (int i = 0; i < 4; i++)
                {
                    w[r][2 * i] = half_to_float((u16)(parts[i] & 0xFFFFu));
                    w[r][2 * i + 1] = half_to_float((u16)(parts[i] >> 16));
                }
            }
#pragma unroll
            for (int t = 0; t < NT; t++)
            {
                float4 xa = ((const float4*)xr[t])[2 * c], xb = ((const float4*)xr[t])[2 * c + 1];
#pragma unroll
                for (int r = 0; r < R; r++)
                    acc[r][t] += w[r][0] * xa.x + w[r][1] * xa.y + w[r][2] * xa.z + w[r][3] * xa.w
                               + w[r][4] * xb.x + w[r][5] * xb.y + w[r][6] * xb.z + w[r][7] * xb.w;
            }
        }
    }
    else
    {
        for (int c = lane; c < cols; c += WARP)
        {
            float w[R];
#pragma unroll
            for (int r = 0; r < R; r++)
                w[r] = DT == DT_F32 ? ((const float*)Wv)[wr[r] + c] : half_to_float(((const u16*)Wv)[wr[r] + c]);
#pragma unroll
            for (int t = 0; t < NT; t++)
            {
                float x = xr[t][c];
#pragma unroll
                for (int r = 0; r < R; r++) acc[r][t] += w[r] * x;
            }
        }
    }
    mv_store<R, NT>(acc, bias, Y, rows, ldy, tokens, accumulate, row0, t0, lane);
}

// Q8_0 / Q4_0 weights against activations quantized to Q8_0 (quantize_q8_0): exact int8 block sums (dp4a), scaled
// and summed in f32, as ggml_vec_dot_q8_0_q8_0 / ggml_vec_dot_q4_0_q8_0 and Core's MatVecQ8_0 / MatVecQ4_0 do.
template <int DT, int R, int NT>
__device__ __forceinline__ void mv_quant(const u8* W, const float* bias, const i8* xq, const float* xd, float* Y,
    int rows, int cols, int ldy, int tokens, int accumulate)
{
    const int bytes = DT == DT_Q8_0 ? 34 : 18;
    int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;
    int row0 = (blockIdx.y * (blockDim.x / WARP) + warp) * R, t0 = blockIdx.x * NT;
    if (row0 >= rows) return;
    int nb = cols / 32;
    float acc[R][NT];
    int tt[NT];
    i64 wr[R];
#pragma unroll
    for (int t = 0; t < NT; t++) tt[t] = min(t0 + t, tokens - 1);
#pragma unroll
    for (int r = 0; r < R; r++)
    {
        wr[r] = (i64)min(row0 + r, rows - 1) * nb;
#pragma unroll
        for (int t = 0; t < NT; t++) acc[r][t] = 0.f;
    }
    for (int b = lane; b < nb; b += WARP)
    {
        int q[R][8];
        float d[R];
#pragma unroll
        for (int r = 0; r < R; r++)
        {
            const u16* p = (const u16*)(W + (wr[r] + b) * bytes);   // blocks are 2-byte aligned
            d[r] = half_to_float(__ldg(p));
            if (DT == DT_Q8_0)
            {
#pragma unroll
                for (int i = 0; i < 8; i++) q[r][i] = (int)((unsigned)__ldg(p + 1 + 2 * i) | ((unsigned)__ldg(p + 2 + 2 * i) << 16));
            }
            else
            {
#pragma unroll
                for (int i = 0; i < 4; i++)
                {
                    int packed = (int)((unsigned)__ldg(p + 1 + 2 * i) | ((unsigned)__ldg(p + 2 + 2 * i) << 16));
                    q[r][i] = packed & 0x0F0F0F0F;            // elements 4i..4i+3
                    q[r][4 + i] = (packed >> 4) & 0x0F0F0F0F; // elements 16+4i..16+4i+3
                }
            }
        }
#pragma unroll
        for (int t = 0; t < NT; t++)
        {
            const int4* xp = (const int4*)(xq + (i64)tt[t] * cols + b * 32);
            int4 xa = xp[0], xb = xp[1];
            int x[8] = { xa.x, xa.y, xa.z, xa.w, xb.x, xb.y, xb.z, xb.w };
            float dx = xd[(i64)tt[t] * nb + b];
            int xsum = 0;
            if (DT == DT_Q4_0)
            {
#pragma unroll
                for (int i = 0; i < 8; i++) xsum = dp4a(x[i], 0x01010101, xsum);
            }
#pragma unroll
            for (int r = 0; r < R; r++)
            {
                int s = 0;
#pragma unroll
                for (int i = 0; i < 8; i++) s = dp4a(q[r][i], x[i], s);
                if (DT == DT_Q8_0) acc[r][t] += (float)s * (d[r] * dx);
                else acc[r][t] += (float)(s - 8 * xsum) * d[r] * dx;   // nibbles are stored +8
            }
        }
    }
    mv_store<R, NT>(acc, bias, Y, rows, ldy, tokens, accumulate, row0, t0, lane);
}

#define MV_FLOAT(name, DT, VEC, R, NT)                                                                          \
    extern "C" __global__ void __launch_bounds__(128) name(const void* W, const float* bias, const float* X,    \
        float* Y, int rows, int cols, int ldx, int ldy, int tokens, int accumulate)                              \
    {                                                                                                            \
        mv_float<DT, VEC, R, NT>(W, bias, X, Y, rows, cols, ldx, ldy, tokens, accumulate);                       \
    }

#define MV_QUANT(name, DT, R, NT)                                                                               \
    extern "C" __global__ void __launch_bounds__(128) name(const u8* W, const float* bias, const i8* xq,         \
        const float* xd, float* Y, int rows, int cols, int ldy, int tokens, int accumulate)                      \
    {                                                                                                            \
        mv_quant<DT, R, NT>(W, bias, xq, xd, Y, rows, cols, ldy, tokens, accumulate);                            \
    }

#define MV_ALL(R, NT)                                   \
    MV_FLOAT(mv_f32_v_r##R##_t##NT, DT_F32, true, R, NT)  \
    MV_FLOAT(mv_f32_s_r##R##_t##NT, DT_F32, false, R, NT) \
    MV_FLOAT(mv_f16_v_r##R##_t##NT, DT_F16, true, R, NT)  \
    MV_FLOAT(mv_f16_s_r##R##_t##NT, DT_F16, false, R, NT) \
    MV_QUANT(mv_q8_0_r##R##_t##NT, DT_Q8_0, R, NT)        \
    MV_QUANT(mv_q4_0_r##R##_t##NT, DT_Q4_0, R, NT)

MV_ALL(1, 1)
MV_ALL(1, 2)
MV_ALL(1, 4)
MV_ALL(4, 8)

// Activations to Q8_0 for the quantized linear layers: per 32 values d = amax/127, q = roundf(x/d), d stored as f16
// (BlockQ8_0.QuantizeRow). One warp per block; 8 warps per CTA. xq is (tokens, cols) int8, xd (tokens, cols/32).
extern "C" __global__ void __launch_bounds__(256) quantize_q8_0(const float* X, int ldx, int cols, int tokens, i8* xq, float* xd)
{
    int lane = threadIdx.x % WARP, nb = cols / 32;
    int gw = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP;
    if (gw >= nb * tokens) return;
    int t = gw / nb, b = gw % nb;
    float v = X[(i64)t * ldx + b * 32 + lane];
    float amax = warp_max(fabsf(v));
    float d = amax / 127.f;
    float id = d != 0.f ? 1.f / d : 0.f;
    xq[(i64)t * cols + b * 32 + lane] = (i8)round_away(v * id);
    if (lane == 0) xd[(i64)t * nb + b] = half_to_float(float_to_half(d));
}

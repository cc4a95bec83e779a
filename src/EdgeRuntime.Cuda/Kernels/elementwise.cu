// Embedding lookup, norms, activations and gates: one block per token (grid.x = tokens) unless noted.
// Each mirrors its Core kernel (RmsNorm, LayerNorm, Activations, TransNormerActivations) in f32, with the long sums in
// double; results agree with the CPU to rounding.

// out[t] = scale · table[token[t]] (+ positions[position of session t]), dequantized from any weight type.
extern "C" __global__ void embed(const u8* table, int dtype, int rows, int cols, const int* tokens, float scale,
    const u8* positionTable, int positionDtype, int positionRows, const float* states, int stride, float* out, int ldo)
{
    int t = blockIdx.x;
    int token = min(max(tokens[t], 0), rows - 1);   // the host validates tokens; never read outside the table
    i64 position = state_position(states + (i64)t * stride);
    int p = (int)min(max(position, (i64)0), (i64)max(positionRows - 1, 0));
    for (int c = threadIdx.x; c < cols; c += blockDim.x)
    {
        float v = weight_at(table, dtype, cols, token, c) * scale;
        if (positionTable) v += weight_at(positionTable, positionDtype, cols, p, c);
        out[(i64)t * ldo + c] = v;
    }
}

// RMSNorm y = x / sqrt(mean(x²) + eps) · w, or SimpleRMSNorm when w is null.
extern "C" __global__ void rms_norm(const float* x, int ldx, const float* w, float eps, float* out, int ldo, int n)
{
    const float* xr = x + (i64)blockIdx.x * ldx;
    double ss = 0.0;
    for (int c = threadIdx.x; c < n; c += blockDim.x) ss += (double)xr[c] * xr[c];
    ss = block_sum_d(ss);
    float scale = (float)(1.0 / sqrt(ss / n + (double)eps));
    float* o = out + (i64)blockIdx.x * ldo;
    for (int c = threadIdx.x; c < n; c += blockDim.x)
    {
        float v = xr[c] * scale;
        o[c] = w ? v * w[c] : v;
    }
}

// LayerNorm y = (x − mean)/sqrt(var + eps) · w + b (biased variance).
extern "C" __global__ void layer_norm(const float* x, int ldx, const float* w, const float* b, float eps, float* out, int ldo, int n)
{
    const float* xr = x + (i64)blockIdx.x * ldx;
    double s = 0.0;
    for (int c = threadIdx.x; c < n; c += blockDim.x) s += xr[c];
    float mean = (float)(block_sum_d(s) / n);
    double ss = 0.0;
    for (int c = threadIdx.x; c < n; c += blockDim.x)
    {
        float d = xr[c] - mean;
        ss += (double)d * d;
    }
    float inv = (float)(1.0 / sqrt(block_sum_d(ss) / n + (double)eps));
    float* o = out + (i64)blockIdx.x * ldo;
    for (int c = threadIdx.x; c < n; c += blockDim.x) o[c] = fmaf((xr[c] - mean) * inv, w[c], b[c]);
}

// Activation kinds (CudaActivation in C#).
#define ACT_NONE 0
#define ACT_SILU 1
#define ACT_RELU 2
#define ACT_GELU 3
#define ACT_GELU_TANH 4
#define ACT_SIGMOID 5
#define ACT_ELU 6
#define ACT_ONE_PLUS_ELU 7
#define ACT_SQUARED_RELU 8

// Exact GELU with erf from Abramowitz–Stegun 7.1.26, the formula of Core's Activations.Gelu.
__device__ __forceinline__ float gelu_as(float v)
{
    const float P = 0.3275911f, A1 = 0.254829592f, A2 = -0.284496736f, A3 = 1.421413741f, A4 = -1.453152027f, A5 = 1.061405429f;
    float z = fabsf(v) * 0.70710678118654752f;
    float t = 1.f / (1.f + P * z);
    float poly = ((((A5 * t + A4) * t + A3) * t + A2) * t + A1) * t;
    float erf = 1.f - poly * expf(-z * z);
    return 0.5f * v * (1.f + (v < 0.f ? -erf : erf));
}

__device__ __forceinline__ float activate(int kind, float v)
{
    switch (kind)
    {
    case ACT_SILU: return v * (1.f / (1.f + expf(-v)));
    case ACT_RELU: return fmaxf(v, 0.f);
    case ACT_GELU: return gelu_as(v);
    case ACT_GELU_TANH: return 0.5f * v * (1.f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    case ACT_SIGMOID: return 1.f / (1.f + expf(-v));
    case ACT_ELU: return v > 0.f ? v : expm1f(v);
    case ACT_ONE_PLUS_ELU: return v > 0.f ? 1.f + v : expf(v);
    case ACT_SQUARED_RELU: { float r = fmaxf(v, 0.f); return r * r; }
    default: return v;
    }
}

// x[t, 0:n] = act(x[t, 0:n]) in place.
extern "C" __global__ void activation(int kind, float* x, int ldx, int n)
{
    float* xr = x + (i64)blockIdx.x * ldx;
    for (int c = threadIdx.x; c < n; c += blockDim.x) xr[c] = activate(kind, xr[c]);
}

// Gated unit: out[t, c] = a[t, c] · act(g[t, c]) with a at column aOffset and g at gOffset of each input row
// (BASED GatedMlp: a = fc1[:h], g = fc1[h:]; TransNormer GLU: g = l1 x, a = l2 x).
extern "C" __global__ void gated(int kind, const float* in, int ldi, int aOffset, int gOffset, float* out, int ldo, int n)
{
    const float* r = in + (i64)blockIdx.x * ldi;
    float* o = out + (i64)blockIdx.x * ldo;
    for (int c = threadIdx.x; c < n; c += blockDim.x)
    {
        float a = r[aOffset + c], g = r[gOffset + c];
        o[c] = kind == ACT_SILU ? a * (g / (1.f + expf(-g))) : activate(kind, g) * a;
    }
}

// TransNormer's output gate: out = SimpleRMSNorm(o) ⊙ u over n values.
extern "C" __global__ void srms_gate(const float* o, int ldo_in, const float* u, int ldu, float eps, float* out, int ldo, int n)
{
    const float* orow = o + (i64)blockIdx.x * ldo_in;
    double ss = 0.0;
    for (int c = threadIdx.x; c < n; c += blockDim.x) ss += (double)orow[c] * orow[c];
    ss = block_sum_d(ss);
    float scale = (float)(1.0 / sqrt(ss / n + (double)eps));
    const float* urow = u + (i64)blockIdx.x * ldu;
    float* dst = out + (i64)blockIdx.x * ldo;
    for (int c = threadIdx.x; c < n; c += blockDim.x) dst[c] = orow[c] * scale * urow[c];
}

// Every session's position += 1 (the last kernel of a step). One thread per session.
extern "C" __global__ void advance_position(float* states, int stride, int tokens)
{
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t < tokens) *(i64*)(states + (i64)t * stride) += 1;
}

// Reads n float4 and writes one float per block: the device's read bandwidth (CudaBandwidth).
extern "C" __global__ void read_bandwidth(const float4* p, i64 n, float* out)
{
    float s = 0.f;
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
    {
        float4 v = p[i];
        s += v.x + v.y + v.z + v.w;
    }
    s = warp_sum(s);
    if (threadIdx.x == 0) out[blockIdx.x] = s;
}

// Lightning attention (TransNormerLLM), one decode step (Mechanisms/LightningAttention.StepHead): per head
// KV ← e^{−λ} KV + k̃ᵀv, o = q̃ KV, with q̃ = [q cos θp, q sin θp] (LRPE, angle in double) or q̃ = q.
// q, k, v are columns 0, hidden, 2·hidden of each (tokens, ldx) row (already activated). State per head (ks, hs),
// ks = 2·hs with LRPE. One block per (head, token); dynamic shared memory 2·ks + hs floats.
extern "C" __global__ void lightning_step(const float* qkv, int ldx, int hidden, int hs, const float* theta,
    const float* decay, float* states, int stride, int layerOffset, float* out, int ldo)
{
    extern __shared__ float smem[];
    int h = blockIdx.x, t = blockIdx.y, ks = theta ? 2 * hs : hs;
    float* qt = smem;
    float* kt = qt + ks;
    float* v = kt + ks;
    const float* row = qkv + (i64)t * ldx;
    float* st = states + (i64)t * stride;
    i64 position = state_position(st);
    for (int i = threadIdx.x; i < hs; i += blockDim.x)
    {
        float q = row[h * hs + i], k = row[hidden + h * hs + i];
        v[i] = row[2 * hidden + h * hs + i];
        if (theta)
        {
            double a = (double)theta[h * hs + i] * (double)position;
            float c = (float)cos(a), s = (float)sin(a);
            qt[i] = q * c; qt[hs + i] = q * s;
            kt[i] = k * c; kt[hs + i] = k * s;
        }
        else
        {
            qt[i] = q;
            kt[i] = k;
        }
    }
    __syncthreads();
    float lambda = decay[h];
    float* kv = st + layerOffset + (i64)h * ks * hs;
    for (int c = threadIdx.x; c < hs; c += blockDim.x)
    {
        float o = 0.f, vc = v[c];
        for (int r = 0; r < ks; r++)
        {
            float x = kt[r] * vc + kv[r * hs + c] * lambda;
            kv[r * hs + c] = x;
            o = qt[r] * x + o;
        }
        out[(i64)t * ldo + h * hs + c] = o;
    }
}

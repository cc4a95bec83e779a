// Shared helpers of the EdgeRuntime CUDA kernels. NVRTC compiles common.cuh followed by every *.cu file of this folder
// as one translation unit (no #include: NVRTC has no file system here, and no CUDA headers are needed).
// Conventions: activations are f32, rows of a (tokens, n) buffer are `ld` floats apart, `tokens` is the batch; each
// session's state is a row of `stride` floats in `states`, its 64-bit position (StatePosition) at float offset 0.

typedef unsigned char u8;
typedef signed char i8;
typedef unsigned short u16;
typedef long long i64;

#define WARP 32
#define NEG_INF __int_as_float(0xff800000)

// ggml type ids (EdgeRuntime.Core.Tensors.DType).
#define DT_F32 0
#define DT_F16 1
#define DT_Q4_0 2
#define DT_Q8_0 8

__device__ __forceinline__ float half_to_float(u16 h)
{
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ u16 float_to_half(float f)
{
    u16 h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}

__device__ __forceinline__ float warp_sum(float v)
{
    for (int o = WARP / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ double warp_sum_d(double v)
{
    for (int o = WARP / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v)
{
    for (int o = WARP / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the block in double (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
__device__ double block_sum_d(double v)
{
    __shared__ double partial[32];
    __shared__ double total;
    int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;
    v = warp_sum_d(v);
    __syncthreads();
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0)
    {
        int warps = (blockDim.x + WARP - 1) / WARP;
        double s = lane < warps ? partial[lane] : 0.0;
        s = warp_sum_d(s);
        if (lane == 0) total = s;
    }
    __syncthreads();
    return total;
}

__device__ __forceinline__ i64 state_position(const float* state)
{
    return *(const i64*)state;
}

// C roundf: half-way cases away from zero (BlockQ8_0.QuantizeRow's RoundAway).
__device__ __forceinline__ int round_away(float v)
{
    return (int)roundf(v);
}

// One element of row `row` of a weight matrix of any supported type (embedding lookups).
__device__ float weight_at(const u8* w, int dtype, int cols, int row, int c)
{
    switch (dtype)
    {
    case DT_F32: return ((const float*)w)[(i64)row * cols + c];
    case DT_F16: return half_to_float(((const u16*)w)[(i64)row * cols + c]);
    case DT_Q8_0:
    {
        const u8* block = w + ((i64)row * (cols / 32) + c / 32) * 34;
        float d = half_to_float((u16)(block[0] | (block[1] << 8)));
        return d * (float)(i8)block[2 + c % 32];
    }
    default: // DT_Q4_0
    {
        const u8* block = w + ((i64)row * (cols / 32) + c / 32) * 18;
        float d = half_to_float((u16)(block[0] | (block[1] << 8)));
        int j = c % 32;
        int q = j < 16 ? (block[2 + j] & 0x0F) : (block[2 + j - 16] >> 4);
        return (float)(q - 8) * d;
    }
    }
}

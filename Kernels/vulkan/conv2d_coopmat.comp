// variants: f16.cm
#version 450
#extension GL_GOOGLE_include_directive : require
// Convolution as an implicit GEMM on cooperative-matrix units (fp16 storage, fp32 accumulation):
// per group g (workgroup z), C[o, n] = Σk W[o, k]·X[k, n] with o < Cout/groups,
// n = (b, oy, ox), k = (c, ky, kx) — the same function and parameters as conv2d.comp.
//
// A (the weights, [Cout, Cin/groups·KH·KW], K contiguous) comes in with 16-byte loads fetched
// one K-slice ahead into registers when K is a multiple of 8 (flags bit 8, set by the host);
// B (the input patches) is gathered on the fly, zero outside the padded image, so no im2col
// buffer is ever written. WM x WN subgroups compute a BM x BN tile of C as accumulators of
// FRAG_M x FRAG_N (specialization constants, as in matmul_coopmat_tiled.comp); the epilogue adds
// the per-channel bias, applies the activation and scatters to NCHW.
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "common.glsl"
#include "halves.glsl"
layout(constant_id = 0) const uint SUBGROUP_SIZE = 32u;
layout(constant_id = 1) const uint THREADS = 256u;
layout(constant_id = 2) const uint WM = 4u;
layout(constant_id = 3) const uint WN = 2u;
layout(constant_id = 4) const uint BM = 128u;
layout(constant_id = 5) const uint BN = 128u;
// (id 6 is matmul_coopmat_tiled.comp's B order: the host fills both kernels' constants alike)
layout(constant_id = 7) const uint FRAG_M = 16u;
layout(constant_id = 8) const uint FRAG_N = 16u;
layout(constant_id = 9) const uint FRAG_K = 16u;
layout(local_size_x_id = 1) in;
layout(push_constant, scalar) uniform Params {
    Tensor x; Tensor w; Tensor bias; Tensor y;
    uint B; uint Cin; uint H; uint W; uint Cout; uint OH; uint OW; uint KH; uint KW;
    uint SY; uint SX; uint PY; uint PX; uint groups; uint flags;
} pc;

const uint BK = 32u;
const uint FM = BM / (FRAG_M * WM);
const uint FN = BN / (FRAG_N * WN);
const uint A_STRIDE = BK + 8u;
const uint B_STRIDE = BN + 8u;
const uint S_STRIDE = FRAG_N + 4u;
const uint A_PER_THREAD = (BM * BK / 8u + THREADS - 1u) / THREADS;
shared float16_t tileA[BM * A_STRIDE];
shared float16_t tileB[BK * B_STRIDE];
shared float staging[(THREADS / SUBGROUP_SIZE) * FRAG_M * S_STRIDE];
uvec4 regA[A_PER_THREAD];

uint cog() { return pc.Cout / pc.groups; }
uint cig() { return pc.Cin / pc.groups; }
uint gN() { return pc.B * pc.OH * pc.OW; }
uint gK() { return cig() * pc.KH * pc.KW; }

void fetchA(uint k0, uint m0, uint g) {
    uint t = gl_LocalInvocationID.x;
    Tensor16 w16 = Tensor16(pc.w);
    for (uint i = 0u; i < A_PER_THREAD; ++i) {
        uint chunk = t + i * THREADS;
        uint row = chunk / (BK / 8u), kc = (chunk % (BK / 8u)) * 8u;
        uint gm = m0 + row, gk = k0 + kc;
        regA[i] = (chunk < BM * BK / 8u && gm < cog() && gk < gK()) ? w16.v[((g * cog() + gm) * gK() + gk) / 8u] : uvec4(0u);
    }
}

void commitA() {
    uint t = gl_LocalInvocationID.x;
    for (uint i = 0u; i < A_PER_THREAD; ++i) {
        uint chunk = t + i * THREADS;
        if (chunk >= BM * BK / 8u) continue;
        PUT8(tileA, (chunk / (BK / 8u)) * A_STRIDE + (chunk % (BK / 8u)) * 8u, regA[i])
    }
}

void loadAScalar(uint k0, uint m0, uint g) {
    for (uint l = gl_LocalInvocationID.x; l < BM * BK; l += THREADS) {
        uint mm = l / BK, kk = l % BK, gm = m0 + mm, gk = k0 + kk;
        tileA[mm * A_STRIDE + kk] = (gm < cog() && gk < gK()) ? pc.w.v[(g * cog() + gm) * gK() + gk] : float16_t(0.0);
    }
}

// The input patches of the K-slice at k0 for output pixels n0 ..< n0 + BN (consecutive
// invocations take consecutive pixels: contiguous input reads for stride 1).
void gatherB(uint k0, uint n0, uint g) {
    uint taps = pc.KH * pc.KW, pixels = pc.OH * pc.OW;
    for (uint l = gl_LocalInvocationID.x; l < BN * BK; l += THREADS) {
        uint nn = l % BN, kk = l / BN, gn = n0 + nn, gk = k0 + kk;
        float16_t value = float16_t(0.0);
        if (gn < gN() && gk < gK()) {
            uint c = gk / taps, r = gk % taps;
            uint p = gn % pixels, b = gn / pixels;
            int iy = int((p / pc.OW) * pc.SY + r / pc.KW) - int(pc.PY);
            int ix = int((p % pc.OW) * pc.SX + r % pc.KW) - int(pc.PX);
            if (iy >= 0 && ix >= 0 && iy < int(pc.H) && ix < int(pc.W))
                value = pc.x.v[((b * pc.Cin + g * cig() + c) * pc.H + uint(iy)) * pc.W + uint(ix)];
        }
        tileB[kk * B_STRIDE + nn] = value;
    }
}

void main() {
    uint t = gl_LocalInvocationID.x;
    uint sg = t / SUBGROUP_SIZE, lane = t % SUBGROUP_SIZE;
    uint wm = sg / WN, wn = sg % WN;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN, g = gl_WorkGroupID.z;
    bool vectorA = (pc.flags & 0x100u) != 0u;

    coopmat<float, gl_ScopeSubgroup, FRAG_M, FRAG_N, gl_MatrixUseAccumulator> acc[FM * FN];
    for (uint i = 0u; i < FM * FN; ++i) acc[i] = coopmat<float, gl_ScopeSubgroup, FRAG_M, FRAG_N, gl_MatrixUseAccumulator>(0.0);

    uint K = gK();
    if (vectorA) fetchA(0u, m0, g);
    for (uint k0 = 0u; k0 < K; k0 += BK) {
        if (vectorA) commitA(); else loadAScalar(k0, m0, g);
        gatherB(k0, n0, g);
        barrier();
        if (vectorA && k0 + BK < K) fetchA(k0 + BK, m0, g);
        for (uint kk = 0u; kk < BK; kk += FRAG_K) {
            coopmat<float16_t, gl_ScopeSubgroup, FRAG_M, FRAG_K, gl_MatrixUseA> fa[FM];
            for (uint i = 0u; i < FM; ++i)
                coopMatLoad(fa[i], tileA, (wm * FM * FRAG_M + i * FRAG_M) * A_STRIDE + kk, A_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
            for (uint j = 0u; j < FN; ++j) {
                coopmat<float16_t, gl_ScopeSubgroup, FRAG_K, FRAG_N, gl_MatrixUseB> fb;
                coopMatLoad(fb, tileB, kk * B_STRIDE + wn * FN * FRAG_N + j * FRAG_N, B_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
                for (uint i = 0u; i < FM; ++i) acc[i * FN + j] = coopMatMulAdd(fa[i], fb, acc[i * FN + j]);
            }
        }
        barrier();
    }

    uint stage = sg * FRAG_M * S_STRIDE, pixels = pc.OH * pc.OW;
    for (uint f = 0u; f < FM * FN; ++f) {
        uint rowBase = m0 + wm * FM * FRAG_M + (f / FN) * FRAG_M, colBase = n0 + wn * FN * FRAG_N + (f % FN) * FRAG_N;
        if (rowBase >= cog() || colBase >= gN()) continue;   // uniform per subgroup
        coopMatStore(acc[f], staging, stage, S_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
        subgroupMemoryBarrierShared();
        subgroupBarrier();
        for (uint e = lane; e < FRAG_M * FRAG_N; e += SUBGROUP_SIZE) {
            uint gm = rowBase + e / FRAG_N, gn = colBase + e % FRAG_N;
            if (gm >= cog() || gn >= gN()) continue;
            uint o = g * cog() + gm;
            float v = staging[stage + (e / FRAG_N) * S_STRIDE + e % FRAG_N];
            if ((pc.flags & 1u) != 0u) v += LD(pc.bias, o);
            uint p = gn % pixels, b = gn / pixels;
            ST(pc.y, (b * pc.Cout + o) * pixels + p, activate(v, (pc.flags >> 1) & 0x7Fu));
        }
        subgroupMemoryBarrierShared();
        subgroupBarrier();
    }
}

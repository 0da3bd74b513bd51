// variants: f16.cm
#version 450
#extension GL_GOOGLE_include_directive : require
// Cooperative-matrix GEMM for large problems: same parameters and semantics as matmul.comp.
//
// Workgroup: 8 subgroups in a 4 (M) x 2 (N) grid computing a 128 x 128 tile of C; each subgroup
// owns 32 x 64 as 2 x 4 accumulators of 16 x 16 (f16·f16 + f32), so every A fragment is reused
// four times and every B fragment twice per k-step. A and B are staged in shared memory as fp16
// (zero-filled at the edges); the epilogue goes one fragment at a time through a small
// per-subgroup staging area, adds the bias, applies the activation and stores with bounds.
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "common.glsl"
layout(constant_id = 0) const uint SUBGROUP_SIZE = 32u;
layout(constant_id = 1) const uint THREADS = 256u;   // 8 * SUBGROUP_SIZE
layout(local_size_x_id = 1) in;
layout(push_constant, scalar) uniform Params {
    Tensor a; Tensor b; Tensor bias; Tensor c;
    uint M; uint N; uint K; uint sAm; uint sAk; uint sBk; uint sBn;
    uint batchA; uint batchB; uint batchC; uint flags;
} pc;

const uint BM = 128u, BN = 128u, BK = 32u;
const uint A_STRIDE = BK + 8u;
const uint B_STRIDE = BN + 8u;
const uint S_STRIDE = 20u;        // staging row stride (floats) of one 16 x 16 fragment
shared float16_t tileA[BM * A_STRIDE];
shared float16_t tileB[BK * B_STRIDE];
shared float staging[8u * 16u * S_STRIDE];

void main() {
    uint t = gl_LocalInvocationID.x;
    uint sg = t / SUBGROUP_SIZE, lane = t % SUBGROUP_SIZE;
    uint wm = sg / 2u, wn = sg % 2u;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN, z = gl_WorkGroupID.z;
    uint baseA = z * pc.batchA, baseB = z * pc.batchB;

    coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> acc[8];
    for (uint i = 0u; i < 8u; ++i) acc[i] = coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>(0.0);

    for (uint k0 = 0u; k0 < pc.K; k0 += BK) {
        for (uint l = t; l < BM * BK; l += THREADS) {
            uint mm = pc.sAk == 1u ? l / BK : l % BM;
            uint kk = pc.sAk == 1u ? l % BK : l / BM;
            uint gm = m0 + mm, gk = k0 + kk;
            tileA[mm * A_STRIDE + kk] = (gm < pc.M && gk < pc.K)
                ? pc.a.v[baseA + gm * pc.sAm + gk * pc.sAk] : float16_t(0.0);
        }
        for (uint l = t; l < BK * BN; l += THREADS) {
            uint nn = pc.sBn == 1u ? l % BN : l / BK;
            uint kk = pc.sBn == 1u ? l / BN : l % BK;
            uint gn = n0 + nn, gk = k0 + kk;
            tileB[kk * B_STRIDE + nn] = (gn < pc.N && gk < pc.K)
                ? pc.b.v[baseB + gk * pc.sBk + gn * pc.sBn] : float16_t(0.0);
        }
        barrier();
        for (uint kk = 0u; kk < BK; kk += 16u) {
            coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> fa0;
            coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> fa1;
            coopMatLoad(fa0, tileA, (wm * 32u) * A_STRIDE + kk, A_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
            coopMatLoad(fa1, tileA, (wm * 32u + 16u) * A_STRIDE + kk, A_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
            for (uint j = 0u; j < 4u; ++j) {
                coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB> fb;
                coopMatLoad(fb, tileB, kk * B_STRIDE + wn * 64u + j * 16u, B_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
                acc[j] = coopMatMulAdd(fa0, fb, acc[j]);
                acc[4u + j] = coopMatMulAdd(fa1, fb, acc[4u + j]);
            }
        }
        barrier();
    }
    uint stage = sg * 16u * S_STRIDE;
    for (uint f = 0u; f < 8u; ++f) {
        uint rowBase = m0 + wm * 32u + (f / 4u) * 16u, colBase = n0 + wn * 64u + (f % 4u) * 16u;
        coopMatStore(acc[f], staging, stage, S_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
        subgroupMemoryBarrierShared();
        subgroupBarrier();
        for (uint e = lane; e < 256u; e += SUBGROUP_SIZE) {
            uint gm = rowBase + e / 16u, gn = colBase + e % 16u;
            if (gm >= pc.M || gn >= pc.N) continue;
            float v = staging[stage + (e / 16u) * S_STRIDE + e % 16u];
            if ((pc.flags & 1u) != 0u) v += LD(pc.bias, gn);
            ST(pc.c, z * pc.batchC + gm * pc.N + gn, activate(v, pc.flags >> 1));
        }
        subgroupMemoryBarrierShared();
        subgroupBarrier();
    }
}

// variants: f16.cm
#version 450
#extension GL_GOOGLE_include_directive : require
// Batched GEMM on cooperative-matrix units (VK_KHR_cooperative_matrix), fp16 storage and
// operands, fp32 accumulation. Same parameters and semantics as matmul.comp.
//
// Workgroup: 4 subgroups in a 2 x 2 grid computing a 64 x 64 tile of C; each subgroup owns a
// 32 x 32 block as 2 x 2 accumulators of 16 x 16 (the size every vendor exposes for f16·f16+f32).
// A and B tiles are staged in shared memory (zero-filled at the edges, so any M/N/K works),
// the accumulators go back through shared memory for the bias/activation epilogue and the
// bounds-checked, strided store.
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "common.glsl"
layout(constant_id = 0) const uint SUBGROUP_SIZE = 32u;
layout(constant_id = 1) const uint THREADS = 128u;   // 4 * SUBGROUP_SIZE
layout(local_size_x_id = 1) in;
layout(push_constant, scalar) uniform Params {
    Tensor a; Tensor b; Tensor bias; Tensor c;
    uint M; uint N; uint K; uint sAm; uint sAk; uint sBk; uint sBn;
    uint batchA; uint batchB; uint batchC; uint flags;
} pc;

const uint BM = 64u, BN = 64u, BK = 32u;
const uint A_STRIDE = BK + 8u;   // padding staggers shared-memory banks
const uint B_STRIDE = BN + 8u;
const uint C_STRIDE = BN + 4u;
shared float16_t tileA[BM * A_STRIDE];
shared float16_t tileB[BK * B_STRIDE];
shared float tileC[BM * C_STRIDE];

void main() {
    uint t = gl_LocalInvocationID.x;
    uint sg = t / SUBGROUP_SIZE;
    uint wm = sg / 2u, wn = sg % 2u;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN, z = gl_WorkGroupID.z;
    uint baseA = z * pc.batchA, baseB = z * pc.batchB;

    coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> acc00 =
        coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>(0.0);
    coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> acc01 = acc00;
    coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> acc10 = acc00;
    coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> acc11 = acc00;

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
            coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> a0;
            coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> a1;
            coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB> b0;
            coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB> b1;
            coopMatLoad(a0, tileA, (wm * 32u) * A_STRIDE + kk, A_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
            coopMatLoad(a1, tileA, (wm * 32u + 16u) * A_STRIDE + kk, A_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
            coopMatLoad(b0, tileB, kk * B_STRIDE + wn * 32u, B_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
            coopMatLoad(b1, tileB, kk * B_STRIDE + wn * 32u + 16u, B_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
            acc00 = coopMatMulAdd(a0, b0, acc00);
            acc01 = coopMatMulAdd(a0, b1, acc01);
            acc10 = coopMatMulAdd(a1, b0, acc10);
            acc11 = coopMatMulAdd(a1, b1, acc11);
        }
        barrier();
    }
    uint cBase = (wm * 32u) * C_STRIDE + wn * 32u;
    coopMatStore(acc00, tileC, cBase, C_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
    coopMatStore(acc01, tileC, cBase + 16u, C_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
    coopMatStore(acc10, tileC, cBase + 16u * C_STRIDE, C_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
    coopMatStore(acc11, tileC, cBase + 16u * C_STRIDE + 16u, C_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
    barrier();
    for (uint l = t; l < BM * BN; l += THREADS) {
        uint mm = l / BN, nn = l % BN;
        uint gm = m0 + mm, gn = n0 + nn;
        if (gm >= pc.M || gn >= pc.N) continue;
        float v = tileC[mm * C_STRIDE + nn];
        if ((pc.flags & 1u) != 0u) v += LD(pc.bias, gn);
        ST(pc.c, z * pc.batchC + gm * pc.N + gn, activate(v, pc.flags >> 1));
    }
}

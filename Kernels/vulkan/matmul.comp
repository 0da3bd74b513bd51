// variants: f32 f16
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// Batched C[b] = act(A[b]·B[b] + bias). Strides (in elements) express the transposes; batch
// strides of 0 broadcast. Workgroup grid: (N tiles, M tiles, batch).
layout(push_constant, scalar) uniform Params {
    Tensor a; Tensor b; Tensor bias; Tensor c;
    uint M; uint N; uint K; uint sAm; uint sAk; uint sBk; uint sBn;
    uint batchA; uint batchB; uint batchC; uint flags;   // flags: bit 0 bias, bits 1.. activation
} pc;
#define gM pc.M
#define gN pc.N
#define gK pc.K
#define A_K_CONTIGUOUS (pc.sAk == 1u)
#define B_N_CONTIGUOUS (pc.sBn == 1u)
#define baseA (gl_WorkGroupID.z * pc.batchA)
#define baseB (gl_WorkGroupID.z * pc.batchB)
float loadA(uint m, uint k) { return LD(pc.a, baseA + m * pc.sAm + k * pc.sAk); }
float loadB(uint k, uint n) { return LD(pc.b, baseB + k * pc.sBk + n * pc.sBn); }
void storeC(uint m, uint n, float v) {
    if ((pc.flags & 1u) != 0u) v += LD(pc.bias, n);
    ST(pc.c, gl_WorkGroupID.z * pc.batchC + m * pc.N + n, activate(v, pc.flags >> 1));
}
#include "gemm_tile.glsl"
void main() { gemmTile(gl_WorkGroupID.y * BM, gl_WorkGroupID.x * BN); }

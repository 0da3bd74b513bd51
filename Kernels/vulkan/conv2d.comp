// variants: f32 f16
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// Convolution as an implicit GEMM per group g (workgroup z): C[o, n] = Σk W[o, k]·X[k, n] with
// o < Cout/groups, n = (b, oy, ox), k = (c, ky, kx); X is gathered from the input on the fly
// (zero outside the padded image), so no im2col buffer is ever written.
layout(push_constant, scalar) uniform Params {
    Tensor x; Tensor w; Tensor bias; Tensor y;
    uint B; uint Cin; uint H; uint W; uint Cout; uint OH; uint OW; uint KH; uint KW;
    uint SY; uint SX; uint PY; uint PX; uint groups; uint flags;
} pc;
#define cog (pc.Cout / pc.groups)
#define cig (pc.Cin / pc.groups)
#define gM cog
#define gN (pc.B * pc.OH * pc.OW)
#define gK (cig * pc.KH * pc.KW)
#define A_K_CONTIGUOUS true
#define B_N_CONTIGUOUS true
#define g gl_WorkGroupID.z
float loadA(uint m, uint k) { return LD(pc.w, (g * cog + m) * gK + k); }
float loadB(uint k, uint n) {
    uint c = k / (pc.KH * pc.KW), r = k % (pc.KH * pc.KW);
    uint p = n % (pc.OH * pc.OW), b = n / (pc.OH * pc.OW);
    int iy = int((p / pc.OW) * pc.SY + r / pc.KW) - int(pc.PY);
    int ix = int((p % pc.OW) * pc.SX + r % pc.KW) - int(pc.PX);
    if (iy < 0 || ix < 0 || iy >= int(pc.H) || ix >= int(pc.W)) return 0.0;
    return LD(pc.x, ((b * pc.Cin + g * cig + c) * pc.H + uint(iy)) * pc.W + uint(ix));
}
void storeC(uint m, uint n, float v) {
    uint o = g * cog + m;
    if ((pc.flags & 1u) != 0u) v += LD(pc.bias, o);
    uint p = n % (pc.OH * pc.OW), b = n / (pc.OH * pc.OW);
    ST(pc.y, (b * pc.Cout + o) * pc.OH * pc.OW + p, activate(v, pc.flags >> 1));
}
#include "gemm_tile.glsl"
void main() { gemmTile(gl_WorkGroupID.y * BM, gl_WorkGroupID.x * BN); }

// variants: f32 f16
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// Direct convolution for one input channel per group (depthwise, any channel multiplier): one
// invocation per output element sums its KH x KW window.
layout(local_size_x = 256) in;
layout(push_constant, scalar) uniform Params {
    Tensor x; Tensor w; Tensor bias; Tensor y;
    uint n; uint Cin; uint H; uint W; uint Cout; uint OH; uint OW; uint KH; uint KW;
    uint SY; uint SX; uint PY; uint PX; uint flags;
} pc;
void main() {
    uint i = flatGroup() * 256u + gl_LocalInvocationID.x;
    if (i >= pc.n) return;
    uint ox = i % pc.OW, oy = (i / pc.OW) % pc.OH, o = (i / (pc.OW * pc.OH)) % pc.Cout;
    uint b = i / (pc.OW * pc.OH * pc.Cout);
    uint c = o / (pc.Cout / pc.Cin);
    uint xBase = (b * pc.Cin + c) * pc.H * pc.W;
    float s = 0.0;
    for (uint ky = 0u; ky < pc.KH; ++ky) {
        int iy = int(oy * pc.SY + ky) - int(pc.PY);
        if (iy < 0 || iy >= int(pc.H)) continue;
        for (uint kx = 0u; kx < pc.KW; ++kx) {
            int ix = int(ox * pc.SX + kx) - int(pc.PX);
            if (ix < 0 || ix >= int(pc.W)) continue;
            s = fma(LD(pc.x, xBase + uint(iy) * pc.W + uint(ix)), LD(pc.w, (o * pc.KH + ky) * pc.KW + kx), s);
        }
    }
    if ((pc.flags & 1u) != 0u) s += LD(pc.bias, o);
    ST(pc.y, i, activate(s, pc.flags >> 1));
}

// variants: f32 f16
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// Transposed conv, kernel 2 stride 2: out[b,o,2y+i,2x+j] = bias[o] + Σc x[b,c,y,x]·w[c,o,i,j].
// Every output pixel has exactly one source pixel, so one invocation per output sums over Cin.
layout(local_size_x = 256) in;
layout(push_constant, scalar) uniform Params {
    Tensor x; Tensor w; Tensor bias; Tensor y; uint n; uint Cin; uint Cout; uint H; uint W;
} pc;
void main() {
    uint i = flatGroup() * 256u + gl_LocalInvocationID.x;
    if (i >= pc.n) return;
    uint OW = 2u * pc.W, OH = 2u * pc.H;
    uint ox = i % OW, oy = (i / OW) % OH, o = (i / (OW * OH)) % pc.Cout, b = i / (OW * OH * pc.Cout);
    uint xi = (b * pc.Cin * pc.H + oy / 2u) * pc.W + ox / 2u;
    uint wi = (o * 2u + oy % 2u) * 2u + ox % 2u;
    float s = LD(pc.bias, o);
    for (uint c = 0u; c < pc.Cin; ++c)
        s = fma(LD(pc.x, xi + c * pc.H * pc.W), LD(pc.w, wi + c * pc.Cout * 4u), s);
    ST(pc.y, i, s);
}

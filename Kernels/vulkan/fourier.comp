// variants: f32 f16
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// SAM's random Fourier features: out[r, j] = sin(p_j) for j < F, cos(p_{j-F}) after, with
// p_j = 2π·((2x − 1)·G[0, j] + (2y − 1)·G[1, j]) for the point (x, y) of row r.
layout(local_size_x = 256) in;
layout(push_constant, scalar) uniform Params { Tensor coords; Tensor g; Tensor y; uint n; uint F; } pc;
void main() {
    uint i = flatGroup() * 256u + gl_LocalInvocationID.x;
    if (i >= pc.n) return;
    uint j = i % (2u * pc.F), r = i / (2u * pc.F), f = j % pc.F;
    float px = 2.0 * LD(pc.coords, 2u * r) - 1.0, py = 2.0 * LD(pc.coords, 2u * r + 1u) - 1.0;
    float p = 6.283185307179586 * (px * LD(pc.g, f) + py * LD(pc.g, pc.F + f));
    ST(pc.y, i, j < pc.F ? sin(p) : cos(p));
}

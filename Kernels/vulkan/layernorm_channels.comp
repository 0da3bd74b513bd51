// variants: f32 f16
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// SAM's LayerNorm2d on [B, C, HW]: one invocation per pixel walks the C channels; neighbouring
// invocations read neighbouring pixels, so every load is coalesced.
layout(local_size_x = 256) in;
layout(push_constant, scalar) uniform Params {
    Tensor x; Tensor gamma; Tensor beta; Tensor y; uint pixels; uint C; uint HW; float eps;
} pc;
void main() {
    uint p = flatGroup() * 256u + gl_LocalInvocationID.x;
    if (p >= pc.pixels) return;
    uint base = (p / pc.HW) * pc.C * pc.HW + p % pc.HW;
    float s = 0.0;
    for (uint c = 0u; c < pc.C; ++c) s += LD(pc.x, base + c * pc.HW);
    float mean = s / float(pc.C);
    float q = 0.0;
    for (uint c = 0u; c < pc.C; ++c) { float d = LD(pc.x, base + c * pc.HW) - mean; q += d * d; }
    float inv = 1.0 / sqrt(q / float(pc.C) + pc.eps);
    for (uint c = 0u; c < pc.C; ++c) {
        uint i = base + c * pc.HW;
        ST(pc.y, i, (LD(pc.x, i) - mean) * inv * LD(pc.gamma, c) + LD(pc.beta, c));
    }
}

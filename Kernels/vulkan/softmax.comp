// variants: f32 f16 f32.sg f16.sg
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// Softmax over the last axis, one workgroup per row: max, then Σ exp(x - max), then write.
#define REDUCE_THREADS 256u
#include "reduce.glsl"
layout(local_size_x = 256) in;
layout(push_constant, scalar) uniform Params { Tensor x; Tensor y; uint rows; uint C; } pc;
void main() {
    uint row = flatGroup();
    if (row >= pc.rows) return;
    uint base = row * pc.C, t = gl_LocalInvocationID.x;
    float m = -3.402823466e38;
    for (uint c = t; c < pc.C; c += 256u) m = max(m, LD(pc.x, base + c));
    m = workgroupMax(m);
    float s = 0.0;
    for (uint c = t; c < pc.C; c += 256u) s += exp(LD(pc.x, base + c) - m);
    float inv = 1.0 / workgroupSum(s);
    for (uint c = t; c < pc.C; c += 256u) ST(pc.y, base + c, exp(LD(pc.x, base + c) - m) * inv);
}

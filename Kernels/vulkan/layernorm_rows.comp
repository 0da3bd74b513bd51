// variants: f32 f16 f32.sg f16.sg
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// LayerNorm over the last axis: one workgroup per row, statistics in fp32 (two passes: mean,
// then the biased variance of the centred values).
#define REDUCE_THREADS 256u
#include "reduce.glsl"
layout(local_size_x = 256) in;
layout(push_constant, scalar) uniform Params {
    Tensor x; Tensor gamma; Tensor beta; Tensor y; uint rows; uint C; float eps;
} pc;
void main() {
    uint row = flatGroup();
    if (row >= pc.rows) return;
    uint base = row * pc.C, t = gl_LocalInvocationID.x;
    float s = 0.0;
    for (uint c = t; c < pc.C; c += 256u) s += LD(pc.x, base + c);
    float mean = workgroupSum(s) / float(pc.C);
    float q = 0.0;
    for (uint c = t; c < pc.C; c += 256u) { float d = LD(pc.x, base + c) - mean; q += d * d; }
    float inv = 1.0 / sqrt(workgroupSum(q) / float(pc.C) + pc.eps);
    for (uint c = t; c < pc.C; c += 256u)
        ST(pc.y, base + c, (LD(pc.x, base + c) - mean) * inv * LD(pc.gamma, c) + LD(pc.beta, c));
}

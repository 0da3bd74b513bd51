// variants: f32 f16
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// Flash-style fused multi-head attention: softmax(q·kᵀ·scale + bias)·v without ever storing the
// Nq x Nk scores. Workgroup (query block, head, batch); each invocation owns one query row and
// keeps q, the running max, the running denominator and the output accumulator in registers;
// K and V stream through shared memory BKV keys at a time, shared by the whole block.
layout(constant_id = 0) const uint HD = 64u;    // head dim (exact)
layout(constant_id = 1) const uint BQ = 64u;    // queries per workgroup (= local size)
layout(constant_id = 2) const uint BKV = 32u;   // keys per shared-memory tile
layout(local_size_x_id = 1) in;
layout(push_constant, scalar) uniform Params {
    Tensor q; Tensor k; Tensor v; Tensor bias; Tensor o;
    uint Nq; uint Nk; uint heads; uint qRow; uint kRow; uint vRow; uint qOff; uint kOff; uint vOff;
    uint headStep;   // channel distance between heads in q/k/v rows
    uint biasMode;   // 0 none, 1 precomputed relative position [B,heads,Nq,gh+gw], 2 TinyViT table
    uint gh; uint gw; float scale;
} pc;
shared float tileK[BKV * HD];
shared float tileV[BKV * HD];

float biasAt(uint b, uint h, uint qi, uint kj) {
    if (pc.biasMode == 1u) {
        uint row = ((b * pc.heads + h) * pc.Nq + qi) * (pc.gh + pc.gw);
        return LD(pc.bias, row + kj / pc.gw) + LD(pc.bias, row + pc.gh + kj % pc.gw);
    }
    if (pc.biasMode == 2u) {
        uint ws = pc.gw;
        uint dy = uint(abs(int(qi / ws) - int(kj / ws))), dx = uint(abs(int(qi % ws) - int(kj % ws)));
        return LD(pc.bias, h * ws * ws + dy * ws + dx);
    }
    return 0.0;
}

void main() {
    uint b = gl_WorkGroupID.z, h = gl_WorkGroupID.y, t = gl_LocalInvocationID.x;
    uint qi = gl_WorkGroupID.x * BQ + t;
    bool isValid = qi < pc.Nq;
    float qv[HD];
    float acc[HD];
    uint qBase = (b * pc.Nq + min(qi, pc.Nq - 1u)) * pc.qRow + pc.qOff + h * pc.headStep;
    for (uint c = 0u; c < HD; ++c) { qv[c] = LD(pc.q, qBase + c) * pc.scale; acc[c] = 0.0; }
    float runMax = -3.402823466e38, runSum = 0.0;

    for (uint k0 = 0u; k0 < pc.Nk; k0 += BKV) {
        uint count = min(BKV, pc.Nk - k0);
        barrier();
        for (uint l = t; l < BKV * HD; l += BQ) {
            uint j = l / HD, c = l % HD;
            float kv = 0.0, vv = 0.0;
            if (j < count) {
                uint row = b * pc.Nk + k0 + j;
                kv = LD(pc.k, row * pc.kRow + pc.kOff + h * pc.headStep + c);
                vv = LD(pc.v, row * pc.vRow + pc.vOff + h * pc.headStep + c);
            }
            tileK[l] = kv;
            tileV[l] = vv;
        }
        barrier();
        if (!isValid) continue;
        float s[BKV];
        float tileMax = runMax;
        for (uint j = 0u; j < count; ++j) {
            float d = 0.0;
            for (uint c = 0u; c < HD; ++c) d = fma(qv[c], tileK[j * HD + c], d);
            s[j] = d + biasAt(b, h, qi, k0 + j);
            tileMax = max(tileMax, s[j]);
        }
        float correction = exp(runMax - tileMax);
        runSum *= correction;
        for (uint c = 0u; c < HD; ++c) acc[c] *= correction;
        for (uint j = 0u; j < count; ++j) {
            float p = exp(s[j] - tileMax);
            runSum += p;
            for (uint c = 0u; c < HD; ++c) acc[c] = fma(p, tileV[j * HD + c], acc[c]);
        }
        runMax = tileMax;
    }
    if (!isValid) return;
    float inv = 1.0 / runSum;
    uint oBase = (b * pc.Nq + qi) * pc.heads * HD + h * HD;
    for (uint c = 0u; c < HD; ++c) ST(pc.o, oBase + c, acc[c] * inv);
}

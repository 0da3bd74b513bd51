// variants: f32 f16
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// Bilinear resize of the last two axes with PyTorch's align_corners=False rules. aa = 0: plain
// bilinear (source clamped at 0, neighbour clamped at the edge). aa = 1: the antialiased
// triangle filter of torch's _upsample_bilinear2d_aa, whose support widens by the scale when
// downscaling; weights are normalised per output sample.
layout(local_size_x = 256) in;
layout(push_constant, scalar) uniform Params {
    Tensor x; Tensor y; uint n; uint H; uint W; uint OH; uint OW; uint aa; float scaleY; float scaleX;
} pc;

void plainTaps(uint o, uint inSize, float scale, out uint i0, out uint i1, out float l1) {
    float src = max((float(o) + 0.5) * scale - 0.5, 0.0);
    i0 = min(uint(src), inSize - 1u);
    i1 = min(i0 + 1u, inSize - 1u);
    l1 = src - float(i0);
}

// First tap and count of the antialiased filter for output o; weights via aaWeight.
void aaSpan(uint o, uint inSize, float scale, out int first, out int count, out float center, out float inv) {
    float support = scale >= 1.0 ? scale : 1.0;
    center = scale * (float(o) + 0.5);
    inv = scale >= 1.0 ? 1.0 / scale : 1.0;
    first = max(int(center - support + 0.5), 0);
    count = min(int(center + support + 0.5), int(inSize)) - first;
}
float aaWeight(int j, int first, float center, float inv) {
    return max(0.0, 1.0 - abs((float(j + first) - center + 0.5) * inv));
}

void main() {
    uint i = flatGroup() * 256u + gl_LocalInvocationID.x;
    if (i >= pc.n) return;
    uint ox = i % pc.OW, oy = (i / pc.OW) % pc.OH, plane = i / (pc.OW * pc.OH);
    uint base = plane * pc.H * pc.W;
    float r;
    if (pc.aa == 0u) {
        uint y0, y1, x0, x1; float ly, lx;
        plainTaps(oy, pc.H, pc.scaleY, y0, y1, ly);
        plainTaps(ox, pc.W, pc.scaleX, x0, x1, lx);
        float top = (1.0 - lx) * LD(pc.x, base + y0 * pc.W + x0) + lx * LD(pc.x, base + y0 * pc.W + x1);
        float bot = (1.0 - lx) * LD(pc.x, base + y1 * pc.W + x0) + lx * LD(pc.x, base + y1 * pc.W + x1);
        r = (1.0 - ly) * top + ly * bot;
    } else {
        int fy, cy, fx, cx; float centerY, invY, centerX, invX;
        aaSpan(oy, pc.H, pc.scaleY, fy, cy, centerY, invY);
        aaSpan(ox, pc.W, pc.scaleX, fx, cx, centerX, invX);
        float totalX = 0.0;
        for (int jx = 0; jx < cx; ++jx) totalX += aaWeight(jx, fx, centerX, invX);
        float totalY = 0.0;
        for (int jy = 0; jy < cy; ++jy) totalY += aaWeight(jy, fy, centerY, invY);
        r = 0.0;
        for (int jy = 0; jy < cy; ++jy) {
            float row = 0.0;
            uint rowBase = base + uint(fy + jy) * pc.W + uint(fx);
            for (int jx = 0; jx < cx; ++jx) row += aaWeight(jx, fx, centerX, invX) * LD(pc.x, rowBase + uint(jx));
            r += aaWeight(jy, fy, centerY, invY) * (row / totalX);
        }
        r /= totalY;
    }
    ST(pc.y, i, r);
}

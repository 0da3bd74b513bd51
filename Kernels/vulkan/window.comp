// variants: f32 f16
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// mode 0: window partition [B,H,W,C] -> [B·nY·nX, ws², C] (zero pad bottom/right).
// mode 1: window unpartition [B·nY·nX, ws², C] -> [B,H,W,C] (crops the pad).
layout(local_size_x = 256) in;
layout(push_constant, scalar) uniform Params {
    Tensor x; Tensor y; uint n; uint mode; uint ws; uint H; uint W; uint C; uint nY; uint nX;
} pc;
void main() {
    uint i = flatGroup() * 256u + gl_LocalInvocationID.x;
    if (i >= pc.n) return;
    uint c = i % pc.C;
    uint r = i / pc.C;
    if (pc.mode == 0u) {
        uint t = r % (pc.ws * pc.ws);
        uint w = r / (pc.ws * pc.ws);
        uint b = w / (pc.nY * pc.nX), wr = w % (pc.nY * pc.nX);
        uint yy = (wr / pc.nX) * pc.ws + t / pc.ws;
        uint xx = (wr % pc.nX) * pc.ws + t % pc.ws;
        float v = 0.0;
        if (yy < pc.H && xx < pc.W) v = LD(pc.x, ((b * pc.H + yy) * pc.W + xx) * pc.C + c);
        ST(pc.y, i, v);
    } else {
        uint xx = r % pc.W;
        uint yy = (r / pc.W) % pc.H;
        uint b = r / (pc.W * pc.H);
        uint w = b * pc.nY * pc.nX + (yy / pc.ws) * pc.nX + xx / pc.ws;
        uint t = (yy % pc.ws) * pc.ws + xx % pc.ws;
        ST(pc.y, i, LD(pc.x, (w * pc.ws * pc.ws + t) * pc.C + c));
    }
}

// variants: f32 f16
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// SAM's decomposed relative-position terms for attention_relpos, computed once per query:
// out[b,h,q,j] = Σc q[c]·Rh[yq - j + gh - 1, c] for j < gh, and Σc q[c]·Rw[xq - (j-gh) + gw - 1, c]
// after, with the unscaled query. The attention kernel adds out[.., yk] + out[.., gh + xk].
layout(local_size_x = 256) in;
layout(push_constant, scalar) uniform Params {
    Tensor q; Tensor rh; Tensor rw; Tensor out_;
    uint n; uint Nq; uint heads; uint hd; uint qRow; uint qOff; uint headStep; uint gh; uint gw;
} pc;
void main() {
    uint i = flatGroup() * 256u + gl_LocalInvocationID.x;
    if (i >= pc.n) return;
    uint span = pc.gh + pc.gw;
    uint j = i % span, qi = (i / span) % pc.Nq, h = (i / (span * pc.Nq)) % pc.heads;
    uint b = i / (span * pc.Nq * pc.heads);
    uint qBase = (b * pc.Nq + qi) * pc.qRow + pc.qOff + h * pc.headStep;
    uint tBase;
    Tensor table;
    if (j < pc.gh) { table = pc.rh; tBase = (qi / pc.gw - j + pc.gh - 1u) * pc.hd; }
    else { table = pc.rw; tBase = (qi % pc.gw - (j - pc.gh) + pc.gw - 1u) * pc.hd; }
    float s = 0.0;
    for (uint c = 0u; c < pc.hd; ++c) s = fma(LD(pc.q, qBase + c), LD(table, tBase + c), s);
    ST(pc.out_, i, s);
}

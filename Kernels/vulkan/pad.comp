// variants: f32 f16
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// Zero padding over 6 axes: output coordinate c reads input coordinate c - before when inside.
layout(local_size_x = 256) in;
layout(push_constant, scalar) uniform Params {
    Tensor x; Tensor y; uint n; uint dims[6]; uint inDims[6]; uint before[6];
} pc;
void main() {
    uint i = flatGroup() * 256u + gl_LocalInvocationID.x;
    if (i >= pc.n) return;
    uint rest = i, ix = 0u, stride = 1u;
    bool inside = true;
    for (int d = 5; d >= 0; --d) {
        uint c = rest % pc.dims[d];
        rest /= pc.dims[d];
        int ic = int(c) - int(pc.before[d]);
        inside = inside && ic >= 0 && ic < int(pc.inDims[d]);
        ix += uint(max(ic, 0)) * stride;
        stride *= pc.inDims[d];
    }
    ST(pc.y, i, inside ? LD(pc.x, ix) : 0.0);
}

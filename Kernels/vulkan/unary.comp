// variants: f32 f16
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 256) in;
layout(push_constant, scalar) uniform Params { Tensor x; Tensor y; uint n; uint act; } pc;
void main() {
    uint i = flatGroup() * 256u + gl_LocalInvocationID.x;
    if (i >= pc.n) return;
    ST(pc.y, i, activate(LD(pc.x, i), pc.act));
}

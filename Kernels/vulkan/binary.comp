// variants: f32 f16
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// y = a (op) b with broadcasting: dims are the output's (6 axes, leading 1s); sa/sb are the
// inputs' element strides per output axis (0 where an input broadcasts).
layout(local_size_x = 256) in;
layout(push_constant, scalar) uniform Params {
    Tensor a; Tensor b; Tensor y; uint n; uint op; uint dims[6]; uint sa[6]; uint sb[6];
} pc;
void main() {
    uint i = flatGroup() * 256u + gl_LocalInvocationID.x;
    if (i >= pc.n) return;
    uint rest = i, ia = 0u, ib = 0u;
    for (int d = 5; d >= 0; --d) {
        uint c = rest % pc.dims[d];
        rest /= pc.dims[d];
        ia += c * pc.sa[d];
        ib += c * pc.sb[d];
    }
    float va = LD(pc.a, ia), vb = LD(pc.b, ib);
    // op 0 = add, 1 = mul, 2 = greater (1 or 0)
    ST(pc.y, i, pc.op == 0u ? va + vb : pc.op == 1u ? va * vb : (va > vb ? 1.0 : 0.0));
}

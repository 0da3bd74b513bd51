// variants: f32 f16
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// Strided copy over a 6-axis index space: y[Σ c·sy] = x[Σ c·sx]. Permute, broadcast, slice,
// concat (one dispatch per input) and plain copies are all this kernel with different strides.
layout(local_size_x = 256) in;
layout(push_constant, scalar) uniform Params {
    Tensor x; Tensor y; uint n; uint dims[6]; uint sx[6]; uint sy[6];
} pc;
void main() {
    uint i = flatGroup() * 256u + gl_LocalInvocationID.x;
    if (i >= pc.n) return;
    uint rest = i, ix = 0u, iy = 0u;
    for (int d = 5; d >= 0; --d) {
        uint c = rest % pc.dims[d];
        rest /= pc.dims[d];
        ix += c * pc.sx[d];
        iy += c * pc.sy[d];
    }
    ST(pc.y, iy, LD(pc.x, ix));
}

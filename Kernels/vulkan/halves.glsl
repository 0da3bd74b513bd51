// 16-byte access to fp16 tensors, shared by the cooperative-matrix kernels: the host sets a
// kernel's vector flag only when addresses are 16-byte aligned and lengths multiples of 8 halfs.
// Needs common.glsl and GL_EXT_shader_explicit_arithmetic_types_float16.
layout(buffer_reference, scalar, buffer_reference_align = 16) buffer Tensor16 { uvec4 v[]; };

// Writes the 8 halfs of one 16-byte load into shared array `arr` from index `at` (a macro:
// GLSL has no pointers to shared memory).
#define PUT8(arr, at, u) { f16vec2 p0_ = unpackFloat2x16((u).x), p1_ = unpackFloat2x16((u).y), \
    p2_ = unpackFloat2x16((u).z), p3_ = unpackFloat2x16((u).w); \
    arr[at] = p0_.x; arr[(at) + 1u] = p0_.y; arr[(at) + 2u] = p1_.x; arr[(at) + 3u] = p1_.y; \
    arr[(at) + 4u] = p2_.x; arr[(at) + 5u] = p2_.y; arr[(at) + 6u] = p3_.x; arr[(at) + 7u] = p3_.y; }

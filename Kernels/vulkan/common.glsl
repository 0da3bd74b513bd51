// Shared by every kernel: storage element type, buffer references and small helpers.
//
// Tensors are reached through buffer device addresses (GL_EXT_buffer_reference) passed in push
// constants, so no descriptor sets exist at all and a tensor of any size (beyond
// maxStorageBufferRange) is addressed directly. FP16 selects fp16 storage (arithmetic stays fp32).
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_scalar_block_layout : require
#ifdef FP16
#extension GL_EXT_shader_16bit_storage : require
#define ELEM float16_t
#define ELEM_ALIGN 2
#else
#define ELEM float
#define ELEM_ALIGN 4
#endif

layout(buffer_reference, scalar, buffer_reference_align = ELEM_ALIGN) buffer Tensor { ELEM v[]; };

#define LD(t, i) float((t).v[i])
#define ST(t, i, x) (t).v[i] = ELEM(x)

// Linear workgroup index of a 2-D grid (large 1-D launches are split over x and y to stay
// under maxComputeWorkGroupCount[0]).
uint flatGroup() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

// erf with fractional error below 1.2e-7 (Chebyshev fit of erfc, Numerical Recipes' erfcc form).
float erfApprox(float x) {
    float z = abs(x);
    float t = 1.0 / (1.0 + 0.5 * z);
    float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
              t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
              t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0.0 ? 1.0 - r : r - 1.0;
}

// Activation codes match VulkanBackend's ActivationCode: 0 none, 1 relu, 2 gelu (erf), 3 sigmoid.
float activate(float x, uint kind) {
    if (kind == 1u) return max(x, 0.0);
    if (kind == 2u) return 0.5 * x * (1.0 + erfApprox(x * 0.70710678118654752));
    if (kind == 3u) return 1.0 / (1.0 + exp(-x));
    return x;
}

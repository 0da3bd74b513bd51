// Layer norm and softmax. WG (a power of two) is the work-group size of the row kernels.
// Every reduction accumulates in float32 even when tensors are stored as half.

// nn.LayerNorm over the last axis: one work-group per row of C values.
__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void layer_norm_rows(__global const store_t* x, int xo, __global const store_t* gamma, int go,
                     __global const store_t* beta, int bo, __global store_t* y, int yo,
                     int C, float eps) {
    __local float red[WG];
    const int lid = get_local_id(0);
    const int base = get_group_id(0) * C;
    float s = 0.0f;
    for (int c = lid; c < C; c += WG) s += LD(x, xo + base + c);
    const float mean = group_sum(s, red) / C;
    float v = 0.0f;
    for (int c = lid; c < C; c += WG) {
        const float d = LD(x, xo + base + c) - mean;
        v += d * d;
    }
    const float inv = 1.0f / sqrt(group_sum(v, red) / C + eps);
    for (int c = lid; c < C; c += WG) {
        const float d = LD(x, xo + base + c) - mean;
        ST(y, yo + base + c, d * inv * LD(gamma, go + c) + LD(beta, bo + c));
    }
}

// SAM's LayerNorm2d on [B, C, H, W]: normalise over C at each pixel. One work-item per pixel,
// so neighbouring work-items read neighbouring addresses (the channel stride is H·W).
__kernel void layer_norm_channels(__global const store_t* x, int xo, __global const store_t* gamma, int go,
                                  __global const store_t* beta, int bo, __global store_t* y, int yo,
                                  int pixelsTotal, int C, int HW, float eps) {
    const int i = get_global_id(0);
    if (i >= pixelsTotal) return;
    const int base = (i / HW) * C * HW + i % HW;
    float s = 0.0f;
    for (int c = 0; c < C; ++c) s += LD(x, xo + base + c * HW);
    const float mean = s / C;
    float v = 0.0f;
    for (int c = 0; c < C; ++c) {
        const float d = LD(x, xo + base + c * HW) - mean;
        v += d * d;
    }
    const float inv = 1.0f / sqrt(v / C + eps);
    for (int c = 0; c < C; ++c) {
        const float d = LD(x, xo + base + c * HW) - mean;
        ST(y, yo + base + c * HW, d * inv * LD(gamma, go + c) + LD(beta, bo + c));
    }
}

// Softmax over the last axis: one work-group per row of C values.
__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void softmax_rows(__global const store_t* x, int xo, __global store_t* y, int yo, int C) {
    __local float red[WG];
    const int lid = get_local_id(0);
    const int base = get_group_id(0) * C;
    float m = -INFINITY;
    for (int c = lid; c < C; c += WG) m = fmax(m, LD(x, xo + base + c));
    m = group_max(m, red);
    float s = 0.0f;
    for (int c = lid; c < C; c += WG) s += exp(LD(x, xo + base + c) - m);
    const float inv = 1.0f / group_sum(s, red);
    for (int c = lid; c < C; c += WG) ST(y, yo + base + c, exp(LD(x, xo + base + c) - m) * inv);
}

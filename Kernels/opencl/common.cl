// Shared definitions, prepended to every program.
//
// Tensors are stored as float (default) or as half when HALF_STORAGE is defined; half is
// read and written only through vload_half/vstore_half, which are core OpenCL 1.2, so the
// fp16-storage path needs no cl_khr_fp16. All arithmetic is float32.
#ifdef HALF_STORAGE
typedef half store_t;
#define LD(p, i) vload_half((i), (p))
#define ST(p, i, v) vstore_half((v), (i), (p))
#else
typedef float store_t;
#define LD(p, i) ((p)[(i)])
#define ST(p, i, v) ((p)[(i)] = (v))
#endif

#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_GELU 2
#define ACT_SIGMOID 3

// Exact (erf) GELU as torch.nn.GELU() computes it by default.
inline float activate(float x, int act) {
    if (act == ACT_RELU) return fmax(x, 0.0f);
    if (act == ACT_GELU) return 0.5f * x * (1.0f + erf(x * 0.70710678118654752f));
    if (act == ACT_SIGMOID) return 1.0f / (1.0f + exp(-x));
    return x;
}

// Sum of one value per work-item over a work-group whose size is a power of two.
// `red` holds get_local_size(0) floats. Every work-item must call it.
inline float group_sum(float v, __local float* red) {
    const int lid = get_local_id(0);
    red[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) red[lid] += red[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float r = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

inline float group_max(float v, __local float* red) {
    const int lid = get_local_id(0);
    red[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) red[lid] = fmax(red[lid], red[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float r = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

// Elementwise kernels: activations, broadcast binary ops, Fourier features.

__kernel void unary(__global const store_t* x, int xo, __global store_t* y, int yo, int n, int act) {
    const int i = get_global_id(0);
    if (i >= n) return;
    ST(y, yo + i, activate(LD(x, xo + i), act));
}

// y = a (op) b over the output shape `dims` (rank <= 8); `as`/`bs` are the inputs' strides per
// output axis, 0 where that input is broadcast. kind 0 = add, 1 = mul, 2 = greater (1 or 0).
__kernel void binary(__global const store_t* a, int ao, __global const store_t* b, int bo,
                     __global store_t* y, int yo, int n, int rank, int8 dims, int8 as, int8 bs, int kind) {
    const int i = get_global_id(0);
    if (i >= n) return;
    int D[8], SA[8], SB[8];
    vstore8(dims, 0, D);
    vstore8(as, 0, SA);
    vstore8(bs, 0, SB);
    int rem = i, ia = ao, ib = bo;
    for (int d = rank - 1; d >= 0; --d) {
        const int c = rem % D[d];
        rem /= D[d];
        ia += c * SA[d];
        ib += c * SB[d];
    }
    const float va = LD(a, ia), vb = LD(b, ib);
    ST(y, yo + i, kind == 0 ? va + vb : kind == 1 ? va * vb : (va > vb ? 1.0f : 0.0f));
}

// SAM's random Fourier features: coords [rows, 2] (x, y in [0, 1]), G [2, F] -> [rows, 2F].
__kernel void fourier_features(__global const store_t* coords, int co, __global const store_t* g, int go,
                               __global store_t* y, int yo, int rows, int F) {
    const int i = get_global_id(0);
    if (i >= rows * 2 * F) return;
    const int row = i / (2 * F), j = i % (2 * F), f = j % F;
    const float cx = 2.0f * LD(coords, co + 2 * row) - 1.0f;
    const float cy = 2.0f * LD(coords, co + 2 * row + 1) - 1.0f;
    const float p = 6.283185307179586f * (cx * LD(g, go + f) + cy * LD(g, go + F + f));
    ST(y, yo + i, j < F ? sin(p) : cos(p));
}

// Data movement: strided copies (permute, broadcast, slice, concat), pad, window (un)partition.

// Copies an iteration space `dims` (rank <= 8): element c goes from x[xo + Σ c_d·xs_d] to
// y[yo + Σ c_d·ys_d]. Strides of 0 broadcast; output strides let concat write a slab.
__kernel void strided_copy(__global const store_t* x, int xo, __global store_t* y, int yo,
                           int n, int rank, int8 dims, int8 xs, int8 ys) {
    const int i = get_global_id(0);
    if (i >= n) return;
    int D[8], SX[8], SY[8];
    vstore8(dims, 0, D);
    vstore8(xs, 0, SX);
    vstore8(ys, 0, SY);
    int rem = i, ix = xo, iy = yo;
    for (int d = rank - 1; d >= 0; --d) {
        const int c = rem % D[d];
        rem /= D[d];
        ix += c * SX[d];
        iy += c * SY[d];
    }
#ifdef HALF_STORAGE
    // Copy the 16-bit pattern unchanged (no round trip through float).
    ((__global ushort*)y)[iy] = ((__global const ushort*)x)[ix];
#else
    y[iy] = x[ix];
#endif
}

// Zero padding: output `odims`, input `idims`, `before` elements on each axis.
__kernel void pad(__global const store_t* x, int xo, __global store_t* y, int yo,
                  int n, int rank, int8 odims, int8 idims, int8 before) {
    const int i = get_global_id(0);
    if (i >= n) return;
    int OD[8], ID[8], BF[8];
    vstore8(odims, 0, OD);
    vstore8(idims, 0, ID);
    vstore8(before, 0, BF);
    int rem = i, ix = 0, stride = 1;
    bool inside = true;
    for (int d = rank - 1; d >= 0; --d) {
        const int c = rem % OD[d] - BF[d];
        rem /= OD[d];
        inside = inside && c >= 0 && c < ID[d];
        ix += c * stride;
        stride *= ID[d];
    }
    ST(y, yo + i, inside ? LD(x, xo + ix) : 0.0f);
}

// [B, H, W, C] -> [B·nY·nX, ws², C], zero where a window reaches past the image.
__kernel void window_partition(__global const store_t* x, int xo, __global store_t* y, int yo,
                               int n, int H, int W, int C, int ws, int nY, int nX) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const int c = i % C, t = (i / C) % (ws * ws), w = i / (C * ws * ws);
    const int b = w / (nY * nX), wy = (w / nX) % nY, wx = w % nX;
    const int py = wy * ws + t / ws, px = wx * ws + t % ws;
    ST(y, yo + i, (py < H && px < W) ? LD(x, xo + ((b * H + py) * W + px) * C + c) : 0.0f);
}

// [B·nY·nX, ws², C] -> [B, H, W, C], dropping the padding.
__kernel void window_unpartition(__global const store_t* x, int xo, __global store_t* y, int yo,
                                 int n, int H, int W, int C, int ws, int nY, int nX) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const int c = i % C, px = (i / C) % W, py = (i / (C * W)) % H, b = i / (C * W * H);
    const int w = (b * nY + py / ws) * nX + px / ws, t = (py % ws) * ws + px % ws;
    ST(y, yo + i, LD(x, xo + (w * ws * ws + t) * C + c));
}

// Bilinear resize of the last two axes, PyTorch align_corners=False semantics.
// Per axis, `aa` selects PyTorch's antialiased path (triangle filter widened by the scale,
// weights normalised) instead of the two-tap interpolation.

// Taps of output index i along an axis of `in` samples: first index and count; weights by tap_weight.
inline void aa_window(int i, int in, float scale, int* first, int* count, float* center, float* invScale) {
    const float support = scale >= 1.0f ? scale : 1.0f;
    *center = scale * (i + 0.5f);
    *invScale = scale >= 1.0f ? 1.0f / scale : 1.0f;
    const int lo = max((int)(*center - support + 0.5f), 0);
    const int hi = min((int)(*center + support + 0.5f), in);
    *first = lo;
    *count = hi - lo;
}

inline float tri(float x) {
    x = fabs(x);
    return x < 1.0f ? 1.0f - x : 0.0f;
}

__kernel void resize_bilinear(__global const store_t* x, int xo, __global store_t* y, int yo,
                              int n, int inH, int inW, int outH, int outW, int aaY, int aaX) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const int ox = i % outW, oy = (i / outW) % outH, plane = i / (outW * outH);
    const int base = xo + plane * inH * inW;
    const float sy = (float)inH / outH, sx = (float)inW / outW;
    if (!aaY && !aaX) {
        float fy = max((oy + 0.5f) * sy - 0.5f, 0.0f), fx = max((ox + 0.5f) * sx - 0.5f, 0.0f);
        const int y0 = (int)fy, x0 = (int)fx;
        const int y1 = y0 + (y0 < inH - 1 ? 1 : 0), x1 = x0 + (x0 < inW - 1 ? 1 : 0);
        const float ly = fy - y0, lx = fx - x0;
        const float top = (1.0f - lx) * LD(x, base + y0 * inW + x0) + lx * LD(x, base + y0 * inW + x1);
        const float bottom = (1.0f - lx) * LD(x, base + y1 * inW + x0) + lx * LD(x, base + y1 * inW + x1);
        ST(y, yo + i, (1.0f - ly) * top + ly * bottom);
        return;
    }
    // General separable path: per axis either the antialiased window or the two taps.
    int y0, ny, x0, nx;
    float cy, cx, isy, isx;
    float wy1 = 0.0f, wx1 = 0.0f;
    if (aaY) {
        aa_window(oy, inH, sy, &y0, &ny, &cy, &isy);
    } else {
        const float fy = max((oy + 0.5f) * sy - 0.5f, 0.0f);
        y0 = (int)fy; ny = y0 < inH - 1 ? 2 : 1; wy1 = fy - y0;
    }
    if (aaX) {
        aa_window(ox, inW, sx, &x0, &nx, &cx, &isx);
    } else {
        const float fx = max((ox + 0.5f) * sx - 0.5f, 0.0f);
        x0 = (int)fx; nx = x0 < inW - 1 ? 2 : 1; wx1 = fx - x0;
    }
    float totalY = 0.0f, totalX = 0.0f;
    if (aaY) for (int j = 0; j < ny; ++j) totalY += tri((j + y0 - cy + 0.5f) * isy);
    if (aaX) for (int j = 0; j < nx; ++j) totalX += tri((j + x0 - cx + 0.5f) * isx);
    float acc = 0.0f;
    for (int jy = 0; jy < ny; ++jy) {
        float wy;
        if (aaY) wy = totalY != 0.0f ? tri((jy + y0 - cy + 0.5f) * isy) / totalY : 0.0f;
        else wy = ny == 1 ? 1.0f : (jy == 0 ? 1.0f - wy1 : wy1);
        float row = 0.0f;
        for (int jx = 0; jx < nx; ++jx) {
            float wx;
            if (aaX) wx = totalX != 0.0f ? tri((jx + x0 - cx + 0.5f) * isx) / totalX : 0.0f;
            else wx = nx == 1 ? 1.0f : (jx == 0 ? 1.0f - wx1 : wx1);
            row += wx * LD(x, base + (y0 + jy) * inW + x0 + jx);
        }
        acc += wy * row;
    }
    ST(y, yo + i, acc);
}

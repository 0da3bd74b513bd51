// Direct grouped convolution for one input channel per group (depthwise, TinyViT's MBConv):
// output channel o reads input channel o / (Cout / groups). One work-item per output element.
__kernel void conv2d_depthwise(__global const store_t* x, int xo, __global const store_t* w, int wo,
                               __global const store_t* bias, int biaso, __global store_t* y, int yo,
                               int n, int Cin, int H, int W, int Cout, int OH, int OW,
                               int KH, int KW, int SY, int SX, int PY, int PX, int hasBias, int act) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const int ox = i % OW, oy = (i / OW) % OH, o = (i / (OW * OH)) % Cout, b = i / (OW * OH * Cout);
    const int ci = o / (Cout / Cin);
    const int xbase = xo + (b * Cin + ci) * H * W, wbase = wo + o * KH * KW;
    float acc = 0.0f;
    for (int ky = 0; ky < KH; ++ky) {
        const int iy = oy * SY - PY + ky;
        if (iy < 0 || iy >= H) continue;
        for (int kx = 0; kx < KW; ++kx) {
            const int ix = ox * SX - PX + kx;
            if (ix < 0 || ix >= W) continue;
            acc = fma(LD(x, xbase + iy * W + ix), LD(w, wbase + ky * KW + kx), acc);
        }
    }
    if (hasBias) acc += LD(bias, biaso + o);
    ST(y, yo + i, activate(acc, act));
}

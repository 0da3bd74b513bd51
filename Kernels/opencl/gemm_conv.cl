// GEMM variant: conv2d as implicit GEMM on NCHW. Per batch image and group (z = b·groups + g):
// M = Cout/groups output channels, N = OH·OW output pixels, K = Cin/groups·kh·kw taps.
// A is the weight [Cout, Cin/groups·kh·kw]; B is gathered from the input on the fly (im2col
// never materialised), zero outside the padded image.
// params: Cin, H, W, OW, kh, kw, strideY, strideX, padY, padX, groups, Cout; [14] has bias;
// [15] the ACT_* epilogue.
#define GEMM_SETUP \
    const int Cin = P[0], H = P[1], W = P[2], OW = P[3], KH = P[4], KW = P[5]; \
    const int SY = P[6], SX = P[7], PY = P[8], PX = P[9], G = P[10], Cout = P[11]; \
    const int b = z / G, g = z % G; \
    const int abase = ao + g * M * K; \
    const int bbase = bo + (b * Cin + g * (Cin / G)) * H * W; \
    const int cbase = co + (b * Cout + g * M) * N;

#define A_K_FAST 1
#define LOAD_A(m, k) (((m) < M && (k) < K) ? LD(A, abase + (m) * K + (k)) : 0.0f)

inline float conv_gather(__global const store_t* B, int bbase, int k, int n, int K, int N,
                         int H, int W, int OW, int KH, int KW, int SY, int SX, int PY, int PX) {
    if (k >= K || n >= N) return 0.0f;
    const int ci = k / (KH * KW), r = k % (KH * KW);
    const int iy = (n / OW) * SY - PY + r / KW;
    const int ix = (n % OW) * SX - PX + r % KW;
    if (iy < 0 || iy >= H || ix < 0 || ix >= W) return 0.0f;
    return LD(B, bbase + (ci * H + iy) * W + ix);
}
#define B_N_FAST 1
#define LOAD_B(k, n) conv_gather(B, bbase, (k), (n), K, N, H, W, OW, KH, KW, SY, SX, PY, PX)

#define STORE_C(m, n, v) \
    ST(C, cbase + (m) * N + (n), activate((v) + (P[14] ? LD(bias, biaso + g * M + (m)) : 0.0f), P[15]))

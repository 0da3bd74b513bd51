// GEMM variant: transposed conv, kernel 2 stride 2, per batch image z:
// M = Cout·4 (m = o·4 + i·2 + j), N = H·W input pixels, K = Cin.
// A[m, k] = w[k, o, i, j], stored [K, M]; B = x[z] as [Cin, H·W]; C scatters to
// out[z, o, 2y+i, 2x+j] plus bias[o]. params: Cout, H, W.
#define GEMM_SETUP \
    const int Cout = P[0], H = P[1], W = P[2]; \
    const int abase = ao; \
    const int bbase = bo + z * K * N; \
    const int cbase = co + z * Cout * 4 * N;

#define A_K_FAST 0
#define LOAD_A(m, k) (((m) < M && (k) < K) ? LD(A, abase + (k) * M + (m)) : 0.0f)
#define B_N_FAST 1
#define LOAD_B(k, n) (((k) < K && (n) < N) ? LD(B, bbase + (k) * N + (n)) : 0.0f)

#define STORE_C(m, n, v) ST(C, cbase + (((m) / 4) * 2 * H + 2 * ((n) / W) + ((m) / 2) % 2) * 2 * W \
                              + 2 * ((n) % W) + (m) % 2, \
                            (v) + LD(bias, biaso + (m) / 4))

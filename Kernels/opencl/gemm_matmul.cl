// GEMM variant: batched matmul C[z] = act(op(A[z]) · op(B[z or shared]) + bias).
// params[0]: 1 when B has a batch dimension, 0 when one B is shared by every batch;
// params[14]: 1 with a bias input; params[15]: the ACT_* epilogue (uniform branches, so one
// program serves every epilogue). Defines: TRANS_A, TRANS_B.
#define GEMM_SETUP \
    const int abase = ao + z * M * K; \
    const int bbase = bo + (P[0] ? z * K * N : 0); \
    const int cbase = co + z * M * N;

#if TRANS_A
#define A_K_FAST 0
#define LOAD_A(m, k) (((m) < M && (k) < K) ? LD(A, abase + (k) * M + (m)) : 0.0f)
#else
#define A_K_FAST 1
#define LOAD_A(m, k) (((m) < M && (k) < K) ? LD(A, abase + (m) * K + (k)) : 0.0f)
#endif

#if TRANS_B
#define B_N_FAST 0
#define LOAD_B(k, n) (((k) < K && (n) < N) ? LD(B, bbase + (n) * K + (k)) : 0.0f)
#else
#define B_N_FAST 1
#define LOAD_B(k, n) (((k) < K && (n) < N) ? LD(B, bbase + (k) * N + (n)) : 0.0f)
#endif

#define STORE_C(m, n, v) \
    ST(C, cbase + (m) * N + (n), activate((v) + (P[14] ? LD(bias, biaso + (n)) : 0.0f), P[15]))

// Tiled GEMM core shared by matmul, conv2d (implicit GEMM) and conv-transpose 2x2.
//
// The including variant defines GEMM_SETUP (per-batch base offsets from z), LOAD_A(m, k),
// LOAD_B(k, n) (both return 0 outside the matrix), STORE_C(m, n, v) and A_K_FAST / B_N_FAST
// (1 when consecutive k, resp. n, are consecutive in memory, to order the tile loads so that
// neighbouring work-items read neighbouring addresses).
//
// Tile parameters (chosen per device by the host): TSM x TSN output tile per work-group,
// TSK deep slices staged in local memory, WPTM x WPTN outputs per work-item held in
// registers. Work-item (tn, tm) owns rows tm + i·RTSM and columns tn + j·RTSN, so the
// stores of one row of work-items are contiguous.
#define RTSM (TSM / WPTM)
#define RTSN (TSN / WPTN)

__kernel __attribute__((reqd_work_group_size(RTSN, RTSM, 1)))
void gemm(__global const store_t* A, int ao, __global const store_t* B, int bo,
          __global const store_t* bias, int biaso, __global store_t* C, int co,
          int M, int N, int K, int16 params) {
    int P[16];
    vstore16(params, 0, P);
    const int tn = get_local_id(0), tm = get_local_id(1);
    const int n0 = get_group_id(0) * TSN, m0 = get_group_id(1) * TSM;
    const int z = get_group_id(2);
    GEMM_SETUP
    // +1 column breaks bank conflicts on GPUs when WPT strides line up.
    __local float As[TSK][TSM + 1];
    __local float Bs[TSK][TSN + 1];
    float acc[WPTM][WPTN];
    for (int i = 0; i < WPTM; ++i)
        for (int j = 0; j < WPTN; ++j) acc[i][j] = 0.0f;
    const int tid = tm * RTSN + tn;
    for (int k0 = 0; k0 < K; k0 += TSK) {
        for (int i = tid; i < TSM * TSK; i += RTSM * RTSN) {
#if A_K_FAST
            const int kk = i % TSK, mm = i / TSK;
#else
            const int mm = i % TSM, kk = i / TSM;
#endif
            As[kk][mm] = LOAD_A(m0 + mm, k0 + kk);
        }
        for (int i = tid; i < TSK * TSN; i += RTSM * RTSN) {
#if B_N_FAST
            const int nn = i % TSN, kk = i / TSN;
#else
            const int kk = i % TSK, nn = i / TSK;
#endif
            Bs[kk][nn] = LOAD_B(k0 + kk, n0 + nn);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TSK; ++kk) {
            float a[WPTM], b[WPTN];
            for (int i = 0; i < WPTM; ++i) a[i] = As[kk][tm + i * RTSM];
            for (int j = 0; j < WPTN; ++j) b[j] = Bs[kk][tn + j * RTSN];
            for (int i = 0; i < WPTM; ++i)
                for (int j = 0; j < WPTN; ++j) acc[i][j] += a[i] * b[j];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < WPTM; ++i) {
        const int m = m0 + tm + i * RTSM;
        if (m >= M) break;
        for (int j = 0; j < WPTN; ++j) {
            const int n = n0 + tn + j * RTSN;
            if (n < N) STORE_C(m, n, acc[i][j]);
        }
    }
}

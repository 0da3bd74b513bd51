// The register-blocked, shared-memory tiled GEMM body used by matmul.comp and conv2d.comp.
//
// Each workgroup computes a BM x BN tile of C; each invocation a TM x TN block of it, rows and
// columns strided by BM/TM and BN/TN so that shared-memory reads are broadcasts or consecutive.
// The including shader defines gM, gN, gK, A_K_CONTIGUOUS/B_N_CONTIGUOUS (which index is fast in
// global memory, so tile loads are coalesced) and the functions loadA(m, k), loadB(k, n) (called
// in bounds only) and storeC(m, n, value). Tile sizes are specialization constants.
layout(constant_id = 0) const uint BM = 64u;
layout(constant_id = 1) const uint BN = 64u;
layout(constant_id = 2) const uint BK = 16u;
layout(constant_id = 3) const uint TM = 4u;
layout(constant_id = 4) const uint TN = 4u;
// Must equal (BM / TM) * (BN / TN); the host sets both from one tile description.
layout(local_size_x_id = 5) in;
const uint THREADS_M = BM / TM;
const uint THREADS_N = BN / TN;

shared float tileA[BK * BM];   // [k][m]
shared float tileB[BK * BN];   // [k][n]

void gemmTile(uint m0, uint n0) {
    uint t = gl_LocalInvocationID.x;
    uint threads = THREADS_M * THREADS_N;
    uint tx = t % THREADS_N, ty = t / THREADS_N;
    float acc[TM * TN];
    for (uint i = 0u; i < TM * TN; ++i) acc[i] = 0.0;

    for (uint k0 = 0u; k0 < gK; k0 += BK) {
        for (uint l = t; l < BM * BK; l += threads) {
            uint mm = A_K_CONTIGUOUS ? l / BK : l % BM;
            uint kk = A_K_CONTIGUOUS ? l % BK : l / BM;
            uint gm = m0 + mm, gk = k0 + kk;
            tileA[kk * BM + mm] = (gm < gM && gk < gK) ? loadA(gm, gk) : 0.0;
        }
        for (uint l = t; l < BN * BK; l += threads) {
            uint nn = B_N_CONTIGUOUS ? l % BN : l / BK;
            uint kk = B_N_CONTIGUOUS ? l / BN : l % BK;
            uint gn = n0 + nn, gk = k0 + kk;
            tileB[kk * BN + nn] = (gn < gN && gk < gK) ? loadB(gk, gn) : 0.0;
        }
        barrier();
        for (uint kk = 0u; kk < BK; ++kk) {
            float a[TM];
            float b[TN];
            for (uint i = 0u; i < TM; ++i) a[i] = tileA[kk * BM + ty + i * THREADS_M];
            for (uint j = 0u; j < TN; ++j) b[j] = tileB[kk * BN + tx + j * THREADS_N];
            for (uint i = 0u; i < TM; ++i)
                for (uint j = 0u; j < TN; ++j) acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]);
        }
        barrier();
    }
    for (uint i = 0u; i < TM; ++i) {
        uint m = m0 + ty + i * THREADS_M;
        if (m >= gM) continue;
        for (uint j = 0u; j < TN; ++j) {
            uint n = n0 + tx + j * THREADS_N;
            if (n < gN) storeC(m, n, acc[i * TN + j]);
        }
    }
}

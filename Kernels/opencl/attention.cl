// Fused multi-head attention, flash style: each work-item owns one query row and streams
// over the keys in tiles of BK staged in local memory, keeping a running maximum, a running
// softmax denominator and an unnormalised output in registers. No Nq x Nk score matrix exists.
//
// Defines: HD (the head dim hd rounded up to a multiple of 16: channels hd..HD-1 are zero, so
// one program serves several head dims), BQ (queries per work-group = work-group size), BK
// (keys per tile). biasKind: 0 none, 1 decomposed relative position, 2 TinyViT bias table.
//
// q/k/v addressing covers every QKVLayout: element c of head h of token t in batch b is at
// base + (b·N + t)·rowStride + h·headStride + c (base includes the q/k/v channel offset).

__kernel __attribute__((reqd_work_group_size(BQ, 1, 1)))
void attention(__global const store_t* Q, int qo, __global const store_t* Kt, int ko,
               __global const store_t* V, int vo, __global store_t* O, int oo,
               __global const float* rel, __global const store_t* table, int to,
               int Nq, int Nk, int heads, int hd, int qRow, int kRow, int vRow, int headStride,
               float scale, int biasKind, int gh, int gw) {
    __local float Ks[BK][HD];
    __local float Vs[BK][HD];
    const int lq = get_local_id(0);
    const int q = get_group_id(0) * BQ + lq;
    const int bh = get_group_id(1), b = bh / heads, h = bh % heads;
    const bool active = q < Nq;
    float qv[HD], acc[HD];
    const int qbase = qo + (b * Nq + (active ? q : 0)) * qRow + h * headStride;
    for (int c = 0; c < HD; ++c) {
        qv[c] = (active && c < hd) ? LD(Q, qbase + c) * scale : 0.0f;
        acc[c] = 0.0f;
    }
    const int relBase = (bh * Nq + (active ? q : 0)) * (gh + gw);
    const int yq = (active ? q : 0) / gw, xq = (active ? q : 0) % gw;
    float runMax = -INFINITY, runSum = 0.0f;
    for (int k0 = 0; k0 < Nk; k0 += BK) {
        for (int i = lq; i < BK * HD; i += BQ) {
            const int kk = i / HD, c = i % HD, key = k0 + kk;
            if (key < Nk && c < hd) {
                Ks[kk][c] = LD(Kt, ko + (b * Nk + key) * kRow + h * headStride + c);
                Vs[kk][c] = LD(V, vo + (b * Nk + key) * vRow + h * headStride + c);
            } else {
                Ks[kk][c] = 0.0f;
                Vs[kk][c] = 0.0f;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (active) {
            const int kn = min(BK, Nk - k0);
            float s[BK];
            float tileMax = -INFINITY;
            for (int kk = 0; kk < kn; ++kk) {
                float d = 0.0f;
                for (int c = 0; c < HD; ++c) d = fma(qv[c], Ks[kk][c], d);
                const int key = k0 + kk;
                if (biasKind == 1) d += rel[relBase + key / gw] + rel[relBase + gh + key % gw];
                else if (biasKind == 2) d += LD(table, to + h * Nk + abs(yq - key / gw) * gw + abs(xq - key % gw));
                s[kk] = d;
                tileMax = fmax(tileMax, d);
            }
            const float newMax = fmax(runMax, tileMax);
            const float correction = exp(runMax - newMax);
            runSum *= correction;
            for (int c = 0; c < HD; ++c) acc[c] *= correction;
            for (int kk = 0; kk < kn; ++kk) {
                const float p = exp(s[kk] - newMax);
                runSum += p;
                for (int c = 0; c < HD; ++c) acc[c] = fma(p, Vs[kk][c], acc[c]);
            }
            runMax = newMax;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (active) {
        const float inv = 1.0f / runSum;
        const int obase = oo + (b * Nq + q) * heads * hd + h * hd;
        for (int c = 0; c < hd; ++c) ST(O, obase + c, acc[c] * inv);
    }
}

// SAM's decomposed relative position terms, computed once per query before the attention
// kernel: rel[bh, q, yk] = Σc q[c]·Rh[yq-yk+gh-1, c] and rel[bh, q, gh + xk] = Σc q[c]·Rw[xq-xk+gw-1, c]
// with the unscaled query. Costs Nq·(gh+gw)·HD per head instead of Nq·Nk.
__kernel void relpos_terms(__global const store_t* Q, int qo, __global const store_t* Rh, int rho,
                           __global const store_t* Rw, int rwo, __global float* rel,
                           int Nq, int heads, int hd, int qRow, int headStride, int gh, int gw) {
    const int q = get_global_id(0), bh = get_global_id(1);
    if (q >= Nq) return;
    const int b = bh / heads, h = bh % heads;
    float qv[HD];
    const int qbase = qo + (b * Nq + q) * qRow + h * headStride;
    for (int c = 0; c < hd; ++c) qv[c] = LD(Q, qbase + c);
    const int yq = q / gw, xq = q % gw;
    const int out = (bh * Nq + q) * (gh + gw);
    for (int yk = 0; yk < gh; ++yk) {
        const int r = rho + (yq - yk + gh - 1) * hd;
        float d = 0.0f;
        for (int c = 0; c < hd; ++c) d = fma(qv[c], LD(Rh, r + c), d);
        rel[out + yk] = d;
    }
    for (int xk = 0; xk < gw; ++xk) {
        const int r = rwo + (xq - xk + gw - 1) * hd;
        float d = 0.0f;
        for (int c = 0; c < hd; ++c) d = fma(qv[c], LD(Rw, r + c), d);
        rel[out + gh + xk] = d;
    }
}

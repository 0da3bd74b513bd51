// variants: f16.cm
#version 450
#extension GL_GOOGLE_include_directive : require
// Cooperative-matrix GEMM, the fast path for every large product on the fp16 path: same
// parameters and semantics as matmul.comp (C = A·B (+ bias, activation), batched, any strides).
//
// Workgroup: THREADS invocations = WM x WN subgroups computing a BM x BN tile of C; each
// subgroup owns (BM / WM) x (BN / WN) as FM x FN accumulators of FRAG_M x FRAG_N (f16·f16 + f32,
// FRAG_K deep). Tile and fragment sizes are specialization constants: the host picks the tile
// per shape and the fragment from what the device lists (16 x 16 x 16 on NVIDIA and AMD,
// 8 x 8 x 8 on lavapipe, where CI runs this kernel).
//
// Feeding the matrix units is what this kernel is about:
// - 16-byte global loads (8 halfs per invocation per load) when the operand's contiguous axis
//   is K (A row-major; B as the [N, K] weights of a linear layer) or N (B row-major), the
//   addresses are 16-byte aligned and the lengths multiples of 8 (flags bits 8 and 9, set by the
//   host); otherwise bounds-checked scalar loads.
// - The next K-slice is fetched into registers while the current one is multiplied (register
//   double buffering), so global latency hides behind the matrix work with one shared buffer.
// - Shared rows are padded by 8 halfs (16 bytes) to spread banks.
// - B is staged in its own major order (B_NMAJOR: [BN][BK], read as column-major fragments), so
//   weights are never transposed on the way in.
// - Epilogue per fragment through a small per-subgroup float staging area: bias, activation,
//   then 16-byte stores of 8 halfs when the row is in bounds and N allows it.
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "common.glsl"
#include "halves.glsl"
layout(constant_id = 0) const uint SUBGROUP_SIZE = 32u;
layout(constant_id = 1) const uint THREADS = 256u;
layout(constant_id = 2) const uint WM = 4u;          // subgroups along M
layout(constant_id = 3) const uint WN = 2u;          // subgroups along N (WM * WN * SUBGROUP_SIZE = THREADS)
layout(constant_id = 4) const uint BM = 128u;
layout(constant_id = 5) const uint BN = 128u;
layout(constant_id = 6) const uint B_NMAJOR = 1u;    // 1: B's contiguous axis is K ([N, K] weights)
layout(constant_id = 7) const uint FRAG_M = 16u;
layout(constant_id = 8) const uint FRAG_N = 16u;
layout(constant_id = 9) const uint FRAG_K = 16u;
layout(local_size_x_id = 1) in;
layout(push_constant, scalar) uniform Params {
    Tensor a; Tensor b; Tensor bias; Tensor c;
    uint M; uint N; uint K; uint sAm; uint sAk; uint sBk; uint sBn;
    uint batchA; uint batchB; uint batchC; uint flags;
} pc;

const uint BK = 32u;
const uint FM = BM / (FRAG_M * WM);
const uint FN = BN / (FRAG_N * WN);
const uint A_STRIDE = BK + 8u;                        // tileA: [BM][A_STRIDE]
const uint B_ROWS = B_NMAJOR == 1u ? BN : BK;
const uint B_STRIDE = B_NMAJOR == 1u ? BK + 8u : BN + 8u;
const uint S_STRIDE = FRAG_N + 4u;                    // staging row stride (floats)
const uint A_CHUNKS = BM * BK / 8u;                   // 16-byte pieces per tile
const uint B_CHUNKS = BN * BK / 8u;
const uint A_PER_THREAD = (A_CHUNKS + THREADS - 1u) / THREADS;
const uint B_PER_THREAD = (B_CHUNKS + THREADS - 1u) / THREADS;
shared float16_t tileA[BM * A_STRIDE];
shared float16_t tileB[B_ROWS * B_STRIDE];
shared float staging[(THREADS / SUBGROUP_SIZE) * FRAG_M * S_STRIDE];

uvec4 regA[A_PER_THREAD];
uvec4 regB[B_PER_THREAD];

// Fetches the 16-byte pieces of the K-slice starting at k0 into registers (vector path).
void fetch(uint k0, uint m0, uint n0, uint baseA, uint baseB) {
    uint t = gl_LocalInvocationID.x;
    Tensor16 a16 = Tensor16(pc.a), b16 = Tensor16(pc.b);
    for (uint i = 0u; i < A_PER_THREAD; ++i) {
        uint chunk = t + i * THREADS;
        uint row = chunk / (BK / 8u), kc = (chunk % (BK / 8u)) * 8u;
        uint gm = m0 + row, gk = k0 + kc;
        regA[i] = (chunk < A_CHUNKS && gm < pc.M && gk < pc.K)
            ? a16.v[(baseA + gm * pc.sAm + gk) / 8u] : uvec4(0u);
    }
    for (uint i = 0u; i < B_PER_THREAD; ++i) {
        uint chunk = t + i * THREADS;
        uvec4 value = uvec4(0u);
        if (chunk < B_CHUNKS) {
            if (B_NMAJOR == 1u) {
                uint row = chunk / (BK / 8u), kc = (chunk % (BK / 8u)) * 8u;   // row = n
                uint gn = n0 + row, gk = k0 + kc;
                if (gn < pc.N && gk < pc.K) value = b16.v[(baseB + gn * pc.sBn + gk) / 8u];
            } else {
                uint row = chunk / (BN / 8u), nc = (chunk % (BN / 8u)) * 8u;   // row = k
                uint gk = k0 + row, gn = n0 + nc;
                if (gk < pc.K && gn < pc.N) value = b16.v[(baseB + gk * pc.sBk + gn) / 8u];
            }
        }
        regB[i] = value;
    }
}

// Writes the registers fetched by `fetch` into the shared tiles.
void commit() {
    uint t = gl_LocalInvocationID.x;
    for (uint i = 0u; i < A_PER_THREAD; ++i) {
        uint chunk = t + i * THREADS;
        if (chunk < A_CHUNKS) PUT8(tileA, (chunk / (BK / 8u)) * A_STRIDE + (chunk % (BK / 8u)) * 8u, regA[i])
    }
    for (uint i = 0u; i < B_PER_THREAD; ++i) {
        uint chunk = t + i * THREADS;
        if (chunk >= B_CHUNKS) continue;
        uint per = B_NMAJOR == 1u ? BK / 8u : BN / 8u;
        PUT8(tileB, (chunk / per) * B_STRIDE + (chunk % per) * 8u, regB[i])
    }
}

// Bounds-checked scalar loads of the K-slice at k0 straight into shared memory (any strides).
void loadScalar(uint k0, uint m0, uint n0, uint baseA, uint baseB) {
    uint t = gl_LocalInvocationID.x;
    for (uint l = t; l < BM * BK; l += THREADS) {
        // Consecutive invocations walk the operand's contiguous axis.
        uint mm = pc.sAk == 1u ? l / BK : l % BM;
        uint kk = pc.sAk == 1u ? l % BK : l / BM;
        uint gm = m0 + mm, gk = k0 + kk;
        tileA[mm * A_STRIDE + kk] = (gm < pc.M && gk < pc.K) ? pc.a.v[baseA + gm * pc.sAm + gk * pc.sAk] : float16_t(0.0);
    }
    for (uint l = t; l < BN * BK; l += THREADS) {
        uint nn = pc.sBn == 1u ? l % BN : l / BK;
        uint kk = pc.sBn == 1u ? l / BN : l % BK;
        uint gn = n0 + nn, gk = k0 + kk;
        float16_t v = (gn < pc.N && gk < pc.K) ? pc.b.v[baseB + gk * pc.sBk + gn * pc.sBn] : float16_t(0.0);
        if (B_NMAJOR == 1u) tileB[nn * B_STRIDE + kk] = v; else tileB[kk * B_STRIDE + nn] = v;
    }
}

void main() {
    uint t = gl_LocalInvocationID.x;
    uint sg = t / SUBGROUP_SIZE, lane = t % SUBGROUP_SIZE;
    uint wm = sg / WN, wn = sg % WN;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN, z = gl_WorkGroupID.z;
    uint baseA = z * pc.batchA, baseB = z * pc.batchB;
    // Vector loads need the contiguous axis to be K for A, and the one B_NMAJOR says for B.
    bool vector = (pc.flags & 0x300u) == 0x300u;

    coopmat<float, gl_ScopeSubgroup, FRAG_M, FRAG_N, gl_MatrixUseAccumulator> acc[FM * FN];
    for (uint i = 0u; i < FM * FN; ++i) acc[i] = coopmat<float, gl_ScopeSubgroup, FRAG_M, FRAG_N, gl_MatrixUseAccumulator>(0.0);

    if (vector) fetch(0u, m0, n0, baseA, baseB);
    for (uint k0 = 0u; k0 < pc.K; k0 += BK) {
        if (vector) commit(); else loadScalar(k0, m0, n0, baseA, baseB);
        barrier();
        if (vector && k0 + BK < pc.K) fetch(k0 + BK, m0, n0, baseA, baseB);
        for (uint kk = 0u; kk < BK; kk += FRAG_K) {
            coopmat<float16_t, gl_ScopeSubgroup, FRAG_M, FRAG_K, gl_MatrixUseA> fa[FM];
            for (uint i = 0u; i < FM; ++i)
                coopMatLoad(fa[i], tileA, (wm * FM * FRAG_M + i * FRAG_M) * A_STRIDE + kk, A_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
            for (uint j = 0u; j < FN; ++j) {
                coopmat<float16_t, gl_ScopeSubgroup, FRAG_K, FRAG_N, gl_MatrixUseB> fb;
                uint n = wn * FN * FRAG_N + j * FRAG_N;
                if (B_NMAJOR == 1u)
                    coopMatLoad(fb, tileB, n * B_STRIDE + kk, B_STRIDE, gl_CooperativeMatrixLayoutColumnMajor);
                else
                    coopMatLoad(fb, tileB, kk * B_STRIDE + n, B_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
                for (uint i = 0u; i < FM; ++i) acc[i * FN + j] = coopMatMulAdd(fa[i], fb, acc[i * FN + j]);
            }
        }
        barrier();
    }

    uint stage = sg * FRAG_M * S_STRIDE;
    bool vectorStore = (pc.flags & 0x400u) != 0u;
    Tensor16 c16 = Tensor16(pc.c);
    for (uint f = 0u; f < FM * FN; ++f) {
        uint rowBase = m0 + wm * FM * FRAG_M + (f / FN) * FRAG_M, colBase = n0 + wn * FN * FRAG_N + (f % FN) * FRAG_N;
        if (rowBase >= pc.M || colBase >= pc.N) continue;   // uniform per subgroup
        coopMatStore(acc[f], staging, stage, S_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
        subgroupMemoryBarrierShared();
        subgroupBarrier();
        // 8 consecutive columns of one row per lane (FRAG_N is a multiple of 8).
        for (uint e = lane * 8u; e < FRAG_M * FRAG_N; e += SUBGROUP_SIZE * 8u) {
            uint r = e / FRAG_N, c0 = e % FRAG_N;
            uint gm = rowBase + r, gn = colBase + c0;
            if (gm >= pc.M) continue;
            float v[8];
            for (uint q = 0u; q < 8u; ++q) {
                float x = staging[stage + r * S_STRIDE + c0 + q];
                if ((pc.flags & 1u) != 0u && gn + q < pc.N) x += LD(pc.bias, gn + q);
                v[q] = activate(x, (pc.flags >> 1) & 0x7Fu);
            }
            uint at = z * pc.batchC + gm * pc.N + gn;
            if (vectorStore && gn + 8u <= pc.N) {
                c16.v[at / 8u] = uvec4(packFloat2x16(f16vec2(v[0], v[1])), packFloat2x16(f16vec2(v[2], v[3])),
                                      packFloat2x16(f16vec2(v[4], v[5])), packFloat2x16(f16vec2(v[6], v[7])));
            } else {
                for (uint q = 0u; q < 8u; ++q) if (gn + q < pc.N) ST(pc.c, at + q, v[q]);
            }
        }
        subgroupMemoryBarrierShared();
        subgroupBarrier();
    }
}

// variants: f16.cm
#version 450
#extension GL_GOOGLE_include_directive : require
// Flash attention on cooperative-matrix units (fp16 storage and operands, fp32 accumulation and
// softmax): softmax(q·kᵀ·scale + bias)·v for every layout and bias of attention.comp, without
// an Nq x Nk matrix in memory. The head dim must be a multiple of the fragment sizes.
//
// Workgroup (query block, head, batch) = 4 subgroups of FRAG_M query rows each (matrix products
// FRAG_M x FRAG_N x FRAG_K: 16 x 16 x 16 on NVIDIA/AMD, 8 x 8 x 8 on lavapipe). Per key tile
// of BC keys staged in shared memory (zero-filled past Nk):
//   S = Q·Kᵀ on the matrix units (Q's fragments stay in registers all along);
//   S goes through a per-subgroup shared buffer; LPR = SUBGROUP_SIZE / FRAG_M lanes own one
//   query row and apply scale, bias (SAM's decomposed relative-position terms, read per key
//   from the [B, heads, Nq, gh + gw] table relpos.comp made, or TinyViT's table) and the online
//   softmax update (running max and sum in fp32, combined across the row's lanes by shuffle),
//   write P as fp16 and rescale their share of the output accumulator, kept in registers;
//   O += P·V, FRAG_N output columns at a time through the same shared buffer.
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "common.glsl"
#include "halves.glsl"
layout(constant_id = 0) const uint SUBGROUP_SIZE = 32u;   // a multiple of FRAG_M
layout(constant_id = 1) const uint THREADS = 128u;        // 4 subgroups
layout(constant_id = 2) const uint HD = 64u;              // head dim, multiple of FRAG_K and FRAG_N
layout(constant_id = 3) const uint BC = 32u;              // keys per tile, multiple of FRAG_N, FRAG_K, LPR
layout(constant_id = 4) const uint FRAG_M = 16u;
layout(constant_id = 5) const uint FRAG_N = 16u;
layout(constant_id = 6) const uint FRAG_K = 16u;
layout(local_size_x_id = 1) in;
layout(push_constant, scalar) uniform Params {
    Tensor q; Tensor k; Tensor v; Tensor bias; Tensor o;
    uint Nq; uint Nk; uint heads; uint qRow; uint kRow; uint vRow; uint qOff; uint kOff; uint vOff;
    uint headStep; uint biasMode; uint gh; uint gw; float scale;
    uint vectorLoads;   // 1: rows, offsets, head step and addresses allow 16-byte loads (host-checked)
} pc;


const uint BR = 4u * FRAG_M;          // queries per workgroup
const uint LPR = SUBGROUP_SIZE / FRAG_M;   // lanes per query row
const uint ROW = HD + 8u;             // padded shared row of Q, K, V (halfs)
const uint SST = (BC > FRAG_N ? BC : FRAG_N) + 4u;  // S staging row (floats); also holds one PV block
const uint PST = BC + 8u;             // P row (halfs)
const uint PART = BC / LPR;           // S columns per lane
const uint OPART = FRAG_N / LPR;      // output columns per lane in each FRAG_N-wide block
const uint OCOLS = HD / LPR;          // output columns per lane
shared float16_t Qs[BR * ROW];
shared float16_t Ks[BC * ROW];
shared float16_t Vs[BC * ROW];
shared float Ss[4u * FRAG_M * SST];
shared float16_t Ps[4u * FRAG_M * PST];

// Combines a per-lane value over the LPR lanes of one query row (adjacent lanes).
float rowMax(float x) { for (uint o = 1u; o < LPR; o <<= 1) x = max(x, subgroupShuffleXor(x, o)); return x; }
float rowSum(float x) { for (uint o = 1u; o < LPR; o <<= 1) x += subgroupShuffleXor(x, o); return x; }

float biasAt(uint b, uint h, uint qi, uint kj) {
    if (pc.biasMode == 1u) {
        uint row = ((b * pc.heads + h) * pc.Nq + qi) * (pc.gh + pc.gw);
        return LD(pc.bias, row + kj / pc.gw) + LD(pc.bias, row + pc.gh + kj % pc.gw);
    }
    if (pc.biasMode == 2u) {
        uint ws = pc.gw;
        uint dy = uint(abs(int(qi / ws) - int(kj / ws))), dx = uint(abs(int(qi % ws) - int(kj % ws)));
        return LD(pc.bias, h * ws * ws + dy * ws + dx);
    }
    return 0.0;
}

void main() {
    uint b = gl_WorkGroupID.z, h = gl_WorkGroupID.y, t = gl_LocalInvocationID.x;
    uint sg = t / SUBGROUP_SIZE, lane = t % SUBGROUP_SIZE;
    uint q0 = gl_WorkGroupID.x * BR;
    uint headQ = pc.qOff + h * pc.headStep, headK = pc.kOff + h * pc.headStep, headV = pc.vOff + h * pc.headStep;

    bool vector = pc.vectorLoads != 0u;
    Tensor16 q16 = Tensor16(pc.q), k16 = Tensor16(pc.k), v16 = Tensor16(pc.v);
    // Q block into shared (zero rows past Nq), then each subgroup keeps its 16 rows as fragments.
    if (vector) {
        for (uint l = t; l < BR * HD / 8u; l += THREADS) {
            uint r = l / (HD / 8u), c = (l % (HD / 8u)) * 8u, qi = q0 + r;
            uvec4 u = qi < pc.Nq ? q16.v[((b * pc.Nq + qi) * pc.qRow + headQ + c) / 8u] : uvec4(0u);
            PUT8(Qs, r * ROW + c, u)
        }
    } else {
        for (uint l = t; l < BR * HD; l += THREADS) {
            uint r = l / HD, c = l % HD, qi = q0 + r;
            Qs[r * ROW + c] = qi < pc.Nq ? pc.q.v[(b * pc.Nq + qi) * pc.qRow + headQ + c] : float16_t(0.0);
        }
    }
    barrier();
    coopmat<float16_t, gl_ScopeSubgroup, FRAG_M, FRAG_K, gl_MatrixUseA> fq[HD / FRAG_K];
    for (uint c = 0u; c < HD / FRAG_K; ++c)
        coopMatLoad(fq[c], Qs, (sg * FRAG_M) * ROW + c * FRAG_K, ROW, gl_CooperativeMatrixLayoutRowMajor);

    uint r = lane / LPR, side = lane % LPR;      // this lane's query row within the subgroup, and part
    uint qi = q0 + sg * FRAG_M + r;
    uint qBias = min(qi, pc.Nq - 1u);
    float runMax = -1e30, runSum = 0.0;
    float acc[OCOLS];
    for (uint i = 0u; i < OCOLS; ++i) acc[i] = 0.0;
    uint sBase = sg * FRAG_M * SST, pBase = sg * FRAG_M * PST;

    for (uint k0 = 0u; k0 < pc.Nk; k0 += BC) {
        barrier();   // the previous tile's K and V are no longer read
        if (vector) {
            for (uint l = t; l < BC * HD / 8u; l += THREADS) {
                uint j = l / (HD / 8u), c = (l % (HD / 8u)) * 8u, kj = k0 + j;
                bool inside = kj < pc.Nk;
                uvec4 ku = inside ? k16.v[((b * pc.Nk + kj) * pc.kRow + headK + c) / 8u] : uvec4(0u);
                uvec4 vu = inside ? v16.v[((b * pc.Nk + kj) * pc.vRow + headV + c) / 8u] : uvec4(0u);
                PUT8(Ks, j * ROW + c, ku)
                PUT8(Vs, j * ROW + c, vu)
            }
        } else {
            for (uint l = t; l < BC * HD; l += THREADS) {
                uint j = l / HD, c = l % HD, kj = k0 + j;
                bool inside = kj < pc.Nk;
                Ks[j * ROW + c] = inside ? pc.k.v[(b * pc.Nk + kj) * pc.kRow + headK + c] : float16_t(0.0);
                Vs[j * ROW + c] = inside ? pc.v.v[(b * pc.Nk + kj) * pc.vRow + headV + c] : float16_t(0.0);
            }
        }
        barrier();

        // S (FRAG_M x BC) = Q (FRAG_M x HD) · Kᵀ: K's rows are keys, read as a column-major HD x BC operand.
        for (uint j = 0u; j < BC / FRAG_N; ++j) {
            coopmat<float, gl_ScopeSubgroup, FRAG_M, FRAG_N, gl_MatrixUseAccumulator> s =
                coopmat<float, gl_ScopeSubgroup, FRAG_M, FRAG_N, gl_MatrixUseAccumulator>(0.0);
            for (uint c = 0u; c < HD / FRAG_K; ++c) {
                coopmat<float16_t, gl_ScopeSubgroup, FRAG_K, FRAG_N, gl_MatrixUseB> fk;
                coopMatLoad(fk, Ks, (j * FRAG_N) * ROW + c * FRAG_K, ROW, gl_CooperativeMatrixLayoutColumnMajor);
                s = coopMatMulAdd(fq[c], fk, s);
            }
            coopMatStore(s, Ss, sBase + j * FRAG_N, SST, gl_CooperativeMatrixLayoutRowMajor);
        }
        subgroupMemoryBarrierShared();
        subgroupBarrier();

        // Online softmax for this lane's part of the row.
        float sv[PART];
        float tileMax = -1e30;
        for (uint i = 0u; i < PART; ++i) {
            uint col = side * PART + i, kj = k0 + col;
            float x = kj < pc.Nk ? Ss[sBase + r * SST + col] * pc.scale + biasAt(b, h, qBias, kj) : -1e30;
            sv[i] = x;
            tileMax = max(tileMax, x);
        }
        tileMax = rowMax(tileMax);
        float newMax = max(runMax, tileMax);
        float partSum = 0.0;
        for (uint i = 0u; i < PART; ++i) {
            float p = sv[i] <= -1e29 ? 0.0 : exp(sv[i] - newMax);
            partSum += p;
            Ps[pBase + r * PST + side * PART + i] = float16_t(p);
        }
        partSum = rowSum(partSum);
        float correction = exp(runMax - newMax);
        runSum = runSum * correction + partSum;
        runMax = newMax;
        for (uint i = 0u; i < OCOLS; ++i) acc[i] *= correction;
        subgroupMemoryBarrierShared();
        subgroupBarrier();

        // O += P (FRAG_M x BC) · V (BC x HD), one FRAG_N-column block at a time.
        coopmat<float16_t, gl_ScopeSubgroup, FRAG_M, FRAG_K, gl_MatrixUseA> fp[BC / FRAG_K];
        for (uint c = 0u; c < BC / FRAG_K; ++c)
            coopMatLoad(fp[c], Ps, pBase + c * FRAG_K, PST, gl_CooperativeMatrixLayoutRowMajor);
        for (uint d = 0u; d < HD / FRAG_N; ++d) {
            coopmat<float, gl_ScopeSubgroup, FRAG_M, FRAG_N, gl_MatrixUseAccumulator> pv =
                coopmat<float, gl_ScopeSubgroup, FRAG_M, FRAG_N, gl_MatrixUseAccumulator>(0.0);
            for (uint c = 0u; c < BC / FRAG_K; ++c) {
                coopmat<float16_t, gl_ScopeSubgroup, FRAG_K, FRAG_N, gl_MatrixUseB> fv;
                coopMatLoad(fv, Vs, (c * FRAG_K) * ROW + d * FRAG_N, ROW, gl_CooperativeMatrixLayoutRowMajor);
                pv = coopMatMulAdd(fp[c], fv, pv);
            }
            coopMatStore(pv, Ss, sBase, SST, gl_CooperativeMatrixLayoutRowMajor);
            subgroupMemoryBarrierShared();
            subgroupBarrier();
            for (uint i = 0u; i < OPART; ++i) acc[d * OPART + i] += Ss[sBase + r * SST + side * OPART + i];
            subgroupMemoryBarrierShared();
            subgroupBarrier();
        }
    }

    if (qi >= pc.Nq) return;
    float inv = 1.0 / runSum;
    uint oBase = (b * pc.Nq + qi) * pc.heads * HD + h * HD;
    for (uint d = 0u; d < HD / FRAG_N; ++d)
        for (uint i = 0u; i < OPART; ++i) ST(pc.o, oBase + d * FRAG_N + side * OPART + i, acc[d * OPART + i] * inv);
}

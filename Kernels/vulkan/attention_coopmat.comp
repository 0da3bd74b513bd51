// variants: f16.cm
#version 450
#extension GL_GOOGLE_include_directive : require
// Flash attention on cooperative-matrix units (fp16 storage and operands, fp32 accumulation and
// softmax): softmax(q·kᵀ·scale + bias)·v for every layout and bias of attention.comp, without
// an Nq x Nk matrix in memory. Requires the head dim to be a multiple of 16.
//
// Workgroup (64-query block, head, batch) = 4 subgroups of 16 query rows each. Per key tile of
// BC keys staged in shared memory (zero-filled past Nk):
//   S = Q·Kᵀ with 16 x 16 x 16 matrix products (Q's fragments stay in registers all along),
//   S goes through a per-subgroup shared buffer; each pair of lanes owns one query row and
//   applies scale, bias (SAM's decomposed relative-position terms, read per key from the
//   [B, heads, Nq, gh + gw] table relpos.comp made, or TinyViT's table) and the online
//   softmax update (running max and sum in fp32, exchanged between the two lanes by shuffle),
//   writes P as fp16 and rescales its share of the output accumulator, kept in registers;
//   O += P·V, 16 output columns at a time through the same shared buffer.
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "common.glsl"
layout(constant_id = 0) const uint SUBGROUP_SIZE = 32u;   // 32: two lanes per query row
layout(constant_id = 1) const uint THREADS = 128u;        // 4 subgroups
layout(constant_id = 2) const uint HD = 64u;              // head dim, multiple of 16
layout(constant_id = 3) const uint BC = 32u;              // keys per tile, multiple of 32
layout(local_size_x_id = 1) in;
layout(push_constant, scalar) uniform Params {
    Tensor q; Tensor k; Tensor v; Tensor bias; Tensor o;
    uint Nq; uint Nk; uint heads; uint qRow; uint kRow; uint vRow; uint qOff; uint kOff; uint vOff;
    uint headStep; uint biasMode; uint gh; uint gw; float scale;
    uint vectorLoads;   // 1: rows, offsets, head step and addresses allow 16-byte loads (host-checked)
} pc;

layout(buffer_reference, scalar, buffer_reference_align = 16) buffer Tensor16 { uvec4 v[]; };

// 8 halfs from one 16-byte load into a shared row (one helper per array: GLSL has no shared pointers).
#define PUT8(arr, at, u) { f16vec2 p0_ = unpackFloat2x16(u.x), p1_ = unpackFloat2x16(u.y), \
    p2_ = unpackFloat2x16(u.z), p3_ = unpackFloat2x16(u.w); \
    arr[at] = p0_.x; arr[at + 1u] = p0_.y; arr[at + 2u] = p1_.x; arr[at + 3u] = p1_.y; \
    arr[at + 4u] = p2_.x; arr[at + 5u] = p2_.y; arr[at + 6u] = p3_.x; arr[at + 7u] = p3_.y; }

const uint BR = 64u;                  // queries per workgroup
const uint ROW = HD + 8u;             // padded shared row of Q, K, V (halfs)
const uint SST = BC + 4u;             // S staging row (floats); also holds a 16 x 16 PV block
const uint PST = BC + 8u;             // P row (halfs)
const uint HALF = BC / 2u;            // S columns per lane
const uint OCOLS = HD / 2u;           // output columns per lane (8 per 16-column block)
shared float16_t Qs[BR * ROW];
shared float16_t Ks[BC * ROW];
shared float16_t Vs[BC * ROW];
shared float Ss[4u * 16u * SST];
shared float16_t Ps[4u * 16u * PST];

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
    coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> fq[HD / 16u];
    for (uint c = 0u; c < HD / 16u; ++c)
        coopMatLoad(fq[c], Qs, (sg * 16u) * ROW + c * 16u, ROW, gl_CooperativeMatrixLayoutRowMajor);

    uint r = lane / 2u, side = lane % 2u;        // this lane's query row within the subgroup, and half
    uint qi = q0 + sg * 16u + r;
    uint qBias = min(qi, pc.Nq - 1u);
    float runMax = -1e30, runSum = 0.0;
    float acc[OCOLS];
    for (uint i = 0u; i < OCOLS; ++i) acc[i] = 0.0;
    uint sBase = sg * 16u * SST, pBase = sg * 16u * PST;

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

        // S (16 x BC) = Q (16 x HD) · Kᵀ: K's rows are keys, read as a column-major HD x BC operand.
        for (uint j = 0u; j < BC / 16u; ++j) {
            coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> s =
                coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>(0.0);
            for (uint c = 0u; c < HD / 16u; ++c) {
                coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB> fk;
                coopMatLoad(fk, Ks, (j * 16u) * ROW + c * 16u, ROW, gl_CooperativeMatrixLayoutColumnMajor);
                s = coopMatMulAdd(fq[c], fk, s);
            }
            coopMatStore(s, Ss, sBase + j * 16u, SST, gl_CooperativeMatrixLayoutRowMajor);
        }
        subgroupMemoryBarrierShared();
        subgroupBarrier();

        // Online softmax for this lane's half row.
        float sv[HALF];
        float tileMax = -1e30;
        for (uint i = 0u; i < HALF; ++i) {
            uint col = side * HALF + i, kj = k0 + col;
            float x = kj < pc.Nk ? Ss[sBase + r * SST + col] * pc.scale + biasAt(b, h, qBias, kj) : -1e30;
            sv[i] = x;
            tileMax = max(tileMax, x);
        }
        tileMax = max(tileMax, subgroupShuffleXor(tileMax, 1u));
        float newMax = max(runMax, tileMax);
        float partSum = 0.0;
        for (uint i = 0u; i < HALF; ++i) {
            float p = sv[i] <= -1e29 ? 0.0 : exp(sv[i] - newMax);
            partSum += p;
            Ps[pBase + r * PST + side * HALF + i] = float16_t(p);
        }
        partSum += subgroupShuffleXor(partSum, 1u);
        float correction = exp(runMax - newMax);
        runSum = runSum * correction + partSum;
        runMax = newMax;
        for (uint i = 0u; i < OCOLS; ++i) acc[i] *= correction;
        subgroupMemoryBarrierShared();
        subgroupBarrier();

        // O += P (16 x BC) · V (BC x HD), one 16-column block at a time.
        coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> fp[BC / 16u];
        for (uint c = 0u; c < BC / 16u; ++c)
            coopMatLoad(fp[c], Ps, pBase + c * 16u, PST, gl_CooperativeMatrixLayoutRowMajor);
        for (uint d = 0u; d < HD / 16u; ++d) {
            coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> pv =
                coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>(0.0);
            for (uint c = 0u; c < BC / 16u; ++c) {
                coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB> fv;
                coopMatLoad(fv, Vs, (c * 16u) * ROW + d * 16u, ROW, gl_CooperativeMatrixLayoutRowMajor);
                pv = coopMatMulAdd(fp[c], fv, pv);
            }
            coopMatStore(pv, Ss, sBase, SST, gl_CooperativeMatrixLayoutRowMajor);
            subgroupMemoryBarrierShared();
            subgroupBarrier();
            for (uint i = 0u; i < 8u; ++i) acc[d * 8u + i] += Ss[sBase + r * SST + side * 8u + i];
            subgroupMemoryBarrierShared();
            subgroupBarrier();
        }
    }

    if (qi >= pc.Nq) return;
    float inv = 1.0 / runSum;
    uint oBase = (b * pc.Nq + qi) * pc.heads * HD + h * HD;
    for (uint d = 0u; d < HD / 16u; ++d)
        for (uint i = 0u; i < 8u; ++i) ST(pc.o, oBase + d * 16u + side * 8u + i, acc[d * 8u + i] * inv);
}

// The kernel bodies, written once with clang vector extensions and included by
// kernels_baseline.c and kernels_avx2.c. The including file defines:
//   CVK_NAME(x)   a per-variant name for every symbol defined here
//   CVK_FMA       1 when fused multiply-add is available (a·b + c rounded once)
//   CVK_ISA       the cvk_isa value of the variant
// Eight-lane vectors become two SSE registers in the baseline build and one AVX register
// in the AVX2 build; the arithmetic is the same apart from FMA's single rounding.

#include <string.h>
#include <math.h>
#include "cpu_vector_kernels.h"

// The vector helpers are always inlined, so 8-float vectors never cross a call boundary and
// the baseline build's ABI note about passing them without AVX does not apply.
#pragma clang diagnostic ignored "-Wpsabi"
#define INLINE static inline __attribute__((always_inline))

typedef float v8 __attribute__((ext_vector_type(8)));
typedef int v8i __attribute__((ext_vector_type(8)));
typedef unsigned v8u __attribute__((ext_vector_type(8)));

#if CVK_FMA
#define MADD(a, b, c) __builtin_elementwise_fma((v8)(a), (v8)(b), (v8)(c))
#else
#define MADD(a, b, c) ((v8)(a) * (v8)(b) + (v8)(c))
#endif

INLINE v8 CVK_NAME(load)(const float *p) { v8 v; memcpy(&v, p, sizeof v); return v; }
INLINE void CVK_NAME(store)(float *p, v8 v) { memcpy(p, &v, sizeof v); }
INLINE v8 CVK_NAME(splat)(float x) { return (v8)(x); }
/// m ? a : b, lane by lane (m lanes are all ones or all zeros, as comparisons give).
INLINE v8 CVK_NAME(select)(v8i m, v8 a, v8 b) { return (v8)(((v8i)a & m) | ((v8i)b & ~m)); }
INLINE v8 CVK_NAME(vmax)(v8 a, v8 b) { return CVK_NAME(select)(a > b, a, b); }
/// Loads n < 8 floats, filling the other lanes with `fill`.
INLINE v8 CVK_NAME(load_partial)(const float *p, long n, float fill) {
    float t[8] = {fill, fill, fill, fill, fill, fill, fill, fill};
    memcpy(t, p, (size_t)n * sizeof(float));
    return CVK_NAME(load)(t);
}
INLINE void CVK_NAME(store_partial)(float *p, v8 v, long n) {
    float t[8];
    CVK_NAME(store)(t, v);
    memcpy(p, t, (size_t)n * sizeof(float));
}
/// Lane sum in a fixed order, so a result never depends on where a row was split.
INLINE float CVK_NAME(hsum)(v8 v) {
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}
#define LOAD CVK_NAME(load)
#define STORE CVK_NAME(store)
#define SPLAT CVK_NAME(splat)
#define SELECT CVK_NAME(select)

// exp: x = n·ln2 + r with |r| ≤ ln2/2, e^r = 1 + r + r²·P(r), 2^n built in the exponent bits.
// P was fitted for this project (weighted least squares on Chebyshev nodes, float64).
#define LOG2E 1.44269504f
#define LN2_HI 0.693359375f          /* ln 2 on 11 bits: n·LN2_HI is exact for |n| < 2^13 */
#define LN2_LO -2.1219444e-4f        /* ln 2 − LN2_HI */
#define ROUND_MAGIC 12582912.0f      /* 1.5·2^23: adding it rounds to an integer in the low mantissa bits */

/// e^x; 0 below −87.3 (under the smallest normal float), clamped at e^88.3 above.
INLINE v8 CVK_NAME(exp)(v8 x) {
    v8 xc = SELECT(x > 88.3f, SPLAT(88.3f), x);
    xc = SELECT(xc < -87.3f, SPLAT(-87.3f), xc);
    v8 t = MADD(xc, LOG2E, ROUND_MAGIC);
    v8 n = t - ROUND_MAGIC;
    v8 r = (xc - n * LN2_HI) - n * LN2_LO;
    v8 p = MADD(r, 0.00019899277f, 0.00139336464f);
    p = MADD(p, r, 0.00833329848f);
    p = MADD(p, r, 0.04166646493f);
    p = MADD(p, r, 0.16666666719f);
    p = MADD(p, r, 0.50000000135f);
    v8 e = MADD(r * r, p, r + 1.0f);
    // t's bit pattern is 0x4B400000 + n; move n + 127 into the exponent field.
    v8u bits = (((v8u)t - 0x4B400000u) + 127u) << 23;
    v8 scaled = e * (v8)bits;
    return SELECT(x < -87.3f, SPLAT(0.0f), scaled);
}

/// Exact (erf) GELU, x·Φ(x) = x·½(1 + erf(x/√2)), with erf(z) = z·P(z²)/Q(z²) on |z| ≤ 4
/// (and ±1 beyond, where erf differs from ±1 by < 1.6e-8). P and Q (degree 5 each) were fitted
/// for this project by iteratively reweighted least squares in float64: relative error of erf
/// 2.5e-8. One short dependency chain and one division, about a third of the work of an erfc
/// tail formula, which matters because GELU runs on every MBConv and MLP activation.
/// Accuracy (VectorKernelTests, float32): |error| ≤ 2e-7·(1 + |x|) everywhere, relative error
/// ≤ 2e-7 for x ≥ 0 and ≤ 1.2e-6 for x > −1.5; below that the tiny outputs are accurate in
/// absolute terms only, like PyTorch's own vectorised GELU.
INLINE v8 CVK_NAME(gelu)(v8 x) {
    v8 z = x * 0.70710678118654752f;
    z = SELECT(z > 4.0f, SPLAT(4.0f), z);
    z = SELECT(z < -4.0f, SPLAT(-4.0f), z);
    const v8 u = z * z, u2 = u * u;
    // Estrin's scheme for both polynomials keeps the chain short.
    const v8 p = MADD(u2 * u2, MADD(u, 1.986763386641e-06f, 2.845618777498e-04f),
                      MADD(u2, MADD(u, 3.883270111612e-03f, 5.310151380860e-02f),
                           MADD(u, 1.935436905755e-01f, 1.128379139356e+00f)));
    const v8 q = MADD(u2 * u2, MADD(u, 3.741976437473e-05f, 1.185548712386e-03f),
                      MADD(u2, MADD(u, 1.520710632450e-02f, 1.153493873216e-01f),
                           MADD(u, 5.048561860057e-01f, 1.0f)));
    const v8 erf = z * p / q;
    return x * MADD(erf, 0.5f, 0.5f);
}

INLINE v8 CVK_NAME(apply)(v8 x, int act) {
    switch (act) {
    case CVK_ACT_RELU: return SELECT(x < 0.0f, SPLAT(0.0f), x);
    case CVK_ACT_GELU: return CVK_NAME(gelu)(x);
    case CVK_ACT_SIGMOID: return 1.0f / (1.0f + CVK_NAME(exp)(-x));
    default: return x;
    }
}

// The activation switch sits outside the loops, so each loop body is one straight vector path.
#define ACT_LOOP(ACT, BODY) \
    switch (ACT) { \
    case CVK_ACT_RELU: { const int act_ = CVK_ACT_RELU; BODY; break; } \
    case CVK_ACT_GELU: { const int act_ = CVK_ACT_GELU; BODY; break; } \
    case CVK_ACT_SIGMOID: { const int act_ = CVK_ACT_SIGMOID; BODY; break; } \
    default: { const int act_ = CVK_ACT_NONE; BODY; break; } \
    }

static void CVK_NAME(activate)(const float *src, float *dst, long n, int act) {
    ACT_LOOP(act, {
        long i = 0;
        for (; i + 8 <= n; i += 8) STORE(dst + i, CVK_NAME(apply)(LOAD(src + i), act_));
        if (i < n) CVK_NAME(store_partial)(dst + i, CVK_NAME(apply)(CVK_NAME(load_partial)(src + i, n - i, 0), act_), n - i);
    })
}

static void CVK_NAME(bias_activate)(float *x, long n, float bias, int act) {
    if (act == CVK_ACT_NONE && bias == 0) return;
    v8 b = SPLAT(bias);
    ACT_LOOP(act, {
        long i = 0;
        for (; i + 8 <= n; i += 8) STORE(x + i, CVK_NAME(apply)(LOAD(x + i) + b, act_));
        if (i < n) CVK_NAME(store_partial)(x + i, CVK_NAME(apply)(CVK_NAME(load_partial)(x + i, n - i, 0) + b, act_), n - i);
    })
}

static void CVK_NAME(bias_vector_activate)(float *x, long n, const float *bias, int act) {
    ACT_LOOP(act, {
        long i = 0;
        for (; i + 8 <= n; i += 8) STORE(x + i, CVK_NAME(apply)(LOAD(x + i) + LOAD(bias + i), act_));
        if (i < n) {
            v8 v = CVK_NAME(load_partial)(x + i, n - i, 0) + CVK_NAME(load_partial)(bias + i, n - i, 0);
            CVK_NAME(store_partial)(x + i, CVK_NAME(apply)(v, act_), n - i);
        }
    })
}

static float CVK_NAME(row_max)(const float *x, long n) {
    v8 m = SPLAT(-INFINITY);
    long i = 0;
    for (; i + 8 <= n; i += 8) m = CVK_NAME(vmax)(m, LOAD(x + i));
    if (i < n) m = CVK_NAME(vmax)(m, CVK_NAME(load_partial)(x + i, n - i, -INFINITY));
    float r = m[0];
    for (int j = 1; j < 8; j++) r = m[j] > r ? m[j] : r;
    return r;
}

// y = e^(x − shift) (y may be x); returns the sum of y.
INLINE float CVK_NAME(exp_shift_into)(const float *x, float *y, long n, float shift) {
    v8 s = SPLAT(shift), acc = SPLAT(0.0f);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        v8 e = CVK_NAME(exp)(LOAD(x + i) - s);
        STORE(y + i, e);
        acc += e;
    }
    if (i < n) {
        // Padding lanes hold −∞, whose exponential is 0, so they add nothing to the sum.
        v8 e = CVK_NAME(exp)(CVK_NAME(load_partial)(x + i, n - i, -INFINITY) - s);
        CVK_NAME(store_partial)(y + i, e, n - i);
        acc += e;
    }
    return CVK_NAME(hsum)(acc);
}

static float CVK_NAME(exp_shift_row)(float *x, long n, float shift) {
    return CVK_NAME(exp_shift_into)(x, x, n, shift);
}

static void CVK_NAME(scale_row)(float *x, long n, float s) {
    v8 sv = SPLAT(s);
    long i = 0;
    for (; i + 8 <= n; i += 8) STORE(x + i, LOAD(x + i) * sv);
    for (; i < n; i++) x[i] *= s;
}

// Softmax of `rows` rows of `n` from src into dst, in one call: the mask decoder has rows of 7
// (a quarter-million per prompt batch), where a call per row and pass cost more than the math.
static void CVK_NAME(softmax_rows)(const float *src, float *dst, long rows, long n) {
    if (n <= 8) {
        for (long r = 0; r < rows; r++) {
            v8 x = CVK_NAME(load_partial)(src + r * n, n, -INFINITY);
            float m = x[0];
            for (int j = 1; j < 8; j++) m = x[j] > m ? x[j] : m;
            v8 e = CVK_NAME(exp)(x - SPLAT(m));
            CVK_NAME(store_partial)(dst + r * n, e * SPLAT(1.0f / CVK_NAME(hsum)(e)), n);
        }
        return;
    }
    for (long r = 0; r < rows; r++) {
        const float *x = src + r * n;
        float *y = dst + r * n;
        const float sum = CVK_NAME(exp_shift_into)(x, y, n, CVK_NAME(row_max)(x, n));
        CVK_NAME(scale_row)(y, n, 1.0f / sum);
    }
}

// sin/cos: p = k·π/2 + r with |r| ≤ π/4 (π/2 split in three so k·c1 is exact for |k| < 2^15),
// then Taylor polynomials, exact to float32 rounding on that interval.
INLINE void CVK_NAME(sincos8)(v8 p, v8 *sin_out, v8 *cos_out) {
    v8 t = p * 0.63661977237f + ROUND_MAGIC;
    v8 k = t - ROUND_MAGIC;
    v8 r = ((p - k * 1.5703125f) - k * 4.837512969970703e-4f) - k * 7.549789954891882e-8f;
    v8 r2 = r * r;
    v8 ps = MADD(r2, 1.0f / 362880, -1.0f / 5040);
    ps = MADD(ps, r2, 1.0f / 120);
    ps = MADD(ps, r2, -1.0f / 6);
    v8 sin_r = MADD(r * r2, ps, r);
    v8 pc = MADD(r2, -1.0f / 3628800, 1.0f / 40320);
    pc = MADD(pc, r2, -1.0f / 720);
    pc = MADD(pc, r2, 1.0f / 24);
    pc = MADD(pc, r2, -0.5f);
    v8 cos_r = MADD(r2, pc, 1.0f);
    // The quadrant k mod 4 sits in the low bits of t (0x4B400000 + k).
    v8u q = (v8u)t & 3u;
    v8i swap = (v8i)((q & 1u) == 1u);
    v8i negate = (v8i)(q >= 2u);
    v8 s = SELECT(swap, cos_r, sin_r);
    v8 c = SELECT(swap, -sin_r, cos_r);
    *sin_out = SELECT(negate, -s, s);
    *cos_out = SELECT(negate, -c, c);
}

static void CVK_NAME(sincos)(const float *p, float *sin_out, float *cos_out, long n) {
    long i = 0;
    v8 s, c;
    for (; i + 8 <= n; i += 8) {
        CVK_NAME(sincos8)(LOAD(p + i), &s, &c);
        STORE(sin_out + i, s);
        STORE(cos_out + i, c);
    }
    if (i < n) {
        CVK_NAME(sincos8)(CVK_NAME(load_partial)(p + i, n - i, 0), &s, &c);
        CVK_NAME(store_partial)(sin_out + i, s, n - i);
        CVK_NAME(store_partial)(cos_out + i, c, n - i);
    }
}

/// Taps handled per pass over an output row; larger filters take several passes.
#define DW_TAP_GROUP 16

/// Adds a group of taps to one output row: tap k reads `base[k][ox]` for ox in [lo[k], hi[k]).
/// Columns every tap can read go 8 at a time with the sums in registers; the edges are scalar.
INLINE void CVK_NAME(dw_accumulate)(float *dst, long ow, int taps, const float *const *base,
                                           const float *weight, const long *lo, const long *hi) {
    long L = 0, U = ow;
    for (int k = 0; k < taps; k++) {
        if (lo[k] > L) L = lo[k];
        if (hi[k] < U) U = hi[k];
    }
    if (U < L) U = L;
    long ox = 0;
    for (; ox < L; ox++) {
        float a = dst[ox];
        for (int k = 0; k < taps; k++) if (ox >= lo[k] && ox < hi[k]) a += weight[k] * base[k][ox];
        dst[ox] = a;
    }
    for (; ox + 8 <= U; ox += 8) {
        v8 a = LOAD(dst + ox);
        for (int k = 0; k < taps; k++) a = MADD(SPLAT(weight[k]), LOAD(base[k] + ox), a);
        STORE(dst + ox, a);
    }
    for (; ox < ow; ox++) {
        float a = dst[ox];
        for (int k = 0; k < taps; k++) if (ox >= lo[k] && ox < hi[k]) a += weight[k] * base[k][ox];
        dst[ox] = a;
    }
}

static void CVK_NAME(depthwise_plane)(const cvk_depthwise_plane *pl, float *scratch) {
    const long h = pl->h, w = pl->w, oh = pl->oh, ow = pl->ow, kh = pl->kh, kw = pl->kw;
    const long sy = pl->stride_y, sx = pl->stride_x, py = pl->pad_y, px = pl->pad_x;
    // With a column stride, input rows are split by column phase (phase p holds columns
    // p, p+sx, ...), so every tap reads contiguous floats: column ox·sx + t is element
    // ox + floor(t/sx) of phase t mod sx.
    const long phase_len = (w + sx - 1) / sx + 1;
    for (long oy = 0; oy < oh; oy++) {
        float *dst = pl->dst + oy * ow;
        memset(dst, 0, (size_t)ow * sizeof(float));
        const float *base[DW_TAP_GROUP];
        float weight[DW_TAP_GROUP];
        long lo[DW_TAP_GROUP], hi[DW_TAP_GROUP];
        int taps = 0;
        for (long ky = 0; ky < kh; ky++) {
            const long iy = oy * sy - py + ky;
            if (iy < 0 || iy >= h) continue;
            const float *row = pl->src + iy * w;
            float *phases = scratch + ky * sx * phase_len;
            if (sx > 1) {
                for (long p = 0; p < sx; p++)
                    for (long j = 0, c = p; c < w; j++, c += sx) phases[p * phase_len + j] = row[c];
            }
            for (long kx = 0; kx < kw; kx++) {
                const long t = kx - px;
                // Output columns whose input column ox·sx + t lies inside the row.
                const long l = t >= 0 ? 0 : (-t + sx - 1) / sx;
                long u = w - 1 - t >= 0 ? (w - 1 - t) / sx + 1 : 0;
                if (u > ow) u = ow;
                if (l >= u) continue;
                const long fl = t >= 0 ? t / sx : -((-t + sx - 1) / sx);   // floor(t / sx)
                base[taps] = (sx > 1 ? phases + (t - fl * sx) * phase_len : row) + fl;
                weight[taps] = pl->taps[ky * kw + kx];
                lo[taps] = l;
                hi[taps] = u;
                if (++taps == DW_TAP_GROUP) {
                    CVK_NAME(dw_accumulate)(dst, ow, taps, base, weight, lo, hi);
                    taps = 0;
                }
            }
        }
        if (taps > 0) CVK_NAME(dw_accumulate)(dst, ow, taps, base, weight, lo, hi);
        CVK_NAME(bias_activate)(dst, ow, pl->bias, pl->activation);
    }
}

/// Transposes one 8 × 8 block: 8 source rows `ls` apart to 8 destination rows `ld` apart.
INLINE void CVK_NAME(transpose8x8)(const float *src, long ls, float *dst, long ld) {
    v8 r0 = LOAD(src), r1 = LOAD(src + ls), r2 = LOAD(src + 2 * ls), r3 = LOAD(src + 3 * ls);
    v8 r4 = LOAD(src + 4 * ls), r5 = LOAD(src + 5 * ls), r6 = LOAD(src + 6 * ls), r7 = LOAD(src + 7 * ls);
    // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves.
    v8 t0 = __builtin_shufflevector(r0, r1, 0, 8, 1, 9, 4, 12, 5, 13);
    v8 t1 = __builtin_shufflevector(r0, r1, 2, 10, 3, 11, 6, 14, 7, 15);
    v8 t2 = __builtin_shufflevector(r2, r3, 0, 8, 1, 9, 4, 12, 5, 13);
    v8 t3 = __builtin_shufflevector(r2, r3, 2, 10, 3, 11, 6, 14, 7, 15);
    v8 t4 = __builtin_shufflevector(r4, r5, 0, 8, 1, 9, 4, 12, 5, 13);
    v8 t5 = __builtin_shufflevector(r4, r5, 2, 10, 3, 11, 6, 14, 7, 15);
    v8 t6 = __builtin_shufflevector(r6, r7, 0, 8, 1, 9, 4, 12, 5, 13);
    v8 t7 = __builtin_shufflevector(r6, r7, 2, 10, 3, 11, 6, 14, 7, 15);
    v8 u0 = __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13);
    v8 u1 = __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);
    v8 u2 = __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13);
    v8 u3 = __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);
    v8 u4 = __builtin_shufflevector(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13);
    v8 u5 = __builtin_shufflevector(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15);
    v8 u6 = __builtin_shufflevector(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13);
    v8 u7 = __builtin_shufflevector(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15);
    STORE(dst, __builtin_shufflevector(u0, u4, 0, 1, 2, 3, 8, 9, 10, 11));
    STORE(dst + ld, __builtin_shufflevector(u1, u5, 0, 1, 2, 3, 8, 9, 10, 11));
    STORE(dst + 2 * ld, __builtin_shufflevector(u2, u6, 0, 1, 2, 3, 8, 9, 10, 11));
    STORE(dst + 3 * ld, __builtin_shufflevector(u3, u7, 0, 1, 2, 3, 8, 9, 10, 11));
    STORE(dst + 4 * ld, __builtin_shufflevector(u0, u4, 4, 5, 6, 7, 12, 13, 14, 15));
    STORE(dst + 5 * ld, __builtin_shufflevector(u1, u5, 4, 5, 6, 7, 12, 13, 14, 15));
    STORE(dst + 6 * ld, __builtin_shufflevector(u2, u6, 4, 5, 6, 7, 12, 13, 14, 15));
    STORE(dst + 7 * ld, __builtin_shufflevector(u3, u7, 4, 5, 6, 7, 12, 13, 14, 15));
}

static void CVK_NAME(transpose)(const float *src, long src_ld, float *dst, long dst_ld, long rows, long cols) {
    // Stripes of 16 source rows, so each destination row gets 64 contiguous bytes per stripe.
    long r0 = 0;
    for (; r0 + 8 <= rows; r0 += 16) {
        const long stripe = rows - r0 >= 16 ? 16 : 8;
        long c = 0;
        for (; c + 8 <= cols; c += 8) {
            for (long h = 0; h < stripe; h += 8)
                CVK_NAME(transpose8x8)(src + (r0 + h) * src_ld + c, src_ld, dst + c * dst_ld + r0 + h, dst_ld);
        }
        for (; c < cols; c++)
            for (long r = r0; r < r0 + stripe; r++) dst[c * dst_ld + r] = src[r * src_ld + c];
        if (stripe == 8) { r0 += 8; break; }
    }
    for (long r = r0; r < rows; r++)
        for (long c = 0; c < cols; c++) dst[c * dst_ld + r] = src[r * src_ld + c];
}

/// Adds an attention bias to score row `row` of query `i` for keys j0 ..< j0 + nt.
INLINE void CVK_NAME(add_bias)(const cvk_attention *a, long i, long j0, long nt, float *row) {
    if (a->bias) {
        const float *b = a->bias + i * a->ldb + j0;
        long j = 0;
        for (; j + 8 <= nt; j += 8) STORE(row + j, LOAD(row + j) + LOAD(b + j));
        for (; j < nt; j++) row[j] += b[j];
    } else if (a->rel) {
        const long w = a->rel_width;
        const float *gh = a->rel + i * (a->rel_height + w), *gw = gh + a->rel_height;
        // Keys come in runs of one key row ky: columns kx ..< kx + run.
        long key = j0;
        while (key < j0 + nt) {
            const long ky = key / w, kx = key % w;
            const long run = w - kx < j0 + nt - key ? w - kx : j0 + nt - key;
            float *dst = row + (key - j0);
            const float *wv = gw + kx;
            const v8 h8 = SPLAT(gh[ky]);
            long j = 0;
            for (; j + 8 <= run; j += 8) STORE(dst + j, LOAD(dst + j) + (h8 + LOAD(wv + j)));
            for (; j < run; j++) dst[j] += gh[ky] + wv[j];
            key += run;
        }
    }
}

/// Rows of the register blocks below: 6 rows × 16 columns is 12 accumulators, enough
/// independent FMA chains to cover the FMA latency (Zen 2: 2 per cycle × 5 cycles) with 16
/// vector registers. The 1×1 convolution and both products of attention use them.
#define BLOCK_ROWS 6

/// acc[r] += Σ_{t<n} a[r][t] · b[t·ldb ..< t·ldb + 16] for the BLOCK_ROWS rows a[r]: one
/// broadcast of a[r][t] per row, two loads of b per step.
INLINE void CVK_NAME(block_fma16)(v8 acc[BLOCK_ROWS][2], const float *const a[BLOCK_ROWS],
                                  const float *b, long ldb, long n) {
    for (long t = 0; t < n; t++, b += ldb) {
        const v8 b0 = LOAD(b), b1 = LOAD(b + 8);
        for (int r = 0; r < BLOCK_ROWS; r++) {
            const v8 av = SPLAT(a[r][t]);
            acc[r][0] = MADD(av, b0, acc[r][0]);
            acc[r][1] = MADD(av, b1, acc[r][1]);
        }
    }
}

/// block_fma16 for 8 columns.
INLINE void CVK_NAME(block_fma8)(v8 acc[BLOCK_ROWS], const float *const a[BLOCK_ROWS],
                                 const float *b, long ldb, long n) {
    for (long t = 0; t < n; t++, b += ldb) {
        const v8 b0 = LOAD(b);
        for (int r = 0; r < BLOCK_ROWS; r++) acc[r] = MADD(SPLAT(a[r][t]), b0, acc[r]);
    }
}

static void CVK_NAME(conv1x1)(const cvk_conv1x1 *a) {
    enum { R = BLOCK_ROWS };
    const long cin = a->cin, cout = a->cout, np = a->pixels;
    const long full = np & ~15L;
    // Blocks of 128 pixels. The block's input is packed first: channel planes are a power of two
    // apart (256 KB at 256²), so read in place its rows all fall in the same cache sets and evict
    // each other; packed (cin × 128 floats) it stays in L1/L2 while every channel group passes
    // over it. Each output row gets 512 contiguous bytes per group.
    float *xb = a->scratch;
    for (long b0 = 0; b0 < full; b0 += 128) {
        const long b1 = b0 + 128 < full ? b0 + 128 : full, bw = b1 - b0;
        for (long ci = 0; ci < cin; ci++) memcpy(xb + ci * 128, a->x + ci * a->ldx + b0, (size_t)bw * sizeof(float));
        for (long co0 = 0; co0 < cout; co0 += R) {
            const long rows = cout - co0 < R ? cout - co0 : R;
            // Channels past the end repeat the last one; they are never stored.
            const float *w[R];
            for (int r = 0; r < R; r++) w[r] = a->w + (co0 + (r < rows ? r : rows - 1)) * cin;
            for (long p0 = b0; p0 < b1; p0 += 16) {
                v8 acc[R][2];
                for (int r = 0; r < R; r++) { acc[r][0] = SPLAT(0); acc[r][1] = SPLAT(0); }
                CVK_NAME(block_fma16)(acc, w, xb + (p0 - b0), 128, cin);
                for (int r = 0; r < rows; r++) {
                    const v8 b = SPLAT(a->bias ? a->bias[co0 + r] : 0.0f);
                    float *yr = a->y + (co0 + r) * a->ldy + p0;
                    ACT_LOOP(a->activation, {
                        STORE(yr, CVK_NAME(apply)(acc[r][0] + b, act_));
                        STORE(yr + 8, CVK_NAME(apply)(acc[r][1] + b, act_));
                    })
                }
            }
        }
    }
    const long p0 = full;
    if (p0 < np) {
        // The last < 16 pixels: one channel at a time, then the epilogue on each row's tail.
        const long tail = np - p0;
        for (long co = 0; co < cout; co++) {
            float *yr = a->y + co * a->ldy + p0;
            const float *wr = a->w + co * cin;
            for (long p = 0; p < tail; p++) {
                float t = 0;
                for (long ci = 0; ci < cin; ci++) t += wr[ci] * a->x[ci * a->ldx + p0 + p];
                yr[p] = t;
            }
            CVK_NAME(bias_activate)(yr, tail, a->bias ? a->bias[co] : 0.0f, a->activation);
        }
    }
}


static void CVK_NAME(attention)(const cvk_attention *a, float *scratch) {
    enum { KT = CVK_ATTENTION_KEY_TILE, R = BLOCK_ROWS };
    const long m = a->m, n = a->n, hd = a->hd;
    float *kt = scratch;                 // hd × KT: the key tile, transposed
    float *acc = kt + hd * KT;           // m × hd: unnormalised outputs
    float *run_max = acc + m * hd;       // m
    float *run_sum = run_max + m;        // m
    float *s = run_sum + m;              // R × KT: scores of R query rows
    memset(acc, 0, (size_t)(m * hd) * sizeof(float));
    for (long i = 0; i < m; i++) { run_max[i] = -INFINITY; run_sum[i] = 0; }
    const v8 scale = SPLAT(a->scale);

    for (long j0 = 0; j0 < n; j0 += KT) {
        const long nt = n - j0 < KT ? n - j0 : KT, nt8 = (nt + 7) & ~7L;
        // Zero columns up to a multiple of 8, so scores go 16 (or a last 8) keys at a time.
        CVK_NAME(transpose)(a->k + j0 * a->ldk, a->ldk, kt, KT, nt, hd);
        if (nt < nt8)
            for (long c = 0; c < hd; c++) memset(kt + c * KT + nt, 0, (size_t)(nt8 - nt) * sizeof(float));
        const float *vt = a->v + j0 * a->ldv;
        for (long i0 = 0; i0 < m; i0 += R) {
            const long rows = m - i0 < R ? m - i0 : R;
            // Rows past the end repeat the last row; their scores are zeroed before use.
            const float *q[R];
            for (int r = 0; r < R; r++) q[r] = a->q + (i0 + (r < rows ? r : rows - 1)) * a->ldq;
            long j = 0;
            for (; j + 16 <= nt8; j += 16) {
                v8 sc[R][2];
                for (int r = 0; r < R; r++) { sc[r][0] = SPLAT(0); sc[r][1] = SPLAT(0); }
                CVK_NAME(block_fma16)(sc, q, kt + j, KT, hd);
                for (int r = 0; r < R; r++) {
                    STORE(s + r * KT + j, sc[r][0] * scale);
                    STORE(s + r * KT + j + 8, sc[r][1] * scale);
                }
            }
            if (j < nt8) {
                // The last 8 keys (short windows: 49 keys are 3 × 16 + 8 rather than 4 × 16).
                v8 sc[R];
                for (int r = 0; r < R; r++) sc[r] = SPLAT(0);
                CVK_NAME(block_fma8)(sc, q, kt + j, KT, hd);
                for (int r = 0; r < R; r++) STORE(s + r * KT + j, sc[r] * scale);
            }
            // Online softmax: rescale what was accumulated under the old maximum.
            for (long r = 0; r < R; r++) {
                float *row = s + r * KT;
                if (r >= rows) { memset(row, 0, (size_t)nt * sizeof(float)); continue; }
                const long i = i0 + r;
                CVK_NAME(add_bias)(a, i, j0, nt, row);
                const float tile_max = CVK_NAME(row_max)(row, nt);
                const float new_max = tile_max > run_max[i] ? tile_max : run_max[i];
                const float tile_sum = CVK_NAME(exp_shift_row)(row, nt, new_max);
                const float correction = run_max[i] == -INFINITY ? 0.0f : expf(run_max[i] - new_max);
                run_sum[i] = run_sum[i] * correction + tile_sum;
                run_max[i] = new_max;
                if (correction != 1.0f) CVK_NAME(scale_row)(acc + i * hd, hd, correction);
            }
            // acc += p·v, 16 (then 8) output columns of R rows at a time. Score rows past the end
            // were zeroed above and their accumulators are never stored.
            const float *p[R];
            for (int r = 0; r < R; r++) p[r] = s + r * KT;
            long c0 = 0;
            for (; c0 + 16 <= hd; c0 += 16) {
                v8 o[R][2];
                for (int r = 0; r < R; r++) {
                    if (r < rows) { o[r][0] = LOAD(acc + (i0 + r) * hd + c0); o[r][1] = LOAD(acc + (i0 + r) * hd + c0 + 8); }
                    else { o[r][0] = SPLAT(0); o[r][1] = SPLAT(0); }
                }
                CVK_NAME(block_fma16)(o, p, vt + c0, a->ldv, nt);
                for (int r = 0; r < R; r++) {
                    if (r < rows) { STORE(acc + (i0 + r) * hd + c0, o[r][0]); STORE(acc + (i0 + r) * hd + c0 + 8, o[r][1]); }
                }
            }
            for (; c0 + 8 <= hd; c0 += 8) {
                v8 o[R];
                for (int r = 0; r < R; r++) o[r] = r < rows ? LOAD(acc + (i0 + r) * hd + c0) : SPLAT(0);
                CVK_NAME(block_fma8)(o, p, vt + c0, a->ldv, nt);
                for (int r = 0; r < R; r++) if (r < rows) STORE(acc + (i0 + r) * hd + c0, o[r]);
            }
            for (; c0 < hd; c0++) {
                for (long r = 0; r < rows; r++) {
                    float t = 0;
                    for (long j = 0; j < nt; j++) t += s[r * KT + j] * vt[j * a->ldv + c0];
                    acc[(i0 + r) * hd + c0] += t;
                }
            }
        }
    }
    for (long i = 0; i < m; i++) {
        const float inv = 1.0f / run_sum[i];
        const float *src = acc + i * hd;
        float *dst = a->out + i * a->ldo;
        long c = 0;
        for (; c + 8 <= hd; c += 8) STORE(dst + c, LOAD(src + c) * inv);
        for (; c < hd; c++) dst[c] = src[c] * inv;
    }
}

const cvk_kernels CVK_NAME(table) = {
    .isa = CVK_ISA,
    .name = CVK_ISA == CVK_ISA_AVX2_FMA ? "avx2+fma" : "baseline",
    .activate = CVK_NAME(activate),
    .bias_activate = CVK_NAME(bias_activate),
    .bias_vector_activate = CVK_NAME(bias_vector_activate),
    .row_max = CVK_NAME(row_max),
    .exp_shift_row = CVK_NAME(exp_shift_row),
    .scale_row = CVK_NAME(scale_row),
    .softmax_rows = CVK_NAME(softmax_rows),
    .sincos = CVK_NAME(sincos),
    .depthwise_plane = CVK_NAME(depthwise_plane),
    .attention = CVK_NAME(attention),
    .conv1x1 = CVK_NAME(conv1x1),
    .transpose = CVK_NAME(transpose),
};

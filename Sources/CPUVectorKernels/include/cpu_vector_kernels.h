// Vectorised float32 inner loops of the `cpu` backend, compiled twice: once for baseline
// x86-64 (SSE2) and once with AVX2 + FMA, chosen at run time for the CPU at hand.
//
// The Swift side (module CPUBackend) owns threading, tiling and memory; these functions only
// run the loops whose speed depends on the instruction set (transcendentals, depthwise taps).
#ifndef CPU_VECTOR_KERNELS_H
#define CPU_VECTOR_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Activation codes, matching TensorRuntime's `Activation`.
enum {
    CVK_ACT_NONE = 0,
    CVK_ACT_RELU = 1,
    CVK_ACT_GELU = 2,
    CVK_ACT_SIGMOID = 3,
};

/// Instruction-set levels a kernel table can be built for.
typedef enum {
    CVK_ISA_BASELINE = 0,   ///< SSE2, every x86-64 CPU (and any other target: portable C vectors)
    CVK_ISA_AVX2_FMA = 1,   ///< Haswell and later, AMD Zen and later
} cvk_isa;

/// One depthwise convolution plane: `dst[oh, ow] = act(bias + Σ taps · src[h, w])`.
typedef struct {
    const float *_Nonnull src;
    float *_Nonnull dst;
    const float *_Nonnull taps;   ///< kh × kw, row-major
    long h, w, oh, ow, kh, kw, stride_y, stride_x, pad_y, pad_x;
    float bias;
    int activation;
} cvk_depthwise_plane;

/// Keys per tile of `attention`: one tile of kᵀ (hd × 256 floats) stays in L1/L2 while every
/// query row of the block is scored against it.
#define CVK_ATTENTION_KEY_TILE 256

/// Attention for a block of query rows of one head against all its keys, flash style:
/// keys in tiles of CVK_ATTENTION_KEY_TILE, each tile's kᵀ packed once and shared by all the
/// block's queries, scores six query rows at a time in registers, an online softmax (running
/// maximum and sum per row) and the output accumulated in scratch. No m × n matrix exists.
/// scores = scale·q·kᵀ + bias; out = softmax(scores)·v.
typedef struct {
    const float *_Nonnull q;   ///< m rows of hd floats, `ldq` apart
    const float *_Nonnull k;   ///< n rows of hd floats, `ldk` apart
    const float *_Nonnull v;   ///< n rows of hd floats, `ldv` apart
    float *_Nonnull out;       ///< m rows of hd floats, `ldo` apart
    long ldq, ldk, ldv, ldo;
    long m, n, hd;
    float scale;
    /// Dense additive bias: m rows of n floats, `ldb` apart; or NULL.
    const float *_Nullable bias;
    long ldb;
    /// Decomposed (SAM relative position) bias, used when `rel` is not NULL: row i holds
    /// rel_height + rel_width floats [gh | gw], and key j = ky·rel_width + kx gets gh[ky] + gw[kx].
    const float *_Nullable rel;
    long rel_height, rel_width;
} cvk_attention;

/// A 1 × 1 convolution over a range of pixels, with bias and activation fused:
/// y[co, p] = act(bias[co] + Σ_ci w[co, ci] · x[ci, p]) for co < cout, p < pixels.
/// Meant for few input channels (MBConv expansions, 64 → 256), where a GEMM library spends more
/// time packing than multiplying; x rows are read in place (NCHW planes are contiguous).
typedef struct {
    const float *_Nonnull w;      ///< cout × cin, row-major
    const float *_Nullable bias;  ///< cout, or NULL
    const float *_Nonnull x;      ///< cin rows of `pixels` floats, `ldx` apart
    float *_Nonnull y;            ///< cout rows of `pixels` floats, `ldy` apart
    float *_Nonnull scratch;      ///< cin × 128 floats: one block of x, packed
    long cin, cout, pixels, ldx, ldy;
    int activation;
} cvk_conv1x1;

/// The kernels of one instruction-set level. Every pointer is non-null.
typedef struct {
    cvk_isa isa;
    const char *_Nonnull name;
    /// dst[i] = act(src[i]); src and dst may be the same pointer.
    void (*_Nonnull activate)(const float *_Nonnull src, float *_Nonnull dst, long n, int act);
    /// x[i] = act(x[i] + bias).
    void (*_Nonnull bias_activate)(float *_Nonnull x, long n, float bias, int act);
    /// x[i] = act(x[i] + bias[i]).
    void (*_Nonnull bias_vector_activate)(float *_Nonnull x, long n, const float *_Nonnull bias, int act);
    /// max(x[0..n)); −∞ for n = 0.
    float (*_Nonnull row_max)(const float *_Nonnull x, long n);
    /// x[i] = e^(x[i] − shift) in place; returns Σ x[i] after the update.
    float (*_Nonnull exp_shift_row)(float *_Nonnull x, long n, float shift);
    /// x[i] *= s.
    void (*_Nonnull scale_row)(float *_Nonnull x, long n, float s);
    /// dst row r = softmax(src row r) for `rows` rows of `n` (src and dst may be the same).
    void (*_Nonnull softmax_rows)(const float *_Nonnull src, float *_Nonnull dst, long rows, long n);
    /// sin_out[i] = sin p[i], cos_out[i] = cos p[i], for |p| up to a few thousand.
    void (*_Nonnull sincos)(const float *_Nonnull p, float *_Nonnull sin_out, float *_Nonnull cos_out, long n);
    /// One plane of a depthwise convolution. `scratch` holds at least `cvk_depthwise_scratch` floats.
    void (*_Nonnull depthwise_plane)(const cvk_depthwise_plane *_Nonnull plane, float *_Nonnull scratch);
    /// dst[c·dst_ld + r] = src[r·src_ld + c] for r < rows, c < cols (8 × 8 blocks in registers).
    void (*_Nonnull transpose)(const float *_Nonnull src, long src_ld, float *_Nonnull dst, long dst_ld,
                               long rows, long cols);
    /// 1 × 1 convolution of a pixel range (see cvk_conv1x1).
    void (*_Nonnull conv1x1)(const cvk_conv1x1 *_Nonnull job);
    /// Attention of one block of query rows; `scratch` holds `cvk_attention_scratch(m, hd)`
    /// floats. n ≥ 1.
    void (*_Nonnull attention)(const cvk_attention *_Nonnull job, float *_Nonnull scratch);
} cvk_kernels;

/// Floats of scratch `attention` needs for m query rows of hd dims: one kᵀ tile, the m × hd
/// output accumulator, running maxima and sums, six score rows.
long cvk_attention_scratch(long m, long hd);

/// Floats of scratch `depthwise_plane` needs: the input rows of one output row split by
/// column phase when `stride_x` > 1 (kh rows of `w` floats plus padding), nothing beyond
/// padding for stride 1.
long cvk_depthwise_scratch(long w, long kh, long stride_x);

/// The fastest table this CPU runs, unless the environment variable MEDSAM_CPU_ISA is
/// `baseline` (then the SSE2 table; useful to compare the two or to rule out a CPU issue).
const cvk_kernels *_Nonnull cvk_best_kernels(void);

/// The widest x86 vector level this CPU runs (for choosing other libraries' kernels too).
typedef enum {
    CVK_X86_BASELINE = 0,
    /// AVX2 and FMA.
    CVK_X86_AVX2 = 1,
    /// AVX-512 F, BW, DQ and VL (Skylake-SP and later).
    CVK_X86_AVX512 = 2
} cvk_x86_level;
cvk_x86_level cvk_x86_level_of_this_cpu(void);

/// The table for one level, or NULL when this CPU (or this build) cannot run it.
const cvk_kernels *_Nullable cvk_kernels_for(cvk_isa isa);

#ifdef __cplusplus
}
#endif

#endif

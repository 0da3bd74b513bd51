// Picks the kernel table for the CPU the process runs on, once.
#include <stdlib.h>
#include <string.h>
#include "cpu_vector_kernels.h"

extern const cvk_kernels cvk_baseline_table;
#if defined(__x86_64__)
extern const cvk_kernels cvk_avx2_table;
#endif

long cvk_depthwise_scratch(long w, long kh, long stride_x) {
    if (stride_x <= 1) return 8;
    return kh * stride_x * ((w + stride_x - 1) / stride_x + 1) + 8;
}

long cvk_attention_scratch(long m, long hd) {
    return hd * CVK_ATTENTION_KEY_TILE + m * hd + 2 * m + 6 * CVK_ATTENTION_KEY_TILE + 8;
}

const cvk_kernels *cvk_kernels_for(cvk_isa isa) {
    switch (isa) {
    case CVK_ISA_BASELINE:
        return &cvk_baseline_table;
    case CVK_ISA_AVX2_FMA:
#if defined(__x86_64__)
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &cvk_avx2_table;
#endif
        return NULL;
    }
    return NULL;
}

cvk_x86_level cvk_x86_level_of_this_cpu(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) return CVK_X86_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CVK_X86_AVX2;
#endif
    return CVK_X86_BASELINE;
}

const cvk_kernels *cvk_best_kernels(void) {
    const char *forced = getenv("MEDSAM_CPU_ISA");
    if (forced && strcmp(forced, "baseline") == 0) return &cvk_baseline_table;
    const cvk_kernels *avx2 = cvk_kernels_for(CVK_ISA_AVX2_FMA);
    return avx2 ? avx2 : &cvk_baseline_table;
}

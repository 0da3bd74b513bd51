// The same kernels compiled for AVX2 + FMA. Only x86-64 builds this variant; the function
// attribute (rather than a -march flag on the whole target) keeps the rest of the binary
// portable, and dispatch.c only hands this table out after checking the CPU.
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define CVK_NAME(x) cvk_avx2_##x
#define CVK_FMA 1
#define CVK_ISA CVK_ISA_AVX2_FMA
#include "kernels_body.h"
#pragma clang attribute pop
#endif

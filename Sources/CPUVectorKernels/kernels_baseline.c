// The kernels for any x86-64 CPU (SSE2), and the portable build on other architectures.
#define CVK_NAME(x) cvk_baseline_##x
#define CVK_FMA 0
#define CVK_ISA CVK_ISA_BASELINE
#include "kernels_body.h"

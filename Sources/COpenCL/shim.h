// OpenCL 1.2 is the common floor of PoCL, NVIDIA, AMD and Intel drivers; newer entry
// points are not needed and defining the target silences the header's version warning.
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

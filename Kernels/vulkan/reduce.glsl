// Workgroup-wide sum and max over REDUCE_THREADS invocations (a power of two). With SUBGROUP,
// each subgroup reduces in registers first and only one value per subgroup goes through
// shared memory; without it, a shared-memory tree.
#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_basic : require
shared float reduceScratch[REDUCE_THREADS];
float workgroupSum(float v) {
    v = subgroupAdd(v);
    barrier();
    if (subgroupElect()) reduceScratch[gl_SubgroupID] = v;
    barrier();
    float total = 0.0;
    for (uint s = 0u; s < gl_NumSubgroups; ++s) total += reduceScratch[s];
    return total;
}
float workgroupMax(float v) {
    v = subgroupMax(v);
    barrier();
    if (subgroupElect()) reduceScratch[gl_SubgroupID] = v;
    barrier();
    float m = reduceScratch[0];
    for (uint s = 1u; s < gl_NumSubgroups; ++s) m = max(m, reduceScratch[s]);
    return m;
}
#else
shared float reduceScratch[REDUCE_THREADS];
float workgroupSum(float v) {
    uint t = gl_LocalInvocationID.x;
    barrier();
    reduceScratch[t] = v;
    barrier();
    for (uint s = REDUCE_THREADS / 2u; s > 0u; s >>= 1) {
        if (t < s) reduceScratch[t] += reduceScratch[t + s];
        barrier();
    }
    return reduceScratch[0];
}
float workgroupMax(float v) {
    uint t = gl_LocalInvocationID.x;
    barrier();
    reduceScratch[t] = v;
    barrier();
    for (uint s = REDUCE_THREADS / 2u; s > 0u; s >>= 1) {
        if (t < s) reduceScratch[t] = max(reduceScratch[t], reduceScratch[t + s]);
        barrier();
    }
    return reduceScratch[0];
}
#endif

import TensorRuntime

extension CPUBackend {
    /// The cpu backend's entry in a `BackendRegistry`: one device (the host's cores). `auto`
    /// falls back to it after the hardware GPUs.
    public static let registration = BackendRegistration(
        name: "cpu",
        summary: "the host's cores: OpenBLAS GEMM and SIMD kernels (SSE2 or AVX2+FMA, chosen at run time)",
        autoPreference: 100,
        devices: { [CPUBackend(threads: nil).info] },
        isHardware: { _ in true },
        hasFloat16Storage: { _ in false },
        make: { request in
            guard request.deviceIndex == 0 else {
                throw BackendError.invalidArgument("cpu: device \(request.deviceIndex) does not exist (1 found)")
            }
            if let t = request.threads, t < 1 {
                throw BackendError.invalidArgument("cpu: \(t) threads requested; at least 1 is needed")
            }
            return CPUBackend(threads: request.threads)
        })
}

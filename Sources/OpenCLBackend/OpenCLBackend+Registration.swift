import TensorRuntime

extension OpenCLBackend {
    /// The OpenCL backend's entry in a `BackendRegistry`: every device of every platform.
    /// `auto` takes a hardware OpenCL GPU when there is no hardware Vulkan one; PoCL's CPU
    /// device is for testing and never chosen.
    public static let registration = BackendRegistration(
        name: "opencl",
        summary: "OpenCL C kernels on any OpenCL 1.2+ device (PoCL runs them on the CPU for testing)",
        autoPreference: 20,
        devices: { try OpenCLBackend.devices() },
        isHardware: { BackendRegistration.isHardwareGPU($0) },
        // Half storage goes through vload_half/vstore_half, which every OpenCL device has
        // (cl_khr_fp16 is needed only for half arithmetic, which the kernels do not use).
        hasFloat16Storage: { _ in true },
        make: { request in try OpenCLBackend(deviceIndex: request.deviceIndex, float16: request.float16) })
}

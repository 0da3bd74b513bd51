import TensorRuntime

extension VulkanBackend {
    /// The Vulkan backend's entry in a `BackendRegistry`. `auto` prefers a hardware Vulkan GPU
    /// to every other backend; lavapipe is for testing and never chosen.
    public static let registration = BackendRegistration(
        name: "vulkan",
        summary: "GLSL compute shaders (SPIR-V) on any Vulkan 1.2 device with buffer device address (lavapipe for testing)",
        autoPreference: 10,
        devices: { try VulkanBackend.devices() },
        // A device the backend refuses (PhysicalDeviceCaps.unusableReason) is no choice for auto either.
        isHardware: { BackendRegistration.isHardwareGPU($0) && $0.details["unusable"] == nil },
        // The device reports storageBuffer16BitAccess as supportsFloat16 (PhysicalDeviceCaps).
        hasFloat16Storage: { $0.supportsFloat16 },
        make: { request in
            try VulkanBackend(deviceIndex: request.deviceIndex, options: .init(float16: request.float16))
        })
}

import CPUBackend
import OpenCLBackend
import TensorRuntime
import VulkanBackend

/// The backends a user can name on the command line.
public enum BackendName: String, CaseIterable, Sendable {
    /// The best available device: a hardware Vulkan GPU, else a hardware OpenCL GPU, else `cpu`.
    case auto
    case reference
    case cpu
    case opencl
    case vulkan
}

/// Everything the command line can say about which backend to build.
public struct BackendRequest: Sendable {
    public var name: BackendName
    public var deviceIndex: Int
    /// Store tensors as float16 where the device supports it (GPU backends).
    public var float16: Bool
    public var threads: Int?

    public init(name: BackendName = .auto, deviceIndex: Int = 0, float16: Bool = false, threads: Int? = nil) {
        self.name = name
        self.deviceIndex = deviceIndex
        self.float16 = float16
        self.threads = threads
    }
}

/// One entry of `medsam devices`: a backend kind and what it found (or why it found nothing).
public struct DeviceListing: Sendable, Codable {
    public var backend: String
    public var devices: [DeviceInfo]
    public var error: String?
}

/// Builds backends by name; the only place that knows every backend type.
public enum BackendFactory {
    public static func make(_ request: BackendRequest) throws -> any Backend {
        switch request.name {
        case .reference:
            return ReferenceBackend()
        case .cpu:
            return CPUBackend(threads: request.threads)
        case .opencl:
            return try OpenCLBackend(deviceIndex: request.deviceIndex, float16: request.float16)
        case .vulkan:
            return try VulkanBackend(deviceIndex: request.deviceIndex, options: .init(float16: request.float16))
        case .auto:
            if let (name, index) = bestHardwareGPU() {
                var r = request
                r.name = name
                r.deviceIndex = index
                return try make(r)
            }
            return CPUBackend(threads: request.threads)
        }
    }

    /// Every backend kind with its devices; a kind without devices carries the reason.
    public static func listAll() -> [DeviceListing] {
        var out: [DeviceListing] = [
            DeviceListing(backend: "reference", devices: [ReferenceBackend().info], error: nil),
            DeviceListing(backend: "cpu", devices: [CPUBackend(threads: nil).info], error: nil),
        ]
        for (name, list) in [("opencl", { try OpenCLBackend.devices() }), ("vulkan", { try VulkanBackend.devices() })]
            as [(String, () throws -> [DeviceInfo])] {
            do {
                out.append(DeviceListing(backend: name, devices: try list(), error: nil))
            } catch {
                out.append(DeviceListing(backend: name, devices: [], error: "\(error)"))
            }
        }
        return out
    }

    /// A device that runs on real GPU hardware (software rasterisers such as lavapipe/llvmpipe and
    /// PoCL's CPU device are not faster than the `cpu` backend, so `auto` skips them).
    static func bestHardwareGPU() -> (BackendName, Int)? {
        if let devices = try? VulkanBackend.devices(), let d = devices.first(where: isHardwareGPU) {
            return (.vulkan, d.index)
        }
        if let devices = try? OpenCLBackend.devices(), let d = devices.first(where: isHardwareGPU) {
            return (.opencl, d.index)
        }
        return nil
    }

    static func isHardwareGPU(_ d: DeviceInfo) -> Bool {
        let type = (d.details["type"] ?? d.details["deviceType"] ?? "").lowercased()
        if type.contains("cpu") { return false }
        let name = d.name.lowercased()
        for software in ["llvmpipe", "lavapipe", "pthread", "pocl", "swiftshader", "cpu"] where name.contains(software) {
            return false
        }
        return type.contains("gpu")
    }
}

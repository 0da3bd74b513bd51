import CVulkan
import Foundation
import TensorRuntime

/// Everything the backend needs to know about one physical device, read once.
struct PhysicalDeviceCaps {
    let handle: VkPhysicalDevice
    let index: Int
    let name: String
    let vendorID: UInt32
    let deviceType: String
    let apiVersion: UInt32
    let driverName: String
    let driverInfo: String
    let extensions: Set<String>

    let maxStorageBufferRange: UInt32
    let maxPushConstantsSize: UInt32
    let maxWorkGroupCount: (UInt32, UInt32, UInt32)
    let maxWorkGroupInvocations: UInt32
    let maxWorkGroupSizeX: UInt32
    let maxSharedMemory: UInt32
    let maxMemoryAllocationSize: UInt64
    let timestampPeriod: Float
    let timestampsOnCompute: Bool

    let subgroupSize: UInt32
    let subgroupArithmeticInCompute: Bool
    let bufferDeviceAddress: Bool
    let scalarBlockLayout: Bool
    let storageBuffer16BitAccess: Bool
    let shaderFloat16: Bool
    let vulkanMemoryModel: Bool
    /// The f16·f16 + f32 = f32 subgroup-scope fragment the cooperative-matrix kernels use (the
    /// first the device lists of 16x16x16, 8x16x16, 8x8x8), with fp16 arithmetic and the Vulkan
    /// memory model; nil when there is none.
    let cooperativeMatrixFragment: CooperativeMatrixFragment?
    /// The first cooperative-matrix kernels (kept for comparison runs) need 16x16x16.
    var cooperativeMatrix16: Bool { cooperativeMatrixFragment == CooperativeMatrixFragment(m: 16, n: 16, k: 16) }
    /// Every (M x N x K, A/B/C/result types, scope) the driver lists for VK_KHR_cooperative_matrix,
    /// as "16x16x16 f16.f16+f32=f32 subgroup"; shown by `medsam devices` so a GPU run records what
    /// matrix shapes the kernels could use.
    let cooperativeMatrixShapes: [String]

    let computeQueueFamily: UInt32?
    let deviceLocalBytes: UInt64

    var vendorName: String {
        switch vendorID {
        case 0x10DE: return "NVIDIA"
        case 0x1002: return "AMD"
        case 0x8086: return "Intel"
        case 0x10005: return "Mesa"
        case 0x13B5: return "ARM"
        case 0x5143: return "Qualcomm"
        default: return String(format: "0x%04X", vendorID)
        }
    }

    /// Why this device cannot run the backend, or nil.
    var unusableReason: String? {
        if apiVersion < vkMakeAPIVersion(1, 2, 0) { return "device supports Vulkan \(vkVersionString(apiVersion)); 1.2 is needed" }
        if computeQueueFamily == nil { return "no compute queue" }
        if !bufferDeviceAddress { return "bufferDeviceAddress is not supported" }
        if !scalarBlockLayout { return "scalarBlockLayout is not supported" }
        // Kernels use workgroups of up to 256 invocations along x.
        if maxWorkGroupInvocations < 256 || maxWorkGroupSizeX < 256 {
            return "compute workgroups of 256 invocations are not supported"
        }
        if maxSharedMemory < 16_384 { return "maxComputeSharedMemorySize \(maxSharedMemory) < 16384" }
        return nil
    }

    init(_ device: VkPhysicalDevice, index: Int, instance: VulkanInstance) {
        handle = device
        self.index = index

        var p11 = VkPhysicalDeviceVulkan11Properties()
        p11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES
        var p12 = VkPhysicalDeviceVulkan12Properties()
        p12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES
        var props = VkPhysicalDeviceProperties2()
        props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
        withUnsafeMutablePointer(to: &p12) { p12Ptr in
            p11.pNext = UnsafeMutableRawPointer(p12Ptr)
            withUnsafeMutablePointer(to: &p11) { p11Ptr in
                props.pNext = UnsafeMutableRawPointer(p11Ptr)
                vkGetPhysicalDeviceProperties2(device, &props)
            }
        }
        let p = props.properties
        name = cString(p.deviceName)
        vendorID = p.vendorID
        apiVersion = p.apiVersion
        switch p.deviceType {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: deviceType = "discrete GPU"
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: deviceType = "integrated GPU"
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: deviceType = "virtual GPU"
        case VK_PHYSICAL_DEVICE_TYPE_CPU: deviceType = "CPU"
        default: deviceType = "other"
        }
        let usesCore12 = p.apiVersion >= vkMakeAPIVersion(1, 2, 0)
        driverName = usesCore12 ? cString(p12.driverName) : "unknown"
        driverInfo = usesCore12 ? cString(p12.driverInfo) : vkVersionString(p.driverVersion)
        maxStorageBufferRange = p.limits.maxStorageBufferRange
        maxPushConstantsSize = p.limits.maxPushConstantsSize
        maxWorkGroupCount = p.limits.maxComputeWorkGroupCount
        maxWorkGroupInvocations = p.limits.maxComputeWorkGroupInvocations
        maxWorkGroupSizeX = p.limits.maxComputeWorkGroupSize.0
        maxSharedMemory = p.limits.maxComputeSharedMemorySize
        timestampPeriod = p.limits.timestampPeriod
        timestampsOnCompute = p.limits.timestampComputeAndGraphics != 0
        maxMemoryAllocationSize = usesCore12 ? p11.maxMemoryAllocationSize : 1 << 30
        subgroupSize = usesCore12 ? p11.subgroupSize : 1
        subgroupArithmeticInCompute = usesCore12
            && p11.subgroupSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT.rawValue != 0
            && p11.subgroupSupportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT.rawValue != 0

        var extCount: UInt32 = 0
        vkEnumerateDeviceExtensionProperties(device, nil, &extCount, nil)
        var extProps = [VkExtensionProperties](repeating: VkExtensionProperties(), count: Int(extCount))
        vkEnumerateDeviceExtensionProperties(device, nil, &extCount, &extProps)
        extensions = Set(extProps.prefix(Int(extCount)).map { cString($0.extensionName) })

        var f11 = VkPhysicalDeviceVulkan11Features()
        f11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES
        var f12 = VkPhysicalDeviceVulkan12Features()
        f12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES
        var fcm = CooperativeMatrixFeaturesKHR()
        var features = VkPhysicalDeviceFeatures2()
        features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2
        let hasCoopExt = extensions.contains(cooperativeMatrixExtensionName)
        if usesCore12 {
            withUnsafeMutablePointer(to: &fcm) { cmPtr in
                f12.pNext = hasCoopExt ? UnsafeMutableRawPointer(cmPtr) : nil
                withUnsafeMutablePointer(to: &f12) { f12Ptr in
                    f11.pNext = UnsafeMutableRawPointer(f12Ptr)
                    withUnsafeMutablePointer(to: &f11) { f11Ptr in
                        features.pNext = UnsafeMutableRawPointer(f11Ptr)
                        vkGetPhysicalDeviceFeatures2(device, &features)
                    }
                }
            }
        }
        bufferDeviceAddress = usesCore12 && f12.bufferDeviceAddress != 0
        scalarBlockLayout = usesCore12 && f12.scalarBlockLayout != 0
        storageBuffer16BitAccess = usesCore12 && f11.storageBuffer16BitAccess != 0
        shaderFloat16 = usesCore12 && f12.shaderFloat16 != 0
        vulkanMemoryModel = usesCore12 && f12.vulkanMemoryModel != 0

        var fragments: [CooperativeMatrixFragment] = []
        var shapes: [String] = []
        if hasCoopExt, fcm.cooperativeMatrix != 0,
           let query = instance.function("vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR",
                                         as: GetCooperativeMatrixPropertiesKHR.self) {
            var n: UInt32 = 0
            if query(device, &n, nil) == VK_SUCCESS, n > 0 {
                var list = [CooperativeMatrixPropertiesKHR](repeating: CooperativeMatrixPropertiesKHR(), count: Int(n))
                if list.withUnsafeMutableBytes({ query(device, &n, $0.baseAddress) }) == VK_SUCCESS {
                    shapes = list.prefix(Int(n)).map(\.summary)
                    fragments = list.prefix(Int(n)).filter {
                        $0.aType == CooperativeMatrixPropertiesKHR.componentFloat16
                            && $0.bType == CooperativeMatrixPropertiesKHR.componentFloat16
                            && $0.cType == CooperativeMatrixPropertiesKHR.componentFloat32
                            && $0.resultType == CooperativeMatrixPropertiesKHR.componentFloat32
                            && $0.scope == CooperativeMatrixPropertiesKHR.scopeSubgroup
                    }.map { CooperativeMatrixFragment(m: Int($0.mSize), n: Int($0.nSize), k: Int($0.kSize)) }
                }
            }
        }
        cooperativeMatrixShapes = shapes
        // The kernels stage their tiles in up to 32 KiB of shared memory.
        let usable = storageBuffer16BitAccess && shaderFloat16 && vulkanMemoryModel && p.limits.maxComputeSharedMemorySize >= 32_768
        cooperativeMatrixFragment = usable ? CooperativeMatrixFragment.preferred.first { fragments.contains($0) } : nil

        var qCount: UInt32 = 0
        vkGetPhysicalDeviceQueueFamilyProperties(device, &qCount, nil)
        var queues = [VkQueueFamilyProperties](repeating: VkQueueFamilyProperties(), count: Int(qCount))
        vkGetPhysicalDeviceQueueFamilyProperties(device, &qCount, &queues)
        let computeBit = VK_QUEUE_COMPUTE_BIT.rawValue
        // Prefer a compute family that also supports timestamps.
        let families = queues.prefix(Int(qCount)).enumerated().filter { $0.element.queueFlags & computeBit != 0 }
        computeQueueFamily = (families.first { $0.element.timestampValidBits > 0 } ?? families.first).map { UInt32($0.offset) }

        var memory = VkPhysicalDeviceMemoryProperties()
        vkGetPhysicalDeviceMemoryProperties(device, &memory)
        var local: UInt64 = 0
        withUnsafeBytes(of: memory.memoryHeaps) { raw in
            let heaps = raw.bindMemory(to: VkMemoryHeap.self)
            for i in 0..<Int(memory.memoryHeapCount)
            where heaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT.rawValue != 0 { local = max(local, heaps[i].size) }
        }
        deviceLocalBytes = local
    }

    func deviceInfo(storageType: DType, useCooperativeMatrix: Bool) -> DeviceInfo {
        var details: [String: String] = [
            "type": deviceType,
            "api": vkVersionString(apiVersion),
            "maxStorageBufferRange": String(maxStorageBufferRange),
            "maxPushConstantsSize": String(maxPushConstantsSize),
            "maxComputeWorkGroupCount": "\(maxWorkGroupCount.0)x\(maxWorkGroupCount.1)x\(maxWorkGroupCount.2)",
            "maxComputeWorkGroupInvocations": String(maxWorkGroupInvocations),
            "maxComputeSharedMemorySize": String(maxSharedMemory),
            "maxMemoryAllocationSize": String(maxMemoryAllocationSize),
            "bufferDeviceAddress": String(bufferDeviceAddress),
            "storageBuffer16BitAccess": String(storageBuffer16BitAccess),
            "shaderFloat16": String(shaderFloat16),
            "subgroupArithmetic": String(subgroupArithmeticInCompute),
            "cooperativeMatrixFragment": cooperativeMatrixFragment.map { "\($0.m)x\($0.n)x\($0.k)" } ?? "none",
            "timestampPeriodNs": String(timestampPeriod),
            "cooperativeMatrixShapes": cooperativeMatrixShapes.joined(separator: "; "),
            "VK_NV_cooperative_matrix2": String(extensions.contains("VK_NV_cooperative_matrix2")),
            "VK_KHR_shader_bfloat16": String(extensions.contains("VK_KHR_shader_bfloat16")),
        ]
        if let reason = unusableReason { details["unusable"] = reason }
        return DeviceInfo(backend: "vulkan", index: index, name: name, vendor: vendorName,
                          driver: "\(driverName) \(driverInfo)".trimmingCharacters(in: .whitespaces),
                          memoryBytes: deviceLocalBytes, storageType: storageType,
                          supportsFloat16: storageBuffer16BitAccess,
                          supportsCooperativeMatrix: useCooperativeMatrix,
                          subgroupSize: Int(subgroupSize), computeUnits: nil, details: details)
    }
}

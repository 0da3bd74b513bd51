import CVulkan
import TensorRuntime

/// The logical device with its one compute queue, created with exactly the features the chosen
/// kernel paths need (buffer device address and scalar layout always; 16-bit storage for the
/// fp16 path; float16 arithmetic and the Vulkan memory model for cooperative matrices).
final class VulkanDevice {
    let instance: VulkanInstance
    let caps: PhysicalDeviceCaps
    let handle: VkDevice
    let queue: VkQueue
    let queueFamily: UInt32
    let memoryProperties: VkPhysicalDeviceMemoryProperties

    init(instance: VulkanInstance, caps: PhysicalDeviceCaps, float16Storage: Bool, cooperativeMatrix: Bool) throws {
        self.instance = instance
        self.caps = caps
        guard let family = caps.computeQueueFamily else {
            throw BackendError.noDevice(backend: "vulkan", reason: "\(caps.name) has no compute queue")
        }
        queueFamily = family

        var f11 = VkPhysicalDeviceVulkan11Features()
        f11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES
        f11.storageBuffer16BitAccess = float16Storage ? 1 : 0
        var f12 = VkPhysicalDeviceVulkan12Features()
        f12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES
        f12.bufferDeviceAddress = 1
        f12.scalarBlockLayout = 1
        f12.shaderFloat16 = cooperativeMatrix ? 1 : 0
        f12.vulkanMemoryModel = cooperativeMatrix ? 1 : 0
        var fcm = CooperativeMatrixFeaturesKHR()
        fcm.cooperativeMatrix = 1
        var features = VkPhysicalDeviceFeatures2()
        features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2
        let extensions = cooperativeMatrix ? [cooperativeMatrixExtensionName] : []

        var created: VkDevice?
        var priority: Float = 1
        let result: VkResult = withUnsafeMutablePointer(to: &fcm) { cmPtr in
            f12.pNext = cooperativeMatrix ? UnsafeMutableRawPointer(cmPtr) : nil
            return withUnsafeMutablePointer(to: &f12) { f12Ptr in
                f11.pNext = UnsafeMutableRawPointer(f12Ptr)
                return withUnsafeMutablePointer(to: &f11) { f11Ptr in
                    features.pNext = UnsafeMutableRawPointer(f11Ptr)
                    return withUnsafeMutablePointer(to: &features) { featuresPtr in
                        withUnsafePointer(to: &priority) { priorityPtr in
                            var queueInfo = VkDeviceQueueCreateInfo()
                            queueInfo.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO
                            queueInfo.queueFamilyIndex = family
                            queueInfo.queueCount = 1
                            queueInfo.pQueuePriorities = priorityPtr
                            return withUnsafePointer(to: &queueInfo) { queuePtr in
                                withCStrings(extensions) { extPtrs in
                                    var info = VkDeviceCreateInfo()
                                    info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO
                                    info.pNext = UnsafeRawPointer(featuresPtr)
                                    info.queueCreateInfoCount = 1
                                    info.pQueueCreateInfos = queuePtr
                                    info.enabledExtensionCount = UInt32(extPtrs.count)
                                    info.ppEnabledExtensionNames = extPtrs.baseAddress
                                    return vkCreateDevice(caps.handle, &info, nil, &created)
                                }
                            }
                        }
                    }
                }
            }
        }
        try vkCheck(result, "vkCreateDevice(\(caps.name))")
        guard let device = created else { throw VulkanError(call: "vkCreateDevice", result: -3) }
        handle = device
        var q: VkQueue?
        vkGetDeviceQueue(device, family, 0, &q)
        guard let q else { throw VulkanError(call: "vkGetDeviceQueue", result: -3) }
        queue = q
        var memory = VkPhysicalDeviceMemoryProperties()
        vkGetPhysicalDeviceMemoryProperties(caps.handle, &memory)
        memoryProperties = memory
    }

    deinit {
        vkDeviceWaitIdle(handle)
        vkDestroyDevice(handle, nil)
    }

    /// Index of the first memory type allowed by `typeBits` having all `required` flags,
    /// preferring one that also has `preferred`.
    func memoryType(typeBits: UInt32, required: UInt32, preferred: UInt32 = 0) -> UInt32? {
        let types = withUnsafeBytes(of: memoryProperties.memoryTypes) { Array($0.bindMemory(to: VkMemoryType.self)) }
        let candidates = (0..<Int(memoryProperties.memoryTypeCount)).filter {
            typeBits & (1 << UInt32($0)) != 0 && types[$0].propertyFlags & required == required
        }
        let best = candidates.first { types[$0].propertyFlags & preferred == preferred } ?? candidates.first
        return best.map { UInt32($0) }
    }

    func memoryFlags(ofType index: UInt32) -> UInt32 {
        withUnsafeBytes(of: memoryProperties.memoryTypes) { $0.bindMemory(to: VkMemoryType.self)[Int(index)].propertyFlags }
    }
}

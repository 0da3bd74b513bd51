import CVulkan
import Foundation
import TensorRuntime

/// Shader modules and compute pipelines, built on first use and kept for the backend's life.
///
/// All kernels share one pipeline layout: no descriptor sets (tensors are reached by buffer
/// device address) and one push-constant range. Pipelines are keyed by module and
/// specialization constants (tile sizes, head dims) and created through a VkPipelineCache.
final class PipelineLibrary {
    let device: VulkanDevice
    let layout: VkPipelineLayout
    let cache: VkPipelineCache
    let pushConstantSize: UInt32
    private var modules: [String: VkShaderModule] = [:]
    private var pipelines: [String: VkPipeline] = [:]

    init(device: VulkanDevice) throws {
        self.device = device
        pushConstantSize = min(128, device.caps.maxPushConstantsSize)
        var range = VkPushConstantRange()
        range.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT.rawValue
        range.offset = 0
        range.size = pushConstantSize
        var created: VkPipelineLayout?
        let result: VkResult = withUnsafePointer(to: &range) { rangePtr in
            var info = VkPipelineLayoutCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO
            info.pushConstantRangeCount = 1
            info.pPushConstantRanges = rangePtr
            return vkCreatePipelineLayout(device.handle, &info, nil, &created)
        }
        try vkCheck(result, "vkCreatePipelineLayout")
        layout = created!
        var cacheInfo = VkPipelineCacheCreateInfo()
        cacheInfo.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO
        var createdCache: VkPipelineCache?
        try vkCheck(vkCreatePipelineCache(device.handle, &cacheInfo, nil, &createdCache), "vkCreatePipelineCache")
        cache = createdCache!
    }

    deinit {
        for p in pipelines.values { vkDestroyPipeline(device.handle, p, nil) }
        for m in modules.values { vkDestroyShaderModule(device.handle, m, nil) }
        vkDestroyPipelineCache(device.handle, cache, nil)
        vkDestroyPipelineLayout(device.handle, layout, nil)
    }

    /// The pipeline of module `name` (`<shader>.<variant>`) with specialization constants
    /// 0, 1, 2, ... set to `constants`.
    func pipeline(_ name: String, constants: [UInt32] = []) throws -> VkPipeline {
        let key = name + "|" + constants.map(String.init).joined(separator: ",")
        if let p = pipelines[key] { return p }
        let module = try shaderModule(name)
        var entries = constants.indices.map { i -> VkSpecializationMapEntry in
            VkSpecializationMapEntry(constantID: UInt32(i), offset: UInt32(4 * i), size: 4)
        }
        var values = constants
        var created: VkPipeline?
        let result: VkResult = "main".withCString { entry in
            entries.withUnsafeMutableBufferPointer { entryPtr in
                values.withUnsafeMutableBytes { valuePtr in
                    var spec = VkSpecializationInfo()
                    spec.mapEntryCount = UInt32(entryPtr.count)
                    spec.pMapEntries = UnsafePointer(entryPtr.baseAddress)
                    spec.dataSize = valuePtr.count
                    spec.pData = UnsafeRawPointer(valuePtr.baseAddress)
                    return withUnsafePointer(to: &spec) { specPtr in
                        var stage = VkPipelineShaderStageCreateInfo()
                        stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
                        stage.stage = VK_SHADER_STAGE_COMPUTE_BIT
                        stage.module = module
                        stage.pName = entry
                        stage.pSpecializationInfo = constants.isEmpty ? nil : specPtr
                        var info = VkComputePipelineCreateInfo()
                        info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
                        info.stage = stage
                        info.layout = layout
                        return vkCreateComputePipelines(device.handle, cache, 1, &info, nil, &created)
                    }
                }
            }
        }
        try vkCheck(result, "vkCreateComputePipelines(\(key))")
        pipelines[key] = created!
        return created!
    }

    private func shaderModule(_ name: String) throws -> VkShaderModule {
        if let m = modules[name] { return m }
        guard let encoded = SPIRVModules.base64[name], let data = Data(base64Encoded: encoded),
              data.count % 4 == 0 else {
            throw BackendError.invalidArgument("vulkan: no compiled SPIR-V module '\(name)' (rerun scripts/kernels/build-spirv.sh)")
        }
        var created: VkShaderModule?
        let result: VkResult = data.withUnsafeBytes { raw in
            var info = VkShaderModuleCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO
            info.codeSize = raw.count
            info.pCode = raw.baseAddress!.assumingMemoryBound(to: UInt32.self)
            return vkCreateShaderModule(device.handle, &info, nil, &created)
        }
        try vkCheck(result, "vkCreateShaderModule(\(name))")
        modules[name] = created!
        return created!
    }
}

/// Push-constant bytes in the kernels' scalar layout: buffer addresses first (8 bytes each),
/// then 32-bit integers and floats in declaration order.
struct PushConstants {
    private(set) var bytes: [UInt8] = []

    mutating func address(_ a: UInt64) { withUnsafeBytes(of: a.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: Int) {
        precondition(v >= 0 && v <= Int(UInt32.max), "push constant \(v) does not fit 32 bits")
        withUnsafeBytes(of: UInt32(v).littleEndian) { bytes.append(contentsOf: $0) }
    }
    mutating func u32s(_ vs: [Int]) { vs.forEach { u32($0) } }
    mutating func f32(_ v: Float) { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
}

import CVulkan
import TensorRuntime

/// Records dispatches into one command buffer and submits it on `submitAndWait()`.
///
/// Every command after the first is preceded by a global memory barrier (compute/transfer
/// writes before compute/transfer reads and writes), which orders the graph's data flow and
/// also protects scratch buffers reused by consecutive ops. The buffer ends with a barrier
/// that makes device writes visible to host reads of mapped memory.
final class CommandRecorder {
    let device: VulkanDevice
    private let pool: VkCommandPool
    private let commandBuffer: VkCommandBuffer
    private let fence: VkFence
    private let queryPool: VkQueryPool?
    static let queryCapacity: UInt32 = 8192
    private var recording = false
    private var needsBarrier = false
    private var boundPipeline: VkPipeline?
    private(set) var dispatchCount = 0
    private var timestampCount: UInt32 = 0
    private var queriesReset = false

    init(device: VulkanDevice) throws {
        self.device = device
        var poolInfo = VkCommandPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
        poolInfo.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT.rawValue
        poolInfo.queueFamilyIndex = device.queueFamily
        var createdPool: VkCommandPool?
        try vkCheck(vkCreateCommandPool(device.handle, &poolInfo, nil, &createdPool), "vkCreateCommandPool")
        pool = createdPool!
        var allocInfo = VkCommandBufferAllocateInfo()
        allocInfo.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
        allocInfo.commandPool = pool
        allocInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
        allocInfo.commandBufferCount = 1
        var cb: VkCommandBuffer?
        try vkCheck(vkAllocateCommandBuffers(device.handle, &allocInfo, &cb), "vkAllocateCommandBuffers")
        commandBuffer = cb!
        var fenceInfo = VkFenceCreateInfo()
        fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        var createdFence: VkFence?
        try vkCheck(vkCreateFence(device.handle, &fenceInfo, nil, &createdFence), "vkCreateFence")
        fence = createdFence!
        if device.caps.timestampsOnCompute && device.caps.timestampPeriod > 0 {
            var queryInfo = VkQueryPoolCreateInfo()
            queryInfo.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO
            queryInfo.queryType = VK_QUERY_TYPE_TIMESTAMP
            queryInfo.queryCount = CommandRecorder.queryCapacity
            var qp: VkQueryPool?
            try vkCheck(vkCreateQueryPool(device.handle, &queryInfo, nil, &qp), "vkCreateQueryPool")
            queryPool = qp
        } else {
            queryPool = nil
        }
    }

    deinit {
        vkDeviceWaitIdle(device.handle)
        if let queryPool { vkDestroyQueryPool(device.handle, queryPool, nil) }
        vkDestroyFence(device.handle, fence, nil)
        vkDestroyCommandPool(device.handle, pool, nil)
    }

    var hasPendingWork: Bool { recording }

    private func begin() throws {
        guard !recording else { return }
        var info = VkCommandBufferBeginInfo()
        info.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        info.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue
        try vkCheck(vkBeginCommandBuffer(commandBuffer, &info), "vkBeginCommandBuffer")
        recording = true
        needsBarrier = false
        boundPipeline = nil
    }

    private func barrierIfNeeded() {
        guard needsBarrier else { return }
        let stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue | VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue
        memoryBarrier(srcStages: stages, dstStages: stages,
                      srcAccess: VK_ACCESS_SHADER_WRITE_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue,
                      dstAccess: VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue
                          | VK_ACCESS_TRANSFER_READ_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue)
        needsBarrier = false
    }

    private func memoryBarrier(srcStages: UInt32, dstStages: UInt32, srcAccess: UInt32, dstAccess: UInt32) {
        var barrier = VkMemoryBarrier()
        barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        barrier.srcAccessMask = srcAccess
        barrier.dstAccessMask = dstAccess
        vkCmdPipelineBarrier(commandBuffer, srcStages, dstStages, 0, 1, &barrier, 0, nil, 0, nil)
    }

    /// Records one dispatch of `pipeline` with `push` constants over `groups` workgroups.
    func dispatch(_ pipeline: VkPipeline, layout: VkPipelineLayout, push: PushConstants,
                  groups: (Int, Int, Int)) throws {
        guard groups.0 > 0, groups.1 > 0, groups.2 > 0 else { return }
        let limit = device.caps.maxWorkGroupCount
        guard groups.0 <= Int(limit.0), groups.1 <= Int(limit.1), groups.2 <= Int(limit.2) else {
            throw BackendError.invalidArgument(
                "vulkan: dispatch \(groups) exceeds maxComputeWorkGroupCount \(limit) (the encoder must split it)")
        }
        try begin()
        barrierIfNeeded()
        if boundPipeline != pipeline {
            vkCmdBindPipeline(commandBuffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline)
            boundPipeline = pipeline
        }
        push.bytes.withUnsafeBytes { raw in
            vkCmdPushConstants(commandBuffer, layout, VK_SHADER_STAGE_COMPUTE_BIT.rawValue, 0,
                               UInt32(raw.count), raw.baseAddress)
        }
        vkCmdDispatch(commandBuffer, UInt32(groups.0), UInt32(groups.1), UInt32(groups.2))
        needsBarrier = true
        dispatchCount += 1
    }

    /// Records a buffer-to-buffer copy (staging transfers on devices without mapped tensor memory).
    func copy(from src: VkBuffer, offset srcOffset: UInt64, to dst: VkBuffer, offset dstOffset: UInt64, bytes: UInt64) throws {
        try begin()
        barrierIfNeeded()
        var region = VkBufferCopy(srcOffset: srcOffset, dstOffset: dstOffset, size: bytes)
        vkCmdCopyBuffer(commandBuffer, src, dst, 1, &region)
        needsBarrier = true
    }

    /// Records a timestamp after all work recorded so far; nil when the queue has no timestamps.
    func writeTimestamp() throws -> Int? {
        guard let queryPool, timestampCount < CommandRecorder.queryCapacity else { return nil }
        try begin()
        if !queriesReset {
            vkCmdResetQueryPool(commandBuffer, queryPool, 0, CommandRecorder.queryCapacity)
            queriesReset = true
        }
        vkCmdWriteTimestamp(commandBuffer, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queryPool, timestampCount)
        timestampCount += 1
        return Int(timestampCount - 1)
    }

    /// Seconds of the timestamps written since the last call, relative to the first.
    func readTimestamps() throws -> [Double] {
        guard let queryPool, timestampCount > 0 else { return [] }
        var ticks = [UInt64](repeating: 0, count: Int(timestampCount))
        let flags = VK_QUERY_RESULT_64_BIT.rawValue | VK_QUERY_RESULT_WAIT_BIT.rawValue
        try vkCheck(vkGetQueryPoolResults(device.handle, queryPool, 0, timestampCount, ticks.count * 8, &ticks, 8, flags),
                    "vkGetQueryPoolResults")
        timestampCount = 0
        queriesReset = false
        let period = Double(device.caps.timestampPeriod) * 1e-9
        return ticks.map { Double($0 &- ticks[0]) * period }
    }

    /// Ends the command buffer, submits it once and waits for it.
    func submitAndWait() throws {
        guard recording else { return }
        memoryBarrier(srcStages: VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue | VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue,
                      dstStages: VK_PIPELINE_STAGE_HOST_BIT.rawValue,
                      srcAccess: VK_ACCESS_SHADER_WRITE_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue,
                      dstAccess: VK_ACCESS_HOST_READ_BIT.rawValue)
        recording = false
        try vkCheck(vkEndCommandBuffer(commandBuffer), "vkEndCommandBuffer")
        var cb: VkCommandBuffer? = commandBuffer
        var submit = VkSubmitInfo()
        submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
        submit.commandBufferCount = 1
        let result: VkResult = withUnsafePointer(to: &cb) { cbPtr in
            submit.pCommandBuffers = cbPtr
            return vkQueueSubmit(device.queue, 1, &submit, fence)
        }
        try vkCheck(result, "vkQueueSubmit")
        var f: VkFence? = fence
        try vkCheck(vkWaitForFences(device.handle, 1, &f, 1, UInt64.max), "vkWaitForFences")
        try vkCheck(vkResetFences(device.handle, 1, &f), "vkResetFences")
        try vkCheck(vkResetCommandBuffer(commandBuffer, 0), "vkResetCommandBuffer")
        dispatchCount = 0
    }
}

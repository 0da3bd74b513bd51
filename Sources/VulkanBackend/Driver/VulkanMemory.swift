import CVulkan
import TensorRuntime

/// A VkBuffer bound to its own VkDeviceMemory, with its device address and, when the memory is
/// host-visible, a persistent mapping.
final class RawBuffer {
    let device: VulkanDevice
    let buffer: VkBuffer
    let memory: VkDeviceMemory
    let size: UInt64
    let address: UInt64
    let mapped: UnsafeMutableRawPointer?

    /// - Parameters:
    ///   - hostVisible: require host-visible, coherent memory (staging); otherwise prefer
    ///     device-local memory and map it only when it is also host-visible (UMA, CPU drivers).
    init(device: VulkanDevice, size: UInt64, hostVisible: Bool) throws {
        self.device = device
        self.size = size
        let usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue
            | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT.rawValue
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = size
        info.usage = usage
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        var created: VkBuffer?
        try vkCheck(vkCreateBuffer(device.handle, &info, nil, &created), "vkCreateBuffer(\(size) bytes)")
        guard let buffer = created else { throw VulkanError(call: "vkCreateBuffer", result: -3) }

        var requirements = VkMemoryRequirements()
        vkGetBufferMemoryRequirements(device.handle, buffer, &requirements)
        let hostBits = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue
        let localBit = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue
        // A discrete GPU's host-visible device-local type is a small BAR window: keep tensors in
        // plain device-local memory there. Integrated and CPU devices map their memory directly.
        let unified = device.caps.deviceType == "CPU" || device.caps.deviceType == "integrated GPU"
        let typeIndex = hostVisible
            ? device.memoryType(typeBits: requirements.memoryTypeBits, required: hostBits)
            : device.memoryType(typeBits: requirements.memoryTypeBits, required: localBit,
                                preferred: unified ? hostBits : 0)
        guard let typeIndex else {
            vkDestroyBuffer(device.handle, buffer, nil)
            throw BackendError.outOfMemory(backend: "vulkan", bytes: Int(size))
        }
        var flagsInfo = VkMemoryAllocateFlagsInfo()
        flagsInfo.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO
        flagsInfo.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT.rawValue
        var allocated: VkDeviceMemory?
        let result: VkResult = withUnsafePointer(to: &flagsInfo) { flagsPtr in
            var alloc = VkMemoryAllocateInfo()
            alloc.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
            alloc.pNext = UnsafeRawPointer(flagsPtr)
            alloc.allocationSize = requirements.size
            alloc.memoryTypeIndex = typeIndex
            return vkAllocateMemory(device.handle, &alloc, nil, &allocated)
        }
        guard result == VK_SUCCESS, let memory = allocated else {
            vkDestroyBuffer(device.handle, buffer, nil)
            if result == VK_ERROR_OUT_OF_DEVICE_MEMORY || result == VK_ERROR_OUT_OF_HOST_MEMORY {
                throw BackendError.outOfMemory(backend: "vulkan", bytes: Int(size))
            }
            throw VulkanError(call: "vkAllocateMemory(\(size) bytes)", result: result.rawValue)
        }
        do {
            try vkCheck(vkBindBufferMemory(device.handle, buffer, memory, 0), "vkBindBufferMemory")
        } catch {
            vkDestroyBuffer(device.handle, buffer, nil)
            vkFreeMemory(device.handle, memory, nil)
            throw error
        }
        var map: UnsafeMutableRawPointer?
        if device.memoryFlags(ofType: typeIndex) & hostBits == hostBits {
            try vkCheck(vkMapMemory(device.handle, memory, 0, size, 0, &map), "vkMapMemory")
        }
        var addressInfo = VkBufferDeviceAddressInfo()
        addressInfo.sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO
        addressInfo.buffer = buffer
        self.buffer = buffer
        self.memory = memory
        self.mapped = map
        self.address = vkGetBufferDeviceAddress(device.handle, &addressInfo)
    }

    deinit {
        if mapped != nil { vkUnmapMemory(device.handle, memory) }
        vkDestroyBuffer(device.handle, buffer, nil)
        vkFreeMemory(device.handle, memory, nil)
    }
}

/// One large device allocation carved into tensor buffers (first fit, neighbours coalesced on free).
final class MemoryBlock {
    let raw: RawBuffer
    private var free: [(offset: UInt64, size: UInt64)]

    init(_ raw: RawBuffer) {
        self.raw = raw
        free = [(0, raw.size)]
    }

    var isEmpty: Bool { free.count == 1 && free[0].size == raw.size }

    func allocate(_ size: UInt64) -> UInt64? {
        guard let i = free.firstIndex(where: { $0.size >= size }) else { return nil }
        let offset = free[i].offset
        if free[i].size == size { free.remove(at: i) } else { free[i] = (offset + size, free[i].size - size) }
        return offset
    }

    func release(offset: UInt64, size: UInt64) {
        let i = free.firstIndex { $0.offset > offset } ?? free.count
        free.insert((offset, size), at: i)
        if i + 1 < free.count, free[i].offset + free[i].size == free[i + 1].offset {
            free[i].size += free[i + 1].size
            free.remove(at: i + 1)
        }
        if i > 0, free[i - 1].offset + free[i - 1].size == free[i].offset {
            free[i - 1].size += free[i].size
            free.remove(at: i)
        }
    }
}

/// Sub-allocates tensor buffers from device-local blocks of `blockSize` bytes; a request larger
/// than a block gets a block of its own (up to the device's maxMemoryAllocationSize).
final class BlockAllocator {
    let device: VulkanDevice
    let blockSize: UInt64
    static let alignment: UInt64 = 256
    private var blocks: [MemoryBlock] = []

    init(device: VulkanDevice, blockSize: UInt64 = 256 << 20) {
        self.device = device
        self.blockSize = min(blockSize, device.caps.maxMemoryAllocationSize)
    }

    func allocate(bytes: UInt64) throws -> (MemoryBlock, UInt64, UInt64) {
        let size = max(BlockAllocator.alignment, (bytes + BlockAllocator.alignment - 1) / BlockAllocator.alignment * BlockAllocator.alignment)
        guard size <= device.caps.maxMemoryAllocationSize else {
            throw BackendError.invalidArgument(
                "vulkan: a buffer of \(bytes) bytes exceeds maxMemoryAllocationSize \(device.caps.maxMemoryAllocationSize) of \(device.caps.name)")
        }
        for block in blocks { if let offset = block.allocate(size) { return (block, offset, size) } }
        let block = MemoryBlock(try RawBuffer(device: device, size: max(size, blockSize), hostVisible: false))
        blocks.append(block)
        guard let offset = block.allocate(size) else { throw BackendError.outOfMemory(backend: "vulkan", bytes: Int(bytes)) }
        return (block, offset, size)
    }

    func release(block: MemoryBlock, offset: UInt64, size: UInt64) {
        block.release(offset: offset, size: size)
        // Give back blocks that emptied, except one kept warm for the next graph.
        if block.isEmpty, blocks.filter(\.isEmpty).count > 1, let i = blocks.firstIndex(where: { $0 === block }) {
            blocks.remove(at: i)
        }
    }
}

/// A tensor buffer of the Vulkan backend: a range of a memory block, addressed by device address.
public final class VulkanBuffer: DeviceBuffer {
    public let elementCount: Int
    let block: MemoryBlock
    let offset: UInt64
    let size: UInt64
    private weak var allocator: BlockAllocator?

    init(elementCount: Int, block: MemoryBlock, offset: UInt64, size: UInt64, allocator: BlockAllocator) {
        self.elementCount = elementCount
        self.block = block
        self.offset = offset
        self.size = size
        self.allocator = allocator
    }

    var address: UInt64 { block.raw.address + offset }

    deinit { allocator?.release(block: block, offset: offset, size: size) }
}

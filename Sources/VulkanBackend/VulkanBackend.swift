import CVulkan
import Foundation
import TensorRuntime

/// The Vulkan compute backend: every op of the set as a GLSL compute shader (compiled to SPIR-V
/// ahead of time and embedded), run through one compute queue.
///
/// Tensors live in device-local memory blocks and are addressed by buffer device address, so
/// there are no descriptor sets and no `maxStorageBufferRange` limit on tensor size. `encode`
/// only records into a command buffer; `synchronize()` submits the whole batch once and waits.
/// Feature paths follow the device: fp16 storage (`Options.float16`) and, on top of it,
/// cooperative-matrix GEMM where `VK_KHR_cooperative_matrix` offers 16x16x16 f16/f32.
public final class VulkanBackend: Backend {
    /// How the backend drives its device.
    public struct Options: Sendable {
        /// Enable the Khronos validation layer and collect its messages (`validationErrors`).
        /// Defaults to true when the environment sets `MEDSAM_VULKAN_VALIDATION=1`.
        public var validation: Bool
        /// Store tensors as fp16 (needs `storageBuffer16BitAccess`); arithmetic stays fp32.
        public var float16: Bool
        /// Use cooperative-matrix GEMM on the fp16 path when the device offers it
        /// (default off when the environment sets `MEDSAM_VULKAN_COOPMAT=0`).
        public var cooperativeMatrix: Bool
        /// Use subgroup arithmetic in reductions when the device offers it
        /// (default off when the environment sets `MEDSAM_VULKAN_SUBGROUPS=0`).
        public var subgroups: Bool

        public init(validation: Bool = VulkanBackend.environmentFlag("MEDSAM_VULKAN_VALIDATION") ?? false,
                    float16: Bool = false,
                    cooperativeMatrix: Bool = VulkanBackend.environmentFlag("MEDSAM_VULKAN_COOPMAT") ?? true,
                    subgroups: Bool = VulkanBackend.environmentFlag("MEDSAM_VULKAN_SUBGROUPS") ?? true) {
            self.validation = validation
            self.float16 = float16
            self.cooperativeMatrix = cooperativeMatrix
            self.subgroups = subgroups
        }
    }

    public let info: DeviceInfo
    public let options: Options

    /// `1`/`0` of an environment variable, nil when unset or anything else.
    public static func environmentFlag(_ name: String) -> Bool? {
        switch ProcessInfo.processInfo.environment[name] {
        case "1": return true
        case "0": return false
        default: return nil
        }
    }
    let instance: VulkanInstance
    let device: VulkanDevice
    let allocator: BlockAllocator
    let pipelines: PipelineLibrary
    let recorder: CommandRecorder
    let storageType: DType
    let useCooperativeMatrix: Bool
    let useSubgroups: Bool
    private var staging: RawBuffer?
    private var scratch: VulkanBuffer?

    /// Messages of the validation layer so far (empty unless `Options.validation`).
    public var validationErrors: [String] { instance.validationLog?.errors ?? [] }
    public var validationWarnings: [String] { instance.validationLog?.warnings ?? [] }

    /// Every Vulkan device with its features and limits (for `medsam devices`).
    public static func devices() throws -> [DeviceInfo] {
        let instance = try VulkanInstance(validation: false)
        let devices = try instance.physicalDevices()
        guard !devices.isEmpty else {
            throw BackendError.noDevice(backend: "vulkan", reason: "the Vulkan loader found no physical device")
        }
        return devices.enumerated().map { i, d in
            let caps = PhysicalDeviceCaps(d, index: i, instance: instance)
            return caps.deviceInfo(storageType: .float32, useCooperativeMatrix: caps.cooperativeMatrixFragment != nil)
        }
    }

    /// Opens device `deviceIndex` (as listed by `devices()`).
    public init(deviceIndex: Int = 0, options: Options = Options()) throws {
        self.options = options
        instance = try VulkanInstance(validation: options.validation)
        let physical = try instance.physicalDevices()
        guard !physical.isEmpty else {
            throw BackendError.noDevice(backend: "vulkan", reason: "the Vulkan loader found no physical device")
        }
        guard physical.indices.contains(deviceIndex) else {
            throw BackendError.invalidArgument("vulkan: device \(deviceIndex) does not exist (\(physical.count) found)")
        }
        let caps = PhysicalDeviceCaps(physical[deviceIndex], index: deviceIndex, instance: instance)
        if let reason = caps.unusableReason {
            throw BackendError.noDevice(backend: "vulkan", reason: "\(caps.name): \(reason)")
        }
        if options.float16 && !caps.storageBuffer16BitAccess {
            throw BackendError.invalidArgument("vulkan: \(caps.name) lacks storageBuffer16BitAccess; the fp16 path is unavailable")
        }
        storageType = options.float16 ? .float16 : .float32
        useCooperativeMatrix = options.float16 && options.cooperativeMatrix && caps.cooperativeMatrixFragment != nil
        useSubgroups = options.subgroups && caps.subgroupArithmeticInCompute
        device = try VulkanDevice(instance: instance, caps: caps, float16Storage: options.float16,
                                  cooperativeMatrix: useCooperativeMatrix)
        allocator = BlockAllocator(device: device)
        pipelines = try PipelineLibrary(device: device)
        recorder = try CommandRecorder(device: device)
        var info = caps.deviceInfo(storageType: storageType, useCooperativeMatrix: useCooperativeMatrix)
        info.details["path"] = (options.float16 ? "fp16 storage" : "fp32")
            + (useCooperativeMatrix ? " + cooperative matrix GEMM" : "") + (useSubgroups ? " + subgroup reductions" : "")
        self.info = info
    }

    deinit {
        try? recorder.submitAndWait()
    }

    // MARK: Buffers and transfers

    public func allocate(elementCount: Int) throws -> any DeviceBuffer {
        guard elementCount >= 0 else { throw BackendError.invalidArgument("vulkan: negative buffer size \(elementCount)") }
        let bytes = UInt64(max(elementCount, 1) * storageType.size)
        let (block, offset, size) = try allocator.allocate(bytes: bytes)
        return VulkanBuffer(elementCount: elementCount, block: block, offset: offset, size: size, allocator: allocator)
    }

    func own(_ buffer: any DeviceBuffer) throws -> VulkanBuffer {
        guard let b = buffer as? VulkanBuffer else {
            throw BackendError.invalidArgument("vulkan backend was handed a buffer of another backend (\(type(of: buffer)))")
        }
        return b
    }

    /// Device address of the first element of `ref`.
    func address(_ ref: TensorRef) throws -> UInt64 {
        try own(ref.buffer).address + UInt64(ref.offset * storageType.size)
    }

    public func upload(_ data: [Float], to ref: TensorRef) throws {
        guard data.count == ref.shape.count else {
            throw BackendError.invalidArgument("vulkan upload: \(data.count) values for a tensor of shape \(ref.shape)")
        }
        let buffer = try own(ref.buffer)
        // Work recorded earlier must see the old contents: run it first.
        try recorder.submitAndWait()
        let bytes = UInt64(data.count * storageType.size)
        let byteOffset = buffer.offset + UInt64(ref.offset * storageType.size)
        if let mapped = buffer.block.raw.mapped {
            write(data, to: mapped + Int(byteOffset))
        } else {
            let stage = try stagingBuffer(bytes: bytes)
            write(data, to: stage.mapped!)
            try recorder.copy(from: stage.buffer, offset: 0, to: buffer.block.raw.buffer, offset: byteOffset, bytes: bytes)
            try recorder.submitAndWait()
        }
    }

    public func download(_ ref: TensorRef) throws -> Tensor {
        let buffer = try own(ref.buffer)
        try recorder.submitAndWait()
        let count = ref.shape.count
        let bytes = UInt64(count * storageType.size)
        let byteOffset = buffer.offset + UInt64(ref.offset * storageType.size)
        let source: UnsafeMutableRawPointer
        if let mapped = buffer.block.raw.mapped {
            source = mapped + Int(byteOffset)
        } else {
            let stage = try stagingBuffer(bytes: bytes)
            try recorder.copy(from: buffer.block.raw.buffer, offset: byteOffset, to: stage.buffer, offset: 0, bytes: bytes)
            try recorder.submitAndWait()
            source = stage.mapped!
        }
        return Tensor(shape: ref.shape, data: read(count, from: source))
    }

    private func write(_ data: [Float], to destination: UnsafeMutableRawPointer) {
        switch storageType {
        case .float32:
            data.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        case .float16:
            let half = destination.bindMemory(to: UInt16.self, capacity: data.count)
            for i in 0..<data.count { half[i] = Float16(data[i]).bitPattern }
        }
    }

    private func read(_ count: Int, from source: UnsafeMutableRawPointer) -> [Float] {
        switch storageType {
        case .float32:
            return [Float](unsafeUninitializedCapacity: count) { out, n in
                out.baseAddress!.update(from: source.bindMemory(to: Float.self, capacity: count), count: count)
                n = count
            }
        case .float16:
            let half = source.bindMemory(to: UInt16.self, capacity: count)
            return (0..<count).map { Float(Float16(bitPattern: half[$0])) }
        }
    }

    private func stagingBuffer(bytes: UInt64) throws -> RawBuffer {
        if let staging, staging.size >= bytes { return staging }
        staging = nil
        let created = try RawBuffer(device: device, size: max(bytes, 16 << 20), hostVisible: true)
        staging = created
        return created
    }

    /// A device buffer of at least `elements` elements for intermediate results inside one op
    /// (reused; the barrier between dispatches orders its reuse).
    func scratchBuffer(elements: Int) throws -> VulkanBuffer {
        if let scratch, scratch.elementCount >= elements { return scratch }
        try recorder.submitAndWait()
        scratch = nil
        let buffer = try own(allocate(elementCount: elements))
        scratch = buffer
        return buffer
    }

    // MARK: Execution

    public func synchronize() throws { try recorder.submitAndWait() }

    public func recordTimestamp() throws -> Int? { try recorder.writeTimestamp() }

    public func resolveTimestamps() throws -> [Double] { try recorder.readTimestamps() }

    public func prepare(_ op: Op, inputs: [TensorRef], output: Shape, constants: [Bool]) throws {
        if let reason = unsupportedReason(op, inputs: inputs.map(\.shape)) {
            throw BackendError.unsupported(backend: "vulkan", op: op.name, reason: reason)
        }
    }

    /// Module name of `shader` for this backend's storage type (and subgroup reductions).
    func kernel(_ shader: String, reduction: Bool = false) -> String {
        shader + (storageType == .float16 ? ".f16" : ".f32") + (reduction && useSubgroups ? ".sg" : "")
    }

    /// Records `module` over a 1-D range of `count` items, `perGroup` per workgroup; the groups
    /// are laid out on a 2-D grid so no axis exceeds maxComputeWorkGroupCount.
    func dispatchLinear(_ module: String, constants: [UInt32] = [], push: PushConstants, count: Int,
                        perGroup: Int = 256) throws {
        guard count > 0 else { return }
        let groups = (count + perGroup - 1) / perGroup
        let maxX = Int(device.caps.maxWorkGroupCount.0)
        let x = min(groups, maxX)
        let y = (groups + x - 1) / x
        try dispatch(module, constants: constants, push: push, groups: (x, y, 1))
    }

    /// Calls `body(first, count)` for consecutive slices of `batch` that fit on the z axis of
    /// one dispatch (maxComputeWorkGroupCount[2]); a batched encoder records one dispatch per
    /// slice, at addresses shifted by `first` items.
    func forEachBatchSlice(_ batch: Int, _ body: (_ first: Int, _ count: Int) throws -> Void) rethrows {
        let maxZ = Int(device.caps.maxWorkGroupCount.2)
        var first = 0
        while first < batch {
            let count = min(maxZ, batch - first)
            try body(first, count)
            first += count
        }
    }

    func dispatch(_ module: String, constants: [UInt32] = [], push: PushConstants, groups: (Int, Int, Int)) throws {
        precondition(push.bytes.count <= Int(pipelines.pushConstantSize),
                     "\(module): \(push.bytes.count) bytes of push constants exceed \(pipelines.pushConstantSize)")
        let pipeline = try pipelines.pipeline(module, constants: constants)
        try recorder.dispatch(pipeline, layout: pipelines.layout, push: push, groups: groups)
    }
}

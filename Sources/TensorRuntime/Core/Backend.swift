/// Memory owned by a backend (a device buffer, or host memory for CPU backends).
///
/// Buffers are created only through `Backend.allocate` and are freed when released.
public protocol DeviceBuffer: AnyObject {
    /// Capacity in elements of the backend's storage type.
    var elementCount: Int { get }
}

/// A tensor living in a device buffer: `shape.count` elements starting `offset` elements in.
public struct TensorRef {
    public var buffer: any DeviceBuffer
    public var offset: Int
    public var shape: Shape

    public init(buffer: any DeviceBuffer, offset: Int = 0, shape: Shape) {
        precondition(offset >= 0 && offset + shape.count <= buffer.elementCount,
                     "TensorRef: \(shape) at offset \(offset) exceeds a buffer of \(buffer.elementCount) elements")
        self.buffer = buffer
        self.offset = offset
        self.shape = shape
    }

    /// The same memory viewed with another shape of equal element count.
    public func reshaped(_ newShape: Shape) -> TensorRef {
        precondition(newShape.count == shape.count)
        return TensorRef(buffer: buffer, offset: offset, shape: newShape)
    }
}

/// What a backend reports about the device it drives.
public struct DeviceInfo: Sendable, Codable, Equatable {
    /// `reference`, `cpu`, `opencl` or `vulkan`.
    public var backend: String
    /// Index among the devices this backend enumerates.
    public var index: Int
    public var name: String
    public var vendor: String
    public var driver: String
    /// Device memory in bytes, if known.
    public var memoryBytes: UInt64?
    /// Storage type this backend instance uses for tensors.
    public var storageType: DType
    public var supportsFloat16: Bool
    public var supportsCooperativeMatrix: Bool
    public var subgroupSize: Int?
    public var computeUnits: Int?
    /// Backend-specific limits and features, for `medsam devices`.
    public var details: [String: String]

    public init(backend: String, index: Int = 0, name: String, vendor: String = "", driver: String = "",
                memoryBytes: UInt64? = nil, storageType: DType = .float32, supportsFloat16: Bool = false,
                supportsCooperativeMatrix: Bool = false, subgroupSize: Int? = nil, computeUnits: Int? = nil,
                details: [String: String] = [:]) {
        self.backend = backend
        self.index = index
        self.name = name
        self.vendor = vendor
        self.driver = driver
        self.memoryBytes = memoryBytes
        self.storageType = storageType
        self.supportsFloat16 = supportsFloat16
        self.supportsCooperativeMatrix = supportsCooperativeMatrix
        self.subgroupSize = subgroupSize
        self.computeUnits = computeUnits
        self.details = details
    }
}

/// Errors every backend can raise. Backends add their own typed errors for driver failures.
public enum BackendError: Error, CustomStringConvertible, Equatable {
    /// The backend has no kernel for this op (or these shapes); raised at graph compile time.
    case unsupported(backend: String, op: String, reason: String)
    /// No device of this kind is present (no driver, no platform, no ICD).
    case noDevice(backend: String, reason: String)
    case outOfMemory(backend: String, bytes: Int)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .unsupported(let b, let op, let r): return "backend '\(b)' does not implement \(op): \(r)"
        case .noDevice(let b, let r): return "no \(b) device: \(r)"
        case .outOfMemory(let b, let n): return "backend '\(b)' could not allocate \(n) bytes"
        case .invalidArgument(let m): return m
        }
    }
}

/// A compute backend: allocates buffers, moves data, encodes ops and waits for them.
///
/// `encode` may be asynchronous (GPU queues); results are visible after `synchronize()`.
/// Ops are encoded in order and each sees the effects of those encoded before it.
public protocol Backend: AnyObject {
    var info: DeviceInfo { get }

    /// nil if the backend implements `op` for these input shapes, else why not.
    /// The graph compiler calls this for every node and fails the compile on any refusal.
    func unsupportedReason(_ op: Op, inputs: [Shape]) -> String?

    /// A buffer of `elementCount` elements of `info.storageType`.
    func allocate(elementCount: Int) throws -> any DeviceBuffer

    /// Copy host data into the device tensor `ref` (converting to the storage type).
    func upload(_ data: [Float], to ref: TensorRef) throws

    /// Copy a device tensor to the host (waits for pending work that writes it).
    func download(_ ref: TensorRef) throws -> Tensor

    /// Enqueue `op` reading `inputs` and writing `output` (shapes already validated).
    func encode(_ op: Op, inputs: [TensorRef], output: TensorRef) throws

    /// Enqueue a copy of `source` into `destination` (equal element counts), device to device:
    /// nothing passes through the host. The default records the backend's own copy kernel
    /// (`Op.unary(.none)`); a backend may use a native transfer instead.
    func copy(_ source: TensorRef, to destination: TensorRef) throws

    /// Wait until all encoded work has finished.
    func synchronize() throws

    /// Called once per node when a graph is compiled, after constants are uploaded: a chance to
    /// build kernels or pack weights. `constants[i]` is true where input i is a graph constant.
    func prepare(_ op: Op, inputs: [TensorRef], output: Shape, constants: [Bool]) throws

    /// Records a device timestamp after the work encoded so far; nil when unsupported
    /// (the profiler then synchronizes per node and uses the host clock).
    func recordTimestamp() throws -> Int?

    /// Seconds of the timestamps recorded since the last call, relative to the first of them.
    /// Call after `synchronize()`.
    func resolveTimestamps() throws -> [Double]
}

extension Backend {
    public func copy(_ source: TensorRef, to destination: TensorRef) throws {
        guard source.shape.count == destination.shape.count else {
            throw BackendError.invalidArgument(
                "\(info.backend) copy: source \(source.shape) and destination \(destination.shape) differ in element count")
        }
        try encode(.unary(.none), inputs: [source], output: destination.reshaped(source.shape))
    }

    public func prepare(_ op: Op, inputs: [TensorRef], output: Shape, constants: [Bool]) throws {}
    public func recordTimestamp() throws -> Int? { nil }
    public func resolveTimestamps() throws -> [Double] { [] }

    /// Allocate a buffer for `shape` and upload `tensor` into it.
    public func makeTensor(_ tensor: Tensor) throws -> TensorRef {
        let ref = TensorRef(buffer: try allocate(elementCount: max(tensor.count, 1)), shape: tensor.shape)
        try upload(tensor.data, to: ref)
        return ref
    }
}

/// Forwards everything to another backend and counts what crosses between host and device:
/// how a test proves that a pipeline keeps a tensor on the device, and how a benchmark reports
/// the bytes it moved.
///
/// Buffers are the wrapped backend's own, so device tensors of either are interchangeable with
/// the wrapped backend's kernels; graphs must be compiled for the wrapper to be counted.
public final class TransferCountingBackend: Backend {
    public let wrapped: any Backend
    /// One entry per host → device upload, with the tensor's shape.
    public private(set) var uploads: [Shape] = []
    /// One entry per device → host download, with the tensor's shape.
    public private(set) var downloads: [Shape] = []
    /// Device-to-device copies.
    public private(set) var copies: [Shape] = []

    public init(wrapping backend: any Backend) {
        self.wrapped = backend
    }

    /// Forgets what was counted so far.
    public func reset() {
        uploads = []
        downloads = []
        copies = []
    }

    public var info: DeviceInfo { wrapped.info }

    public func unsupportedReason(_ op: Op, inputs: [Shape]) -> String? {
        wrapped.unsupportedReason(op, inputs: inputs)
    }

    public func allocate(elementCount: Int) throws -> any DeviceBuffer {
        try wrapped.allocate(elementCount: elementCount)
    }

    public func upload(_ data: [Float], to ref: TensorRef) throws {
        uploads.append(ref.shape)
        try wrapped.upload(data, to: ref)
    }

    public func download(_ ref: TensorRef) throws -> Tensor {
        downloads.append(ref.shape)
        return try wrapped.download(ref)
    }

    public func encode(_ op: Op, inputs: [TensorRef], output: TensorRef) throws {
        try wrapped.encode(op, inputs: inputs, output: output)
    }

    public func copy(_ source: TensorRef, to destination: TensorRef) throws {
        copies.append(source.shape)
        try wrapped.copy(source, to: destination)
    }

    public func synchronize() throws {
        try wrapped.synchronize()
    }

    public func prepare(_ op: Op, inputs: [TensorRef], output: Shape, constants: [Bool]) throws {
        try wrapped.prepare(op, inputs: inputs, output: output, constants: constants)
    }

    public func recordTimestamp() throws -> Int? {
        try wrapped.recordTimestamp()
    }

    public func resolveTimestamps() throws -> [Double] {
        try wrapped.resolveTimestamps()
    }
}

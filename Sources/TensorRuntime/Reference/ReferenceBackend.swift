import Foundation

/// Host memory of the reference backend.
public final class ReferenceBuffer: DeviceBuffer {
    public var storage: [Float]
    public var elementCount: Int { storage.count }
    init(count: Int) { storage = [Float](repeating: 0, count: count) }
}

/// The judge: plain loops, float32 storage, float64 accumulation for long sums.
///
/// Every other backend is compared with this one, op by op (`ParityHarness`) and node by node
/// (`CompiledGraph` check mode). It is written to be obviously right, never to be fast.
/// Work happens synchronously inside `encode`.
public final class ReferenceBackend: Backend {
    public let info = DeviceInfo(backend: "reference", name: "reference (plain loops on the host)",
                                 vendor: "medsam-swift", driver: "built in")

    public init() {}

    public func unsupportedReason(_ op: Op, inputs: [Shape]) -> String? { nil }

    public func allocate(elementCount: Int) throws -> any DeviceBuffer {
        guard elementCount >= 0 else { throw BackendError.invalidArgument("reference: negative buffer size \(elementCount)") }
        // A Swift array larger than memory traps instead of failing, so refuse it up front.
        let (bytes, overflow) = elementCount.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        guard !overflow, UInt64(bytes) <= ProcessInfo.processInfo.physicalMemory else {
            throw BackendError.outOfMemory(backend: "reference", bytes: overflow ? Int.max : bytes)
        }
        return ReferenceBuffer(count: elementCount)
    }

    public func upload(_ data: [Float], to ref: TensorRef) throws {
        let buffer = try own(ref.buffer)
        precondition(data.count == ref.shape.count, "upload: \(data.count) values for \(ref.shape)")
        buffer.storage.replaceSubrange(ref.offset..<(ref.offset + data.count), with: data)
    }

    public func download(_ ref: TensorRef) throws -> Tensor {
        let buffer = try own(ref.buffer)
        return Tensor(shape: ref.shape, data: Array(buffer.storage[ref.offset..<(ref.offset + ref.shape.count)]))
    }

    public func encode(_ op: Op, inputs: [TensorRef], output: TensorRef) throws {
        let hostInputs = try inputs.map { try download($0) }
        let result = try ReferenceKernels.execute(op, inputs: hostInputs)
        guard result.shape.count == output.shape.count else {
            throw BackendError.invalidArgument("reference \(op.name): produced \(result.shape), output is \(output.shape)")
        }
        try upload(result.data, to: output)
    }

    public func synchronize() throws {}

    private func own(_ buffer: any DeviceBuffer) throws -> ReferenceBuffer {
        guard let b = buffer as? ReferenceBuffer else {
            throw BackendError.invalidArgument("reference backend was handed a buffer of another backend")
        }
        return b
    }
}

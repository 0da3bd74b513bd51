import Foundation
import TensorRuntime

/// The fast CPU backend: host buffers, OpenBLAS GEMMs, multithreaded vectorised kernels.
///
/// Work runs synchronously inside `encode`, spread over `threads` workers; `synchronize` has
/// nothing left to wait for. Results agree with `ReferenceBackend` within the float32 parity
/// thresholds and do not depend on the thread count beyond float rounding of reductions that
/// are split differently (GEMMs are split by output rows/columns, so they are identical).
public final class CPUBackend: Backend {
    public let info: DeviceInfo
    /// Worker threads used by every kernel.
    public let threads: Int
    let pool: WorkerPool
    /// One scratch arena per worker, plus one (index `threads`) for the calling thread.
    let scratch: [ScratchArena]
    /// The vector loops (GELU, exp, depthwise taps, ...) for the chosen instruction set.
    let vec: VectorKernels
    /// The instruction set the vector loops were built for.
    public var instructionSet: CPUInstructionSet { vec.instructionSet }

    /// - Parameters:
    ///   - threads: worker threads; nil uses every active core.
    ///   - instructionSet: the vector loops to use; nil picks the best this CPU runs.
    ///     Asking for one the CPU lacks falls back to the baseline (check `isSupported` first).
    public init(threads: Int? = nil, instructionSet: CPUInstructionSet? = nil) {
        let n = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        _ = BLAS.configured
        let isa = instructionSet ?? .best
        self.vec = VectorKernels(isa) ?? VectorKernels(.baseline)!
        self.threads = n
        self.pool = WorkerPool(threads: n)
        self.scratch = (0...n).map { _ in ScratchArena() }
        self.info = DeviceInfo(
            backend: "cpu", name: "CPU (\(n) thread\(n == 1 ? "" : "s"))", vendor: "host",
            driver: "OpenBLAS \(BLAS.coreName)",
            memoryBytes: ProcessInfo.processInfo.physicalMemory, storageType: .float32,
            computeUnits: ProcessInfo.processInfo.activeProcessorCount,
            details: ["threads": "\(n)", "blas": "OpenBLAS (single-threaded calls from the backend's workers)",
                      "blas kernels": BLAS.kernelSelection,
                      "simd": vec.instructionSet.rawValue])
    }

    public func unsupportedReason(_ op: Op, inputs: [Shape]) -> String? {
        do {
            _ = try op.outputShape(inputs: inputs)
        } catch {
            return "\(error)"
        }
        if case .matmul = op, inputs.contains(where: { $0.dims.contains { $0 > Int(Int32.max) } }) {
            return "a matrix extent exceeds OpenBLAS's 32-bit index range"
        }
        return nil
    }

    public func allocate(elementCount: Int) throws -> any DeviceBuffer {
        try CPUBuffer(elementCount: elementCount)
    }

    public func upload(_ data: [Float], to ref: TensorRef) throws {
        guard data.count == ref.shape.count else {
            throw BackendError.invalidArgument("cpu upload: \(data.count) values for a tensor of shape \(ref.shape)")
        }
        let dst = try pointer(ref)
        data.withUnsafeBufferPointer { src in
            if let s = src.baseAddress { dst.update(from: s, count: data.count) }
        }
    }

    public func download(_ ref: TensorRef) throws -> Tensor {
        let src = try pointer(ref)
        return Tensor(shape: ref.shape, data: Array(UnsafeBufferPointer(start: src, count: ref.shape.count)))
    }

    public func encode(_ op: Op, inputs: [TensorRef], output: TensorRef) throws {
        let shapes = inputs.map(\.shape)
        let expected = try op.outputShape(inputs: shapes)
        guard expected.count == output.shape.count else {
            throw BackendError.invalidArgument("cpu \(op.name): output holds \(output.shape.count) elements, the op produces \(expected)")
        }
        let ins = try inputs.map { HostTensor(try pointer($0), $0.shape) }
        let out = HostTensor(try pointer(output), expected)
        try execute(op, ins, out)
    }

    public func synchronize() throws {}

    /// The float pointer of a tensor held in one of this backend's buffers.
    func pointer(_ ref: TensorRef) throws -> UnsafeMutablePointer<Float> {
        guard let b = ref.buffer as? CPUBuffer else {
            throw BackendError.invalidArgument("cpu backend was handed a buffer of another backend (\(type(of: ref.buffer)))")
        }
        return b.base + ref.offset
    }

    private func execute(_ op: Op, _ x: [HostTensor], _ out: HostTensor) throws {
        switch op {
        case .matmul(let p): matmul(p, x, out)
        case .conv2d(let p): conv2d(p, x, out)
        case .convTranspose2x2: convTranspose2x2(x, out)
        case .layerNorm(let axis, let eps): layerNorm(axis: axis, eps: eps, x, out)
        case .softmax: softmax(x[0], out)
        case .attention(let p): attention(p, x, out)
        case .unary(let a): unary(a, x[0], out)
        case .binary(let k): binary(k, x[0], x[1], out)
        case .permute(let perm): permute(perm, x[0], out)
        case .broadcast: broadcast(x[0], out)
        case .reshape: copy(x[0], out)
        case .windowPartition(let ws): windowPartition(ws, x[0], out)
        case .windowUnpartition(let ws, _, _): windowUnpartition(ws, x[0], out)
        case .pad(let before, _): pad(before, x[0], out)
        case .slice(let start, _): slice(start, x[0], out)
        case .resizeBilinear(_, _, let aa): resizeBilinear(antialias: aa, x[0], out)
        case .concat(let axis): concat(axis, x, out)
        case .fourierFeatures: fourierFeatures(x[0], x[1], out)
        }
    }
}

/// A tensor as the kernels see it: a float pointer and a row-major shape.
struct HostTensor {
    let ptr: UnsafeMutablePointer<Float>
    let shape: Shape
    init(_ ptr: UnsafeMutablePointer<Float>, _ shape: Shape) {
        self.ptr = ptr
        self.shape = shape
    }
    var count: Int { shape.count }
    var const: UnsafePointer<Float> { UnsafePointer(ptr) }
}

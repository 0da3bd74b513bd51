import COpenCL
import TensorRuntime

extension OpenCLBackend {
    /// The most axes the strided kernels take (they receive shapes as OpenCL `int8`).
    static let maxRank = 8

    public func unsupportedReason(_ op: Op, inputs: [Shape]) -> String? {
        guard let out = try? op.outputShape(inputs: inputs) else { return "invalid input shapes \(inputs)" }
        if (inputs + [out]).contains(where: { $0.count >= Int(Int32.max) }) {
            return "tensors of 2^31 or more elements exceed the kernels' 32-bit indexing"
        }
        switch op {
        case .binary, .permute, .broadcast, .pad, .slice, .concat:
            if out.rank > Self.maxRank { return "rank \(out.rank) exceeds \(Self.maxRank)" }
        case .attention(let p):
            if p.headDim > Self.maxHeadDim { return "head dim \(p.headDim) exceeds \(Self.maxHeadDim) (registers per query)" }
        default:
            break
        }
        return nil
    }

    public func prepare(_ op: Op, inputs: [TensorRef], output: Shape, constants: [Bool]) throws {
        // Compile the kernels now so the first run of a graph does not pay for it.
        try encodeOrBuild(op, inputs: inputs, output: nil, outputShape: output)
    }

    public func encode(_ op: Op, inputs: [TensorRef], output: TensorRef) throws {
        try encodeOrBuild(op, inputs: inputs, output: output, outputShape: output.shape)
    }

    /// With `output == nil` only builds the kernels the op needs (prepare); otherwise enqueues.
    private func encodeOrBuild(_ op: Op, inputs: [TensorRef], output: TensorRef?, outputShape: Shape) throws {
        if let reason = unsupportedReason(op, inputs: inputs.map(\.shape)) {
            throw BackendError.unsupported(backend: "opencl", op: op.name, reason: reason)
        }
        let plan = OpLaunch(backend: self, inputs: inputs, output: output)
        switch op {
        case .matmul(let p): try encodeMatMul(p, plan)
        case .conv2d(let p): try encodeConv2D(p, plan)
        case .convTranspose2x2: try encodeConvTranspose(plan)
        case .layerNorm(let axis, let eps): try encodeLayerNorm(axis: axis, eps: eps, plan)
        case .softmax: try encodeSoftmax(plan)
        case .attention(let p): try encodeAttention(p, plan)
        case .unary(let act): try encodeUnary(act, plan)
        case .binary(let kind): try encodeBinary(kind, plan, outputShape: outputShape)
        case .permute(let perm): try encodePermute(perm, plan)
        case .broadcast(let target): try encodeBroadcast(target, plan)
        case .reshape: try encodeUnary(.none, plan)
        case .windowPartition(let ws): try encodeWindowPartition(ws, plan, outputShape: outputShape)
        case .windowUnpartition(let ws, let h, let w): try encodeWindowUnpartition(ws, h, w, plan)
        case .pad(let before, _): try encodePad(before, plan, outputShape: outputShape)
        case .slice(let start, let size): try encodeSlice(start, size, plan)
        case .resizeBilinear(let h, let w, let aa): try encodeResize(h, w, aa, plan)
        case .concat(let axis): try encodeConcat(axis, plan, outputShape: outputShape)
        case .fourierFeatures: try encodeFourier(plan)
        }
    }
}

/// One op's buffers, and the launch that either enqueues or (in prepare) only builds.
struct OpLaunch {
    let backend: OpenCLBackend
    let inputs: [TensorRef]
    let output: TensorRef?

    var building: Bool { output == nil }

    /// Input i as (buffer, offset) kernel arguments.
    func input(_ i: Int) throws -> [KernelArg] {
        [.buffer(try backend.mem(inputs[i])), .int(inputs[i].offset)]
    }

    /// The output as (buffer, offset) kernel arguments; in prepare, a placeholder input.
    func out() throws -> [KernelArg] {
        guard let output else { return try input(0) }
        return [.buffer(try backend.mem(output)), .int(output.offset)]
    }

    /// Gets the kernel (building it if needed) and enqueues it unless only preparing.
    func run(_ files: [String], _ name: String, defines: [String: Int] = [:],
             global: [Int], local: [Int]? = nil, _ args: @autoclosure () throws -> [KernelArg]) throws {
        let k = try backend.kernel(files, name, defines: defines)
        if building { return }
        try backend.cl.launch(k, name: name, global: global, local: local, try args())
    }
}

extension Activation {
    /// The ACT_* code of common.cl.
    var code: Int {
        switch self {
        case .none: return 0
        case .relu: return 1
        case .gelu: return 2
        case .sigmoid: return 3
        }
    }
}

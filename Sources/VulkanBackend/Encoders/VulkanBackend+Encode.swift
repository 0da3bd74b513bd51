import TensorRuntime

/// Kernels index tensors with up to this many axes (shapes are padded with leading 1s).
let maxKernelRank = 6

extension VulkanBackend {
    public func unsupportedReason(_ op: Op, inputs: [Shape]) -> String? {
        let rankLimited: Bool
        switch op {
        case .binary, .permute, .broadcast, .pad, .slice, .concat: rankLimited = true
        default: rankLimited = false
        }
        if rankLimited, let s = inputs.first(where: { $0.rank > maxKernelRank }) {
            return "tensors of rank \(s.rank) exceed the kernels' \(maxKernelRank) axes"
        }
        if case .broadcast(let target) = op, target.rank > maxKernelRank {
            return "tensors of rank \(target.rank) exceed the kernels' \(maxKernelRank) axes"
        }
        if case .attention(let p) = op, p.headDim > AttentionTiling.maxHeadDim {
            return "head dim \(p.headDim) exceeds \(AttentionTiling.maxHeadDim)"
        }
        if let count = (try? op.outputShape(inputs: inputs))?.count, count > Int(UInt32.max) {
            return "\(count) output elements exceed 32-bit indexing"
        }
        return nil
    }

    public func encode(_ op: Op, inputs: [TensorRef], output: TensorRef) throws {
        if let reason = unsupportedReason(op, inputs: inputs.map(\.shape)) {
            throw BackendError.unsupported(backend: "vulkan", op: op.name, reason: reason)
        }
        guard output.shape.count > 0 else { return }
        switch op {
        case .matmul(let p): try encodeMatMul(p, inputs, output)
        case .conv2d(let p): try encodeConv2D(p, inputs, output)
        case .convTranspose2x2: try encodeConvTranspose2x2(inputs, output)
        case .layerNorm(let axis, let eps): try encodeLayerNorm(axis: axis, eps: eps, inputs, output)
        case .softmax: try encodeSoftmax(inputs[0], output)
        case .attention(let p): try encodeAttention(p, inputs, output)
        case .unary(let a): try encodeUnary(a, inputs[0], output)
        case .binary(let k): try encodeBinary(k, inputs[0], inputs[1], output)
        case .permute(let perm): try encodePermute(perm, inputs[0], output)
        case .broadcast: try encodeBroadcast(inputs[0], output)
        case .reshape: try encodeCopyIfNeeded(inputs[0], output)
        case .windowPartition(let ws): try encodeWindow(partition: true, window: ws, inputs[0], output)
        case .windowUnpartition(let ws, _, _): try encodeWindow(partition: false, window: ws, inputs[0], output)
        case .pad(let before, _): try encodePad(before: before, inputs[0], output)
        case .slice(let start, _): try encodeSlice(start: start, inputs[0], output)
        case .resizeBilinear(_, _, let aa): try encodeResize(antialias: aa, inputs[0], output)
        case .concat(let axis): try encodeConcat(axis: axis, inputs, output)
        case .fourierFeatures: try encodeFourier(inputs[0], inputs[1], output)
        }
    }
}

/// Kernel code of an activation (see `activate` in Kernels/vulkan/common.glsl).
func activationCode(_ a: Activation) -> Int {
    switch a {
    case .none: return 0
    case .relu: return 1
    case .gelu: return 2
    case .sigmoid: return 3
    }
}

/// `dims` padded with leading 1s to `maxKernelRank` axes.
func padDims(_ dims: [Int], with value: Int = 1) -> [Int] {
    [Int](repeating: value, count: maxKernelRank - dims.count) + dims
}

/// The reference backend's kernels: one plain, obviously right implementation per `Op` case.
///
/// Storage is float32; every long sum (GEMM and conv dot products, norm statistics, softmax
/// denominators, attention) and every activation is evaluated in float64 and rounded once.
/// `Op.outputShape` validates the inputs first, so a kernel only runs on well-formed shapes.
public enum ReferenceKernels {
    /// Runs `op` on host tensors and returns its output, or throws the op's `ShapeError`.
    public static func execute(_ op: Op, inputs: [Tensor]) throws -> Tensor {
        let shape = try op.outputShape(inputs: inputs.map(\.shape))
        switch op {
        case .matmul(let p):
            return ReferenceLinear.matmul(p, inputs, out: shape)
        case .conv2d(let p):
            return ReferenceLinear.conv2d(p, inputs, out: shape)
        case .convTranspose2x2:
            return ReferenceLinear.convTranspose2x2(inputs, out: shape)
        case .layerNorm(let axis, let eps):
            return ReferenceNormalization.layerNorm(axis: axis, eps: eps, inputs, out: shape)
        case .softmax:
            return ReferenceNormalization.softmax(inputs[0])
        case .attention(let p):
            return ReferenceAttention.attention(p, inputs, out: shape)
        case .unary(let a):
            return ReferenceElementwise.unary(a, inputs[0])
        case .binary(let kind):
            return ReferenceElementwise.binary(kind, inputs[0], inputs[1], out: shape)
        case .permute(let perm):
            return ReferenceDataMovement.permute(inputs[0], perm, out: shape)
        case .broadcast:
            return ReferenceElementwise.broadcast(inputs[0], to: shape)
        case .reshape:
            return Tensor(shape: shape, data: inputs[0].data)
        case .windowPartition(let ws):
            return ReferenceDataMovement.windowPartition(inputs[0], window: ws, out: shape)
        case .windowUnpartition(let ws, _, _):
            return ReferenceDataMovement.windowUnpartition(inputs[0], window: ws, out: shape)
        case .pad(let before, _):
            return ReferenceDataMovement.pad(inputs[0], before: before, out: shape)
        case .slice(let start, _):
            return ReferenceDataMovement.slice(inputs[0], start: start, out: shape)
        case .resizeBilinear(let h, let w, let aa):
            return ReferenceResize.resize(inputs[0], height: h, width: w, antialias: aa, out: shape)
        case .concat(let axis):
            return ReferenceDataMovement.concat(inputs, axis: axis, out: shape)
        case .fourierFeatures:
            return ReferenceElementwise.fourierFeatures(inputs[0], inputs[1], out: shape)
        }
    }
}

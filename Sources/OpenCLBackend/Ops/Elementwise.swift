import TensorRuntime

extension OpenCLBackend {
    func encodeUnary(_ act: Activation, _ l: OpLaunch) throws {
        let n = l.inputs[0].shape.count
        try l.run(["elementwise"], "unary", global: [n], local: nil,
                  try l.input(0) + l.out() + [.int(n), .int(act.code)])
    }

    func encodeBinary(_ kind: BinaryKind, _ l: OpLaunch, outputShape: Shape) throws {
        let n = outputShape.count
        let sa = Self.broadcastStrides(l.inputs[0].shape, to: outputShape)
        let sb = Self.broadcastStrides(l.inputs[1].shape, to: outputShape)
        try l.run(["elementwise"], "binary", global: [n],
                  try l.input(0) + l.input(1) + l.out()
                      + [.int(n), .int(outputShape.rank), .int8(outputShape.dims), .int8(sa), .int8(sb),
                         .int(kind.kernelCode)])
    }

    func encodeFourier(_ l: OpLaunch) throws {
        let rows = l.inputs[0].shape.count / 2, f = l.inputs[1].shape[1]
        try l.run(["elementwise"], "fourier_features", global: [rows * 2 * f],
                  try l.input(0) + l.input(1) + l.out() + [.int(rows), .int(f)])
    }

    /// Strides of `shape` per axis of `target` (ranks aligned at the right), 0 where broadcast.
    static func broadcastStrides(_ shape: Shape, to target: Shape) -> [Int] {
        let strides = shape.strides
        let lead = target.rank - shape.rank
        return (0..<target.rank).map { i in
            i < lead || shape[i - lead] == 1 ? 0 : strides[i - lead]
        }
    }
}

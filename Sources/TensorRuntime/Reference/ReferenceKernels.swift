/// TEMPORARY scaffold, replaced by the full reference kernels.
public enum ReferenceKernels {
    public static func execute(_ op: Op, inputs: [Tensor]) throws -> Tensor {
        let shape = try op.outputShape(inputs: inputs.map(\.shape))
        switch op {
        case .binary(.add):
            precondition(inputs[0].shape == inputs[1].shape)
            return Tensor(shape: shape, data: zip(inputs[0].data, inputs[1].data).map { $0 + $1 })
        case .unary(.relu):
            return Tensor(shape: shape, data: inputs[0].data.map { max($0, 0) })
        default:
            throw BackendError.unsupported(backend: "reference", op: op.name, reason: "scaffold")
        }
    }
}

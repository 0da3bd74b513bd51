import TensorRuntime

extension VulkanBackend {
    func encodeUnary(_ a: Activation, _ x: TensorRef, _ y: TensorRef) throws {
        var pc = PushConstants()
        pc.address(try address(x)); pc.address(try address(y))
        pc.u32(y.shape.count); pc.u32(activationCode(a))
        try dispatchLinear(kernel("unary"), push: pc, count: y.shape.count)
    }

    func encodeBinary(_ kind: BinaryKind, _ a: TensorRef, _ b: TensorRef, _ y: TensorRef) throws {
        let dims = padDims(y.shape.dims)
        var pc = PushConstants()
        pc.address(try address(a)); pc.address(try address(b)); pc.address(try address(y))
        pc.u32(y.shape.count); pc.u32(kind.kernelCode)
        pc.u32s(dims)
        pc.u32s(broadcastStrides(a.shape, to: dims))
        pc.u32s(broadcastStrides(b.shape, to: dims))
        try dispatchLinear(kernel("binary"), push: pc, count: y.shape.count)
    }

    func encodeFourier(_ coords: TensorRef, _ g: TensorRef, _ y: TensorRef) throws {
        var pc = PushConstants()
        pc.address(try address(coords)); pc.address(try address(g)); pc.address(try address(y))
        pc.u32(y.shape.count); pc.u32(g.shape[1])
        try dispatchLinear(kernel("fourier"), push: pc, count: y.shape.count)
    }

    func encodeResize(antialias: Bool, _ x: TensorRef, _ y: TensorRef) throws {
        let h = x.shape[-2], w = x.shape[-1], oh = y.shape[-2], ow = y.shape[-1]
        var pc = PushConstants()
        pc.address(try address(x)); pc.address(try address(y))
        pc.u32(y.shape.count); pc.u32s([h, w, oh, ow]); pc.u32(antialias ? 1 : 0)
        pc.f32(Float(h) / Float(oh)); pc.f32(Float(w) / Float(ow))
        try dispatchLinear(kernel("resize"), push: pc, count: y.shape.count)
    }
}

/// Element strides of `shape` seen through output axes `dims` (ranks aligned at the right,
/// 0 where `shape` has extent 1 and broadcasts).
func broadcastStrides(_ shape: Shape, to dims: [Int]) -> [Int] {
    let strides = shape.strides
    let lead = dims.count - shape.rank
    return dims.indices.map { i in
        let axis = i - lead
        guard axis >= 0, shape[axis] != 1 else { return 0 }
        return strides[axis]
    }
}

import TensorRuntime

extension VulkanBackend {
    /// One strided-copy dispatch: y[Σ c·yStrides] = x[Σ c·xStrides] over `dims`.
    func encodeStridedCopy(x: UInt64, y: UInt64, dims: [Int], xStrides: [Int], yStrides: [Int]) throws {
        let count = dims.reduce(1, *)
        guard count > 0 else { return }
        var pc = PushConstants()
        pc.address(x); pc.address(y)
        pc.u32(count)
        pc.u32s(padDims(dims)); pc.u32s(padDims(xStrides, with: 0)); pc.u32s(padDims(yStrides, with: 0))
        try dispatchLinear(kernel("copy"), push: pc, count: count)
    }

    func encodeCopyIfNeeded(_ x: TensorRef, _ y: TensorRef) throws {
        let src = try address(x), dst = try address(y)
        guard src != dst else { return }
        try encodeStridedCopy(x: src, y: dst, dims: [y.shape.count], xStrides: [1], yStrides: [1])
    }

    func encodePermute(_ perm: [Int], _ x: TensorRef, _ y: TensorRef) throws {
        let inStrides = x.shape.strides
        try encodeStridedCopy(x: try address(x), y: try address(y), dims: y.shape.dims,
                              xStrides: perm.map { inStrides[$0] }, yStrides: y.shape.strides)
    }

    func encodeBroadcast(_ x: TensorRef, _ y: TensorRef) throws {
        try encodeStridedCopy(x: try address(x), y: try address(y), dims: y.shape.dims,
                              xStrides: broadcastStrides(x.shape, to: y.shape.dims), yStrides: y.shape.strides)
    }

    func encodeSlice(start: [Int], _ x: TensorRef, _ y: TensorRef) throws {
        let strides = x.shape.strides
        let first = zip(start, strides).reduce(0) { $0 + $1.0 * $1.1 }
        try encodeStridedCopy(x: try address(x) + UInt64(first * storageType.size), y: try address(y),
                              dims: y.shape.dims, xStrides: strides, yStrides: y.shape.strides)
    }

    func encodeConcat(axis: Int, _ inputs: [TensorRef], _ y: TensorRef) throws {
        let outStrides = y.shape.strides
        var offset = 0
        let base = try address(y)
        for x in inputs {
            try encodeStridedCopy(x: try address(x), y: base + UInt64(offset * outStrides[axis] * storageType.size),
                                  dims: x.shape.dims, xStrides: x.shape.strides, yStrides: outStrides)
            offset += x.shape[axis]
        }
    }

    func encodePad(before: [Int], _ x: TensorRef, _ y: TensorRef) throws {
        var pc = PushConstants()
        pc.address(try address(x)); pc.address(try address(y))
        pc.u32(y.shape.count)
        pc.u32s(padDims(y.shape.dims)); pc.u32s(padDims(x.shape.dims)); pc.u32s(padDims(before, with: 0))
        try dispatchLinear(kernel("pad"), push: pc, count: y.shape.count)
    }

    func encodeWindow(partition: Bool, window ws: Int, _ x: TensorRef, _ y: TensorRef) throws {
        // Spatial extent and channels of the [B, H, W, C] side.
        let image = partition ? x.shape : y.shape
        let ny = (image[1] + ws - 1) / ws, nx = (image[2] + ws - 1) / ws
        var pc = PushConstants()
        pc.address(try address(x)); pc.address(try address(y))
        pc.u32(y.shape.count); pc.u32(partition ? 0 : 1); pc.u32(ws)
        pc.u32s([image[1], image[2], image[3], ny, nx])
        try dispatchLinear(kernel("window"), push: pc, count: y.shape.count)
    }
}

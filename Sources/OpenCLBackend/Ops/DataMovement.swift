import TensorRuntime

extension OpenCLBackend {
    /// Enqueues `strided_copy` over `dims`, reading x with strides `xs` from `xo`,
    /// writing y with strides `ys` from `yo` (offsets in elements, already absolute).
    private func stridedCopy(_ l: OpLaunch, input: Int, dims: [Int], xs: [Int], xo: Int, ys: [Int], yo: Int) throws {
        let n = dims.reduce(1, *)
        try l.run(["movement"], "strided_copy", global: [n],
                  [.buffer(try mem(l.inputs[input])), .int(xo), l.out()[0], .int(yo),
                   .int(n), .int(dims.count), .int8(dims), .int8(xs), .int8(ys)])
    }

    private func outOffset(_ l: OpLaunch) -> Int { l.output?.offset ?? 0 }

    func encodePermute(_ perm: [Int], _ l: OpLaunch) throws {
        let x = l.inputs[0].shape, s = x.strides
        let dims = perm.map { x[$0] }
        try stridedCopy(l, input: 0, dims: dims, xs: perm.map { s[$0] }, xo: l.inputs[0].offset,
                        ys: Shape(dims).strides, yo: outOffset(l))
    }

    func encodeBroadcast(_ target: Shape, _ l: OpLaunch) throws {
        try stridedCopy(l, input: 0, dims: target.dims, xs: Self.broadcastStrides(l.inputs[0].shape, to: target),
                        xo: l.inputs[0].offset, ys: target.strides, yo: outOffset(l))
    }

    func encodeSlice(_ start: [Int], _ size: [Int], _ l: OpLaunch) throws {
        let s = l.inputs[0].shape.strides
        let xo = l.inputs[0].offset + zip(start, s).reduce(0) { $0 + $1.0 * $1.1 }
        try stridedCopy(l, input: 0, dims: size, xs: s, xo: xo, ys: Shape(size).strides, yo: outOffset(l))
    }

    func encodeConcat(_ axis: Int, _ l: OpLaunch, outputShape: Shape) throws {
        let ys = outputShape.strides
        var along = 0
        for (i, t) in l.inputs.enumerated() {
            try stridedCopy(l, input: i, dims: t.shape.dims, xs: t.shape.strides, xo: t.offset,
                            ys: ys, yo: outOffset(l) + along * ys[axis])
            along += t.shape[axis]
        }
    }

    func encodePad(_ before: [Int], _ l: OpLaunch, outputShape: Shape) throws {
        let n = outputShape.count
        try l.run(["movement"], "pad", global: [n],
                  try l.input(0) + l.out()
                      + [.int(n), .int(outputShape.rank), .int8(outputShape.dims), .int8(l.inputs[0].shape.dims), .int8(before)])
    }

    func encodeWindowPartition(_ ws: Int, _ l: OpLaunch, outputShape: Shape) throws {
        let x = l.inputs[0].shape
        let ny = (x[1] + ws - 1) / ws, nx = (x[2] + ws - 1) / ws
        let n = outputShape.count
        try l.run(["movement"], "window_partition", global: [n],
                  try l.input(0) + l.out() + [.int(n), .int(x[1]), .int(x[2]), .int(x[3]), .int(ws), .int(ny), .int(nx)])
    }

    func encodeWindowUnpartition(_ ws: Int, _ h: Int, _ w: Int, _ l: OpLaunch) throws {
        let x = l.inputs[0].shape
        let ny = (h + ws - 1) / ws, nx = (w + ws - 1) / ws
        let n = (x[0] / (ny * nx)) * h * w * x[2]
        try l.run(["movement"], "window_unpartition", global: [n],
                  try l.input(0) + l.out() + [.int(n), .int(h), .int(w), .int(x[2]), .int(ws), .int(ny), .int(nx)])
    }

    func encodeResize(_ h: Int, _ w: Int, _ antialias: Bool, _ l: OpLaunch) throws {
        let x = l.inputs[0].shape
        let inH = x[-2], inW = x[-1]
        let n = x.count / (inH * inW) * h * w
        // PyTorch's antialiased path differs from plain bilinear only when an axis shrinks.
        let aaY = antialias && inH > h, aaX = antialias && inW > w
        try l.run(["resize"], "resize_bilinear", global: [n],
                  try l.input(0) + l.out()
                      + [.int(n), .int(inH), .int(inW), .int(h), .int(w), .int(aaY ? 1 : 0), .int(aaX ? 1 : 0)])
    }
}

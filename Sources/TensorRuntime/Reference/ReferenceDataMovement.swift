/// Layout ops of the reference backend: every output element is one input element (or a zero).
enum ReferenceDataMovement {
    static func permute(_ x: Tensor, _ perm: [Int], out shape: Shape) -> Tensor {
        let inStrides = x.shape.strides
        let strides = perm.map { inStrides[$0] }
        return Tensor(shape: shape, data: RefIndex.offsets(shape, strides: strides).map { x.data[$0] })
    }

    /// `[B, H, W, C]` → `[B·nY·nX, ws², C]`, zero-padded bottom/right.
    static func windowPartition(_ x: Tensor, window ws: Int, out shape: Shape) -> Tensor {
        let batch = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3]
        let ny = (h + ws - 1) / ws, nx = (w + ws - 1) / ws
        var out = [Float](repeating: 0, count: shape.count)
        for b in 0..<batch {
            for wy in 0..<ny {
                for wx in 0..<nx {
                    let window = (b * ny + wy) * nx + wx
                    for ty in 0..<ws {
                        for tx in 0..<ws {
                            let y = wy * ws + ty, xx = wx * ws + tx
                            if y >= h || xx >= w { continue }
                            let src = ((b * h + y) * w + xx) * c
                            let dst = (window * ws * ws + ty * ws + tx) * c
                            for ch in 0..<c { out[dst + ch] = x.data[src + ch] }
                        }
                    }
                }
            }
        }
        return Tensor(shape: shape, data: out)
    }

    /// `[B·nY·nX, ws², C]` → `[B, height, width, C]`, dropping the padded tokens.
    static func windowUnpartition(_ x: Tensor, window ws: Int, out shape: Shape) -> Tensor {
        let batch = shape[0], h = shape[1], w = shape[2], c = shape[3]
        let ny = (h + ws - 1) / ws, nx = (w + ws - 1) / ws
        var out = [Float](repeating: 0, count: shape.count)
        for b in 0..<batch {
            for y in 0..<h {
                for xx in 0..<w {
                    let window = (b * ny + y / ws) * nx + xx / ws
                    let src = (window * ws * ws + (y % ws) * ws + xx % ws) * c
                    let dst = ((b * h + y) * w + xx) * c
                    for ch in 0..<c { out[dst + ch] = x.data[src + ch] }
                }
            }
        }
        return Tensor(shape: shape, data: out)
    }

    static func pad(_ x: Tensor, before: [Int], out shape: Shape) -> Tensor {
        var out = [Float](repeating: 0, count: shape.count)
        // Walk the input; each element lands at its index shifted by `before`.
        let outStrides = shape.strides
        let shift = zip(before, outStrides).reduce(0) { $0 + $1.0 * $1.1 }
        RefIndex.forEach(x.shape, strides: outStrides) { flat, off in out[shift + off] = x.data[flat] }
        return Tensor(shape: shape, data: out)
    }

    static func slice(_ x: Tensor, start: [Int], out shape: Shape) -> Tensor {
        let inStrides = x.shape.strides
        let base = zip(start, inStrides).reduce(0) { $0 + $1.0 * $1.1 }
        return Tensor(shape: shape, data: RefIndex.offsets(shape, strides: inStrides).map { x.data[base + $0] })
    }

    static func concat(_ inputs: [Tensor], axis: Int, out shape: Shape) -> Tensor {
        let outer = shape.dims[..<axis].reduce(1, *)
        let inner = shape.dims[(axis + 1)...].reduce(1, *)
        var out: [Float] = []
        out.reserveCapacity(shape.count)
        for o in 0..<outer {
            for t in inputs {
                let chunk = t.shape[axis] * inner
                out.append(contentsOf: t.data[(o * chunk)..<((o + 1) * chunk)])
            }
        }
        return Tensor(shape: shape, data: out)
    }
}

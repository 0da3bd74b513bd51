/// GEMM and convolutions of the reference backend: float64 dot products, activation in float64,
/// one rounding to float32 per output element.
enum ReferenceLinear {
    static func matmul(_ p: MatMulParams, _ inputs: [Tensor], out shape: Shape) -> Tensor {
        let a = inputs[0], b = inputs[1]
        let m = shape[-2], n = shape[-1]
        let k = p.transposeA ? a.shape[-2] : a.shape[-1]
        let batch = shape.count / max(m * n, 1)
        // Element (row, col) of op(A) and op(B) within one batch matrix.
        let aRowStride = p.transposeA ? 1 : k, aColStride = p.transposeA ? m : 1
        let bRowStride = p.transposeB ? 1 : n, bColStride = p.transposeB ? k : 1
        let bBatchStride = b.shape.rank == 2 ? 0 : k * n
        let bias: [Float]? = p.hasBias ? inputs[2].data : nil
        var out = [Float](repeating: 0, count: shape.count)
        a.data.withUnsafeBufferPointer { A in
            b.data.withUnsafeBufferPointer { B in
                for bi in 0..<batch {
                    let aBase = bi * m * k, bBase = bi * bBatchStride, oBase = bi * m * n
                    for i in 0..<m {
                        for j in 0..<n {
                            var acc = 0.0
                            for t in 0..<k {
                                acc += Double(A[aBase + i * aRowStride + t * aColStride])
                                    * Double(B[bBase + t * bRowStride + j * bColStride])
                            }
                            if let bias { acc += Double(bias[j]) }
                            out[oBase + i * n + j] = Float(p.activation.apply(acc))
                        }
                    }
                }
            }
        }
        return Tensor(shape: shape, data: out)
    }

    static func conv2d(_ p: Conv2DParams, _ inputs: [Tensor], out shape: Shape) -> Tensor {
        let x = inputs[0], w = inputs[1]
        let batch = x.shape[0], cin = x.shape[1], h = x.shape[2], wd = x.shape[3]
        let cout = w.shape[0], kh = w.shape[2], kw = w.shape[3]
        let oh = shape[2], ow = shape[3]
        let cinPerGroup = cin / p.groups, coutPerGroup = cout / p.groups
        let bias: [Float]? = p.hasBias ? inputs[2].data : nil
        var out = [Float](repeating: 0, count: shape.count)
        x.data.withUnsafeBufferPointer { X in
            w.data.withUnsafeBufferPointer { W in
                for b in 0..<batch {
                    for o in 0..<cout {
                        let g = o / coutPerGroup
                        for oy in 0..<oh {
                            for ox in 0..<ow {
                                var acc = 0.0
                                for ci in 0..<cinPerGroup {
                                    let c = g * cinPerGroup + ci
                                    for ky in 0..<kh {
                                        let iy = oy * p.strideY - p.padY + ky
                                        if iy < 0 || iy >= h { continue }
                                        for kx in 0..<kw {
                                            let ix = ox * p.strideX - p.padX + kx
                                            if ix < 0 || ix >= wd { continue }
                                            acc += Double(X[((b * cin + c) * h + iy) * wd + ix])
                                                * Double(W[((o * cinPerGroup + ci) * kh + ky) * kw + kx])
                                        }
                                    }
                                }
                                if let bias { acc += Double(bias[o]) }
                                out[((b * cout + o) * oh + oy) * ow + ox] = Float(p.activation.apply(acc))
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: shape, data: out)
    }

    /// out[o, 2y+i, 2x+j] = b[o] + Σc x[c,y,x]·w[c,o,i,j].
    static func convTranspose2x2(_ inputs: [Tensor], out shape: Shape) -> Tensor {
        let x = inputs[0], w = inputs[1], bias = inputs[2].data
        let batch = x.shape[0], cin = x.shape[1], h = x.shape[2], wd = x.shape[3]
        let cout = shape[1], oh = shape[2], ow = shape[3]
        var out = [Float](repeating: 0, count: shape.count)
        x.data.withUnsafeBufferPointer { X in
            w.data.withUnsafeBufferPointer { W in
                for b in 0..<batch {
                    for o in 0..<cout {
                        for oy in 0..<oh {
                            for ox in 0..<ow {
                                let y = oy / 2, i = oy % 2, xx = ox / 2, j = ox % 2
                                var acc = Double(bias[o])
                                for c in 0..<cin {
                                    acc += Double(X[((b * cin + c) * h + y) * wd + xx])
                                        * Double(W[((c * cout + o) * 2 + i) * 2 + j])
                                }
                                out[((b * cout + o) * oh + oy) * ow + ox] = Float(acc)
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: shape, data: out)
    }
}

import Foundation

/// Fused multi-head attention of the reference backend: float64 logits, softmax and weighted sums.
enum ReferenceAttention {
    /// Where one of q, k, v lives: element (b, token, head, c) is at
    /// `data[(b·tokens + token)·rowStride + offset + head·headStride + c]`.
    private struct Operand {
        var data: [Float]
        var tokens: Int
        var rowStride: Int
        var offset: Int
        var headStride: Int

        func base(_ b: Int, _ token: Int, _ head: Int) -> Int {
            (b * tokens + token) * rowStride + offset + head * headStride
        }
    }

    static func attention(_ p: AttentionParams, _ inputs: [Tensor], out shape: Shape) -> Tensor {
        let hd = p.headDim, d = p.heads * hd
        let batch = shape[0], nq = shape[1]
        let q: Operand, k: Operand, v: Operand
        let biasInputs: ArraySlice<Tensor>
        switch p.layout {
        case .separate:
            let nk = inputs[1].shape[1]
            q = Operand(data: inputs[0].data, tokens: nq, rowStride: d, offset: 0, headStride: hd)
            k = Operand(data: inputs[1].data, tokens: nk, rowStride: d, offset: 0, headStride: hd)
            v = Operand(data: inputs[2].data, tokens: nk, rowStride: d, offset: 0, headStride: hd)
            biasInputs = inputs[3...]
        case .packedSAM:
            let qkv = inputs[0].data
            q = Operand(data: qkv, tokens: nq, rowStride: 3 * d, offset: 0, headStride: hd)
            k = Operand(data: qkv, tokens: nq, rowStride: 3 * d, offset: d, headStride: hd)
            v = Operand(data: qkv, tokens: nq, rowStride: 3 * d, offset: 2 * d, headStride: hd)
            biasInputs = inputs[1...]
        case .packedTinyViT:
            let qkv = inputs[0].data
            q = Operand(data: qkv, tokens: nq, rowStride: 3 * d, offset: 0, headStride: 3 * hd)
            k = Operand(data: qkv, tokens: nq, rowStride: 3 * d, offset: hd, headStride: 3 * hd)
            v = Operand(data: qkv, tokens: nq, rowStride: 3 * d, offset: 2 * hd, headStride: 3 * hd)
            biasInputs = inputs[1...]
        }
        let nk = k.tokens
        let scale = Double(p.scale)
        var out = [Float](repeating: 0, count: shape.count)
        var logits = [Double](repeating: 0, count: nk)
        for b in 0..<batch {
            for h in 0..<p.heads {
                // One head's q, k, v gathered into contiguous float64 rows [tokens, hd].
                let qh = gather(q, b, h, hd), kh = gather(k, b, h, hd), vh = gather(v, b, h, hd)
                for i in 0..<nq {
                    qh.withUnsafeBufferPointer { Q in
                        kh.withUnsafeBufferPointer { K in
                            logits.withUnsafeMutableBufferPointer { L in
                                for j in 0..<nk {
                                    var dot = 0.0
                                    for c in 0..<hd { dot += Q[i * hd + c] * K[j * hd + c] }
                                    L[j] = dot * scale
                                }
                            }
                        }
                    }
                    addBias(p, biasInputs, &logits, query: i, head: h, q: Array(qh[(i * hd)..<((i + 1) * hd)]))
                    ReferenceNormalization.softmaxInPlace(&logits)
                    var acc = [Double](repeating: 0, count: hd)
                    acc.withUnsafeMutableBufferPointer { A in
                        vh.withUnsafeBufferPointer { V in
                            logits.withUnsafeBufferPointer { L in
                                for j in 0..<nk {
                                    for c in 0..<hd { A[c] += L[j] * V[j * hd + c] }
                                }
                            }
                        }
                    }
                    let ob = (b * nq + i) * d + h * hd
                    for c in 0..<hd { out[ob + c] = Float(acc[c]) }
                }
            }
        }
        return Tensor(shape: shape, data: out)
    }

    private static func gather(_ x: Operand, _ b: Int, _ h: Int, _ hd: Int) -> [Double] {
        var rows = [Double](repeating: 0, count: x.tokens * hd)
        for t in 0..<x.tokens {
            let base = x.base(b, t, h)
            for c in 0..<hd { rows[t * hd + c] = Double(x.data[base + c]) }
        }
        return rows
    }

    /// Adds the `AttentionBias` term for one query row of one head to its logits.
    private static func addBias(_ p: AttentionParams, _ biasInputs: ArraySlice<Tensor>, _ logits: inout [Double],
                                query i: Int, head h: Int, q: [Double]) {
        switch p.bias {
        case .none:
            return
        case .relativePosition(let gh, let gw):
            let relH = biasInputs[biasInputs.startIndex].data
            let relW = biasInputs[biasInputs.startIndex + 1].data
            let hd = p.headDim
            let yq = i / gw, xq = i % gw
            // Dot products of the unscaled query with every row it can meet.
            var termH = [Double](repeating: 0, count: gh), termW = [Double](repeating: 0, count: gw)
            for yk in 0..<gh {
                let row = (yq - yk + gh - 1) * hd
                var s = 0.0
                for c in 0..<hd { s += q[c] * Double(relH[row + c]) }
                termH[yk] = s
            }
            for xk in 0..<gw {
                let row = (xq - xk + gw - 1) * hd
                var s = 0.0
                for c in 0..<hd { s += q[c] * Double(relW[row + c]) }
                termW[xk] = s
            }
            for j in 0..<logits.count { logits[j] += termH[j / gw] + termW[j % gw] }
        case .biasTable(let ws):
            let table = biasInputs[biasInputs.startIndex].data
            let yq = i / ws, xq = i % ws
            for j in 0..<logits.count {
                let dy = abs(yq - j / ws), dx = abs(xq - j % ws)
                logits[j] += Double(table[h * ws * ws + dy * ws + dx])
            }
        }
    }
}

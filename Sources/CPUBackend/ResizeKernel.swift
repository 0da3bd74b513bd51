import TensorRuntime

/// Per-axis resampling weights: output position i reads `count[i]` consecutive inputs from
/// `first[i]`, weights at `weights[i·maxTaps ..< i·maxTaps + count[i]]`.
struct ResampleTaps {
    var first: [Int] = []
    var count: [Int] = []
    var weights: [Float] = []
    var maxTaps = 1

    /// PyTorch `align_corners=False` bilinear: src = (dst + ½)·in/out − ½, clamped at 0; the
    /// upper neighbour clamps to the last input.
    static func bilinear(input: Int, output: Int) -> ResampleTaps {
        var t = ResampleTaps(maxTaps: 2)
        let scale = Double(input) / Double(output)
        for dst in 0..<output {
            let src = max(scale * (Double(dst) + 0.5) - 0.5, 0)
            let i0 = Int(src), lambda = Float(src - Double(i0))
            if i0 >= input - 1 {
                t.append(first: input - 1, [1])
            } else {
                t.append(first: i0, [1 - lambda, lambda])
            }
        }
        return t
    }

    /// PyTorch's antialiased bilinear (`antialias=True`): a triangle filter stretched by the
    /// downscale factor, sampled at input centres, normalised to sum 1.
    static func antialiased(input: Int, output: Int) -> ResampleTaps {
        let scale = Double(input) / Double(output)
        let support = scale >= 1 ? scale : 1.0, invScale = scale >= 1 ? 1 / scale : 1.0
        var spans: [(Int, [Double])] = []
        for dst in 0..<output {
            let center = scale * (Double(dst) + 0.5)
            let lo = max(Int(center - support + 0.5), 0), hi = min(Int(center + support + 0.5), input)
            var w: [Double] = []
            for j in lo..<max(lo, hi) {
                let d = abs((Double(j) - center + 0.5) * invScale)
                w.append(d < 1 ? 1 - d : 0)
            }
            let total = w.reduce(0, +)
            spans.append((lo, total != 0 ? w.map { $0 / total } : w))
        }
        var t = ResampleTaps(maxTaps: max(1, spans.map(\.1.count).max() ?? 1))
        for (lo, w) in spans { t.append(first: lo, w.map { Float($0) }) }
        return t
    }

    private mutating func append(first f: Int, _ w: [Float]) {
        first.append(f)
        count.append(w.count)
        weights += w + [Float](repeating: 0, count: maxTaps - w.count)
    }
}

extension CPUBackend {
    /// Separable bilinear resize of the last two axes: a horizontal pass over every input row
    /// into scratch, then a vertical pass, each parallel over rows.
    func resizeBilinear(antialias: Bool, _ x: HostTensor, _ out: HostTensor) {
        let inH = x.shape[-2], inW = x.shape[-1], outH = out.shape[-2], outW = out.shape[-1]
        if out.count == 0 { return }
        let planes = out.count / (outH * outW)
        let rowsT = antialias ? ResampleTaps.antialiased(input: inH, output: outH) : .bilinear(input: inH, output: outH)
        let colsT = antialias ? ResampleTaps.antialiased(input: inW, output: outW) : .bilinear(input: inW, output: outW)
        let mid = scratch[threads].floats(planes * inH * outW)
        let X = x.const, O = out.ptr
        colsT.weights.withUnsafeBufferPointer { cw in
            pool.forEachRange(planes * inH, grain: max(1, 4096 / max(outW, 1))) { range, _ in
                for r in range {
                    let src = X + r * inW, dst = mid + r * outW
                    for ox in 0..<outW {
                        let f = colsT.first[ox], n = colsT.count[ox], w = cw.baseAddress! + ox * colsT.maxTaps
                        var acc: Float = 0
                        for t in 0..<n { acc += w[t] * src[f + t] }
                        dst[ox] = acc
                    }
                }
            }
        }
        rowsT.weights.withUnsafeBufferPointer { rw in
            pool.forEachRange(planes * outH, grain: max(1, 4096 / max(outW, 1))) { range, _ in
                for r in range {
                    let plane = r / outH, oy = r % outH
                    let f = rowsT.first[oy], n = rowsT.count[oy], w = rw.baseAddress! + oy * rowsT.maxTaps
                    let dst = O + r * outW
                    let src = mid + (plane * inH + f) * outW
                    let w0 = F8(repeating: w[0])
                    var i = 0
                    while i + 8 <= outW {
                        var acc = w0 * src.load8(i)
                        for t in 1..<max(n, 1) { acc += F8(repeating: w[t]) * src.load8(t * outW + i) }
                        dst.store8(i, acc)
                        i += 8
                    }
                    while i < outW {
                        var acc = w[0] * src[i]
                        for t in 1..<max(n, 1) { acc += w[t] * src[t * outW + i] }
                        dst[i] = acc
                        i += 1
                    }
                }
            }
        }
    }
}

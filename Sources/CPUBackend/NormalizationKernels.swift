import TensorRuntime

extension CPUBackend {
    /// Layer norm with two-pass statistics (mean, then mean squared deviation) in float32 with
    /// 8-lane partial sums, which keeps the error at float32 rounding for SAM's widths.
    func layerNorm(axis: NormAxis, eps: Float, _ x: [HostTensor], _ out: HostTensor) {
        let gamma = x[1].const, beta = x[2].const
        switch axis {
        case .last:
            let c = out.shape[-1]
            if c == 0 { return }
            let rows = out.count / c
            let X = x[0].const, O = out.ptr
            pool.forEachRange(rows, grain: max(1, 4096 / c)) { range, _ in
                for r in range { Self.layerNormRow(X + r * c, O + r * c, c, eps, gamma, beta) }
            }
        case .channels:
            layerNormChannels(eps, x[0], gamma, beta, out)
        }
    }

    @inline(__always)
    static func layerNormRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ c: Int, _ eps: Float,
                             _ gamma: UnsafePointer<Float>, _ beta: UnsafePointer<Float>) {
        var acc = F8(), i = 0
        var tail: Float = 0
        while i + 8 <= c { acc += x.load8(i); i += 8 }
        while i < c { tail += x[i]; i += 1 }
        let mean = (acc.sum() + tail) / Float(c)
        let m8 = F8(repeating: mean)
        acc = F8(); tail = 0; i = 0
        while i + 8 <= c { let d = x.load8(i) - m8; acc += d * d; i += 8 }
        while i < c { let d = x[i] - mean; tail += d * d; i += 1 }
        let inv = 1 / ((acc.sum() + tail) / Float(c) + eps).squareRoot()
        let inv8 = F8(repeating: inv)
        i = 0
        while i + 8 <= c { y.store8(i, (x.load8(i) - m8) * inv8 * gamma.load8(i) + beta.load8(i)); i += 8 }
        while i < c { y[i] = (x[i] - mean) * inv * gamma[i] + beta[i]; i += 1 }
    }

    /// LayerNorm2d on `[B, C, H, W]`: statistics over C at each pixel, vectorised along pixels
    /// (channel planes are contiguous, so each pass streams C rows of a pixel block).
    private func layerNormChannels(_ eps: Float, _ x: HostTensor, _ gamma: UnsafePointer<Float>,
                                   _ beta: UnsafePointer<Float>, _ out: HostTensor) {
        let batch = x.shape[0], c = x.shape[1], plane = x.shape[2] * x.shape[3]
        if c == 0 || plane == 0 { return }
        let block = 256
        let blocks = (plane + block - 1) / block
        let X = x.const, O = out.ptr, scratch = self.scratch
        pool.run(batch * blocks) { t, worker in
            let img = t / blocks, p0 = (t % blocks) * block, n = min(block, plane - p0)
            let mean = scratch[worker].floats(2 * block), inv = mean + block
            let xb = X + img * c * plane + p0, ob = O + img * c * plane + p0
            for i in 0..<n { mean[i] = 0; inv[i] = 0 }
            for ch in 0..<c { Self.addRow(mean, xb + ch * plane, n) }
            let scale = 1 / Float(c)
            for i in 0..<n { mean[i] *= scale }
            for ch in 0..<c {
                let row = xb + ch * plane
                var i = 0
                while i + 8 <= n { let d = row.load8(i) - mean.load8(i); inv.store8(i, inv.load8(i) + d * d); i += 8 }
                while i < n { let d = row[i] - mean[i]; inv[i] += d * d; i += 1 }
            }
            for i in 0..<n { inv[i] = 1 / (inv[i] * scale + eps).squareRoot() }
            for ch in 0..<c {
                let row = xb + ch * plane, dst = ob + ch * plane
                let g = F8(repeating: gamma[ch]), b = F8(repeating: beta[ch])
                var i = 0
                while i + 8 <= n { dst.store8(i, (row.load8(i) - mean.load8(i)) * inv.load8(i) * g + b); i += 8 }
                while i < n { dst[i] = (row[i] - mean[i]) * inv[i] * gamma[ch] + beta[ch]; i += 1 }
            }
        }
    }

    @inline(__always)
    static func addRow(_ acc: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
        var i = 0
        while i + 8 <= n { acc.store8(i, acc.load8(i) + x.load8(i)); i += 8 }
        while i < n { acc[i] += x[i]; i += 1 }
    }

    /// Softmax over the last axis, row by row.
    func softmax(_ x: HostTensor, _ out: HostTensor) {
        let n = out.shape[-1]
        if n == 0 { return }
        let rows = out.count / n
        let X = x.const, O = out.ptr, vec = self.vec
        pool.forEachRange(rows, grain: max(1, 4096 / n)) { range, _ in
            vec.softmaxRows(X + range.lowerBound * n, O + range.lowerBound * n, rows: range.count, n)
        }
    }
}

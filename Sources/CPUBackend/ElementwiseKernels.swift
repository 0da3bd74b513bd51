import TensorRuntime

extension CPUBackend {
    /// Elements per task for memory-bound passes: large enough to amortise a dispatch.
    static let elementGrain = 1 << 15

    func unary(_ a: Activation, _ x: HostTensor, _ out: HostTensor) {
        let X = x.const, O = out.ptr, vec = self.vec
        pool.forEachRange(out.count, grain: Self.elementGrain) { r, _ in
            let src = X + r.lowerBound, dst = O + r.lowerBound, n = r.count
            if a == .none {
                dst.update(from: src, count: n)
                return
            }
            vec.activate(src, dst, n, a)
        }
    }

    /// Broadcasting add/mul/greater. The walk merges dimensions, so the common cases (same
    /// shape, a per-channel vector, a positional embedding shared over the batch, a threshold
    /// scalar) run as long vector loops.
    func binary(_ kind: BinaryKind, _ x: HostTensor, _ y: HostTensor, _ out: HostTensor) {
        let walk = StridedWalk(shape: out.shape.dims,
                               strides: [out.shape.strides, x.shape.broadcastStrides(to: out.shape),
                                         y.shape.broadcastStrides(to: out.shape)])
        let n = walk.inner, (_, sx, sy) = walk.innerStrides
        // One loop body per kind, each inlined with its operator, so the vector loops stay
        // free of indirect calls.
        switch kind {
        case .add: binaryRuns(walk, x.const, y.const, out.ptr, n, sx, sy, { $0 + $1 }, { $0 + $1 })
        case .mul: binaryRuns(walk, x.const, y.const, out.ptr, n, sx, sy, { $0 * $1 }, { $0 * $1 })
        case .greater:
            binaryRuns(walk, x.const, y.const, out.ptr, n, sx, sy,
                       { F8(repeating: 0).replacing(with: 1, where: $0 .> $1) }, { $0 > $1 ? 1 : 0 })
        }
    }

    @inline(__always)
    private func binaryRuns(_ walk: StridedWalk, _ X: UnsafePointer<Float>, _ Y: UnsafePointer<Float>,
                            _ O: UnsafeMutablePointer<Float>, _ n: Int, _ sx: Int, _ sy: Int,
                            _ apply8: (F8, F8) -> F8, _ apply: (Float, Float) -> Float) {
        // A walk that collapsed into one run (same-shape operands, or a scalar against a
        // tensor: the decoder's residual adds over [1, 4096, 256], the threshold of a mask)
        // would give one worker all of it; split the run instead. Every element is computed
        // alone, so where the split falls never changes a value.
        if walk.outerCount == 1 {
            pool.forEachRange(n, grain: Self.elementGrain) { r, _ in
                Self.binaryRun(O + r.lowerBound, X + r.lowerBound * sx, Y + r.lowerBound * sy, r.count, sx, sy, apply8, apply)
            }
            return
        }
        pool.forEachRange(walk.outerCount, grain: max(1, Self.elementGrain / n)) { range, _ in
            walk.forEachRun(range) { o, ox, oy in
                Self.binaryRun(O + o, X + ox, Y + oy, n, sx, sy, apply8, apply)
            }
        }
    }

    /// One inner run of `binaryRuns`: `n` elements at element strides `sx` and `sy` (each 0 or 1
    /// takes a vector loop).
    @inline(__always)
    private static func binaryRun(_ dst: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                  _ n: Int, _ sx: Int, _ sy: Int,
                                  _ apply8: (F8, F8) -> F8, _ apply: (Float, Float) -> Float) {
        var i = 0
        if sx == 1 && sy == 1 {
            while i + 8 <= n { dst.store8(i, apply8(a.load8(i), b.load8(i))); i += 8 }
        } else if sx == 1 && sy == 0 {
            let b8 = F8(repeating: b[0])
            while i + 8 <= n { dst.store8(i, apply8(a.load8(i), b8)); i += 8 }
        } else if sx == 0 && sy == 1 {
            let a8 = F8(repeating: a[0])
            while i + 8 <= n { dst.store8(i, apply8(a8, b.load8(i))); i += 8 }
        }
        while i < n {
            dst[i] = apply(a[i * sx], b[i * sy])
            i += 1
        }
    }

    /// SAM's random Fourier features: p = 2π·((2·coords − 1)·G), out = [sin p, cos p].
    /// p is formed in float32 (its rounding, ~|p|·2⁻²⁴, is far inside the elementwise
    /// threshold) straight into the output row's first half, then sin and cos overwrite it.
    func fourierFeatures(_ coords: HostTensor, _ g: HostTensor, _ out: HostTensor) {
        let f = g.shape[1], points = coords.count / 2
        let C = coords.const, G = g.const, O = out.ptr, vec = self.vec
        let twoPi: Float = 2 * .pi
        pool.forEachRange(points, grain: max(1, 2048 / max(f, 1))) { range, _ in
            for i in range {
                let x = 2 * C[2 * i] - 1, y = 2 * C[2 * i + 1] - 1
                let row = O + i * 2 * f
                for j in 0..<f { row[j] = twoPi * (x * G[j] + y * G[f + j]) }
                vec.sincos(row, sin: row, cos: row + f, f)
            }
        }
    }
}

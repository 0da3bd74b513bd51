import TensorRuntime

extension CPUBackend {
    /// Copies `shape` elements from `src` (strides `srcStrides`) to `dst` (strides `dstStrides`),
    /// in parallel over inner runs; contiguous runs are block copies.
    func stridedCopy(shape: [Int], dst: UnsafeMutablePointer<Float>, dstStrides: [Int],
                     src: UnsafePointer<Float>, srcStrides: [Int]) {
        if shape.contains(0) { return }
        let walk = StridedWalk(shape: shape, strides: [dstStrides, srcStrides])
        let n = walk.inner, (sd, ss, _) = walk.innerStrides
        if sd == 1 && ss != 1 && n >= 16, let t = TransposePlan(walk) {
            transposeCopy(t, dst: dst, src: src)
            return
        }
        pool.forEachRange(walk.outerCount, grain: max(1, Self.elementGrain / n)) { range, _ in
            walk.forEachRun(range) { od, os, _ in
                let d = dst + od, s = src + os
                if sd == 1 && ss == 1 {
                    d.update(from: s, count: n)
                } else {
                    for i in 0..<n { d[i * sd] = s[i * ss] }
                }
            }
        }
    }

    /// A copy whose destination is contiguous along the inner dimension while the source is
    /// contiguous along another one (NCHW ↔ NHWC): each task transposes a strip of up to 128
    /// source-contiguous positions with the C kernel (8 × 8 blocks transposed in registers).
    private func transposeCopy(_ t: TransposePlan, dst: UnsafeMutablePointer<Float>, src: UnsafePointer<Float>) {
        let strip = 128
        let strips = (t.rows + strip - 1) / strip
        let vec = self.vec
        pool.run(t.sliceCount * strips) { task, _ in
            let sliceIndex = task / strips, r0 = (task % strips) * strip, r1 = min(r0 + strip, t.rows)
            let (bd, bs) = t.offsets(sliceIndex)
            // Source row c (stride srcColStride) holds positions r contiguously; destination
            // row r (stride dstRowStride) holds the c values contiguously.
            vec.transpose(src + bs + r0, srcStride: t.srcColStride, dst + bd + r0 * t.dstRowStride,
                          dstStride: t.dstRowStride, rows: t.cols, cols: r1 - r0)
        }
    }

    func copy(_ x: HostTensor, _ out: HostTensor) {
        let X = x.const, O = out.ptr
        pool.forEachRange(out.count, grain: Self.elementGrain) { r, _ in
            (O + r.lowerBound).update(from: X + r.lowerBound, count: r.count)
        }
    }

    func permute(_ perm: [Int], _ x: HostTensor, _ out: HostTensor) {
        let inStrides = x.shape.strides
        stridedCopy(shape: out.shape.dims, dst: out.ptr, dstStrides: out.shape.strides,
                    src: x.const, srcStrides: perm.map { inStrides[$0] })
    }

    func broadcast(_ x: HostTensor, _ out: HostTensor) {
        stridedCopy(shape: out.shape.dims, dst: out.ptr, dstStrides: out.shape.strides,
                    src: x.const, srcStrides: x.shape.broadcastStrides(to: out.shape))
    }

    func pad(_ before: [Int], _ x: HostTensor, _ out: HostTensor) {
        let O = out.ptr
        pool.forEachRange(out.count, grain: Self.elementGrain) { r, _ in
            (O + r.lowerBound).update(repeating: 0, count: r.count)
        }
        let os = out.shape.strides
        let offset = zip(before, os).reduce(0) { $0 + $1.0 * $1.1 }
        stridedCopy(shape: x.shape.dims, dst: O + offset, dstStrides: os, src: x.const, srcStrides: x.shape.strides)
    }

    func slice(_ start: [Int], _ x: HostTensor, _ out: HostTensor) {
        let xs = x.shape.strides
        let offset = zip(start, xs).reduce(0) { $0 + $1.0 * $1.1 }
        stridedCopy(shape: out.shape.dims, dst: out.ptr, dstStrides: out.shape.strides,
                    src: x.const + offset, srcStrides: xs)
    }

    func concat(_ axis: Int, _ x: [HostTensor], _ out: HostTensor) {
        let os = out.shape.strides
        var at = 0
        for t in x {
            stridedCopy(shape: t.shape.dims, dst: out.ptr + at * os[axis], dstStrides: os,
                        src: t.const, srcStrides: t.shape.strides)
            at += t.shape[axis]
        }
    }

    /// `[B, H, W, C]` → `[B·nY·nX, ws², C]`, zero-padding bottom/right; each token is a run of C.
    func windowPartition(_ ws: Int, _ x: HostTensor, _ out: HostTensor) {
        let b = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3]
        let ny = (h + ws - 1) / ws, nx = (w + ws - 1) / ws
        let X = x.const, O = out.ptr
        // One task per window row of tokens: (image, window row, window column, token row).
        pool.run(b * ny * nx * ws) { t, _ in
            let ty = t % ws, win = t / ws
            let wx = win % nx, wy = (win / nx) % ny, img = win / (nx * ny)
            let dst = O + (win * ws * ws + ty * ws) * c
            let y = wy * ws + ty
            let valid = y < h ? max(0, min(ws, w - wx * ws)) : 0
            if valid > 0 { dst.update(from: X + ((img * h + y) * w + wx * ws) * c, count: valid * c) }
            if valid < ws { (dst + valid * c).update(repeating: 0, count: (ws - valid) * c) }
        }
    }

    /// `[B·nY·nX, ws², C]` → `[B, H, W, C]`, cropping the padding.
    func windowUnpartition(_ ws: Int, _ x: HostTensor, _ out: HostTensor) {
        let b = out.shape[0], h = out.shape[1], w = out.shape[2], c = out.shape[3]
        let ny = (h + ws - 1) / ws, nx = (w + ws - 1) / ws
        let X = x.const, O = out.ptr
        pool.run(b * h * nx) { t, _ in
            let wx = t % nx, y = (t / nx) % h, img = t / (nx * h)
            let wy = y / ws, ty = y % ws
            let win = (img * ny + wy) * nx + wx
            let valid = min(ws, w - wx * ws)
            (O + ((img * h + y) * w + wx * ws) * c).update(from: X + (win * ws * ws + ty * ws) * c, count: valid * c)
        }
    }
}

/// A strided copy seen as a batch of 2-d transposes: destination `[rows][cols]` contiguous
/// along cols, source contiguous along rows.
struct TransposePlan {
    let rows: Int, cols: Int
    let dstRowStride: Int, srcColStride: Int

    init?(_ walk: StridedWalk) {
        let dims = walk.dims, sd = walk.strides[0], ss = walk.strides[1]
        let last = dims.count - 1
        guard let j = (0..<last).first(where: { ss[$0] == 1 }) else { return nil }
        rows = dims[j]; cols = dims[last]
        dstRowStride = sd[j]; srcColStride = ss[last]
        var od: [Int] = [], osd: [Int] = [], oss: [Int] = []
        for a in 0..<last where a != j {
            od.append(dims[a]); osd.append(sd[a]); oss.append(ss[a])
        }
        self.outerDims = od
        self.outerDst = osd
        self.outerSrc = oss
    }

    /// The remaining dimensions and their destination and source strides.
    private let outerDims: [Int], outerDst: [Int], outerSrc: [Int]

    /// Number of 2-d slices.
    var sliceCount: Int { outerDims.reduce(1, *) }

    /// Destination and source offsets of slice `index`.
    func offsets(_ index: Int) -> (Int, Int) {
        var rest = index, d = 0, s = 0
        for a in stride(from: outerDims.count - 1, through: 0, by: -1) {
            let i = rest % outerDims[a]
            rest /= outerDims[a]
            d += i * outerDst[a]; s += i * outerSrc[a]
        }
        return (d, s)
    }
}

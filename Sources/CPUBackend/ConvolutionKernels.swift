import CPUVectorKernels
import TensorRuntime

extension CPUBackend {
    /// 2-D convolution on NCHW. Picks per shape: a 1×1 stride-1 convolution is one GEMM per
    /// image (`W[Cout,Cin] · X[Cin,H·W]`); depthwise convolutions run directly; everything else
    /// (3×3, the 16×16/16 patch embedding, grouped) is im2col on column blocks + GEMM.
    func conv2d(_ p: Conv2DParams, _ x: [HostTensor], _ out: HostTensor) {
        let w = x[1]
        let cin = x[0].shape[1], cout = w.shape[0], kh = w.shape[2], kw = w.shape[3]
        let bias = p.hasBias ? x[2].const : nil
        if p.groups == cin && p.groups == cout && w.shape[1] == 1 {
            depthwiseConv(p, x[0], w, bias, out)
        } else if p.groups == 1 && kh == 1 && kw == 1 && p.strideX == 1 && p.strideY == 1 && p.padX == 0 && p.padY == 0 {
            pointwiseConv(p, x[0], w, bias, out)
        } else {
            im2colConv(p, x[0], w, bias, out)
        }
    }

    /// Input channels up to which a 1×1 convolution runs the direct C kernel instead of SGEMM:
    /// with K this small OpenBLAS spends much of its time packing (64 → 256 at 256² pixels:
    /// 65 GFLOP/s through SGEMM on this machine), while the direct kernel reads the NCHW planes in
    /// place and applies bias and GELU in registers.
    static let directPointwiseMaxInputChannels = 128

    /// 1×1 convolution: per image, `out[Cout, HW] = W[Cout, Cin] · x[Cin, HW]`, split by columns.
    private func pointwiseConv(_ p: Conv2DParams, _ x: HostTensor, _ w: HostTensor, _ bias: UnsafePointer<Float>?,
                               _ out: HostTensor) {
        let batch = x.shape[0], cin = x.shape[1], hw = x.shape[2] * x.shape[3], cout = w.shape[0]
        if cin <= Self.directPointwiseMaxInputChannels {
            // Pixel ranges of at least 256 (multiples of 16, the kernel's tile width), several per
            // worker so the shared task counter can balance them.
            let pieces = max(1, min(8 * threads, hw / 256))
            let X = x.const, W = w.const, O = out.ptr, code = VectorKernels.code(p.activation), vec = self.vec
            let scratch = self.scratch
            pool.run(batch * pieces) { t, worker in
                let img = t / pieces, piece = t % pieces
                let lo = (hw * piece / pieces) & ~15, hi = piece == pieces - 1 ? hw : (hw * (piece + 1) / pieces) & ~15
                if lo >= hi { return }
                var job = cvk_conv1x1(w: W, bias: bias, x: X + img * cin * hw + lo, y: O + img * cout * hw + lo,
                                      scratch: scratch[worker].floats(cin * 128),
                                      cin: cin, cout: cout, pixels: hi - lo, ldx: hw, ldy: hw, activation: code)
                vec.conv1x1(&job)
            }
            return
        }
        // Blocks over (image, column range); partition sees the matrix transposed so columns split.
        let blocks = GEMMPartition.blocks(batch: batch, m: hw, n: cout, threads: threads)
        let X = x.const, W = w.const, O = out.ptr, act = p.activation, vec = self.vec
        let epilogue = bias != nil || act != .none
        pool.run(blocks.count) { t, _ in
            let blk = blocks[t]
            // The partition's rows are pixels and its columns output channels.
            let co0 = blk.cols.lowerBound, couts = blk.cols.count
            // The weights (couts × cin) are what OpenBLAS repacks in every call.
            Self.forEachEpilogueChunk(blk.rows, width: couts, minimum: 64, epilogue: epilogue,
                                      packedFloats: couts * cin) { c0, cols in
                let o = O + (blk.batch * cout + co0) * hw + c0
                BLAS.sgemm(m: couts, n: cols, k: cin, a: W + co0 * cin, lda: cin,
                           b: X + blk.batch * cin * hw + c0, ldb: hw, c: o, ldc: hw)
                if epilogue {
                    for co in 0..<couts { vec.biasActivate(o + co * hw, cols, bias: bias?[co0 + co] ?? 0, act) }
                }
            }
        }
    }

    /// General convolution: for each image, group and block of output pixels, gather the
    /// receptive fields into `col[Cin/g·kh·kw, block]` (per-worker scratch), then
    /// `out[Cout/g, block] = W_g · col`, then bias and activation on the block.
    private func im2colConv(_ p: Conv2DParams, _ x: HostTensor, _ w: HostTensor, _ bias: UnsafePointer<Float>?,
                            _ out: HostTensor) {
        let batch = x.shape[0], cin = x.shape[1], h = x.shape[2], wd = x.shape[3]
        let cout = w.shape[0], kh = w.shape[2], kw = w.shape[3]
        let oh = out.shape[2], ow = out.shape[3], pixels = oh * ow
        let groups = p.groups, cinG = cin / groups, coutG = cout / groups
        let rows = cinG * kh * kw
        // Column blocks: about 256K floats of im2col each, at least 64 pixels, and at least
        // one block per worker.
        var block = max(64, min(pixels, (1 << 18) / max(rows, 1)))
        let units = batch * groups
        if units * ((pixels + block - 1) / block) < 2 * threads {
            block = max(16, (pixels * units + 2 * threads - 1) / (2 * threads))
        }
        let blocksPerImage = (pixels + block - 1) / block
        let X = x.const, W = w.const, O = out.ptr, act = p.activation, vec = self.vec
        let sy = p.strideY, sx = p.strideX, py = p.padY, px = p.padX
        let scratch = self.scratch
        pool.run(units * blocksPerImage) { t, worker in
            let img = t / (groups * blocksPerImage)
            let g = (t / blocksPerImage) % groups
            let p0 = (t % blocksPerImage) * block, n = min(block, pixels - p0)
            let col = scratch[worker].floats(rows * n)
            let xg = X + (img * cin + g * cinG) * h * wd
            // Row (c, ky, kx) of col holds x[c, oy·sy − py + ky, ox·sx − px + kx] for pixels p0..<p0+n.
            for c in 0..<cinG {
                let plane = xg + c * h * wd
                for ky in 0..<kh {
                    for kx in 0..<kw {
                        let row = col + ((c * kh + ky) * kw + kx) * n
                        var oy = p0 / ow, ox = p0 % ow
                        var j = 0
                        while j < n {
                            let run = min(ow - ox, n - j)
                            let iy = oy * sy - py + ky
                            if iy < 0 || iy >= h {
                                for r in 0..<run { row[j + r] = 0 }
                            } else {
                                let src = plane + iy * wd
                                let ixBase = ox * sx - px + kx
                                for r in 0..<run {
                                    let ix = ixBase + r * sx
                                    row[j + r] = (ix >= 0 && ix < wd) ? src[ix] : 0
                                }
                            }
                            j += run
                            ox = 0
                            oy += 1
                        }
                    }
                }
            }
            let o = O + (img * cout + g * coutG) * pixels + p0
            BLAS.sgemm(m: coutG, n: n, k: rows, a: W + g * coutG * rows, lda: rows, b: col, ldb: n,
                       c: o, ldc: pixels)
            if bias != nil || act != .none {
                for co in 0..<coutG { vec.biasActivate(o + co * pixels, n, bias: bias?[g * coutG + co] ?? 0, act) }
            }
        }
    }

    /// Depthwise convolution (one filter per channel), computed directly one plane per task by
    /// the C loop (`depthwise_plane`): each output row sums its taps 8 columns at a time in
    /// registers (strided convolutions read inputs split by column phase), then bias and
    /// activation run on the row while it is in L1.
    private func depthwiseConv(_ p: Conv2DParams, _ x: HostTensor, _ w: HostTensor, _ bias: UnsafePointer<Float>?,
                               _ out: HostTensor) {
        let batch = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3]
        let kh = w.shape[2], kw = w.shape[3], oh = out.shape[2], ow = out.shape[3]
        let X = x.const, W = w.const, O = out.ptr, code = VectorKernels.code(p.activation)
        let scratchCount = VectorKernels.depthwiseScratch(width: wd, kernelHeight: kh, strideX: p.strideX)
        let scratch = self.scratch, vec = self.vec
        pool.run(batch * c) { plane, worker in
            let ch = plane % c
            var job = cvk_depthwise_plane(
                src: X + plane * h * wd, dst: O + plane * oh * ow, taps: W + ch * kh * kw,
                h: h, w: wd, oh: oh, ow: ow, kh: kh, kw: kw, stride_y: p.strideY, stride_x: p.strideX,
                pad_y: p.padY, pad_x: p.padX, bias: bias?[ch] ?? 0, activation: code)
            vec.depthwisePlane(&job, scratch: scratch[worker].floats(scratchCount))
        }
    }

    /// Transposed 2×2/2 convolution as a GEMM: per block of input pixels,
    /// `Y[(o,i,j), block] = Wᵀ · x[Cin, block]` with W viewed as `[Cin, Cout·4]`, then each
    /// Y element goes to `out[o, 2y+i, 2x+j]` with the bias added.
    func convTranspose2x2(_ x: [HostTensor], _ out: HostTensor) {
        let input = x[0], w = x[1], bias = x[2].const
        let batch = input.shape[0], cin = input.shape[1], h = input.shape[2], wd = input.shape[3]
        let cout = out.shape[1], pixels = h * wd, rows = cout * 4
        let ow = 2 * wd, planeOut = 4 * pixels
        // Whole input rows per block, so the scatter writes whole output row pairs.
        var rowsPerBlock = max(1, min(h, (1 << 18) / max(rows * wd, 1)))
        if batch * ((h + rowsPerBlock - 1) / rowsPerBlock) < 2 * threads {
            rowsPerBlock = max(1, (h * batch + 2 * threads - 1) / (2 * threads))
        }
        let blocksPerImage = (h + rowsPerBlock - 1) / rowsPerBlock
        let X = input.const, W = w.const, O = out.ptr
        let scratch = self.scratch
        pool.run(batch * blocksPerImage) { t, worker in
            let img = t / blocksPerImage
            let y0 = (t % blocksPerImage) * rowsPerBlock, ny = min(rowsPerBlock, h - y0), n = ny * wd
            let yb = scratch[worker].floats(rows * n)
            BLAS.sgemm(transA: true, m: rows, n: n, k: cin, a: W, lda: rows,
                       b: X + img * cin * pixels + y0 * wd, ldb: pixels, c: yb, ldc: n)
            for o in 0..<cout {
                let b = bias[o]
                let dstPlane = O + (img * cout + o) * planeOut
                for i in 0..<2 {
                    for j in 0..<2 {
                        let src = yb + ((o * 2 + i) * 2 + j) * n
                        for yy in 0..<ny {
                            let dst = dstPlane + (2 * (y0 + yy) + i) * ow + j
                            let s = src + yy * wd
                            for xx in 0..<wd { dst[2 * xx] = s[xx] + b }
                        }
                    }
                }
            }
        }
    }
}

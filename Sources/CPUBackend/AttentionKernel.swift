import CPUVectorKernels
import TensorRuntime

/// Where q, k and v of one head sit: element (row, c) of a head's matrix is at
/// `base + batch·batchStride + row·rowStride + headOffset(head) + c`.
private struct HeadLayout {
    var base: UnsafePointer<Float>
    var batchStride: Int
    var rowStride: Int
    /// Offset of head 0's channel 0, and the step between heads.
    var offset: Int
    var headStep: Int

    @inline(__always)
    func pointer(batch: Int, head: Int, row: Int) -> UnsafePointer<Float> {
        base + batch * batchStride + row * rowStride + offset + head * headStep
    }
}

extension CPUBackend {
    /// Query rows per task of the attention kernel: large enough that packing each key tile
    /// once per task costs little beside the products, small enough that the task's output
    /// accumulator (rows × head dim) stays in L2.
    static let attentionQueryBlock = 256

    /// Fused multi-head attention. Each task is (image, head, block of ≤ 256 queries) and runs
    /// the C kernel `attention` (Sources/CPUVectorKernels): keys in tiles of 256, each tile's kᵀ
    /// packed once and shared by the block's queries, scores of six query rows × 16 keys kept
    /// in registers, online softmax, and the output accumulated in per-worker scratch. q, k and v
    /// are read in place from the packed layouts. Scratch per worker is a few hundred KB, so no
    /// N×N matrix ever exists (ViT-H global attention: 4096 tokens, 16 heads).
    func attention(_ p: AttentionParams, _ x: [HostTensor], _ out: HostTensor) {
        let heads = p.heads, hd = p.headDim, d = heads * hd
        let batch = x[0].shape[0], nq = x[0].shape[1]
        let q: HeadLayout, k: HeadLayout, v: HeadLayout
        let nk: Int
        var biasInput = 1
        switch p.layout {
        case .separate:
            nk = x[1].shape[1]
            q = HeadLayout(base: x[0].const, batchStride: nq * d, rowStride: d, offset: 0, headStep: hd)
            k = HeadLayout(base: x[1].const, batchStride: nk * d, rowStride: d, offset: 0, headStep: hd)
            v = HeadLayout(base: x[2].const, batchStride: nk * d, rowStride: d, offset: 0, headStep: hd)
            biasInput = 3
        case .packedSAM:
            nk = nq
            let qkv = x[0].const, bs = nq * 3 * d
            q = HeadLayout(base: qkv, batchStride: bs, rowStride: 3 * d, offset: 0, headStep: hd)
            k = HeadLayout(base: qkv, batchStride: bs, rowStride: 3 * d, offset: d, headStep: hd)
            v = HeadLayout(base: qkv, batchStride: bs, rowStride: 3 * d, offset: 2 * d, headStep: hd)
        case .packedTinyViT:
            nk = nq
            let qkv = x[0].const, bs = nq * 3 * d
            q = HeadLayout(base: qkv, batchStride: bs, rowStride: 3 * d, offset: 0, headStep: 3 * hd)
            k = HeadLayout(base: qkv, batchStride: bs, rowStride: 3 * d, offset: hd, headStep: 3 * hd)
            v = HeadLayout(base: qkv, batchStride: bs, rowStride: 3 * d, offset: 2 * hd, headStep: 3 * hd)
        }
        if nq == 0 { return }
        if nk == 0 {
            // softmax over no keys: PyTorch gives NaN; an empty sum is the only defined answer here.
            for i in 0..<out.count { out.ptr[i] = 0 }
            return
        }
        let bias = AttentionBiasPlan(p.bias, inputs: x, from: biasInput)
        // Equal query blocks (196 tokens: one block; 4096: 16), doubled until every worker has work.
        let units = batch * heads
        var blocks = (nq + Self.attentionQueryBlock - 1) / Self.attentionQueryBlock
        while units * blocks < 2 * threads && blocks * 16 < nq { blocks *= 2 }
        let rowsPerBlock = (nq + blocks - 1) / blocks
        blocks = (nq + rowsPerBlock - 1) / rowsPerBlock
        // TinyViT's table bias, dense per head ([heads, nq, nk], in the calling thread's arena):
        // one gather per call instead of one per window.
        var denseTable: UnsafePointer<Float>? = nil
        if case .table(let table, let ws) = bias.kind {
            // Token a of a ws × ws window and key b are |Δrow|·ws + |Δcol| apart in the table.
            let dense = scratch[threads].floats(heads * nq * nk)
            for a in 0..<nq {
                for b in 0..<nk {
                    let column = abs(a / ws - b / ws) * ws + abs(a % ws - b % ws)
                    for h in 0..<heads { dense[(h * nq + a) * nk + b] = table[h * nk + column] }
                }
            }
            denseTable = UnsafePointer(dense)
        }
        let relH = bias.height, relW = bias.width, tableSpan = bias.relTableRows
        let kernelScratch = VectorKernels.attentionScratch(queries: rowsPerBlock, headDim: hd)
        // Relative position per block: q·Rᵀ products, then the gathered [gh | gw] rows.
        let relScratch = relH == 0 ? 0 : rowsPerBlock * (tableSpan + relH + relW)
        let O = out.ptr, scratch = self.scratch, vec = self.vec, scale = p.scale
        pool.run(units * blocks) { t, worker in
            let img = t / (heads * blocks), head = (t / blocks) % heads
            let q0 = (t % blocks) * rowsPerBlock, m = min(rowsPerBlock, nq - q0)
            if m <= 0 { return }
            let mem = scratch[worker].floats(kernelScratch + relScratch)
            let qPtr = q.pointer(batch: img, head: head, row: q0)
            var rel: UnsafePointer<Float>? = nil
            if case .relative(let tables) = bias.kind {
                let gathered = mem + kernelScratch
                bias.gatherRelative(tables, qRows: qPtr, ldq: q.rowStride, q0: q0, m: m, hd: hd,
                                    product: gathered + m * (relH + relW), into: gathered)
                rel = UnsafePointer(gathered)
            }
            var job = cvk_attention(
                q: qPtr, k: k.pointer(batch: img, head: head, row: 0), v: v.pointer(batch: img, head: head, row: 0),
                out: O + (img * nq + q0) * d + head * hd,
                ldq: q.rowStride, ldk: k.rowStride, ldv: v.rowStride, ldo: d,
                m: m, n: nk, hd: hd, scale: scale,
                bias: denseTable.map { $0 + (head * nq + q0) * nk }, ldb: nk,
                rel: rel, rel_height: relH, rel_width: relW)
            vec.attention(&job, scratch: mem)
        }
    }
}

/// The additive score bias of one attention op, prepared once per call.
private struct AttentionBiasPlan {
    enum Kind {
        case none
        /// SAM's decomposed relative position: tables `Rh [2h−1, hd]`, `Rw [2w−1, hd]`.
        case relative((rh: UnsafePointer<Float>, rw: UnsafePointer<Float>))
        /// TinyViT: `table [heads, ws²]` for windows of ws × ws tokens.
        case table(UnsafePointer<Float>, window: Int)
    }
    var kind: Kind = .none
    /// Relative position: the key grid (h × w; each query gathers h + w bias terms), else 0.
    var height = 0, width = 0
    /// Columns of the q·Rᵀ products: (2h−1) + (2w−1).
    var relTableRows: Int { height == 0 ? 0 : 2 * height - 1 + 2 * width - 1 }

    init(_ bias: AttentionBias, inputs x: [HostTensor], from i: Int) {
        switch bias {
        case .none: break
        case .relativePosition(let h, let w):
            height = h
            width = w
            kind = .relative((x[i].const, x[i + 1].const))
        case .biasTable(let ws):
            kind = .table(x[i].const, window: ws)
        }
    }

    /// For each query row i of the tile: gh[i, ky] = q_i·Rh[yq − ky + h − 1] and
    /// gw[i, kx] = q_i·Rw[xq − kx + w − 1], from one SGEMM against each whole table.
    func gatherRelative(_ t: (rh: UnsafePointer<Float>, rw: UnsafePointer<Float>), qRows: UnsafePointer<Float>,
                        ldq: Int, q0: Int, m: Int, hd: Int, product: UnsafeMutablePointer<Float>,
                        into gathered: UnsafeMutablePointer<Float>) {
        let h = height, w = width, th = 2 * h - 1, tw = 2 * w - 1
        let ph = product, pw = product + m * th
        BLAS.sgemm(transB: true, m: m, n: th, k: hd, a: qRows, lda: ldq, b: t.rh, ldb: hd, c: ph, ldc: th)
        BLAS.sgemm(transB: true, m: m, n: tw, k: hd, a: qRows, lda: ldq, b: t.rw, ldb: hd, c: pw, ldc: tw)
        for i in 0..<m {
            let yq = (q0 + i) / w, xq = (q0 + i) % w
            let gh = gathered + i * (h + w), gw = gh + h
            for ky in 0..<h { gh[ky] = ph[i * th + yq - ky + h - 1] }
            for kx in 0..<w { gw[kx] = pw[i * tw + xq - kx + w - 1] }
        }
    }
}

import CPUVectorKernels
import Foundation
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
    /// Attention with at most this many keys (windows, prompt tokens) or queries runs the direct
    /// kernel: kᵀ of one head fits in L2 (1024 keys × 64 dims = 256 KB), or is read by so few
    /// queries that the GEMM library's packing would cost more than the arithmetic.
    static let directAttentionMaxKeys = 1024
    static let directAttentionMaxQueries = 16

    /// Query rows per tile and key rows per tile of the fused attention.
    static let attentionQueryTile = 128
    static let attentionKeyTile = 1024

    /// Fused multi-head attention, flash style: for each (image, head, tile of ≤ 128 queries) a
    /// worker walks the keys in tiles of ≤ 1024, computing scores with SGEMM straight from the
    /// packed q/k/v (strided rows, no copies), adding the bias, and keeping a running maximum,
    /// running sum and output accumulator per query (online softmax). Memory per worker is a
    /// 128×1024 score tile (512 KB), so no N×N matrix ever exists (ViT-H global attention: 4096 tokens).
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
        let bias = AttentionBiasPlan(p.bias, inputs: x, from: biasInput, nq: nq, nk: nk)
        if nk <= Self.directAttentionMaxKeys || nq <= Self.directAttentionMaxQueries {
            attentionDirect(p, q: q, k: k, v: v, bias: bias, batch: batch, nq: nq, nk: nk, out: out)
            return
        }
        // Equal query tiles of at most 128 rows (196 tokens: 2 × 98, not 128 + 68).
        let qTileCount = (nq + Self.attentionQueryTile - 1) / Self.attentionQueryTile
        let bq = (nq + qTileCount - 1) / qTileCount
        let bk = min(nk, Self.attentionKeyTile)
        let qTiles = (nq + bq - 1) / bq
        let O = out.ptr, scale = p.scale, scratch = self.scratch, vec = self.vec
        let relH = bias.relHeight, relW = bias.relWidth
        let tableSpan = bias.relTableRows
        // Scratch per task: scores, output accumulator, max, sum, and for relative position the
        // two q·Rᵀ products and their gathered forms.
        let scratchCount = bq * bk + bq * hd + 2 * bq + bq * (tableSpan + relH + relW)
        pool.run(batch * heads * qTiles) { t, worker in
            let img = t / (heads * qTiles), head = (t / qTiles) % heads
            let q0 = (t % qTiles) * bq, m = min(bq, nq - q0)
            let mem = scratch[worker].floats(scratchCount)
            let s = mem, acc = s + bq * bk, rowMax = acc + bq * hd, rowSum = rowMax + bq
            let qPtr = q.pointer(batch: img, head: head, row: q0)
            for i in 0..<(m * hd) { acc[i] = 0 }
            for i in 0..<m { rowMax[i] = -.infinity; rowSum[i] = 0 }
            // Relative position: per query row, the bias for key (ky, kx) is gh[ky] + gw[kx].
            let gathered = rowSum + bq
            if case .relative(let tables) = bias.kind {
                bias.gatherRelative(tables, qRows: qPtr, ldq: q.rowStride, q0: q0, m: m, hd: hd,
                                    product: gathered + bq * (relH + relW), into: gathered)
            }
            var k0 = 0
            while k0 < nk {
                let n = min(bk, nk - k0)
                BLAS.sgemm(transB: true, m: m, n: n, k: hd, alpha: scale, a: qPtr, lda: q.rowStride,
                           b: k.pointer(batch: img, head: head, row: k0), ldb: k.rowStride, c: s, ldc: n)
                bias.add(to: s, ld: n, head: head, q0: q0, m: m, k0: k0, n: n, gathered: gathered)
                for i in 0..<m {
                    let row = s + i * n
                    let newMax = max(rowMax[i], vec.rowMax(row, n))
                    let sum = vec.expShiftRow(row, n, shift: newMax)
                    let correction = rowMax[i] == -.infinity ? 0 : Float(Foundation.exp(Double(rowMax[i] - newMax)))
                    rowSum[i] = rowSum[i] * correction + sum
                    rowMax[i] = newMax
                    if correction != 1 {
                        let a = acc + i * hd, c8 = F8(repeating: correction)
                        var j = 0
                        while j + 8 <= hd { a.store8(j, a.load8(j) * c8); j += 8 }
                        while j < hd { a[j] *= correction; j += 1 }
                    }
                }
                BLAS.sgemm(m: m, n: hd, k: n, a: s, lda: n, b: v.pointer(batch: img, head: head, row: k0),
                           ldb: v.rowStride, beta: 1, c: acc, ldc: hd)
                k0 += n
            }
            for i in 0..<m {
                let dst = O + (img * nq + q0 + i) * d + head * hd, a = acc + i * hd
                let inv = 1 / rowSum[i]
                for j in 0..<hd { dst[j] = a[j] * inv }
            }
        }
    }
}

extension CPUBackend {
    /// Short sequences: one task per (image, head, chunk of queries) runs the C kernel
    /// `attention_rows`, which keeps whole score rows in scratch (no online softmax needed) and
    /// does the products itself, four query rows at a time. Biases become dense rows first:
    /// the TinyViT table once per call for each head, SAM's relative position per chunk.
    fileprivate func attentionDirect(_ p: AttentionParams, q: HeadLayout, k: HeadLayout, v: HeadLayout,
                                     bias: AttentionBiasPlan, batch: Int, nq: Int, nk: Int, out: HostTensor) {
        let heads = p.heads, hd = p.headDim, d = heads * hd
        // Chunks large enough to amortise one kᵀ per task, small enough to give every worker work.
        let units = batch * heads
        var chunks = max(1, (nq + 511) / 512)
        while units * chunks < 2 * threads && chunks * 32 < nq { chunks *= 2 }
        let rowsPerChunk = (nq + chunks - 1) / chunks
        chunks = (nq + rowsPerChunk - 1) / rowsPerChunk
        // TinyViT's table bias, dense per head: [heads, nq, nk] in the calling thread's arena.
        var tableBias: UnsafeMutablePointer<Float>? = nil
        if case .table(let table, let index) = bias.kind {
            let dense = scratch[threads].floats(heads * nq * nk)
            index.withUnsafeBufferPointer { idx in
                for h in 0..<heads {
                    let row = table + h * nk, dst = dense + h * nq * nk
                    for e in 0..<(nq * nk) { dst[e] = row[Int(idx[e])] }
                }
            }
            tableBias = dense
        }
        let relH = bias.relHeight, relW = bias.relWidth, tableSpan = bias.relTableRows
        let kernelScratch = VectorKernels.attentionScratch(keys: nk, headDim: hd)
        let relScratch = relH == 0 ? 0 : rowsPerChunk * (nk + tableSpan + relH + relW)
        let O = out.ptr, scratch = self.scratch, vec = self.vec, scale = p.scale
        let denseTable = tableBias.map { UnsafePointer($0) }
        pool.run(units * chunks) { t, worker in
            let img = t / (heads * chunks), head = (t / chunks) % heads
            let q0 = (t % chunks) * rowsPerChunk, m = min(rowsPerChunk, nq - q0)
            if m <= 0 { return }
            let mem = scratch[worker].floats(kernelScratch + relScratch)
            let qPtr = q.pointer(batch: img, head: head, row: q0)
            var biasRows: UnsafePointer<Float>? = nil
            if let denseTable {
                biasRows = denseTable + (head * nq + q0) * nk
            } else if case .relative(let tables) = bias.kind {
                let dense = mem + kernelScratch, gathered = dense + m * nk
                bias.gatherRelative(tables, qRows: qPtr, ldq: q.rowStride, q0: q0, m: m, hd: hd,
                                    product: gathered + m * (relH + relW), into: gathered)
                for i in 0..<m {
                    let gh = gathered + i * (relH + relW), gw = gh + relH, row = dense + i * nk
                    for ky in 0..<relH {
                        let hv = gh[ky], r = row + ky * relW
                        for kx in 0..<relW { r[kx] = hv + gw[kx] }
                    }
                }
                biasRows = UnsafePointer(dense)
            }
            var job = cvk_attention_rows(
                q: qPtr, k: k.pointer(batch: img, head: head, row: 0), v: v.pointer(batch: img, head: head, row: 0),
                bias: biasRows, out: O + (img * nq + q0) * d + head * hd,
                ldq: q.rowStride, ldk: k.rowStride, ldv: v.rowStride, ldb: nk, ldo: d,
                m: m, n: nk, hd: hd, scale: scale)
            vec.attentionRows(&job, scratch: mem)
        }
    }
}

/// The additive score bias of one attention op, prepared once per call.
private struct AttentionBiasPlan {
    enum Kind {
        case none
        /// SAM's decomposed relative position: tables `Rh [2h−1, hd]`, `Rw [2w−1, hd]`.
        case relative((rh: UnsafePointer<Float>, rw: UnsafePointer<Float>))
        /// TinyViT: `table [heads, ws²]` and the table column of every (query, key) pair.
        case table(UnsafePointer<Float>, [Int32])
    }
    var kind: Kind = .none
    var height = 0, width = 0, nk = 0
    /// Floats of scratch the relative-position gather needs per query: h + w gathered values.
    var relHeight: Int { height }
    var relWidth: Int { width }
    /// Columns of the q·Rᵀ products: (2h−1) + (2w−1).
    var relTableRows: Int { height == 0 ? 0 : 2 * height - 1 + 2 * width - 1 }

    init(_ bias: AttentionBias, inputs x: [HostTensor], from i: Int, nq: Int, nk: Int) {
        self.nk = nk
        switch bias {
        case .none: break
        case .relativePosition(let h, let w):
            height = h
            width = w
            kind = .relative((x[i].const, x[i + 1].const))
        case .biasTable(let ws):
            var index = [Int32](repeating: 0, count: nq * nk)
            for a in 0..<nq {
                for b in 0..<nk {
                    index[a * nk + b] = Int32(abs(a / ws - b / ws) * ws + abs(a % ws - b % ws))
                }
            }
            kind = .table(x[i].const, index)
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

    /// Adds the bias to the score tile `s[m, n]` of queries q0..<q0+m and keys k0..<k0+n.
    func add(to s: UnsafeMutablePointer<Float>, ld: Int, head: Int, q0: Int, m: Int, k0: Int, n: Int,
             gathered: UnsafeMutablePointer<Float>) {
        switch kind {
        case .none: return
        case .relative:
            let h = height, w = width
            for i in 0..<m {
                let row = s + i * ld, gh = gathered + i * (h + w), gw = gh + h
                var key = k0
                while key < k0 + n {
                    // A run of keys within one key row ky: columns kx..<kx+run.
                    let ky = key / w, kx = key % w
                    let run = min(w - kx, k0 + n - key)
                    let base = row + (key - k0), hv = gh[ky], wv = gw + kx
                    let h8 = F8(repeating: hv)
                    var j = 0
                    while j + 8 <= run { base.store8(j, base.load8(j) + (h8 + wv.load8(j))); j += 8 }
                    while j < run { base[j] += hv + wv[j]; j += 1 }
                    key += run
                }
            }
        case .table(let table, let index):
            // The table is [heads, ws²] and ws² equals the number of keys.
            let cols = nk
            let tableRow = table + head * cols
            index.withUnsafeBufferPointer { idx in
                for i in 0..<m {
                    let row = s + i * ld, ir = idx.baseAddress! + (q0 + i) * cols + k0
                    for j in 0..<n { row[j] += tableRow[Int(ir[j])] }
                }
            }
        }
    }

}

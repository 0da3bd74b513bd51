import TensorRuntime

/// A block of one GEMM: rows `rows` and columns `cols` of batch item `batch`.
struct GEMMBlock {
    var batch: Int
    var rows: Range<Int>
    var cols: Range<Int>
}

/// How to cut a batch of `m × n` GEMMs into blocks so every worker gets equal work and each
/// block stays large enough for OpenBLAS to run near its peak.
enum GEMMPartition {
    static func blocks(batch: Int, m: Int, n: Int, threads: Int) -> [GEMMBlock] {
        if batch == 0 || m == 0 || n == 0 { return [] }
        // Pieces per matrix so that batch·pieces is a multiple of the thread count.
        var pieces = 1
        if threads > 1 && batch < 4 * threads {
            pieces = threads / gcd(batch, threads)
            if batch * pieces < 2 * threads && m * n >= 1 << 16 { pieces *= 2 }
        }
        // Split the longer side, in multiples of 16 (OpenBLAS's micro-tile widths divide 16).
        let splitRows = m >= n || n < 64 * pieces
        let extent = splitRows ? m : n
        pieces = max(1, min(pieces, extent / 16))
        var result: [GEMMBlock] = []
        result.reserveCapacity(batch * pieces)
        for b in 0..<batch {
            for p in 0..<pieces {
                let lo = (extent * p / pieces) & ~15, hi = p == pieces - 1 ? extent : (extent * (p + 1) / pieces) & ~15
                if lo >= hi { continue }
                result.append(splitRows ? GEMMBlock(batch: b, rows: lo..<hi, cols: 0..<n)
                                        : GEMMBlock(batch: b, rows: 0..<m, cols: lo..<hi))
            }
        }
        return result
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
}

extension CPUBackend {
    /// `C = act(op(A)·op(B) + bias)`, batched; each block's bias and activation are applied by
    /// the worker that computed it while the block is still in cache.
    func matmul(_ p: MatMulParams, _ x: [HostTensor], _ out: HostTensor) {
        let a = x[0], b = x[1]
        let m = out.shape[-2], n = out.shape[-1]
        let k = p.transposeA ? a.shape[-2] : a.shape[-1]
        var batch = out.shape.count / max(m * n, 1)
        if m * n == 0 { return }
        let bShared = b.shape.rank == 2
        let bias = p.hasBias ? x[2].const : nil
        // With a shared B and A not transposed, the batch is just more rows of one GEMM.
        var rowsTotal = m
        if bShared && !p.transposeA {
            rowsTotal = batch * m
            batch = 1
        }
        let lda = p.transposeA ? m : k, ldb = p.transposeB ? k : n
        let aStride = m * k, bStride = bShared ? 0 : k * n, cStride = rowsTotal * n
        let blocks = GEMMPartition.blocks(batch: batch, m: rowsTotal, n: n, threads: threads)
        let A = a.const, B = b.const, C = out.ptr
        let transA = p.transposeA, transB = p.transposeB, act = p.activation, vec = self.vec
        let epilogue = bias != nil || act != .none
        pool.run(blocks.count) { t, _ in
            let blk = blocks[t]
            let c0 = blk.cols.lowerBound, cols = blk.cols.count
            // op(B) (k × cols) is what OpenBLAS repacks in every call.
            Self.forEachEpilogueChunk(blk.rows, width: cols, minimum: 16, epilogue: epilogue, packedFloats: k * cols) { r0, rows in
                // Row r of op(A) starts at r·lda (stored as is) or at column r (transposed).
                let aPtr = A + blk.batch * aStride + (transA ? r0 : r0 * lda)
                let bPtr = B + blk.batch * bStride + (transB ? c0 * ldb : c0)
                let cPtr = C + blk.batch * cStride + r0 * n + c0
                BLAS.sgemm(transA: transA, transB: transB, m: rows, n: cols, k: k,
                           a: aPtr, lda: lda, b: bPtr, ldb: ldb, c: cPtr, ldc: n)
                if epilogue {
                    for r in 0..<rows { vec.biasActivate(cPtr + r * n, cols, bias: bias.map { $0 + c0 }, act) }
                }
            }
        }
    }

    /// Output floats per GEMM call when a bias/activation epilogue follows (256 KB: half of L2).
    static let epilogueChunkFloats = 1 << 16

    /// Splits `range` (the rows, or pixel columns, of one GEMM block, each `width` outputs long)
    /// into the GEMM calls to make, calling `body(start, count)` for each. With an epilogue and a
    /// small packed operand, chunks of about `epilogueChunkFloats` outputs (at least `minimum`),
    /// so bias and activation (GELU is ~20 vector instructions per 8 values) run on data still in
    /// L2 instead of streaming the block through memory twice. OpenBLAS repacks its operand in
    /// every call, so a large one (ViT's 768 × 2304 weights) keeps the block whole.
    static func forEachEpilogueChunk(_ range: Range<Int>, width: Int, minimum: Int, epilogue: Bool, packedFloats: Int,
                                     _ body: (_ start: Int, _ count: Int) -> Void) {
        let chunked = epilogue && packedFloats <= epilogueChunkFloats
        let chunk = chunked ? max(minimum, epilogueChunkFloats / max(width, 1)) : range.count
        var start = range.lowerBound
        while start < range.upperBound {
            let count = min(chunk, range.upperBound - start)
            body(start, count)
            start += count
        }
    }
}

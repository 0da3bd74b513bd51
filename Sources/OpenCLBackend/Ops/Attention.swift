import TensorRuntime

extension OpenCLBackend {
    /// Head dims above this would need more private memory per query than devices offer.
    static let maxHeadDim = 256

    /// Queries per work-group and keys per local-memory tile for a head dim.
    func attentionBlocks(headDim hd: Int) -> (bq: Int, bk: Int) {
        let d = cl.device
        let bq = d.isGPU ? d.clampWorkGroup(64) : d.clampWorkGroup(16)
        // K and V tiles (2·BK·HD floats) within half the local memory.
        var bk = 64
        while bk > 1 && 2 * bk * hd * 4 > d.localMemBytes / 2 { bk /= 2 }
        return (max(bq, 1), bk)
    }

    func encodeAttention(_ p: AttentionParams, _ l: OpLaunch) throws {
        let hd = p.headDim, d = p.heads * hd
        let qShape = l.inputs[0].shape
        let batch = qShape[0], nq = qShape[1]
        // Per layout: which input holds q/k/v, their channel offsets, row and head strides.
        let qIn: Int, kIn: Int, vIn: Int, qOff: Int, kOff: Int, vOff: Int, row: Int, kRow: Int, headStride: Int
        let nk: Int
        let biasStart: Int
        switch p.layout {
        case .separate:
            (qIn, kIn, vIn, qOff, kOff, vOff, row, kRow, headStride) = (0, 1, 2, 0, 0, 0, d, d, hd)
            nk = l.inputs[1].shape[1]
            biasStart = 3
        case .packedSAM:
            (qIn, kIn, vIn, qOff, kOff, vOff, row, kRow, headStride) = (0, 0, 0, 0, d, 2 * d, 3 * d, 3 * d, hd)
            nk = nq
            biasStart = 1
        case .packedTinyViT:
            (qIn, kIn, vIn, qOff, kOff, vOff, row, kRow, headStride) = (0, 0, 0, 0, hd, 2 * hd, 3 * d, 3 * d, 3 * hd)
            nk = nq
            biasStart = 1
        }
        let paddedHD = (hd + 15) / 16 * 16
        let blocks = attentionBlocks(headDim: paddedHD)
        let defines = ["HD": paddedHD, "BQ": blocks.bq, "BK": blocks.bk]
        var biasKind = 0, gh = 1, gw = 1
        var rel = try l.input(0)[0]
        var table: [KernelArg] = try l.input(0)
        switch p.bias {
        case .none:
            break
        case .relativePosition(let h, let w):
            biasKind = 1
            (gh, gw) = (h, w)
            let terms = batch * p.heads * nq * (h + w)
            let scratch = try l.building ? l.backend.mem(l.inputs[0]) : scratchBuffer(floats: terms)
            rel = .buffer(scratch)
            let q = l.inputs[qIn]
            try l.run(["attention"], "relpos_terms", defines: defines,
                      global: [nq, batch * p.heads], local: nil,
                      [.buffer(try mem(q)), .int(q.offset + qOff)] + l.input(biasStart) + l.input(biasStart + 1)
                          + [rel, .int(nq), .int(p.heads), .int(hd), .int(row), .int(headStride), .int(h), .int(w)])
        case .biasTable(let window):
            biasKind = 2
            (gh, gw) = (window, window)
            table = try l.input(biasStart)
        }
        let q = l.inputs[qIn], k = l.inputs[kIn], v = l.inputs[vIn]
        try l.run(["attention"], "attention", defines: defines,
                  global: [nq, batch * p.heads], local: [blocks.bq, 1],
                  [.buffer(try mem(q)), .int(q.offset + qOff), .buffer(try mem(k)), .int(k.offset + kOff),
                   .buffer(try mem(v)), .int(v.offset + vOff)] + l.out() + [rel] + table
                      + [.int(nq), .int(nk), .int(p.heads), .int(hd), .int(row), .int(kRow), .int(kRow), .int(headStride),
                         .float(p.scale), .int(biasKind), .int(gh), .int(gw)])
    }
}

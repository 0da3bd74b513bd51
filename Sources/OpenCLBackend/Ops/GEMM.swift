import TensorRuntime

extension OpenCLBackend {
    /// Enqueues the tiled GEMM of `variant` (gemm_matmul / gemm_conv / gemm_convt).
    /// `params` are the variant's 14 leading parameters; the bias flag and activation follow.
    private func gemm(_ l: OpLaunch, variant: String, defines: [String: Int], m: Int, n: Int, k: Int, batch: Int,
                      a: Int, b: Int, bias: Int?, activation: Activation = .none, params: [Int]) throws {
        precondition(params.count <= 14)
        let packed = params + [Int](repeating: 0, count: 14 - params.count) + [bias == nil ? 0 : 1, activation.code]
        let t = gemmTiles
        let wg = t.workGroup
        let global = [(n + t.tsn - 1) / t.tsn * wg.n, (m + t.tsm - 1) / t.tsm * wg.m, batch]
        try l.run([variant, "gemm_core"], "gemm", defines: t.defines.merging(defines) { $1 },
                  global: global, local: [wg.n, wg.m, 1],
                  try l.input(a) + l.input(b) + (bias.map { try l.input($0) } ?? l.input(a)) + l.out()
                      + [.int(m), .int(n), .int(k), .int16(packed)])
    }

    func encodeMatMul(_ p: MatMulParams, _ l: OpLaunch) throws {
        let a = l.inputs[0].shape, b = l.inputs[1].shape
        let m = p.transposeA ? a[-1] : a[-2], k = p.transposeA ? a[-2] : a[-1]
        let n = p.transposeB ? b[-2] : b[-1]
        let batch = a.count / max(m * k, 1)
        try gemm(l, variant: "gemm_matmul",
                 defines: ["TRANS_A": p.transposeA ? 1 : 0, "TRANS_B": p.transposeB ? 1 : 0],
                 m: m, n: n, k: k, batch: batch, a: 0, b: 1, bias: p.hasBias ? 2 : nil, activation: p.activation,
                 params: [b.rank > 2 ? 1 : 0])
    }

    func encodeConv2D(_ p: Conv2DParams, _ l: OpLaunch) throws {
        let x = l.inputs[0].shape, w = l.inputs[1].shape
        let oh = (x[2] + 2 * p.padY - w[2]) / p.strideY + 1
        let ow = (x[3] + 2 * p.padX - w[3]) / p.strideX + 1
        if w[1] == 1 && p.groups > 1 {
            // One input channel per group: a direct kernel; a GEMM with K = kh·kw is mostly padding.
            let count = x[0] * w[0] * oh * ow
            try l.run(["conv_direct"], "conv2d_depthwise", global: [count],
                      try l.input(0) + l.input(1) + (p.hasBias ? l.input(2) : l.input(0)) + l.out()
                          + [count, x[1], x[2], x[3], w[0], oh, ow, w[2], w[3], p.strideY, p.strideX, p.padY, p.padX,
                             p.hasBias ? 1 : 0, p.activation.code].map { .int($0) })
            return
        }
        try gemm(l, variant: "gemm_conv", defines: [:],
                 m: w[0] / p.groups, n: oh * ow, k: w[1] * w[2] * w[3], batch: x[0] * p.groups,
                 a: 1, b: 0, bias: p.hasBias ? 2 : nil, activation: p.activation,
                 params: [x[1], x[2], x[3], ow, w[2], w[3], p.strideY, p.strideX, p.padY, p.padX, p.groups, w[0]])
    }

    func encodeConvTranspose(_ l: OpLaunch) throws {
        let x = l.inputs[0].shape, w = l.inputs[1].shape
        try gemm(l, variant: "gemm_convt", defines: [:],
                 m: w[1] * 4, n: x[2] * x[3], k: x[1], batch: x[0], a: 1, b: 0, bias: 2,
                 params: [w[1], x[2], x[3]])
    }
}

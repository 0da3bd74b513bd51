import TensorRuntime

extension OpenCLBackend {
    /// Work-group size of the row kernels: 256 lanes (capped by the device) for rows long
    /// enough to fill them, 32 for short rows. Two sizes only, because each is its own program
    /// build (seconds on PoCL).
    func rowWorkGroup(_ length: Int) -> Int {
        let cap = cl.device.clampWorkGroup(length >= 256 ? 256 : 32)
        var wg = 1
        while wg * 2 <= cap { wg *= 2 }
        return wg
    }

    func encodeLayerNorm(axis: NormAxis, eps: Float, _ l: OpLaunch) throws {
        let x = l.inputs[0].shape
        switch axis {
        case .last:
            let c = x[-1], rows = x.count / max(c, 1)
            let wg = rowWorkGroup(c)
            try l.run(["norm"], "layer_norm_rows", defines: ["WG": wg], global: [rows * wg], local: [wg],
                      try l.input(0) + l.input(1) + l.input(2) + l.out() + [.int(c), .float(eps)])
        case .channels:
            let c = x[1], hw = x[2] * x[3], pixels = x[0] * hw
            try l.run(["norm"], "layer_norm_channels", defines: ["WG": rowWorkGroup(1)], global: [pixels],
                      try l.input(0) + l.input(1) + l.input(2) + l.out() + [.int(pixels), .int(c), .int(hw), .float(eps)])
        }
    }

    func encodeSoftmax(_ l: OpLaunch) throws {
        let x = l.inputs[0].shape
        let c = x[-1], rows = x.count / max(c, 1)
        let wg = rowWorkGroup(c)
        try l.run(["norm"], "softmax_rows", defines: ["WG": wg], global: [rows * wg], local: [wg],
                  try l.input(0) + l.out() + [.int(c)])
    }
}

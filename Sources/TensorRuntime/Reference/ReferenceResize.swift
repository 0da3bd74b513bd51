/// Bilinear resize of the last two axes, matching PyTorch's `F.interpolate(mode="bilinear",
/// align_corners=False)` with and without `antialias=True`.
///
/// Both paths are separable: each output row/column is a weighted sum of input rows/columns,
/// so the resize is described by one weight table per axis.
enum ReferenceResize {
    /// The input indices and weights that make up one output position along one axis.
    struct Taps {
        var first: Int
        var weights: [Double]
    }

    static func resize(_ x: Tensor, height: Int, width: Int, antialias: Bool, out shape: Shape) -> Tensor {
        let inH = x.shape[-2], inW = x.shape[-1]
        let rows = antialias ? antialiasTaps(input: inH, output: height) : bilinearTaps(input: inH, output: height)
        let cols = antialias ? antialiasTaps(input: inW, output: width) : bilinearTaps(input: inW, output: width)
        let planes = inH * inW == 0 ? 0 : x.count / (inH * inW)
        var out = [Float](repeating: 0, count: shape.count)
        for plane in 0..<planes {
            let inBase = plane * inH * inW, outBase = plane * height * width
            for oy in 0..<height {
                let r = rows[oy]
                for ox in 0..<width {
                    let c = cols[ox]
                    var acc = 0.0
                    for (dy, wy) in r.weights.enumerated() {
                        var rowSum = 0.0
                        let rowBase = inBase + (r.first + dy) * inW + c.first
                        for (dx, wx) in c.weights.enumerated() { rowSum += wx * Double(x.data[rowBase + dx]) }
                        acc += wy * rowSum
                    }
                    out[outBase + oy * width + ox] = Float(acc)
                }
            }
        }
        return Tensor(shape: shape, data: out)
    }

    /// Plain bilinear (`align_corners=False`): src = (dst + 0.5)·in/out − 0.5 clamped at 0; the
    /// upper neighbour is clamped to the last index.
    static func bilinearTaps(input: Int, output: Int) -> [Taps] {
        let scale = Double(input) / Double(output)
        return (0..<output).map { dst in
            let src = max(scale * (Double(dst) + 0.5) - 0.5, 0)
            let i0 = Int(src)
            let lambda = src - Double(i0)
            if i0 >= input - 1 { return Taps(first: input - 1, weights: [1]) }
            return Taps(first: i0, weights: [1 - lambda, lambda])
        }
    }

    /// PyTorch's antialiased bilinear weights: a triangle filter whose support grows with the
    /// downscale factor, evaluated at input pixel centres and normalised to sum 1. When
    /// upscaling (scale < 1) this is the same as plain bilinear.
    static func antialiasTaps(input: Int, output: Int) -> [Taps] {
        let scale = Double(input) / Double(output)
        let support = scale >= 1 ? scale : 1.0
        let invScale = scale >= 1 ? 1 / scale : 1.0
        return (0..<output).map { dst in
            let center = scale * (Double(dst) + 0.5)
            // Truncation toward zero, as the C++ cast does; clamped into the input.
            let lo = max(Int(center - support + 0.5), 0)
            let hi = min(Int(center + support + 0.5), input)
            var weights = (lo..<hi).map { j -> Double in
                let t = abs((Double(j) - center + 0.5) * invScale)
                return t < 1 ? 1 - t : 0
            }
            let total = weights.reduce(0, +)
            if total != 0 { weights = weights.map { $0 / total } }
            return Taps(first: lo, weights: weights)
        }
    }
}

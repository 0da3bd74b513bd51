import Foundation

/// Layer norms and softmax of the reference backend, with float64 statistics.
enum ReferenceNormalization {
    /// `.last`: normalise each row of the last axis. `.channels`: normalise over C at every (b, y, x)
    /// of `[B, C, H, W]`. Both use the biased variance with `eps` inside the square root.
    static func layerNorm(axis: NormAxis, eps: Float, _ inputs: [Tensor], out shape: Shape) -> Tensor {
        let x = inputs[0].data, gamma = inputs[1].data, beta = inputs[2].data
        // Element c of group g sits at groupBase(g) + c·channelStride.
        let channels: Int, channelStride: Int, groups: Int
        let groupBase: (Int) -> Int
        switch axis {
        case .last:
            channels = shape[-1]; channelStride = 1
            groups = channels == 0 ? 0 : shape.count / channels
            groupBase = { $0 * channels }
        case .channels:
            channels = shape[1]
            let plane = shape[2] * shape[3]
            channelStride = plane
            groups = shape[0] * plane
            groupBase = { g in (g / plane) * channels * plane + g % plane }
        }
        var out = [Float](repeating: 0, count: shape.count)
        let e = Double(eps)
        for g in 0..<groups {
            let base = groupBase(g)
            var sum = 0.0
            for c in 0..<channels { sum += Double(x[base + c * channelStride]) }
            let mean = sum / Double(channels)
            var sq = 0.0
            for c in 0..<channels {
                let d = Double(x[base + c * channelStride]) - mean
                sq += d * d
            }
            let inv = 1 / (sq / Double(channels) + e).squareRoot()
            for c in 0..<channels {
                let i = base + c * channelStride
                out[i] = Float((Double(x[i]) - mean) * inv * Double(gamma[c]) + Double(beta[c]))
            }
        }
        return Tensor(shape: shape, data: out)
    }

    static func softmax(_ input: Tensor) -> Tensor {
        let n = input.shape[-1]
        var out = [Float](repeating: 0, count: input.count)
        guard n > 0 else { return Tensor(shape: input.shape, data: out) }
        var row = [Double](repeating: 0, count: n)
        for r in 0..<(input.count / n) {
            for i in 0..<n { row[i] = Double(input.data[r * n + i]) }
            softmaxInPlace(&row)
            for i in 0..<n { out[r * n + i] = Float(row[i]) }
        }
        return Tensor(shape: input.shape, data: out)
    }

    /// Max-subtracted softmax of a float64 row.
    static func softmaxInPlace(_ row: inout [Double]) {
        guard let maxValue = row.max() else { return }
        var sum = 0.0
        for i in row.indices {
            row[i] = exp(row[i] - maxValue)
            sum += row[i]
        }
        for i in row.indices { row[i] /= sum }
    }
}

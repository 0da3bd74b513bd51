import Foundation

/// `skimage.transform.resize(img, (H', W'), order=3, preserve_range=True, anti_aliasing=True)`
/// with its default mode "reflect", followed by `.astype(np.uint8)`, as MedSAM's inference
/// preprocessing does (docs/sam-spec.md §7).
///
/// Steps, each as SciPy does them in float64: a Gaussian pre-filter with σ = max(0, (in/out − 1)/2)
/// per axis (only when downscaling; kernel radius ⌊4σ + 0.5⌋, whole-sample "mirror" boundary),
/// then `ndimage.zoom(order=3, mode="mirror", grid_mode=True)`: cubic B-spline coefficients by
/// the recursive pre-filter (pole √3 − 2), evaluated at (o + 0.5)·in/out − 0.5; then clipping
/// to the input's range and truncation to 8 bits. Deviation: the order of floating-point
/// operations is SciPy's as far as its C code goes, but values that land within ~1e-12 of an
/// integer can truncate differently; the fixture test reports how many pixels differ.
public enum CubicSplineResize {
    public static func resize(_ pixels: [Float], height: Int, width: Int, channels cn: Int,
                              newHeight: Int, newWidth: Int) -> [Float] {
        var out = [Float](repeating: 0, count: newHeight * newWidth * cn)
        for c in 0..<cn {
            var plane = [Double](repeating: 0, count: height * width)
            for i in 0..<(height * width) { plane[i] = Double(pixels[i * cn + c]) }
            let lo = plane.min() ?? 0, hi = plane.max() ?? 0
            let sy = max(0, (Double(height) / Double(newHeight) - 1) / 2)
            let sx = max(0, (Double(width) / Double(newWidth) - 1) / 2)
            if sy > 1e-15 { plane = gaussianAxis(plane, rows: height, cols: width, sigma: sy, alongRows: true) }
            if sx > 1e-15 { plane = gaussianAxis(plane, rows: height, cols: width, sigma: sx, alongRows: false) }
            // Spline coefficients along axis 0 then axis 1, as ndimage.spline_filter does.
            for x in 0..<width {
                var line = (0..<height).map { plane[$0 * width + x] }
                splineFilter(&line)
                for y in 0..<height { plane[y * width + x] = line[y] }
            }
            for y in 0..<height {
                var line = Array(plane[(y * width)..<((y + 1) * width)])
                splineFilter(&line)
                plane.replaceSubrange((y * width)..<((y + 1) * width), with: line)
            }
            let ty = taps(inSize: height, outSize: newHeight), tx = taps(inSize: width, outSize: newWidth)
            for oy in 0..<newHeight {
                for ox in 0..<newWidth {
                    var v = 0.0
                    for (iy, wy) in zip(ty[oy].index, ty[oy].weight) {
                        var row = 0.0
                        for (ix, wx) in zip(tx[ox].index, tx[ox].weight) { row += plane[iy * width + ix] * wx }
                        v += row * wy
                    }
                    v = min(max(v, lo), hi)
                    out[(oy * newWidth + ox) * cn + c] = Float(v.rounded(.towardZero))
                }
            }
        }
        return out
    }

    /// Whole-sample symmetric index ("mirror": … 2 1 | 0 1 2 … n−1 | n−2 …).
    private static func mirror(_ i: Int, _ n: Int) -> Int {
        if n == 1 { return 0 }
        let period = 2 * n - 2
        var k = i % period
        if k < 0 { k += period }
        return k < n ? k : period - k
    }

    private static func gaussianAxis(_ p: [Double], rows: Int, cols: Int, sigma: Double, alongRows: Bool) -> [Double] {
        let radius = Int(4.0 * sigma + 0.5)
        var w = (-radius...radius).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }
        let total = w.reduce(0, +)
        w = w.map { $0 / total }
        var out = p
        let n = alongRows ? rows : cols
        for a in 0..<(alongRows ? cols : rows) {
            for i in 0..<n {
                var s = 0.0
                for k in -radius...radius {
                    let j = mirror(i + k, n)
                    s += w[k + radius] * (alongRows ? p[j * cols + a] : p[a * cols + j])
                }
                if alongRows { out[i * cols + a] = s } else { out[a * cols + i] = s }
            }
        }
        return out
    }

    /// SciPy's cubic B-spline pre-filter with mirror boundary conditions.
    private static func splineFilter(_ c: inout [Double]) {
        let n = c.count
        guard n > 1 else { return }
        let z = 3.0.squareRoot() - 2
        let gain = (1 - z) * (1 - 1 / z)
        for i in 0..<n { c[i] *= gain }
        // Causal initialisation (mirror).
        var zi = z
        let zn1 = pow(z, Double(n - 1))
        c[0] = c[0] + zn1 * c[n - 1]
        if n > 2 {
            for i in 1..<(n - 1) {
                c[0] += zi * (c[i] + zn1 * c[n - 1 - i])
                zi *= z
            }
        }
        c[0] /= 1 - zn1 * zn1
        for i in 1..<n { c[i] += z * c[i - 1] }
        // Anti-causal initialisation (mirror).
        c[n - 1] = (z * c[n - 2] + c[n - 1]) * z / (z * z - 1)
        for i in stride(from: n - 2, through: 0, by: -1) { c[i] = z * (c[i + 1] - c[i]) }
    }

    /// Four source indices (mirrored) and cubic B-spline weights per output index.
    private static func taps(inSize: Int, outSize: Int) -> [(index: [Int], weight: [Double])] {
        let zoom = Double(inSize) / Double(outSize)
        return (0..<outSize).map { o in
            let x = (Double(o) + 0.5) * zoom - 0.5
            let start = Int(x.rounded(.down)) - 1
            let t = x - Double(start + 1)
            let w0 = (1 - t) * (1 - t) * (1 - t) / 6
            let w1 = (3 * t * t * t - 6 * t * t + 4) / 6
            let w2 = (-3 * t * t * t + 3 * t * t + 3 * t + 1) / 6
            let w3 = t * t * t / 6
            return ((0..<4).map { mirror(start + $0, inSize) }, [w0, w1, w2, w3])
        }
    }
}

/// Pillow's `Image.resize(size, BILINEAR)` on 8-bit images, which SAM's `ResizeLongestSide.apply_image`
/// uses through torchvision (docs/sam-spec.md §4): a triangle filter widened by the scale when downscaling
/// (antialiasing), coefficients normalised and rounded to 22-bit fixed point, a horizontal pass
/// into an 8-bit intermediate image, then a vertical pass.
public enum PILBilinear {
    private static let precisionBits = 22

    /// Per output index: first source index and fixed-point weights.
    private static func coefficients(inSize: Int, outSize: Int) -> [(start: Int, weights: [Int])] {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 1.0 * filterScale
        return (0..<outSize).map { xx in
            let center = (Double(xx) + 0.5) * scale
            let ss = 1 / filterScale
            let xmin = max(Int(center - support + 0.5), 0)
            let xmax = min(Int(center + support + 0.5), inSize) - xmin
            var w = (0..<max(xmax, 0)).map { x -> Double in
                let t = abs((Double(x + xmin) - center + 0.5) * ss)
                return t < 1 ? 1 - t : 0
            }
            let total = w.reduce(0, +)
            if total != 0 { w = w.map { $0 / total } }
            let fixed = w.map { v -> Int in
                let s = v * Double(1 << precisionBits)
                return Int(v < 0 ? s - 0.5 : s + 0.5)
            }
            return (xmin, fixed)
        }
    }

    private static func clip8(_ v: Int) -> Float { Float(min(max(v >> precisionBits, 0), 255)) }

    /// - Parameter pixels: `height × width × channels` values 0…255.
    public static func resize(_ pixels: [Float], height: Int, width: Int, channels cn: Int,
                              newHeight: Int, newWidth: Int) -> [Float] {
        var current = pixels
        var curW = width
        if newWidth != width {
            let taps = coefficients(inSize: width, outSize: newWidth)
            var out = [Float](repeating: 0, count: height * newWidth * cn)
            for y in 0..<height {
                for (x, t) in taps.enumerated() {
                    for c in 0..<cn {
                        var ss = 1 << (precisionBits - 1)
                        for (k, wk) in t.weights.enumerated() { ss += Int(current[(y * curW + t.start + k) * cn + c]) * wk }
                        out[(y * newWidth + x) * cn + c] = clip8(ss)
                    }
                }
            }
            current = out
            curW = newWidth
        }
        if newHeight != height {
            let taps = coefficients(inSize: height, outSize: newHeight)
            var out = [Float](repeating: 0, count: newHeight * curW * cn)
            for (y, t) in taps.enumerated() {
                for x in 0..<curW {
                    for c in 0..<cn {
                        var ss = 1 << (precisionBits - 1)
                        for (k, wk) in t.weights.enumerated() { ss += Int(current[((t.start + k) * curW + x) * cn + c]) * wk }
                        out[(y * curW + x) * cn + c] = clip8(ss)
                    }
                }
            }
            current = out
        }
        return current
    }
}

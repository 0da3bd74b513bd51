/// OpenCV's `cv2.resize(..., interpolation=INTER_AREA)` on 8-bit interleaved images, as
/// LiteMedSAM's `resize_longest_side` calls it (docs/sam-spec.md §8.3).
///
/// Downscaling follows OpenCV's two area paths: integer factors average whole blocks (2×2 with
/// the `(sum + 2) >> 2` rounding of its fast path, other factors `sum · (1/area)` rounded half to
/// even), other factors use OpenCV's area-weight tables accumulated in float32 in its order.
/// Upscaling uses OpenCV's INTER_AREA coefficients (nearest-like, with blending only at cell
/// borders) in 11-bit fixed point, with the 16-bit rounding of its 8-bit vertical pass.
public enum AreaResize {
    /// - Parameters:
    ///   - pixels: `height × width × channels` values 0…255, row-major.
    /// - Returns: `newHeight × newWidth × channels` values 0…255 (integers).
    public static func resize(_ pixels: [Float], height: Int, width: Int, channels: Int,
                              newHeight: Int, newWidth: Int) -> [Float] {
        let sx = Double(width) / Double(newWidth), sy = Double(height) / Double(newHeight)
        if sx >= 1, sy >= 1 {
            let ix = Int(sx.rounded()), iy = Int(sy.rounded())
            if abs(sx - Double(ix)) < Double.ulpOfOne, abs(sy - Double(iy)) < Double.ulpOfOne {
                return blockAverage(pixels, width: width, channels: channels, factorX: ix, factorY: iy,
                                    newHeight: newHeight, newWidth: newWidth)
            }
            return areaWeighted(pixels, height: height, width: width, channels: channels,
                                newHeight: newHeight, newWidth: newWidth, scaleX: sx, scaleY: sy)
        }
        return areaUpscale(pixels, height: height, width: width, channels: channels,
                           newHeight: newHeight, newWidth: newWidth, scaleX: sx, scaleY: sy)
    }

    private static func saturate(_ v: Float) -> Float { min(max(v.rounded(.toNearestOrEven), 0), 255) }

    private static func blockAverage(_ p: [Float], width: Int, channels cn: Int, factorX fx: Int, factorY fy: Int,
                                     newHeight: Int, newWidth: Int) -> [Float] {
        var out = [Float](repeating: 0, count: newHeight * newWidth * cn)
        let fast2x2 = fx == 2 && fy == 2 && (cn == 1 || cn == 3 || cn == 4)
        let scale = Float(1) / Float(fx * fy)
        for y in 0..<newHeight {
            for x in 0..<newWidth {
                for c in 0..<cn {
                    var sum = 0
                    for dy in 0..<fy {
                        for dx in 0..<fx { sum += Int(p[((y * fy + dy) * width + x * fx + dx) * cn + c]) }
                    }
                    out[(y * newWidth + x) * cn + c] = fast2x2 ? Float((sum + 2) >> 2) : saturate(Float(sum) * scale)
                }
            }
        }
        return out
    }

    /// OpenCV's `computeResizeAreaTab`: (destination index, source index, weight) triples.
    private static func areaTable(source: Int, destination: Int, scale: Double) -> [(d: Int, s: Int, alpha: Float)] {
        var tab: [(Int, Int, Float)] = []
        for dx in 0..<destination {
            let fsx1 = Double(dx) * scale, fsx2 = fsx1 + scale
            let cellWidth = min(scale, Double(source) - fsx1)
            var sx1 = Int(fsx1.rounded(.up)), sx2 = Int(fsx2.rounded(.down))
            sx2 = min(sx2, source - 1)
            sx1 = min(sx1, sx2)
            if Double(sx1) - fsx1 > 1e-3 { tab.append((dx, sx1 - 1, Float((Double(sx1) - fsx1) / cellWidth))) }
            if sx1 < sx2 { for sx in sx1..<sx2 { tab.append((dx, sx, Float(1.0 / cellWidth))) } }
            if fsx2 - Double(sx2) > 1e-3 {
                tab.append((dx, sx2, Float(min(min(fsx2 - Double(sx2), 1), cellWidth) / cellWidth)))
            }
        }
        return tab
    }

    private static func areaWeighted(_ p: [Float], height: Int, width: Int, channels cn: Int, newHeight: Int,
                                     newWidth: Int, scaleX: Double, scaleY: Double) -> [Float] {
        let xtab = areaTable(source: width, destination: newWidth, scale: scaleX)
        let ytab = areaTable(source: height, destination: newHeight, scale: scaleY)
        let rowLen = newWidth * cn
        var out = [Float](repeating: 0, count: newHeight * rowLen)
        var buf = [Float](repeating: 0, count: rowLen)
        var sum = [Float](repeating: 0, count: rowLen)
        var prevDy = ytab.first?.d ?? 0
        for (dy, sy, beta) in ytab {
            for i in 0..<rowLen { buf[i] = 0 }
            let row = sy * width * cn
            for (dx, sx, alpha) in xtab {
                for c in 0..<cn {
                    let t: Float = buf[dx * cn + c] + p[row + sx * cn + c] * alpha
                    buf[dx * cn + c] = t
                }
            }
            if dy != prevDy {
                for i in 0..<rowLen {
                    out[prevDy * rowLen + i] = saturate(sum[i])
                    sum[i] = beta * buf[i]
                }
                prevDy = dy
            } else {
                for i in 0..<rowLen {
                    let t: Float = beta * buf[i]
                    sum[i] = sum[i] + t
                }
            }
        }
        for i in 0..<rowLen { out[prevDy * rowLen + i] = saturate(sum[i]) }
        return out
    }

    /// OpenCV's INTER_AREA coefficients for enlargement (its `area_mode` of the linear resizer).
    private static func upscaleTaps(source: Int, destination: Int, scale: Double) -> [(s: Int, w0: Int, w1: Int)] {
        let inv = 1 / scale
        return (0..<destination).map { dx in
            var sx = Int((Double(dx) * scale).rounded(.down))
            var fx = Float(Double(dx + 1) - Double(sx + 1) * inv)
            fx = fx <= 0 ? 0 : fx - fx.rounded(.down)
            if sx < 0 { fx = 0; sx = 0 }
            if sx + 1 >= source { fx = 0; sx = source - 1 }
            let w0 = Int(((1 - fx) * 2048).rounded(.toNearestOrEven)), w1 = Int((fx * 2048).rounded(.toNearestOrEven))
            return (sx, w0, w1)
        }
    }

    private static func areaUpscale(_ p: [Float], height: Int, width: Int, channels cn: Int, newHeight: Int,
                                    newWidth: Int, scaleX: Double, scaleY: Double) -> [Float] {
        let xt = upscaleTaps(source: width, destination: newWidth, scale: scaleX)
        let yt = upscaleTaps(source: height, destination: newHeight, scale: scaleY)
        func hrow(_ y: Int) -> [Int] {
            var r = [Int](repeating: 0, count: newWidth * cn)
            for (dx, t) in xt.enumerated() {
                let s1 = min(t.s + 1, width - 1)
                for c in 0..<cn {
                    r[dx * cn + c] = Int(p[(y * width + t.s) * cn + c]) * t.w0 + Int(p[(y * width + s1) * cn + c]) * t.w1
                }
            }
            return r
        }
        // OpenCV's 8-bit vertical pass (SIMD body and scalar tail alike):
        // ((β0·(S0 >> 4)) >> 16) + ((β1·(S1 >> 4)) >> 16), then (+2) >> 2, in 16-bit lanes.
        let rowLen = newWidth * cn
        func mulHi(_ a: Int, _ b: Int) -> Int { (Int(Int16(clamping: a)) * b) >> 16 }
        var out = [Float](repeating: 0, count: newHeight * rowLen)
        for (dy, t) in yt.enumerated() {
            let r0 = hrow(t.s), r1 = hrow(min(t.s + 1, height - 1))
            for i in 0..<rowLen {
                let sum = Int(Int16(truncatingIfNeeded: mulHi(r0[i] >> 4, t.w0) + mulHi(r1[i] >> 4, t.w1)))
                out[dy * rowLen + i] = Float(min(max((sum + 2) >> 2, 0), 255))
            }
        }
        return out
    }
}

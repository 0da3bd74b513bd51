import Foundation

/// Contour distances between two 2-D masks on the grid of 2x2 neighbourhoods (the method of
/// DeepMind's surface-distance code, reimplemented from its description; see `MaskComparison`).
enum SurfaceDistances {
    typealias Surfels = [(distance: Double, length: Double)]

    static func compute(_ a: [UInt8], _ b: [UInt8], height: Int, width: Int,
                        spacing: (row: Double, column: Double)) -> (aToB: Surfels, bToA: Surfels) {
        // Bounding box of the union: distances never leave it by more than a pixel.
        var r0 = Int.max, r1 = -1, c0 = Int.max, c1 = -1
        for r in 0..<height {
            for c in 0..<width where a[r * width + c] != 0 || b[r * width + c] != 0 {
                r0 = min(r0, r); r1 = max(r1, r); c0 = min(c0, c); c1 = max(c1, c)
            }
        }
        guard r1 >= 0 else { return ([], []) }
        // The neighbourhood grid: cell (i, j) is the 2x2 block of pixels (i-1...i, j-1...j) of the
        // cropped mask, with zeros around it, so every contour is closed inside the grid.
        let gh = r1 - r0 + 2, gw = c1 - c0 + 2
        func codes(_ m: [UInt8]) -> [UInt8] {
            func at(_ i: Int, _ j: Int) -> UInt8 {
                guard i >= 0, j >= 0, i < gh - 1, j < gw - 1 else { return 0 }
                return m[(r0 + i) * width + c0 + j] != 0 ? 1 : 0
            }
            var out = [UInt8](repeating: 0, count: gh * gw)
            for i in 0..<gh {
                for j in 0..<gw {
                    out[i * gw + j] = 8 * at(i - 1, j - 1) + 4 * at(i - 1, j) + 2 * at(i, j - 1) + at(i, j)
                }
            }
            return out
        }
        let codesA = codes(a), codesB = codes(b)
        let lengths = contourLengths(spacing)
        let bordersA = codesA.map { $0 != 0 && $0 != 15 }, bordersB = codesB.map { $0 != 0 && $0 != 15 }
        let distanceToA = distanceTransform(bordersA, height: gh, width: gw, spacing: spacing)
        let distanceToB = distanceTransform(bordersB, height: gh, width: gw, spacing: spacing)
        func surfels(_ borders: [Bool], _ codes: [UInt8], _ distanceToOther: [Double]) -> Surfels {
            var out: Surfels = []
            for n in 0..<(gh * gw) where borders[n] { out.append((distanceToOther[n], lengths[Int(codes[n])])) }
            return out.sorted { $0.distance != $1.distance ? $0.distance < $1.distance : $0.length < $1.length }
        }
        return (surfels(bordersA, codesA, distanceToB), surfels(bordersB, codesB, distanceToA))
    }

    /// The contour length inside a 2x2 neighbourhood for each of its 16 codes (bit 8 top-left,
    /// 4 top-right, 2 bottom-left, 1 bottom-right), from marching squares with the contour
    /// through edge midpoints: a lone corner (or a lone gap) cuts the block diagonally, half a
    /// pixel each way; a full row is a horizontal line one column wide; a full column a vertical
    /// line one row high; opposite corners give two diagonal cuts.
    static func contourLengths(_ spacing: (row: Double, column: Double)) -> [Double] {
        let diagonal = 0.5 * (spacing.row * spacing.row + spacing.column * spacing.column).squareRoot()
        var t = [Double](repeating: 0, count: 16)
        for code in [1, 2, 4, 8, 7, 11, 13, 14] { t[code] = diagonal }
        t[0b0011] = spacing.column; t[0b1100] = spacing.column
        t[0b0101] = spacing.row; t[0b1010] = spacing.row
        t[0b0110] = 2 * diagonal; t[0b1001] = 2 * diagonal
        return t
    }

    /// Exact Euclidean distance (with anisotropic spacing) from every cell to the nearest `true`
    /// cell; infinite everywhere when there is none. Separable squared-distance transform
    /// (Felzenszwalb and Huttenlocher), rows then columns.
    static func distanceTransform(_ sites: [Bool], height: Int, width: Int,
                                  spacing: (row: Double, column: Double)) -> [Double] {
        guard sites.contains(true) else { return [Double](repeating: .infinity, count: height * width) }
        var f = sites.map { $0 ? 0.0 : Double.infinity }
        // Along each column (the row axis), then along each row (the column axis).
        var line = [Double](repeating: 0, count: max(height, width))
        for j in 0..<width {
            for i in 0..<height { line[i] = f[i * width + j] }
            let d = lowerEnvelope(Array(line[0..<height]), step: spacing.row)
            for i in 0..<height { f[i * width + j] = d[i] }
        }
        for i in 0..<height {
            let d = lowerEnvelope(Array(f[(i * width)..<((i + 1) * width)]), step: spacing.column)
            for j in 0..<width { f[i * width + j] = d[j] }
        }
        return f.map { $0.squareRoot() }
    }

    /// One dimension of the squared distance transform: min over q of f(q) + (step (p - q))^2.
    private static func lowerEnvelope(_ f: [Double], step: Double) -> [Double] {
        let n = f.count
        let s2 = step * step
        var out = [Double](repeating: .infinity, count: n)
        var v = [Int](repeating: 0, count: n)          // parabola vertices
        var z = [Double](repeating: 0, count: n + 1)   // boundaries between parabolas
        var k = -1
        for q in 0..<n where f[q].isFinite {
            if k < 0 {
                k = 0; v[0] = q; z[0] = -.infinity; z[1] = .infinity
                continue
            }
            // Drop parabolas the new one hides (z[0] = -inf stops the loop at the first).
            var s = 0.0
            while true {
                let p = v[k]
                s = ((f[q] + s2 * Double(q * q)) - (f[p] + s2 * Double(p * p))) / (2 * s2 * Double(q - p))
                if s <= z[k] { k -= 1 } else { break }
            }
            k += 1; v[k] = q; z[k] = s; z[k + 1] = .infinity
        }
        guard k >= 0 else { return out }
        var j = 0
        for p in 0..<n {
            while z[j + 1] < Double(p) { j += 1 }
            let d = Double(p - v[j]) * step
            out[p] = d * d + f[v[j]]
        }
        return out
    }
}

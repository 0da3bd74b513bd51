import Foundation

/// Surface distances between two masks (2-D or 3-D) on the grid of 2^D-voxel neighbourhoods: the
/// method of DeepMind's surface-distance code, reimplemented from its description (see
/// `MaskComparison`). Each neighbourhood that holds both foreground and background is a border
/// element; it carries the contour length (2-D) or surface area (3-D) of the marching-squares /
/// marching-cubes piece inside it, and its exact Euclidean distance (with the spacing) to the
/// nearest border element of the other mask.
enum SurfaceDistances {
    typealias Surfels = [(distance: Double, length: Double)]

    /// `a` and `b` hold `shape.reduce(1, *)` values in row-major order (the last axis fastest);
    /// `spacing` has one entry per axis, in the same order. Two or three axes.
    static func compute(_ a: [UInt8], _ b: [UInt8], shape: [Int], spacing: [Double]) -> (aToB: Surfels, bToA: Surfels) {
        let dims = shape.count
        precondition(dims == 2 || dims == 3, "surface distances are defined for 2-D and 3-D masks")
        // Bounding box of the union: distances never leave it by more than a voxel.
        var lo = [Int](repeating: .max, count: dims), hi = [Int](repeating: -1, count: dims)
        var strides = [Int](repeating: 1, count: dims)
        for d in stride(from: dims - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
        for n in 0..<a.count where a[n] != 0 || b[n] != 0 {
            var rest = n
            for d in 0..<dims {
                let x = rest / strides[d]
                rest -= x * strides[d]
                lo[d] = min(lo[d], x); hi[d] = max(hi[d], x)
            }
        }
        guard hi[0] >= 0 else { return ([], []) }
        // The neighbourhood grid: cell c along an axis is the pair of voxels (c-1, c) of the
        // cropped mask, with zeros around it, so every contour or surface is closed inside it.
        let grid = (0..<dims).map { hi[$0] - lo[$0] + 2 }
        let cells = grid.reduce(1, *)
        let corners = 1 << dims
        // Offsets (in the cropped, zero-bordered volume) of the neighbourhood's corners, first
        // corner (all offsets -1) the highest bit, as the package's encoding kernel weighs them.
        func codes(_ m: [UInt8]) -> [UInt8] {
            // The crop with one layer of zeros before and after along every axis.
            let padded = grid.map { $0 + 1 }
            var pstrides = [Int](repeating: 1, count: dims)
            for d in stride(from: dims - 2, through: 0, by: -1) { pstrides[d] = pstrides[d + 1] * padded[d + 1] }
            var crop = [UInt8](repeating: 0, count: padded.reduce(1, *))
            if dims == 2 {
                for i in lo[0]...hi[0] {
                    for j in lo[1]...hi[1] where m[i * strides[0] + j] != 0 {
                        crop[(i - lo[0] + 1) * pstrides[0] + j - lo[1] + 1] = 1
                    }
                }
            } else {
                for i in lo[0]...hi[0] {
                    for j in lo[1]...hi[1] {
                        let row = i * strides[0] + j * strides[1]
                        let prow = (i - lo[0] + 1) * pstrides[0] + (j - lo[1] + 1) * pstrides[1] + 1 - lo[2]
                        for k in lo[2]...hi[2] where m[row + k] != 0 { crop[prow + k] = 1 }
                    }
                }
            }
            // Cell (c0, c1[, c2]) of the grid covers padded voxels c...c+1 along each axis.
            let cornerOffsets: [Int] = (0..<corners).map { n in
                (0..<dims).reduce(0) { $0 + ((n >> (dims - 1 - $1)) & 1) * pstrides[$1] }
            }
            var out = [UInt8](repeating: 0, count: cells)
            var cell = 0
            func visit(_ base: Int) {
                var code = 0
                for n in 0..<corners where crop[base + cornerOffsets[n]] != 0 { code |= 1 << (corners - 1 - n) }
                out[cell] = UInt8(code)
                cell += 1
            }
            if dims == 2 {
                for i in 0..<grid[0] { for j in 0..<grid[1] { visit(i * pstrides[0] + j) } }
            } else {
                for i in 0..<grid[0] {
                    for j in 0..<grid[1] {
                        let row = i * pstrides[0] + j * pstrides[1]
                        for k in 0..<grid[2] { visit(row + k) }
                    }
                }
            }
            return out
        }
        let codesA = codes(a), codesB = codes(b)
        let full = UInt8(corners == 8 ? 255 : 15)
        let sizes = dims == 2 ? contourLengths((spacing[0], spacing[1])) : surfaceAreas(spacing)
        let bordersA = codesA.map { $0 != 0 && $0 != full }, bordersB = codesB.map { $0 != 0 && $0 != full }
        let distanceToA = distanceTransform(bordersA, shape: grid, spacing: spacing)
        let distanceToB = distanceTransform(bordersB, shape: grid, spacing: spacing)
        func surfels(_ borders: [Bool], _ codes: [UInt8], _ distanceToOther: [Double]) -> Surfels {
            var out: Surfels = []
            for n in 0..<cells where borders[n] { out.append((distanceToOther[n], sizes[Int(codes[n])])) }
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

    /// The surface area inside a 2x2x2 neighbourhood for each of its 256 codes (corner (a, b, c),
    /// offsets along the three axes, has bit 1 << (7 - (4a + 2b + c))), with `spacing` along the
    /// three axes: the sum of the areas of the marching-cubes triangles (`unitTriangles`), each
    /// triangle's area vector scaled by the spacing of the two axes it spans.
    static func surfaceAreas(_ spacing: [Double]) -> [Double] {
        let s = spacing
        return unitTriangles.map { triangles in
            triangles.reduce(0) { sum, n in
                let x = n.0 * s[1] * s[2], y = n.1 * s[0] * s[2], z = n.2 * s[0] * s[1]
                return sum + (x * x + y * y + z * z).squareRoot()
            }
        }
    }

    /// Per code, the area vectors (half the cross product) of its marching-cubes triangles in a
    /// unit cube. Built here rather than tabulated: the surface crosses each edge whose corners
    /// differ at its midpoint; on a face with two diagonal corners of one state and two of the
    /// other, the segments cut off the corners of the minority state (the set corners when at most
    /// four corners are set, the others otherwise: the classic table's complement symmetry); the
    /// segments chain into closed loops, and each loop is cut into the triangles of largest total
    /// area in the unit cube (its polygons are not planar, so the choice matters). This equals the
    /// package's table for all 256 codes at unit and anisotropic spacings
    /// (Tests: `SegmentationMetricsTests`, fixture from scripts/reference/metrics.py).
    static let unitTriangles: [[(Double, Double, Double)]] = (0..<256).map(triangles(code:))

    private static func triangles(code: Int) -> [(Double, Double, Double)] {
        // Points are kept doubled (corner coordinates summed) so that midpoints are integers.
        typealias P = SIMD3<Int>
        func corner(_ n: Int) -> P { P((n >> 2) & 1, (n >> 1) & 1, n & 1) }
        func set(_ n: Int) -> Bool { (code >> (7 - n)) & 1 == 1 }
        func mid(_ i: Int, _ j: Int) -> P { corner(i) &+ corner(j) }
        let isolateSet = code.nonzeroBitCount <= 4
        var segments: [(P, P)] = []
        for axis in 0..<3 {
            for v in 0...1 {
                let others = (0..<3).filter { $0 != axis }
                let face: [Int] = [(0, 0), (1, 0), (1, 1), (0, 1)].map { u, w in
                    var p = [0, 0, 0]
                    p[axis] = v; p[others[0]] = u; p[others[1]] = w
                    return 4 * p[0] + 2 * p[1] + p[2]
                }
                let state = face.map(set)
                let cut = (0..<4).filter { state[$0] != state[($0 + 1) % 4] }
                if cut.count == 2 {
                    segments.append((mid(face[cut[0]], face[(cut[0] + 1) % 4]), mid(face[cut[1]], face[(cut[1] + 1) % 4])))
                } else if cut.count == 4 {
                    for k in 0..<4 where state[k] == isolateSet {
                        segments.append((mid(face[(k + 3) % 4], face[k]), mid(face[k], face[(k + 1) % 4])))
                    }
                }
            }
        }
        // Chain the segments into loops (each midpoint ends exactly two segments).
        var order: [P] = []
        var neighbours: [P: [P]] = [:]
        for (p, q) in segments {
            for (x, y) in [(p, q), (q, p)] {
                if neighbours[x] == nil { order.append(x) }
                neighbours[x, default: []].append(y)
            }
        }
        var seen = Set<P>()
        var loops: [[P]] = []
        for start in order where !seen.contains(start) {
            var loop = [start], previous: P? = nil, current = start
            seen.insert(start)
            while let next = neighbours[current]!.first(where: { $0 != previous && !seen.contains($0) }) {
                previous = current; current = next
                loop.append(next); seen.insert(next)
            }
            loops.append(loop)
        }
        var out: [(Double, Double, Double)] = []
        for loop in loops {
            func vector(_ t: (Int, Int, Int)) -> (Double, Double, Double) {
                let p = loop[t.0], u = loop[t.1] &- p, w = loop[t.2] &- p
                // Half the cross product, with the doubled coordinates halved (1/8 in all).
                return (Double(u.y * w.z - u.z * w.y) / 8, Double(u.z * w.x - u.x * w.z) / 8, Double(u.x * w.y - u.y * w.x) / 8)
            }
            func area(_ t: [(Int, Int, Int)]) -> Double {
                t.reduce(0) { let v = vector($1); return $0 + (v.0 * v.0 + v.1 * v.1 + v.2 * v.2).squareRoot() }
            }
            var best: [(Int, Int, Int)] = [], bestArea = -1.0
            for t in triangulations(Array(loop.indices)) where area(t) > bestArea + 1e-9 {
                best = t; bestArea = area(t)
            }
            out += best.map(vector)
        }
        return out
    }

    /// Every triangulation of the polygon with vertices `v` (in order): the triangle on the edge
    /// (first, last) with apex v[k], and the triangulations of the two sides.
    private static func triangulations(_ v: [Int]) -> [[(Int, Int, Int)]] {
        guard v.count >= 3 else { return [[]] }
        var out: [[(Int, Int, Int)]] = []
        for k in 1..<(v.count - 1) {
            for left in triangulations(Array(v[0...k])) {
                for right in triangulations(Array(v[k...])) { out.append(left + right + [(v[0], v[k], v[v.count - 1])]) }
            }
        }
        return out
    }

    /// Exact Euclidean distance (with anisotropic spacing) from every cell of a row-major grid of
    /// `shape` to the nearest `true` cell; infinite everywhere when there is none. Separable
    /// squared-distance transform (Felzenszwalb and Huttenlocher), one axis after another.
    static func distanceTransform(_ sites: [Bool], shape: [Int], spacing: [Double]) -> [Double] {
        guard sites.contains(true) else { return [Double](repeating: .infinity, count: sites.count) }
        var f = sites.map { $0 ? 0.0 : Double.infinity }
        let dims = shape.count
        var strides = [Int](repeating: 1, count: dims)
        for d in stride(from: dims - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
        for axis in 0..<dims {
            let n = shape[axis], step = strides[axis]
            var line = [Double](repeating: 0, count: n)
            // Every line along `axis`: starts are the cells whose index along it is 0.
            for start in 0..<f.count where (start / step) % n == 0 {
                for i in 0..<n { line[i] = f[start + i * step] }
                let d = lowerEnvelope(line, step: spacing[axis])
                for i in 0..<n { f[start + i * step] = d[i] }
            }
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

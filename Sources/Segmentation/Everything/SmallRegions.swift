/// Small-region clean-up of SAM's automatic mask generator (`remove_small_regions` in
/// segment-anything's `utils/amg.py`, which uses OpenCV's `connectedComponentsWithStats` with
/// 8-connectivity).
public enum SmallRegions {
    public enum Mode: Sendable { case holes, islands }

    /// Labels the 8-connected components of the set pixels of a row-major mask: 0 for unset
    /// pixels, 1...n in the order their first pixel appears in a raster scan. Returns the
    /// labels and each component's size (index 0 unused).
    public static func components(_ mask: [UInt8], height: Int, width: Int) -> (labels: [Int32], sizes: [Int]) {
        var labels = [Int32](repeating: 0, count: mask.count)
        var sizes = [0]
        var stack: [Int] = []
        for start in mask.indices where mask[start] != 0 && labels[start] == 0 {
            let label = Int32(sizes.count)
            var size = 0
            labels[start] = label
            stack.append(start)
            while let p = stack.popLast() {
                size += 1
                let y = p / width, x = p % width
                for dy in -1...1 {
                    let ny = y + dy
                    guard ny >= 0, ny < height else { continue }
                    for dx in -1...1 {
                        let nx = x + dx
                        guard nx >= 0, nx < width else { continue }
                        let q = ny * width + nx
                        if mask[q] != 0 && labels[q] == 0 {
                            labels[q] = label
                            stack.append(q)
                        }
                    }
                }
            }
            sizes.append(size)
        }
        return (labels, sizes)
    }

    /// Fills holes (`.holes`: unset components smaller than `minArea`, the outer background
    /// included when it is that small) or drops islands (`.islands`: set components smaller
    /// than `minArea`; when all are, the largest, first in raster order on a tie, stays).
    /// Returns the mask and whether it changed.
    public static func remove(_ mask: [UInt8], height: Int, width: Int, minArea: Double, mode: Mode) -> (mask: [UInt8], changed: Bool) {
        let holes = mode == .holes
        let working = holes ? mask.map { $0 != 0 ? UInt8(0) : 1 } : mask.map { $0 != 0 ? UInt8(1) : 0 }
        let (labels, sizes) = components(working, height: height, width: width)
        let small = Set((1..<sizes.count).filter { Double(sizes[$0]) < minArea })
        if small.isEmpty { return (mask, false) }
        var fill: Set<Int>
        if holes {
            fill = small.union([0])
        } else {
            fill = Set((1..<sizes.count).filter { !small.contains($0) })
            if fill.isEmpty {
                let largest = (1..<sizes.count).max { sizes[$0] < sizes[$1] || (sizes[$0] == sizes[$1] && $0 > $1) }!
                fill = [largest]
            }
        }
        var keep = [Bool](repeating: false, count: sizes.count)
        for l in fill { keep[l] = true }
        return (labels.map { keep[Int($0)] ? 1 : 0 }, true)
    }
}

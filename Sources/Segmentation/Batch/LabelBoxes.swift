import Foundation
import MedicalImaging

/// Box prompts derived from a label map, as MedSAM's evaluations and bulk annotation do: one
/// tight box per label value present in a slice, widened by a margin and clipped to the image.
public enum LabelBoxes {
    /// One box per label value > 0 in `labels` (a `height x width` slice, row-major), in
    /// increasing label order, as `(label, [x0, y0, x1, y1])` in pixel indices (x1, y1 the last
    /// column and row that hold the label, before the margin). `key` (case id and slice) seeds
    /// a random margin.
    public static func boxes(labels: [Float], height: Int, width: Int, margin: BoxMargin,
                             key: String) -> [(label: Int, box: [Float])] {
        var extent: [Int: (x0: Int, y0: Int, x1: Int, y1: Int)] = [:]
        for y in 0..<height {
            for x in 0..<width {
                let v = labels[y * width + x]
                guard v > 0, v.isFinite else { continue }
                let l = Int(v.rounded())
                guard l > 0 else { continue }
                if let e = extent[l] {
                    extent[l] = (min(e.x0, x), min(e.y0, y), max(e.x1, x), max(e.y1, y))
                } else {
                    extent[l] = (x, y, x, y)
                }
            }
        }
        return extent.keys.sorted().map { l in
            let e = extent[l]!
            let m: [Int]
            switch margin {
            case .fixed(let px): m = [px, px, px, px]
            case .random(let hi, let seed):
                var rng = SplitMix64(seed: seed ^ stableHash("\(key)#\(l)"))
                m = (0..<4).map { _ in hi <= 0 ? 0 : Int(rng.next() % UInt64(hi + 1)) }
            }
            let box = [max(0, e.x0 - m[0]), max(0, e.y0 - m[1]), min(width - 1, e.x1 + m[2]), min(height - 1, e.y1 + m[3])]
            return (l, box.map(Float.init))
        }
    }

    /// FNV-1a of the UTF-8 bytes: a hash that is the same in every process (Swift's `Hasher` is not).
    static func stableHash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}

/// A small seeded generator (SplitMix64), so margins are reproducible across platforms.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

import Foundation

/// A CT display window: values in [level - width/2, level + width/2] map linearly to 0...255.
public struct IntensityWindow: Equatable, Codable, Sendable {
    public var level: Double
    public var width: Double

    public init(level: Double, width: Double) {
        self.level = level
        self.width = width
    }

    /// Abdomen soft tissue, MedSAM's default CT window (40/400).
    public static let softTissue = IntensityWindow(level: 40, width: 400)
    public static let lung = IntensityWindow(level: -600, width: 1500)
    public static let bone = IntensityWindow(level: 400, width: 1800)
    public static let brain = IntensityWindow(level: 40, width: 80)

    /// The presets by the names the CLI accepts (`--window-preset`).
    public static let presets: [String: IntensityWindow] = [
        "soft-tissue": .softTissue, "lung": .lung, "bone": .bone, "brain": .brain,
    ]

    public var lower: Double { level - width / 2 }
    public var upper: Double { level + width / 2 }

    /// MedSAM's `pre_CT_MR.py` CT transform exactly: clip to [lower, upper], then min-max over the
    /// clipped values (so a volume that does not reach both window bounds still spans 0...255).
    /// For typical CT (air and bone present) this equals `apply`.
    public func applyMinMaxOfClipped(_ values: [Float]) -> [Float] {
        let lo = Float(lower), hi = Float(upper)
        let clipped = values.map { $0.isNaN ? lo : min(max($0, lo), hi) }
        return IntensityNormalization.minMax(clipped)
    }

    /// Parses `LEVEL,WIDTH` (width must be positive).
    public init?(argument: String) {
        let parts = argument.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let l = parts[0], let w = parts[1], l.isFinite, w.isFinite, w > 0 else { return nil }
        self.init(level: l, width: w)
    }

    /// Clips to the window and maps it onto 0...255 (float; round when storing as bytes).
    ///
    /// This is MedSAM's `pre_CT_MR.py` transform with fixed bounds: clip to [lower, upper], then
    /// (x - lower) / (upper - lower) * 255.
    public func apply(_ values: [Float]) -> [Float] {
        let lo = Float(lower), span = Float(width)
        return values.map { v in
            if v.isNaN { return 0 }
            return (min(max(v, lo), lo + span) - lo) / span * 255
        }
    }
}

public enum IntensityNormalization {
    /// MedSAM's MR normalisation (`pre_CT_MR.py`): clip to the 0.5th and 99.5th percentiles of
    /// the voxels > 0 (NumPy's linear-interpolation percentile), min-max the clipped values to
    /// 0...255, and keep voxels that were 0 at 0. All-zero input stays zero.
    public static func mr(_ values: [Float]) -> [Float] {
        var positive = values.filter { $0 > 0 }
        guard !positive.isEmpty else { return [Float](repeating: 0, count: values.count) }
        let lo = percentile(selecting: &positive, 0.5), hi = percentile(selecting: &positive, 99.5)
        var clipped = values.map { v -> Float in v.isNaN ? lo : min(max(v, lo), hi) }
        let mn = clipped.min()!, mx = clipped.max()!
        let span = mx - mn
        for n in 0..<clipped.count {
            clipped[n] = values[n] == 0 ? 0 : (span > 0 ? (clipped[n] - mn) / span * 255 : 0)
        }
        return clipped
    }

    /// Min-max to 0...255 over all values (for images that are neither CT nor MR, e.g. 16-bit PNG).
    public static func minMax(_ values: [Float]) -> [Float] {
        guard let range = finiteRange(values) else { return values.map { _ in 0 } }
        let span = range.upperBound - range.lowerBound
        return values.map { v in v.isNaN || span == 0 ? 0 : (v - range.lowerBound) / span * 255 }
    }

    /// NumPy's default ("linear") percentile of unsorted `values`, found by selection (linear time)
    /// rather than sorting; `values` is reordered.
    public static func percentile(selecting values: inout [Float], _ q: Double) -> Float {
        let position = q / 100 * Double(values.count - 1)
        let below = Int(position.rounded(.down))
        select(&values, below)
        let lowValue = values[below]
        let highValue = below + 1 < values.count ? values[(below + 1)...].min()! : lowValue
        return lowValue + (highValue - lowValue) * Float(position - Double(below))
    }

    /// Rearranges `a` so that `a[k]` holds the k-th smallest value, smaller-or-equal values before
    /// it and greater-or-equal after (Hoare's quickselect with a median-of-three pivot).
    static func select(_ a: inout [Float], _ k: Int) {
        var lo = 0, hi = a.count - 1
        a.withUnsafeMutableBufferPointer { a in
            while lo < hi {
                let mid = lo + (hi - lo) / 2
                if a[mid] < a[lo] { a.swapAt(mid, lo) }
                if a[hi] < a[lo] { a.swapAt(hi, lo) }
                if a[hi] < a[mid] { a.swapAt(hi, mid) }
                let pivot = a[mid]
                var i = lo, j = hi
                while i <= j {
                    while a[i] < pivot { i += 1 }
                    while a[j] > pivot { j -= 1 }
                    if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
                }
                if k <= j { hi = j } else if k >= i { lo = i } else { return }
            }
        }
    }

    /// NumPy's default ("linear") percentile of already sorted values, `q` in 0...100.
    public static func percentile(_ sorted: [Float], _ q: Double) -> Float {
        let position = q / 100 * Double(sorted.count - 1)
        let below = Int(position.rounded(.down))
        let above = min(below + 1, sorted.count - 1)
        let t = Float(position - Double(below))
        return sorted[below] + (sorted[above] - sorted[below]) * t
    }
}

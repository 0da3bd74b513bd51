import Foundation

/// Overlap and surface metrics between a predicted and a ground-truth 2-D mask, as the MedSAM
/// and COSMOS evaluations compute them (docs/sam-spec.md §10).
///
/// Surface metrics follow the DeepMind surface-distance method that MedSAM's evaluation vendors
/// (`compute_surface_distances`): the contour is found on the grid of 2x2 pixel neighbourhoods
/// (marching squares with vertices at edge midpoints), each border neighbourhood carries the
/// length of its contour piece, and distances are exact Euclidean distances (with the pixel
/// spacing) from each border neighbourhood of one mask to the nearest of the other. NSD, the
/// robust Hausdorff distance and the average surface distance are length-weighted over those.
/// The reference check is `scripts/reference/metrics.py` (the `surface-distance` package).
public struct MaskComparison: Sendable {
    /// Foreground pixels of the ground truth and of the prediction, and of both.
    public let groundTruthArea: Int
    public let predictionArea: Int
    public let intersection: Int
    /// Border distances (mm, or pixels with spacing 1) from each mask to the other, sorted
    /// ascending, with the contour length each border neighbourhood stands for.
    public let groundTruthToPrediction: [(distance: Double, length: Double)]
    public let predictionToGroundTruth: [(distance: Double, length: Double)]

    /// Compares two masks of `height` x `width` pixels (row-major, non-zero = foreground).
    /// `spacing` is (row, column) in mm; (1, 1) gives pixel units, as MedSAM uses for 2-D.
    public init(groundTruth: [UInt8], prediction: [UInt8], height: Int, width: Int,
                spacing: (row: Double, column: Double) = (1, 1)) throws {
        guard height > 0, width > 0, groundTruth.count == height * width, prediction.count == height * width else {
            throw MetricsError.shapeMismatch(expected: height * width, groundTruth: groundTruth.count, prediction: prediction.count)
        }
        guard spacing.row > 0, spacing.column > 0, spacing.row.isFinite, spacing.column.isFinite else {
            throw MetricsError.badSpacing(spacing.row, spacing.column)
        }
        var gtArea = 0, predArea = 0, both = 0
        for i in 0..<(height * width) {
            let g = groundTruth[i] != 0, p = prediction[i] != 0
            if g { gtArea += 1 }
            if p { predArea += 1 }
            if g && p { both += 1 }
        }
        groundTruthArea = gtArea
        predictionArea = predArea
        intersection = both
        (groundTruthToPrediction, predictionToGroundTruth) =
            SurfaceDistances.compute(groundTruth, prediction, height: height, width: width, spacing: spacing)
    }

    /// Dice, 2|A∩B| / (|A| + |B|); nil when both masks are empty (no object, no prediction:
    /// an evaluation counts that case on its own rather than scoring it 0 or 1).
    public var dice: Double? {
        let sum = groundTruthArea + predictionArea
        return sum == 0 ? nil : 2 * Double(intersection) / Double(sum)
    }

    /// COSMOS's smoothed Dice, (2|A∩B| + 0.1) / (|A| + |B| + 0.1) (`cal_matric.py`); 1 for two
    /// empty masks. Reported under its own name, never as Dice.
    public var smoothedDice: Double {
        (2 * Double(intersection) + 0.1) / (Double(groundTruthArea + predictionArea) + 0.1)
    }

    /// Intersection over union; nil when both masks are empty.
    public var iou: Double? {
        let union = groundTruthArea + predictionArea - intersection
        return union == 0 ? nil : Double(intersection) / Double(union)
    }

    /// Normalised surface Dice at `tolerance` (mm, or pixels with unit spacing): the share of both
    /// contours lying within the tolerance of the other. Nil when both contours are empty.
    public func surfaceDice(tolerance: Double) -> Double? {
        let total = groundTruthToPrediction.reduce(0) { $0 + $1.length } + predictionToGroundTruth.reduce(0) { $0 + $1.length }
        guard total > 0 else { return nil }
        let within = groundTruthToPrediction.filter { $0.distance <= tolerance }.reduce(0) { $0 + $1.length }
            + predictionToGroundTruth.filter { $0.distance <= tolerance }.reduce(0) { $0 + $1.length }
        return within / total
    }

    /// The robust Hausdorff distance: the larger of the two directions' `percent`-th
    /// length-weighted percentile distance (95 gives HD95). Infinite when one mask is empty and
    /// the other is not; nil when both are.
    public func hausdorff(percent: Double = 95) -> Double? {
        if groundTruthToPrediction.isEmpty && predictionToGroundTruth.isEmpty { return nil }
        return max(Self.percentile(groundTruthToPrediction, percent), Self.percentile(predictionToGroundTruth, percent))
    }

    /// The average symmetric surface distance: the mean of the two directions' length-weighted
    /// mean distances. Infinite when exactly one mask is empty; nil when both are.
    public var averageSurfaceDistance: Double? {
        if groundTruthToPrediction.isEmpty && predictionToGroundTruth.isEmpty { return nil }
        return (Self.mean(groundTruthToPrediction) + Self.mean(predictionToGroundTruth)) / 2
    }

    private static func percentile(_ d: [(distance: Double, length: Double)], _ percent: Double) -> Double {
        guard !d.isEmpty else { return .infinity }
        let total = d.reduce(0) { $0 + $1.length }
        // The first distance whose cumulative length share reaches the percentile (numpy's
        // searchsorted, side left, on the cumulative shares).
        var cumulative = 0.0
        for (i, e) in d.enumerated() {
            cumulative += e.length
            if cumulative / total >= percent / 100 { return d[i].distance }
        }
        return d[d.count - 1].distance
    }

    private static func mean(_ d: [(distance: Double, length: Double)]) -> Double {
        guard !d.isEmpty else { return .infinity }
        let total = d.reduce(0) { $0 + $1.length }
        return d.reduce(0) { $0 + $1.distance * $1.length } / total
    }
}

/// Inputs a metric cannot be computed on.
public enum MetricsError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(expected: Int, groundTruth: Int, prediction: Int)
    case badSpacing(Double, Double)

    public var description: String {
        switch self {
        case .shapeMismatch(let n, let g, let p):
            return "masks must have \(n) pixels each; the ground truth has \(g), the prediction \(p)"
        case .badSpacing(let r, let c): return "pixel spacing (\(r), \(c)) must be positive and finite"
        }
    }
}

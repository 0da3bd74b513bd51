import Foundation

/// Overlap and surface metrics between a predicted and a ground-truth mask (2-D or 3-D), as the MedSAM
/// and COSMOS evaluations compute them (docs/sam-spec.md §10).
///
/// Surface metrics follow the DeepMind surface-distance method that MedSAM's evaluation vendors
/// (`compute_surface_distances`): the contour is found on the grid of 2x2 pixel neighbourhoods
/// (marching squares with vertices at edge midpoints), each border neighbourhood carries the
/// length of its contour piece, and distances are exact Euclidean distances (with the pixel
/// spacing) from each border neighbourhood of one mask to the nearest of the other. In 3-D the
/// neighbourhoods are 2x2x2 voxels and each carries the area of its marching-cubes surface piece
/// (`SurfaceDistances.unitTriangles`). NSD, the robust Hausdorff distance and the average surface
/// distance are length- (area-) weighted over those.
/// The reference check is `scripts/reference/metrics.py` (the `surface-distance` package).
public struct MaskComparison: Sendable {
    /// Foreground pixels (voxels) of the ground truth and of the prediction, and of both.
    public let groundTruthArea: Int
    public let predictionArea: Int
    public let intersection: Int
    /// Border distances (mm, or pixels with spacing 1) from each mask to the other, sorted
    /// ascending, with the contour length (2-D) or surface area (3-D) each border neighbourhood
    /// stands for.
    public let groundTruthToPrediction: [(distance: Double, length: Double)]
    public let predictionToGroundTruth: [(distance: Double, length: Double)]

    /// Compares two masks of `height` x `width` pixels (row-major, non-zero = foreground).
    /// `spacing` is (row, column) in mm; (1, 1) gives pixel units, as MedSAM uses for 2-D.
    public init(groundTruth: [UInt8], prediction: [UInt8], height: Int, width: Int,
                spacing: (row: Double, column: Double) = (1, 1)) throws {
        try self.init(groundTruth, prediction, shape: [height, width], spacing: [spacing.row, spacing.column])
    }

    /// Compares two 3-D masks of `depth` x `height` x `width` voxels (row-major, the column index
    /// fastest; non-zero = foreground). `spacing` is the voxel size (depth, row, column) in mm,
    /// anisotropic as it may be: surface elements are the neighbourhoods of 2x2x2 voxels, each
    /// carrying the area of its marching-cubes surface piece, and distances are in mm.
    public init(groundTruth: [UInt8], prediction: [UInt8], depth: Int, height: Int, width: Int,
                spacing: (depth: Double, row: Double, column: Double)) throws {
        try self.init(groundTruth, prediction, shape: [depth, height, width], spacing: [spacing.depth, spacing.row, spacing.column])
    }

    private init(_ groundTruth: [UInt8], _ prediction: [UInt8], shape: [Int], spacing: [Double]) throws {
        let n = shape.reduce(1, *)
        guard shape.allSatisfy({ $0 > 0 }), groundTruth.count == n, prediction.count == n else {
            throw MetricsError.shapeMismatch(expected: n, groundTruth: groundTruth.count, prediction: prediction.count)
        }
        guard spacing.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw MetricsError.badSpacing(spacing) }
        var gtArea = 0, predArea = 0, both = 0
        for i in 0..<n {
            let g = groundTruth[i] != 0, p = prediction[i] != 0
            if g { gtArea += 1 }
            if p { predArea += 1 }
            if g && p { both += 1 }
        }
        groundTruthArea = gtArea
        predictionArea = predArea
        intersection = both
        (groundTruthToPrediction, predictionToGroundTruth) =
            SurfaceDistances.compute(groundTruth, prediction, shape: shape, spacing: spacing)
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
    /// The spacing per axis.
    case badSpacing([Double])

    public var description: String {
        switch self {
        case .shapeMismatch(let n, let g, let p):
            return "masks must have \(n) pixels each; the ground truth has \(g), the prediction \(p)"
        case .badSpacing(let s): return "spacing (\(s.map { String($0) }.joined(separator: ", "))) must be positive and finite"
        }
    }
}

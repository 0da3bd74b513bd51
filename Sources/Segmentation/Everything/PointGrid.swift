import Foundation

/// The normalised point grids SAM's automatic mask generator prompts with
/// (`build_point_grid`, `build_all_layer_point_grids` in segment-anything's `utils/amg.py`).
public enum PointGrid {
    /// `n` x `n` points in [0, 1]², row-major with x varying fastest: point `r * n + c` is
    /// `(x_c, y_r)`. The axis values are NumPy's `linspace(1/(2n), 1 - 1/(2n), n)`, computed the
    /// way NumPy does (`start + i * step`, the last value set to `stop`), so they are bit-equal
    /// to the reference's float64 grid.
    public static func build(pointsPerSide n: Int) -> [(x: Double, y: Double)] {
        guard n > 0 else { return [] }
        let axis = linspace(n)
        var points: [(x: Double, y: Double)] = []
        points.reserveCapacity(n * n)
        for y in axis { for x in axis { points.append((x, y)) } }
        return points
    }

    /// One grid per crop layer: layer `i` has `Int(pointsPerSide / downscale^i)` points a side.
    public static func layers(pointsPerSide: Int, cropLayers: Int, downscaleFactor: Int) -> [[(x: Double, y: Double)]] {
        (0...max(cropLayers, 0)).map { build(pointsPerSide: Self.pointsPerSide(forLayer: $0, pointsPerSide, downscaleFactor)) }
    }

    /// Points a side of layer `layer`: Python's `int(n / (factor ** layer))` (true division, truncated).
    static func pointsPerSide(forLayer layer: Int, _ n: Int, _ factor: Int) -> Int {
        Int(Double(n) / pow(Double(factor), Double(layer)))
    }

    private static func linspace(_ n: Int) -> [Double] {
        let start = 1 / Double(2 * n), stop = 1 - start
        if n == 1 { return [start] }
        let step = (stop - start) / Double(n - 1)
        var values = (0..<n).map { Double($0) * step + start }
        values[n - 1] = stop
        return values
    }
}

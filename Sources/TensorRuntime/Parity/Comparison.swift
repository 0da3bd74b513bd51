/// Error metrics used by parity checks.
public enum Comparison {
    /// Normalised mean squared error Σ(a−b)² / Σb², with `b` the reference. Accumulated in
    /// float64. Equal arrays give 0; a zero reference gives Σa² (absolute error) instead of ∞.
    public static func nmse(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "nmse: \(a.count) vs \(b.count) elements")
        var err = 0.0, ref = 0.0
        for i in 0..<a.count {
            let d = Double(a[i]) - Double(b[i])
            err += d * d
            ref += Double(b[i]) * Double(b[i])
        }
        if !err.isFinite { return .infinity }
        return ref > 0 ? err / ref : err
    }

    public static func allFinite(_ a: [Float]) -> Bool { a.allSatisfy { $0.isFinite } }

    public static func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }
}

/// NMSE thresholds per op class for one precision path.
///
/// float32: elementwise, norms and data movement should agree to rounding (1e-7 covers
/// float32 rounding of a handful of operations); softmax and resize to 1e-6; GEMM, conv and
/// attention sum hundreds to thousands of products in a different order on each backend, so
/// 1e-6. float16 storage rounds every stored value to 11 significant bits (relative error
/// ~2.4e-4, squared ~6e-8 per value, more after a reduction), hence 1e-4 / 5e-4.
public struct ParityThresholds: Sendable, Codable, Equatable {
    public var byClass: [OpClass: Double]

    public init(byClass: [OpClass: Double]) { self.byClass = byClass }

    public func threshold(for op: Op) -> Double { byClass[op.opClass] ?? 1e-6 }

    public static let float32 = ParityThresholds(byClass: [
        .elementwise: 1e-7, .normalization: 1e-7, .dataMovement: 0, .softmax: 1e-6, .resize: 1e-6,
        .gemm: 1e-6, .convolution: 1e-6, .attention: 1e-6,
    ])

    /// Against PyTorch fixtures: the reference backend must match torch's float32 results
    /// computed in float64 by the fixture script, up to float32 rounding of the stored data.
    public static let pytorchFixture = ParityThresholds(byClass: Dictionary(
        uniqueKeysWithValues: OpClass.allCases.map { ($0, 1e-10) }))

    public static let float16 = ParityThresholds(byClass: [
        .elementwise: 1e-5, .normalization: 1e-4, .dataMovement: 1e-6, .softmax: 1e-4, .resize: 1e-5,
        .gemm: 5e-4, .convolution: 5e-4, .attention: 5e-4,
    ])
}

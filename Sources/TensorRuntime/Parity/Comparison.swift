/// Two tensors compared element by element do not have the same shape.
public struct ShapeMismatch: Error, Equatable, CustomStringConvertible, Sendable {
    public var got: Shape
    public var expected: Shape
    public init(got: Shape, expected: Shape) { self.got = got; self.expected = expected }
    public var description: String { "shape \(got) compared with expected shape \(expected)" }
}

/// Error metrics used by parity checks.
///
/// The tensor forms check shapes first: two tensors with equal element counts but different
/// shapes (a transposed or mis-reshaped output) are a failure, never compared as flat arrays.
public enum Comparison {
    /// NMSE of `got` against `expected` (the reference); throws `ShapeMismatch` unless the
    /// shapes are equal.
    public static func nmse(_ got: Tensor, _ expected: Tensor) throws -> Double {
        guard got.shape == expected.shape else { throw ShapeMismatch(got: got.shape, expected: expected.shape) }
        return nmse(got.data, expected.data)
    }

    /// Largest absolute elementwise difference; throws `ShapeMismatch` unless the shapes are equal.
    public static func maxAbsDiff(_ got: Tensor, _ expected: Tensor) throws -> Float {
        guard got.shape == expected.shape else { throw ShapeMismatch(got: got.shape, expected: expected.shape) }
        return maxAbsDiff(got.data, expected.data)
    }

    /// Normalised mean squared error Σ(a−b)² / Σb², with `b` the reference. Accumulated in
    /// float64. Equal arrays give 0; a zero reference gives Σa² (absolute error) instead of ∞.
    /// Flat arrays carry no shape: callers that have one use the `Tensor` form.
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
        precondition(a.count == b.count, "maxAbsDiff: \(a.count) vs \(b.count) elements")
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }
}

/// A float32 tensor in host memory, row-major.
///
/// This is the currency between the host and backends: inputs are uploaded from it,
/// results downloaded into it. It owns its elements as a Swift array (copy on write).
public struct Tensor: Sendable, Equatable {
    public var shape: Shape
    public var data: [Float]

    public init(shape: Shape, data: [Float]) {
        precondition(shape.count == data.count,
                     "Tensor: shape \(shape) holds \(shape.count) elements but \(data.count) were given")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: Shape) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.count))
    }

    public init(shape: Shape, repeating value: Float) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.count))
    }

    /// Deterministic uniform values in [lo, hi) from a seeded generator (for tests and benchmarks).
    public init(uniform shape: Shape, in range: ClosedRange<Float> = -1...1, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let span = range.upperBound - range.lowerBound
        let values = (0..<shape.count).map { _ in range.lowerBound + span * rng.nextUnitFloat() }
        self.init(shape: shape, data: values)
    }

    public var count: Int { data.count }

    /// The same elements viewed with another shape of equal element count.
    public func reshaped(_ newShape: Shape) -> Tensor {
        Tensor(shape: newShape, data: data)
    }
}

/// A small, fast, seedable generator (Vigna's SplitMix64) so test inputs are reproducible
/// across runs and platforms.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A float in [0, 1) with 24 random bits.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }
}

import Checkpoints
import TensorRuntime

/// Seeded random weights for a parameter manifest: for graph planning, benchmarks and tests
/// when no checkpoint is at hand. Values are uniform in ±1/√fan-in (so activations stay in a
/// sane range through deep models), LayerNorm/BatchNorm scales near 1 and variances positive.
public final class RandomWeights: TensorSource {
    public let path: String
    public let shapes: [String: Shape]
    private let seed: UInt64

    public init(manifest: [(key: String, shape: Shape)], seed: UInt64 = 0) {
        self.path = "<random weights, seed \(seed)>"
        var s: [String: Shape] = [:]
        for (k, shape) in manifest { s[k] = shape }
        self.shapes = s
        self.seed = seed
    }

    public func load(_ key: String) throws -> Tensor {
        guard let shape = shapes[key] else {
            throw WeightError.mismatch(WeightMismatch(path: path, missing: [(key, [])], unexpected: [], misshaped: []))
        }
        // FNV-1a of the key, so each tensor is reproducible on its own.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let rng = h ^ seed
        if key.hasSuffix("running_var") { return Tensor(uniform: shape, in: 0.5...1.5, seed: rng) }
        let isScale = shape.rank == 1 && key.hasSuffix(".weight")
        if isScale { return Tensor(uniform: shape, in: 0.8...1.2, seed: rng) }
        let fanIn = shape.rank >= 2 ? shape.dims.dropFirst().reduce(1, *) : 10
        let bound = 1 / Float(max(fanIn, 1)).squareRoot()
        return Tensor(uniform: shape, in: -bound...bound, seed: rng)
    }
}

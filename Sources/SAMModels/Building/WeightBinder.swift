import Checkpoints
import TensorRuntime

/// Hands graph builders their parameters by checkpoint key, as lazy graph constants.
///
/// Every `param` call declares a (key, shape) pair; the set of declarations is the model's
/// parameter manifest, which `WeightVerification` compares with a checkpoint before any graph
/// is compiled. Data is read from the `TensorSource` only when a compiled graph uploads the
/// constant, one tensor at a time. A key used twice in one graph yields the same constant.
public final class WeightBinder {
    public let builder: GraphBuilder
    /// nil while only recording the manifest: the constants then fail if anyone loads them.
    public let source: (any TensorSource)?
    /// Declared parameters in declaration order.
    public private(set) var declared: [(key: String, shape: Shape)] = []
    /// Every tensor a checkpoint of the modules built so far holds, in declaration order: the
    /// declared parameters and the stored-only tensors (`storedOnly`). This, recorded over a
    /// model's graphs, is what a published checkpoint is checked against (`ExpectedCheckpointKeys`).
    public private(set) var checkpointKeys: [(key: String, shape: Shape)] = []
    private var values: [String: Value] = [:]

    public init(builder: GraphBuilder, source: (any TensorSource)?) {
        self.builder = builder
        self.source = source
    }

    /// The parameter stored under `key`, which must have `shape`.
    public func param(_ key: String, _ shape: Shape) -> Value {
        if let v = values[key] {
            if v.shape != shape {
                // Two builders disagree about one key: a programming error in this module.
                preconditionFailure("parameter \(key) declared as \(v.shape) and \(shape)")
            }
            return v
        }
        declared.append((key, shape))
        checkpointKeys.append((key, shape))
        let source = self.source
        let v = builder.constant(key, shape: shape) {
            guard let source else { throw WeightError.noSource(key: key) }
            return try source.load(key)
        }
        values[key] = v
        return v
    }

    /// A graph constant computed from parameters at load time (e.g. a folded BatchNorm).
    /// `keys` are declared with their shapes; `compute` receives them in the same order.
    public func derived(_ name: String, shape: Shape, from keys: [(String, Shape)],
                        _ compute: @escaping ([Tensor]) -> Tensor) -> Value {
        if let v = values[name] { return v }
        for (k, s) in keys where !declared.contains(where: { $0.key == k }) {
            declared.append((k, s))
            checkpointKeys.append((k, s))
        }
        let source = self.source
        let v = builder.constant(name, shape: shape) {
            guard let source else { throw WeightError.noSource(key: name) }
            let tensors = try keys.map { try source.load($0.0) }
            for (t, (k, s)) in zip(tensors, keys) where t.shape != s {
                throw WeightError.mismatch(WeightMismatch(path: source.path, missing: [], unexpected: [],
                                                          misshaped: [.init(key: k, expected: s, found: t.shape)]))
            }
            return compute(tensors)
        }
        values[name] = v
        return v
    }

    /// Records a tensor the PyTorch module stores in its checkpoints but inference never reads
    /// (BatchNorm's `num_batches_tracked`, MobileSAM's classifier head): part of the expected
    /// checkpoint keys, not of the parameter manifest, and never loaded.
    public func storedOnly(_ key: String, _ shape: Shape) {
        guard !checkpointKeys.contains(where: { $0.key == key }) else { return }
        checkpointKeys.append((key, shape))
    }

    /// TinyViT's `Conv2d_BN` (conv without bias, then eval-mode BatchNorm, eps 1e-5) folded into
    /// one conv weight and bias, computed lazily when the graph uploads them.
    public func convBN(_ prefix: String, outChannels: Int, inPerGroup: Int, kernel: Int) -> (weight: Value, bias: Value) {
        let wShape: Shape = [outChannels, inPerGroup, kernel, kernel]
        let c: Shape = [outChannels]
        let keys: [(String, Shape)] = [("\(prefix).c.weight", wShape), ("\(prefix).bn.weight", c),
                                       ("\(prefix).bn.bias", c), ("\(prefix).bn.running_mean", c),
                                       ("\(prefix).bn.running_var", c)]
        storedOnly("\(prefix).bn.num_batches_tracked", [])
        let eps = Double(TinyViTConfig.batchNormEps)
        let weight = derived("\(prefix).folded.weight", shape: wShape, from: keys) { t in
            let perOut = wShape.count / outChannels
            var w = t[0].data
            for o in 0..<outChannels {
                let s = Double(t[1].data[o]) / (Double(t[4].data[o]) + eps).squareRoot()
                for i in 0..<perOut { w[o * perOut + i] = Float(Double(w[o * perOut + i]) * s) }
            }
            return Tensor(shape: wShape, data: w)
        }
        let bias = derived("\(prefix).folded.bias", shape: c, from: keys) { t in
            Tensor(shape: c, data: (0..<outChannels).map { o in
                let s = Double(t[1].data[o]) / (Double(t[4].data[o]) + eps).squareRoot()
                return Float(Double(t[2].data[o]) - Double(t[3].data[o]) * s)
            })
        }
        return (weight, bias)
    }
}

/// A parameter present in one place and absent or different in the other.
public struct WeightMismatch: Sendable, CustomStringConvertible, Equatable {
    public struct Misshaped: Sendable, Equatable {
        public var key: String
        public var expected: Shape
        public var found: Shape
    }
    /// The checkpoint the weights came from.
    public var path: String
    /// Keys the model needs that the checkpoint lacks, with the shapes the model expects.
    public var missing: [(key: String, shape: Shape)]
    /// Keys the checkpoint has that the model does not use, with their shapes.
    public var unexpected: [(key: String, shape: Shape)]
    public var misshaped: [Misshaped]

    public var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && misshaped.isEmpty }

    public var description: String {
        var lines = ["\(path): the checkpoint does not fit this model (\(missing.count) missing, \(unexpected.count) unexpected, \(misshaped.count) mis-shaped keys)"]
        for m in missing { lines.append("  missing:    \(m.key) \(m.shape)") }
        for u in unexpected { lines.append("  unexpected: \(u.key) \(u.shape)") }
        for m in misshaped { lines.append("  mis-shaped: \(m.key): model expects \(m.expected), checkpoint has \(m.found)") }
        return lines.joined(separator: "\n")
    }

    public static func == (a: WeightMismatch, b: WeightMismatch) -> Bool {
        a.path == b.path && a.missing.map(\.key) == b.missing.map(\.key)
            && a.unexpected.map(\.key) == b.unexpected.map(\.key) && a.misshaped == b.misshaped
    }
}

/// Errors of weight binding and loading.
public enum WeightError: Error, CustomStringConvertible, Equatable {
    /// The checkpoint's keys or shapes differ from what the model declares (every one listed).
    case mismatch(WeightMismatch)
    /// A graph built only to record its parameters was compiled.
    case noSource(key: String)

    public var description: String {
        switch self {
        case .mismatch(let m): return m.description
        case .noSource(let k): return "parameter '\(k)' has no weight source (graph built for its manifest only)"
        }
    }
}

/// The one loading check: declared (key, shape) pairs against a checkpoint.
public enum WeightVerification {
    /// Throws `WeightError.mismatch` listing every missing, unexpected and mis-shaped key, sorted
    /// by name. Keys for which `ignore` is true are never reported as unexpected.
    public static func verify(manifest: [(key: String, shape: Shape)], source: any TensorSource,
                              ignore: (String) -> Bool) throws {
        let available = source.shapes
        var mismatch = WeightMismatch(path: source.path, missing: [], unexpected: [], misshaped: [])
        var wanted: Set<String> = []
        for (key, shape) in manifest {
            wanted.insert(key)
            guard let found = available[key] else { mismatch.missing.append((key, shape)); continue }
            if found != shape { mismatch.misshaped.append(.init(key: key, expected: shape, found: found)) }
        }
        for (key, shape) in available where !wanted.contains(key) && !ignore(key) {
            mismatch.unexpected.append((key, shape))
        }
        mismatch.missing.sort { $0.key < $1.key }
        mismatch.unexpected.sort { $0.key < $1.key }
        mismatch.misshaped.sort { $0.key < $1.key }
        if !mismatch.isEmpty { throw WeightError.mismatch(mismatch) }
    }
}

import Checkpoints
import TensorRuntime

/// Keys of a checkpoint compared with a model's expected keys, each named by its dotted key.
public struct KeyReport: Sendable, Equatable, Codable {
    public var missing: [String] = []
    public var unexpected: [String] = []
    /// Keys present in both with different shapes: key, expected shape, found shape.
    public var misshaped: [Misshaped] = []

    public struct Misshaped: Sendable, Equatable, Codable {
        public var key: String
        public var expected: Shape
        public var found: Shape
    }

    /// True when every expected key is present with its expected shape.
    public var isLoadable: Bool { missing.isEmpty && misshaped.isEmpty }
}

/// Why a checkpoint does not fit a model.
public enum ModelRecognitionError: Error, Equatable, CustomStringConvertible {
    /// No known model has this key layout.
    case unrecognised(path: String, reason: String)
    /// The user asked for one model and the checkpoint is another.
    case mismatch(path: String, requested: ModelKind, recognised: ModelKind, decidingKey: String, shape: Shape)
    /// The checkpoint looks like the model but keys are missing or have the wrong shape.
    case keys(path: String, model: ModelKind, report: KeyReport)

    public var description: String {
        switch self {
        case .unrecognised(let path, let reason):
            return "\(path): not a checkpoint of any known model (\(ModelKind.allCases.map(\.rawValue).joined(separator: ", "))): \(reason)"
        case .mismatch(let path, let requested, let recognised, let key, let shape):
            return "\(path): --model \(requested.rawValue) was requested but this is a \(recognised.rawValue) checkpoint (key '\(key)' has shape \(shape))"
        case .keys(let path, let model, let report):
            var parts: [String] = []
            if !report.missing.isEmpty { parts.append("missing: " + Self.list(report.missing)) }
            if !report.misshaped.isEmpty {
                parts.append("wrong shape: " + Self.list(report.misshaped.map { "\($0.key) is \($0.found), expected \($0.expected)" }))
            }
            if !report.unexpected.isEmpty { parts.append("unexpected: " + Self.list(report.unexpected)) }
            return "\(path): keys do not match \(model.rawValue): " + parts.joined(separator: "; ")
        }
    }

    private static func list(_ items: [String]) -> String {
        items.count <= 8 ? items.joined(separator: ", ") : items.prefix(8).joined(separator: ", ") + " and \(items.count - 8) more"
    }
}

/// What a checkpoint was recognised as, and the key that decided it.
public struct Recognition: Sendable, Equatable {
    public var model: ModelKind
    public var decidingKey: String
    public var decidingShape: Shape
}

/// Decides which model a checkpoint holds from its keys and shapes alone.
///
/// Each encoder family (`EncoderFamilies.all`) claims the checkpoints holding its signature key
/// and tells its published models apart (`Encoders/*/…Checkpoints.swift`). MedSAM has the
/// ViT-B architecture, so its checkpoints are recognised as `sam-vit-b`; asking for `medsam`
/// with one is accepted.
public enum ModelRecognition {
    public static func recognise(_ shapes: [String: Shape], path: String) throws -> Recognition {
        for family in EncoderFamilies.all {
            if let shape = shapes[family.signatureKey] {
                let model = try family.recognise(shapes, signature: shape, path: path)
                return Recognition(model: model, decidingKey: family.signatureKey, decidingShape: shape)
            }
        }
        if shapes.keys.contains(where: HuggingFaceSAMNames.isHuggingFaceName) {
            throw ModelRecognitionError.unrecognised(path: path, reason: "it has Hugging Face names (vision_encoder.…) that were not mapped back (open it with SAMCheckpoint.open)")
        }
        let sample = shapes.keys.sorted().prefix(3).joined(separator: ", ")
        let signatures = EncoderFamilies.all.map { "'\($0.signatureKey)'" }
        throw ModelRecognitionError.unrecognised(path: path, reason: "none of \(signatures.joined(separator: ", ")) is present (first keys: \(sample))")
    }

    /// The model to build: the recognised one, checked against `requested` and against the full
    /// key table. A model with the same weights layout as the recognised one may be requested
    /// (`medsam` for a ViT-B checkpoint).
    public static func resolve(requested: ModelKind?, shapes: [String: Shape], path: String) throws -> ModelKind {
        let found = try recognise(shapes, path: path)
        var model = found.model
        if let requested, requested != found.model {
            guard requested.config.hasSameWeights(as: found.model.config) else {
                throw ModelRecognitionError.mismatch(path: path, requested: requested, recognised: found.model,
                                                     decidingKey: found.decidingKey, shape: found.decidingShape)
            }
            model = requested
        }
        let report = compare(shapes, with: model)
        guard report.isLoadable else { throw ModelRecognitionError.keys(path: path, model: model, report: report) }
        return model
    }

    /// Every missing, unexpected and mis-shaped key of `shapes` against `model`'s table, in table
    /// order (unexpected keys sorted).
    public static func compare(_ shapes: [String: Shape], with model: ModelKind) -> KeyReport {
        var report = KeyReport()
        var expectedKeys = Set<String>()
        for (key, shape) in ExpectedCheckpointKeys.shapes(for: model) {
            expectedKeys.insert(key)
            guard let found = shapes[key] else { report.missing.append(key); continue }
            if found != shape { report.misshaped.append(.init(key: key, expected: shape, found: found)) }
        }
        report.unexpected = shapes.keys.filter { !expectedKeys.contains($0) }.sorted()
        return report
    }
}

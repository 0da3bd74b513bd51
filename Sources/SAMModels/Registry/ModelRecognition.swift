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
/// TinyViT checkpoints are told apart by the patch embedding's kernel (1×1 LiteMedSAM, 3×3
/// MobileSAM); SAM ViTs by the patch embedding's width and the number of blocks. MedSAM has the
/// ViT-B architecture, so its checkpoints are recognised as `sam-vit-b`; asking for `medsam` with
/// one is accepted.
public enum ModelRecognition {
    static let tinyViTPatchKey = "image_encoder.patch_embed.seq.0.c.weight"
    static let vitPatchKey = "image_encoder.patch_embed.proj.weight"

    public static func recognise(_ shapes: [String: Shape], path: String) throws -> Recognition {
        if let shape = shapes[tinyViTPatchKey] {
            guard shape.rank == 4, shape[0] == 32, shape[1] == 3, shape[2] == shape[3] else {
                throw ModelRecognitionError.unrecognised(path: path, reason: "'\(tinyViTPatchKey)' has shape \(shape), expected [32,3,1,1] (LiteMedSAM) or [32,3,3,3] (MobileSAM)")
            }
            switch shape[2] {
            case 1: return Recognition(model: .litemedsam, decidingKey: tinyViTPatchKey, decidingShape: shape)
            case 3: return Recognition(model: .mobilesam, decidingKey: tinyViTPatchKey, decidingShape: shape)
            default:
                throw ModelRecognitionError.unrecognised(path: path, reason: "'\(tinyViTPatchKey)' has a \(shape[2])×\(shape[3]) kernel; LiteMedSAM uses 1×1, MobileSAM 3×3")
            }
        }
        if let shape = shapes[vitPatchKey] {
            guard shape.rank == 4, shape[1] == 3, shape[2] == 16, shape[3] == 16 else {
                throw ModelRecognitionError.unrecognised(path: path, reason: "'\(vitPatchKey)' has shape \(shape), expected [D,3,16,16]")
            }
            let model: ModelKind, depth: Int
            switch shape[0] {
            case 768: (model, depth) = (.samViTB, 12)
            case 1024: (model, depth) = (.samViTL, 24)
            case 1280: (model, depth) = (.samViTH, 32)
            default:
                throw ModelRecognitionError.unrecognised(path: path, reason: "'\(vitPatchKey)' has width \(shape[0]); SAM ViT-B/L/H use 768/1024/1280")
            }
            let blocks = blockCount(shapes)
            guard blocks == depth else {
                throw ModelRecognitionError.unrecognised(path: path, reason: "'\(vitPatchKey)' says \(model.rawValue) (width \(shape[0]), \(depth) blocks) but the checkpoint has \(blocks) blocks")
            }
            return Recognition(model: model, decidingKey: vitPatchKey, decidingShape: shape)
        }
        if shapes.keys.contains(where: { $0.hasPrefix("vision_encoder.") }) {
            throw ModelRecognitionError.unrecognised(path: path, reason: "it has Hugging Face names (vision_encoder.…) that were not mapped back")
        }
        let sample = shapes.keys.sorted().prefix(3).joined(separator: ", ")
        throw ModelRecognitionError.unrecognised(path: path, reason: "neither '\(tinyViTPatchKey)' nor '\(vitPatchKey)' is present (first keys: \(sample))")
    }

    /// The model to build: the recognised one, checked against `requested` and against the full
    /// key table. `medsam` may be requested for a ViT-B checkpoint.
    public static func resolve(requested: ModelKind?, shapes: [String: Shape], path: String) throws -> ModelKind {
        let found = try recognise(shapes, path: path)
        var model = found.model
        if let requested, requested != found.model {
            guard requested == .medsam && found.model == .samViTB else {
                throw ModelRecognitionError.mismatch(path: path, requested: requested, recognised: found.model,
                                                     decidingKey: found.decidingKey, shape: found.decidingShape)
            }
            model = .medsam
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

    /// Number of `image_encoder.blocks.N.` indices present.
    private static func blockCount(_ shapes: [String: Shape]) -> Int {
        var indices = Set<Int>()
        for key in shapes.keys where key.hasPrefix("image_encoder.blocks.") {
            let rest = key.dropFirst("image_encoder.blocks.".count)
            if let n = Int(rest.prefix { $0 != "." }) { indices.insert(n) }
        }
        return indices.count
    }
}

import Checkpoints
import TensorRuntime

/// Opens checkpoints as SAM-family models name their weights.
public enum SAMCheckpoint {
    /// Opens `path` (`.pth` or `.safetensors`, see `Checkpoint.open`) and, when its keys follow
    /// another naming scheme this module knows (Hugging Face `SamModel`'s), presents them under
    /// the original segment-anything names, so recognition and loading see one set of keys.
    public static func open(path: String) throws -> any CheckpointSource {
        try withOriginalNames(Checkpoint.open(path: path))
    }

    /// `source` itself, or a view of it with Hugging Face names mapped back (their tied
    /// duplicate of the positional encoding dropped). Two names mapping to one key is an error.
    public static func withOriginalNames(_ source: any CheckpointSource) throws -> any CheckpointSource {
        guard source.keys.contains(where: HuggingFaceSAMNames.isHuggingFaceName) else { return source }
        return try RenamedCheckpoint(source, aliasing: "Hugging Face SamModel", HuggingFaceSAMNames.originalName(for:))
    }
}

/// A checkpoint whose keys are presented under other names; tensors are loaded from the
/// underlying file by their stored names.
public final class RenamedCheckpoint: CheckpointSource {
    /// The checkpoint as read from the file.
    public let base: any CheckpointSource
    /// The naming scheme that was mapped back (e.g. "Hugging Face SamModel").
    public let scheme: String
    public let keys: [String]
    public let shapes: [String: Shape]
    public let storedDTypes: [String: StorageDType]
    /// Presented key -> the name stored in the file.
    public let storedNames: [String: String]

    public var path: String { base.path }

    /// `rename` gives the presented key of each stored name, or nil to leave the tensor out.
    public init(_ base: any CheckpointSource, aliasing scheme: String, _ rename: (String) -> String?) throws {
        self.base = base
        self.scheme = scheme
        var keys: [String] = [], shapes: [String: Shape] = [:], dtypes: [String: StorageDType] = [:]
        var stored: [String: String] = [:]
        for name in base.keys {
            guard let key = rename(name) else { continue }
            if let earlier = stored[key] {
                throw ModelRecognitionError.unrecognised(path: base.path, reason: "\(scheme) names '\(earlier)' and '\(name)' both map to the key '\(key)'")
            }
            keys.append(key)
            stored[key] = name
            shapes[key] = base.shapes[name]
            dtypes[key] = base.storedDTypes[name]
        }
        self.keys = keys
        self.shapes = shapes
        self.storedDTypes = dtypes
        self.storedNames = stored
    }

    public func load(_ key: String) throws -> Tensor {
        // An unknown key goes through unchanged, so the base reports it in its own terms.
        try base.load(storedNames[key] ?? key)
    }
}

import Checkpoints
import Foundation
import TensorRuntime

/// What `medsam info --checkpoint PATH --json` prints: the recognised model and the size of the
/// checkpoint. Reading it touches no tensor data.
public struct CheckpointSummary: Codable, Sendable, Equatable {
    public var path: String
    public var format: String
    public var model: ModelKind
    public var tensors: Int
    /// Elements over all tensors, counters included (e.g. 9,801,439 for lite_medsam.pth).
    public var parameters: Int
    /// Number of tensors per stored element type, e.g. `["float32": 408, "int64": 27]`.
    public var dtypes: [String: Int]
    /// Keys the model does not use (e.g. MobileSAM's classifier head); informational.
    public var unexpectedKeys: [String]

    /// Opens `path` (`.pth` or `.safetensors`, Hugging Face names included), recognises the model
    /// and counts its tensors.
    /// Throws `CheckpointError` for unreadable files and `ModelRecognitionError` when no known
    /// model matches (or `requested` is a different one).
    public static func read(path: String, requested: ModelKind? = nil) throws -> CheckpointSummary {
        try summarise(SAMCheckpoint.open(path: path), requested: requested)
    }

    public static func summarise(_ source: CheckpointSource, requested: ModelKind? = nil) throws -> CheckpointSummary {
        let model = try ModelRecognition.resolve(requested: requested, shapes: source.shapes, path: source.path)
        var dtypes: [String: Int] = [:]
        for (_, dtype) in source.storedDTypes { dtypes[dtype.rawValue, default: 0] += 1 }
        let parameters = source.shapes.values.reduce(0) { $0 + $1.count }
        return CheckpointSummary(path: source.path,
                                 format: ((source as? RenamedCheckpoint)?.base ?? source) is SafetensorsCheckpoint ? "safetensors" : "pytorch",
                                 model: model, tensors: source.shapes.count, parameters: parameters,
                                 dtypes: dtypes,
                                 unexpectedKeys: ModelRecognition.compare(source.shapes, with: model).unexpected)
    }

    /// Pretty, key-sorted JSON.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

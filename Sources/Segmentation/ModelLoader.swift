import Checkpoints
import Foundation
import ModelStore
import SAMModels
import TensorRuntime

/// Errors choosing or loading a model.
public enum ModelLoadError: Error, CustomStringConvertible {
    case unknownModel(String)
    case checkpointRequired(ModelKind)

    public var description: String {
        switch self {
        case .unknownModel(let n):
            return "unknown model '\(n)' (expected one of: \(ModelKind.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .checkpointRequired(let k):
            return "model '\(k.rawValue)' needs --checkpoint PATH (only the default model, litemedsam, is fetched automatically)"
        }
    }
}

/// A model with verified weights, and what it was loaded from.
public struct LoadedModel {
    public var kind: ModelKind
    public var model: SAMModel
    public var checkpointPath: String
}

/// The one path from a model name and/or checkpoint file to a verified `SAMModel`.
public enum ModelLoader {
    /// Parses a model name as the command line spells it.
    public static func kind(named name: String) throws -> ModelKind {
        guard let k = ModelKind(rawValue: name) else { throw ModelLoadError.unknownModel(name) }
        return k
    }

    /// Loads `checkpoint` (or, for the default model without one, the cached LiteMedSAM
    /// weights, fetching them on first use). The checkpoint's model is recognised from its keys;
    /// a mismatch with `requested` is an error naming both.
    public static func load(requested: ModelKind?, checkpoint: String?) throws -> LoadedModel {
        let path: String
        if let checkpoint {
            path = checkpoint
        } else {
            let kind = requested ?? .default
            guard kind == .litemedsam else { throw ModelLoadError.checkpointRequired(kind) }
            path = try DefaultWeights.liteMedSAM().path
        }
        let source = try SAMCheckpoint.open(path: path)
        let kind = try ModelRecognition.resolve(requested: requested, shapes: source.shapes, path: path)
        return LoadedModel(kind: kind, model: try SAMModel(kind: kind, weights: source), checkpointPath: path)
    }
}

import TensorRuntime

/// What an image-encoder family tells about checkpoints: the key whose presence claims a
/// checkpoint for the family, and which published model the checkpoint's shapes describe.
///
/// Each family lives in its own folder under `Encoders/` (configuration, graph builder and this
/// recogniser) and is listed once in `EncoderFamilies.all`.
protocol EncoderCheckpointFamily {
    /// A key only this family's checkpoints hold (its first patch-embedding weight).
    static var signatureKey: String { get }
    /// The published model whose encoder `shapes` describes, given that `signatureKey` has
    /// `signature`; throws `ModelRecognitionError.unrecognised` saying what does not fit.
    static func recognise(_ shapes: [String: Shape], signature: Shape, path: String) throws -> ModelKind
}

/// The encoder families, in the order recognition consults them.
enum EncoderFamilies {
    static let all: [any EncoderCheckpointFamily.Type] = [TinyViTCheckpoints.self, ViTCheckpoints.self]
}

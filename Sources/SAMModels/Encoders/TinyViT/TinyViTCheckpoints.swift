import TensorRuntime

/// TinyViT checkpoints (LiteMedSAM, MobileSAM): told apart by the first patch-embedding conv's
/// kernel, 1×1 for LiteMedSAM and 3×3 for MobileSAM, compared with the published configurations.
enum TinyViTCheckpoints: EncoderCheckpointFamily {
    static let signatureKey = "image_encoder.patch_embed.seq.0.c.weight"

    static let published: [(kind: ModelKind, name: String, config: TinyViTConfig)] =
        [(.litemedsam, "LiteMedSAM", .liteMedSAM), (.mobilesam, "MobileSAM", .mobileSAM)]

    /// Side of the first patch-embedding kernel.
    static func kernel(_ c: TinyViTConfig) -> Int { c.patchEmbedding == .pointwise ? 1 : 3 }

    static func recognise(_ shapes: [String: Shape], signature shape: Shape, path: String) throws -> ModelKind {
        let width = TinyViTConfig.liteMedSAM.embedDims[0] / 2
        guard shape.rank == 4, shape[0] == width, shape[1] == 3, shape[2] == shape[3] else {
            let expected = published.map { "[\(width),3,\(kernel($0.config)),\(kernel($0.config))] (\($0.name))" }
            throw ModelRecognitionError.unrecognised(path: path, reason: "'\(signatureKey)' has shape \(shape), expected \(expected.joined(separator: " or "))")
        }
        guard let match = published.first(where: { kernel($0.config) == shape[2] }) else {
            let uses = published.map { "\($0.name) uses \(kernel($0.config))×\(kernel($0.config))" }
            throw ModelRecognitionError.unrecognised(path: path, reason: "'\(signatureKey)' has a \(shape[2])×\(shape[3]) kernel; \(uses.joined(separator: ", "))")
        }
        return match.kind
    }
}

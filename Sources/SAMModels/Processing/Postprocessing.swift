import TensorRuntime

/// Low-res logits back to masks at the original image size, per family (docs/sam-spec.md §4, §7, §8.3).
public enum Postprocessing {
    /// Logits `[B, M, 4h, 4w]` at the original size `[B, M, H, W]`.
    /// SAM: bilinear to the input size, crop the resized region, bilinear to the original size.
    /// LiteMedSAM: crop (low-res size equals the input size), bilinear to the original size.
    /// MedSAM: bilinear straight to the original size (nothing was padded); note that MedSAM
    /// thresholds sigmoid *before* this resize, which `masks` does.
    public static func upscaledLogits(_ lowRes: Tensor, transform t: ImageTransform) throws -> Tensor {
        let b = lowRes.shape[0], m = lowRes.shape[1]
        var x = lowRes
        switch t.family {
        case .sam:
            x = try ReferenceKernels.execute(.resizeBilinear(height: t.inputSize, width: t.inputSize, antialias: false), inputs: [x])
            x = try ReferenceKernels.execute(.slice(start: [0, 0, 0, 0], size: [b, m, t.resizedHeight, t.resizedWidth]), inputs: [x])
        case .liteMedSAM:
            let scale = x.shape[2] / t.inputSize
            x = try ReferenceKernels.execute(.slice(start: [0, 0, 0, 0], size: [b, m, t.resizedHeight * scale, t.resizedWidth * scale]),
                                             inputs: [x])
        case .medsam:
            break
        }
        return try ReferenceKernels.execute(.resizeBilinear(height: t.originalHeight, width: t.originalWidth, antialias: false),
                                            inputs: [x])
    }

    /// Binary masks (1 or 0) `[B, M, H, W]` at the original size, thresholded as each family does:
    /// SAM logits > 0; LiteMedSAM sigmoid(upscaled logits) > 0.5; MedSAM upscaled sigmoid(logits) > 0.5.
    public static func masks(_ lowRes: Tensor, transform t: ImageTransform) throws -> Tensor {
        switch t.family {
        case .sam:
            let up = try upscaledLogits(lowRes, transform: t)
            return Tensor(shape: up.shape, data: up.data.map { $0 > 0 ? 1 : 0 })
        case .liteMedSAM:
            let up = try upscaledLogits(lowRes, transform: t)
            let p = try ReferenceKernels.execute(.unary(.sigmoid), inputs: [up])
            return Tensor(shape: p.shape, data: p.data.map { $0 > 0.5 ? 1 : 0 })
        case .medsam:
            let p = try ReferenceKernels.execute(.unary(.sigmoid), inputs: [lowRes])
            let up = try upscaledLogits(p, transform: t)
            return Tensor(shape: up.shape, data: up.data.map { $0 > 0.5 ? 1 : 0 })
        }
    }
}

extension SAMModel {
    /// `image` `[H, W, 3]` (0…255 RGB) → encoder input `[1, 3, S, S]` and the transform.
    public func preprocess(image: Tensor) throws -> (Tensor, ImageTransform) {
        try Preprocessing.preprocess(image, family: config.preprocessing, inputSize: config.inputSize)
    }

    /// Low-res logits → binary masks at the original size, as this model's family does it.
    public func postprocess(lowResLogits: Tensor, transform: ImageTransform) throws -> Tensor {
        try Postprocessing.masks(lowResLogits, transform: transform)
    }
}

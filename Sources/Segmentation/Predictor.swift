import Foundation
import MedicalImaging
import SAMModels
import TensorRuntime

/// A prompt in the pixel coordinates of the image as read (x = column, y = row).
public struct PromptInput: Sendable, Equatable {
    public struct Point: Sendable, Equatable {
        public var x: Float
        public var y: Float
        /// 1 foreground, 0 background.
        public var label: Int
        public init(x: Float, y: Float, label: Int = 1) { self.x = x; self.y = y; self.label = label }
    }
    public var points: [Point]
    /// X0, Y0, X1, Y1.
    public var box: [Float]?
    /// Low-res logits `[1, 4h, 4w]` (or `[4h, 4w]`) of an earlier prediction of the same model.
    public var maskLogits: Tensor?

    public init(points: [Point] = [], box: [Float]? = nil, maskLogits: Tensor? = nil) {
        self.points = points
        self.box = box
        self.maskLogits = maskLogits
    }
}

/// Prompts that cannot be applied to the current image.
public enum PromptInputError: Error, CustomStringConvertible, Equatable {
    case noImage
    case noPrompt
    case boxOutside(box: [Float], width: Int, height: Int)
    case boxInverted([Float])
    case pointOutside(x: Float, y: Float, width: Int, height: Int)
    case badLabel(Int)
    case sliceOutside(index: Int, count: Int, axis: String)

    public var description: String {
        switch self {
        case .noImage: return "no image set: call setImage first"
        case .noPrompt: return "a prompt needs at least one point, a box or a mask input"
        case .boxOutside(let b, let w, let h):
            return "box \(fmt(b)) lies outside the \(w)x\(h) image (x in 0...\(w), y in 0...\(h))"
        case .boxInverted(let b): return "box \(fmt(b)) has X1 < X0 or Y1 < Y0 (expected X0,Y0,X1,Y1)"
        case .pointOutside(let x, let y, let w, let h):
            return "point (\(x), \(y)) lies outside the \(w)x\(h) image"
        case .badLabel(let l): return "point label \(l) is not 0 (background) or 1 (foreground)"
        case .sliceOutside(let i, let n, let axis): return "slice \(i) is outside the \(n) \(axis) slices (0...\(n - 1))"
        }
    }

    private func fmt(_ b: [Float]) -> String { b.map { String(format: "%g", $0) }.joined(separator: ",") }
}

/// Masks for a batch of prompts at the image's size.
public struct Prediction {
    /// `[P, M, H, W]` with values 0/1 (M = 3 with multimask, else 1).
    public var masks: Tensor
    /// `[P, M, H, W]` mask logits before thresholding, at the image's size.
    public var logits: Tensor
    /// `[P, M]` predicted IoU.
    public var iou: Tensor
    /// `[P, M, 4h, 4w]` low-res logits (what a following prompt can pass as `maskLogits`).
    public var lowResLogits: Tensor

    /// Index of the mask with the highest predicted IoU for prompt `p`.
    public func bestMask(_ p: Int) -> Int {
        let m = iou.shape[1]
        return (0..<m).max { iou.data[p * m + $0] < iou.data[p * m + $1] } ?? 0
    }

    /// Number of foreground pixels of mask `m` of prompt `p`.
    public func area(_ p: Int, _ m: Int) -> Int {
        let hw = masks.shape[2] * masks.shape[3]
        let start = (p * masks.shape[1] + m) * hw
        return masks.data[start..<(start + hw)].reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
    }
}

/// SAM's interactive split: embed an image once, then answer any number of prompt sets.
///
/// The embedding is computed by the image encoder on the backend and kept; each `predict`
/// runs only the prompt encoder and mask decoder (one decoder call per batch of prompts).
public final class Predictor {
    public let model: SAMModel
    public let backend: any Backend
    public private(set) var embedding: Tensor?
    public private(set) var transform: ImageTransform?
    /// Milliseconds of the last `setImage` (preprocess + encoder) and `predict` (decoder + postprocess).
    public private(set) var lastEncodeMilliseconds: Double = 0
    public private(set) var lastDecodeMilliseconds: Double = 0

    public init(model: SAMModel, backend: any Backend) {
        self.model = model
        self.backend = backend
    }

    /// Embeds `image` (grey or RGB, intensities already mapped to 0...255).
    public func setImage(_ image: Image) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let rgb = image.rgb()
        let tensor = Tensor(shape: [rgb.height, rgb.width, 3], data: rgb.pixels)
        let (input, transform) = try model.preprocess(image: tensor)
        let encoder = try model.compiledEncoder(on: backend)
        guard let output = try encoder.run(["image": input]).values.first else {
            throw BackendError.invalidArgument("the image encoder produced no output")
        }
        embedding = output
        self.transform = transform
        lastEncodeMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }

    /// Uses an embedding computed earlier (e.g. read from `medsam embed` output) for an image of
    /// the given size.
    public func setEmbedding(_ embedding: Tensor, imageHeight: Int, imageWidth: Int) throws {
        let (_, t) = try model.preprocess(image: Tensor(zeros: [imageHeight, imageWidth, 3]))
        self.embedding = embedding
        self.transform = t
    }

    /// Checks prompts against the image (boxes inside and ordered, points inside, labels 0/1).
    public func validate(_ prompts: [PromptInput]) throws {
        guard let t = transform else { throw PromptInputError.noImage }
        let w = Float(t.originalWidth), h = Float(t.originalHeight)
        for p in prompts {
            if p.points.isEmpty && p.box == nil && p.maskLogits == nil { throw PromptInputError.noPrompt }
            if let b = p.box {
                guard b.count == 4, b.allSatisfy(\.isFinite) else { throw PromptInputError.boxInverted(b) }
                guard b[2] >= b[0], b[3] >= b[1] else { throw PromptInputError.boxInverted(b) }
                guard b[0] >= 0, b[1] >= 0, b[2] <= w, b[3] <= h else {
                    throw PromptInputError.boxOutside(box: b, width: t.originalWidth, height: t.originalHeight)
                }
            }
            for pt in p.points {
                guard pt.label == 0 || pt.label == 1 else { throw PromptInputError.badLabel(pt.label) }
                guard pt.x >= 0, pt.y >= 0, pt.x <= w, pt.y <= h, pt.x.isFinite, pt.y.isFinite else {
                    throw PromptInputError.pointOutside(x: pt.x, y: pt.y, width: t.originalWidth, height: t.originalHeight)
                }
            }
        }
    }

    /// Masks for `prompts` (all of the same form: the same number of points, all or none with a
    /// box, all or none with a mask input), in one decoder call.
    public func predict(_ prompts: [PromptInput], multimask: Bool = false) throws -> Prediction {
        guard let embedding, let t = transform else { throw PromptInputError.noImage }
        try validate(prompts)
        let start = DispatchTime.now().uptimeNanoseconds
        let modelPrompts = prompts.map { p -> Prompt in
            Prompt(points: p.points.map { pt in
                       let q = t.point(x: pt.x, y: pt.y)
                       return PromptPoint(x: q.x, y: q.y, label: pt.label)
                   },
                   box: p.box.map { t.box($0) },
                   maskInput: p.maskLogits)
        }
        let out = try model.decode(prompts: modelPrompts, embeddings: embedding, multimask: multimask, on: backend)
        guard let lowRes = out[DecoderIO.lowResLogits], let iou = out[DecoderIO.iouPredictions] else {
            throw BackendError.invalidArgument("the mask decoder did not produce logits and IoU")
        }
        let logits = try Postprocessing.upscaledLogits(lowRes, transform: t)
        let masks = try model.postprocess(lowResLogits: lowRes, transform: t)
        lastDecodeMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        return Prediction(masks: masks, logits: logits, iou: iou, lowResLogits: lowRes)
    }
}

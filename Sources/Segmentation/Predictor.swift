import Foundation
import MedicalImaging
import SAMModels
import TensorRuntime

/// A prompt in the pixel coordinates of the image as read (x = column, y = row).
public struct ImagePrompt: Sendable, Equatable {
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

extension ImagePrompt {
    /// This prompt, given on `display` (a slice laid out `displayWidth` x `displayHeight`), in
    /// the array-order slice's pixels, the frame the model sees (``SliceOrientation``).
    public func inArrayOrder(from display: SliceOrientation, displayWidth: Int, displayHeight: Int) -> ImagePrompt {
        guard !display.isIdentity else { return self }
        var p = self
        p.box = box.map {
            display.boxToArray($0.map(Double.init), displayWidth: displayWidth, displayHeight: displayHeight).map(Float.init)
        }
        p.points = points.map {
            let a = display.pointToArray(x: Double($0.x), y: Double($0.y), displayWidth: displayWidth, displayHeight: displayHeight)
            return Point(x: Float(a.x), y: Float(a.y), label: $0.label)
        }
        return p
    }
}

/// Prompts that cannot be applied to the current image.
public enum ImagePromptError: Error, CustomStringConvertible, Equatable {
    case noImage
    case noPrompt
    case boxOutside(box: [Float], width: Int, height: Int)
    case boxInverted([Float])
    case pointOutside(x: Float, y: Float, width: Int, height: Int)
    case badLabel(Int)
    case sliceOutside(index: Int, count: Int, axis: String)
    case rangeOutside(lower: Int, upper: Int, key: Int, count: Int)
    case badBox3D([Float], reason: String)

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
        case .rangeOutside(let lo, let hi, let key, let n):
            return "slice range \(lo)...\(hi) must hold the key slice \(key) and lie within 0...\(n - 1)"
        case .badBox3D(let b, let reason): return "3-D box \(fmt(b)): \(reason) (expected X0,Y0,Z0,X1,Y1,Z1)"
        }
    }

    private func fmt(_ b: [Float]) -> String { b.map { String(format: "%g", $0) }.joined(separator: ",") }
}

/// What `Predictor.predict` brings back to the host besides the masks and IoU predictions.
public struct PredictionOutputs: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// The logits at the image's size (before sigmoid and threshold).
    public static let logits = PredictionOutputs(rawValue: 1)
    /// The decoder's low-res logits (what a following prompt can pass as `maskLogits`).
    public static let lowResLogits = PredictionOutputs(rawValue: 2)
}

/// Masks for a batch of prompts at the image's size.
public struct Prediction {
    /// `[P, M, H, W]` with values 0/1 (M = 3 with multimask, else 1).
    public var masks: Tensor
    /// `[P, M]` predicted IoU.
    public var iou: Tensor
    /// `[P, M, H, W]` mask logits before thresholding, at the image's size (when asked for).
    public var logits: Tensor?
    /// `[P, M, 4h, 4w]` low-res logits (when asked for).
    public var lowResLogits: Tensor?

    /// Masks and their IoU predictions as the decoder gave them (`Predictor.predict` makes
    /// these; public so a caller can choose among masks it holds, e.g. in tests).
    public init(masks: Tensor, iou: Tensor, logits: Tensor? = nil, lowResLogits: Tensor? = nil) {
        self.masks = masks
        self.iou = iou
        self.logits = logits
        self.lowResLogits = lowResLogits
    }

    /// Index of the mask with the highest predicted IoU for prompt `p`: the first of equal
    /// IoUs, as NumPy's `argmax` (and segment-anything's callers) pick it; `max(by:)` keeps its
    /// first maximum (tested in PredictorTests).
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

/// An image as the mask decoder sees it: its embedding, kept on the backend that computed it,
/// and the transform that maps prompts in and masks back out.
///
/// Holding an `ImageEmbedding` holds its device memory (for SAM ViT 4 MiB, for LiteMedSAM
/// 4 MiB); release it to free that memory. Nothing moves it to the host but `download()`.
public final class ImageEmbedding {
    /// `[1, C, h, w]` on the predictor's backend.
    public let embeddings: DeviceTensor
    public let transform: ImageTransform
    /// The decoder's prompt-independent image side, computed on the first prompt without a
    /// mask input and reused by every later one.
    var decoderContext: DecoderImageContext?

    public init(embeddings: DeviceTensor, transform: ImageTransform) {
        self.embeddings = embeddings
        self.transform = transform
    }

    /// The embedding on the host (for `medsam embed`, or to cache it on disk).
    public func download() throws -> Tensor { try embeddings.download() }
}

/// Errors from setting an embedding computed elsewhere.
public enum EmbeddingError: Error, CustomStringConvertible, Equatable {
    case shape(expected: Shape, got: Shape)

    public var description: String {
        switch self {
        case .shape(let e, let g):
            return "the embedding has shape \(g), but this model's image encoder produces \(e)"
        }
    }
}

/// SAM's interactive split: embed an image once, then answer any number of prompt sets.
///
/// The image encoder runs on the backend and its embedding stays there; each `predict` runs
/// the prompt encoder and mask decoder (one decoder call per batch of prompts) against that
/// device tensor, then the family's post-processing graph on the same backend, and downloads
/// only the masks, the IoU predictions and what `PredictionOutputs` asks for. Embeddings of
/// several images can be computed in one encoder run (`embed(_:)`) and switched between with
/// `setEmbedding(_:)`. A predictor is not thread-safe: use one per thread.
public final class Predictor {
    public let model: SAMModel
    public let backend: any Backend
    /// The embedding prompts are decoded against (set by `setImage` or `setEmbedding`).
    public private(set) var current: ImageEmbedding?
    public var transform: ImageTransform? { current?.transform }
    /// Milliseconds of the last `setImage`/`embed` (preprocess + encoder) and `predict`
    /// (decoder + post-processing + downloads).
    public private(set) var lastEncodeMilliseconds: Double = 0
    public private(set) var lastDecodeMilliseconds: Double = 0

    public init(model: SAMModel, backend: any Backend) {
        self.model = model
        self.backend = backend
    }

    /// Embeds `image` (grey or RGB, intensities already mapped to 0...255) and makes it current.
    public func setImage(_ image: Image) throws {
        current = try embed([image])[0]
    }

    /// Embeds `images` in one encoder run (a batch of N), returning one embedding per image
    /// (each copied on the device into a buffer of its own). The current embedding is unchanged.
    public func embed(_ images: [Image]) throws -> [ImageEmbedding] {
        guard !images.isEmpty else { return [] }
        let start = DispatchTime.now().uptimeNanoseconds
        var inputs: [Float] = []
        var transforms: [ImageTransform] = []
        let s = model.config.inputSize
        inputs.reserveCapacity(images.count * 3 * s * s)
        for image in images {
            let rgb = image.rgb()
            let (input, transform) = try model.preprocess(image: Tensor(shape: [rgb.height, rgb.width, 3], data: rgb.pixels))
            inputs += input.data
            transforms.append(transform)
        }
        let batch = try model.encode(Tensor(shape: [images.count, 3, s, s], data: inputs), on: backend)
        let result = try transforms.enumerated().map { i, t in
            ImageEmbedding(embeddings: images.count == 1 ? batch : try batch.item(i), transform: t)
        }
        try backend.synchronize()
        lastEncodeMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        return result
    }

    /// Makes an embedding computed earlier by this predictor current.
    public func setEmbedding(_ embedding: ImageEmbedding) throws {
        guard embedding.embeddings.backend === backend else {
            throw BackendError.invalidArgument("the embedding was computed on another backend (\(embedding.embeddings.backend.info.backend))")
        }
        current = embedding
    }

    /// Uses an embedding computed earlier (e.g. read from `medsam embed` output) for an image of
    /// the given size: it is uploaded once and stays on the backend.
    public func setEmbedding(_ embedding: Tensor, imageHeight: Int, imageWidth: Int) throws {
        let pc = model.config.promptEncoder
        let expected: Shape = [1, model.config.encoder.embeddingChannels, pc.embeddingHeight, pc.embeddingWidth]
        guard embedding.shape.count == expected.count, embedding.shape.dims.filter({ $0 != 1 }) == expected.dims.filter({ $0 != 1 }) else {
            throw EmbeddingError.shape(expected: expected, got: embedding.shape)
        }
        guard imageHeight > 0, imageWidth > 0 else { throw PreprocessingError.imageShape([imageHeight, imageWidth, 3]) }
        let t = ImageTransform(family: model.config.preprocessing, originalHeight: imageHeight, originalWidth: imageWidth,
                               inputSize: model.config.inputSize)
        current = ImageEmbedding(embeddings: try DeviceTensor.upload(embedding.reshaped(expected), to: backend), transform: t)
    }

    /// The current embedding on the host.
    public func downloadEmbedding() throws -> Tensor {
        guard let current else { throw ImagePromptError.noImage }
        return try current.download()
    }

    /// Checks prompts against the image (boxes inside and ordered, points inside, labels 0/1).
    public func validate(_ prompts: [ImagePrompt]) throws {
        guard let t = transform else { throw ImagePromptError.noImage }
        let w = Float(t.originalWidth), h = Float(t.originalHeight)
        for p in prompts {
            if p.points.isEmpty && p.box == nil && p.maskLogits == nil { throw ImagePromptError.noPrompt }
            if let b = p.box {
                guard b.count == 4, b.allSatisfy(\.isFinite) else { throw ImagePromptError.boxInverted(b) }
                guard b[2] >= b[0], b[3] >= b[1] else { throw ImagePromptError.boxInverted(b) }
                guard b[0] >= 0, b[1] >= 0, b[2] <= w, b[3] <= h else {
                    throw ImagePromptError.boxOutside(box: b, width: t.originalWidth, height: t.originalHeight)
                }
            }
            for pt in p.points {
                guard pt.label == 0 || pt.label == 1 else { throw ImagePromptError.badLabel(pt.label) }
                guard pt.x >= 0, pt.y >= 0, pt.x <= w, pt.y <= h, pt.x.isFinite, pt.y.isFinite else {
                    throw ImagePromptError.pointOutside(x: pt.x, y: pt.y, width: t.originalWidth, height: t.originalHeight)
                }
            }
        }
    }

    /// Masks for `prompts` (all of the same form: the same number of points, all or none with a
    /// box, all or none with a mask input), in one decoder call and one post-processing call.
    public func predict(_ prompts: [ImagePrompt], multimask: Bool = false,
                        outputs: PredictionOutputs = []) throws -> Prediction {
        try predict(modelPrompts: try modelPrompts(prompts), multimask: multimask, outputs: outputs)
    }

    /// `prompts` validated and mapped from image pixels to the model's input frame.
    func modelPrompts(_ prompts: [ImagePrompt]) throws -> [ModelPrompt] {
        guard let current else { throw ImagePromptError.noImage }
        try validate(prompts)
        let t = current.transform
        return prompts.map { p in
            ModelPrompt(points: p.points.map { pt in
                            let q = t.point(x: pt.x, y: pt.y)
                            return ModelPoint(x: q.x, y: q.y, label: pt.label)
                        },
                        box: p.box.map { t.box($0) },
                        maskInput: p.maskLogits)
        }
    }

    /// The one decode-and-post-process path: prompts already in the model's frame (what
    /// `predict(_:)` maps image prompts to; the challenge's 3-D walk computes its boxes there).
    func predict(modelPrompts: [ModelPrompt], multimask: Bool, outputs: PredictionOutputs) throws -> Prediction {
        guard let current else { throw ImagePromptError.noImage }
        let start = DispatchTime.now().uptimeNanoseconds
        let (lowRes, iou) = try decodeLowResolution(modelPrompts: modelPrompts, multimask: multimask)
        let post = try model.postprocess(lowResLogits: .device(lowRes), transform: current.transform,
                                         includesLogits: outputs.contains(.logits), on: backend)
        let prediction = Prediction(masks: post.masks, iou: iou, logits: post.logits,
                                    lowResLogits: outputs.contains(.lowResLogits) ? try lowRes.download() : nil)
        lastDecodeMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        return prediction
    }

    /// The decoder alone: low-res logits `[P, M, 4h, 4w]` left on the backend and predicted IoU
    /// `[P, M]` (Everything mode post-processes only the masks it keeps). Without mask inputs
    /// the image side of the decoder is computed once per image and reused.
    func decodeLowResolution(modelPrompts: [ModelPrompt], multimask: Bool) throws -> (lowRes: DeviceTensor, iou: Tensor) {
        guard let current else { throw ImagePromptError.noImage }
        let decoded: GraphOutputs
        if modelPrompts.contains(where: { $0.maskInput != nil }) {
            decoded = try model.decode(prompts: modelPrompts, embeddings: .device(current.embeddings), multimask: multimask,
                                       on: backend, deviceOutputs: [DecoderIO.lowResLogits])
        } else {
            if current.decoderContext == nil {
                current.decoderContext = try model.imageContext(embeddings: .device(current.embeddings), on: backend)
            }
            decoded = try model.decode(prompts: modelPrompts, context: current.decoderContext!, multimask: multimask,
                                       on: backend, deviceOutputs: [DecoderIO.lowResLogits])
        }
        guard let lowRes = decoded.device[DecoderIO.lowResLogits], let iou = decoded.host[DecoderIO.iouPredictions] else {
            throw BackendError.invalidArgument("the mask decoder did not produce logits and IoU")
        }
        return (lowRes, iou)
    }
}

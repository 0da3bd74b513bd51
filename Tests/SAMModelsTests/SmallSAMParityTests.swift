import TensorRuntime
import XCTest
import SAMModels

/// SAM's own ImageEncoderViT / PromptEncoder / MaskDecoder at a small random configuration
/// (window 3 on an 8×8 grid: padded windows; block 1 global), against float64 PyTorch.
final class SmallSAMParityTests: XCTestCase {
    static let set = "sam_small"
    static let config = SAMModelConfig(
        encoder: .vit(SAMViTConfig(imageSize: 128, patchSize: 16, embedDim: 48, depth: 3, heads: 3,
                                   globalAttentionIndexes: [1], windowSize: 3, outChannels: 32)),
        promptEncoder: PromptEncoderConfig(embedDim: 32, embeddingSize: 8, inputSize: 128, maskInChannels: 4),
        maskDecoder: MaskDecoderConfig(transformerDim: 32, depth: 2, heads: 4, mlpDim: 64, iouHeadHiddenDim: 32),
        preprocessing: .sam)

    func model() throws -> SAMModel {
        try SAMModel(config: Self.config, weights: NPYFolderSource(Fixtures.root.appendingPathComponent("\(Self.set)/weights")))
    }

    func testEncoderMatchesPyTorch() throws {
        let m = try model()
        let out = try m.compiledEncoder(on: ReferenceBackend()).run(["image": Fixtures.tensor(Self.set, "image")])
        assertNMSE(out[EncoderIO.imageEmbeddings], try Fixtures.tensor(Self.set, "embedding"), ModelTolerance.embedding, "encoder")
    }

    /// Two prompts from the recorded fixture, in the model input frame.
    static func prompts(points: Bool, box: Bool, mask: Bool) throws -> [ModelPrompt] {
        let pts = try Fixtures.tensor(Self.set, "points"), labels = try Fixtures.tensor(Self.set, "labels")
        let boxes = try Fixtures.tensor(Self.set, "boxes"), masks = try Fixtures.tensor(Self.set, "mask_input")
        let n = pts.shape[1], side = masks.shape[2] * masks.shape[3]
        return (0..<2).map { i in
            ModelPrompt(points: points ? (0..<n).map { j in
                       ModelPoint(x: pts.data[(i * n + j) * 2], y: pts.data[(i * n + j) * 2 + 1], label: Int(labels.data[i * n + j]))
                   } : [],
                   box: box ? Array(boxes.data[(i * 4)..<(i * 4 + 4)]) : nil,
                   maskInput: mask ? Tensor(shape: [1, masks.shape[2], masks.shape[3]],
                                            data: Array(masks.data[(i * side)..<((i + 1) * side)])) : nil)
        }
    }

    func testPromptEncoderAndDecoderMatchPyTorch() throws {
        let m = try model()
        let backend = ReferenceBackend()
        let embedding = try Fixtures.tensor(Self.set, "embedding")
        let cases: [(String, Bool, Bool, Bool)] = [
            ("points", true, false, false), ("box", false, true, false), ("points_box", true, true, false),
            ("points_mask", true, false, true), ("box_mask", false, true, true),
            ("points_box_mask", true, true, true), ("mask", false, false, true),
        ]
        for (name, p, b, mk) in cases {
            for multimask in [false, true] {
                let out = try m.decode(prompts: try Self.prompts(points: p, box: b, mask: mk), embeddings: embedding,
                                       multimask: multimask, on: backend, exposesPromptEmbeddings: true)
                let tag = multimask ? "multi" : "single"
                let sparse = try Fixtures.tensor(Self.set, "\(name).sparse")
                if sparse.count > 0 { assertNMSE(out[DecoderIO.sparseEmbeddings], sparse, ModelTolerance.promptEmbedding, "\(name).sparse") }
                else { XCTAssertNil(out[DecoderIO.sparseEmbeddings]) }
                assertNMSE(out[DecoderIO.denseEmbeddings], try Fixtures.tensor(Self.set, "\(name).dense"), ModelTolerance.promptEmbedding, "\(name).dense")
                assertNMSE(out[DecoderIO.lowResLogits], try Fixtures.tensor(Self.set, "\(name).\(tag).logits"), ModelTolerance.logits,
                           "\(name).\(tag).logits")
                assertNMSE(out[DecoderIO.iouPredictions], try Fixtures.tensor(Self.set, "\(name).\(tag).iou"), ModelTolerance.iou,
                           "\(name).\(tag).iou")
            }
        }
    }

    /// MedSAM's decoder pairs image i with prompt i when given B embeddings for B prompts.
    func testImagesPairedWithPrompts() throws {
        let m = try model()
        let out = try m.decode(prompts: try Self.prompts(points: false, box: true, mask: false),
                               embeddings: try Fixtures.tensor(Self.set, "paired.embeddings"), multimask: false,
                               on: ReferenceBackend())
        assertNMSE(out[DecoderIO.lowResLogits], try Fixtures.tensor(Self.set, "paired.logits"), ModelTolerance.logits, "paired.logits")
        assertNMSE(out[DecoderIO.iouPredictions], try Fixtures.tensor(Self.set, "paired.iou"), ModelTolerance.iou, "paired.iou")
    }
}

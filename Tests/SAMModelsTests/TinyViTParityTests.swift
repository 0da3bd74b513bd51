import TensorRuntime
import XCTest
import SAMModels

/// Small TinyViTs (vendored LiteMedSAM code, random weights with BatchNorm statistics, batch 2):
/// the LiteMedSAM form (1×1 patch embedding) and the MobileSAM form (3×3/s2 patch embedding).
final class TinyViTParityTests: XCTestCase {
    func config(mobile: Bool) -> SAMModelConfig {
        let t = TinyViTConfig(imageSize: mobile ? 64 : 32, patchEmbedding: mobile ? .strided3x3 : .pointwise,
                              embedDims: [16, 32, 40, 48], depths: [1, 1, 2, 1], heads: [1, 2, 2, 3],
                              windowSizes: [7, 7, 14, 7], mergeStrides: [2, 2, 1], neckChannels: 32)
        return SAMModelConfig(encoder: .tinyViT(t),
                              promptEncoder: PromptEncoderConfig(embedDim: 32, embeddingSize: t.outputResolution,
                                                                 inputSize: t.imageSize, maskInChannels: 4),
                              maskDecoder: MaskDecoderConfig(transformerDim: 32, depth: 2, heads: 4, mlpDim: 64,
                                                             iouHeadHiddenDim: 32),
                              preprocessing: mobile ? .sam : .liteMedSAM)
    }

    func run(mobile: Bool) throws {
        let set = mobile ? "tinyvit_mobile_small" : "tinyvit_lite_small"
        let weights = try NPYFolderSource(Fixtures.root.appendingPathComponent("\(set)/weights"))
        // Only the encoder exists in these fixtures.
        let image = try Fixtures.tensor(set, "image")
        let graph = try SAMModel.encoderGraph(config(mobile: mobile), weights: weights, batch: image.shape[0])
        let out = try CompiledGraph(graph, backend: ReferenceBackend()).run(["image": image])
        assertNMSE(out[EncoderIO.imageEmbeddings], try Fixtures.tensor(set, "embedding"), ModelTolerance.embedding, "\(set) embedding")
    }

    func testLiteMedSAMFormMatchesPyTorch() throws { try run(mobile: false) }
    func testMobileSAMFormMatchesPyTorch() throws { try run(mobile: true) }
}

import TensorRuntime
import XCTest
@testable import SAMModels

/// The decoder's prompt-independent image side, computed once per image, gives exactly what
/// the whole decoder gives, and the whole decoder still matches PyTorch with a batch of prompts
/// sharing one image (the image side then runs at batch 1 and is broadcast).
final class DecoderImageContextTests: XCTestCase {
    func model() throws -> SAMModel {
        try SAMModel(config: SmallSAMParityTests.config,
                     weights: NPYFolderSource(Fixtures.root.appendingPathComponent("\(SmallSAMParityTests.set)/weights")))
    }

    func testSharedImageContextEqualsTheWholeDecoder() throws {
        let m = try model()
        let backend = ReferenceBackend()
        let embedding = try Fixtures.tensor(SmallSAMParityTests.set, "embedding")
        let context = try m.imageContext(embeddings: .host(embedding), on: backend)
        XCTAssertEqual(Set(context.tensors.keys), [DecoderIO.imageKeys, DecoderIO.tokenToImageKeys,
                                                    DecoderIO.tokenToImageValues, DecoderIO.imageToTokenQueries])
        for (points, box) in [(false, true), (true, false), (true, true)] {
            let prompts = try SmallSAMParityTests.prompts(points: points, box: box, mask: false)
            for multimask in [false, true] {
                let whole = try m.decode(prompts: prompts, embeddings: embedding, multimask: multimask, on: backend)
                let split = try m.decode(prompts: prompts, context: context, multimask: multimask, on: backend).host
                let label = "points \(points) box \(box) multimask \(multimask)"
                XCTAssertEqual(split[DecoderIO.lowResLogits], whole[DecoderIO.lowResLogits], label)
                XCTAssertEqual(split[DecoderIO.iouPredictions], whole[DecoderIO.iouPredictions], label)
            }
        }
    }

    func testSharedVariantReadsNoEmbeddingAndRefusesMaskInputs() throws {
        let m = try model()
        let variant = DecoderVariant(prompts: 2, box: true, sharesImageContext: true)
        let graph = try m.decoderGraph(variant)
        XCTAssertFalse(graph.inputNames.contains(DecoderIO.imageEmbeddings))
        XCTAssertTrue(graph.inputNames.contains(DecoderIO.tokenToImageKeys))
        // The layer-0 projections of the image tokens are not part of the per-prompt graph.
        func nodeNames(_ g: Graph) -> Set<String> {
            Set(g.entries.compactMap { if case .node(_, _, let name) = $0 { return name } else { return nil } })
        }
        let imageSide = ["mask_decoder.transformer.layers.0.cross_attn_token_to_image.k_proj",
                         "mask_decoder.transformer.layers.0.cross_attn_token_to_image.v_proj",
                         "mask_decoder.transformer.layers.0.cross_attn_image_to_token.q_proj"]
        let whole = try m.decoderGraph(DecoderVariant(prompts: 2, box: true))
        for name in imageSide {
            XCTAssertTrue(nodeNames(whole).contains(name), name)
            XCTAssertFalse(nodeNames(graph).contains(name), name)
            XCTAssertTrue(nodeNames(try m.imageContextGraph()).contains(name), name)
        }
        XCTAssertLessThan(graph.totalFlops, whole.totalFlops)

        let context = try m.imageContext(embeddings: .host(try Fixtures.tensor(SmallSAMParityTests.set, "embedding")),
                                         on: ReferenceBackend())
        let withMask = try SmallSAMParityTests.prompts(points: false, box: true, mask: true)
        XCTAssertThrowsError(try m.decode(prompts: withMask, context: context, multimask: false, on: ReferenceBackend())) {
            guard case PromptError.inconsistent = $0 else { return XCTFail("unexpected \($0)") }
        }
    }
}

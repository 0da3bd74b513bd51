import TensorRuntime
import XCTest
@testable import SAMModels

/// The mask decoder's factored cross-attention (no projection over the image tokens, see
/// `MaskDecoderGraph`) computes what segment-anything's `Attention` computes: forced on for the
/// small SAM configuration, every prompt form matches the PyTorch fixtures as closely as the
/// unfactored graph does, and the choice is automatic where it saves work.
final class FactoredAttentionTests: XCTestCase {
    func testFactoredDecoderMatchesPyTorch() throws {
        let m = try SAMModel(config: SmallSAMParityTests.config,
                             weights: NPYFolderSource(Fixtures.root.appendingPathComponent("\(SmallSAMParityTests.set)/weights")))
        let backend = ReferenceBackend()
        let set = SmallSAMParityTests.set
        let embedding = try Fixtures.tensor(set, "embedding")
        let cases: [(String, Bool, Bool, Bool)] = [
            ("points", true, false, false), ("box", false, true, false), ("points_box", true, true, false),
            ("box_mask", false, true, true), ("mask", false, false, true),
        ]
        var worst = 0.0
        for (name, p, b, mk) in cases {
            for multimask in [false, true] {
                let prompts = try SmallSAMParityTests.prompts(points: p, box: b, mask: mk)
                var (variant, inputs) = try m.decoderInputs(prompts: prompts, embeddingShape: embedding.shape, multimask: multimask)
                inputs[DecoderIO.imageEmbeddings] = embedding
                variant.factoredAttention = true
                let graph = try m.decoderGraph(variant)
                let names = Set(graph.entries.compactMap { if case .node(_, _, let n) = $0 { return n } else { return nil } })
                XCTAssertTrue(names.contains("mask_decoder.transformer.final_attn_token_to_image.scores"), "\(name): not factored")
                XCTAssertFalse(names.contains("mask_decoder.transformer.final_attn_token_to_image.k_proj"), name)
                let out = try CompiledGraph(graph, backend: backend).run(inputs)
                let tag = multimask ? "multi" : "single"
                for (key, fixture) in [(DecoderIO.lowResLogits, "logits"), (DecoderIO.iouPredictions, "iou")] {
                    let want = try Fixtures.tensor(set, "\(name).\(tag).\(fixture)")
                    let got = try XCTUnwrap(out[key])
                    XCTAssertEqual(got.shape, want.shape)
                    let nmse = Comparison.nmse(got.data, want.data)
                    worst = max(worst, nmse)
                    XCTAssertLessThanOrEqual(nmse, 1e-10, "\(name).\(tag).\(fixture)")
                }
            }
        }
        print(String(format: "  factored decoder vs PyTorch: worst NMSE %.2e", worst))
    }

    func testFactoredFormIsChosenWhereItSavesWork() throws {
        let m = try SAMModel.random(ModelKind.litemedsam.config, seed: 3)
        let box = try m.decoderGraph(DecoderVariant(prompts: 2, box: true))
        let unfactored = try m.decoderGraph(DecoderVariant(prompts: 2, box: true, factoredAttention: false))
        func names(_ g: Graph) -> Set<String> {
            Set(g.entries.compactMap { if case .node(_, _, let n) = $0 { return n } else { return nil } })
        }
        // A box: 7 tokens x 8 heads = 56 < 128, the attention width.
        XCTAssertTrue(names(box).contains("mask_decoder.transformer.layers.1.cross_attn_image_to_token.scores"))
        XCTAssertLessThan(box.totalFlops, 0.8 * unfactored.totalFlops)
        // 12 points and no box: 5 + 13 tokens x 8 heads > 128: the projections are cheaper.
        let points = try m.decoderGraph(DecoderVariant(prompts: 1, points: 12))
        XCTAssertTrue(names(points).contains("mask_decoder.transformer.final_attn_token_to_image.k_proj"))
    }
}

import Foundation
import TensorRuntime
import XCTest
import SAMModels

/// Constant folding on real decoder graphs: the prompt encoder's dense positional encoding and
/// the no-mask embedding depend only on weights, so they are computed once at compile time.
/// (Without a mask input the no-mask embedding is added to the image as one vector, so only a
/// graph that outputs the dense prompt embedding still broadcasts it.)
final class DecoderConstantFoldingTests: XCTestCase {
    /// The full-size graph only compiles here: one reference-backend run of it takes ~40 s in a
    /// debug build.
    func testLiteMedSAMDecoderFoldsDensePE() throws {
        let model = try SAMModel.random(ModelKind.litemedsam.config, seed: 1)
        let graph = try model.decoderGraph(DecoderVariant(prompts: 1, box: true, factoredAttention: false))
        let folded = try CompiledGraph(graph, backend: ReferenceBackend())
        let unfolded = try CompiledGraph(graph, backend: ReferenceBackend(), options: CompileOptions(foldConstants: false))
        // The output upscaling's transposed convs run as GEMMs: their weights are permuted to
        // [cin, 2*2*cout] and their biases broadcast to 4 taps once, at compile time.
        XCTAssertEqual(folded.foldedNodes.sorted(), [
            "broadcast", "broadcast",
            "mask_decoder.output_tokens", "mask_decoder.output_tokens_b", "permute", "permute", "permute", "permute",
            "prompt_encoder.corner_table", "prompt_encoder.dense_pe",
        ])
        XCTAssertEqual(unfolded.foldedNodeCount, 0)
        XCTAssertLessThan(folded.memoryPlan.totalValueElements, unfolded.memoryPlan.totalValueElements)
        print("  LiteMedSAM decoder: \(folded.foldedNodeCount) nodes folded: \(folded.foldedNodes.joined(separator: ", "))")

        // The factored cross-attention also reads projection weights per head, scaled: 14 more
        // nodes of weights only (3 layers' reshapes, scalings and per-prompt broadcasts), folded.
        let factored = try CompiledGraph(try model.decoderGraph(DecoderVariant(prompts: 1, box: true)), backend: ReferenceBackend())
        XCTAssertEqual(factored.foldedNodeCount, folded.foldedNodeCount + 14, "\(factored.foldedNodes)")
        XCTAssertEqual(factored.foldedNodes.filter { $0 == "broadcast" }.count, 8 + 2)
    }

    /// LiteMedSAM's decoder on an 8x8 embedding grid (a 64x64 one is too slow for the reference
    /// backend in debug builds): folded and unfolded outputs are bit-identical.
    func testSmallGridDecoderOutputsIdenticalFoldedAndUnfolded() throws {
        var config = ModelKind.litemedsam.config
        config.promptEncoder.embeddingHeight = 8
        config.promptEncoder.embeddingWidth = 8
        let model = try SAMModel.random(config, seed: 1)
        let embeddings = Tensor(uniform: [1, config.encoder.embeddingChannels, 8, 8], seed: 3)

        for variant in [DecoderVariant(prompts: 1, box: true),
                        DecoderVariant(prompts: 2, points: 1, box: true, multimask: true, exposesPromptEmbeddings: true)] {
            let graph = try model.decoderGraph(variant)
            let folded = try CompiledGraph(graph, backend: ReferenceBackend())
            let unfolded = try CompiledGraph(graph, backend: ReferenceBackend(), options: CompileOptions(foldConstants: false))
            XCTAssertTrue(folded.foldedNodes.contains("prompt_encoder.dense_pe"))
            XCTAssertEqual(folded.foldedNodes.contains("prompt_encoder.no_mask"), variant.exposesPromptEmbeddings)

            let b = variant.prompts
            var inputs = [DecoderIO.imageEmbeddings: embeddings,
                          DecoderIO.boxCorners: Tensor(uniform: [b, 2, 2], in: 0...1, seed: 4)]
            if variant.points > 0 {
                let n = variant.pointTokens
                inputs[DecoderIO.pointCoords] = Tensor(uniform: [b, n, 2], in: 0...1, seed: 5)
                inputs[DecoderIO.pointKeep] = Tensor(shape: [b, n, 1], repeating: 1)
                inputs[DecoderIO.pointLabels] = Tensor(shape: [b, n, 3], data: (0..<(b * n)).flatMap { _ in [Float(0), 0, 1] })
            }
            let got = try folded.run(inputs, options: RunOptions(profile: true))
            let want = try unfolded.run(inputs, options: RunOptions(profile: true))
            XCTAssertEqual(Set(got.keys), Set(want.keys))
            for (name, tensor) in want {
                XCTAssertEqual(got[name], tensor, "\(variant): \(name)")
            }
            // The dense prompt embedding output is made of constants only.
            if variant.exposesPromptEmbeddings { XCTAssertNotNil(got[DecoderIO.denseEmbeddings]) }

            // A profile lists exactly the unfolded run's nodes less the folded ones.
            func counts(_ names: [String]) -> [String: Int] { names.reduce(into: [:]) { $0[$1, default: 0] += 1 } }
            var expected = counts(try XCTUnwrap(unfolded.lastProfile).entries.map(\.node))
            for name in folded.foldedNodes { expected[name]! -= 1 }
            XCTAssertEqual(counts(try XCTUnwrap(folded.lastProfile).entries.map(\.node)), expected.filter { $0.value > 0 })
        }
    }
}

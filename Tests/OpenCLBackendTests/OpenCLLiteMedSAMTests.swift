import XCTest
import SAMModels
import TensorRuntime
@testable import OpenCLBackend

/// LiteMedSAM (TinyViT encoder, prompt encoder, mask decoder) with seeded random weights:
/// the whole graphs on OpenCL against the reference backend.
final class OpenCLLiteMedSAMTests: XCTestCase {
    /// The reference TinyViT encoder takes minutes in a debug build, so it runs in release
    /// builds or with MEDSAM_OPENCL_E2E=1.
    static var runEncoder: Bool {
        #if DEBUG
        return ProcessInfo.processInfo.environment["MEDSAM_OPENCL_E2E"] == "1"
        #else
        return true
        #endif
    }

    func testLiteMedSAMEncoderMatchesReference() throws {
        let opencl = try openCLBackendOrSkip()
        guard Self.runEncoder else {
            throw XCTSkip("LiteMedSAM encoder end to end runs in release builds or with MEDSAM_OPENCL_E2E=1")
        }
        let model = try SAMModel.random(ModelKind.litemedsam.config, seed: 11)
        let size = ModelKind.litemedsam.config.inputSize
        let image = Tensor(uniform: [1, 3, size, size], in: 0...1, seed: 5)
        let got = try model.compiledEncoder(on: opencl).run(["image": image])[EncoderIO.imageEmbeddings]!
        let want = try model.compiledEncoder(on: ReferenceBackend()).run(["image": image])[EncoderIO.imageEmbeddings]!
        XCTAssertEqual(got.shape, want.shape)
        let nmse = Comparison.nmse(got.data, want.data)
        XCTAssertLessThanOrEqual(nmse, 1e-6, "encoder embedding NMSE")
        print(String(format: "LiteMedSAM encoder on OpenCL vs reference: NMSE %.2e", nmse))
    }

    func testLiteMedSAMDecoderMatchesReference() throws {
        let opencl = try openCLBackendOrSkip()
        let reference = ReferenceBackend()
        let model = try SAMModel.random(ModelKind.litemedsam.config, seed: 11)
        let p = model.config.promptEncoder
        let want = Tensor(uniform: [1, p.embedDim, p.embeddingHeight, p.embeddingWidth], seed: 6)
        let prompt = ModelPrompt(box: [40, 52, 190, 170])
        let outO = try model.decode(prompts: [prompt], embeddings: want, multimask: false, on: opencl)
        let outR = try model.decode(prompts: [prompt], embeddings: want, multimask: false, on: reference)
        let logitsNMSE = Comparison.nmse(outO[DecoderIO.lowResLogits]!.data, outR[DecoderIO.lowResLogits]!.data)
        XCTAssertLessThanOrEqual(logitsNMSE, 1e-6, "low-res logits NMSE")
        let iouNMSE = Comparison.nmse(outO[DecoderIO.iouPredictions]!.data, outR[DecoderIO.iouPredictions]!.data)
        XCTAssertLessThanOrEqual(iouNMSE, 1e-6, "IoU prediction NMSE")
        print(String(format: "LiteMedSAM decoder on OpenCL vs reference: logits NMSE %.2e, IoU NMSE %.2e",
                     logitsNMSE, iouNMSE))
    }
}

import Foundation
import SAMModels
import TensorRuntime
import Testing

/// LiteMedSAM with seeded random weights on every backend against the reference backend:
/// prompt encoder + mask decoder always, the TinyViT image encoder in release builds.
extension BackendConformance {
    @Test("LiteMedSAM prompt encoder + mask decoder match the reference", arguments: ConformanceBackend.all)
    func liteMedSAMDecoderMatchesReference(_ subject: ConformanceBackend) throws {
        if subject.isJudge {
            try Test.cancel("the reference backend is the judge; SAMModelsTests compares its LiteMedSAM with PyTorch")
        }
        let backend = try subject.open()
        let judged = try LiteMedSAMJudgement.shared.get()
        for (c, want) in zip(judged.decoderCases, try judged.referenceDecoderOutputs.get()) {
            let got = try judged.model.decode(prompts: c.prompts, embeddings: judged.embedding,
                                              multimask: c.multimask, on: backend)
            var paths = [("whole decoder", got)]
            if !c.prompts.contains(where: { $0.maskInput != nil }) {
                // As the predictor runs it: the image side once, on the device, then the prompts.
                let context = try judged.model.imageContext(embeddings: .host(judged.embedding), on: backend)
                paths.append(("shared image context", try judged.model.decode(prompts: c.prompts, context: context,
                                                                              multimask: c.multimask, on: backend).host))
            }
            for (path, got) in paths {
            for key in [DecoderIO.lowResLogits, DecoderIO.iouPredictions] {
                let g = try #require(got[key], "\(c.name): no \(key) output on \(subject.name)")
                let w = try #require(want[key])
                #expect(g.shape == w.shape, "\(c.name) \(key)")
                // A comparison with an all-zero reference would prove nothing.
                #expect(w.data.contains { $0 != 0 }, "\(c.name) \(key): reference output is all zero")
                let nmse = Comparison.nmse(g.data, w.data)
                #expect(nmse <= 1e-6, "\(c.name) \(key) NMSE \(nmse) on \(backend.info.name)")
                print(String(format: "LiteMedSAM decoder (%@) on %@ vs reference, %@: %@ NMSE %.2e",
                             path, subject.name, c.name, key, nmse))
            }
            }
        }
    }

    /// The reference TinyViT encoder takes minutes in a debug build, so this runs in release
    /// builds (`swift test -c release`) or with MEDSAM_E2E=1.
    @Test("LiteMedSAM image encoder matches the reference", arguments: ConformanceBackend.all)
    func liteMedSAMEncoderMatchesReference(_ subject: ConformanceBackend) throws {
        if subject.isJudge {
            try Test.cancel("the reference backend is the judge; SAMModelsTests compares its LiteMedSAM with PyTorch")
        }
        let backend = try subject.open()
        guard LiteMedSAMJudgement.runsEncoder else {
            try Test.cancel("the LiteMedSAM encoder comparison runs in release builds or with MEDSAM_E2E=1")
        }
        let judged = try LiteMedSAMJudgement.shared.get()
        let want = try judged.referenceEmbedding.get()
        let got = try #require(try judged.model.compiledEncoder(on: backend).run([EncoderIO.image: judged.image])[EncoderIO.imageEmbeddings])
        #expect(got.shape == want.shape)
        let nmse = Comparison.nmse(got.data, want.data)
        #expect(nmse <= 1e-6, "encoder embedding NMSE \(nmse) on \(backend.info.name)")
    }
}

/// One decoder input: prompts in the model input frame and whether to ask for three masks.
struct DecoderCase {
    var name: String
    var prompts: [ModelPrompt]
    var multimask: Bool
}

/// LiteMedSAM with seeded random weights, its inputs, and the reference backend's outputs,
/// computed once and shared by every backend's case.
final class LiteMedSAMJudgement: @unchecked Sendable {
    static let shared = Result { try LiteMedSAMJudgement() }

    static var runsEncoder: Bool {
        #if DEBUG
        return ProcessInfo.processInfo.environment["MEDSAM_E2E"] == "1"
        #else
        return true
        #endif
    }

    let model: SAMModel
    let image: Tensor
    let embedding: Tensor
    let decoderCases: [DecoderCase]
    /// Reference outputs of `decoderCases`, in order.
    private(set) lazy var referenceDecoderOutputs = Result {
        let reference = ReferenceBackend()
        return try decoderCases.map { try model.decode(prompts: $0.prompts, embeddings: embedding,
                                                       multimask: $0.multimask, on: reference) }
    }
    /// The reference encoder's embedding of `image`.
    private(set) lazy var referenceEmbedding = Result { () throws -> Tensor in
        let outputs = try model.compiledEncoder(on: ReferenceBackend()).run([EncoderIO.image: image])
        guard let e = outputs[EncoderIO.imageEmbeddings] else {
            throw ConformanceFailure("the LiteMedSAM encoder graph has no \(EncoderIO.imageEmbeddings) output")
        }
        return e
    }

    private init() throws {
        let config = ModelKind.litemedsam.config
        model = try SAMModel.random(config, seed: 11)
        let p = config.promptEncoder
        image = Tensor(uniform: [1, 3, config.inputSize, config.inputSize], in: 0...1, seed: 5)
        embedding = Tensor(uniform: [1, p.embedDim, p.embeddingHeight, p.embeddingWidth], seed: 6)
        // A foreground and a background click, a box and an earlier mask, three masks out: the
        // point path and the mask-downscaling convolutions. One prompt only: the reference
        // decoder takes about a minute per prompt in a debug build.
        let points = [ModelPoint(x: 100, y: 90, label: 1), ModelPoint(x: 30, y: 200, label: 0)]
        let mask = Tensor(uniform: [1, p.maskInputHeight, p.maskInputWidth], in: -4...4, seed: 20)
        let mixed = ModelPrompt(points: points, box: [60, 40, 210, 180], maskInput: mask)
        decoderCases = [
            // What the per-backend tests checked: one box, one mask.
            DecoderCase(name: "one box", prompts: [ModelPrompt(box: [40, 52, 190, 170])], multimask: false),
            DecoderCase(name: "points + box + mask input, multimask", prompts: [mixed], multimask: true),
        ]
    }
}

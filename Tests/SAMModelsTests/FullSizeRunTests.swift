import Foundation
import TensorRuntime
import XCTest
import SAMModels

/// Runs full-size encoders (random weights) to completion on the reference backend, for the
/// time and memory figures in the notes. Opt-in, release builds only:
/// `SAMMODELS_FULL_RUN=sam-vit-b,sam-vit-h swift test -c release --filter FullSizeRunTests`.
final class FullSizeRunTests: XCTestCase {
    func testRunFullSizeEncoders() throws {
        guard let list = ProcessInfo.processInfo.environment["SAMMODELS_FULL_RUN"], !isDebugBuild else {
            throw XCTSkip("opt-in: set SAMMODELS_FULL_RUN=sam-vit-b,sam-vit-h and use -c release")
        }
        for name in list.split(separator: ",") {
            guard let kind = ModelKind(rawValue: String(name)) else { return XCTFail("unknown model \(name)") }
            let model = try SAMModel.random(kind.config, seed: 1)
            var start = Date()
            let encoder = try CompiledGraph(try model.encoderGraph(), backend: ReferenceBackend())
            let compileSeconds = Date().timeIntervalSince(start)
            let image = Tensor(uniform: [1, 3, kind.inputSize, kind.inputSize], in: -2...2, seed: 7)
            start = Date()
            let out = try encoder.run(["image": image])[EncoderIO.imageEmbeddings]!
            let runSeconds = Date().timeIntervalSince(start)
            XCTAssertEqual(out.shape, [1, 256, 64, 64])
            XCTAssertTrue(Comparison.allFinite(out.data))
            print(String(format: "  %@ encoder on the reference backend: compile %.1f s, run %.1f s, planned peak %.1f MiB, weights %.1f MiB",
                         kind.rawValue, compileSeconds, runSeconds, Double(encoder.peakIntermediateBytes) / 1_048_576,
                         Double(SAMModel.manifest(kind.config).filter { $0.key.hasPrefix("image_encoder.") }
                                .reduce(0) { $0 + $1.shape.count } * 4) / 1_048_576))
        }
    }
}

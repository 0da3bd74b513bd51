import Foundation
import TensorRuntime
import Testing

/// Every op of the quick suite against the reference backend (`ParityHarness`: seeded inputs,
/// NMSE per op class, NaN/Inf and guard-region checks); the reference itself against the
/// outputs PyTorch recorded in float64.
extension BackendConformance {
    @Test("quick op suite matches the judge (float32 storage)", arguments: ConformanceBackend.all)
    func quickOpSuiteFloat32(_ subject: ConformanceBackend) throws {
        let backend = try subject.open()
        #expect(backend.info.storageType == .float32)
        if subject.isJudge {
            let fixtures = try PyTorchFixtures.load(directory: opFixtureDirectory)
            #expect(fixtures.count >= 70, "PyTorch op fixtures: \(fixtures.count)")
            expectAllPass(ParityHarness(backend: backend).run(fixtures: fixtures), count: fixtures.count, on: backend)
        } else {
            let cases = ParityCase.standard(.quick)
            expectAllPass(ParityHarness(backend: backend, thresholds: .standard(for: backend.info)).run(cases), count: cases.count, on: backend)
        }
    }

    @Test("quick op suite matches the reference (float16 storage)", arguments: ConformanceBackend.all)
    func quickOpSuiteFloat16(_ subject: ConformanceBackend) throws {
        let backend = try subject.open(float16: true)
        #expect(backend.info.storageType == .float16)
        let cases = ParityCase.standard(.quick)
        expectAllPass(ParityHarness(backend: backend, thresholds: .standard(for: backend.info)).run(cases), count: cases.count, on: backend)
    }
}

/// The PyTorch op fixtures of this source tree (Tests/TensorRuntimeTests/Fixtures/ops).
private var opFixtureDirectory: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("TensorRuntimeTests/Fixtures/ops")
}

import XCTest
import TensorRuntime
@testable import OpenCLBackend

final class OpenCLParityTests: XCTestCase {
    func testQuickSuiteMatchesReferenceInFloat32() throws {
        let backend = try openCLBackendOrSkip()
        let cases = ParityCase.standard(.quick)
        let results = ParityHarness(backend: backend, thresholds: .float32).run(cases)
        XCTAssertEqual(results.count, cases.count)
        let failures = describeFailures(results)
        XCTAssertTrue(failures.isEmpty, "OpenCL fp32 parity failures on \(backend.info.name):\n\(failures)")
    }

    func testQuickSuiteMatchesReferenceWithFloat16Storage() throws {
        let backend = try openCLBackendOrSkip(float16: true)
        XCTAssertEqual(backend.info.storageType, .float16)
        let results = ParityHarness(backend: backend, thresholds: .float16).run(ParityCase.standard(.quick))
        let failures = describeFailures(results)
        XCTAssertTrue(failures.isEmpty, "OpenCL fp16-storage parity failures on \(backend.info.name):\n\(failures)")
    }
}

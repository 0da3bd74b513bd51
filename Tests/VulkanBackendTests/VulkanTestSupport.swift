import XCTest
import TensorRuntime
@testable import VulkanBackend

/// Opens the Vulkan backend or skips the test with the reason when this machine has no device.
func makeVulkanBackend(_ options: VulkanBackend.Options = .init()) throws -> VulkanBackend {
    do {
        return try VulkanBackend(options: options)
    } catch let error as BackendError {
        if case .noDevice(_, let reason) = error {
            throw XCTSkip("no Vulkan device on this machine (\(reason)); install mesa-vulkan-drivers for lavapipe")
        }
        throw error
    }
}

/// Runs the parity harness and fails the test naming every failing case.
func assertParity(_ backend: VulkanBackend, _ cases: [ParityCase], thresholds: ParityThresholds,
                  file: StaticString = #filePath, line: UInt = #line) -> [ParityResult] {
    let results = ParityHarness(backend: backend, thresholds: thresholds).run(cases)
    let failed = results.filter { !$0.pass }
    for f in failed {
        XCTFail("\(f.name) \(f.shape): NMSE \(f.nmse) > \(f.threshold) \(f.failure ?? "")", file: file, line: line)
    }
    XCTAssertEqual(results.count, cases.count, file: file, line: line)
    return results
}

import XCTest
import TensorRuntime
@testable import OpenCLBackend

/// Opens the default OpenCL device, or skips the test with the reason when none exists.
func openCLBackendOrSkip(float16: Bool = false) throws -> OpenCLBackend {
    do {
        return try OpenCLBackend(deviceIndex: 0, float16: float16)
    } catch BackendError.noDevice(_, let reason) {
        throw XCTSkip("no OpenCL platform/device on this machine: \(reason)")
    }
}

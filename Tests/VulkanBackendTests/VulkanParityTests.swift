import XCTest
import TensorRuntime
@testable import VulkanBackend

/// Vulkan-specific parity paths and device handling. The quick suite on the default fp32 and
/// fp16 paths runs for every backend in BackendConformanceTests.
final class VulkanParityTests: XCTestCase {
    func testQuickSuiteMatchesReferenceWithoutSubgroups() throws {
        let backend = try makeVulkanBackend(.init(subgroups: false))
        let cases = ParityCase.standard(.quick).filter { $0.op.opClass == .normalization || $0.op.opClass == .softmax }
        XCTAssertFalse(cases.isEmpty)
        _ = assertParity(backend, cases, thresholds: .float32)
    }

    func testDevicesListsFeaturesAndLimits() throws {
        let devices: [DeviceInfo]
        do { devices = try VulkanBackend.devices() } catch BackendError.noDevice(_, let reason) {
            throw XCTSkip("no Vulkan device: \(reason)")
        }
        XCTAssertFalse(devices.isEmpty)
        for d in devices {
            XCTAssertEqual(d.backend, "vulkan")
            XCTAssertNotNil(d.details["maxStorageBufferRange"])
            XCTAssertNotNil(d.details["bufferDeviceAddress"])
        }
    }

    func testUnknownDeviceIndexIsATypedError() throws {
        _ = try makeVulkanBackend()
        XCTAssertThrowsError(try VulkanBackend(deviceIndex: 999)) { error in
            XCTAssertTrue("\(error)".contains("device 999 does not exist"), "\(error)")
        }
    }

    func testForeignBufferIsRejected() throws {
        let backend = try makeVulkanBackend()
        let foreign = try ReferenceBackend().allocate(elementCount: 4)
        XCTAssertThrowsError(try backend.upload([1, 2, 3, 4], to: TensorRef(buffer: foreign, shape: [4])))
    }
}

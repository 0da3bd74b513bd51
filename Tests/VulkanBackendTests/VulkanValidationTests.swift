import XCTest
import CVulkan
import TensorRuntime
@testable import VulkanBackend

/// Runs work under VK_LAYER_KHRONOS_validation and asserts the layer reported no error.
final class VulkanValidationTests: XCTestCase {
    private func validatedBackend(float16: Bool = false) throws -> VulkanBackend {
        _ = try makeVulkanBackend()
        guard VulkanInstance.availableLayers().contains(VulkanInstance.validationLayerName) else {
            throw XCTSkip("\(VulkanInstance.validationLayerName) is not installed (Debian: vulkan-validationlayers)")
        }
        return try makeVulkanBackend(.init(validation: true, float16: float16))
    }

    func testQuickSuiteRunsWithZeroValidationErrors() throws {
        let backend = try validatedBackend()
        _ = assertParity(backend, ParityCase.standard(.quick), thresholds: .float32)
        _ = try backend.recordTimestamp()
        try backend.synchronize()
        _ = try backend.resolveTimestamps()
        XCTAssertEqual(backend.validationErrors.count, 0, backend.validationErrors.prefix(5).joined(separator: "\n"))
    }

    func testFloat16PathRunsWithZeroValidationErrors() throws {
        let probe = try makeVulkanBackend()
        guard probe.device.caps.storageBuffer16BitAccess else { throw XCTSkip("no fp16 storage on \(probe.info.name)") }
        let backend = try validatedBackend(float16: true)
        let cases = ParityCase.standard(.quick).filter { [.gemm, .attention, .normalization].contains($0.op.opClass) }
        _ = assertParity(backend, cases, thresholds: .float16)
        XCTAssertEqual(backend.validationErrors.count, 0, backend.validationErrors.prefix(5).joined(separator: "\n"))
    }

    /// The messenger really reports: a deliberately invalid call must be counted.
    func testMessengerCountsErrors() throws {
        let backend = try validatedBackend()
        XCTAssertEqual(backend.validationErrors.count, 0)
        // A buffer of size 0 is invalid usage (VUID-VkBufferCreateInfo-size-00912).
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = 0
        info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue
        var buffer: VkBuffer?
        _ = vkCreateBuffer(backend.device.handle, &info, nil, &buffer)
        if let buffer { vkDestroyBuffer(backend.device.handle, buffer, nil) }
        XCTAssertGreaterThan(backend.validationErrors.count, 0, "the debug messenger did not report an invalid call")
    }
}

import XCTest
import TensorRuntime
@testable import VulkanBackend

/// Tensors beyond maxStorageBufferRange (128 MiB on lavapipe) must work: kernels reach them by
/// buffer device address, never through one bound descriptor range.
final class VulkanLargeTensorTests: XCTestCase {
    func testTensorLargerThanMaxStorageBufferRange() throws {
        let backend = try makeVulkanBackend()
        let range = Int(backend.device.caps.maxStorageBufferRange)
        let count = range / 4 + 3_000_017    // float32 elements: past the limit by ~12 MB
        guard count <= 64 << 20 else {
            throw XCTSkip("maxStorageBufferRange \(range) is too large to exceed in a unit test")
        }
        var host = [Float](repeating: 0, count: count)
        host.withUnsafeMutableBufferPointer { p in
            for i in 0..<count { p[i] = Float(i % 1000) * 0.001 - 0.5 }
        }
        let x = try backend.makeTensor(Tensor(shape: [count], data: host))
        let y = TensorRef(buffer: try backend.allocate(elementCount: count), shape: [count])
        try backend.encode(.unary(.relu), inputs: [x], output: y)
        // A strided read across the whole range: slice the tail that lies beyond the limit.
        let tail = 1000
        let z = TensorRef(buffer: try backend.allocate(elementCount: tail), shape: [tail])
        try backend.encode(.slice(start: [count - tail], size: [tail]), inputs: [y], output: z)
        try backend.synchronize()
        let got = try backend.download(y).data
        for i in stride(from: 0, to: count, by: 9973) + [count - 1] {
            XCTAssertEqual(got[i], max(host[i], 0), "element \(i)")
        }
        let tailGot = try backend.download(z).data
        XCTAssertEqual(tailGot, host[(count - tail)...].map { max($0, 0) })
    }

    func testLargeBatchedMatMulSplitsNothingAndMatchesReference() throws {
        let backend = try makeVulkanBackend()
        let a = Tensor(uniform: [70, 33, 21], seed: 1), b = Tensor(uniform: [70, 21, 19], seed: 2)
        let op = Op.matmul(MatMulParams())
        let want = try ReferenceKernels.execute(op, inputs: [a, b])
        let out = TensorRef(buffer: try backend.allocate(elementCount: want.count), shape: want.shape)
        try backend.encode(op, inputs: [try backend.makeTensor(a), try backend.makeTensor(b)], output: out)
        XCTAssertLessThan(Comparison.nmse(try backend.download(out).data, want.data), 1e-10)
    }
}

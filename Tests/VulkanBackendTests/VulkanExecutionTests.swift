import Foundation
import XCTest
import TensorRuntime
@testable import VulkanBackend

final class VulkanExecutionTests: XCTestCase {
    /// Several dependent ops recorded into one command buffer: the barriers must order them.
    func testDependentOpsInOneSubmission() throws {
        let backend = try makeVulkanBackend()
        let x = Tensor(uniform: [5, 37], seed: 3), w = Tensor(uniform: [37, 29], seed: 4)
        let mm = Op.matmul(MatMulParams(activation: .gelu))
        let h1 = try ReferenceKernels.execute(mm, inputs: [x, w])
        let h2 = try ReferenceKernels.execute(.softmax, inputs: [h1])
        let want = try ReferenceKernels.execute(.binary(.mul), inputs: [h2, h1])

        let dx = try backend.makeTensor(x), dw = try backend.makeTensor(w)
        let d1 = TensorRef(buffer: try backend.allocate(elementCount: h1.count), shape: h1.shape)
        let d2 = TensorRef(buffer: try backend.allocate(elementCount: h1.count), shape: h1.shape)
        let d3 = TensorRef(buffer: try backend.allocate(elementCount: h1.count), shape: h1.shape)
        try backend.encode(mm, inputs: [dx, dw], output: d1)
        try backend.encode(.softmax, inputs: [d1], output: d2)
        try backend.encode(.binary(.mul), inputs: [d2, d1], output: d3)
        XCTAssertEqual(backend.recorder.dispatchCount, 3, "encode must only record")
        try backend.synchronize()
        XCTAssertLessThan(Comparison.nmse(try backend.download(d3).data, want.data), 1e-10)
    }

    /// Both last-axis layer-norm kernels: short rows (one invocation per row) and long rows
    /// (one workgroup per row with shared-memory/subgroup reductions).
    func testLayerNormShortAndLongRows() throws {
        for subgroups in [true, false] {
            let backend = try makeVulkanBackend(.init(subgroups: subgroups))
            for c in [5, 64, 65, 300, 768] {
                let cases = [ParityCase("ln rows c\(c)", .layerNorm(axis: .last, eps: 1e-6), [[3, 7, c], [c], [c]], seed: UInt64(c))]
                _ = assertParity(backend, cases, thresholds: .float32)
            }
        }
    }

    func testTimestampsAreMonotonic() throws {
        let backend = try makeVulkanBackend()
        let x = try backend.makeTensor(Tensor(uniform: [64, 64], seed: 5))
        let y = TensorRef(buffer: try backend.allocate(elementCount: 64 * 64), shape: [64, 64])
        guard try backend.recordTimestamp() != nil else { throw XCTSkip("\(backend.info.name) has no compute timestamps") }
        for _ in 0..<3 {
            try backend.encode(.matmul(MatMulParams()), inputs: [x, x], output: y)
            _ = try backend.recordTimestamp()
        }
        try backend.synchronize()
        let t = try backend.resolveTimestamps()
        XCTAssertEqual(t.count, 4)
        XCTAssertEqual(t.first, 0)
        XCTAssertEqual(t, t.sorted())
    }

    /// A compiled graph (several ops, planned buffers) runs on Vulkan and matches the reference.
    func testCompiledGraphMatchesReference() throws {
        let backend = try makeVulkanBackend()
        let g = GraphBuilder()
        let x = g.input("x", [2, 8, 6, 6])
        let w = g.constant("w", Tensor(uniform: [8, 8, 3, 3], seed: 7))
        let b = g.constant("b", Tensor(uniform: [8], seed: 8))
        let c = g.op(.conv2d(Conv2DParams(padding: 1, hasBias: true, activation: .relu)), [x, w, b], name: "conv")
        let gamma = g.constant("gamma", Tensor(uniform: [8], seed: 9))
        let beta = g.constant("beta", Tensor(uniform: [8], seed: 10))
        let n = g.op(.layerNorm(axis: .channels, eps: 1e-6), [c, gamma, beta], name: "norm")
        g.output("y", n)
        let graph = try g.build()
        let input = Tensor(uniform: [2, 8, 6, 6], seed: 11)
        let compiled = try CompiledGraph(graph, backend: backend)
        let got = try compiled.run(["x": input])["y"]!
        _ = try compiled.run(["x": input], options: RunOptions(profile: true))
        XCTAssertEqual(compiled.lastProfile?.deviceTimestamps, true)
        XCTAssertEqual(compiled.lastProfile?.entries.count, 2)
        let want = try CompiledGraph(graph, backend: ReferenceBackend()).run(["x": input])["y"]!
        XCTAssertLessThan(Comparison.nmse(got.data, want.data), 1e-10)
    }

    /// With no Vulkan driver the backend reports `noDevice`, never crashes.
    func testNoDriverGivesNoDeviceError() throws {
        _ = try makeVulkanBackend()
        let saved = ProcessInfo.processInfo.environment["VK_DRIVER_FILES"]
        setenv("VK_DRIVER_FILES", "/nonexistent/medsam-no-such-icd.json", 1)
        defer {
            if let saved { setenv("VK_DRIVER_FILES", saved, 1) } else { unsetenv("VK_DRIVER_FILES") }
        }
        XCTAssertThrowsError(try VulkanBackend()) { error in
            guard case BackendError.noDevice(let backend, let reason) = error else {
                return XCTFail("expected noDevice, got \(error)")
            }
            XCTAssertEqual(backend, "vulkan")
            XCTAssertFalse(reason.isEmpty)
        }
    }
}

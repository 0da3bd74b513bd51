import XCTest
import TensorRuntime
@testable import OpenCLBackend

final class OpenCLBackendBehaviourTests: XCTestCase {
    func testDevicesListPlatformsWithLimits() throws {
        _ = try openCLBackendOrSkip()
        let devices = try OpenCLBackend.devices()
        XCTAssertFalse(devices.isEmpty)
        for (i, d) in devices.enumerated() {
            XCTAssertEqual(d.backend, "opencl")
            XCTAssertEqual(d.index, i)
            XCTAssertFalse(d.name.isEmpty)
            XCTAssertNotNil(d.details["max_work_group_size"])
            XCTAssertNotNil(d.details["local_mem_bytes"])
            XCTAssertGreaterThan(d.memoryBytes ?? 0, 0)
        }
    }

    func testDeviceIndexOutOfRangeIsATypedError() throws {
        _ = try openCLBackendOrSkip()
        let count = try OpenCLBackend.devices().count
        XCTAssertThrowsError(try OpenCLBackend(deviceIndex: count)) { error in
            guard case BackendError.invalidArgument(let m) = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(m.contains("out of range"), m)
        }
    }

    func testKernelBuildFailureReportsProgramNameAndCompilerLog() throws {
        let backend = try openCLBackendOrSkip()
        let broken = "__kernel void broken(__global float* x) { x[0] = undeclared_symbol_xyz; }"
        XCTAssertThrowsError(try backend.cl.build(program: "broken_test_program", source: broken, options: "")) { error in
            guard let e = error as? OpenCLBuildError else { return XCTFail("expected OpenCLBuildError, got \(error)") }
            XCTAssertEqual(e.program, "broken_test_program")
            XCTAssertTrue(e.log.contains("undeclared_symbol_xyz"), "log should quote the offending identifier:\n\(e.log)")
            XCTAssertTrue(e.description.contains("broken_test_program"))
        }
    }

    func testClErrorsNameTheCallAndTheStatus() {
        let e = OpenCLError(call: "clCreateBuffer(64 bytes)", code: -61)
        XCTAssertEqual(e.name, "CL_INVALID_BUFFER_SIZE")
        XCTAssertTrue(e.description.contains("clCreateBuffer"))
        XCTAssertTrue(e.description.contains("CL_INVALID_BUFFER_SIZE"))
    }

    func testRefusedOpFailsGraphCompilation() throws {
        let backend = try openCLBackendOrSkip()
        let hd = OpenCLBackend.maxHeadDim + 16
        let b = GraphBuilder()
        let qkv = b.input("qkv", [1, 4, 3 * hd])
        b.output("y", b.attention([qkv], AttentionParams(heads: 1, headDim: hd, layout: .packedSAM)))
        let graph = try b.build()
        XCTAssertThrowsError(try CompiledGraph(graph, backend: backend)) { error in
            guard case BackendError.unsupported(let name, let op, let reason) = error else {
                return XCTFail("expected BackendError.unsupported, got \(error)")
            }
            XCTAssertEqual(name, "opencl")
            XCTAssertTrue(op.contains("attention"), op)
            XCTAssertTrue(reason.contains("head dim"), reason)
        }
    }

    func testGraphRunsAsynchronouslyAndMatchesReference() throws {
        let backend = try openCLBackendOrSkip()
        // A small block: LN -> linear+GELU -> attention -> residual add, enqueued as one run.
        let b = GraphBuilder()
        let x = b.input("x", [1, 13, 24])
        let g = b.constant("g", Tensor(uniform: [24], seed: 1))
        let beta = b.constant("beta", Tensor(uniform: [24], seed: 2))
        let w = b.constant("w", Tensor(uniform: [72, 24], seed: 3))
        let wb = b.constant("wb", Tensor(uniform: [72], seed: 4))
        let n = b.layerNorm(x, weight: g, bias: beta, eps: 1e-6)
        let qkv = b.linear(n, weight: w, bias: wb, activation: .gelu)
        let a = b.attention([qkv], AttentionParams(heads: 3, headDim: 8, layout: .packedSAM))
        b.output("y", b.op(.binary(.add), [a, x]))
        let graph = try b.build()
        let input = Tensor(uniform: [1, 13, 24], seed: 9)
        let got = try CompiledGraph(graph, backend: backend).run(["x": input])["y"]!
        let want = try CompiledGraph(graph, backend: ReferenceBackend()).run(["x": input])["y"]!
        XCTAssertLessThanOrEqual(Comparison.nmse(got.data, want.data), 1e-6)
    }

    func testProfilingUsesDeviceTimestamps() throws {
        let backend = try openCLBackendOrSkip()
        guard try backend.recordTimestamp() != nil else { throw XCTSkip("queue has no profiling") }
        let x = try backend.makeTensor(Tensor(uniform: [64, 64], seed: 5))
        let y = TensorRef(buffer: try backend.allocate(elementCount: 64 * 64), shape: [64, 64])
        try backend.encode(.matmul(MatMulParams()), inputs: [x, x], output: y)
        _ = try backend.recordTimestamp()
        try backend.synchronize()
        let t = try backend.resolveTimestamps()
        XCTAssertEqual(t.count, 2)
        XCTAssertEqual(t[0], 0)
        XCTAssertGreaterThanOrEqual(t[1], 0)
    }
}

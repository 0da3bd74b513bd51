import XCTest
import TensorRuntime
@testable import CPUBackend

/// Results must not depend on the number of worker threads.
final class CPUThreadingTests: XCTestCase {
    func testOneAndTwoThreadsAgree() throws {
        let one = CPUBackend(threads: 1), two = CPUBackend(threads: 2)
        let thresholds = ParityThresholds.float32
        for c in ParityCase.standard(.quick) {
            let inputs = c.inputShapes.enumerated().map { i, s in Tensor(uniform: s, seed: c.seed &+ UInt64(i)) }
            let a = try run(c.op, inputs, on: one), b = try run(c.op, inputs, on: two)
            let nmse = try Comparison.nmse(b, a)
            XCTAssertLessThanOrEqual(nmse, thresholds.threshold(for: c.op), "\(c.name): 1 vs 2 threads differ")
            XCTAssertTrue(Comparison.allFinite(b.data), "\(c.name): non-finite output")
        }
    }

    /// Larger shapes, where the kernels split work differently by thread count (GEMM row and
    /// column blocks, attention tiles, conv column blocks).
    func testLargerShapesAgreeAcrossThreadCounts() throws {
        let cases: [(Op, [Shape])] = [
            (.matmul(.init(transposeB: true, hasBias: true, activation: .gelu)), [[300, 96], [200, 96], [200]]),
            (.attention(.init(heads: 2, headDim: 16, layout: .packedSAM, bias: .relativePosition(height: 20, width: 30))),
             [[1, 600, 96], [39, 16], [59, 16]]),
            (.conv2d(.init(padding: 1, hasBias: true)), [[1, 16, 30, 30], [8, 16, 3, 3], [8]]),
        ]
        for (op, shapes) in cases {
            let inputs = shapes.enumerated().map { i, s in Tensor(uniform: s, seed: 7 &+ UInt64(i)) }
            let results = try [1, 2, 3].map { try run(op, inputs, on: CPUBackend(threads: $0)) }
            for r in results.dropFirst() {
                let nmse = try Comparison.nmse(r, results[0])
                XCTAssertLessThanOrEqual(nmse, 1e-12, "\(op.name): thread counts disagree, NMSE \(nmse)")
            }
        }
    }

    private func run(_ op: Op, _ inputs: [Tensor], on backend: CPUBackend) throws -> Tensor {
        let refs = try inputs.map { try backend.makeTensor($0) }
        let shape = try op.outputShape(inputs: inputs.map(\.shape))
        let out = TensorRef(buffer: try backend.allocate(elementCount: shape.count), shape: shape)
        try backend.encode(op, inputs: refs, output: out)
        try backend.synchronize()
        return try backend.download(out)
    }
}

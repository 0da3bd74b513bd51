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

    /// Binary ops whose operands collapse into one long run (same shapes; a scalar against a
    /// tensor) are split across the workers: every thread count gives the exact values of the
    /// element-by-element definition, including the odd tail after the last full vector.
    func testOneLongBinaryRunSplitsExactly() throws {
        let n = 3 * (1 << 15) + 13
        let a = Tensor(uniform: [1, n], seed: 3), b = Tensor(uniform: [1, n], seed: 4), s = Tensor(shape: [1], data: [0.25])
        for kind in BinaryKind.allCases {
            let f: (Float, Float) -> Float
            switch kind {
            case .add: f = { $0 + $1 }
            case .mul: f = { $0 * $1 }
            case .greater: f = { $0 > $1 ? 1 : 0 }
            }
            for threads in [1, 2, 3] {
                let backend = CPUBackend(threads: threads)
                XCTAssertEqual(try run(.binary(kind), [a, b], on: backend).data, zip(a.data, b.data).map(f), "\(kind), \(threads) threads")
                XCTAssertEqual(try run(.binary(kind), [a, s], on: backend).data, a.data.map { f($0, 0.25) }, "\(kind) scalar, \(threads) threads")
                XCTAssertEqual(try run(.binary(kind), [s, a], on: backend).data, a.data.map { f(0.25, $0) }, "scalar \(kind), \(threads) threads")
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

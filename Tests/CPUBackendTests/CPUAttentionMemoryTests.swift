import XCTest
import TensorRuntime
@testable import CPUBackend

/// The fused attention keeps its working memory to score tiles: no N×N matrix.
final class CPUAttentionMemoryTests: XCTestCase {
    func testLongAttentionUsesTileSizedScratch() throws {
        let backend = CPUBackend(threads: 2)
        let n = 1500, d = 4
        let op = Op.attention(.init(heads: 1, headDim: d, layout: .separate))
        let inputs = try (0..<3).map { try backend.makeTensor(Tensor(uniform: [1, n, d], seed: UInt64($0) + 1)) }
        let out = TensorRef(buffer: try backend.allocate(elementCount: n * d), shape: [1, n, d])
        try backend.encode(op, inputs: inputs, output: out)
        let largest = backend.scratch.map(\.capacity).max() ?? 0
        // A block's output accumulator, one key tile of kᵀ and four score rows, with room to spare.
        let block = CPUBackend.attentionQueryBlock * (d + 2) + 256 * (d + 4)
        XCTAssertGreaterThan(largest, 0)
        XCTAssertLessThan(largest, 2 * block, "scratch of \(largest) floats for \(n) tokens")
        XCTAssertLessThan(largest, n * n / 4)
        let got = try backend.download(out)
        XCTAssertTrue(Comparison.allFinite(got.data))
    }
}

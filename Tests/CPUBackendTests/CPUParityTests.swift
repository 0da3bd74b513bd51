import XCTest
import TensorRuntime
@testable import CPUBackend

/// The CPU backend against the reference backend, op by op, with the float32 thresholds, on
/// the paths its own options choose (thread count, instruction set) and at its kernels' tile
/// edges. The quick suite with the default options runs in BackendConformanceTests.
final class CPUParityTests: XCTestCase {
    func testQuickSuitePassesOnOneThread() {
        assertAllPass(ParityHarness(backend: CPUBackend(threads: 1)).run(ParityCase.standard(.quick)))
    }

    /// The SSE2 build of the vector loops, which CPUs without AVX2 run (this one picks AVX2+FMA
    /// when it has it, so the baseline would otherwise go untested here).
    func testQuickSuitePassesWithBaselineInstructionSet() {
        let backend = CPUBackend(threads: 2, instructionSet: .baseline)
        XCTAssertEqual(backend.instructionSet, .baseline)
        assertAllPass(ParityHarness(backend: backend).run(ParityCase.standard(.quick) + depthwiseCases))
    }

    /// Depthwise shapes for the direct kernel's paths: strides (inputs split by column phase),
    /// odd widths, filters of more than 16 taps (several passes per row), filters wider than the
    /// input, and LiteMedSAM's 3×3/2 downsampling.
    private var depthwiseCases: [ParityCase] {
        [
            .init("dw 3x3 s2 p1 c5 odd", .conv2d(.init(stride: 2, padding: 1, groups: 5, hasBias: true, activation: .gelu)),
                  [[1, 5, 27, 33], [5, 1, 3, 3], [5]]),
            .init("dw 7x7 p3 s1 c4 (49 taps)", .conv2d(.init(padding: 3, groups: 4, hasBias: true)),
                  [[2, 4, 19, 23], [4, 1, 7, 7], [4]]),
            .init("dw 5x5 s3 p1 c2", .conv2d(.init(stride: 3, padding: 1, groups: 2)), [[1, 2, 17, 20], [2, 1, 5, 5]]),
            .init("dw 5x5 p2 on 3x2 input", .conv2d(.init(padding: 2, groups: 3, activation: .relu)),
                  [[1, 3, 3, 2], [3, 1, 5, 5]]),
            .init("dw 3x3 s2 p1 c16 64x64 gelu", .conv2d(.init(stride: 2, padding: 1, groups: 16, hasBias: true, activation: .gelu)),
                  [[1, 16, 64, 64], [16, 1, 3, 3], [16]]),
        ]
    }

    /// Shapes that cross the kernels' internal tile and block edges (query tiles of 64, key
    /// tiles of 512, im2col column blocks, GEMM row splits), kept small enough for a debug build.
    func testTileEdgeShapesPass() {
        let cases: [ParityCase] = [
            .init("relpos 23x31 crosses key tiles", .attention(.init(heads: 2, headDim: 9, layout: .packedSAM,
                                                                    bias: .relativePosition(height: 23, width: 31))),
                  [[1, 713, 54], [45, 9], [61, 9]]),
            .init("relpos 33x34 flash path (1122 keys)", .attention(.init(heads: 1, headDim: 6, layout: .packedSAM,
                                                                        bias: .relativePosition(height: 33, width: 34))),
                  [[1, 1122, 18], [65, 6], [67, 6]]),
            .init("decoder-like 7q 4096k hd16", .attention(.init(heads: 2, headDim: 16, layout: .separate)),
                  [[1, 7, 32], [1, 4096, 32], [1, 4096, 32]]),
            .init("decoder-like 300q 7k hd16", .attention(.init(heads: 2, headDim: 16, layout: .separate)),
                  [[1, 300, 32], [1, 7, 32], [1, 7, 32]]),
            .init("tinyvit ws7 hd32 5 windows", .attention(.init(heads: 3, headDim: 32, layout: .packedTinyViT,
                                                                bias: .biasTable(window: 7))), [[5, 49, 288], [3, 49]]),
            .init("separate 130q 1100k", .attention(.init(heads: 3, headDim: 5, layout: .separate)),
                  [[2, 130, 15], [2, 1100, 15], [2, 1100, 15]]),
            .init("tinyvit ws14 2 windows", .attention(.init(heads: 2, headDim: 8, layout: .packedTinyViT,
                                                            bias: .biasTable(window: 14))), [[2, 196, 48], [2, 196]]),
            .init("3x3 neck-like 40->24 33x29", .conv2d(.init(padding: 1)), [[1, 40, 33, 29], [24, 40, 3, 3]]),
            .init("1x1 wide 8->70 40x40 gelu", .conv2d(.init(hasBias: true, activation: .gelu)),
                  [[2, 8, 40, 40], [70, 8, 1, 1], [70]]),
            .init("1x1 direct 64->13 19x23 gelu, 2 images", .conv2d(.init(hasBias: true, activation: .gelu)),
                  [[2, 64, 19, 23], [13, 64, 1, 1], [13]]),
            .init("1x1 sgemm 160->9 11x13", .conv2d(.init()), [[1, 160, 11, 13], [9, 160, 1, 1]]),
            .init("dw 5x5 p2 s1 c3", .conv2d(.init(padding: 2, groups: 3, hasBias: true, activation: .gelu)),
                  [[2, 3, 21, 19], [3, 1, 5, 5], [3]]),
            .init("convT 20->6 23x9", .convTranspose2x2, [[2, 20, 23, 9], [20, 6, 2, 2], [6]]),
            .init("batched 5x(67x33)*(33x41) +b", .matmul(.init(hasBias: true, activation: .gelu)),
                  [[5, 67, 33], [5, 33, 41], [41]]),
            .init("tall 1000x40 -> 3", .matmul(.init(transposeB: true)), [[1000, 40], [3, 40]]),
            .init("ln2d 300 px", .layerNorm(axis: .channels, eps: 1e-5), [[1, 9, 20, 15], [9], [9]]),
            .init("permute NCHW->NHWC 40x37x35", .permute([0, 2, 3, 1]), [[2, 40, 37, 35]]),
            .init("permute NHWC->NCHW", .permute([0, 3, 1, 2]), [[1, 37, 35, 40]]),
            .init("permute 2d transpose 256x300 (16-row stripes)", .permute([1, 0]), [[256, 300]]),
            .init("permute 2d transpose 9x8 (one 8-row stripe)", .permute([1, 0]), [[9, 8]]),
            .init("permute 2d transpose 23x17 (stripes + tails)", .permute([1, 0]), [[23, 17]]),
            .init("gelu long tails", .unary(.gelu), [[3, 1001]]),
        ] + depthwiseCases
        assertAllPass(ParityHarness(backend: CPUBackend(threads: 2)).run(cases))
    }

    private func assertAllPass(_ results: [ParityResult], file: StaticString = #filePath, line: UInt = #line) {
        let failed = results.filter { !$0.pass }
        if !failed.isEmpty { print(ParityResult.table(failed)) }
        XCTAssertTrue(failed.isEmpty, "failing cases: \(failed.map(\.name).joined(separator: ", "))", file: file, line: line)
        XCTAssertFalse(results.isEmpty, file: file, line: line)
    }
}

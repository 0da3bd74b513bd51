import Foundation
import XCTest
@testable import TensorRuntime

/// Hand-computed checks of the semantics a fixture could get wrong in a self-consistent way.
final class ReferenceKernelTests: XCTestCase {
    private func run(_ op: Op, _ inputs: [Tensor]) throws -> Tensor {
        try ReferenceKernels.execute(op, inputs: inputs)
    }

    private func assertClose(_ a: [Float], _ b: [Double], accuracy: Double = 1e-6,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, "element count", file: file, line: line)
        for (i, (x, y)) in zip(a, b).enumerated() where abs(Double(x) - y) > accuracy {
            XCTFail("element \(i): \(x) vs expected \(y)", file: file, line: line)
        }
    }

    // MARK: attention

    /// Zero-padded tokens of a window take part as keys (logit 0) and values: nothing is masked.
    func testPaddingTokensAreNotMasked() throws {
        // One head, hd 1, SAM packing (q, k, v). Token 0: q=1, k=1, v=2. Token 1 is padding: all 0.
        let qkv = Tensor(shape: [1, 2, 3], data: [1, 1, 2, 0, 0, 0])
        let out = try run(.attention(AttentionParams(heads: 1, headDim: 1, scale: 1, layout: .packedSAM)), [qkv])
        let e = exp(1.0)
        assertClose(out.data, [2 * e / (e + 1), 1])
    }

    /// Relative position: bias index is xq − xk + w − 1, and the bias uses the unscaled q.
    func testRelativePositionIndexDirectionAndUnscaledQuery() throws {
        // Grid 1×2 (then 2×1), one head, hd 1, scale 0.25. q = 2, k = 0 (so q·k vanishes), v = 1 and 0.
        let qkv = Tensor(shape: [1, 2, 3], data: [2, 0, 1, 2, 0, 0])
        let table = Tensor(shape: [3, 1], data: [3, 0, -3])
        let none = Tensor(shape: [1, 1], data: [0])
        // Query 0: key 0 → R[1] = 0, key 1 → R[0] = 3, times q = 2: logits [0, 6].
        // Query 1: key 0 → R[2] = −3, key 1 → R[1] = 0: logits [−6, 0].
        let expected = [1 / (1 + exp(6.0)), exp(-6.0) / (exp(-6.0) + 1)]
        for (h, w, rh, rw) in [(1, 2, none, table), (2, 1, table, none)] {
            let op = Op.attention(AttentionParams(heads: 1, headDim: 1, scale: 0.25, layout: .packedSAM,
                                                  bias: .relativePosition(height: h, width: w)))
            assertClose(try run(op, [qkv, rh, rw]).data, expected)
        }
    }

    /// TinyViT: bias = table[h, |dy|·ws + |dx|], and the per-head interleaved qkv packing.
    func testBiasTableIndexAndTinyViTPacking() throws {
        // ws 2, one head, hd 4; q = k = 0 so the logits are the bias alone; v of key j is one-hot at
        // channel j, so the output row is the softmax weights.
        var data = [Float](repeating: 0, count: 4 * 12)
        for j in 0..<4 { data[j * 12 + 8 + j] = 1 }  // channel 2·hd + j is v[j]
        let qkv = Tensor(shape: [1, 4, 12], data: data)
        let table: [Double] = [0.5, -1, 2, 0.25]
        let op = Op.attention(AttentionParams(heads: 1, headDim: 4, layout: .packedTinyViT, bias: .biasTable(window: 2)))
        let out = try run(op, [qkv, Tensor(shape: [1, 4], data: table.map(Float.init))])
        func softmax(_ x: [Double]) -> [Double] {
            let e = x.map { exp($0 - x.max()!) }
            return e.map { $0 / e.reduce(0, +) }
        }
        // Query 3 = (1, 1): keys (0,0), (0,1), (1,0), (1,1) → indices 3, 2, 1, 0.
        assertClose(Array(out.data[12...15]), softmax([table[3], table[2], table[1], table[0]]))
        // Query 1 = (0, 1): keys → |0|·2+1 = 1, 0, 3, 2.
        assertClose(Array(out.data[4...7]), softmax([table[1], table[0], table[3], table[2]]))
    }

    /// Separate q/k/v: output channel h·hd + c with each head attending on its own channels.
    func testSeparateLayoutHeadsUseTheirOwnChannels() throws {
        // Two heads of hd 1, one query, two keys. Head 0 prefers key 0, head 1 prefers key 1.
        let q = Tensor(shape: [1, 1, 2], data: [1, 1])
        let k = Tensor(shape: [1, 2, 2], data: [1, 0, 0, 1])
        let v = Tensor(shape: [1, 2, 2], data: [10, 20, 30, 40])
        let out = try run(.attention(AttentionParams(heads: 2, headDim: 1, scale: 1, layout: .separate)), [q, k, v])
        let e = exp(1.0)
        assertClose(out.data, [(10 * e + 30) / (e + 1), (20 + 40 * e) / (e + 1)], accuracy: 1e-5)
    }

    // MARK: windows

    func testWindowPartitionOrderAndPadding() throws {
        let x = Tensor(shape: [1, 3, 3, 1], data: (1...9).map(Float.init))
        let windows = try run(.windowPartition(window: 2), [x])
        XCTAssertEqual(windows.shape, [4, 4, 1])
        // Windows row-major over (window row, window column); zero pad bottom/right.
        XCTAssertEqual(windows.data, [1, 2, 4, 5, /**/ 3, 0, 6, 0, /**/ 7, 8, 0, 0, /**/ 9, 0, 0, 0])
        let back = try run(.windowUnpartition(window: 2, height: 3, width: 3), [windows])
        XCTAssertEqual(back, x)
    }

    func testWindowPartitionKeepsChannelsTogether() throws {
        let x = Tensor(shape: [1, 2, 4, 2], data: (0..<16).map(Float.init))
        let windows = try run(.windowPartition(window: 2), [x])
        // Window 1 covers columns 2, 3 of both rows: pixels (0,2), (0,3), (1,2), (1,3).
        XCTAssertEqual(Array(windows.data[8..<16]), [4, 5, 6, 7, 12, 13, 14, 15])
    }

    // MARK: broadcasting and layout

    func testBinaryBroadcastAlignsRanksAtTheRight() throws {
        let a = Tensor(shape: [2, 1], data: [10, 20])
        let b = Tensor(shape: [3], data: [1, 2, 3])
        XCTAssertEqual(try run(.binary(.add), [a, b]), Tensor(shape: [2, 3], data: [11, 12, 13, 21, 22, 23]))
        XCTAssertEqual(try run(.binary(.mul), [b, a]), Tensor(shape: [2, 3], data: [10, 20, 30, 20, 40, 60]))
        XCTAssertEqual(try run(.broadcast([2, 3]), [b]), Tensor(shape: [2, 3], data: [1, 2, 3, 1, 2, 3]))
    }

    func testPermutePadSliceConcat() throws {
        let x = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try run(.permute([1, 0]), [x]), Tensor(shape: [3, 2], data: [1, 4, 2, 5, 3, 6]))
        XCTAssertEqual(try run(.pad(before: [0, 1], after: [1, 0]), [x]),
                       Tensor(shape: [3, 4], data: [0, 1, 2, 3, 0, 4, 5, 6, 0, 0, 0, 0]))
        XCTAssertEqual(try run(.slice(start: [1, 1], size: [1, 2]), [x]), Tensor(shape: [1, 2], data: [5, 6]))
        let y = Tensor(shape: [2, 1], data: [7, 8])
        XCTAssertEqual(try run(.concat(axis: 1), [x, y]), Tensor(shape: [2, 4], data: [1, 2, 3, 7, 4, 5, 6, 8]))
    }

    // MARK: arithmetic

    func testMatmulTransposesBiasAndSharedB() throws {
        // A [2 batches, 1, 2]; B stored transposed [N=2, K=2], shared across the batch.
        let a = Tensor(shape: [2, 1, 2], data: [1, 2, 3, 4])
        let b = Tensor(shape: [2, 2], data: [1, 0, 1, 1])  // rows are output features
        let bias = Tensor(shape: [2], data: [0.5, -10])
        let out = try run(.matmul(MatMulParams(transposeB: true, hasBias: true, activation: .relu)), [a, b, bias])
        XCTAssertEqual(out, Tensor(shape: [2, 1, 2], data: [1.5, 0, 3.5, 0]))
        // transposeA: A stored [K=2, M=1].
        let at = try run(.matmul(MatMulParams(transposeA: true)), [Tensor(shape: [2, 1], data: [1, 2]), b])
        XCTAssertEqual(at, Tensor(shape: [1, 2], data: [3, 2]))
    }

    func testActivationsAreExact() throws {
        let out = try run(.unary(.gelu), [Tensor(shape: [3], data: [1, -1, 0])])
        assertClose(out.data, [0.8413447460685429, -0.15865525393145707, 0], accuracy: 1e-7)
        let s = try run(.unary(.sigmoid), [Tensor(shape: [1], data: [2])])
        assertClose(s.data, [1 / (1 + exp(-2.0))], accuracy: 1e-7)
    }

    func testLayerNorm2dNormalisesOverChannelsPerPixel() throws {
        // [1, 2, 1, 2]: pixel 0 has channels (1, 3), pixel 1 has (2, 2).
        let x = Tensor(shape: [1, 2, 1, 2], data: [1, 2, 3, 2])
        let op = Op.layerNorm(axis: .channels, eps: 1e-12)
        let out = try run(op, [x, Tensor(shape: [2], data: [1, 2]), Tensor(shape: [2], data: [0, 1])])
        // Pixel 0: mean 2, biased variance 1 → (−1, 1) → (−1·1 + 0, 1·2 + 1).
        // Pixel 1: constant → (0, 0) → the betas (0, 1). Output is NCHW: [c0p0, c0p1, c1p0, c1p1].
        assertClose(out.data, [-1, 0, 3, 1])
    }

    func testFourierFeaturesAtTheCentreAreSinZeroCosOne() throws {
        let out = try run(.fourierFeatures, [Tensor(shape: [1, 2], data: [0.5, 0.5]),
                                             Tensor(shape: [2, 2], data: [1, -2, 3, 4])])
        XCTAssertEqual(out, Tensor(shape: [1, 4], data: [0, 0, 1, 1]))
    }

    func testResizeMatchesHandComputedBilinearAndAntialiasUpscaleEqualsPlain() throws {
        // 1×2 → 1×4: src = (dst + 0.5)/2 − 0.5 = −0.25 (clamped 0), 0.25, 0.75, 1.25 (upper clamp).
        let x = Tensor(shape: [1, 2], data: [0, 4])
        let out = try run(.resizeBilinear(height: 1, width: 4, antialias: false), [x])
        assertClose(out.data, [0, 1, 3, 4])
        let y = Tensor(uniform: [1, 2, 5, 7], seed: 3)
        let plain = try run(.resizeBilinear(height: 11, width: 13, antialias: false), [y])
        let aa = try run(.resizeBilinear(height: 11, width: 13, antialias: true), [y])
        XCTAssertLessThan(try Comparison.nmse(aa, plain), 1e-12)
        // Downscaling by 2 with antialias: a triangle of half-width 2 centred at input position 1.0
        // covers pixels 0, 1, 2 with weights 0.75, 0.75, 0.25, renormalised by their sum 1.75.
        let row = Tensor(shape: [1, 4], data: [8, 0, 0, 0])
        let down = try run(.resizeBilinear(height: 1, width: 2, antialias: true), [row])
        assertClose(down.data, [8 * 0.75 / 1.75, 0])
    }

    // MARK: shape errors

    func testShapeErrorsThrow() {
        let cases: [(Op, [Shape])] = [
            (.matmul(MatMulParams()), [[2, 3], [4, 5]]),
            (.conv2d(Conv2DParams(groups: 2)), [[1, 3, 8, 8], [4, 1, 3, 3]]),
            (.attention(AttentionParams(heads: 2, headDim: 4, layout: .packedSAM)), [[1, 5, 16]]),
            (.attention(AttentionParams(heads: 1, headDim: 4, layout: .packedSAM,
                                        bias: .relativePosition(height: 2, width: 2))), [[1, 4, 12], [3, 4], [2, 4]]),
            (.binary(.add), [[2, 3], [4]]),
            (.concat(axis: 1), [[2, 3], [3, 3]]),
            (.slice(start: [0, 2], size: [1, 2]), [[2, 3]]),
            (.layerNorm(axis: .channels, eps: 1e-6), [[2, 3], [3], [3]]),
        ]
        for (op, shapes) in cases {
            XCTAssertThrowsError(try run(op, shapes.map { Tensor(zeros: $0) }), "\(op.name) \(shapes)") { error in
                XCTAssertTrue(error is ShapeError, "\(op.name): \(error)")
            }
        }
    }
}

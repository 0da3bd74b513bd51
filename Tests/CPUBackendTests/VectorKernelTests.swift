import XCTest
import Foundation
@testable import CPUBackend

/// The C vector loops of every instruction set this CPU runs, against float64 libm on dense
/// grids, and the two instruction sets against each other.
final class VectorKernelTests: XCTestCase {
    /// Every level this machine can run (the baseline always; AVX2+FMA on most x86-64 CPUs).
    private var levels: [VectorKernels] { CPUInstructionSet.allCases.compactMap { VectorKernels($0) } }

    private func grid(from: Float, to: Float, step: Float) -> [Float] {
        stride(from: from, to: to, by: step).map { $0 }
    }

    func testExpRelativeErrorIsAFewUlp() {
        let xs = grid(from: -87, to: 88, step: 0.0131)
        for k in levels {
            var e = xs
            // exp_shift_row with shift 0 is e^x in place.
            _ = k.expShiftRow(&e, e.count, shift: 0)
            var worst = 0.0
            for (x, v) in zip(xs, e) {
                let want = Foundation.exp(Double(x))
                worst = max(worst, abs(Double(v) - want) / want)
            }
            XCTAssertLessThan(worst, 4e-7, "\(k.instructionSet) exp worst relative error \(worst)")
            var low: [Float] = [-.infinity, -100, -87.4]
            _ = k.expShiftRow(&low, 3, shift: 0)
            XCTAssertEqual(low, [0, 0, 0], "\(k.instructionSet)")
        }
    }

    func testExpShiftRowSumsWhatItWrites() {
        for k in levels {
            for n in [1, 7, 8, 9, 100] {
                var row = (0..<n).map { Float($0 % 13) * 0.37 - 2 }
                let sum = k.expShiftRow(&row, n, shift: 1.5)
                XCTAssertEqual(Double(sum), row.map(Double.init).reduce(0, +), accuracy: 1e-5 * Double(n),
                               "\(k.instructionSet) n=\(n)")
            }
        }
    }

    /// GELU against 0.5·x·erfc(−x/√2) in float64: absolute error ≤ 2e-7·(1 + |x|) everywhere,
    /// relative error ≤ 3e-7 for x ≥ 0 and ≤ 1.5e-6 for −1.5 < x < 0 (the outputs below that are
    /// tiny and accurate in absolute terms only).
    func testGELUMatchesErfDefinition() {
        let xs = grid(from: -14, to: 14, step: 0.00071) + [-1e30, -100, 0, 100, 1e30]
        for k in levels {
            var g = [Float](repeating: .nan, count: xs.count)
            k.activate(xs, &g, xs.count, .gelu)
            var worstAbs = 0.0, worstRel = 0.0, worstRelNeg = 0.0
            for (x, v) in zip(xs, g) {
                let d = Double(x)
                let want = 0.5 * d * Foundation.erfc(-d / 2.0.squareRoot())
                XCTAssertTrue(v.isFinite, "\(k.instructionSet) GELU(\(x)) = \(v)")
                let err = abs(Double(v) - want)
                worstAbs = max(worstAbs, err / (1 + abs(d)))
                if x >= 0 && want > 0 { worstRel = max(worstRel, err / want) }
                if x < 0 && x > -1.5 { worstRelNeg = max(worstRelNeg, err / abs(want)) }
            }
            XCTAssertLessThan(worstAbs, 2e-7, "\(k.instructionSet) GELU worst |error|/(1+|x|) \(worstAbs)")
            XCTAssertLessThan(worstRel, 3e-7, "\(k.instructionSet) GELU worst relative error for x >= 0: \(worstRel)")
            XCTAssertLessThan(worstRelNeg, 1.5e-6, "\(k.instructionSet) GELU worst relative error on (-1.5, 0): \(worstRelNeg)")
        }
    }

    func testSigmoidSaturatesWithoutNaN() {
        for k in levels {
            var s: [Float] = [-200, -50, -1, 0, 1, 50, 200, 1e30, 3]
            k.activate(s, &s, s.count, .sigmoid)
            XCTAssertEqual(s[0], 0, accuracy: 1e-30)
            XCTAssertEqual(s[3], 0.5)
            XCTAssertEqual(s[7], 1)
            XCTAssertEqual(Double(s[8]), 1 / (1 + Foundation.exp(-3.0)), accuracy: 1e-7)
            XCTAssertTrue(s.allSatisfy(\.isFinite), "\(k.instructionSet)")
        }
    }

    func testBiasActivateCoversTails() {
        // Lengths around the 8-lane width: every element, and nothing past the end, is touched.
        for k in levels {
            for n in [1, 5, 8, 13, 16, 17] {
                var x = [Float](repeating: -1, count: n + 3)
                let bias = (0..<n).map { Float($0) }
                k.biasActivate(&x, n, bias: bias, .relu)
                XCTAssertEqual(Array(x[0..<n]), (0..<n).map { Float(max($0 - 1, 0)) })
                XCTAssertEqual(Array(x[n...]), [-1, -1, -1], "\(k.instructionSet) wrote past n=\(n)")
                var y = [Float](repeating: 2, count: n + 1)
                k.biasActivate(&y, n, bias: 0.5, .none)
                XCTAssertEqual(y, Array(repeating: 2.5, count: n) + [2])
            }
        }
    }

    func testRowMaxAndSoftmax() {
        for k in levels {
            for n in [1, 3, 8, 11, 64] {
                let row = (0..<n).map { Float(($0 * 7) % 11) - 4 }
                XCTAssertEqual(k.rowMax(row, n), row.max()!)
                var s = row
                k.softmaxRow(&s, n)
                let m = Double(row.max()!)
                let z = row.map { Foundation.exp(Double($0) - m) }.reduce(0, +)
                for (a, b) in zip(s, row) { XCTAssertEqual(Double(a), Foundation.exp(Double(b) - m) / z, accuracy: 1e-7) }
            }
            XCTAssertEqual(k.rowMax([Float](), 0), -.infinity)
        }
    }

    func testSinCosAbsoluteErrorIsFloatRounding() {
        let ps = grid(from: -60, to: 60, step: 0.0011)
        for k in levels {
            var s = [Float](repeating: .nan, count: ps.count), c = s
            k.sincos(ps, sin: &s, cos: &c, ps.count)
            var worst = 0.0
            for i in ps.indices {
                worst = max(worst, abs(Double(s[i]) - Foundation.sin(Double(ps[i]))))
                worst = max(worst, abs(Double(c[i]) - Foundation.cos(Double(ps[i]))))
            }
            XCTAssertLessThan(worst, 3e-7, "\(k.instructionSet) sin/cos worst absolute error \(worst)")
        }
    }

    func testInstructionSetsAgreeOnGELU() throws {
        guard let fast = VectorKernels(.avx2FMA) else { throw XCTSkip("this CPU has no AVX2+FMA") }
        let base = VectorKernels(.baseline)!
        let xs = grid(from: -9, to: 9, step: 0.0037)
        var a = [Float](repeating: 0, count: xs.count), b = a
        base.activate(xs, &a, xs.count, .gelu)
        fast.activate(xs, &b, xs.count, .gelu)
        for i in xs.indices {
            // FMA rounds once where the baseline rounds twice; both stay within the accuracy
            // bound, so they differ by at most twice it.
            XCTAssertEqual(a[i], b[i], accuracy: 4e-7 * (1 + abs(xs[i])), "x = \(xs[i])")
        }
    }
}

import XCTest
import Foundation
@testable import CPUBackend

/// The vectorised exp and GELU against float64 libm, on a dense grid.
final class VectorMathTests: XCTestCase {
    func testExpRelativeErrorIsAFewUlp() {
        var worst = 0.0
        var x: Float = -87
        while x < 88 {
            let v = F8((0..<8).map { x + Float($0) * 0.013 })
            let e = VectorMath.exp(v)
            for i in 0..<8 {
                let want = Foundation.exp(Double(v[i]))
                worst = max(worst, abs(Double(e[i]) - want) / want)
            }
            x += 0.1
        }
        XCTAssertLessThan(worst, 4e-7, "exp worst relative error \(worst)")
        XCTAssertEqual(VectorMath.exp(F8(repeating: -.infinity))[0], 0)
        XCTAssertEqual(VectorMath.exp(F8(repeating: -100))[0], 0)
    }

    func testGELUMatchesErfDefinition() {
        var worst = 0.0, worstAt: Float = 0
        var x: Float = -14
        while x < 14 {
            let v = F8((0..<8).map { x + Float($0) * 0.0007 })
            let g = VectorMath.gelu(v)
            for i in 0..<8 {
                let d = Double(v[i])
                let want = 0.5 * d * Foundation.erfc(-d / 2.0.squareRoot())
                if want == 0 { XCTAssertEqual(abs(g[i]), 0, accuracy: 1e-37); continue }
                // Relative error, measured against max(|want|, tiny) so denormals do not dominate.
                let err = abs(Double(g[i]) - want) / max(abs(want), 1e-30)
                if err > worst { worst = err; worstAt = v[i] }
            }
            x += 0.005
        }
        XCTAssertLessThan(worst, 1e-6, "GELU worst relative error \(worst) at x = \(worstAt)")
        XCTAssertEqual(VectorMath.gelu(F8(repeating: 0))[0], 0)
    }

    func testSigmoidSaturatesWithoutNaN() {
        let s = VectorMath.sigmoid(F8(-200, -50, -1, 0, 1, 50, 200, 1e30))
        XCTAssertEqual(s[0], 0, accuracy: 1e-30)
        XCTAssertEqual(s[3], 0.5)
        XCTAssertEqual(s[7], 1)
        for i in 0..<8 { XCTAssertTrue(s[i].isFinite) }
    }
}

final class VectorSinCosTests: XCTestCase {
    func testSinCosAbsoluteErrorIsFloatRounding() {
        var worst = 0.0
        var x: Float = -60
        while x < 60 {
            let v = F8((0..<8).map { x + Float($0) * 0.0011 })
            let (s, c) = VectorMath.sincos(v)
            for i in 0..<8 {
                worst = max(worst, abs(Double(s[i]) - Foundation.sin(Double(v[i]))))
                worst = max(worst, abs(Double(c[i]) - Foundation.cos(Double(v[i]))))
            }
            x += 0.01
        }
        XCTAssertLessThan(worst, 3e-7, "sin/cos worst absolute error \(worst)")
    }
}

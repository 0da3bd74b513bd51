/// Vectorised float32 transcendental functions on `SIMD8<Float>`, accurate to a few ulp.
///
/// The polynomial coefficients were fitted for this file (weighted least squares on
/// Chebyshev nodes, float64) and checked against float64 `exp`/`erfc` on a dense grid; the
/// unit tests recheck them in float32. Only plain multiply/add, compare and select are used,
/// so the code vectorises on baseline x86-64 (no FMA or AVX needed).
typealias F8 = SIMD8<Float>

enum VectorMath {
    // exp: x = n·ln2 + r, |r| ≤ ln2/2; e^r = 1 + r + r²·P(r); 2^n built in the exponent bits.
    static let log2e: Float = 1.442_695_04
    static let ln2Hi: Float = 0.693_359_375          // ln 2 rounded to 11 bits: n·ln2Hi is exact
    static let ln2Lo: Float = -2.121_944_4e-4        // ln 2 − ln2Hi
    /// 1.5·2²³: adding it rounds to an integer held in the low mantissa bits.
    static let roundMagic: Float = 12_582_912
    static let e0: Float = 0.500_000_001_35, e1: Float = 0.166_666_667_19, e2: Float = 0.041_666_464_93
    static let e3: Float = 0.008_333_298_48, e4: Float = 0.001_393_364_64, e5: Float = 0.000_198_992_77

    /// e^x; 0 below −87.3 (under the smallest normal float), clamped at e^88.3 above.
    @inline(__always)
    static func exp(_ x: F8) -> F8 { exp(x, plus: F8()) }

    /// e^(x + lo) for a small correction `lo` that x alone cannot carry (the rounding error of
    /// a square, in GELU): lo joins the reduced argument after the exact subtraction of n·ln2Hi.
    @inline(__always)
    static func exp(_ x: F8, plus lo: F8) -> F8 {
        var xc = x.replacing(with: 88.3, where: x .> 88.3)
        xc.replace(with: -87.3, where: xc .< -87.3)
        let t = xc * log2e + roundMagic
        let n = t - roundMagic
        let r = ((xc - n * ln2Hi) + lo) - n * ln2Lo
        var p = r * e5 + e4
        p = p * r + e3
        p = p * r + e2
        p = p * r + e1
        p = p * r + e0
        let e = (r * r) * p + r + 1
        // t's bit pattern is 0x4B400000 + n; move n + 127 into the exponent field.
        let bits = (unsafeBitCast(t, to: SIMD8<UInt32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        let scaled = e * unsafeBitCast(bits, to: F8.self)
        return scaled.replacing(with: 0, where: x .< -87.3)
    }

    // erf(z) = z·Q(z²) for z < 0.75.
    static let q0: Float = 1.128_379_166_4, q1: Float = -0.376_126_230_15, q2: Float = 0.112_834_246_26
    static let q3: Float = -0.026_836_713_93, q4: Float = 0.005_118_221_03, q5: Float = -0.000_677_530_54
    // erfc(z) = e^(−z²)·R(t), t = 1/(1 + z/2), for z ≥ 0.75.
    static let r0: Float = -8.648_731_039e-6, r1: Float = 0.282_312_243_70, r2: Float = 0.279_802_446_60
    static let r3: Float = 0.259_897_819_57, r4: Float = 0.133_561_928_27, r5: Float = 0.158_985_113_26
    static let r6: Float = -0.046_211_912_52, r7: Float = -0.132_486_780_98, r8: Float = 0.064_402_960_86

    /// ½·erfc(z) for z ≥ 0 given also as `sqrt2z` = √2·z (the GELU input), with small relative error over the whole range (including the tail
    /// where erfc is tiny), which is what GELU of negative inputs needs.
    @inline(__always)
    static func halfErfc(_ z: F8, sqrt2z: F8) -> F8 {
        let z2 = z * z
        var q = z2 * q5 + q4
        q = q * z2 + q3
        q = q * z2 + q2
        q = q * z2 + q1
        q = q * z2 + q0
        let small = 0.5 - 0.5 * (z * q)
        let t = 1 / (1 + 0.5 * z)
        var r = t * r8 + r7
        r = r * t + r6
        r = r * t + r5
        r = r * t + r4
        r = r * t + r3
        r = r * t + r2
        r = r * t + r1
        r = r * t + r0
        // e^(−z²) = e^(−x²/2) with x = √2·z as given (z itself is rounded): x = xh + xl with
        // xh on 12 bits, so xh² is exact and x² − xh² = xl·(x + xh). Without this the tail
        // (x < −4) would lose about x²·2⁻²⁴ of relative accuracy.
        let x = sqrt2z
        let xh = unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0xFFFF_F000, to: F8.self)
        let xl = x - xh
        let large = 0.5 * exp(-0.5 * (xh * xh), plus: -0.5 * (xl * (x + xh))) * r
        return large.replacing(with: small, where: z .< 0.75)
    }

    /// Exact (erf) GELU: x·Φ(x) = x·(1 − ½erfc(x/√2)) for x ≥ 0 and x·½erfc(−x/√2) below.
    @inline(__always)
    static func gelu(_ x: F8) -> F8 {
        let negative = x .< 0
        let magnitude = x.replacing(with: -x, where: negative)
        let h = halfErfc(magnitude * 0.707_106_781_19, sqrt2z: magnitude)
        let phi = (1 - h).replacing(with: h, where: negative)
        return x * phi
    }

    // sin/cos: p = k·π/2 + r with |r| ≤ π/4 (π/2 split in three so k·c1 is exact for |k| < 2¹⁵),
    // then Taylor polynomials, which are exact to float32 rounding on that interval.
    static let twoOverPi: Float = 0.636_619_772_37
    static let halfPi1: Float = 1.570_312_5, halfPi2: Float = 4.837_512_969_970_703e-4
    static let halfPi3: Float = 7.549_789_954_891_882e-8

    /// (sin p, cos p) for |p| up to a few thousand.
    @inline(__always)
    static func sincos(_ p: F8) -> (sin: F8, cos: F8) {
        let t = p * twoOverPi + roundMagic
        let k = t - roundMagic
        let r = ((p - k * halfPi1) - k * halfPi2) - k * halfPi3
        let r2 = r * r
        var ps = r2 * (1 / 362_880) - (1 / 5040)
        ps = ps * r2 + (1 / 120)
        ps = ps * r2 - (1 / 6)
        let sinR = r + r * r2 * ps
        var pc = r2 * (-1 / 3_628_800) + (1 / 40320)
        pc = pc * r2 - (1 / 720)
        pc = pc * r2 + (1 / 24)
        pc = pc * r2 - 0.5
        let cosR = 1 + r2 * pc
        // Quadrant k mod 4 sits in the low bits of t (0x4B400000 + k).
        let q = unsafeBitCast(t, to: SIMD8<UInt32>.self) & 3
        let swap = (q & 1) .== 1
        var sinP = sinR.replacing(with: cosR, where: swap)
        var cosP = cosR.replacing(with: -sinR, where: swap)
        let negate = q .>= 2
        sinP.replace(with: -sinP, where: negate)
        cosP.replace(with: -cosP, where: negate)
        return (sinP, cosP)
    }

    @inline(__always)
    static func sigmoid(_ x: F8) -> F8 { 1 / (1 + exp(-x)) }

    @inline(__always)
    static func relu(_ x: F8) -> F8 { x.replacing(with: 0, where: x .< 0) }

    @inline(__always)
    static func apply(_ a: Activation, _ x: F8) -> F8 {
        switch a {
        case .none: return x
        case .relu: return relu(x)
        case .gelu: return gelu(x)
        case .sigmoid: return sigmoid(x)
        }
    }

    /// Scalar versions through the same vector code, so tails match the vector body bit for bit.
    @inline(__always)
    static func apply(_ a: Activation, _ x: Float) -> Float {
        apply(a, F8(repeating: x))[0]
    }
}

/// Unaligned vector loads and stores of 8 floats.
extension UnsafePointer where Pointee == Float {
    @inline(__always) func load8(_ i: Int) -> F8 { UnsafeRawPointer(self + i).loadUnaligned(as: F8.self) }
}
extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func load8(_ i: Int) -> F8 { UnsafeRawPointer(self + i).loadUnaligned(as: F8.self) }
    @inline(__always) func store8(_ i: Int, _ v: F8) { UnsafeMutableRawPointer(self + i).storeBytes(of: v, as: F8.self) }
}

import TensorRuntime

/// In-place elementwise passes over float rows, vectorised, used by every kernel's epilogue.
enum RowOps {
    /// x[i] = act(x[i] + bias) for a scalar bias (per-row bias of an NCHW conv output).
    @inline(__always)
    static func biasActivate(_ x: UnsafeMutablePointer<Float>, _ n: Int, bias: Float, _ act: Activation) {
        if act == .none && bias == 0 { return }
        let b = F8(repeating: bias)
        var i = 0
        while i + 8 <= n { x.store8(i, VectorMath.apply(act, x.load8(i) + b)); i += 8 }
        while i < n { x[i] = VectorMath.apply(act, x[i] + bias); i += 1 }
    }

    /// x[i] = act(x[i] + bias[i]) (per-column bias of a Linear output row); `bias` may be nil.
    @inline(__always)
    static func biasActivate(_ x: UnsafeMutablePointer<Float>, _ n: Int, bias: UnsafePointer<Float>?, _ act: Activation) {
        guard let bias else {
            biasActivate(x, n, bias: 0, act)
            return
        }
        var i = 0
        while i + 8 <= n { x.store8(i, VectorMath.apply(act, x.load8(i) + bias.load8(i))); i += 8 }
        while i < n { x[i] = VectorMath.apply(act, x[i] + bias[i]); i += 1 }
    }
}

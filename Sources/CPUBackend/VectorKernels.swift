import CPUVectorKernels
import TensorRuntime

/// Instruction-set levels of the cpu backend's vector loops (`Sources/CPUVectorKernels`).
public enum CPUInstructionSet: String, Sendable, CaseIterable {
    /// SSE2: every x86-64 CPU.
    case baseline
    /// AVX2 with fused multiply-add: Intel Haswell (2013) and AMD Zen onwards.
    case avx2FMA = "avx2+fma"

    /// The best level this CPU runs (the environment variable `MEDSAM_CPU_ISA=baseline` forces
    /// the baseline, to compare the two or rule out a CPU problem).
    public static var best: CPUInstructionSet { VectorKernels(cvk_best_kernels().pointee).instructionSet }

    /// Whether this CPU (and this build) can run the level.
    public var isSupported: Bool { cvk_kernels_for(code) != nil }

    var code: cvk_isa { self == .baseline ? CVK_ISA_BASELINE : CVK_ISA_AVX2_FMA }
}

/// The C vector loops of one instruction-set level, with Swift signatures.
///
/// Transcendentals (exp, GELU, sin/cos) use polynomials fitted for this project and only
/// multiply, add, divide, compare and select, so both levels compute the same functions; the
/// AVX2 build differs only by FMA's single rounding. Accuracy (checked in `VectorKernelTests`
/// against float64 libm): exp relative error < 4e-7; GELU absolute error ≤ 2e-7·(1 + |x|),
/// relative error ≤ 3e-7 for x ≥ 0 and ≤ 1.5e-6 on (−1.5, 0); sin/cos absolute error < 3e-7
/// on [−60, 60].
struct VectorKernels: @unchecked Sendable {
    let table: cvk_kernels

    init(_ table: cvk_kernels) { self.table = table }

    /// The table for `isa`, or nil when this CPU cannot run it.
    init?(_ isa: CPUInstructionSet) {
        guard let t = cvk_kernels_for(isa.code) else { return nil }
        self.table = t.pointee
    }

    var instructionSet: CPUInstructionSet { table.isa == CVK_ISA_AVX2_FMA ? .avx2FMA : .baseline }

    @inline(__always)
    static func code(_ a: Activation) -> Int32 {
        switch a {
        case .none: return Int32(CVK_ACT_NONE)
        case .relu: return Int32(CVK_ACT_RELU)
        case .gelu: return Int32(CVK_ACT_GELU)
        case .sigmoid: return Int32(CVK_ACT_SIGMOID)
        }
    }

    /// dst[i] = act(src[i]); src and dst may coincide.
    @inline(__always)
    func activate(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int, _ a: Activation) {
        if n > 0 { table.activate(src, dst, n, Self.code(a)) }
    }

    /// x[i] = act(x[i] + bias) (the per-channel bias of an NCHW convolution row).
    @inline(__always)
    func biasActivate(_ x: UnsafeMutablePointer<Float>, _ n: Int, bias: Float, _ a: Activation) {
        if n > 0 && (a != .none || bias != 0) { table.bias_activate(x, n, bias, Self.code(a)) }
    }

    /// x[i] = act(x[i] + bias[i]) (a Linear layer's bias along a row); `bias` may be nil.
    @inline(__always)
    func biasActivate(_ x: UnsafeMutablePointer<Float>, _ n: Int, bias: UnsafePointer<Float>?, _ a: Activation) {
        guard let bias else { return biasActivate(x, n, bias: 0, a) }
        if n > 0 { table.bias_vector_activate(x, n, bias, Self.code(a)) }
    }

    @inline(__always)
    func rowMax(_ x: UnsafePointer<Float>, _ n: Int) -> Float { table.row_max(x, n) }

    /// x ← e^(x − shift) in place; returns the sum of the new values.
    @inline(__always)
    func expShiftRow(_ x: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Float {
        n > 0 ? table.exp_shift_row(x, n, shift) : 0
    }

    @inline(__always)
    func scaleRow(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ s: Float) {
        if n > 0 { table.scale_row(x, n, s) }
    }

    /// x ← softmax(x) in place.
    @inline(__always)
    func softmaxRow(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        if n == 0 { return }
        let sum = expShiftRow(x, n, shift: rowMax(x, n))
        scaleRow(x, n, 1 / sum)
    }

    /// dst rows = softmax(src rows), `rows` rows of `n`.
    @inline(__always)
    func softmaxRows(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, rows: Int, _ n: Int) {
        if rows > 0 && n > 0 { table.softmax_rows(src, dst, rows, n) }
    }

    @inline(__always)
    func sincos(_ p: UnsafePointer<Float>, sin: UnsafeMutablePointer<Float>, cos: UnsafeMutablePointer<Float>, _ n: Int) {
        if n > 0 { table.sincos(p, sin, cos, n) }
    }

    /// Floats of scratch `depthwisePlane` needs.
    static func depthwiseScratch(width: Int, kernelHeight: Int, strideX: Int) -> Int {
        cvk_depthwise_scratch(width, kernelHeight, strideX)
    }

    /// dst[c·dstStride + r] = src[r·srcStride + c] for r < rows, c < cols.
    @inline(__always)
    func transpose(_ src: UnsafePointer<Float>, srcStride: Int, _ dst: UnsafeMutablePointer<Float>, dstStride: Int,
                   rows: Int, cols: Int) {
        if rows > 0 && cols > 0 { table.transpose(src, srcStride, dst, dstStride, rows, cols) }
    }

    @inline(__always)
    func conv1x1(_ job: inout cvk_conv1x1) { table.conv1x1(&job) }

    /// Floats of scratch `attention` needs for a block of `queries` rows.
    static func attentionScratch(queries: Int, headDim: Int) -> Int { cvk_attention_scratch(queries, headDim) }

    @inline(__always)
    func attention(_ job: inout cvk_attention, scratch: UnsafeMutablePointer<Float>) {
        table.attention(&job, scratch)
    }

    @inline(__always)
    func depthwisePlane(_ plane: inout cvk_depthwise_plane, scratch: UnsafeMutablePointer<Float>) {
        table.depthwise_plane(&plane, scratch)
    }
}

/// Unaligned 8-float loads and stores for the loops still written in Swift (layer norm,
/// resize, broadcasting adds), which are memory-bound and gain nothing from AVX.
typealias F8 = SIMD8<Float>

extension UnsafePointer where Pointee == Float {
    @inline(__always) func load8(_ i: Int) -> F8 { UnsafeRawPointer(self + i).loadUnaligned(as: F8.self) }
}
extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func load8(_ i: Int) -> F8 { UnsafeRawPointer(self + i).loadUnaligned(as: F8.self) }
    @inline(__always) func store8(_ i: Int, _ v: F8) { UnsafeMutableRawPointer(self + i).storeBytes(of: v, as: F8.self) }
}

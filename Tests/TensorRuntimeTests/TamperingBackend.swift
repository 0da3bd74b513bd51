import Foundation
@testable import TensorRuntime

/// The reference backend with hooks: a test double that refuses some ops or tampers with what
/// a kernel writes, so the executor's and the parity harness's checks have something to catch.
/// Each factory plants one fault a real kernel could have.
final class TamperingBackend: Backend {
    let inner = ReferenceBackend()
    let name: String
    var refuse: (Op) -> String? = { _ in nil }
    /// Runs the real kernel (possibly a different op), then may overwrite memory.
    var encodeHook: (ReferenceBackend, Op, [TensorRef], TensorRef) throws -> Void = { b, op, ins, out in
        try b.encode(op, inputs: ins, output: out)
    }
    init(_ name: String) { self.name = name }
    var info: DeviceInfo { DeviceInfo(backend: name, name: "test double") }
    func unsupportedReason(_ op: Op, inputs: [Shape]) -> String? { refuse(op) }
    func allocate(elementCount: Int) throws -> any DeviceBuffer { try inner.allocate(elementCount: elementCount) }
    func upload(_ data: [Float], to ref: TensorRef) throws { try inner.upload(data, to: ref) }
    func download(_ ref: TensorRef) throws -> Tensor { try inner.download(ref) }
    func encode(_ op: Op, inputs: [TensorRef], output: TensorRef) throws { try encodeHook(inner, op, inputs, output) }
    func synchronize() throws {}

    /// Rewrites every output element of the ops `hook` accepts with `transform(index, value)`.
    private static func rewriting(_ name: String, where accepts: @escaping (Op) -> Bool,
                                  _ transform: @escaping (Int, Float) -> Float) -> TamperingBackend {
        let b = TamperingBackend(name)
        b.encodeHook = { inner, op, ins, out in
            try inner.encode(op, inputs: ins, output: out)
            guard accepts(op) else { return }
            let values = try inner.download(out).data
            try inner.upload(values.enumerated().map { transform($0.offset, $0.element) }, to: out)
        }
        return b
    }

    /// Computes ReLU where GELU was asked for.
    static func wrongGELU() -> TamperingBackend {
        let b = TamperingBackend("wrong-gelu")
        b.encodeHook = { inner, op, ins, out in
            if case .unary(.gelu) = op { try inner.encode(.unary(.relu), inputs: ins, output: out) }
            else { try inner.encode(op, inputs: ins, output: out) }
        }
        return b
    }

    /// GELU through the tanh approximation 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) instead of
    /// the exact erf form, both as the unary op and as a GEMM/conv epilogue. The two differ by
    /// at most ~3e-4 on [-1, 1] (NMSE ~3e-8): a plausible shortcut a fast kernel could take.
    static func tanhGELU() -> TamperingBackend {
        let b = TamperingBackend("tanh-gelu")
        b.encodeHook = { inner, op, ins, out in
            let linearPart: Op
            switch op {
            case .unary(.gelu): linearPart = .unary(.none)
            case .matmul(var p) where p.activation == .gelu: p.activation = .none; linearPart = .matmul(p)
            case .conv2d(var p) where p.activation == .gelu: p.activation = .none; linearPart = .conv2d(p)
            default: return try inner.encode(op, inputs: ins, output: out)
            }
            try inner.encode(linearPart, inputs: ins, output: out)
            let x = try inner.download(out).data
            try inner.upload(x.map { Float(tanhApproximatedGELU(Double($0))) }, to: out)
        }
        return b
    }

    static func tanhApproximatedGELU(_ x: Double) -> Double {
        0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    }

    /// GEMM and convolution epilogues that forget the bias (the bias input is ignored).
    static func droppedBias() -> TamperingBackend {
        let b = TamperingBackend("dropped-bias")
        b.encodeHook = { inner, op, ins, out in
            switch op {
            case .matmul(var p) where p.hasBias:
                p.hasBias = false
                try inner.encode(.matmul(p), inputs: Array(ins.prefix(2)), output: out)
            case .conv2d(var p) where p.hasBias:
                p.hasBias = false
                try inner.encode(.conv2d(p), inputs: Array(ins.prefix(2)), output: out)
            case .convTranspose2x2:
                // The bias is a required input here: hand the kernel zeros instead.
                let zeros = try inner.makeTensor(Tensor(zeros: ins[2].shape))
                try inner.encode(op, inputs: [ins[0], ins[1], zeros], output: out)
            default:
                try inner.encode(op, inputs: ins, output: out)
            }
        }
        return b
    }

    /// A float32 sum whose running total comes out one ulp high at every step: the drift a
    /// reduction with a biased rounding (or an off-by-one in a tree step) accumulates.
    static func driftingSum<S: Sequence>(_ values: S) -> Float where S.Element == Float {
        values.reduce(Float(0)) { ($0 + $1).nextUp }
    }

    /// Softmax over the last axis whose denominator is a `driftingSum`; everything else exact.
    static func driftingSoftmax() -> TamperingBackend {
        let b = TamperingBackend("softmax-sum-drift")
        b.encodeHook = { inner, op, ins, out in
            guard case .softmax = op else { return try inner.encode(op, inputs: ins, output: out) }
            let x = try inner.download(ins[0])
            let n = x.shape[-1]
            var y = [Float](repeating: 0, count: x.count)
            for r in 0..<(n == 0 ? 0 : x.count / n) {
                let row = x.data[(r * n)..<((r + 1) * n)]
                let m = row.max()!
                let e = row.map { Float(exp(Double($0 - m))) }
                let sum = Double(driftingSum(e))
                for i in 0..<n { y[r * n + i] = Float(Double(e[i]) / sum) }
            }
            try inner.upload(y, to: out)
        }
        return b
    }

    /// Layer norm (last axis) whose mean and variance sums are `driftingSum`s.
    static func driftingLayerNorm() -> TamperingBackend {
        let b = TamperingBackend("layernorm-sum-drift")
        b.encodeHook = { inner, op, ins, out in
            guard case .layerNorm(.last, let eps) = op else { return try inner.encode(op, inputs: ins, output: out) }
            let x = try inner.download(ins[0]), gamma = try inner.download(ins[1]).data, beta = try inner.download(ins[2]).data
            let n = x.shape[-1]
            var y = [Float](repeating: 0, count: x.count)
            for r in 0..<(n == 0 ? 0 : x.count / n) {
                let row = Array(x.data[(r * n)..<((r + 1) * n)])
                let mean = Double(driftingSum(row)) / Double(n)
                let variance = Double(driftingSum(row.map { Float((Double($0) - mean) * (Double($0) - mean)) })) / Double(n)
                let inv = 1 / (variance + Double(eps)).squareRoot()
                for i in 0..<n { y[r * n + i] = Float((Double(row[i]) - mean) * inv * Double(gamma[i]) + Double(beta[i])) }
            }
            try inner.upload(y, to: out)
        }
        return b
    }

    /// An honest float32 backend's worth of difference: every computed output element one ulp
    /// away from the reference (up or down, alternating), data movement left exact. The
    /// thresholds must let this through, or they would fail correct kernels.
    static func oneULPOff() -> TamperingBackend {
        rewriting("one-ulp", where: { $0.opClass != .dataMovement }) { i, v in i % 2 == 0 ? v.nextUp : v.nextDown }
    }

    /// Refuses attention at compile time.
    static func noAttention() -> TamperingBackend {
        let b = TamperingBackend("no-attention")
        b.refuse = { op in
            if case .attention = op { return "not implemented in this test double" }
            return nil
        }
        return b
    }

    /// Writes one element past the end of every output.
    static func overrun() -> TamperingBackend {
        let b = TamperingBackend("overrun")
        b.encodeHook = { inner, op, ins, out in
            try inner.encode(op, inputs: ins, output: out)
            try inner.upload([0], to: TensorRef(buffer: out.buffer, offset: out.offset + out.shape.count, shape: [1]))
        }
        return b
    }

    /// Puts NaN in the first element of every output.
    static func nan() -> TamperingBackend {
        let b = TamperingBackend("nan")
        b.encodeHook = { inner, op, ins, out in
            try inner.encode(op, inputs: ins, output: out)
            try inner.upload([.nan], to: TensorRef(buffer: out.buffer, offset: out.offset, shape: [1]))
        }
        return b
    }
}

import Foundation

/// One op applied to inputs of given shapes, run on a backend and on the reference.
public struct ParityCase: Sendable {
    public var name: String
    public var op: Op
    public var inputShapes: [Shape]
    public var seed: UInt64

    public init(_ name: String, _ op: Op, _ inputShapes: [Shape], seed: UInt64 = 0) {
        self.name = name
        self.op = op
        self.inputShapes = inputShapes
        self.seed = seed == 0 ? ParityCase.stableHash(name) : seed
    }

    /// FNV-1a of the name, so every case gets its own fixed inputs.
    static func stableHash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }
}

/// How large a parity suite to run.
public enum ParitySuiteSize: String, Sendable, CaseIterable {
    /// Small and odd shapes; seconds even in a debug build. What unit tests run.
    case quick
    /// `quick` plus SAM's real layer shapes (ViT-B/H, TinyViT, the decoder). Release builds.
    case full
}

/// The result of one parity case on one backend.
public struct ParityResult: Sendable, Codable {
    public var op: String
    public var name: String
    public var shape: [Int]
    public var backend: String
    public var nmse: Double
    public var threshold: Double
    public var pass: Bool
    /// Why the case failed beyond NMSE: unsupported op, NaN/Inf, guard region overwritten, error thrown.
    public var failure: String?
    /// Median seconds per run (perf mode).
    public var seconds: Double?
    public var gflops: Double?
    public var gbps: Double?
}

/// Checks a backend op by op against the reference backend, in the manner of ggml's
/// test-backend-ops: seeded random inputs in [-1, 1], NMSE against `ReferenceKernels` with a
/// threshold per op class, failure on any NaN/Inf, and guard regions before and after every
/// output that must come back untouched (catching out-of-bounds writes).
public struct ParityHarness {
    public var backend: any Backend
    public var thresholds: ParityThresholds
    /// Elements of guard region on each side of an output (odd, so it misaligns tile edges).
    public var guardElements = 257
    /// The guard's fill value; exactly representable in float16 so fp16 backends keep it bit-exact.
    public static let guardValue: Float = -777.0

    public init(backend: any Backend, thresholds: ParityThresholds = .float32) {
        self.backend = backend
        self.thresholds = thresholds
    }

    /// Runs every case; never throws (errors become failed results).
    public func run(_ cases: [ParityCase], perf: Bool = false) -> [ParityResult] {
        cases.map { runCase($0, perf: perf) }
    }

    /// Runs PyTorch-recorded cases: the backend's output is compared with torch's (not with
    /// the reference kernels), through the same guard-region path.
    public func run(fixtures: [FixtureCase], thresholds fixtureThresholds: ParityThresholds = .pytorchFixture) -> [ParityResult] {
        fixtures.map { c in
            let threshold = fixtureThresholds.threshold(for: c.op)
            var result = ParityResult(op: c.op.name, name: c.name, shape: c.expected.shape.dims,
                                      backend: backend.info.backend, nmse: .nan, threshold: threshold, pass: false)
            do {
                let got = try execute(c.op, c.inputs, outputShape: c.expected.shape)
                grade(&result, got: Tensor(shape: c.expected.shape, data: got), want: c.expected)
            } catch {
                result.failure = "\(error)"
            }
            return result
        }
    }

    private func runCase(_ c: ParityCase, perf: Bool) -> ParityResult {
        var result = ParityResult(op: c.op.name, name: c.name, shape: [], backend: backend.info.backend,
                                  nmse: .nan, threshold: thresholds.threshold(for: c.op), pass: false)
        do {
            let outShape = try c.op.outputShape(inputs: c.inputShapes)
            result.shape = outShape.dims
            if let reason = backend.unsupportedReason(c.op, inputs: c.inputShapes) {
                result.failure = "unsupported: \(reason)"
                return result
            }
            // A float16 backend stores its inputs rounded to float16; the reference is given the
            // same rounded values, so the comparison measures the kernels, not the upload (a
            // comparison such as `greater` would otherwise flip wherever rounding ties two inputs).
            let float16 = backend.info.storageType == .float16
            let inputs = c.inputShapes.enumerated().map { i, s -> Tensor in
                let t = Tensor(uniform: s, seed: c.seed &+ UInt64(i) &* 0x9E37_79B9)
                return float16 ? Tensor(shape: t.shape, data: t.data.map { Float(Float16($0)) }) : t
            }
            let want = try ReferenceKernels.execute(c.op, inputs: inputs)
            let got = try execute(c.op, inputs, outputShape: outShape)
            grade(&result, got: Tensor(shape: outShape, data: got), want: want)
            if perf {
                let t = try time(c.op, inputs, outputShape: outShape)
                let flops = c.op.flops(inputs: c.inputShapes, output: outShape)
                let bytes = Double((c.inputShapes.reduce(0) { $0 + $1.count } + outShape.count) * backend.info.storageType.size)
                result.seconds = t
                result.gflops = flops / t / 1e9
                result.gbps = bytes / t / 1e9
            }
        } catch {
            result.failure = "\(error)"
        }
        return result
    }

    private func grade(_ result: inout ParityResult, got: Tensor, want: Tensor) {
        if let f = result.failure, !f.isEmpty { return }
        guard Comparison.allFinite(got.data) else {
            result.failure = "output holds NaN or Inf"
            return
        }
        do {
            result.nmse = try Comparison.nmse(got, want)
            result.pass = result.nmse <= result.threshold
        } catch {
            // The op's declared output shape and the reference's result disagree.
            result.failure = "\(error)"
        }
    }

    /// Uploads inputs, runs the op into a guarded output buffer and returns the output, or sets
    /// a guard failure by throwing.
    func execute(_ op: Op, _ inputs: [Tensor], outputShape: Shape) throws -> [Float] {
        let refs = try inputs.map { try backend.makeTensor($0) }
        let g = guardElements
        let total = g + outputShape.count + g
        let buffer = try backend.allocate(elementCount: total)
        let whole = TensorRef(buffer: buffer, shape: Shape([total]))
        try backend.upload([Float](repeating: Self.guardValue, count: total), to: whole)
        let out = TensorRef(buffer: buffer, offset: g, shape: outputShape)
        try backend.encode(op, inputs: refs, output: out)
        try backend.synchronize()
        let all = try backend.download(whole).data
        let before = all[0..<g], after = all[(g + outputShape.count)...]
        if let bad = before.firstIndex(where: { $0 != Self.guardValue }) {
            throw ParityFailure.guardOverwritten("guard before the output overwritten at element \(bad - g) (value \(all[bad]))")
        }
        if let bad = after.firstIndex(where: { $0 != Self.guardValue }) {
            throw ParityFailure.guardOverwritten("guard after the output overwritten at element +\(bad - g - outputShape.count) (value \(all[bad]))")
        }
        return Array(all[g..<(g + outputShape.count)])
    }

    /// Median seconds per run over repeated runs (at least 3, about 0.3 s in all).
    private func time(_ op: Op, _ inputs: [Tensor], outputShape: Shape) throws -> Double {
        let refs = try inputs.map { try backend.makeTensor($0) }
        let out = TensorRef(buffer: try backend.allocate(elementCount: outputShape.count), shape: outputShape)
        try backend.encode(op, inputs: refs, output: out)          // warm-up (kernel builds, caches)
        try backend.synchronize()
        var samples: [Double] = []
        let deadline = DispatchTime.now().uptimeNanoseconds + 300_000_000
        repeat {
            let start = DispatchTime.now().uptimeNanoseconds
            try backend.encode(op, inputs: refs, output: out)
            try backend.synchronize()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        } while samples.count < 3 || (DispatchTime.now().uptimeNanoseconds < deadline && samples.count < 50)
        return samples.sorted()[samples.count / 2]
    }
}

enum ParityFailure: Error, CustomStringConvertible {
    case guardOverwritten(String)
    var description: String {
        switch self { case .guardOverwritten(let m): return m }
    }
}

extension ParityResult {
    /// A fixed-width table of results, one line per case, and a pass/fail summary line.
    public static func table(_ results: [ParityResult], perf: Bool = false) -> String {
        var header = pad("backend", 10) + pad("op", 22) + pad("case", 34) + pad("output", 20)
            + pad("nmse", 11, right: true) + pad("threshold", 10, right: true) + "  result"
        if perf { header += pad("ms", 11, right: true) + pad("GFLOP/s", 10, right: true) + pad("GB/s", 10, right: true) }
        var s = header + "\n"
        for r in results {
            let shape = "[" + r.shape.map(String.init).joined(separator: ",") + "]"
            let verdict = r.pass ? "ok" : "FAIL" + (r.failure.map { " (\($0))" } ?? "")
            s += pad(r.backend, 10) + pad(r.op, 22) + pad(r.name, 34) + pad(shape, 20)
            s += pad(String(format: "%.3e", r.nmse), 11, right: true) + pad(String(format: "%.0e", r.threshold), 10, right: true)
            s += "  " + pad(verdict, 6)
            if perf, let t = r.seconds {
                s += pad(String(format: "%.3f", t * 1e3), 11, right: true) + pad(String(format: "%.2f", r.gflops ?? 0), 10, right: true)
                    + pad(String(format: "%.2f", r.gbps ?? 0), 10, right: true)
            }
            s += "\n"
        }
        let passed = results.filter(\.pass).count
        s += "\(passed) passed, \(results.count - passed) failed\n"
        return s
    }
}

/// Pads (or keeps) `s` to `width` columns, left-aligned unless `right`; always one space after.
func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - s.count))
    return (right ? fill + s : s + fill) + " "
}

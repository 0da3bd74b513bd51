import XCTest
@testable import TensorRuntime

/// The parity thresholds bite: kernels with a plausible, small fault fail the harness.
///
/// Each test plants one fault in a wrapper of the reference backend (`TamperingBackend`) and
/// runs the harness with the float32 thresholds every backend kind is held to. The fault must
/// fail there; `TamperingBackend.oneULPOff` (ExecutorTests) shows rounding-level differences
/// still pass, so the thresholds sit between what correct kernels do and what broken ones do.
final class PlantedFaultTests: XCTestCase {
    /// The float32 thresholds before they were set from measurements: 1e-7 for elementwise and
    /// norms, 1e-6 for the rest, about six orders of magnitude above what backends achieve.
    /// Kept to show what they let through.
    static let unmeasuredFloat32 = ParityThresholds(byClass: [
        .elementwise: 1e-7, .normalization: 1e-7, .dataMovement: 0, .softmax: 1e-6, .resize: 1e-6,
        .gemm: 1e-6, .convolution: 1e-6, .attention: 1e-6,
    ])

    /// Every float32 threshold set a backend kind is held to.
    static let float32Sets: [(kind: String, thresholds: ParityThresholds)] =
        ParityThresholds.BackendKind.allCases.map { ($0.rawValue, ParityThresholds.float32(for: $0)) }

    private func run(_ backend: TamperingBackend, _ cases: [ParityCase], _ thresholds: ParityThresholds) -> [ParityResult] {
        ParityHarness(backend: backend, thresholds: thresholds).run(cases)
    }

    private func report(_ results: [ParityResult]) -> String { "\n" + ParityResult.table(results) }

    /// tanh-approximated GELU, as the unary op and as GEMM/conv epilogues (the quick suite's GELU
    /// cases). The unmeasured thresholds passed it everywhere; the measured ones fail every case.
    func testTanhGELUFails() {
        let cases = ParityCase.standard(.quick).filter { c in
            switch c.op {
            case .unary(.gelu): return true
            case .matmul(let p): return p.activation == .gelu
            case .conv2d(let p): return p.activation == .gelu
            default: return false
            }
        }
        XCTAssertEqual(cases.count, 4, "unary GELU, two linear + GELU (one on the 16-byte-load shapes), conv + GELU")
        let old = run(.tanhGELU(), cases, Self.unmeasuredFloat32)
        XCTAssertTrue(old.allSatisfy(\.pass), "the unmeasured thresholds let the tanh GELU through" + report(old))
        for (kind, thresholds) in Self.float32Sets {
            let new = run(.tanhGELU(), cases, thresholds)
            XCTAssertTrue(new.allSatisfy { !$0.pass && $0.failure == nil }, "\(kind): a tanh GELU must fail every GELU case" + report(new))
        }
    }

    /// GEMM and convolution epilogues that drop the bias: every case with a bias fails.
    func testDroppedBiasFails() {
        let cases = ParityCase.standard(.quick).filter { c in
            switch c.op {
            case .matmul(let p): return p.hasBias
            case .conv2d(let p): return p.hasBias
            case .convTranspose2x2: return true
            default: return false
            }
        }
        XCTAssertGreaterThanOrEqual(cases.count, 8)
        for (kind, thresholds) in Self.float32Sets {
            let results = run(.droppedBias(), cases, thresholds)
            XCTAssertTrue(results.allSatisfy { !$0.pass && $0.failure == nil }, "\(kind): a dropped bias must fail" + report(results))
        }
    }

    /// A softmax whose denominator drifts one ulp per accumulation step. Over SAM's 4096-key
    /// rows (global attention, the decoder's image tokens) that is NMSE ~3e-8: the unmeasured
    /// thresholds passed it, the measured ones fail it.
    func testSoftmaxSumDriftingOneULPPerStepFails() {
        let cases = [ParityCase("softmax 3x4096", .softmax, [[3, 4096]]),
                     ParityCase("softmax 8x4096x7 rows of 7", .softmax, [[8, 7, 4096]])]
        let old = run(.driftingSoftmax(), cases, Self.unmeasuredFloat32)
        XCTAssertTrue(old.allSatisfy(\.pass), "the unmeasured thresholds let the drift through (NMSE ~3e-8)" + report(old))
        for (kind, thresholds) in Self.float32Sets {
            let results = run(.driftingSoftmax(), cases, thresholds)
            XCTAssertTrue(results.allSatisfy { !$0.pass && $0.failure == nil }, "\(kind): a drifting softmax sum must fail" + report(results))
        }
    }

    /// A layer norm whose mean and variance sums drift one ulp per step, over ViT-B's width 768
    /// (NMSE ~1e-10): passed by the unmeasured thresholds, failed by the measured ones.
    func testLayerNormSumDriftingOneULPPerStepFails() {
        let cases = [ParityCase("ln 16x768 drifting sums", .layerNorm(axis: .last, eps: 1e-6), [[16, 768], [768], [768]])]
        let old = run(.driftingLayerNorm(), cases, Self.unmeasuredFloat32)
        XCTAssertTrue(old.allSatisfy(\.pass), "the unmeasured thresholds let the drift through (NMSE ~1e-10)" + report(old))
        for (kind, thresholds) in Self.float32Sets {
            let results = run(.driftingLayerNorm(), cases, thresholds)
            XCTAssertTrue(results.allSatisfy { !$0.pass && $0.failure == nil }, "\(kind): a drifting layer-norm sum must fail" + report(results))
        }
    }

    /// The fault wrappers change only what they target: on the rest of the quick suite each is
    /// exactly the reference (so a failure above is the planted fault, not the wrapper).
    func testWrappersAreExactOutsideTheirFault() {
        let quick = ParityCase.standard(.quick)
        let wrappers: [(TamperingBackend, (Op) -> Bool)] = [
            (.tanhGELU(), { op in
                switch op {
                case .unary(.gelu): return true
                case .matmul(let p): return p.activation == .gelu
                case .conv2d(let p): return p.activation == .gelu
                default: return false
                }
            }),
            (.droppedBias(), { op in
                switch op {
                case .matmul(let p): return p.hasBias
                case .conv2d(let p): return p.hasBias
                case .convTranspose2x2: return true
                default: return false
                }
            }),
            (.driftingSoftmax(), { if case .softmax = $0 { return true } else { return false } }),
            (.driftingLayerNorm(), { if case .layerNorm(.last, _) = $0 { return true } else { return false } }),
        ]
        for (backend, targets) in wrappers {
            let untouched = quick.filter { !targets($0.op) }
            XCTAssertLessThan(untouched.count, quick.count, backend.name)
            let results = run(backend, untouched, .float32(for: .cpu))
            let inexact = results.filter { $0.nmse != 0 }
            XCTAssertTrue(inexact.isEmpty, "\(backend.name) changed ops it does not target" + report(inexact))
        }
    }
}

import Foundation
import XCTest
@testable import TensorRuntime

/// The reference backend against outputs PyTorch computed in float64 (`scripts/reference/ops.py`).
final class PyTorchFixtureTests: XCTestCase {
    private func fixtureCases() throws -> [FixtureCase] {
        let root = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil),
                                 "the test bundle has no Fixtures folder")
        return try PyTorchFixtures.load(directory: root.appendingPathComponent("ops"))
    }

    func testReferenceKernelsMatchPyTorch() throws {
        let cases = try fixtureCases()
        XCTAssertGreaterThan(cases.count, 0, "no PyTorch fixture cases were loaded")
        var failures: [String] = []
        var worst = (name: "", nmse: 0.0)
        for c in cases {
            do {
                let out = try ReferenceKernels.execute(c.op, inputs: c.inputs)
                guard out.shape == c.expected.shape else {
                    failures.append("\(c.name): shape \(out.shape), expected \(c.expected.shape)")
                    continue
                }
                guard Comparison.allFinite(out.data) else {
                    failures.append("\(c.name): output has NaN or Inf")
                    continue
                }
                let nmse = try Comparison.nmse(out, c.expected)
                let limit = ParityThresholds.pytorchFixture.threshold(for: c.op)
                if nmse >= worst.nmse { worst = (c.name, nmse) }
                if !(nmse <= limit) {
                    failures.append("\(c.name) (\(c.op.name)): NMSE \(nmse) > \(limit), max |diff| "
                                    + "\(try Comparison.maxAbsDiff(out, c.expected))")
                }
            } catch {
                failures.append("\(c.name): threw \(error)")
            }
        }
        print("PyTorch fixtures: \(cases.count) cases, worst NMSE \(worst.nmse) (\(worst.name))")
        XCTAssert(failures.isEmpty, "\(failures.count) of \(cases.count) fixture cases failed:\n"
                  + failures.joined(separator: "\n"))
    }

    /// Every op of the op set (by its parity-table name) is covered by at least one fixture.
    func testFixturesCoverEveryOp() throws {
        let names = Set(try fixtureCases().map(\.op.name))
        let required = ["matmul", "conv2d", "conv2d_depthwise", "conv_transpose_2x2", "layer_norm", "layer_norm_2d",
                        "softmax", "attention", "attention_relpos", "attention_biastable", "copy", "relu", "gelu",
                        "sigmoid", "add", "mul", "permute", "broadcast", "reshape", "window_partition",
                        "window_unpartition", "pad", "slice", "resize_bilinear", "resize_bilinear_aa", "concat",
                        "fourier_features"]
        XCTAssertEqual(Set(required).subtracting(names), [], "ops without a PyTorch fixture")
    }

    func testBadMetaNamesTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fixture-bad-\(UUID().uuidString)")
        let folder = dir.appendingPathComponent("broken_case")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let meta = folder.appendingPathComponent("meta.json")
        try Data(#"{"op": "conv2d", "params": {"groups": "two"}, "inputs": 2}"#.utf8).write(to: meta)
        XCTAssertThrowsError(try PyTorchFixtures.load(directory: dir)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("meta.json"), text)
        }
        try Data(#"{"op": "softmax", "params": {}, "inputs": 1}"#.utf8).write(to: meta)
        XCTAssertThrowsError(try PyTorchFixtures.load(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("in0.npy"), "\(error)")
        }
    }
}

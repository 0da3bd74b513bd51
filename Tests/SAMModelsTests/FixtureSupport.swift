import Checkpoints
import Foundation
import TensorRuntime
import XCTest
import SAMModels

/// The fixture folder written by `scripts/reference/models.py`.
enum Fixtures {
    static var root: URL { Bundle.module.resourceURL!.appendingPathComponent("Fixtures") }

    static func tensor(_ set: String, _ name: String) throws -> Tensor {
        try NPY.read(root.appendingPathComponent(set).appendingPathComponent("\(name).npy")).tensor
    }

    static func meta(_ set: String) throws -> [String: Any] {
        let data = try Data(contentsOf: root.appendingPathComponent(set).appendingPathComponent("meta.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }
}

/// A `TensorSource` over a folder of `<key>.npy` files (the small random models' weights).
final class NPYFolderSource: TensorSource {
    let path: String
    let shapes: [String: Shape]
    private let folder: URL

    init(_ folder: URL) throws {
        self.folder = folder
        self.path = folder.path
        var s: [String: Shape] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasSuffix(".npy") {
            let key = String(name.dropLast(4))
            s[key] = try NPY.read(folder.appendingPathComponent(name)).shape
        }
        shapes = s
    }

    func load(_ key: String) throws -> Tensor {
        try NPY.read(folder.appendingPathComponent("\(key).npy")).tensor
    }
}

/// Shapes from a manifest, zeros as data: for planning full-size graphs without random numbers.
final class ZeroWeights: TensorSource {
    let path = "<zeros>"
    let shapes: [String: Shape]
    init(_ manifest: [(key: String, shape: Shape)]) {
        shapes = Dictionary(uniqueKeysWithValues: manifest.map { ($0.key, $0.shape) })
    }
    func load(_ key: String) throws -> Tensor { Tensor(zeros: shapes[key]!) }
}

/// A backend that allocates nothing and runs nothing: compiles graphs for their memory plan.
final class PlanningBackend: Backend {
    final class Buffer: DeviceBuffer { let elementCount: Int; init(_ n: Int) { elementCount = n } }
    let info = DeviceInfo(backend: "planning", name: "memory planning only")
    func unsupportedReason(_ op: Op, inputs: [Shape]) -> String? { nil }
    func allocate(elementCount: Int) throws -> any DeviceBuffer { Buffer(elementCount) }
    func upload(_ data: [Float], to ref: TensorRef) throws {}
    func download(_ ref: TensorRef) throws -> Tensor { Tensor(zeros: ref.shape) }
    func encode(_ op: Op, inputs: [TensorRef], output: TensorRef) throws {
        throw BackendError.unsupported(backend: "planning", op: op.name, reason: "plans only")
    }
    func synchronize() throws {}
}

/// NMSE limits for model outputs of the reference backend against PyTorch's, recorded in float64
/// and stored as float32 (`scripts/reference/models.py`): the worst NMSE measured for each kind
/// of output over SmallSAMParityTests and TinyViTParityTests, times 100 (the margin the op
/// thresholds use for float32), rounded up. An error in a layer (a wrong activation, a missing
/// bias, a transposed weight) moves these by orders of magnitude more.
enum ModelTolerance {
    /// Image embeddings: worst 3.5e-14 (MobileSAM-form TinyViT; SAM small encoder 1.3e-14).
    static let embedding = 4e-12
    /// Sparse and dense prompt embeddings: worst 2.1e-15 (box sparse; dense 2.9e-16).
    static let promptEmbedding = 3e-13
    /// Low-resolution mask logits: worst 2.4e-12 (images paired with prompts).
    static let logits = 3e-10
    /// IoU predictions: worst 2.5e-12 (box, multimask).
    static let iou = 3e-10
    /// LiteMedSAM's real-weights fixtures store embeddings and logits as float16, which alone
    /// gives NMSE ~4e-8 (measured: embedding 4.3e-8, logits <= 5.2e-8); 1e-6 is 20x that.
    static let float16Fixture = 1e-6
}

/// NMSE of `got` against `want` at most `limit`, after checking the shapes are equal (an output
/// with the right element count in the wrong layout is a failure, not a comparison).
func assertNMSE(_ got: Tensor?, _ want: Tensor, _ limit: Double, _ what: String,
                file: StaticString = #filePath, line: UInt = #line) {
    guard let got else { return XCTFail("\(what): no output", file: file, line: line) }
    do {
        let e = try Comparison.nmse(got, want)
        XCTAssertLessThanOrEqual(e, limit, "\(what): NMSE \(e)", file: file, line: line)
        print(String(format: "  %-40@ NMSE %.3e (limit %.0e)", what as NSString, e, limit))
    } catch {
        XCTFail("\(what): \(error)", file: file, line: line)
    }
}

var isDebugBuild: Bool {
    #if DEBUG
    return true
    #else
    return false
    #endif
}

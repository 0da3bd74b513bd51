import Foundation
import SAMModels
import Segmentation
import XCTest

/// Choosing and loading a model: every failure names what was wrong (the model name, the
/// missing checkpoint, the file) instead of crashing or loading something else.
final class ModelLoaderTests: XCTestCase {
    func testModelNamesAsTheCommandLineSpellsThem() throws {
        for kind in ModelKind.allCases { XCTAssertEqual(try ModelLoader.kind(named: kind.rawValue), kind) }
        XCTAssertThrowsError(try ModelLoader.kind(named: "sam-vit-x")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("'sam-vit-x'"), text)
            for kind in ModelKind.allCases { XCTAssertTrue(text.contains(kind.rawValue), text) }
        }
    }

    func testEveryModelButTheDefaultNeedsACheckpoint() {
        for kind in ModelKind.allCases where kind != .litemedsam {
            XCTAssertThrowsError(try ModelLoader.load(requested: kind, checkpoint: nil)) { error in
                guard case ModelLoadError.checkpointRequired(let k) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(k, kind)
                XCTAssertTrue("\(error)".contains("--checkpoint"))
            }
        }
    }

    func testAMissingCheckpointFileIsNamed() {
        let path = NSTemporaryDirectory() + "no-such-checkpoint-\(getpid()).pth"
        XCTAssertThrowsError(try ModelLoader.load(requested: nil, checkpoint: path)) { error in
            XCTAssertTrue("\(error)".contains(path), "\(error)")
        }
    }

    /// A well-formed safetensors file whose tensors belong to no SAM-family model.
    func testACheckpointOfAnotherModelIsRefusedNamingTheFile() throws {
        let url = URL(fileURLWithPath: NSTemporaryDirectory() + "not-sam-\(getpid()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let header = Array(#"{"classifier.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#.utf8)
        var bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header
        bytes += [UInt8](repeating: 0, count: 16)
        try Data(bytes).write(to: url)
        for requested in [nil, ModelKind.samViTB] {
            XCTAssertThrowsError(try ModelLoader.load(requested: requested, checkpoint: url.path)) { error in
                XCTAssertTrue("\(error)".contains(url.path), "\(error)")
            }
        }
    }
}

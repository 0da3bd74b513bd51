import Foundation
import XCTest
@testable import MedicalImaging

/// Paths into the fixture folder and the expected values `Fixtures/make_fixtures.py` recorded
/// with pydicom, nibabel, NumPy and PIL.
enum Fixtures {
    static let root: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    static let expected: [String: Any] = {
        let data = try! Data(contentsOf: url("expected.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static func entry(_ name: String) -> [String: Any] { expected[name] as! [String: Any] }

    /// A fresh empty folder for outputs.
    static func tempFolder() -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("medimg-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

func doubles(_ any: Any?) -> [Double] { (any as! [Any]).map { ($0 as! NSNumber).doubleValue } }
func matrix(_ any: Any?) -> [[Double]] { (any as! [Any]).map { doubles($0) } }

/// Asserts that `body` throws an `ImagingError` of `kind` whose text contains every `fragment`.
func assertImagingError<T>(_ kind: ImagingError.Kind, _ fragments: [String], file: StaticString = #filePath,
                           line: UInt = #line, _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected an ImagingError(\(kind)), nothing was thrown", file: file, line: line)
    } catch let e as ImagingError {
        XCTAssertEqual(e.kind, kind, "wrong kind for: \(e)", file: file, line: line)
        for f in fragments {
            XCTAssertTrue(e.description.contains(f), "'\(e)' does not mention '\(f)'", file: file, line: line)
        }
    } catch {
        XCTFail("expected an ImagingError, got \(type(of: error)): \(error)", file: file, line: line)
    }
}

/// |a - b| <= atol + rtol * |b|.
func assertClose(_ a: Double, _ b: Double, rtol: Double = 1e-6, atol: Double = 1e-5, _ what: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertLessThanOrEqual(abs(a - b), atol + rtol * abs(b), "\(what): \(a) vs expected \(b)", file: file, line: line)
}

func assertAffine(_ a: Affine, _ expected: [[Double]], tol: Double = 1e-4, file: StaticString = #filePath,
                  line: UInt = #line) {
    XCTAssertTrue(a.isClose(to: Affine(expected), tolerance: tol), "affine \(a.m) vs expected \(expected)",
                  file: file, line: line)
}

import XCTest
@testable import MedicalImaging

/// Inputs libFuzzer found to crash a reader (scripts/tests/fuzz.sh, docs/fuzzing.md), minimised,
/// in `Fixtures/fuzz/` named `<format>-<what was wrong>.<ext>`: each must now be refused with a
/// clear error instead.
final class FuzzRegressionTests: XCTestCase {
    private func refuse(_ name: String, _ format: MedicalImageFormat, _ fragments: String...) throws {
        let url = Fixtures.url("fuzz/\(name)")
        let bytes = try AtomicFile.read(url)
        XCTAssertThrowsError(try MedicalImageFile.decode(bytes, format: format, url: url), name) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(name), "error does not name the file: \(text)")
            for f in fragments { XCTAssertTrue(text.contains(f), "'\(f)' missing from: \(text)") }
        }
        // And through the file reader the CLI calls.
        XCTAssertThrowsError(try MedicalImageFile.read(url), name)
    }

    /// `'shape': )0( 0,7` : a ')' before the '(' made an inverted range (a trap) in NPY's header parser.
    func testNPYShapeWithCloseBeforeOpen() throws {
        try refuse("npy-shape-close-before-open.npy", .npy, "shape")
    }

    /// 187 bytes of JPEG declaring 65428 x 65496 x 3 made libjpeg's output buffer a 12 GB malloc;
    /// sizes beyond `Image.maxSamples` are now refused before anything is allocated.
    func testJPEGDeclaringAHugeImageIsRefusedBeforeAllocating() throws {
        try refuse("jpeg-declares-65428x65496.jpg", .jpeg, "65428x65496", "exceeds the limit")
    }

    /// A 50 x 10 16-bit JPEG-LS frame whose scan data ends after 4 bytes: CharLS 2.4.1 spent
    /// 6-25 s in its run-mode Golomb loop on it (found by a 40-minute DICOM run). The frame now
    /// goes to `JPEGLSCodec`, which stops at the end of the data.
    func testJPEGLSFrameThatKeptCharLSBusyIsRefused() throws {
        try refuse("dicom-jpegls-charls-slow.dcm", .dicom, "JPEG-LS", "ends early")
    }
}

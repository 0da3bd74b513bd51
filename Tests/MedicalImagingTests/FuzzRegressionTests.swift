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

    /// 85 bytes of JPEG-LS declaring 28276 x 32841 16-bit samples: the codec allocated the
    /// 1.9 GB sample buffer from the header (out-of-memory under libFuzzer's 2 GB limit, in the
    /// first hour-long `jpegls` run). Frames over `Image.maxSamples` are now refused from the
    /// header, and the DICOM reader refuses a frame of another size than Rows x Columns before
    /// anything is allocated.
    func testJPEGLSFrameDeclaringAHugeImageIsRefusedBeforeAllocating() throws {
        let bytes = try AtomicFile.read(Fixtures.url("fuzz/jpegls-declares-28276x32841.jls"))
        XCTAssertThrowsError(try JPEGLSCodec.decode(bytes)) { error in
            XCTAssertTrue("\(error)".contains("28276x32841"), "\(error)")
            XCTAssertTrue("\(error)".contains("exceeds the limit"), "\(error)")
        }
        struct Refused: Error {}
        var seen: JPEGLSFrameInfo?
        XCTAssertThrowsError(try JPEGLSCodec.decode(JPEGLSCodecTests.smallStream()) { seen = $0; throw Refused() }) { error in
            XCTAssertTrue(error is Refused, "the caller's refusal is rethrown: \(error)")
        }
        XCTAssertEqual(seen?.width, 8)
    }

    /// 121 bytes of JPEG declaring a large image: libjpeg met the end of the data at once, filled
    /// the whole image with grey and returned it as decoded (4.2 s and 1.7 GB under ASan; a
    /// `jpeg` slow unit of the hour-long run). Data that ends before the last row of MCUs is now
    /// an error; a file that only lacks its EOI marker still decodes.
    func testJPEGEndingBeforeItsImageIsRefused() throws {
        try refuse("jpeg-ends-before-its-image.jpg", .jpeg, "Premature end")
        var bytes = try AtomicFile.read(Fixtures.url("raster/rgb.jpg"))
        let whole = try MedicalImageFile.decode(bytes, format: .jpeg, url: Fixtures.url("raster/rgb.jpg"))
        XCTAssertEqual(Array(bytes.suffix(2)), [0xFF, 0xD9])
        bytes.removeLast(2)
        let withoutEOI = try MedicalImageFile.decode(bytes, format: .jpeg, url: Fixtures.url("raster/rgb.jpg"))
        guard case .image(let a) = whole, case .image(let b) = withoutEOI else { return XCTFail("a JPEG is read as a 2-D image") }
        XCTAssertEqual(b.pixels, a.pixels, "a JPEG without EOI decodes as the whole file does")
    }
}

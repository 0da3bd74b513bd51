import XCTest
@testable import MedicalImaging

/// Compressed and big-endian DICOM against pydicom: `Fixtures/codecs.json` holds pydicom's decoded
/// pixels (pylibjpeg handlers, modality rescale, DoseGridScaling) for every file in
/// `Fixtures/codecs/` (regenerate with `make_codec_fixtures.py`).
final class DICOMCodecTests: XCTestCase {
    private static let table: [String: [String: Any]] = {
        let data = try! Data(contentsOf: Fixtures.url("codecs.json"))
        let json = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        return json["files"] as! [String: [String: Any]]
    }()

    /// DCT JPEG is lossy: our decoders (libjpeg-turbo for 8 bits, `DCTJPEG` for 12) and
    /// pydicom's libjpeg may round the inverse DCT differently by one grey level (0.5 after the
    /// synthetic files' RescaleSlope of 0.5; JPGExtended has none).
    private func tolerance(_ name: String) -> Double {
        name == "JPGExtended.dcm" ? 1 : (name.hasPrefix("baseline") || name.hasPrefix("extended") ? 0.5 : 1e-6)
    }

    private func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let want = Self.table[name]!
        let image = try DICOMImage.read(Fixtures.url("codecs/\(name)"))
        XCTAssertEqual(image.transferSyntaxUID, want["transfer_syntax"] as? String, name, file: file, line: line)
        XCTAssertEqual([image.frames, image.rows, image.columns], doubles(want["shape"]).map(Int.init), name, file: file, line: line)
        let values = image.pixels.map(Double.init)
        let tol = tolerance(name)
        for (k, w) in doubles(want["first"]).enumerated() {
            assertClose(values[k], w, rtol: 1e-6, atol: tol, "\(name) value \(k)", file: file, line: line)
        }
        for (k, w) in doubles(want["last"]).reversed().enumerated() {
            assertClose(values[values.count - 1 - k], w, rtol: 1e-6, atol: tol, "\(name) value -\(k + 1)", file: file, line: line)
        }
        let n = Double(values.count)
        let sum = values.reduce(0, +)
        let weighted = values.enumerated().reduce(0.0) { $0 + $1.element * Double($1.offset % 97 + 1) }
        assertClose(sum, (want["sum"] as! NSNumber).doubleValue, rtol: 1e-6, atol: tol * n, "\(name) sum", file: file, line: line)
        assertClose(weighted, (want["weighted_sum"] as! NSNumber).doubleValue, rtol: 1e-6, atol: tol * n * 97,
                    "\(name) weighted sum", file: file, line: line)
        assertClose(values.min()!, (want["min"] as! NSNumber).doubleValue, atol: tol, "\(name) min", file: file, line: line)
        assertClose(values.max()!, (want["max"] as! NSNumber).doubleValue, atol: tol, "\(name) max", file: file, line: line)
    }

    func testRLE() throws { try check("rtdose_rle_1frame.dcm") }
    func testExplicitBigEndian() throws {
        try check("MR_small_expb.dcm")
        try check("rtdose_expb_1frame.dcm")
    }
    func testJPEGLS() throws {
        try check("MR_small_jpeg_ls_lossless.dcm")
        try check("JPEGLSNearLossless_16.dcm")
    }
    func testJPEG2000() throws {
        try check("MR_small_jp2klossless.dcm")
        try check("693_J2KI.dcm")
    }
    /// Process 14 with predictors 1, 4, 5, 6 and 7; 8, 10, 12 and 16 bits; signed; three frames
    /// found through the basic offset table; restart markers every 3 rows (the fixture script's
    /// own encoder, checked there against libjpeg-turbo 3).
    func testLosslessJPEG() throws {
        for name in ["lossless_p1_12bit.dcm", "lossless_p4_10bit_3frames.dcm", "lossless_p6_8bit.dcm",
                     "lossless_p7_16bit_signed.dcm", "lossless_restarts_p5_16bit.dcm"] {
            try check(name)
        }
    }
    func testBaselineJPEG() throws { try check("baseline_8bit_2frames.dcm") }

    /// 12-bit extended (process 4) JPEG through the own DCT decoder: pydicom's JPGExtended and a
    /// two-frame file libjpeg-turbo 3 encoded.
    func testTwelveBitExtendedJPEG() throws {
        try check("JPGExtended.dcm")
        try check("extended_12bit_2frames.dcm")
        // Most values are exact; a fixed-point and a floating-point IDCT differ by one at most.
        let want = Self.table["JPGExtended.dcm"]!
        let image = try DICOMImage.read(Fixtures.url("codecs/JPGExtended.dcm"))
        XCTAssertEqual(image.pixels.prefix(16).map(Double.init), doubles(want["first"]))
    }

    /// The MR_small copies in every transfer syntax decode to the same pixels as the uncompressed file.
    func testLosslessCopiesAgree() throws {
        let reference = try DICOMImage.read(Fixtures.url("dicom/MR_small.dcm")).pixels
        for name in ["dicom/MR_small_RLE.dcm", "dicom/MR_small_bigendian.dcm", "codecs/MR_small_expb.dcm",
                     "codecs/MR_small_jpeg_ls_lossless.dcm", "codecs/MR_small_jp2klossless.dcm"] {
            XCTAssertEqual(try DICOMImage.read(Fixtures.url(name)).pixels, reference, name)
        }
    }

    /// A header claiming a huge image over a few bytes of codestream is refused before any
    /// decoder allocates for it.
    func testHugeClaimedSizeIsRefused() throws {
        for name in ["dicom/MR_small_RLE.dcm", "codecs/MR_small_jpeg_ls_lossless.dcm", "codecs/lossless_p7_16bit_signed.dcm"] {
            var bytes = [UInt8](try Data(contentsOf: Fixtures.url(name)))
            let ds = try DICOMDataSet.parse(bytes, path: name)
            for tag in [DICOMTag.rows, .columns] {
                let offset = ds.elements[tag]!.offset
                bytes[offset] = 0xFF
                bytes[offset + 1] = 0xFF
            }
            assertImagingError(.unsupported, [name, "65535x65535", "limit"]) {
                try DICOMImage.decode(DICOMDataSet.parse(bytes, path: name))
            }
        }
        // Within the limit but far more samples than an RLE frame of this size can hold.
        var bytes = [UInt8](try Data(contentsOf: Fixtures.url("dicom/MR_small_RLE.dcm")))
        let ds = try DICOMDataSet.parse(bytes, path: "rle")
        for tag in [DICOMTag.rows, .columns] {
            bytes[ds.elements[tag]!.offset] = 0x00
            bytes[ds.elements[tag]!.offset + 1] = 0x10  // 4096
        }
        assertImagingError(.truncated, ["rle", "cannot hold 4096x4096"]) { try DICOMImage.decode(DICOMDataSet.parse(bytes, path: "rle")) }
        // Within the limit: the codestream's own header must agree with Rows/Columns before
        // any codec allocates.
        for name in ["codecs/MR_small_jpeg_ls_lossless.dcm", "codecs/MR_small_jp2klossless.dcm", "codecs/lossless_p7_16bit_signed.dcm",
                     "codecs/baseline_8bit_2frames.dcm", "codecs/extended_12bit_2frames.dcm"] {
            var bytes = [UInt8](try Data(contentsOf: Fixtures.url(name)))
            let ds = try DICOMDataSet.parse(bytes, path: name)
            bytes[ds.elements[DICOMTag.rows]!.offset] &+= 1
            assertImagingError(.inconsistent, [name, "Columns x Rows"]) { try DICOMImage.decode(DICOMDataSet.parse(bytes, path: name)) }
        }
    }

    /// Damaged codestreams: every cut of each compressed fixture, and flipped bytes in its pixel
    /// data, give a typed error or an image; never a crash.
    func testDamagedCodestreamsNeverCrash() throws {
        for name in ["MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm", "lossless_p7_16bit_signed.dcm",
                     "rtdose_rle_1frame.dcm", "baseline_8bit_2frames.dcm", "extended_12bit_2frames.dcm"] {
            let bytes = [UInt8](try Data(contentsOf: Fixtures.url("codecs/\(name)")))
            let start = bytes.count / 2
            for cut in stride(from: start, to: bytes.count, by: max(1, (bytes.count - start) / 60)) {
                do { _ = try DICOMImage.decode(DICOMDataSet.parse(Array(bytes[..<cut]), path: name)) } catch is ImagingError {}
            }
            var rng = SystemRandomNumberGenerator()
            for _ in 0..<60 {
                var b = bytes
                let i = Int.random(in: (bytes.count * 3 / 4)..<bytes.count, using: &rng)
                b[i] ^= UInt8.random(in: 1...255, using: &rng)
                do { _ = try DICOMImage.decode(DICOMDataSet.parse(b, path: name)) } catch is ImagingError {}
            }
        }
    }
}

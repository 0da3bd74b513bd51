import Foundation
@testable import MedicalImaging
import XCTest

/// Colour DICOM as RGB images. pydicom's colour test files are compared value for value in CI
/// (scripts/tests/check_dicom_pixels.py); these build small files whose answer is known by hand.
final class DICOMColourTests: XCTestCase {
    static func u16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func u32(_ v: Int) -> [UInt8] { u16(v & 0xFFFF) + u16(v >> 16) }
    /// One Explicit VR Little Endian element.
    static func element(_ g: Int, _ e: Int, _ vr: String, _ value: [UInt8]) -> [UInt8] {
        var v = value
        if v.count % 2 == 1 { v.append(vr == "UI" ? 0 : 0x20) }
        if ["OB", "OW"].contains(vr) { return u16(g) + u16(e) + Array(vr.utf8) + [0, 0] + u32(v.count) + v }
        return u16(g) + u16(e) + Array(vr.utf8) + u16(v.count) + v
    }

    /// A minimal Explicit VR Little Endian file: preamble, meta group, image pixel module
    /// (`extra`: more elements of group 0028 after PixelRepresentation), then `pixels` as native
    /// pixel data or, given `fragment`, encapsulated pixel data holding that one fragment.
    static func file(photometric: String, planar: Int, rows: Int, columns: Int, frames: Int = 1, pixels: [UInt8] = [],
                     transferSyntax: String = "1.2.840.10008.1.2.1", samples: Int = 3, bits: Int = 8,
                     extra: [UInt8] = [], fragment: [UInt8]? = nil) -> [UInt8] {
        let syntax = element(0x0002, 0x0010, "UI", Array(transferSyntax.utf8))
        var bytes = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)
        bytes += element(0x0002, 0x0000, "UL", u32(syntax.count)) + syntax
        bytes += element(0x0028, 0x0002, "US", u16(samples))
        bytes += element(0x0028, 0x0004, "CS", Array(photometric.utf8))
        if samples > 1 { bytes += element(0x0028, 0x0006, "US", u16(planar)) }
        if frames > 1 { bytes += element(0x0028, 0x0008, "IS", Array(String(frames).utf8)) }
        bytes += element(0x0028, 0x0010, "US", u16(rows)) + element(0x0028, 0x0011, "US", u16(columns))
        bytes += element(0x0028, 0x0100, "US", u16(bits)) + element(0x0028, 0x0101, "US", u16(bits))
        bytes += element(0x0028, 0x0103, "US", u16(0))
        bytes += extra
        if var fragment {
            if fragment.count % 2 == 1 { fragment.append(0) }
            // Undefined length; an empty basic offset table item, the fragment, the delimiter.
            bytes += u16(0x7FE0) + u16(0x0010) + Array("OB".utf8) + [0, 0] + u32(0xFFFF_FFFF)
            bytes += u16(0xFFFE) + u16(0xE000) + u32(0)
            bytes += u16(0xFFFE) + u16(0xE000) + u32(fragment.count) + fragment
            bytes += u16(0xFFFE) + u16(0xE0DD) + u32(0)
        } else {
            bytes += element(0x7FE0, 0x0010, "OB", pixels)
        }
        return bytes
    }

    func read(_ bytes: [UInt8], name: String = "colour.dcm", frame: Int? = nil) throws -> MedicalImage {
        let url = Fixtures.tempFolder().appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return try MedicalImageFile.read(url, options: .init(volumeIndex: frame))
    }

    func rgb(_ m: MedicalImage) throws -> Image {
        guard case .image(let im) = m else { XCTFail("a colour DICOM must read as an image"); throw CancellationError() }
        return im
    }

    func testRGBPlanarConfigurationsGiveTheSameInterleavedPixels() throws {
        // 1 x 2 pixels: red, then a grey-blue.
        let interleaved: [UInt8] = [255, 0, 0, 10, 20, 200]
        let planarBytes: [UInt8] = [255, 10, 0, 20, 0, 200]
        for (planar, pixels) in [(0, interleaved), (1, planarBytes)] {
            let im = try rgb(try read(Self.file(photometric: "RGB", planar: planar, rows: 1, columns: 2, pixels: pixels)))
            XCTAssertEqual([im.height, im.width, im.channels], [1, 2, 3])
            XCTAssertEqual(im.pixels, interleaved.map(Float.init), "planar \(planar)")
        }
    }

    func testYBRFull422SharesChromaAcrossAPixelPair() throws {
        // Y0 Y1 Cb Cr: neutral chroma gives grey; then Cr = 255 pushes red up and green down.
        let im = try rgb(try read(Self.file(photometric: "YBR_FULL_422", planar: 0, rows: 1, columns: 4,
                                            pixels: [50, 200, 128, 128, 100, 100, 128, 255])))
        XCTAssertEqual(Array(im.pixels[0..<6]), [50, 50, 50, 200, 200, 200])
        // R = 100 + 1.402 * 127 = 278 -> 255; G = 100 - 0.714136 * 127 = 9.3 -> 9; B = 100.
        XCTAssertEqual(Array(im.pixels[6..<12]), [255, 9, 100, 255, 9, 100])
    }

    func testYBRFullToRGBFollowsBT601FullRange() {
        XCTAssertTrue(DICOMColourImage.ybrToRGB(128, 128, 128) == (128, 128, 128))
        // Pure red encoded in full-range BT.601 (Y 76, Cb 85, Cr 255) comes back as red.
        let red = DICOMColourImage.ybrToRGB(76, 85, 255)
        XCTAssertEqual([red.0, red.1, red.2], [254, 0, 0])
    }

    func testMultiFrameNeedsAFrameAndCompressedColourIsNamed() throws {
        let two = Self.file(photometric: "RGB", planar: 0, rows: 1, columns: 1, frames: 2, pixels: [1, 2, 3, 4, 5, 6])
        assertImagingError(.invalidArgument, ["NumberOfFrames", "is 2", "--volume-index 0...1"]) { _ = try self.read(two) }
        XCTAssertEqual(try rgb(try read(two, frame: 1)).pixels, [4, 5, 6])
        assertImagingError(.invalidArgument, ["volume index", "is 2", "frames 0...1"]) { _ = try self.read(two, frame: 2) }
        let rle = Self.file(photometric: "RGB", planar: 0, rows: 1, columns: 1, pixels: [1, 2, 3],
                            transferSyntax: "1.2.840.10008.1.2.5")
        XCTAssertThrowsError(try read(rle))
    }

    // MARK: - Lossless JPEG (process 14) colour

    /// A lossless JPEG codestream of `image` (`components` samples interleaved per pixel, row by
    /// row): one interleaved scan with `predictor`, all components sharing one Huffman table in
    /// which every difference category has a 5-bit code, and a restart every `restartRows` rows.
    /// Written independently of the decoder from T.81 Annex H, so the decoder must agree.
    static func losslessJPEG(_ image: [Int], width: Int, height: Int, components: Int, precision: Int,
                             predictor: Int, restartRows: Int = 0) -> [UInt8] {
        var out: [UInt8] = [0xFF, 0xD8]
        func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
        out += [0xFF, 0xC3] + be16(8 + 3 * components) + [UInt8(precision)] + be16(height) + be16(width) + [UInt8(components)]
        for c in 0..<components { out += [UInt8(c + 1), 0x11, 0] }
        out += [0xFF, 0xC4] + be16(2 + 17 + 17) + [0x00] + [0, 0, 0, 0, 17] + [UInt8](repeating: 0, count: 11) + (0...16).map { UInt8($0) }
        if restartRows > 0 { out += [0xFF, 0xDD] + be16(4) + be16(restartRows * width) }
        out += [0xFF, 0xDA] + be16(6 + 2 * components) + [UInt8(components)]
        for c in 0..<components { out += [UInt8(c + 1), 0x00] }
        out += [UInt8(predictor), 0, 0]
        var acc = 0, bitCount = 0
        func put(_ value: Int, _ n: Int) {
            for k in stride(from: n - 1, through: 0, by: -1) {
                acc = acc << 1 | (value >> k) & 1
                bitCount += 1
                if bitCount == 8 {
                    out.append(UInt8(acc))
                    if acc == 0xFF { out.append(0) }  // byte stuffing
                    acc = 0
                    bitCount = 0
                }
            }
        }
        func flush() { if bitCount > 0 { put((1 << (8 - bitCount)) - 1, 8 - bitCount) } }
        func sample(_ x: Int, _ y: Int, _ c: Int) -> Int { image[(y * width + x) * components + c] }
        for y in 0..<height {
            let first = restartRows > 0 ? y % restartRows == 0 : y == 0
            if first && y > 0 {
                flush()
                out += [0xFF, UInt8(0xD0 + (y / restartRows - 1) % 8)]
            }
            for x in 0..<width {
                for c in 0..<components {
                    let a = x > 0 ? sample(x - 1, y, c) : 0, b = y > 0 ? sample(x, y - 1, c) : 0
                    let d = x > 0 && y > 0 ? sample(x - 1, y - 1, c) : 0
                    let prediction = first ? (x == 0 ? 1 << (precision - 1) : a)
                        : x == 0 ? b
                        : [0, a, b, d, a + b - d, a + ((b - d) >> 1), b + ((a - d) >> 1), (a + b) >> 1][predictor]
                    var diff = (sample(x, y, c) - prediction) & 0xFFFF
                    if diff > 32768 { diff -= 65536 }
                    let category = diff == 32768 ? 16 : (diff == 0 ? 0 : Int.bitWidth - abs(diff).leadingZeroBitCount)
                    put(category, 5)
                    if category > 0 && category < 16 { put(diff > 0 ? diff : diff + (1 << category) - 1, category) }
                }
            }
        }
        flush()
        return out + [0xFF, 0xD9]
    }

    /// Three interleaved components, each predicted from its own neighbours, for every predictor,
    /// with and without restarts, at 8 and 12 bits: the decoder returns the encoded samples.
    func testLosslessJPEGColourInterleavedComponentsKeepTheirOwnPredictors() throws {
        let width = 7, height = 5
        for (precision, bits) in [(8, 8), (12, 16)] {
            var state: UInt64 = 12345
            // Components with very different levels, so that mixing up their histories shows.
            let image = (0..<(width * height * 3)).map { k -> Int in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let noise = Int(state >> 33) % 40
                return min((1 << precision) - 1, [3, 1 << (precision - 1), (1 << precision) - 45][k % 3] + noise)
            }
            for predictor in 1...7 {
                for restartRows in [0, 2] {
                    let stream = Self.losslessJPEG(image, width: width, height: height, components: 3, precision: precision,
                                                   predictor: predictor, restartRows: restartRows)
                    for syntax in ["1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"] {
                        let file = Self.file(photometric: "RGB", planar: 0, rows: height, columns: width, transferSyntax: syntax,
                                             bits: bits, fragment: stream)
                        let im = try rgb(try read(file))
                        XCTAssertEqual([im.height, im.width, im.channels, im.bitDepth], [height, width, 3, bits])
                        XCTAssertEqual(im.pixels, image.map(Float.init), "precision \(precision), predictor \(predictor), restart \(restartRows), \(syntax)")
                    }
                }
            }
        }
    }

    /// gdcm's lossless JPEG of pydicom's SC_rgb test image equals the same image from RLE.
    func testLosslessJPEGColourMatchesRLE() throws {
        let lossless = try rgb(try MedicalImageFile.read(Fixtures.url("colour/SC_rgb_jpeg_gdcm.dcm")))
        let rle = try rgb(try MedicalImageFile.read(Fixtures.url("colour/SC_rgb_rle.dcm")))
        XCTAssertEqual([lossless.height, lossless.width, lossless.channels], [100, 100, 3])
        XCTAssertEqual(lossless.pixels, rle.pixels)
        XCTAssertEqual(Set(lossless.pixels).count > 2, true, "the image is not flat")
    }

    // MARK: - PALETTE COLOR

    /// The three palette descriptors and tables (the same table for R, G and B reversed, so each
    /// channel is checked), as elements after PixelRepresentation.
    static func palette(entries: Int, first: Int, tableBits: Int, red: [Int], green: [Int], blue: [Int]) -> [UInt8] {
        var bytes: [UInt8] = []
        for e in 0x1101...0x1103 { bytes += element(0x0028, e, "US", u16(entries % 65536) + u16(first) + u16(tableBits)) }
        for (e, table) in zip(0x1201...0x1203, [red, green, blue]) {
            bytes += element(0x0028, e, "OW", tableBits == 8 ? table.map { UInt8($0) } : table.flatMap { u16($0) })
        }
        return bytes
    }

    func testPaletteColourMapsIndicesThroughTheTables() throws {
        // 4 entries from index 10; indices below 10 take entry 0, above 13 the last entry.
        let red = [100, 110, 120, 130], green = [0, 1, 2, 3], blue = [255, 254, 253, 252]
        let indices: [UInt8] = [9, 10, 11, 12, 13, 200]
        let expected: [[Int]] = [0, 0, 1, 2, 3, 3].map { [red[$0], green[$0], blue[$0]] }
        for bits in [8, 16] {
            let scale = bits == 16 ? 257 : 1
            let file = Self.file(photometric: "PALETTE COLOR", planar: 0, rows: 2, columns: 3, pixels: indices, samples: 1,
                                 extra: Self.palette(entries: 4, first: 10, tableBits: bits, red: red.map { $0 * scale },
                                                     green: green.map { $0 * scale }, blue: blue.map { $0 * scale }))
            let im = try rgb(try read(file))
            XCTAssertEqual([im.height, im.width, im.channels, im.bitDepth], [2, 3, 3, bits])
            XCTAssertEqual(im.pixels, expected.flatMap { $0.map { Float($0 * scale) } }, "\(bits)-bit table")
        }
        // 16-bit indices (little-endian) into a 65536-entry table (descriptor 0), first mapped 0.
        let ramp = (0..<65536).map { $0 >> 8 }
        let wide = Self.file(photometric: "PALETTE COLOR", planar: 0, rows: 1, columns: 2, pixels: [0x34, 0x12, 0xFF, 0xFF], samples: 1,
                             bits: 16, extra: Self.palette(entries: 65536, first: 0, tableBits: 16, red: ramp, green: ramp, blue: ramp.reversed()))
        XCTAssertEqual(try rgb(try read(wide)).pixels, [0x12, 0x12, 0xED, 0xFF, 0xFF, 0])
    }

    func testPaletteColourProblemsAreNamed() throws {
        let table = [1, 2]
        let segmented = Self.file(photometric: "PALETTE COLOR", planar: 0, rows: 1, columns: 1, pixels: [0], samples: 1,
                                  extra: (0x1101...0x1103).flatMap { Self.element(0x0028, $0, "US", Self.u16(2) + Self.u16(0) + Self.u16(16)) }
                                      + (0x1221...0x1223).flatMap { Self.element(0x0028, $0, "OW", Self.u16(0) + Self.u16(2) + Self.u16(1) + Self.u16(2)) })
        assertImagingError(.unsupported, ["SegmentedRedPaletteColorLookupTableData", "segmented"]) { _ = try self.read(segmented) }
        let noTables = Self.file(photometric: "PALETTE COLOR", planar: 0, rows: 1, columns: 1, pixels: [0], samples: 1)
        assertImagingError(.missing, ["RedPaletteColorLookupTableDescriptor"]) { _ = try self.read(noTables) }
        let short = Self.file(photometric: "PALETTE COLOR", planar: 0, rows: 1, columns: 1, pixels: [0], samples: 1,
                              extra: Self.palette(entries: 3, first: 0, tableBits: 16, red: table, green: table, blue: table))
        assertImagingError(.corrupt, ["RedPaletteColorLookupTableData", "3 entries"]) { _ = try self.read(short) }
        let threeSamples = Self.file(photometric: "PALETTE COLOR", planar: 0, rows: 1, columns: 1, pixels: [0, 0, 0],
                                     extra: Self.palette(entries: 2, first: 0, tableBits: 16, red: table, green: table, blue: table))
        assertImagingError(.corrupt, ["SamplesPerPixel", "is 3"]) { _ = try self.read(threeSamples) }
    }
}

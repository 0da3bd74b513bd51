import Foundation
@testable import MedicalImaging
import XCTest

/// Colour DICOM as RGB images. pydicom's colour test files are compared value for value in CI
/// (scripts/tests/check_dicom_pixels.py); these build small files whose answer is known by hand.
final class DICOMColourTests: XCTestCase {
    /// A minimal Explicit VR Little Endian file: preamble, meta group, image pixel module.
    static func file(photometric: String, planar: Int, rows: Int, columns: Int, frames: Int = 1, pixels: [UInt8],
                     transferSyntax: String = "1.2.840.10008.1.2.1") -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: Int) -> [UInt8] { u16(v & 0xFFFF) + u16(v >> 16) }
        func element(_ g: Int, _ e: Int, _ vr: String, _ value: [UInt8]) -> [UInt8] {
            var v = value
            if v.count % 2 == 1 { v.append(vr == "UI" ? 0 : 0x20) }
            if ["OB", "OW"].contains(vr) { return u16(g) + u16(e) + Array(vr.utf8) + [0, 0] + u32(v.count) + v }
            return u16(g) + u16(e) + Array(vr.utf8) + u16(v.count) + v
        }
        let syntax = element(0x0002, 0x0010, "UI", Array(transferSyntax.utf8))
        var bytes = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)
        bytes += element(0x0002, 0x0000, "UL", u32(syntax.count)) + syntax
        bytes += element(0x0028, 0x0002, "US", u16(3))
        bytes += element(0x0028, 0x0004, "CS", Array(photometric.utf8))
        bytes += element(0x0028, 0x0006, "US", u16(planar))
        if frames > 1 { bytes += element(0x0028, 0x0008, "IS", Array(String(frames).utf8)) }
        bytes += element(0x0028, 0x0010, "US", u16(rows)) + element(0x0028, 0x0011, "US", u16(columns))
        bytes += element(0x0028, 0x0100, "US", u16(8)) + element(0x0028, 0x0101, "US", u16(8))
        bytes += element(0x0028, 0x0103, "US", u16(0))
        bytes += element(0x7FE0, 0x0010, "OB", pixels)
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
        let palette = Self.file(photometric: "PALETTE COLOR", planar: 0, rows: 1, columns: 1, pixels: [1, 2, 3])
        assertImagingError(.unsupported, ["PhotometricInterpretation", "PALETTE COLOR"]) { _ = try self.read(palette) }
    }
}

import XCTest
import TensorRuntime
@testable import MedicalImaging

final class RasterTests: XCTestCase {
    private func npy(_ name: String) throws -> NPYArray { try NPY.read(Fixtures.url(name)) }

    /// PNG decoding matches the arrays PIL wrote, exactly, for 8-bit grey, 8-bit RGB and 16-bit grey.
    func testPNGMatchesPIL() throws {
        for (png, ref, channels, depth) in [("grey8", "grey8", 1, 8), ("rgb8", "rgb8", 3, 8), ("grey16", "grey16", 1, 16)] {
            let im = try PNGCodec.read(Fixtures.url("raster/\(png).png"))
            let expected = try npy("raster/\(ref).npy")
            XCTAssertEqual([im.height, im.width] + (channels == 3 ? [3] : []), expected.shape.dims, png)
            XCTAssertEqual(im.channels, channels, png)
            XCTAssertEqual(im.bitDepth, depth, png)
            XCTAssertEqual(im.pixels, expected.values, png)
        }
    }

    /// JPEG decoding agrees with PIL's decoder (both libjpeg-turbo) to within one grey level.
    func testJPEGMatchesPIL() throws {
        for (jpg, ref, channels) in [("rgb.jpg", "rgb_jpg_decoded.npy", 3), ("grey.jpg", "grey_jpg_decoded.npy", 1)] {
            let im = try JPEGCodec.read(Fixtures.url("raster/\(jpg)"))
            let expected = try npy("raster/\(ref)")
            XCTAssertEqual(im.channels, channels, jpg)
            XCTAssertEqual([im.height, im.width], Array(expected.shape.dims.prefix(2)), jpg)
            let worst = zip(im.pixels, expected.values).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(worst, 1, jpg)
        }
    }

    func testPNGWriteRoundTrip() throws {
        let dir = Fixtures.tempFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (depth, channels) in [(8, 1), (8, 3), (16, 1), (16, 3)] {
            let maxV = depth == 8 ? 255 : 65535
            let px = (0..<(7 * 5 * channels)).map { Float(($0 * 7919) % (maxV + 1)) }
            let im = Image(pixels: px, height: 5, width: 7, channels: channels, bitDepth: depth)
            let url = dir.appendingPathComponent("rt\(depth)_\(channels).png")
            try PNGCodec.write(im, to: url, bitDepth: depth)
            let back = try PNGCodec.read(url)
            XCTAssertEqual(back.pixels, px, "\(depth)-bit \(channels)-channel")
            XCTAssertEqual(back.bitDepth, depth)
        }
        assertImagingError(.invalidArgument, ["channels", "is 2"]) {
            try PNGCodec.encode(Image(pixels: [0, 0], height: 1, width: 1, channels: 2))
        }
    }

    func testNPYImages() throws {
        let grey = try MedicalImageFile.readNPYImage(Fixtures.url("raster/grey8.npy"))
        XCTAssertEqual([grey.height, grey.width, grey.channels, grey.bitDepth], [5, 7, 1, 8])
        let rgb = try MedicalImageFile.readNPYImage(Fixtures.url("raster/rgb8.npy"))
        XCTAssertEqual([rgb.height, rgb.width, rgb.channels], [4, 6, 3])
        XCTAssertEqual(rgb.pixels, try npy("raster/rgb8.npy").values)
        let f = try MedicalImageFile.readNPYImage(Fixtures.url("raster/float_hw.npy"))
        XCTAssertEqual(f.bitDepth, 32)
        assertImagingError(.corrupt, ["grey8.png", "npy"]) {
            try MedicalImageFile.readNPYImage(Fixtures.url("raster/grey8.png"))
        }
    }

    func testMedSAMNPZ() throws {
        let c2 = try MedSAMCase.read(Fixtures.url("npz/case2d.npz"))  // deflated members
        let e2 = Fixtures.entry("npz/case2d.npz")
        let im = try XCTUnwrap(c2.image())
        XCTAssertEqual([im.height, im.width, im.channels], [6, 5, 3])
        XCTAssertEqual(im.pixels.map(Double.init), (e2["imgs"] as! [[[Any]]]).flatMap { $0.flatMap { doubles($0) } })
        XCTAssertEqual(c2.groundTruth?.values.reduce(0, +), Float(e2["gts_sum"] as! Int))
        XCTAssertEqual(c2.boxes?.values, [1, 1, 4, 5])

        let c3 = try MedSAMCase.read(Fixtures.url("npz/case3d.npz"))  // stored members
        let e3 = Fixtures.entry("npz/case3d.npz")
        let v = try XCTUnwrap(c3.volume(source: "case3d"))
        XCTAssertEqual(v.dims, [5, 4, 3])
        XCTAssertEqual(v.spacing, doubles(e3["spacing"]))
        let kji = (e3["imgs"] as! [[[Any]]]).map { $0.map { doubles($0) } }
        XCTAssertEqual(Double(v[4, 1, 2]), kji[2][1][4])
        XCTAssertEqual(v.sourceType, .int16)
        XCTAssertEqual(c3.boxes?.shape.dims, [1, 6])
    }

    func testBadRasterInputs() {
        assertImagingError(.truncated, ["truncated.npz"]) { try NPZArchive.read(Fixtures.url("bad/truncated.npz")) }
        assertImagingError(.missing, ["no_imgs.npz", "imgs", "pictures"]) { try MedSAMCase.read(Fixtures.url("bad/no_imgs.npz")) }
        assertImagingError(.corrupt, ["corrupt_member.npz", "imgs.npy", "corrupt"]) {
            try NPZArchive.read(Fixtures.url("bad/corrupt_member.npz"))
        }
        assertImagingError(.corrupt, ["grey8.png", "end of central directory"]) { try NPZArchive.read(Fixtures.url("raster/grey8.png")) }
        XCTAssertThrowsError(try PNGCodec.read(Fixtures.url("bad/truncated.png"))) {
            XCTAssertTrue(($0 as? ImagingError)?.description.contains("truncated.png") ?? false, "\($0)")
        }
        assertImagingError(.corrupt, ["truncated.jpg", "JPEG", "libjpeg"]) { try JPEGCodec.read(Fixtures.url("bad/truncated.jpg")) }
        assertImagingError(.corrupt, ["grey8.png", "JPEG"]) { try JPEGCodec.read(Fixtures.url("raster/grey8.png")) }
        assertImagingError(.corrupt, ["rgb.jpg", "PNG"]) { try PNGCodec.read(Fixtures.url("raster/rgb.jpg")) }
    }

    func testFormatDetection() throws {
        let cases: [(String, MedicalImageFormat)] = [
            ("nifti/syn_uint8.nii", .nifti), ("nifti/standard.nii.gz", .nifti), ("dicom/CT_small.dcm", .dicom),
            ("series", .dicomSeries), ("raster/grey8.png", .png), ("raster/rgb.jpg", .jpeg),
            ("raster/grey8.npy", .npy), ("npz/case2d.npz", .npz), ("formats/sitk_raw.nrrd", .nrrd),
            ("formats/sitk_detached.nhdr", .nrrd), ("formats/sitk_raw.mha", .metaimage), ("formats/sitk_detached.mhd", .metaimage),
        ]
        for (name, format) in cases { XCTAssertEqual(try MedicalImageFile.format(of: Fixtures.url(name)), format, name) }
        // Without a telling extension the magic bytes decide.
        let dir = Fixtures.tempFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, format) in [("dicom/MR_small.dcm", MedicalImageFormat.dicom), ("raster/grey8.png", .png),
                               ("nifti/syn_int8.nii", .nifti), ("nifti/standard.nii.gz", .nifti),
                               ("formats/sitk_gzip.nrrd", .nrrd), ("formats/sitk_zlib.mha", .metaimage)] {
            let copy = dir.appendingPathComponent(UUID().uuidString)
            try FileManager.default.copyItem(at: Fixtures.url(name), to: copy)
            XCTAssertEqual(try MedicalImageFile.format(of: copy), format, name)
        }
        if case .volume(let v) = try MedicalImageFile.read(Fixtures.url("dicom/CT_small.dcm")) {
            XCTAssertEqual(v.dims, [128, 128, 1])
        } else { XCTFail("CT_small should read as a volume") }
    }
}

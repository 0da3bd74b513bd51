import XCTest
@testable import MedicalImaging

final class ProcessingTests: XCTestCase {
    func testWindowPresets() {
        XCTAssertEqual(IntensityWindow.presets["soft-tissue"], IntensityWindow(level: 40, width: 400))
        XCTAssertEqual(IntensityWindow.presets["lung"], IntensityWindow(level: -600, width: 1500))
        XCTAssertEqual(IntensityWindow.presets["bone"], IntensityWindow(level: 400, width: 1800))
        XCTAssertEqual(IntensityWindow.presets["brain"], IntensityWindow(level: 40, width: 80))
        // Soft tissue: [-160, 240] -> [0, 255], clipped outside.
        XCTAssertEqual(IntensityWindow.softTissue.apply([-1000, -160, 40, 240, 3000]), [0, 0, 127.5, 255, 255])
        XCTAssertEqual(IntensityWindow.brain.apply([0, 40, 80]), [0, 127.5, 255])
        // MedSAM's variant min-maxes the clipped data: [-100, 100] inside the window spans 0...255.
        XCTAssertEqual(IntensityWindow.softTissue.applyMinMaxOfClipped([-100, 0, 100]), [0, 127.5, 255])
        XCTAssertEqual(IntensityMapping.windowMinMax(.softTissue).apply([-1000, 40, 1000]), [0, 127.5, 255])
        XCTAssertEqual(IntensityWindow(argument: "-600,1500"), .lung)
        XCTAssertNil(IntensityWindow(argument: "40,0"))
        XCTAssertNil(IntensityWindow(argument: "40"))
    }

    /// Mapped images and volumes hold whole 8-bit grey levels, truncated as `np.uint8` does in
    /// MedSAM's `pre_CT_MR.py`: the family preprocessing (cubic, area, PIL resizes) then sees the
    /// input the published pipelines see.
    func testMappedImagesAndVolumesAreTruncatedGreyLevels() {
        let hu: [Float] = [-1000, -160, -159, 40, 41, 239.9, 3000, .nan]
        // Window values: 0, 0, 0.6375, 127.5, 128.1375, 254.94, 255, NaN -> 0.
        let expected: [Float] = [0, 0, 0, 127, 128, 254, 255, 0]
        let image = Image(pixels: hu, height: 2, width: 4, channels: 1)
        let mapped = IntensityMapping.window(.softTissue).apply(image)
        XCTAssertEqual(mapped.pixels, expected)
        XCTAssertEqual(mapped.bitDepth, 8)
        let volume = Volume(voxels: hu, dims: [4, 2, 1], spacing: [1, 1, 1],
                            affine: Affine([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), frame: .ras,
                            sourceType: .int16, source: "test")
        XCTAssertEqual(IntensityMapping.window(.softTissue).apply(volume).voxels, expected)
        // The value arrays themselves stay exact (fractional) for callers that want them.
        XCTAssertEqual(IntensityMapping.window(.softTissue).apply([41])[0], 128.1375, accuracy: 1e-4)
        XCTAssertEqual(IntensityMapping.grey8([-3, 0.999, 254.999, 300]), [0, 0, 254, 255])
    }

    /// MedSAM's MR normalisation against NumPy's result of `pre_CT_MR.py`'s formula.
    func testMRNormalisationMatchesNumPy() {
        let e = Fixtures.entry("mr_normalisation")
        let input = doubles(e["input"]).map(Float.init), expected = doubles(e["output"])
        let out = IntensityNormalization.mr(input)
        for (n, (a, b)) in zip(out, expected).enumerated() { assertClose(Double(a), b, rtol: 1e-4, atol: 1e-3, "voxel \(n)") }
        XCTAssertTrue(zip(input, out).allSatisfy { $0 != 0 || $1 == 0 }, "zeros stay zero")
        XCTAssertEqual(IntensityNormalization.mr([0, 0, 0]), [0, 0, 0])
    }

    func testAutomaticMapping() throws {
        let ct = try DICOMImage.read(Fixtures.url("dicom/CT_small.dcm")).volume()
        XCTAssertEqual(IntensityMapping.automatic(for: ct), .window(.softTissue))
        let mr = try DICOMImage.read(Fixtures.url("dicom/MR_small.dcm")).volume()
        XCTAssertEqual(IntensityMapping.automatic(for: mr), .mr)
        let png = try PNGCodec.read(Fixtures.url("raster/grey8.png"))
        XCTAssertEqual(IntensityMapping.automatic(for: png), .identity)
        XCTAssertEqual(IntensityMapping.automatic(for: try PNGCodec.read(Fixtures.url("raster/grey16.png"))), .minMax)
    }

    /// Without a modality, CT is told by its air (>= 1 % of voxels below -500 HU), not by the
    /// minimum: nibabel's brain MR `anatomical.nii` has 2 voxels below -500 and is an MR.
    func testAutomaticMappingOfVolumesWithoutModality() throws {
        let brain = try NIfTIReader.read(Fixtures.url("nifti/anatomical.nii"))
        XCTAssertNil(brain.modality)
        XCTAssertLessThan(brain.valueRange!.lowerBound, -500)
        XCTAssertEqual(IntensityMapping.automatic(for: brain), .mr)
        func volume(_ v: [Float], modality: String? = nil) -> Volume {
            Volume(voxels: v, dims: [v.count, 1, 1], spacing: [1, 1, 1],
                   affine: Affine([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), frame: .ras,
                   sourceType: .int16, source: "test", modality: modality)
        }
        // 1 voxel of 100 at -1000 HU (1 %): CT; none: MR normalisation.
        let body = [Float](repeating: 40, count: 99)
        XCTAssertEqual(IntensityMapping.automatic(for: volume(body + [-1000])), .window(.softTissue))
        XCTAssertEqual(IntensityMapping.automatic(for: volume(body + [-400])), .mr)
        XCTAssertEqual(IntensityMapping.automatic(for: volume(body + [-1000] + body)), .mr)
        // A DICOM that says MR stays MR whatever its values.
        XCTAssertEqual(IntensityMapping.automatic(for: volume(body + [-1000], modality: "MR")), .mr)
    }

    /// CLI.md's conventions: axial picks k (x = i, y = j), coronal picks j (x = i, y = k),
    /// sagittal picks i (x = j, y = k); no flips.
    func testSliceConventions() throws {
        // Voxel value encodes its index: 100 i + 10 j + k.
        let dims = [4, 3, 2]
        var vox = [Float]()
        for k in 0..<2 { for j in 0..<3 { for i in 0..<4 { vox.append(Float(100 * i + 10 * j + k)) } } }
        var v = Volume(voxels: vox, dims: dims, spacing: [0.5, 0.7, 3], affine: .identity, frame: .ras,
                       sourceType: .int16, source: "synthetic")
        let ax = try v.slice(.axial, 1)
        XCTAssertEqual([ax.height, ax.width], [3, 4])
        XCTAssertEqual(ax[x: 3, y: 2, c: 0], 321)
        XCTAssertEqual(ax.spacing, [0.7, 0.5])
        let co = try v.slice(.coronal, 2)
        XCTAssertEqual([co.height, co.width], [2, 4])
        XCTAssertEqual(co[x: 1, y: 1, c: 0], 121)
        let sa = try v.slice(.sagittal, 3)
        XCTAssertEqual([sa.height, sa.width], [2, 3])
        XCTAssertEqual(sa[x: 2, y: 0, c: 0], 320)
        XCTAssertEqual(sa.spacing, [3, 0.7])
        assertImagingError(.invalidArgument, ["slice", "index 2", "0...1", "axial"]) { try v.slice(.axial, 2) }
        // setSlice writes back exactly where slice reads.
        var blank = co
        blank.pixels = blank.pixels.map { -$0 }
        try v.setSlice(.coronal, 2, from: blank)
        XCTAssertEqual(v[1, 2, 1], -121)
        XCTAssertEqual(v[1, 1, 1], 111)
        assertImagingError(.invalidArgument, ["does not fit"]) { try v.setSlice(.axial, 0, from: co) }
    }

    func testInfoForCT() throws {
        let info = try MedicalImageInfo.read(Fixtures.url("dicom/CT_small.dcm"))
        let e = Fixtures.entry("dicom/CT_small.dcm")
        XCTAssertEqual(info.shape, [128, 128, 1])
        XCTAssertEqual(info.kind, "volume")
        XCTAssertEqual(info.format, "dicom")
        XCTAssertEqual(info.dtype, "int16")
        XCTAssertEqual(info.modality, "CT")
        XCTAssertEqual(info.min, e["min"] as! Double)
        XCTAssertEqual(info.max, e["max"] as! Double)
        let json = try info.jsonString()
        let decoded = try JSONDecoder().decode(MedicalImageInfo.self, from: Data(json.utf8))
        XCTAssertEqual(decoded, info)
        for key in ["\"shape\"", "\"spacing\"", "\"affine\"", "\"dtype\"", "\"min\"", "\"max\""] {
            XCTAssertTrue(json.contains(key), key)
        }
        let png = try MedicalImageInfo.read(Fixtures.url("raster/rgb8.png"))
        XCTAssertEqual(png.shape, [4, 6, 3])
        XCTAssertEqual(png.kind, "image")
    }

    func testOverlay() throws {
        let base = Image(pixels: [Float](repeating: 100, count: 20 * 16), height: 16, width: 20, channels: 1)
        var labels = [UInt8](repeating: 0, count: 20 * 16)
        for y in 4..<10 { for x in 5..<12 { labels[y * 20 + x] = 1 } }
        for y in 11..<14 { for x in 14..<18 { labels[y * 20 + x] = 2 } }
        let out = try OverlayRenderer.render(base: base, labels: labels, boxes: [[1, 1, 18, 14], [-50, 3, 1e30, .nan]],
                                             points: [OverlayPoint(x: 7, y: 6), OverlayPoint(x: 2, y: 13, foreground: false)])
        XCTAssertEqual([out.height, out.width, out.channels], [16, 20, 3])
        let red = OverlayRenderer.colour(for: 1), blue = OverlayRenderer.colour(for: 2)
        func px(_ x: Int, _ y: Int) -> [Float] { (0..<3).map { out[x: x, y: y, c: $0] } }
        XCTAssertEqual(px(5, 9), red, "outline of label 1")
        XCTAssertEqual(px(14, 12), blue, "outline of label 2")
        XCTAssertEqual(px(1, 8), red, "box 1 edge")
        let inside = px(10, 8)
        XCTAssertEqual(inside[0], 100 * 0.7 + red[0] * 0.3, accuracy: 1e-3, "tinted interior")
        XCTAssertEqual(px(7, 6), [0, 230, 0], "foreground point")
        XCTAssertEqual(px(2, 13), [230, 0, 0], "background point")
        XCTAssertEqual(px(19, 0), [100, 100, 100], "untouched corner")
        let dir = Fixtures.tempFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("overlay.png")
        try OverlayRenderer.write(to: url, base: base, labels: labels)
        XCTAssertEqual(try PNGCodec.read(url).channels, 3)
        assertImagingError(.invalidArgument, ["labels"]) { try OverlayRenderer.render(base: base, labels: [1]) }
    }
}

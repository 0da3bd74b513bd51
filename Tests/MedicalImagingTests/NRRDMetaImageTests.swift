import XCTest
@testable import MedicalImaging

/// NRRD and MetaImage against SimpleITK and pynrrd: `Fixtures/formats.json` holds the voxels and
/// LPS affine those libraries wrote into each file of `Fixtures/formats/` (regenerate with
/// `make_format_fixtures.py`); our writers' files read back unchanged.
final class NRRDMetaImageTests: XCTestCase {
    private static let table: [String: [String: Any]] = {
        let data = try! Data(contentsOf: Fixtures.url("formats.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
    }()

    private func read(_ name: String) throws -> Volume {
        let index = name.hasSuffix(".seg.nrrd") ? 1 : nil
        guard case .volume(let v) = try MedicalImageFile.read(Fixtures.url("formats/\(name)"), options: .init(volumeIndex: index)) else {
            throw XCTSkip("not a volume")
        }
        return v
    }

    func testReadsWhatSimpleITKAndPynrrdWrote() throws {
        XCTAssertEqual(Self.table.count, 10)
        for (name, want) in Self.table.sorted(by: { $0.key < $1.key }) {
            let v = try read(name)
            XCTAssertEqual(v.dims, doubles(want["shape_ijk"]).map(Int.init), name)
            XCTAssertEqual(v.voxels.map(Double.init), doubles(want["voxels"]), name)
            assertAffine(v.lpsAffine, matrix(want["affine"]), tol: 1e-9)
            XCTAssertEqual(v.spacing.map { ($0 * 1e9).rounded() / 1e9 }, [0.5, 0.75, 2.0], name)
        }
    }

    func testWritersRoundTrip() throws {
        let source = try read("sitk_raw.nrrd")
        let folder = Fixtures.tempFolder()
        for (file, type) in [("a.nrrd", VoxelType.int16), ("b.mha", .float32), ("c.mhd", .uint16), ("d.nrrd", .float64)] {
            let url = folder.appendingPathComponent(file)
            let shifted = source.withVoxels(source.voxels.map { type == .uint16 ? $0 + 300 : $0 }, sourceType: source.sourceType)
            if file.hasSuffix(".nrrd") { try NRRDWriter.write(shifted, to: url, as: type) } else { try MetaImage.write(shifted, to: url, as: type) }
            guard case .volume(let back) = try MedicalImageFile.read(url) else { return XCTFail(file) }
            XCTAssertEqual(back.voxels, shifted.voxels, file)
            XCTAssertEqual(back.sourceType, type, file)
            XCTAssertEqual(back.dims, source.dims, file)
            assertAffine(back.lpsAffine, source.lpsAffine.m, tol: 1e-12)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("c.raw").path))
    }

    /// A label map written as a 3D Slicer segmentation carries each segment's keys and extent.
    func testSegmentationKeys() throws {
        let source = try read("sitk_raw.nrrd")
        var labels = [Float](repeating: 0, count: source.voxels.count)
        labels[1 + 4 * (2 + 3 * 1)] = 2  // voxel (1, 2, 1)
        labels[3] = 2                     // voxel (3, 0, 0)
        let url = Fixtures.tempFolder().appendingPathComponent("mask.seg.nrrd")
        try NRRDWriter.write(source.withVoxels(labels, sourceType: .uint8), to: url, as: .uint8,
                             segments: [NRRDSegment(label: 2, name: "tumour")])
        let header = try NRRDHeader.parse(try AtomicFile.read(url), path: url.path)
        XCTAssertEqual(header.keyValues["Segment0_Name"], "tumour")
        XCTAssertEqual(header.keyValues["Segment0_LabelValue"], "2")
        XCTAssertEqual(header.keyValues["Segment0_Extent"], "1 3 0 2 0 1")
        XCTAssertEqual(try NRRDReader.read(url).voxels, labels)
        assertImagingError(.invalidArgument, ["segment 0", "label 0"]) {
            try NRRDWriter.write(source, to: url, as: .uint8, segments: [NRRDSegment(label: 0, name: "x")])
        }
    }

    func testBadFilesGiveTypedErrors() throws {
        let folder = Fixtures.tempFolder()
        func file(_ name: String, _ text: String, _ tail: [UInt8] = []) -> URL {
            let url = folder.appendingPathComponent(name)
            try! Data(Array(text.utf8) + tail).write(to: url)
            return url
        }
        let base = "NRRD0004\ntype: short\ndimension: 3\nsizes: 2 2 2\n"
        assertImagingError(.missing, ["a.nrrd", "encoding"]) { try NRRDReader.read(file("a.nrrd", base + "\n")) }
        assertImagingError(.unsupported, ["b.nrrd", "bzip2"]) { try NRRDReader.read(file("b.nrrd", base + "encoding: bzip2\n\n")) }
        assertImagingError(.truncated, ["c.nrrd", "need 16"]) { try NRRDReader.read(file("c.nrrd", base + "encoding: raw\n\n", [1, 2, 3])) }
        assertImagingError(.corrupt, ["d.nrrd", "gzip"]) { try NRRDReader.read(file("d.nrrd", base + "encoding: gzip\n\n", [1, 2, 3, 4])) }
        assertImagingError(.corrupt, ["e.nrrd", "sizes"]) { try NRRDReader.read(file("e.nrrd", "NRRD0004\ntype: short\ndimension: 3\nsizes: 2 -2 2\nencoding: raw\n\n")) }
        assertImagingError(.unsupported, ["pynrrd_layers.seg.nrrd", "2 volumes along axis 0", "kind list", "volume index"]) {
            try NRRDReader.read(Fixtures.url("formats/pynrrd_layers.seg.nrrd"))
        }
        let mha = "ObjectType = Image\nNDims = 3\nDimSize = 2 2 2\nElementType = MET_SHORT\n"
        assertImagingError(.missing, ["g.mha", "ElementDataFile"]) { try MetaImage.read(file("g.mha", mha)) }
        assertImagingError(.truncated, ["h.mha", "needs 16"]) { try MetaImage.read(file("h.mha", mha + "ElementDataFile = LOCAL\n", [0, 0])) }
        assertImagingError(.corrupt, ["i.mha", "compressed data"]) {
            try MetaImage.read(file("i.mha", mha + "CompressedData = True\nElementDataFile = LOCAL\n", [0x78, 0x9C, 1, 2, 3, 4, 5]))
        }
        assertImagingError(.unsupported, ["j.mha", "MET_STRING"]) {
            try MetaImage.read(file("j.mha", "NDims = 3\nDimSize = 2 2 2\nElementType = MET_STRING\nElementDataFile = LOCAL\n"))
        }
    }

    /// Every cut of each fixture and single flipped bytes give a typed error or a volume; never a crash.
    func testDamagedFilesNeverCrash() throws {
        let folder = Fixtures.tempFolder()
        var rng = SystemRandomNumberGenerator()
        for name in ["sitk_gzip.nrrd", "sitk_zlib.mha", "sitk_raw.mha", "pynrrd_ascii.nrrd", "pynrrd_layers.seg.nrrd"] {
            let bytes = [UInt8](try Data(contentsOf: Fixtures.url("formats/\(name)")))
            let url = folder.appendingPathComponent(name)
            var variants: [[UInt8]] = stride(from: 0, to: bytes.count, by: max(1, bytes.count / 80)).map { Array(bytes[..<$0]) }
            for _ in 0..<150 {
                var b = bytes
                b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                variants.append(b)
            }
            for v in variants {
                try Data(v).write(to: url)
                do { _ = try MedicalImageFile.read(url, options: .init(volumeIndex: name.hasSuffix("seg.nrrd") ? 1 : nil)) } catch is ImagingError {}
            }
        }
    }
}

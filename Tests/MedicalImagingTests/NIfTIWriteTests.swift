import XCTest
@testable import MedicalImaging

final class NIfTIWriteTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.tempFolder() }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    /// Every datatype round-trips through write and read (integers exactly, in range).
    func testRoundTripEveryDatatype() throws {
        let input = try NIfTIReader.read(Fixtures.url("nifti/syn_int16.nii"))
        for type in VoxelType.allCases {
            for name in ["rt_\(type.rawValue).nii", "rt_\(type.rawValue).nii.gz"] {
                let url = dir.appendingPathComponent(name)
                var v = input
                // Values that every type can hold exactly.
                v.voxels = (0..<v.voxels.count).map { Float($0 % 100) }
                try NIfTIWriter.write(v, to: url, as: type)
                let back = try NIfTIReader.read(url)
                XCTAssertEqual(back.voxels, v.voxels, name)
                XCTAssertEqual(back.sourceType, type, name)
                XCTAssertEqual(back.dims, v.dims, name)
                XCTAssertTrue(back.affine.isClose(to: v.affine), name)
            }
        }
    }

    /// A mask keeps the input's qform, sform and pixdim exactly (the header fields are copied).
    func testMaskKeepsInputGeometry() throws {
        for input in ["nifti/syn_slope_sform.nii.gz", "nifti/syn_qform_only.nii", "nifti/anatomical.nii",
                      "nifti/syn_no_xform.nii", "nifti/syn_nifti2.nii"] {
            let v = try NIfTIReader.read(Fixtures.url(input))
            let labels = (0..<v.voxels.count).map { UInt8($0 % 3) }
            let url = dir.appendingPathComponent("mask.nii.gz")
            try NIfTIWriter.writeMask(labels, like: v, to: url)
            let (h, _) = try NIfTIReader.readHeader(url)
            let (hIn, _) = try NIfTIReader.readHeader(Fixtures.url(input))
            XCTAssertEqual(h.datatype, .uint8, input)
            XCTAssertEqual(h.geometry.qformCode, hIn.geometry.qformCode, input)
            XCTAssertEqual(h.geometry.sformCode, hIn.geometry.sformCode, input)
            for (a, b) in zip(h.geometry.pixdim[0...3], hIn.geometry.pixdim[0...3]) { assertClose(a, b, rtol: 1e-6, input) }
            for (a, b) in zip(h.geometry.quaternion + h.geometry.qoffset, hIn.geometry.quaternion + hIn.geometry.qoffset) {
                assertClose(a, b, rtol: 1e-6, atol: 1e-6, input)
            }
            let back = try NIfTIReader.read(url)
            XCTAssertTrue(back.affine.isClose(to: v.affine, tolerance: 1e-5), input)
            XCTAssertEqual(back.voxels, labels.map(Float.init), input)
        }
    }

    /// A volume with no NIfTI geometry (DICOM, LPS) gets a qform and sform equal to its RAS affine.
    func testGeometryFromDICOMAffine() throws {
        let v = try DICOMSeries.read(folder: Fixtures.url("series"))
        let url = dir.appendingPathComponent("from_dicom.nii")
        try NIfTIWriter.write(v, to: url, as: .int16)
        let (h, _) = try NIfTIReader.readHeader(url)
        XCTAssertEqual(h.geometry.qformCode, 1)
        XCTAssertEqual(h.geometry.sformCode, 1)
        XCTAssertTrue(h.geometry.qformAffine.isClose(to: v.rasAffine, tolerance: 1e-4), "\(h.geometry.qformAffine.m) vs \(v.rasAffine.m)")
        XCTAssertTrue(h.geometry.sformAffine.isClose(to: v.rasAffine, tolerance: 1e-4))
        XCTAssertEqual(try NIfTIReader.read(url).voxels, v.voxels)
    }

    /// Left-handed grids need qfac = -1; the quaternion path must reproduce them.
    func testQuaternionRoundTripLeftHanded() {
        let ras = Affine([[0, 0, -2, 10], [0.8, 0, 0, -4], [0, -1.5, 0, 7], [0, 0, 0, 1]])
        let g = NIfTIGeometry(rasAffine: ras)
        XCTAssertTrue(g.qformAffine.isClose(to: ras, tolerance: 1e-9), "\(g.qformAffine.m)")
        let right = Affine([[0.5, 0, 0, 1], [0, 0.5, 0, 2], [0, 0, 3, 3], [0, 0, 0, 1]])
        XCTAssertTrue(NIfTIGeometry(rasAffine: right).qformAffine.isClose(to: right, tolerance: 1e-9))
    }

    func testNIfTI2Write() throws {
        let v = try NIfTIReader.read(Fixtures.url("nifti/syn_float32.nii"))
        let url = dir.appendingPathComponent("v2.nii")
        try NIfTIWriter.write(v, to: url, as: .float32, version: 2)
        XCTAssertEqual(try NIfTIReader.readHeader(url).0.version, 2)
        let back = try NIfTIReader.read(url)
        XCTAssertEqual(back.voxels, v.voxels)
        XCTAssertTrue(back.affine.isClose(to: v.affine, tolerance: 1e-5))
    }

    /// A write into a missing folder fails with a typed error and leaves no file behind.
    func testWriteIntoMissingFolder() throws {
        let v = try NIfTIReader.read(Fixtures.url("nifti/syn_uint8.nii"))
        let url = dir.appendingPathComponent("nope/mask.nii.gz")
        assertImagingError(.writeFailed, ["nope", "does not exist"]) { try NIfTIWriter.write(v, to: url) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
        assertImagingError(.invalidArgument, ["mask", "has 3 voxels"]) {
            try NIfTIWriter.writeMask([1, 2, 3], like: v, to: dir.appendingPathComponent("m.nii"))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }
}

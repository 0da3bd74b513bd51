import XCTest
import TensorRuntime
@testable import MedicalImaging

/// What `medsam convert` is built from: NPY of any voxel type, the integer-exactness check, a 2-D
/// image as a one-slice volume, and DICOM to NIfTI with the source's integer type.
final class ConversionTests: XCTestCase {
    func testVolumeNPYLayoutAndTypes() throws {
        let v = Volume(voxels: (0..<24).map { Float($0) - 5 }, dims: [4, 3, 2], spacing: [1, 1, 1],
                       affine: Affine(columns: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], origin: [0, 0, 0]),
                       frame: .lps, sourceType: .int16, source: "test")
        for type in VoxelType.allCases where type != .uint8 && type != .uint16 && type != .uint32 && type != .uint64 {
            let bytes = VolumeNPY.encode(v.voxels, shape: [v.nz, v.ny, v.nx], as: type)
            XCTAssertEqual(bytes.count % 16, (v.voxels.count * type.size) % 16, "header padded to 64 bytes")
            let array = try NPY.decode(Data(bytes))
            XCTAssertEqual(array.shape.dims, [2, 3, 4], type.rawValue)
            XCTAssertEqual(array.dtype, VolumeNPY.descr(type))
            XCTAssertEqual(array.values, v.voxels, type.rawValue)
        }
    }

    func testIntegerTypesMustHoldValuesExactly() throws {
        XCTAssertEqual(try Conversion.resolve(.source, sourceType: .int16, values: [-1024, 3071], path: "o"), .int16)
        XCTAssertEqual(try Conversion.resolve(.type(.float32), sourceType: .int16, values: [0.5], path: "o"), .float32)
        assertImagingError(.invalidArgument, ["o.nii", "uint32", "1.25", "voxel 1", "float32"]) {
            try Conversion.resolve(.source, sourceType: .uint32, values: [1, 1.25], path: "o.nii")
        }
        assertImagingError(.invalidArgument, ["uint8", "-1"]) {
            try Conversion.resolve(.type(.uint8), sourceType: .int16, values: [-1], path: "o")
        }
        XCTAssertEqual(Conversion.OutputType("source"), .source)
        XCTAssertEqual(Conversion.OutputType("int16"), .type(.int16))
        XCTAssertNil(Conversion.OutputType("int12"))
        XCTAssertEqual(try Conversion.OutputFormat.of(URL(fileURLWithPath: "/x/a.NII.GZ")), .nifti)
        XCTAssertEqual(try Conversion.OutputFormat.of(URL(fileURLWithPath: "/x/a.seg.nrrd")), .nrrd)
        XCTAssertEqual(try Conversion.OutputFormat.of(URL(fileURLWithPath: "/x/a.mhd")), .metaimage)
        assertImagingError(.invalidArgument, ["a.nrrdx", ".nii, .nii.gz, .nrrd, .mha, .mhd or .npy"]) {
            try Conversion.OutputFormat.of(URL(fileURLWithPath: "/x/a.nrrdx"))
        }
    }

    func testImageAsOneSliceVolume() throws {
        let im = Image(pixels: [1, 2, 3, 4, 5, 6], height: 2, width: 3, channels: 1, bitDepth: 16, spacing: [0.5, 0.25])
        let v = try Conversion.volume(of: im, source: "grey.png")
        XCTAssertEqual(v.dims, [3, 2, 1])
        XCTAssertEqual(v.spacing, [0.25, 0.5, 1])
        XCTAssertEqual(v[2, 1, 0], 6)
        XCTAssertEqual(v.sourceType, .uint16)
        assertImagingError(.unsupported, ["rgb.png", "3 channels"]) {
            try Conversion.volume(of: Image(pixels: [Float](repeating: 0, count: 6), height: 1, width: 2, channels: 3), source: "rgb.png")
        }
    }

    func testLabelMaskOnAReferenceGrid() throws {
        let series = try DICOMSeries.read(folder: Fixtures.url("series"))
        var values = [Float](repeating: 0, count: series.voxels.count)
        values[3] = 2
        values[7] = 5
        let mask = series.withVoxels(values, sourceType: .uint8)
        XCTAssertEqual(try Conversion.labels(of: mask, like: series, path: "m.nii")[7], 5)
        let named = Conversion.segmentNames(try Conversion.labels(of: mask, like: series, path: "m.nii"), names: ["a", "b"])
        XCTAssertEqual(named.map(\.label), [2, 5])
        XCTAssertEqual(named.map(\.name), ["b", "Segment 5"])
        var moved = mask
        moved.affine.m[0][3] += 0.5
        assertImagingError(.inconsistent, ["m.nii", "affine"]) { try Conversion.labels(of: moved, like: series, path: "m.nii") }
        values[0] = 0.5
        assertImagingError(.corrupt, ["m.nii", "voxel 0 is 0.5"]) {
            try Conversion.labels(of: series.withVoxels(values, sourceType: .float32), like: series, path: "m.nii")
        }
        let ct = try DICOMImage.read(Fixtures.url("dicom/CT_small.dcm")).volume()
        assertImagingError(.inconsistent, ["m.nii", "shape", "[6, 5, 4]"]) { try Conversion.labels(of: ct, like: series, path: "m.nii") }
    }

    /// CT to NIfTI as int16 and back: same Hounsfield units, same LPS geometry.
    func testDICOMToNIfTIRoundTrip() throws {
        let ct = try DICOMImage.read(Fixtures.url("dicom/CT_small.dcm")).volume()
        let out = Fixtures.tempFolder().appendingPathComponent("ct.nii.gz")
        let type = try Conversion.resolve(.source, sourceType: ct.sourceType, values: ct.voxels, path: out.path)
        XCTAssertEqual(type, .int16)
        try NIfTIWriter.write(ct, to: out, as: type)
        let back = try NIfTIReader.read(out)
        XCTAssertEqual(back.voxels, ct.voxels)
        XCTAssertEqual(back.sourceType, .int16)
        assertAffine(back.lpsAffine, ct.affine.m, tol: 1e-4)
    }
}

import XCTest
@testable import MedicalImaging

/// Uneven DICOM series (pydicom's CT2 series in `Fixtures/series_uneven`: z = -99.48, 103.02,
/// 104.27, 105.52 mm), RT Dose grid geometry, and volume selection by index.
final class SeriesGeometryTests: XCTestCase {
    func testUnevenSeriesIsRefusedWithPositionsNamed() {
        assertImagingError(.inconsistent, ["series_uneven", "(0020,0032) ImagePositionPatient", "not evenly spaced",
                                           "17106 at -99.48", "17136 at 103.02", "17196 at 105.52",
                                           "gaps 202.5, 1.25, 1.25", "--uneven-slices resample"]) {
            try DICOMSeries.read(folder: Fixtures.url("series_uneven"))
        }
    }

    /// Resampled at the smallest gap (1.25 mm): 165 slices from -99.48 to 105.52; slices that
    /// fall on a file's plane hold that file's pixels, slices between two files their blend.
    func testUnevenSeriesResamplesAtSmallestGap() throws {
        let v = try DICOMSeries.read(folder: Fixtures.url("series_uneven"), unevenSlices: .resample)
        let files = try ["17106", "17136", "17166", "17196"].map { try DICOMImage.read(Fixtures.url("series_uneven/\($0)")) }
        XCTAssertEqual(v.dims, [16, 16, 165])
        assertClose(v.spacing[2], 1.25, rtol: 1e-9)
        assertClose(v.affine.m[2][3], -99.48, rtol: 1e-6)
        assertClose(v.affine.m[2][2], 1.25, rtol: 1e-9)
        let n = 16 * 16
        func slice(_ k: Int) -> [Float] { Array(v.voxels[(k * n)..<((k + 1) * n)]) }
        XCTAssertEqual(slice(0), files[0].pixels)
        for (k, f) in [(162, 1), (163, 2), (164, 3)] {
            for (a, b) in zip(slice(k), files[f].pixels) { assertClose(Double(a), Double(b), rtol: 1e-5, atol: 1e-3, "slice \(k)") }
        }
        // Slice 81 lies at -99.48 + 101.25 = 1.77 mm: 101.25 / 202.5 = half way between files 0 and 1.
        for (i, a) in slice(81).enumerated() {
            assertClose(Double(a), 0.5 * Double(files[0].pixels[i]) + 0.5 * Double(files[1].pixels[i]), rtol: 1e-5, atol: 1e-3)
        }
    }

    func testEvenSeriesIsUnchangedByResamplePolicy() throws {
        let a = try DICOMSeries.read(folder: Fixtures.url("series"))
        let b = try DICOMSeries.read(folder: Fixtures.url("series"), unevenSlices: .resample)
        XCTAssertEqual(a, b)
    }

    func testUnevenness() {
        XCTAssertNil(DICOMSeries.unevenness([[0, 0, 0], [0, 0, 2], [0, 0, 4.01]], step: [0, 0, 2.005]))
        XCTAssertNotNil(DICOMSeries.unevenness([[0, 0, 0], [0, 0, 2], [0, 0, 6]], step: [0, 0, 3]))
        // Evenly spaced along z but one slice shifted sideways.
        XCTAssertNotNil(DICOMSeries.unevenness([[0, 0, 0], [1, 0, 2], [0, 0, 4]], step: [0, 0, 2]))
    }

    /// A DICOM frame chosen by index is a one-slice volume at that frame's place.
    func testVolumeIndexPicksAFrame() throws {
        let url = Fixtures.url("codecs/lossless_p4_10bit_3frames.dcm")
        guard case .volume(let all) = try MedicalImageFile.read(url) else { return XCTFail("not a volume") }
        guard case .volume(let one) = try MedicalImageFile.read(url, options: .init(volumeIndex: 2)) else { return XCTFail("not a volume") }
        XCTAssertEqual(one.dims, [56, 40, 1])
        XCTAssertEqual(one.voxels, Array(all.voxels[(2 * 56 * 40)...]))
        XCTAssertEqual(one.affine.m[2][3], all.affine.m[2][3] + 2 * all.affine.m[2][2])
        assertImagingError(.invalidArgument, ["volume index", "is 3", "0...2"]) {
            try MedicalImageFile.read(url, options: .init(volumeIndex: 3))
        }
        assertImagingError(.invalidArgument, ["grey8.png", "volume index", "png"]) {
            try MedicalImageFile.read(Fixtures.url("raster/grey8.png"), options: .init(volumeIndex: 0))
        }
    }

    func testVolumeIndexPicksANIfTIVolume() throws {
        let url = Fixtures.url("nifti/example_nifti2.nii.gz")
        assertImagingError(.unsupported, ["volume index"]) { try MedicalImageFile.read(url) }
        guard case .volume(let v) = try MedicalImageFile.read(url, options: .init(volumeIndex: 1)) else { return XCTFail("not a volume") }
        XCTAssertEqual(v, try NIfTIReader.read(url, volumeIndex: 1))
    }
}

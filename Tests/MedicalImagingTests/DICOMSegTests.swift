import XCTest
import TensorRuntime
@testable import MedicalImaging

/// DICOM SEG output: frames, references and bits read back with this package's own parser; with
/// `MEDSAM_SEG_EXPORT_DIR` set the file (and the mask as NPY) is left there for
/// `scripts/tests/check_dicom_seg.py` (pydicom, highdicom, dciodvfy).
final class DICOMSegTests: XCTestCase {
    private func mask(for v: Volume) -> [UInt8] {
        var labels = [UInt8](repeating: 0, count: v.voxels.count)
        for k in 0..<v.nz { for j in 0..<v.ny { for i in 0..<v.nx {
            if (i + j + k) % 3 == 0 { labels[i + v.nx * (j + v.ny * k)] = 1 }
            if i == 2 && k >= 1 { labels[i + v.nx * (j + v.ny * k)] = 2 }
        } } }
        return labels
    }

    func testSegmentationReadsBack() throws {
        let series = try DICOMSeries.read(folder: Fixtures.url("series"))
        let labels = mask(for: series)
        let segments = [DICOMSegment(label: 1, name: "lesion", description: "every third voxel"), DICOMSegment(label: 2, name: "vessel")]
        let folder = ProcessInfo.processInfo.environment["MEDSAM_SEG_EXPORT_DIR"].map { URL(fileURLWithPath: $0) } ?? Fixtures.tempFolder()
        let url = folder.appendingPathComponent("series_seg.dcm")
        try DICOMSegWriter.write(labels, like: series, segments: segments, to: url)
        // The mask in (k, j, i) order, the reference the check script compares with.
        try VolumeNPY.write(series.withVoxels(labels.map(Float.init), sourceType: .uint8), to: folder.appendingPathComponent("series_seg_mask.npy"), as: .uint8)
        // The same mask as NIfTI, for `medsam convert --like SERIES --output X.dcm` in the script.
        try NIfTIWriter.writeMask(labels, like: series, to: folder.appendingPathComponent("series_seg_mask.nii.gz"))

        let ds = try DICOMDataSet.parse(try AtomicFile.read(url), path: url.path)
        XCTAssertEqual(ds.sopClassUID, "1.2.840.10008.5.1.4.1.1.66.4")
        XCTAssertEqual(ds.string(.modality), "SEG")
        XCTAssertEqual(try ds.numbers(.numberOfFrames)?.first, 8)
        XCTAssertEqual(try ds.uint16(.bitsAllocated), 1)
        let frames = try ds.items(FunctionalGroups.perFrame)
        XCTAssertEqual(frames.count, 8)
        let sources = series.dicomSource!.instances.map(\.sopInstanceUID)
        for (f, item) in frames.enumerated() {
            let k = f % 4
            let reference = try item.items(DICOMTag(0x0008, 0x9124)).first!.items(DICOMTag(0x0008, 0x2112)).first!
            XCTAssertEqual(reference.string(DICOMTag(0x0008, 0x1155)), sources[k], "frame \(f)")
            let position = try item.items(FunctionalGroups.planePosition).first!.numbers(.imagePositionPatient)!
            for r in 0..<3 { assertClose(position[r], series.affine.m[r][3] + Double(k) * series.affine.m[r][2], atol: 1e-4) }
            let segment = try item.items(DICOMTag(0x0062, 0x000A)).first!.uint16(DICOMTag(0x0062, 0x000B))
            XCTAssertEqual(segment, f / 4 + 1)
        }
        // Bits: frame f = segment f/4 at slice f%4, pixels packed without padding, LSB first.
        let bits = ds.value(.pixelData)!
        let size = series.nx * series.ny
        for f in 0..<8 {
            for i in 0..<size {
                let n = f * size + i
                let bit = (bits[bits.startIndex + n / 8] >> UInt8(n % 8)) & 1
                XCTAssertEqual(bit == 1, Int(labels[(f % 4) * size + i]) == f / 4 + 1, "frame \(f) pixel \(i)")
            }
        }
    }

    func testRefusesVolumesWithoutDICOMSources() throws {
        let nifti = try NIfTIReader.read(Fixtures.url("nifti/syn_uint8.nii"))
        let url = Fixtures.tempFolder().appendingPathComponent("x.dcm")
        assertImagingError(.invalidArgument, ["x.dcm", "not read from single-frame DICOM", "NIfTI or NRRD"]) {
            try DICOMSegWriter.write([UInt8](repeating: 0, count: nifti.voxels.count), like: nifti,
                                     segments: [DICOMSegment(label: 1, name: "a")], to: url)
        }
        let series = try DICOMSeries.read(folder: Fixtures.url("series"))
        assertImagingError(.invalidArgument, ["mask", "has 3 voxels"]) {
            try DICOMSegWriter.write([0, 1, 0], like: series, segments: [DICOMSegment(label: 1, name: "a")], to: url)
        }
        assertImagingError(.invalidArgument, ["segments", "distinct labels"]) {
            try DICOMSegWriter.write(mask(for: series), like: series, segments: [DICOMSegment(label: 1, name: "a"), DICOMSegment(label: 1, name: "b")], to: url)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }

    func testUIDsAreValid() {
        for _ in 0..<50 {
            let uid = DICOMUID.make()
            XCTAssertTrue(uid.hasPrefix("2.25."))
            XCTAssertLessThanOrEqual(uid.count, 64)
            let last = uid.dropFirst(5)
            XCTAssertTrue(last.allSatisfy(\.isNumber) && (last == "0" || last.first != "0"), uid)
        }
    }
}

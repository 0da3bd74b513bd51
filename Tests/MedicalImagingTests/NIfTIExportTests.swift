import Foundation
import XCTest
import TensorRuntime
@testable import MedicalImaging

/// Files from `NIfTIWriter` for a reader that is not ours: every datatype, plain and gzipped,
/// NIfTI-1 and -2, geometry built from an oblique left-handed affine, copied from a NIfTI input
/// (a mask) and converted from DICOM's LPS frame, each with a manifest of what the header and
/// voxels must hold. `scripts/tests/check_nifti_writer.py` reads them with nibabel in CI
/// (scripts/test.sh sets MEDSAM_NIFTI_EXPORT_DIR); here the same manifest is checked against our
/// reader, so the manifest itself is right.
final class NIfTIExportTests: XCTestCase {
    /// NIfTI datatype codes (nifti1.h), which nibabel reports as `header['datatype']`.
    static let datatypeCode: [VoxelType: Int] = [
        .uint8: 2, .int16: 4, .int32: 8, .float32: 16, .float64: 64,
        .int8: 256, .uint16: 512, .uint32: 768, .int64: 1024, .uint64: 1280,
    ]

    /// Seeded values every `type` holds exactly (integers in range, float32 values for floats).
    private func values(_ count: Int, _ type: VoxelType, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        let (lo, hi): (Float, Float)
        switch type {
        case .uint8: (lo, hi) = (0, 255)
        case .int8: (lo, hi) = (-128, 127)
        case .int16: (lo, hi) = (-32768, 32767)
        case .uint16: (lo, hi) = (0, 65535)
        case .int32, .int64: (lo, hi) = (-8_000_000, 8_000_000)     // float32 holds these integers exactly
        case .uint32, .uint64: (lo, hi) = (0, 16_000_000)
        case .float32, .float64: (lo, hi) = (-3000, 3000)
        }
        return (0..<count).map { _ in
            let v = lo + (hi - lo) * rng.nextUnitFloat()
            return type.isInteger ? v.rounded() : v
        }
    }

    func testWrittenFilesMatchTheirManifest() throws {
        let exportFolder = ProcessInfo.processInfo.environment["MEDSAM_NIFTI_EXPORT_DIR"].map { URL(fileURLWithPath: $0) }
        let dir = exportFolder ?? Fixtures.tempFolder()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        if exportFolder == nil { addTeardownBlock { try? FileManager.default.removeItem(at: dir) } }
        var manifest: [[String: Any]] = []

        /// `qformExact`: the affine is a rotation times scales (a qform can hold it); a sheared
        /// affine lives only in the sform, the qform being its nearest rigid approximation.
        func record(_ name: String, _ written: Volume, type: VoxelType, version: Int, qformCode: Int, sformCode: Int,
                    qformExact: Bool = true) throws {
            let url = dir.appendingPathComponent(name)
            // Our reader agrees with the manifest first.
            let back = try NIfTIReader.read(url)
            XCTAssertEqual(back.dims, written.dims, name)
            XCTAssertEqual(back.voxels, written.voxels, name)
            XCTAssertEqual(back.sourceType, type, name)
            XCTAssertTrue(back.rasAffine.isClose(to: written.rasAffine, tolerance: 1e-5), "\(name): \(back.rasAffine.m)")
            let (header, _) = try NIfTIReader.readHeader(url)
            XCTAssertEqual(header.version, version, name)
            XCTAssertEqual(header.datatype, type, name)
            XCTAssertEqual(header.geometry.qformCode, qformCode, name)
            XCTAssertEqual(header.geometry.sformCode, sformCode, name)
            manifest.append([
                "file": name, "version": version, "datatype": Self.datatypeCode[type]!, "dtype": type.rawValue,
                "shape": written.dims, "zooms": written.spacing, "affine": written.rasAffine.m,
                "qform_code": qformCode, "sform_code": sformCode, "qform_exact": qformExact,
                "voxels_fortran_order": written.voxels.map(Double.init),
            ])
        }

        // 1. Geometry from an affine alone: oblique (rotations with cosines 0.6 and 0.8, exact
        //    in binary to a few ulps), left-handed, anisotropic voxels 0.8 x 1.5 x 2.5 mm. Every
        //    datatype, plain and gzipped.
        let oblique = Affine([[0.48, -1.2, 0, 10.5], [0.512, 0.72, 1.5, -4.25], [0.384, 0.54, -2.0, 7], [0, 0, 0, 1]])
        let dims = [5, 4, 3]
        for type in VoxelType.allCases {
            for suffix in ["nii", "nii.gz"] {
                let name = "synthetic_\(type.rawValue).\(suffix)"
                let v = Volume(voxels: values(60, type, seed: UInt64(name.utf8.count) &* 131 &+ UInt64(type.size)),
                               dims: dims, spacing: oblique.columnNorms, affine: oblique, frame: .ras,
                               sourceType: type, source: "synthetic")
                try NIfTIWriter.write(v, to: dir.appendingPathComponent(name), as: type)
                try record(name, v, type: type, version: 1, qformCode: 1, sformCode: 1)
            }
        }
        // 2. NIfTI-2.
        do {
            let v = Volume(voxels: values(60, .float32, seed: 2), dims: dims, spacing: oblique.columnNorms, affine: oblique,
                           frame: .ras, sourceType: .float32, source: "synthetic")
            try NIfTIWriter.write(v, to: dir.appendingPathComponent("nifti2_float32.nii"), as: .float32, version: 2)
            try record("nifti2_float32.nii", v, type: .float32, version: 2, qformCode: 1, sformCode: 1)
        }
        // 2b. A sheared affine: exact in the sform only.
        do {
            let sheared = Affine([[0, 0.3, -2.5, 10.5], [0.8, 0.05, 0, -4.25], [0, -1.5, 0.1, 7], [0, 0, 0, 1]])
            let v = Volume(voxels: values(60, .int16, seed: 3), dims: dims, spacing: sheared.columnNorms, affine: sheared,
                           frame: .ras, sourceType: .int16, source: "synthetic")
            try NIfTIWriter.write(v, to: dir.appendingPathComponent("sheared_int16.nii"), as: .int16)
            try record("sheared_int16.nii", v, type: .int16, version: 1, qformCode: 1, sformCode: 1, qformExact: false)
        }
        // 3. A mask on a real MR's grid (nibabel's anatomical.nii): its header geometry is copied.
        do {
            let mr = try NIfTIReader.read(Fixtures.url("nifti/anatomical.nii"))
            let (h, _) = try NIfTIReader.readHeader(Fixtures.url("nifti/anatomical.nii"))
            var rng = SplitMix64(seed: 77)
            let labels = (0..<mr.voxels.count).map { _ in UInt8(rng.next() % 3) }
            try NIfTIWriter.writeMask(labels, like: mr, to: dir.appendingPathComponent("mask_anatomical.nii.gz"))
            try record("mask_anatomical.nii.gz", mr.withVoxels(labels.map(Float.init), sourceType: .uint8), type: .uint8,
                       version: 1, qformCode: h.geometry.qformCode, sformCode: h.geometry.sformCode)
        }
        // 4. A DICOM series (LPS) written as NIfTI (RAS): the x and y axes flip.
        do {
            let ct = try DICOMSeries.read(folder: Fixtures.url("series"))
            try NIfTIWriter.write(ct, to: dir.appendingPathComponent("dicom_series_int16.nii"), as: .int16)
            try record("dicom_series_int16.nii", ct, type: .int16, version: 1, qformCode: 1, sformCode: 1)
        }
        let json = try JSONSerialization.data(withJSONObject: ["files": manifest], options: [.prettyPrinted, .sortedKeys])
        try json.write(to: dir.appendingPathComponent("manifest.json"))
        XCTAssertEqual(manifest.count, VoxelType.allCases.count * 2 + 4)
    }
}

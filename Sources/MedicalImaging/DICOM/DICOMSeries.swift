import Foundation

/// Builds a volume from a folder that holds the files of one DICOM series.
public enum DICOMSeries {
    /// Reads every DICOM Part 10 file in `folder` (not recursive; hidden files and files without
    /// the "DICM" marker are ignored) and stacks them along the slice normal.
    ///
    /// Slices are sorted by ImagePositionPatient projected onto the normal of
    /// ImageOrientationPatient (InstanceNumber when positions are absent); the slice spacing comes
    /// from the positions. Files of more than one SeriesInstanceUID, differing image sizes or
    /// orientations, and two slices at one position are errors.
    public static func read(folder: URL) throws -> Volume {
        let fm = FileManager.default
        let names: [String]
        do { names = try fm.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }.sorted() } catch {
            throw ImagingError(.unreadable, path: folder.path, "cannot list folder: \(error.localizedDescription)")
        }
        var images: [DICOMImage] = []
        for name in names {
            let url = folder.appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue else { continue }
            let bytes = try AtomicFile.read(url)
            guard bytes.count >= 132, bytes[128..<132].elementsEqual("DICM".utf8) else { continue }
            let ds = try DICOMDataSet.parse(bytes, path: url.path)
            if ds.sopClassUID == "1.2.840.10008.1.3.10" { continue }  // a DICOMDIR index, not an image
            images.append(try DICOMImage.decode(ds))
        }
        guard let first = images.first else {
            throw ImagingError(.missing, path: folder.path, "the folder holds no DICOM Part 10 files")
        }
        let seriesField = DICOMTag.seriesInstanceUID.description
        if let other = images.first(where: { $0.seriesInstanceUID != first.seriesInstanceUID }) {
            throw ImagingError(.inconsistent, path: folder.path, field: seriesField,
                               "the folder holds more than one series: '\(first.seriesInstanceUID ?? "none")' (\(first.path)) and '\(other.seriesInstanceUID ?? "none")' (\(other.path)); put each series in its own folder")
        }
        if images.count == 1 { return first.volume() }
        for im in images {
            if im.frames != 1 {
                throw ImagingError(.unsupported, path: im.path, field: DICOMTag.numberOfFrames.description,
                                   "is \(im.frames); a series folder must hold single-frame images")
            }
            if im.rows != first.rows || im.columns != first.columns {
                throw ImagingError(.inconsistent, path: im.path, field: "Rows/Columns",
                                   "\(im.rows)x\(im.columns) differs from \(first.rows)x\(first.columns) in \(first.path)")
            }
            let a = im.imageOrientation ?? [1, 0, 0, 0, 1, 0], b = first.imageOrientation ?? [1, 0, 0, 0, 1, 0]
            if zip(a, b).contains(where: { abs($0 - $1) > 1e-3 }) {
                throw ImagingError(.inconsistent, path: im.path, field: DICOMTag.imageOrientationPatient.description,
                                   "\(a) differs from \(b) in \(first.path)")
            }
        }
        let normal = first.directions.normal
        let havePositions = images.allSatisfy { $0.imagePosition != nil }
        func along(_ im: DICOMImage) -> Double {
            guard let p = im.imagePosition else { return Double(im.instanceNumber ?? 0) }
            return p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2]
        }
        let sorted = images.sorted { along($0) < along($1) }
        for (a, b) in zip(sorted, sorted.dropFirst()) where abs(along(b) - along(a)) < 1e-4 {
            throw ImagingError(.inconsistent, path: folder.path,
                               field: havePositions ? DICOMTag.imagePositionPatient.description : DICOMTag.instanceNumber.description,
                               "two slices at the same position: \(a.path) and \(b.path)")
        }
        var base = sorted[0].volume()
        let n = sorted.count
        let sliceSize = first.rows * first.columns
        var voxels = [Float](repeating: 0, count: sliceSize * n)
        for (k, im) in sorted.enumerated() {
            voxels.replaceSubrange((k * sliceSize)..<((k + 1) * sliceSize), with: im.pixels)
        }
        var step = normal.map { $0 * base.spacing[2] }
        if havePositions, let p0 = sorted.first?.imagePosition, let p1 = sorted.last?.imagePosition {
            step = (0..<3).map { (p1[$0] - p0[$0]) / Double(n - 1) }
        }
        let sz = (step[0] * step[0] + step[1] * step[1] + step[2] * step[2]).squareRoot()
        base.voxels = voxels
        base.dims = [first.columns, first.rows, n]
        base.spacing[2] = sz
        base.affine = Affine(columns: [base.affine.column(0), base.affine.column(1), step],
                             origin: [base.affine.m[0][3], base.affine.m[1][3], base.affine.m[2][3]])
        base.source = "\(folder.path) (DICOM series of \(n) files)"
        return base
    }
}

import Foundation

/// What to do with a series whose slices are not evenly spaced (missing slices, variable
/// spacing, scouts at a distance): a volume needs one slice spacing.
public enum UnevenSlicePolicy: String, Sendable, CaseIterable {
    /// Refuse with the slice positions named (the default: nothing is silently averaged).
    case refuse
    /// Linearly interpolate along the slice normal onto an even grid at the smallest gap.
    case resample
}

/// Builds a volume from a folder that holds the files of one DICOM series.
public enum DICOMSeries {
    /// The most slices resampling may produce, so a stray distant slice cannot ask for gigabytes.
    static let maxResampledSlices = 4096

    /// Reads every DICOM Part 10 file in `folder` (not recursive; hidden files and files without
    /// the "DICM" marker are ignored) and stacks them along the slice normal.
    ///
    /// Slices are sorted by ImagePositionPatient projected onto the normal of
    /// ImageOrientationPatient (InstanceNumber when positions are absent); the slice spacing comes
    /// from the positions. Files of more than one SeriesInstanceUID, differing image sizes or
    /// orientations, and two slices at one position are errors. Positions that do not lie evenly
    /// on one line (within 1% of the mean gap) are refused, or with `.resample` interpolated
    /// onto an even grid.
    public static func read(folder: URL, unevenSlices: UnevenSlicePolicy = .refuse) throws -> Volume {
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
        if images.count == 1 { return try first.stackedVolume() }
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
        var n = sorted.count
        let sliceSize = first.rows * first.columns
        var voxels = [Float](repeating: 0, count: sliceSize * n)
        for (k, im) in sorted.enumerated() {
            voxels.replaceSubrange((k * sliceSize)..<((k + 1) * sliceSize), with: im.pixels)
        }
        var step = normal.map { $0 * base.spacing[2] }
        if havePositions, let p0 = sorted.first?.imagePosition, let p1 = sorted.last?.imagePosition {
            step = (0..<3).map { (p1[$0] - p0[$0]) / Double(n - 1) }
            if let problem = unevenness(sorted.map { $0.imagePosition! }, step: step) {
                let positions = sorted.map { along($0) }
                let listed = zip(sorted, positions).map { "\(($0.path as NSString).lastPathComponent) at \(format($1))" }
                let gaps = zip(positions.dropFirst(), positions).map { format($0 - $1) }
                let field = DICOMTag.imagePositionPatient.description
                guard unevenSlices == .resample else {
                    throw ImagingError(.inconsistent, path: folder.path, field: field,
                                       "\(problem): slices along the normal at \(listed.joined(separator: ", ")) mm (gaps \(gaps.joined(separator: ", ")) mm); refusing to average them into one spacing. Remove the stray or missing-slice files, or resample (`--uneven-slices resample`)")
                }
                (voxels, n, step) = try resample(voxels, positions: positions, sorted: sorted, normal: normal,
                                                 sliceSize: sliceSize, folder: folder.path, field: field)
            }
        }
        let sz = (step[0] * step[0] + step[1] * step[1] + step[2] * step[2]).squareRoot()
        base.voxels = voxels
        base.dims = [first.columns, first.rows, n]
        base.spacing[2] = sz
        base.affine = Affine(columns: [base.affine.column(0), base.affine.column(1), step],
                             origin: [base.affine.m[0][3], base.affine.m[1][3], base.affine.m[2][3]])
        // Each slice's instance, for SEG references; a resampled volume has no 1:1 sources.
        if n == sorted.count, var s = sorted[0].source, sorted.allSatisfy({ $0.source != nil }) {
            s.instances = sorted.map { $0.source!.instances[0] }
            base.dicomSource = s
        } else {
            base.dicomSource = nil
        }
        base.source = n == sorted.count ? "\(folder.path) (DICOM series of \(n) files)"
            : "\(folder.path) (DICOM series of \(sorted.count) files resampled to \(n) evenly spaced slices)"
        return base
    }

    private static func format(_ v: Double) -> String {
        let r = (v * 1000).rounded() / 1000
        return r == r.rounded() ? String(Int(r)) : String(r)
    }

    /// Why positions `p` are not `p[0] + k * step` (within 1% of the step, at least 1 µm), or nil.
    static func unevenness(_ p: [[Double]], step: [Double]) -> String? {
        let length = (step[0] * step[0] + step[1] * step[1] + step[2] * step[2]).squareRoot()
        let tolerance = max(1e-3, 0.01 * length)
        for (k, q) in p.enumerated() {
            let d = (0..<3).map { q[$0] - (p[0][$0] + Double(k) * step[$0]) }
            if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).squareRoot() > tolerance {
                return "slice positions are not evenly spaced on one line (slice \(k + 1) is \(format((d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).squareRoot())) mm from where an even spacing of \(format(length)) mm puts it)"
            }
        }
        return nil
    }

    /// Linear interpolation of the sorted slices onto an even grid along `normal` at the smallest
    /// gap. Slices displaced across the normal (gantry tilt) cannot be resampled this way.
    private static func resample(_ voxels: [Float], positions: [Double], sorted: [DICOMImage], normal: [Double],
                                 sliceSize: Int, folder: String, field: String) throws -> ([Float], Int, [Double]) {
        let p0 = sorted[0].imagePosition!
        for im in sorted {
            let p = im.imagePosition!
            let t = (0..<3).map { p[$0] - p0[$0] }
            let a = t[0] * normal[0] + t[1] * normal[1] + t[2] * normal[2]
            let off = (0..<3).map { t[$0] - a * normal[$0] }
            if (off[0] * off[0] + off[1] * off[1] + off[2] * off[2]).squareRoot() > 1e-2 {
                throw ImagingError(.unsupported, path: folder, field: field,
                                   "\(im.path) is displaced \(format((off[0] * off[0] + off[1] * off[1] + off[2] * off[2]).squareRoot())) mm across the slice normal (gantry tilt); resampling only moves slices along the normal")
            }
        }
        let gap = zip(positions.dropFirst(), positions).map { $0 - $1 }.min()!
        let span = positions.last! - positions.first!
        let count = Int((span / gap + 1e-6).rounded(.down)) + 1
        guard count <= maxResampledSlices else {
            throw ImagingError(.unsupported, path: folder, field: field,
                               "resampling \(format(span)) mm at the smallest gap \(format(gap)) mm needs \(count) slices, more than \(maxResampledSlices)")
        }
        var out = [Float](repeating: 0, count: count * sliceSize)
        var k = 0
        for j in 0..<count {
            let t = positions[0] + Double(j) * gap
            while k + 2 < positions.count && positions[k + 1] < t { k += 1 }
            let w = min(1, max(0, (t - positions[k]) / (positions[k + 1] - positions[k])))
            let a = k * sliceSize, b = (k + 1) * sliceSize, o = j * sliceSize
            for i in 0..<sliceSize {
                out[o + i] = Float((1 - w) * Double(voxels[a + i]) + w * Double(voxels[b + i]))
            }
        }
        return (out, count, normal.map { $0 * gap })
    }
}

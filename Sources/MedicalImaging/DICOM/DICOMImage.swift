import Foundation

/// One DICOM image file decoded: frames of greyscale pixels after the modality rescale, plus the
/// attributes that place it in space.
public struct DICOMImage {
    public var path: String
    public var rows: Int
    public var columns: Int
    public var frames: Int
    /// frames x rows x columns values, column fastest, `stored * RescaleSlope + RescaleIntercept`
    /// (inverted for MONOCHROME1 so that larger always means brighter).
    public var pixels: [Float]
    public var sourceType: VoxelType
    /// (row spacing, column spacing) in mm from PixelSpacing.
    public var pixelSpacing: [Double]?
    public var sliceThickness: Double?
    public var spacingBetweenSlices: Double?
    /// RT Dose GridFrameOffsetVector: each frame's offset along the slice normal from the first
    /// frame's plane in mm (validated as evenly spaced), for multi-frame dose grids.
    public var gridFrameOffsets: [Double]?
    public var imagePosition: [Double]?
    /// Each frame's ImagePositionPatient, for enhanced multi-frame images whose per-frame
    /// functional groups place every frame (nil otherwise).
    public var framePositions: [[Double]]?
    /// Row direction cosine (3 values) then column direction cosine (3 values).
    public var imageOrientation: [Double]?
    public var seriesInstanceUID: String?
    public var instanceNumber: Int?
    public var modality: String?
    public var transferSyntaxUID: String
    /// The UIDs and patient/study attributes a derived object (SEG) needs; nil when the file
    /// lacks SOPInstanceUID, SOPClassUID or SeriesInstanceUID.
    public var source: DICOMSource?

    /// Reads and decodes one file.
    public static func read(_ url: URL) throws -> DICOMImage {
        let bytes = try AtomicFile.read(url)
        return try decode(DICOMDataSet.parse(bytes, path: url.path))
    }

    /// Decodes the image of a parsed data set.
    public static func decode(_ ds: DICOMDataSet) throws -> DICOMImage {
        let path = ds.path
        func need(_ tag: DICOMTag) throws -> Int {
            guard let v = try ds.uint16(tag) else {
                throw ImagingError(.missing, path: path, field: tag.description, "required image attribute is absent")
            }
            return v
        }
        func corrupt(_ tag: DICOMTag, _ m: String) -> ImagingError {
            ImagingError(.corrupt, path: path, field: tag.description, m)
        }
        guard ds.contains(.pixelData) else {
            throw ImagingError(.missing, path: path, field: DICOMTag.pixelData.description,
                               "the file has no pixel data element, so it holds no image")
        }
        let rows = try need(.rows), columns = try need(.columns)
        guard rows > 0, columns > 0 else { throw corrupt(.rows, "image size \(rows)x\(columns) is empty") }
        let samples = try ds.uint16(.samplesPerPixel) ?? 1
        guard samples == 1 else {
            throw ImagingError(.unsupported, path: path, field: DICOMTag.samplesPerPixel.description,
                               "is \(samples) (colour); only greyscale images (1 sample per pixel) are supported")
        }
        let photometric = ds.string(.photometricInterpretation) ?? "MONOCHROME2"
        guard photometric == "MONOCHROME1" || photometric == "MONOCHROME2" else {
            throw ImagingError(.unsupported, path: path, field: DICOMTag.photometricInterpretation.description,
                               "is '\(photometric)'; expected MONOCHROME1 or MONOCHROME2")
        }
        let bitsAllocated = try need(.bitsAllocated)
        guard [8, 16, 32].contains(bitsAllocated) else {
            throw ImagingError(.unsupported, path: path, field: DICOMTag.bitsAllocated.description,
                               "is \(bitsAllocated); expected 8, 16 or 32")
        }
        let bitsStored = try ds.uint16(.bitsStored) ?? bitsAllocated
        guard (1...bitsAllocated).contains(bitsStored) else {
            throw corrupt(.bitsStored, "is \(bitsStored), expected 1 to BitsAllocated (\(bitsAllocated))")
        }
        let signed = (try ds.uint16(.pixelRepresentation) ?? 0) == 1
        let frameValue = try ds.numbers(.numberOfFrames)?.first ?? 1
        guard frameValue >= 1, frameValue <= 100_000, frameValue == frameValue.rounded() else {
            throw corrupt(.numberOfFrames, "is \(frameValue), expected a whole number from 1 to 100000")
        }
        let frames = Int(frameValue)
        let bytesPerPixel = bitsAllocated / 8
        let count = rows * columns * frames
        let layout = PixelLayout(rows: rows, columns: columns, frames: frames, bitsAllocated: bitsAllocated, signed: signed)
        let pixelBytes = try DICOMPixelData.decode(ds, layout: layout)
        let groups = try FunctionalGroups.read(ds, frames: frames)
        // The modality rescale of each frame: an enhanced image's per-frame (or shared) Pixel
        // Value Transformation, else the top-level RescaleSlope/Intercept.
        let topSlope = try ds.numbers(.rescaleSlope)?.first ?? 1
        let topIntercept = try ds.numbers(.rescaleIntercept)?.first ?? 0
        var rescale = groups?.rescale ?? Array(repeating: (slope: topSlope, intercept: topIntercept), count: frames)
        // RT Dose stores dose as integers times DoseGridScaling (PS3.3 C.8.8.3); the modality
        // rescale of a dose grid is that factor, so values come out in the file's DoseUnits.
        if let scaling = try ds.numbers(.doseGridScaling)?.first {
            guard scaling > 0 else { throw corrupt(.doseGridScaling, "is \(scaling), expected a positive factor") }
            rescale = rescale.map { ($0.slope * scaling, $0.intercept) }
        }
        let perFrame = rows * columns

        // Stored values live in BitsStored bits; the bits above are masked off and the sign extended.
        let mask: UInt64 = bitsStored == 64 ? .max : (1 << UInt64(bitsStored)) - 1
        let signBit: UInt64 = 1 << UInt64(bitsStored - 1)
        var pixels = [Float](repeating: 0, count: count)
        pixelBytes.withUnsafeBytes { raw in
            for n in 0..<count {
                let p = raw.baseAddress!.advanced(by: n * bytesPerPixel)
                var v: UInt64
                switch bytesPerPixel {
                case 1: v = UInt64(p.load(as: UInt8.self))
                case 2: v = UInt64(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
                default: v = UInt64(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
                }
                v &= mask
                let stored = signed && (v & signBit) != 0 ? Double(Int64(v) - Int64(mask) - 1) : Double(v)
                let r = rescale[n / perFrame]
                pixels[n] = Float(stored * r.slope + r.intercept)
            }
        }
        if photometric == "MONOCHROME1" {
            // Invert within the rescaled range the stored bits can represent.
            let lo = signed ? -Double(signBit) : 0, hi = signed ? Double(signBit) - 1 : Double(mask)
            for (f, r) in rescale.enumerated() {
                let sum = Float((lo * r.slope + r.intercept) + (hi * r.slope + r.intercept))
                for n in (f * perFrame)..<((f + 1) * perFrame) { pixels[n] = sum - pixels[n] }
            }
        }
        let sourceType: VoxelType = switch (bitsAllocated, signed) {
        case (8, false): .uint8
        case (8, true): .int8
        case (16, false): .uint16
        case (16, true): .int16
        case (32, false): .uint32
        default: .int32
        }
        func vector(_ tag: DICOMTag, _ n: Int) throws -> [Double]? {
            guard let v = try ds.numbers(tag) else { return nil }
            guard v.count == n else { throw corrupt(tag, "has \(v.count) values, expected \(n)") }
            return v
        }
        let pixelSpacing = try groups?.pixelSpacing ?? vector(.pixelSpacing, 2)
        if let s = pixelSpacing, s.contains(where: { $0 <= 0 }) {
            throw corrupt(.pixelSpacing, "is \(s), expected positive values")
        }
        let orientation = try groups?.orientation ?? vector(.imageOrientationPatient, 6)
        if let o = orientation {
            let n0 = (o[0] * o[0] + o[1] * o[1] + o[2] * o[2]).squareRoot()
            let n1 = (o[3] * o[3] + o[4] * o[4] + o[5] * o[5]).squareRoot()
            guard abs(n0 - 1) < 1e-2, abs(n1 - 1) < 1e-2 else {
                throw corrupt(.imageOrientationPatient, "is \(o), expected two unit direction cosines")
            }
        }
        // A multi-frame dose grid places its frames by GridFrameOffsetVector (PS3.3 C.8.8.3.2):
        // relative to the first frame when it starts at 0, else absolute, but in both cases the
        // first frame lies at ImagePositionPatient, so only the differences matter here.
        var gridOffsets: [Double]?
        if frames > 1, let offsets = try ds.numbers(.gridFrameOffsetVector) {
            guard offsets.count == frames else {
                throw corrupt(.gridFrameOffsetVector, "has \(offsets.count) values for \(frames) frames")
            }
            let step = (offsets[frames - 1] - offsets[0]) / Double(frames - 1)
            guard step != 0 else { throw corrupt(.gridFrameOffsetVector, "puts every frame at one position") }
            for (k, o) in offsets.enumerated() where abs(o - (offsets[0] + Double(k) * step)) > max(1e-3, 0.01 * abs(step)) {
                throw ImagingError(.inconsistent, path: path, field: DICOMTag.gridFrameOffsetVector.description,
                                   "frames are not evenly spaced: offsets \(offsets) mm (frame \(k + 1) is off an even \(abs(step)) mm grid)")
            }
            gridOffsets = offsets
        }
        return DICOMImage(
            path: path, rows: rows, columns: columns, frames: frames, pixels: pixels, sourceType: sourceType,
            pixelSpacing: pixelSpacing,
            sliceThickness: try groups?.sliceThickness ?? ds.numbers(.sliceThickness)?.first,
            spacingBetweenSlices: try groups?.spacingBetweenSlices ?? ds.numbers(.spacingBetweenSlices)?.first,
            gridFrameOffsets: gridOffsets,
            imagePosition: try groups?.positions?.first ?? vector(.imagePositionPatient, 3),
            framePositions: frames > 1 ? groups?.positions : nil,
            imageOrientation: orientation,
            seriesInstanceUID: ds.string(.seriesInstanceUID),
            instanceNumber: (try? ds.numbers(.instanceNumber)?.first).flatMap { $0.flatMap { Int(exactly: $0.rounded()) } },
            modality: ds.string(.modality),
            transferSyntaxUID: ds.transferSyntaxUID,
            source: DICOMSource.of(ds))
    }

    /// Unit vectors along increasing column, increasing row, and their cross product (LPS).
    var directions: (row: [Double], column: [Double], normal: [Double]) {
        let o = imageOrientation ?? [1, 0, 0, 0, 1, 0]
        let r = Array(o[0..<3]), c = Array(o[3..<6])
        let n = [r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]]
        return (r, c, n)
    }

    /// This file as a volume: nx = Columns, ny = Rows, nz = NumberOfFrames, LPS affine from
    /// ImagePositionPatient/ImageOrientationPatient; slice spacing from GridFrameOffsetVector (RT
    /// Dose), else SpacingBetweenSlices, else SliceThickness, else 1.
    public func volume() -> Volume {
        let (r, c, n) = directions
        let sx = pixelSpacing?[1] ?? 1, sy = pixelSpacing?[0] ?? 1
        var sz = spacingBetweenSlices.flatMap { $0 > 0 ? $0 : nil } ?? sliceThickness.flatMap { $0 > 0 ? $0 : nil } ?? 1
        var sliceStep = n.map { $0 * sz }
        if let o = gridFrameOffsets, o.count > 1 {
            let step = (o[o.count - 1] - o[0]) / Double(o.count - 1)
            sz = abs(step)
            sliceStep = n.map { $0 * step }
        }
        let affine = Affine(columns: [r.map { $0 * sx }, c.map { $0 * sy }, sliceStep],
                            origin: imagePosition ?? [0, 0, 0])
        var v = Volume(voxels: pixels, dims: [columns, rows, frames], spacing: [sx, sy, sz], affine: affine,
                       frame: .lps, sourceType: sourceType, source: "\(path) (DICOM)", modality: modality)
        // A SEG references frames of a multi-frame source by number; only single images are kept.
        if frames == 1 { v.dicomSource = source }
        return v
    }
}

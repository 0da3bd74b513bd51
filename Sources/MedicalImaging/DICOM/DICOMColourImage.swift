import Foundation

/// A colour DICOM image (SamplesPerPixel 3: ultrasound, endoscopy, dermatology, secondary
/// captures) as a 2-D RGB ``Image``, the form colour PNG and JPEG inputs take.
///
/// Colour images carry no modality rescale and rarely a patient geometry, so they are images,
/// not volumes. RGB samples are returned as stored; YBR_FULL and YBR_FULL_422 are converted to
/// RGB as pydicom's `pixel_array` does (ITU-R BT.601 full range, PS3.3 C.7.6.3.1.2), the 4:2:2
/// chroma repeated for both pixels of a pair. Native (uncompressed), RLE, 8-bit JPEG
/// baseline/extended (a JPEG's samples are YCbCr or RGB as the photometric says, as pydicom reads
/// them), lossless JPEG (process 14, interleaved components), JPEG-LS and JPEG 2000
/// (YBR_RCT/YBR_ICT undone by OpenJPEG) pixel data.
///
/// PALETTE COLOR images (one index per pixel, in any transfer syntax the greyscale reader
/// decodes) are mapped through their Red/Green/Blue Palette Color Lookup Tables as pydicom's
/// `apply_color_lut` does: indices below the descriptor's first mapped value take the first
/// entry, those past the end the last; 8- or 16-bit entries, as the table data's length says.
public enum DICOMColourImage {
    /// Whether the data set holds a colour image (SamplesPerPixel above 1, or PALETTE COLOR).
    public static func isColour(_ ds: DICOMDataSet) throws -> Bool {
        try (ds.uint16(.samplesPerPixel) ?? 1) > 1 || ds.string(.photometricInterpretation) == "PALETTE COLOR"
    }

    /// Decodes frame `frameIndex` (default: the only frame) of a colour image.
    public static func decode(_ ds: DICOMDataSet, frameIndex: Int? = nil) throws -> Image {
        let path = ds.path
        func need(_ tag: DICOMTag) throws -> Int {
            guard let v = try ds.uint16(tag) else {
                throw ImagingError(.missing, path: path, field: tag.description, "required image attribute is absent")
            }
            return v
        }
        if ds.string(.photometricInterpretation) == "PALETTE COLOR" { return try decodePalette(ds, frameIndex: frameIndex) }
        let samples = try need(.samplesPerPixel)
        guard samples == 3 else {
            throw ImagingError(.unsupported, path: path, field: DICOMTag.samplesPerPixel.description,
                               "is \(samples); expected 1 (greyscale) or 3 (colour)")
        }
        let photometric = ds.string(.photometricInterpretation) ?? ""
        guard ["RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT"].contains(photometric) else {
            throw ImagingError(.unsupported, path: path, field: DICOMTag.photometricInterpretation.description,
                               "is '\(photometric)' with 3 samples per pixel; expected RGB, YBR_FULL, YBR_FULL_422, YBR_RCT or YBR_ICT")
        }
        let syntax = ds.transferSyntaxUID
        let jpeg = [TransferSyntax.jpegBaseline, TransferSyntax.jpegExtended].contains(syntax)
        // Codecs whose output is RGB already: JPEG (libjpeg converts YCbCr), JPEG 2000 (OpenJPEG
        // undoes the codestream's colour transform, YBR_RCT/YBR_ICT).
        let j2k = [TransferSyntax.jpeg2000Lossless, TransferSyntax.jpeg2000].contains(syntax)
        let jpegLS = [TransferSyntax.jpegLSLossless, TransferSyntax.jpegLSNearLossless].contains(syntax)
        let lossless = [TransferSyntax.jpegLossless, TransferSyntax.jpegLosslessSV1].contains(syntax)
        guard !ds.encapsulated || syntax == TransferSyntax.rle || jpeg || j2k || jpegLS || lossless else {
            throw ImagingError(.unsupported, path: path, field: "TransferSyntaxUID",
                               "is \(TransferSyntax.describe(syntax)); colour images are read from native, RLE, JPEG baseline/extended/lossless, JPEG-LS and JPEG 2000 pixel data, not this one")
        }
        let rows = try need(.rows), columns = try need(.columns)
        guard rows > 0, columns > 0 else {
            throw ImagingError(.corrupt, path: path, field: DICOMTag.rows.description, "image size \(rows)x\(columns) is empty")
        }
        let bitsAllocated = try need(.bitsAllocated)
        // 16- and 32-bit colour samples (rare: RGB secondary captures) are read from RLE, and
        // 16-bit from lossless JPEG (up to 16-bit precision).
        guard bitsAllocated == 8 || (photometric == "RGB" && ((syntax == TransferSyntax.rle && [16, 32].contains(bitsAllocated))
                                                              || (lossless && bitsAllocated == 16))) else {
            throw ImagingError(.unsupported, path: path, field: DICOMTag.bitsAllocated.description,
                               "is \(bitsAllocated) in a \(photometric) image of transfer syntax \(TransferSyntax.describe(syntax)); expected 8 (16 and 32 only for RGB in RLE, 16 for RGB in lossless JPEG)")
        }
        let planar = try ds.uint16(.planarConfiguration) ?? 0
        guard planar == 0 || planar == 1 else {
            throw ImagingError(.corrupt, path: path, field: DICOMTag.planarConfiguration.description, "is \(planar); expected 0 or 1")
        }
        let (frames, frame) = try chooseFrame(ds, frameIndex)
        let pixels = rows * columns
        if ds.encapsulated {
            guard !photometric.hasPrefix("YBR_") || photometric == "YBR_FULL" || jpeg || j2k else {
                throw ImagingError(.corrupt, path: path, field: DICOMTag.photometricInterpretation.description,
                                   "is \(photometric), which \(TransferSyntax.describe(syntax)) pixel data does not hold")
            }
            guard jpeg || photometric != "YBR_FULL_422" else {
                throw ImagingError(.corrupt, path: path, field: DICOMTag.photometricInterpretation.description,
                                   "is YBR_FULL_422, which RLE pixel data cannot hold (PS3.5 G.2 stores full-resolution samples)")
            }
            // RLE: one segment per sample; JPEG: libjpeg's RGB output. Both interleaved whatever
            // PlanarConfiguration says.
            let layout = PixelLayout(rows: rows, columns: columns, frames: frames, bitsAllocated: bitsAllocated, signed: false,
                                     samplesPerPixel: 3, jpegYCbCr: photometric == "RGB" ? 0 : 1)
            let all = try DICOMPixelData.decode(ds, layout: layout)
            // Little-endian samples of bitsAllocated bits, interleaved by pixel.
            let width = bitsAllocated / 8, start = frame * pixels * 3 * width
            var rgb = (0..<(pixels * 3)).map { k -> Float in
                var v: UInt64 = 0
                for b in 0..<width { v |= UInt64(all[start + k * width + b]) << (8 * UInt64(b)) }
                return Float(v)
            }
            // libjpeg turns a YCbCr codestream into RGB itself; the photometric says which it holds.
            if photometric == "YBR_FULL" && !jpeg && !j2k { convertYBR(&rgb) }
            return Image(pixels: rgb, height: rows, width: columns, channels: 3, bitDepth: bitsAllocated, spacing: try spacing(ds))
        }
        guard photometric != "YBR_RCT" && photometric != "YBR_ICT" else {
            throw ImagingError(.corrupt, path: path, field: DICOMTag.photometricInterpretation.description,
                               "is \(photometric), which only JPEG 2000 pixel data holds; this file's is uncompressed")
        }
        // YBR_FULL_422 stores two luma and one pair of chroma samples per two pixels (Y Y Cb Cr).
        let frameBytes = photometric == "YBR_FULL_422" ? pixels * 2 : pixels * 3
        guard let raw = ds.value(.pixelData) else {
            throw ImagingError(.missing, path: path, field: DICOMTag.pixelData.description, "the file has no pixel data element, so it holds no image")
        }
        guard raw.count >= frameBytes * frames else {
            throw ImagingError(.truncated, path: path, field: DICOMTag.pixelData.description,
                               "holds \(raw.count) bytes; \(frames) frame(s) of \(rows)x\(columns) \(photometric) need \(frameBytes * frames)")
        }
        var element = Array(raw)
        // 8-bit samples of a big-endian OW element are swapped in 16-bit words, the element's
        // padding byte included (as pydicom reads them), before the frame is cut out.
        if ds.bigEndian && ds.vr(.pixelData) == "OW" {
            var i = 0
            while i + 1 < element.count { element.swapAt(i, i + 1); i += 2 }
        }
        let bytes = Array(element[(frame * frameBytes)..<((frame + 1) * frameBytes)])
        var rgb = [Float](repeating: 0, count: pixels * 3)
        switch (photometric, planar) {
        case ("YBR_FULL_422", _):
            guard columns % 2 == 0 else {
                throw ImagingError(.corrupt, path: path, field: DICOMTag.columns.description,
                                   "is \(columns); YBR_FULL_422 pairs pixels, so it must be even")
            }
            for p in stride(from: 0, to: pixels, by: 2) {
                let b = p * 2
                let cb = Float(bytes[b + 2]), cr = Float(bytes[b + 3])
                for (k, y) in [Float(bytes[b]), Float(bytes[b + 1])].enumerated() {
                    store(ybrToRGB(y, cb, cr), at: p + k, in: &rgb)
                }
            }
        case (_, 0):
            for n in 0..<(pixels * 3) { rgb[n] = Float(bytes[n]) }
            if photometric == "YBR_FULL" { convertYBR(&rgb) }
        default:
            for p in 0..<pixels {
                for c in 0..<3 { rgb[p * 3 + c] = Float(bytes[c * pixels + p]) }
            }
            if photometric == "YBR_FULL" { convertYBR(&rgb) }
        }
        return Image(pixels: rgb, height: rows, width: columns, channels: 3, bitDepth: 8, spacing: try spacing(ds))
    }

    /// The number of frames and the one to decode: `frameIndex`, which a multi-frame image needs.
    private static func chooseFrame(_ ds: DICOMDataSet, _ frameIndex: Int?) throws -> (frames: Int, frame: Int) {
        let path = ds.path
        let frameValue = try ds.numbers(.numberOfFrames)?.first ?? 1
        guard frameValue >= 1, frameValue <= 100_000, frameValue == frameValue.rounded() else {
            throw ImagingError(.corrupt, path: path, field: DICOMTag.numberOfFrames.description,
                               "is \(frameValue), expected a whole number from 1 to 100000")
        }
        let frames = Int(frameValue)
        guard frames == 1 || frameIndex != nil else {
            throw ImagingError(.invalidArgument, path: path, field: DICOMTag.numberOfFrames.description,
                               "is \(frames): choose a frame of this colour image with --volume-index 0...\(frames - 1)")
        }
        let frame = frameIndex ?? 0
        guard (0..<frames).contains(frame) else {
            throw ImagingError(.invalidArgument, path: path, field: "volume index", "is \(frame); the image has frames 0...\(frames - 1)")
        }
        return (frames, frame)
    }

    /// A PALETTE COLOR image: its indices (decoded as a greyscale image's stored values are, any
    /// transfer syntax) through the three palette lookup tables.
    private static func decodePalette(_ ds: DICOMDataSet, frameIndex: Int?) throws -> Image {
        let path = ds.path
        func need(_ tag: DICOMTag) throws -> Int {
            guard let v = try ds.uint16(tag) else {
                throw ImagingError(.missing, path: path, field: tag.description, "required image attribute is absent")
            }
            return v
        }
        let samples = try ds.uint16(.samplesPerPixel) ?? 1
        guard samples == 1 else {
            throw ImagingError(.corrupt, path: path, field: DICOMTag.samplesPerPixel.description,
                               "is \(samples); a PALETTE COLOR image has 1 (an index per pixel)")
        }
        let rows = try need(.rows), columns = try need(.columns)
        guard rows > 0, columns > 0 else {
            throw ImagingError(.corrupt, path: path, field: DICOMTag.rows.description, "image size \(rows)x\(columns) is empty")
        }
        let bitsAllocated = try need(.bitsAllocated)
        guard bitsAllocated == 8 || bitsAllocated == 16 else {
            throw ImagingError(.unsupported, path: path, field: DICOMTag.bitsAllocated.description,
                               "is \(bitsAllocated) in a PALETTE COLOR image; expected 8 or 16")
        }
        let bitsStored = try ds.uint16(.bitsStored) ?? bitsAllocated
        guard (1...bitsAllocated).contains(bitsStored) else {
            throw ImagingError(.corrupt, path: path, field: DICOMTag.bitsStored.description,
                               "is \(bitsStored), expected 1 to BitsAllocated (\(bitsAllocated))")
        }
        guard (try ds.uint16(.pixelRepresentation) ?? 0) == 0 else {
            throw ImagingError(.unsupported, path: path, field: DICOMTag.pixelRepresentation.description,
                               "is 1 (signed indices) in a PALETTE COLOR image; only unsigned indices are supported")
        }
        let luts = try paletteTables(ds)
        let (frames, frame) = try chooseFrame(ds, frameIndex)
        let pixels = rows * columns
        let layout = PixelLayout(rows: rows, columns: columns, frames: frames, bitsAllocated: bitsAllocated, signed: false)
        let all = try DICOMPixelData.decode(ds, layout: layout)
        let width = bitsAllocated / 8, start = frame * pixels * width
        let mask = (1 << bitsStored) - 1
        var rgb = [Float](repeating: 0, count: pixels * 3)
        for p in 0..<pixels {
            var index = Int(all[start + p * width])
            if width == 2 { index |= Int(all[start + p * width + 1]) << 8 }
            // Below the first mapped value: the first entry; past the table: the last.
            let entry = min(max((index & mask) - luts.firstMapped, 0), luts.entries - 1)
            for c in 0..<3 { rgb[p * 3 + c] = Float(luts.tables[c][entry]) }
        }
        return Image(pixels: rgb, height: rows, width: columns, channels: 3, bitDepth: luts.bits, spacing: try spacing(ds))
    }

    /// The Red, Green and Blue palette tables: their entry count, first mapped index, entry size
    /// (8 or 16 bits, from the data's length per entry, as pydicom decides) and entries.
    private static func paletteTables(_ ds: DICOMDataSet) throws -> (entries: Int, firstMapped: Int, bits: Int, tables: [[Int]]) {
        let path = ds.path
        var descriptor: [Int] = []
        for tag in DICOMTag.paletteDescriptors {
            guard let d = try ds.words(tag) else {
                throw ImagingError(.missing, path: path, field: tag.description, "a PALETTE COLOR image needs its three palette lookup table descriptors")
            }
            guard d.count == 3 else {
                throw ImagingError(.corrupt, path: path, field: tag.description, "holds \(d.count) values; expected 3 (entries, first mapped value, bits)")
            }
            guard descriptor.isEmpty || d == descriptor else {
                throw ImagingError(.unsupported, path: path, field: tag.description,
                                   "is \(d), the red table's is \(descriptor); tables of different sizes are not supported")
            }
            descriptor = d
        }
        // 0 entries means 65536 (PS3.3 C.7.6.3.1.5).
        let entries = descriptor[0] == 0 ? 65536 : descriptor[0]
        var tables: [[Int]] = [], bits = 0
        for (k, tag) in DICOMTag.paletteData.enumerated() {
            guard let raw = ds.value(tag) else {
                if ds.contains(DICOMTag.segmentedPaletteData[k]) {
                    throw ImagingError(.unsupported, path: path, field: DICOMTag.segmentedPaletteData[k].description,
                                       "segmented palette lookup tables are not supported (decompress them to plain tables, e.g. with pydicom)")
                }
                throw ImagingError(.missing, path: path, field: tag.description, "a PALETTE COLOR image needs its three palette lookup tables")
            }
            let size = raw.count * 8 / entries
            guard raw.count * 8 % entries == 0, size == 8 || size == 16, bits == 0 || size == bits else {
                throw ImagingError(.corrupt, path: path, field: tag.description,
                                   "holds \(raw.count) bytes for \(entries) entries; expected 1 or 2 bytes per entry, the same in all three tables")
            }
            bits = size
            tables.append(size == 8 ? raw.map { Int($0) } : try ds.words(tag)!)
        }
        return (entries, descriptor[1], bits, tables)
    }

    /// PixelSpacing (row, column) when present and positive, else (1, 1).
    private static func spacing(_ ds: DICOMDataSet) throws -> [Double] {
        try ds.numbers(.pixelSpacing).flatMap { $0.count == 2 && $0.allSatisfy { $0 > 0 } ? $0 : nil } ?? [1, 1]
    }

    private static func convertYBR(_ values: inout [Float]) {
        for p in stride(from: 0, to: values.count, by: 3) {
            store(ybrToRGB(values[p], values[p + 1], values[p + 2]), at: p / 3, in: &values)
        }
    }

    private static func store(_ c: (Float, Float, Float), at pixel: Int, in values: inout [Float]) {
        values[pixel * 3] = c.0
        values[pixel * 3 + 1] = c.1
        values[pixel * 3 + 2] = c.2
    }

    /// Full-range YCbCr to RGB (PS3.3 C.7.6.3.1.2), rounded and clipped to 0...255.
    static func ybrToRGB(_ y: Float, _ cb: Float, _ cr: Float) -> (Float, Float, Float) {
        let r = Double(y) + 1.402 * Double(cr - 128)
        let g = Double(y) - 0.344136 * Double(cb - 128) - 0.714136 * Double(cr - 128)
        let b = Double(y) + 1.772 * Double(cb - 128)
        func clip(_ v: Double) -> Float { Float(min(max(v.rounded(), 0), 255)) }
        return (clip(r), clip(g), clip(b))
    }
}

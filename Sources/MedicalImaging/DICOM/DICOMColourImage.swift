import Foundation

/// A colour DICOM image (SamplesPerPixel 3: ultrasound, endoscopy, dermatology, secondary
/// captures) as a 2-D RGB ``Image``, the form colour PNG and JPEG inputs take.
///
/// Colour images carry no modality rescale and rarely a patient geometry, so they are images,
/// not volumes. RGB samples are returned as stored; YBR_FULL and YBR_FULL_422 are converted to
/// RGB as pydicom's `pixel_array` does (ITU-R BT.601 full range, PS3.3 C.7.6.3.1.2), the 4:2:2
/// chroma repeated for both pixels of a pair. Native (uncompressed), RLE, 8-bit JPEG
/// baseline/extended (a JPEG's samples are YCbCr or RGB as the photometric says, as pydicom reads
/// them), JPEG-LS and JPEG 2000 (YBR_RCT/YBR_ICT undone by OpenJPEG) pixel data; lossless JPEG
/// colour is refused naming the transfer syntax.
public enum DICOMColourImage {
    /// Whether the data set holds a colour image (SamplesPerPixel above 1).
    public static func isColour(_ ds: DICOMDataSet) throws -> Bool {
        (try ds.uint16(.samplesPerPixel) ?? 1) > 1
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
        guard !ds.encapsulated || syntax == TransferSyntax.rle || jpeg || j2k || jpegLS else {
            throw ImagingError(.unsupported, path: path, field: "TransferSyntaxUID",
                               "is \(TransferSyntax.describe(syntax)); colour images are read from native, RLE, JPEG baseline/extended, JPEG-LS and JPEG 2000 pixel data, not this one yet")
        }
        let rows = try need(.rows), columns = try need(.columns)
        guard rows > 0, columns > 0 else {
            throw ImagingError(.corrupt, path: path, field: DICOMTag.rows.description, "image size \(rows)x\(columns) is empty")
        }
        let bitsAllocated = try need(.bitsAllocated)
        // 16- and 32-bit colour samples (rare: RGB secondary captures) are read from RLE only.
        guard bitsAllocated == 8 || (syntax == TransferSyntax.rle && photometric == "RGB" && [16, 32].contains(bitsAllocated)) else {
            throw ImagingError(.unsupported, path: path, field: DICOMTag.bitsAllocated.description,
                               "is \(bitsAllocated) in a \(photometric) image of transfer syntax \(TransferSyntax.describe(syntax)); expected 8 (16 and 32 only for RGB in RLE)")
        }
        let planar = try ds.uint16(.planarConfiguration) ?? 0
        guard planar == 0 || planar == 1 else {
            throw ImagingError(.corrupt, path: path, field: DICOMTag.planarConfiguration.description, "is \(planar); expected 0 or 1")
        }
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

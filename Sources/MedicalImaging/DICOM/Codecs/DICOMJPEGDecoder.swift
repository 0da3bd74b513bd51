import CJPEG

/// JPEG frames of DICOM transfer syntaxes 1.2.840.10008.1.2.4.50/51/57/70, sent by their frame
/// header: lossless (SOF3) to `LosslessJPEG`; 8-bit baseline and extended (SOF0/SOF1) to
/// libjpeg-turbo through the CJPEG shim; 12-bit extended (SOF1) to `DCTJPEG`, because Debian 12's
/// libjpeg-turbo 2.1 is built for 8-bit samples only. Progressive and arithmetic-coded JPEG are
/// refused.
enum DICOMJPEGDecoder {
    static func decode(_ stream: [UInt8], layout: PixelLayout, context: FrameContext) throws -> [UInt8] {
        guard let (marker, precision, width, height) = frameHeader(stream) else {
            throw context.error(.corrupt, "JPEG codestream has no frame header (SOFn marker)")
        }
        // Checked before any decoder allocates for the size the codestream claims.
        guard width == layout.columns, height == layout.rows else {
            throw context.error(.inconsistent, "JPEG frame header says \(width)x\(height); Columns x Rows say \(layout.columns)x\(layout.rows)")
        }
        switch marker {
        case 0xC3:
            let image: LosslessJPEG.Decoded
            do { image = try LosslessJPEG.decode(stream) } catch let f as LosslessJPEG.Failure {
                throw context.error(f.unsupported ? .unsupported : .corrupt, "lossless JPEG: \(f.message)")
            }
            try check(image.width, image.height, image.components, image.precision, layout, context)
            var out = [UInt8]()
            out.reserveCapacity(layout.bytesPerFrame)
            for v in image.samples { appendSample(Int(v), bytes: layout.bytesPerSample, to: &out) }
            return out
        case 0xC1 where precision == 12:
            let image: DCTJPEG.Decoded
            do { image = try DCTJPEG.decode(stream) } catch let f as LosslessJPEG.Failure {
                throw context.error(f.unsupported ? .unsupported : .corrupt, "12-bit DCT JPEG: \(f.message)")
            }
            try check(image.width, image.height, 1, image.precision, layout, context)
            var out = [UInt8]()
            out.reserveCapacity(layout.bytesPerFrame)
            for v in image.samples { appendSample(Int(v), bytes: layout.bytesPerSample, to: &out) }
            return out
        case 0xC0 where precision == 8, 0xC1 where precision == 8:
            var image = cjpeg_image()
            defer { cjpeg_free(&image) }
            let status = stream.withUnsafeBufferPointer { cjpeg_decode_colour($0.baseAddress, $0.count, layout.jpegYCbCr, Image.maxSamples, &image) }
            guard status == 0, let p = image.pixels else {
                let message = withUnsafeBytes(of: &image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                throw context.error(.corrupt, "cannot decode JPEG: libjpeg: \(message)")
            }
            try check(Int(image.width), Int(image.height), Int(image.components), 8, layout, context)
            var out = [UInt8]()
            out.reserveCapacity(layout.bytesPerFrame)
            for k in 0..<layout.samplesPerFrame { appendSample(Int(p[k]), bytes: layout.bytesPerSample, to: &out) }
            return out
        default:
            throw context.error(.unsupported, "transfer syntax \(TransferSyntax.describe(context.transferSyntax)): JPEG frame type SOF\(marker - 0xC0) with \(precision)-bit samples is not decoded (sequential 8/12-bit DCT and lossless are; decompress first, e.g. `gdcmconv --raw`)")
        }
    }

    private static func check(_ width: Int, _ height: Int, _ components: Int, _ precision: Int,
                              _ layout: PixelLayout, _ context: FrameContext) throws {
        guard width == layout.columns, height == layout.rows, components == layout.samplesPerPixel else {
            throw context.error(.inconsistent, "JPEG frame is \(width)x\(height) with \(components) component(s); Columns x Rows x SamplesPerPixel say \(layout.columns)x\(layout.rows)x\(layout.samplesPerPixel)")
        }
        guard precision <= layout.bitsAllocated else {
            throw context.error(.inconsistent, "JPEG samples have \(precision) bits; BitsAllocated is \(layout.bitsAllocated)")
        }
    }

    /// The first SOFn marker, its sample precision and the image size, found by walking the
    /// marker segments.
    static func frameHeader(_ s: [UInt8]) -> (marker: UInt8, precision: Int, width: Int, height: Int)? {
        guard s.count >= 4, s[0] == 0xFF, s[1] == 0xD8 else { return nil }
        var p = 2
        while p + 4 < s.count {
            guard s[p] == 0xFF else { return nil }
            let m = s[p + 1]
            if m == 0xFF { p += 1; continue }
            if (0xC0...0xCF).contains(m) && m != 0xC4 && m != 0xC8 && m != 0xCC {
                guard p + 8 < s.count else { return nil }
                return (m, Int(s[p + 4]), Int(s[p + 7]) << 8 | Int(s[p + 8]), Int(s[p + 5]) << 8 | Int(s[p + 6]))
            }
            if m == 0xD9 || m == 0xDA { return nil }
            p += 2 + (Int(s[p + 2]) << 8 | Int(s[p + 3]))
        }
        return nil
    }
}

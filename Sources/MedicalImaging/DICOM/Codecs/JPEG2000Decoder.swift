import COpenJPEG

/// JPEG 2000 frames (DICOM 1.2.840.10008.1.2.4.90/91) through OpenJPEG (Debian libopenjp2-7-dev),
/// called once through the C shim in Sources/COpenJPEG.
enum JPEG2000Decoder {
    static func decode(_ stream: [UInt8], layout: PixelLayout, context: FrameContext) throws -> [UInt8] {
        var image = copj_image()
        defer { copj_free(&image) }
        let status = stream.withUnsafeBufferPointer {
            copj_decode($0.baseAddress, $0.count, Int32(layout.columns), Int32(layout.rows), &image)
        }
        guard status == 0, let samples = image.samples else {
            let message = withUnsafeBytes(of: &image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if image.size_mismatch != 0 { throw context.error(.inconsistent, message) }
            throw context.error(.corrupt, "cannot decode JPEG 2000: OpenJPEG: \(message)")
        }
        guard Int(image.width) == layout.columns, Int(image.height) == layout.rows,
              Int(image.components) == layout.samplesPerPixel else {
            throw context.error(.inconsistent, "JPEG 2000 frame is \(image.width)x\(image.height) with \(image.components) component(s); Columns x Rows x SamplesPerPixel say \(layout.columns)x\(layout.rows)x\(layout.samplesPerPixel)")
        }
        let width = 8 * layout.bytesPerSample
        let precision = Int(image.precision)
        guard precision >= 1, precision <= width else {
            throw context.error(.inconsistent, "JPEG 2000 samples have \(precision) bits; BitsAllocated is \(layout.bitsAllocated)")
        }
        // Some writers mark a signed image's codestream unsigned (or the reverse). As pydicom
        // does, the codestream's precision then decides where the sign bit is: the samples
        // are reinterpreted in that many bits with PixelRepresentation's signedness.
        let reinterpret = (image.is_signed != 0) != layout.signed && precision < width
        let n = layout.samplesPerFrame
        var out = [UInt8]()
        out.reserveCapacity(n * layout.bytesPerSample)
        let mask = (1 << precision) - 1, sign = 1 << (precision - 1)
        // The shim returns component planes; the output interleaves the samples of each pixel
        // (OpenJPEG has already undone a colour transform the codestream declares: YBR_RCT/ICT).
        let c = layout.samplesPerPixel, plane = layout.pixelsPerFrame
        for k in 0..<n {
            var v = Int(samples[(k % c) * plane + k / c])
            if reinterpret {
                v &= mask
                if layout.signed && v & sign != 0 { v -= 1 << precision }
            }
            appendSample(v, bytes: layout.bytesPerSample, to: &out)
        }
        return out
    }
}

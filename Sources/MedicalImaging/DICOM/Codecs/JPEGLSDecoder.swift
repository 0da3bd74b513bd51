import CCharLS

/// JPEG-LS lossless and near-lossless frames (DICOM 1.2.840.10008.1.2.4.80/81) through CharLS.
/// Every CharLS call is checked; a failure names the call and CharLS's own message.
enum JPEGLSDecoder {
    static func decode(_ stream: [UInt8], layout: PixelLayout, context: FrameContext) throws -> [UInt8] {
        guard let decoder = charls_jpegls_decoder_create() else {
            throw context.error(.unreadable, "CharLS could not create a decoder (out of memory)")
        }
        defer { charls_jpegls_decoder_destroy(decoder) }
        func check(_ code: charls_jpegls_errc, _ call: String) throws {
            guard code != CHARLS_JPEGLS_ERRC_SUCCESS else { return }
            let message = charls_get_error_message(code).map { String(cString: $0) } ?? "error \(code.rawValue)"
            throw context.error(.corrupt, "JPEG-LS \(call) failed: CharLS: \(message)")
        }
        var info = charls_frame_info()
        var interleave = CHARLS_INTERLEAVE_MODE_NONE
        var size = 0
        var samples = [UInt8]()
        guard !stream.isEmpty else { throw context.error(.missing, "JPEG-LS frame is empty") }
        try stream.withUnsafeBytes { src in
            try check(charls_jpegls_decoder_set_source_buffer(decoder, src.baseAddress!, src.count), "set_source_buffer")
            try check(charls_jpegls_decoder_read_header(decoder), "read_header")
            try check(charls_jpegls_decoder_get_frame_info(decoder, &info), "get_frame_info")
            guard Int(info.width) == layout.columns, Int(info.height) == layout.rows,
                  Int(info.component_count) == layout.samplesPerPixel else {
                throw context.error(.inconsistent, "JPEG-LS frame is \(info.width)x\(info.height) with \(info.component_count) component(s); Columns x Rows x SamplesPerPixel say \(layout.columns)x\(layout.rows)x\(layout.samplesPerPixel)")
            }
            try check(charls_jpegls_decoder_get_interleave_mode(decoder, &interleave), "get_interleave_mode")
            guard info.bits_per_sample >= 2, Int(info.bits_per_sample) <= layout.bitsAllocated else {
                throw context.error(.inconsistent, "JPEG-LS samples have \(info.bits_per_sample) bits; BitsAllocated is \(layout.bitsAllocated)")
            }
            try check(charls_jpegls_decoder_get_destination_size(decoder, 0, &size), "get_destination_size")
            samples = [UInt8](repeating: 0, count: size)
            try samples.withUnsafeMutableBytes { dst in
                try check(charls_jpegls_decoder_decode_to_buffer(decoder, dst.baseAddress!, dst.count, 0), "decode_to_buffer")
            }
        }
        // CharLS writes 1 byte per sample up to 8 bits and 2 (native endian, little on the
        // platforms this builds for) above; widen to BitsAllocated.
        let inBytes = info.bits_per_sample <= 8 ? 1 : 2
        let n = layout.samplesPerFrame
        guard size == n * inBytes else {
            throw context.error(.corrupt, "JPEG-LS decoded to \(size) bytes, expected \(n * inBytes)")
        }
        // A colour scan without interleaving decodes plane after plane; the output interleaves
        // the samples of each pixel.
        if layout.samplesPerPixel > 1 && interleave == CHARLS_INTERLEAVE_MODE_NONE {
            let plane = layout.pixelsPerFrame * inBytes, c = layout.samplesPerPixel
            var pixels = [UInt8](repeating: 0, count: samples.count)
            for p in 0..<layout.pixelsPerFrame {
                for s in 0..<c {
                    for b in 0..<inBytes { pixels[(p * c + s) * inBytes + b] = samples[s * plane + p * inBytes + b] }
                }
            }
            samples = pixels
        }
        if inBytes == layout.bytesPerSample { return samples }
        var out = [UInt8]()
        out.reserveCapacity(n * layout.bytesPerSample)
        for k in 0..<n {
            let v = inBytes == 1 ? Int(samples[k]) : Int(samples[2 * k]) | Int(samples[2 * k + 1]) << 8
            appendSample(v, bytes: layout.bytesPerSample, to: &out)
        }
        return out
    }
}

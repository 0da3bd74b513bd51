/// JPEG-LS lossless and near-lossless frames (DICOM 1.2.840.10008.1.2.4.80/81), decoded by
/// `JPEGLSCodec` (see there why not CharLS). A failure names the frame and what is wrong.
enum JPEGLSDecoder {
    static func decode(_ stream: [UInt8], layout: PixelLayout, context: FrameContext) throws -> [UInt8] {
        guard !stream.isEmpty else { throw context.error(.missing, "JPEG-LS frame is empty") }
        let image: JPEGLSImage
        do {
            image = try JPEGLSCodec.decode(stream) { frame in
                // Checked before the codec allocates the samples the header claims.
                guard frame.width == layout.columns, frame.height == layout.rows, frame.components == layout.samplesPerPixel else {
                    throw context.error(.inconsistent, "JPEG-LS frame is \(frame.width)x\(frame.height) with \(frame.components) component(s); Columns x Rows x SamplesPerPixel say \(layout.columns)x\(layout.rows)x\(layout.samplesPerPixel)")
                }
                guard frame.bitsPerSample <= layout.bitsAllocated else {
                    throw context.error(.inconsistent, "JPEG-LS samples have \(frame.bitsPerSample) bits; BitsAllocated is \(layout.bitsAllocated)")
                }
            }
        } catch let error as JPEGLSError {
            let kind: ImagingError.Kind = switch error.kind {
            case .corrupt: .corrupt
            case .truncated: .truncated
            case .unsupported: .unsupported
            }
            throw context.error(kind, "JPEG-LS: \(error.message)")
        }
        // The codec returns the samples of a pixel together whatever the scans' interleaving,
        // which is DICOM's PlanarConfiguration 0 layout; widen them to BitsAllocated.
        var out = [UInt8]()
        out.reserveCapacity(image.samples.count * layout.bytesPerSample)
        for v in image.samples { appendSample(Int(v), bytes: layout.bytesPerSample, to: &out) }
        return out
    }
}

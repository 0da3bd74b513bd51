import ArchiveIO

/// DICOM RLE Lossless (PS3.5 Annex G): a 64-byte header of segment offsets, then one PackBits
/// segment per byte plane, most significant byte first, sample after sample for colour (all of
/// R's byte planes, then G's, then B's). The output interleaves the samples of each pixel.
enum RLEDecoder {
    static func decode(_ stream: [UInt8], layout: PixelLayout, context: FrameContext) throws -> [UInt8] {
        let r = ByteReader(stream)
        guard let count = r.u32(0), stream.count >= 64 else {
            throw context.error(.truncated, "RLE frame of \(stream.count) bytes is shorter than its 64-byte header")
        }
        let bytesPerSample = layout.bytesPerSample, samples = layout.samplesPerPixel
        let planes = bytesPerSample * samples
        guard Int(count) == planes, planes <= 15 else {
            throw context.error(.corrupt, "RLE header has \(count) segments, expected \(planes) (one per byte of \(samples) \(layout.bitsAllocated)-bit sample(s) per pixel)")
        }
        let offsets = (0..<planes).map { Int(r.u32(4 + 4 * $0)!) }
        let n = layout.pixelsPerFrame
        // A PackBits run of 2 bytes yields at most 128, so a frame cannot decode from less data.
        guard n <= 64 * stream.count else {
            throw context.error(.truncated, "RLE frame of \(stream.count) bytes cannot hold \(layout.rows)x\(layout.columns) samples")
        }
        var out = [UInt8](repeating: 0, count: n * planes)
        for plane in 0..<planes {
            let start = offsets[plane]
            let end = plane + 1 < planes ? offsets[plane + 1] : stream.count
            guard start >= 64, start <= end, end <= stream.count else {
                throw context.error(.corrupt, "RLE segment \(plane + 1) spans bytes \(start)..<\(end) of a \(stream.count)-byte frame")
            }
            // Within a sample's segments the first holds the most significant bytes; the output
            // is little-endian, samples interleaved by pixel.
            let sample = plane / bytesPerSample
            let byteIndex = sample * bytesPerSample + (bytesPerSample - 1 - plane % bytesPerSample)
            let stride = planes
            var produced = 0
            try stream.withUnsafeBufferPointer { src in
                try out.withUnsafeMutableBufferPointer { dst in
                    var i = start
                    func put(_ b: UInt8) throws {
                        guard produced < n else {
                            throw context.error(.corrupt, "RLE segment \(plane + 1) decodes to more than \(n) bytes")
                        }
                        dst[produced * stride + byteIndex] = b
                        produced += 1
                    }
                    while i < end && produced < n {
                        let h = Int(Int8(bitPattern: src[i]))
                        i += 1
                        if h >= 0 {
                            guard i + h + 1 <= end else {
                                throw context.error(.truncated, "RLE segment \(plane + 1) literal run passes the segment end")
                            }
                            for k in 0...h { try put(src[i + k]) }
                            i += h + 1
                        } else if h != -128 {
                            guard i < end else {
                                throw context.error(.truncated, "RLE segment \(plane + 1) repeat run passes the segment end")
                            }
                            let b = src[i]
                            i += 1
                            for _ in 0..<(1 - h) { try put(b) }
                        }
                    }
                }
            }
            guard produced == n else {
                throw context.error(.truncated, "RLE segment \(plane + 1) decodes to \(produced) bytes, expected \(n) (\(layout.rows)x\(layout.columns))")
            }
        }
        return out
    }
}

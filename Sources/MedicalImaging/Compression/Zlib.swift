import CZlib
import Foundation

/// The one place zlib is called. Every call's status is checked and turned into an `ImagingError`.
enum Zlib {
    /// Window-bits settings that pick the stream wrapper zlib expects.
    enum Wrapper {
        /// gzip (`.nii.gz`); several concatenated members are accepted when inflating.
        case gzip
        /// raw deflate without a header (ZIP entries, DICOM deflated transfer syntax).
        case raw

        var windowBits: Int32 { self == .gzip ? 15 + 16 : -15 }
    }

    /// Inflates `input` completely. `expectedSize` (when known) pre-sizes the output and is checked.
    static func inflate(_ input: [UInt8], wrapper: Wrapper, path: String, field: String? = nil,
                        expectedSize: Int? = nil, limit: Int = 1 << 34) throws -> [UInt8] {
        func fail(_ kind: ImagingError.Kind, _ m: String) -> ImagingError {
            ImagingError(kind, path: path, field: field, m)
        }
        if input.isEmpty { throw fail(.truncated, "compressed stream is empty") }
        var out = [UInt8]()
        out.reserveCapacity(expectedSize ?? max(input.count * 4, 1 << 16))
        var stream = z_stream()
        var consumed = 0
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        try input.withUnsafeBufferPointer { inBuf in
            // Each iteration decodes one gzip member; concatenated members are legal gzip.
            memberLoop: while consumed < inBuf.count {
                var status = inflateInit2_(&stream, wrapper.windowBits, ZLIB_VERSION,
                                           Int32(MemoryLayout<z_stream>.size))
                guard status == Z_OK else { throw fail(.corrupt, "zlib inflateInit2 failed (\(status))") }
                defer { inflateEnd(&stream) }
                stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress! + consumed)
                let remaining = inBuf.count - consumed
                stream.avail_in = uInt(min(remaining, Int(UInt32.max)))
                repeat {
                    let produced: Int = buffer.withUnsafeMutableBufferPointer { ob in
                        stream.next_out = ob.baseAddress
                        stream.avail_out = uInt(chunk)
                        status = zlibInflate(&stream, Z_NO_FLUSH)
                        return chunk - Int(stream.avail_out)
                    }
                    if status == Z_NEED_DICT || status == Z_DATA_ERROR || status == Z_MEM_ERROR || status == Z_STREAM_ERROR {
                        let reason = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                        throw fail(.corrupt, "compressed data is corrupt (\(reason)) after \(out.count) decoded bytes")
                    }
                    out.append(contentsOf: buffer[0..<produced])
                    if out.count > limit { throw fail(.corrupt, "decompressed size exceeds \(limit) bytes") }
                    if status == Z_BUF_ERROR && stream.avail_in == 0 {
                        throw fail(.truncated, "compressed stream ends early (truncated file?) after \(out.count) decoded bytes")
                    }
                } while status != Z_STREAM_END
                consumed = inBuf.count - Int(stream.avail_in)
                if wrapper == .raw { break memberLoop }
                // Trailing zero padding after the last gzip member is common; ignore it.
                if inBuf[consumed...].allSatisfy({ $0 == 0 }) { break memberLoop }
            }
        }
        if let expectedSize, out.count != expectedSize {
            throw fail(.corrupt, "decompressed to \(out.count) bytes, expected \(expectedSize)")
        }
        return out
    }

    /// Deflates `input` into a gzip stream at level 1 (nibabel's default too): level 6 is up to
    /// ten times slower on noisy volumes for files about 30 % smaller.
    static func gzip(_ input: [UInt8], path: String) throws -> [UInt8] {
        var stream = z_stream()
        var status = deflateInit2_(&stream, 1, Z_DEFLATED, Wrapper.gzip.windowBits, 8, Z_DEFAULT_STRATEGY,
                                   ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw ImagingError(.writeFailed, path: path, "zlib deflateInit2 failed (\(status))") }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count)))
        var out = [UInt8](repeating: 0, count: bound)
        var written = 0
        try input.withUnsafeBufferPointer { inBuf in
            try out.withUnsafeMutableBufferPointer { ob in
                stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = ob.baseAddress
                stream.avail_out = uInt(ob.count)
                status = deflate(&stream, Z_FINISH)
                guard status == Z_STREAM_END else {
                    throw ImagingError(.writeFailed, path: path, "zlib deflate failed (\(status))")
                }
                written = ob.count - Int(stream.avail_out)
            }
        }
        return Array(out[0..<written])
    }

    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBufferPointer { b in
            UInt32(CZlib.crc32(0, b.baseAddress, uInt(b.count)))
        }
    }
}

/// `inflate` is shadowed inside `Zlib` by the Swift wrapper of the same name.
private func zlibInflate(_ s: inout z_stream, _ flush: Int32) -> Int32 { inflate(&s, flush) }

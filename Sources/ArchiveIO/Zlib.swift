import CZlib

/// Why zlib could not produce the expected bytes. The caller adds the file and the field
/// (archive record, gzip stream, DICOM data set) when it turns this into its own error type.
public struct ZlibError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Equatable, Sendable {
        /// The compressed stream ends before its end marker (a cut-short file), or is empty.
        case truncated
        /// The compressed data is invalid.
        case corrupt
        /// The data inflates to a different size than the container declares.
        case sizeMismatch
        /// The data inflates to more than the caller's limit.
        case tooLarge
        /// The inflated data's CRC-32 differs from the one the container declares.
        case checksumMismatch
        /// zlib itself failed (initialisation, out of memory).
        case zlibFailure
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// The package's one zlib wrapper: raw deflate (ZIP records, DICOM's deflated transfer syntax)
/// and gzip (`.nii.gz`) in both directions, and CRC-32. Every zlib status is checked; buffers of
/// any size are fed in pieces zlib's 32-bit counters can hold.
public enum Zlib {
    /// The stream framing zlib should expect.
    public enum Wrapper: Sendable {
        /// gzip; when inflating, several concatenated members are one stream (as gzip allows).
        case gzip
        /// Raw deflate without a header or trailer.
        case raw

        var windowBits: Int32 { self == .gzip ? MAX_WBITS + 16 : -MAX_WBITS }
    }

    /// Largest piece handed to zlib at once: its counters are 32-bit.
    static let piece = 1 << 30

    /// Inflates `input` completely.
    ///
    /// - Parameters:
    ///   - expectedSize: when the container declares the inflated size: the output must be
    ///     exactly that long (more is refused as soon as it appears, so a lying record cannot
    ///     fill memory).
    ///   - expectedCRC32: when the container declares a CRC-32 of the inflated bytes.
    ///   - limit: most bytes accepted when `expectedSize` is not known.
    /// - Throws: `ZlibError`.
    public static func inflate(_ input: UnsafeRawBufferPointer, wrapper: Wrapper, expectedSize: Int? = nil,
                               expectedCRC32: UInt32? = nil, limit: Int = 1 << 34) throws -> [UInt8] {
        guard input.count > 0 else { throw ZlibError(.truncated, "compressed stream is empty") }
        let cap = expectedSize ?? limit
        // One spare byte beyond a declared size: output that reaches it proves the data
        // inflates to more than declared.
        var out = [UInt8](repeating: 0, count: min(cap, expectedSize ?? max(input.count * 4, 1 << 16)) + 1)
        var produced = 0
        var consumed = 0
        func decoded() -> String {
            expectedSize.map { "\(produced) of \($0) expected bytes" } ?? "\(produced) decoded bytes"
        }
        var stream = z_stream()
        // Each pass decodes one gzip member; a raw stream is one pass.
        members: while true {
            var status = inflateInit2_(&stream, wrapper.windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else { throw ZlibError(.zlibFailure, "zlib inflateInit2 failed (status \(status))") }
            defer { inflateEnd(&stream) }
            while true {
                if produced == out.count {
                    out.append(contentsOf: repeatElement(0, count: min(out.count, cap + 1 - out.count)))
                }
                let inStep = min(input.count - consumed, piece)
                let outStep = min(out.count - produced, piece)
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!
                    .advanced(by: consumed).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(inStep)
                out.withUnsafeMutableBytes { o in
                    stream.next_out = o.baseAddress!.advanced(by: produced).assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(outStep)
                    status = zlibInflate(&stream, Z_NO_FLUSH)
                }
                consumed += inStep - Int(stream.avail_in)
                produced += outStep - Int(stream.avail_out)
                if produced > cap {
                    if let expectedSize {
                        throw ZlibError(.sizeMismatch, "inflates to more than the declared \(expectedSize) bytes")
                    }
                    throw ZlibError(.tooLarge, "decompressed size exceeds \(limit) bytes")
                }
                if status == Z_STREAM_END { break }
                switch status {
                case Z_OK:
                    continue
                case Z_BUF_ERROR:
                    // No progress with room to write: the input is used up before the end marker.
                    throw ZlibError(.truncated, "compressed stream ends early (truncated file?) after \(decoded())")
                case Z_MEM_ERROR:
                    throw ZlibError(.zlibFailure, "zlib ran out of memory after \(decoded())")
                default:
                    let reason = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                    throw ZlibError(.corrupt, "compressed data is corrupt (\(reason)) after \(decoded())")
                }
            }
            if wrapper == .raw || consumed == input.count { break members }
            // Trailing zero padding after the last gzip member is common; ignore it.
            if input[consumed...].allSatisfy({ $0 == 0 }) { break members }
        }
        out.removeSubrange(produced...)
        if let expectedSize, produced != expectedSize {
            throw ZlibError(.sizeMismatch, "inflated to \(produced) bytes, the container declares \(expectedSize)")
        }
        if let expectedCRC32 {
            let crc = out.withUnsafeBytes { crc32($0) }
            guard crc == expectedCRC32 else {
                throw ZlibError(.checksumMismatch, "CRC-32 mismatch (computed \(String(crc, radix: 16)), the container declares \(String(expectedCRC32, radix: 16)))")
            }
        }
        return out
    }

    /// `inflate` over an array.
    public static func inflate(_ input: [UInt8], wrapper: Wrapper, expectedSize: Int? = nil,
                               expectedCRC32: UInt32? = nil, limit: Int = 1 << 34) throws -> [UInt8] {
        try input.withUnsafeBytes {
            try inflate($0, wrapper: wrapper, expectedSize: expectedSize, expectedCRC32: expectedCRC32, limit: limit)
        }
    }

    /// Deflates `input` into one gzip member. Level 1 is the default (nibabel's too): level 6 is
    /// up to ten times slower on noisy volumes for files about 30 % smaller.
    public static func gzip(_ input: [UInt8], level: Int32 = 1) throws -> [UInt8] {
        var stream = z_stream()
        var status = deflateInit2_(&stream, level, Z_DEFLATED, Wrapper.gzip.windowBits, 8, Z_DEFAULT_STRATEGY,
                                   ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw ZlibError(.zlibFailure, "zlib deflateInit2 failed (status \(status))") }
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))))
        var consumed = 0
        var written = 0
        try input.withUnsafeBytes { inBuf in
            try out.withUnsafeMutableBytes { ob in
                repeat {
                    let inStep = min(inBuf.count - consumed, piece)
                    let outStep = min(ob.count - written, piece)
                    stream.next_in = inBuf.baseAddress.map {
                        UnsafeMutablePointer(mutating: $0.advanced(by: consumed).assumingMemoryBound(to: Bytef.self))
                    }
                    stream.avail_in = uInt(inStep)
                    stream.next_out = ob.baseAddress!.advanced(by: written).assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(outStep)
                    let last = consumed + inStep == inBuf.count
                    status = deflate(&stream, last ? Z_FINISH : Z_NO_FLUSH)
                    consumed += inStep - Int(stream.avail_in)
                    written += outStep - Int(stream.avail_out)
                    guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                        throw ZlibError(.zlibFailure, "zlib deflate failed (status \(status))")
                    }
                } while status != Z_STREAM_END
            }
        }
        out.removeSubrange(written...)
        return out
    }

    /// CRC-32 (ZIP's and gzip's) of `bytes`.
    public static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c: uLong = CZlib.crc32(0, nil, 0)
        var at = 0
        while at < bytes.count {
            let n = min(bytes.count - at, piece)
            c = CZlib.crc32(c, bytes.baseAddress!.advanced(by: at).assumingMemoryBound(to: Bytef.self), uInt(n))
            at += n
        }
        return UInt32(truncatingIfNeeded: c)
    }
}

/// zlib's `inflate`, which `Zlib.inflate` shadows inside the enum.
private func zlibInflate(_ s: inout z_stream, _ flush: Int32) -> Int32 { inflate(&s, flush) }

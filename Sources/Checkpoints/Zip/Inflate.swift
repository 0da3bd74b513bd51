import CZlib

/// Raw-deflate decompression through the system zlib, for zip records stored with method 8.
enum Inflate {
    /// Decompresses `input` into exactly `expectedSize` bytes and checks the CRC-32.
    static func raw(_ input: UnsafeRawBufferPointer, expectedSize: Int, expectedCRC: UInt32,
                    record: String, path: String) throws -> [UInt8] {
        func fail(_ m: String) -> CheckpointError {
            CheckpointError(path: path, problem: .decompression(record: record, detail: m))
        }
        // Deflate cannot expand data by more than about 1032:1; anything beyond is a lie.
        guard expectedSize <= input.count &* 1040 &+ 1024 else {
            throw CheckpointError(path: path, problem: .absurdSize(
                "record '\(record)' claims \(expectedSize) bytes inflated from \(input.count) compressed"))
        }
        // One spare byte: output that reaches it proves the record inflates to more than declared.
        var output = [UInt8](repeating: 0, count: expectedSize + 1)
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw fail("zlib inflateInit2 failed")
        }
        defer { inflateEnd(&stream) }
        var status: Int32 = Z_OK
        var produced = 0
        try output.withUnsafeMutableBytes { out in
            var consumed = 0
            // zlib counts in UInt32, so feed and drain in chunks of at most 1 GiB.
            let chunk = 1 << 30
            repeat {
                let inLeft = input.count - consumed
                let outLeft = out.count - produced
                let inStep = min(inLeft, chunk)
                let outStep = min(outLeft, chunk)
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?
                    .advanced(by: consumed).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(inStep)
                stream.next_out = out.baseAddress?.advanced(by: produced).assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(outStep)
                status = inflate(&stream, Z_NO_FLUSH)
                consumed += inStep - Int(stream.avail_in)
                produced += outStep - Int(stream.avail_out)
                if produced > expectedSize { throw fail("inflates to more than the declared \(expectedSize) bytes") }
                if status == Z_STREAM_END { break }
                guard status == Z_OK else {
                    if status == Z_BUF_ERROR {
                        throw fail("compressed data ends early (\(produced) of \(expectedSize) bytes)")
                    }
                    throw fail("invalid deflate data (zlib status \(status))")
                }
            } while true
        }
        output.removeLast()
        guard produced == expectedSize else {
            throw fail("inflated to \(produced) bytes, the directory declares \(expectedSize)")
        }
        let crc = output.withUnsafeBytes { b -> UInt32 in
            var c: uLong = crc32(0, nil, 0)
            var at = 0
            while at < b.count {
                let n = min(b.count - at, 1 << 30)
                c = crc32(c, b.baseAddress!.advanced(by: at).assumingMemoryBound(to: Bytef.self), uInt(n))
                at += n
            }
            return UInt32(truncatingIfNeeded: c)
        }
        guard crc == expectedCRC else {
            throw fail("CRC-32 mismatch (computed \(String(crc, radix: 16)), directory says \(String(expectedCRC, radix: 16)))")
        }
        return output
    }
}

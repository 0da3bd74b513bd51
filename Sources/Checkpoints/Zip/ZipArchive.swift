/// One file inside a zip archive, located through the central directory.
public struct ZipRecord: Sendable {
    public var name: String
    /// 0 = stored, 8 = deflated.
    public var method: UInt16
    public var compressedSize: Int
    public var uncompressedSize: Int
    public var crc32: UInt32
    /// Offset of the record's local header. Its data follows the header, whose variable-length
    /// fields are only read when the record is (`ZipArchive.dataOffset(of:)`), so opening a
    /// multi-gigabyte archive touches nothing but its central directory.
    public var localHeaderOffset: Int
}

/// A read-only zip archive over bytes already in memory (normally a memory map). Reads the
/// central directory, including zip64 records, and checks every record lies inside the bytes.
/// Record data is handed out as slices of the map (stored) or inflated on request (deflated).
public struct ZipArchive {
    public let path: String
    public let bytes: UnsafeRawBufferPointer
    public private(set) var records: [ZipRecord] = []
    private var index: [String: Int] = [:]

    private static let localSignature: UInt32 = 0x0403_4B50
    private static let centralSignature: UInt32 = 0x0201_4B50
    private static let endSignature: UInt32 = 0x0605_4B50
    private static let zip64EndSignature: UInt32 = 0x0606_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50

    /// True when the bytes start like a zip file (a local file header).
    public static func looksLikeZip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.u32(at: 0) == localSignature
    }

    public init(path: String, bytes: UnsafeRawBufferPointer) throws {
        self.path = path
        self.bytes = bytes
        func corrupt(_ m: String) -> CheckpointError { CheckpointError(path: path, problem: .corruptZip(m)) }

        guard let end = Self.findEndOfCentralDirectory(bytes) else {
            if Self.looksLikeZip(bytes) {
                throw CheckpointError(path: path, problem: .truncated(
                    "zip end-of-central-directory record not found (the file was cut short?)"))
            }
            throw CheckpointError(path: path, problem: .unknownFormat("no zip signature"))
        }
        var entryCount = Int(bytes.u16(at: end + 10)!)
        var directorySize = Int(bytes.u32(at: end + 12)!)
        var directoryOffset = Int(bytes.u32(at: end + 16)!)

        // zip64: a locator sits just before the classic end record and points at the zip64 end record.
        if end >= 20, bytes.u32(at: end - 20) == Self.zip64LocatorSignature {
            guard let at64 = bytes.u64(at: end - 12), at64 < UInt64(bytes.count),
                  bytes.u32(at: Int(at64)) == Self.zip64EndSignature,
                  let n = bytes.u64(at: Int(at64) + 32), let size = bytes.u64(at: Int(at64) + 40),
                  let offset = bytes.u64(at: Int(at64) + 48) else {
                throw corrupt("zip64 end-of-central-directory record is missing or cut short")
            }
            guard n <= UInt64(bytes.count), size <= UInt64(bytes.count), offset <= UInt64(bytes.count) else {
                throw CheckpointError(path: path, problem: .absurdSize(
                    "zip64 directory claims \(n) entries, \(size) bytes at offset \(offset) in a \(bytes.count)-byte file"))
            }
            entryCount = Int(n); directorySize = Int(size); directoryOffset = Int(offset)
        }
        guard directoryOffset <= bytes.count, directorySize <= bytes.count - directoryOffset else {
            throw corrupt("central directory (offset \(directoryOffset), \(directorySize) bytes) lies outside the \(bytes.count)-byte file")
        }
        guard entryCount <= directorySize / 46 else {
            throw corrupt("central directory of \(directorySize) bytes cannot hold \(entryCount) entries")
        }

        var cursor = directoryOffset
        let directoryEnd = directoryOffset + directorySize
        records.reserveCapacity(entryCount)
        for i in 0..<entryCount {
            guard cursor <= directoryEnd - 46, bytes.u32(at: cursor) == Self.centralSignature else {
                throw corrupt("central directory entry \(i) has no valid header at offset \(cursor)")
            }
            let flags = bytes.u16(at: cursor + 8)!
            let method = bytes.u16(at: cursor + 10)!
            let crc = bytes.u32(at: cursor + 16)!
            var compressed = UInt64(bytes.u32(at: cursor + 20)!)
            var uncompressed = UInt64(bytes.u32(at: cursor + 24)!)
            let nameLength = Int(bytes.u16(at: cursor + 28)!)
            let extraLength = Int(bytes.u16(at: cursor + 30)!)
            let commentLength = Int(bytes.u16(at: cursor + 32)!)
            var localOffset = UInt64(bytes.u32(at: cursor + 42)!)
            let entryLength = 46 + nameLength + extraLength + commentLength
            guard entryLength <= directoryEnd - cursor,
                  let nameBytes = bytes.slice(cursor + 46, nameLength),
                  let extra = bytes.slice(cursor + 46 + nameLength, extraLength) else {
                throw corrupt("central directory entry \(i) runs past the directory")
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            if flags & 1 != 0 { throw corrupt("record '\(name)' is encrypted") }
            try Self.applyZip64Extra(extra, compressed: &compressed, uncompressed: &uncompressed,
                                     localOffset: &localOffset, record: name, path: path)
            guard localOffset < UInt64(bytes.count), compressed <= UInt64(bytes.count),
                  uncompressed <= 1 << 40 else {
                throw CheckpointError(path: path, problem: .recordOutOfBounds(record: name))
            }
            // The data can start no earlier than a header with this name and no extra field.
            let earliestData = Int(localOffset) + 30 + nameLength
            guard earliestData <= bytes.count, Int(compressed) <= bytes.count - earliestData else {
                throw CheckpointError(path: path, problem: .recordOutOfBounds(record: name))
            }
            if method == 0 && compressed != uncompressed {
                throw corrupt("stored record '\(name)' has compressed size \(compressed) but uncompressed size \(uncompressed)")
            }
            index[name] = records.count
            records.append(ZipRecord(name: name, method: method, compressedSize: Int(compressed),
                                     uncompressedSize: Int(uncompressed), crc32: crc, localHeaderOffset: Int(localOffset)))
            cursor += entryLength
        }
    }

    public func record(named name: String) -> ZipRecord? {
        index[name].map { records[$0] }
    }

    /// Where a record's data starts: past its local header, whose name and extra field lengths
    /// may differ from the central directory's (torch pads the extra field to align data).
    public func dataOffset(of record: ZipRecord) throws -> Int {
        let local = record.localHeaderOffset
        guard bytes.u32(at: local) == Self.localSignature,
              let nameLength = bytes.u16(at: local + 26), let extraLength = bytes.u16(at: local + 28) else {
            throw CheckpointError(path: path, problem: .corruptZip("record '\(record.name)' has no local header at offset \(local)"))
        }
        let offset = local + 30 + Int(nameLength) + Int(extraLength)
        guard offset <= bytes.count, record.compressedSize <= bytes.count - offset else {
            throw CheckpointError(path: path, problem: .recordOutOfBounds(record: record.name))
        }
        return offset
    }

    /// The bytes of a record: a slice of the archive for stored records, freshly inflated
    /// (and CRC-checked) for deflated ones.
    public func contents(of record: ZipRecord) throws -> RecordBytes {
        switch record.method {
        case 0:
            return .mapped(bytes.slice(try dataOffset(of: record), record.compressedSize)!)
        case 8:
            let input = bytes.slice(try dataOffset(of: record), record.compressedSize)!
            return .owned(try Inflate.raw(input, expectedSize: record.uncompressedSize,
                                          expectedCRC: record.crc32, record: record.name, path: path))
        default:
            throw CheckpointError(path: path, problem: .decompression(
                record: record.name, detail: "compression method \(record.method) is not supported (only stored and deflate)"))
        }
    }

    /// Offset of the classic end-of-central-directory record: searched backwards over the
    /// last 64 KiB + 22 bytes (the largest possible trailing comment), requiring the comment
    /// length to reach exactly the end of the file.
    private static func findEndOfCentralDirectory(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 22 else { return nil }
        let lowest = max(0, bytes.count - 22 - 0xFFFF)
        var at = bytes.count - 22
        while at >= lowest {
            if bytes.u32(at: at) == endSignature, let comment = bytes.u16(at: at + 20),
               at + 22 + Int(comment) == bytes.count {
                return at
            }
            at -= 1
        }
        return nil
    }

    /// zip64 extended information (header id 1): 8-byte values for each classic field that holds
    /// 0xFFFFFFFF, in the order uncompressed size, compressed size, local header offset.
    private static func applyZip64Extra(_ extra: UnsafeRawBufferPointer, compressed: inout UInt64,
                                        uncompressed: inout UInt64, localOffset: inout UInt64,
                                        record: String, path: String) throws {
        let needs = uncompressed == 0xFFFF_FFFF || compressed == 0xFFFF_FFFF || localOffset == 0xFFFF_FFFF
        guard needs else { return }
        var at = 0
        while at + 4 <= extra.count {
            let id = extra.u16(at: at)!
            let size = Int(extra.u16(at: at + 2)!)
            guard let field = extra.slice(at + 4, size) else { break }
            if id == 1 {
                var f = 0
                func next() throws -> UInt64 {
                    guard let v = field.u64(at: f) else {
                        throw CheckpointError(path: path, problem: .corruptZip("zip64 extra field of '\(record)' is too short"))
                    }
                    f += 8
                    return v
                }
                if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                if compressed == 0xFFFF_FFFF { compressed = try next() }
                if localOffset == 0xFFFF_FFFF { localOffset = try next() }
                return
            }
            at += 4 + size
        }
        throw CheckpointError(path: path, problem: .corruptZip("record '\(record)' needs a zip64 extra field but has none"))
    }
}

/// The bytes of a zip record or tensor payload: either borrowed from the memory map or owned.
public enum RecordBytes {
    case mapped(UnsafeRawBufferPointer)
    case owned([UInt8])

    public var count: Int {
        switch self {
        case .mapped(let b): return b.count
        case .owned(let a): return a.count
        }
    }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case .mapped(let b): return try body(b)
        case .owned(let a): return try a.withUnsafeBytes(body)
        }
    }
}

/// Why a ZIP archive (a `.pth` checkpoint, an `.npz`, a wheel) could not be read.
public struct ZipError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Equatable, Sendable {
        /// Nothing in the bytes looks like a ZIP archive.
        case notAZip
        /// The bytes start like a ZIP archive but its end records are missing: the file was cut short.
        case truncated
        /// The central directory or a local header is damaged or inconsistent.
        case corrupt
        /// A record's data lies (partly) outside the archive.
        case recordOutOfBounds
        /// A size, count or offset beyond anything the archive can hold.
        case absurdSize
        /// A record uses a compression method other than stored and deflate.
        case unsupportedMethod
        /// A deflated record does not inflate to the bytes the directory declares
        /// (`zlib` says how).
        case decompression
    }

    public var kind: Kind
    /// The archive's path.
    public var path: String
    /// Where in the archive: a record's name, or a structure (`end of central directory`,
    /// `central directory`, `zip64 end of central directory`).
    public var field: String
    public var message: String
    /// For `.decompression`: zlib's own account.
    public var zlib: ZlibError?

    public init(_ kind: Kind, path: String, field: String, _ message: String, zlib: ZlibError? = nil) {
        self.kind = kind
        self.path = path
        self.field = field
        self.message = message
        self.zlib = zlib
    }

    public var description: String { "\(path): \(field): \(message)" }
}

/// One file inside a ZIP archive, located through the central directory.
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

/// The package's one ZIP reader: a read-only archive over bytes already in memory (a memory map
/// for checkpoints and wheels, a file's bytes for `.npz`). Reads the central directory, zip64
/// records included, and checks every record lies inside the bytes before anything is read.
/// Record data is handed out as slices of the bytes (stored) or inflated and CRC-checked on
/// request (deflated). The bytes must outlive the archive and everything it hands out.
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

    /// True when the bytes start like a ZIP file (a local file header).
    public static func looksLikeZip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        ByteReader(bytes).u32(0) == localSignature
    }

    /// Reads the central directory. Throws `ZipError`.
    public init(path: String, bytes: UnsafeRawBufferPointer) throws {
        self.path = path
        self.bytes = bytes
        let r = ByteReader(bytes)
        func error(_ kind: ZipError.Kind, _ field: String, _ m: String) -> ZipError {
            ZipError(kind, path: path, field: field, m)
        }

        guard let end = Self.findEndOfCentralDirectory(r) else {
            if Self.looksLikeZip(bytes) {
                throw error(.truncated, "end of central directory",
                            "the end-of-central-directory record (PK\\5\\6) is missing: the file was cut short")
            }
            throw error(.notAZip, "end of central directory",
                        "not a ZIP archive: no local header (PK\\3\\4) at the start and no end record (PK\\5\\6)")
        }
        var entryCount = Int(r.u16(end + 10)!)
        var directorySize = Int(r.u32(end + 12)!)
        var directoryOffset = Int(r.u32(end + 16)!)

        // zip64: a locator sits just before the classic end record and points at the zip64 end record.
        if end >= 20, r.u32(end - 20) == Self.zip64LocatorSignature {
            guard let at64 = r.u64(end - 12), at64 < UInt64(bytes.count),
                  r.u32(Int(at64)) == Self.zip64EndSignature,
                  let n = r.u64(Int(at64) + 32), let size = r.u64(Int(at64) + 40),
                  let offset = r.u64(Int(at64) + 48) else {
                throw error(.corrupt, "zip64 end of central directory", "the record is missing or cut short")
            }
            guard n <= UInt64(bytes.count), size <= UInt64(bytes.count), offset <= UInt64(bytes.count) else {
                throw error(.absurdSize, "zip64 end of central directory",
                            "claims \(n) entries, \(size) bytes at offset \(offset) in a \(bytes.count)-byte file")
            }
            entryCount = Int(n); directorySize = Int(size); directoryOffset = Int(offset)
        }
        guard directoryOffset <= bytes.count, directorySize <= bytes.count - directoryOffset else {
            throw error(.corrupt, "central directory",
                        "at offset \(directoryOffset) with \(directorySize) bytes lies outside the \(bytes.count)-byte file")
        }
        guard entryCount <= directorySize / 46 else {
            throw error(.corrupt, "central directory", "\(directorySize) bytes cannot hold \(entryCount) entries")
        }

        var cursor = directoryOffset
        let directoryEnd = directoryOffset + directorySize
        records.reserveCapacity(entryCount)
        for i in 0..<entryCount {
            guard cursor <= directoryEnd - 46, r.u32(cursor) == Self.centralSignature else {
                throw error(.corrupt, "central directory", "entry \(i) has no valid header at offset \(cursor)")
            }
            let flags = r.u16(cursor + 8)!
            let method = r.u16(cursor + 10)!
            let crc = r.u32(cursor + 16)!
            var compressed = UInt64(r.u32(cursor + 20)!)
            var uncompressed = UInt64(r.u32(cursor + 24)!)
            let nameLength = Int(r.u16(cursor + 28)!)
            let extraLength = Int(r.u16(cursor + 30)!)
            let commentLength = Int(r.u16(cursor + 32)!)
            var localOffset = UInt64(r.u32(cursor + 42)!)
            let entryLength = 46 + nameLength + extraLength + commentLength
            guard entryLength <= directoryEnd - cursor,
                  let nameBytes = r.buffer(cursor + 46, nameLength),
                  let extra = r.buffer(cursor + 46 + nameLength, extraLength) else {
                throw error(.corrupt, "central directory", "entry \(i) runs past the end of the directory")
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            if flags & 1 != 0 { throw error(.unsupportedMethod, name, "the record is encrypted") }
            try Self.applyZip64Extra(extra, compressed: &compressed, uncompressed: &uncompressed,
                                     localOffset: &localOffset, record: name, path: path)
            guard localOffset < UInt64(bytes.count), compressed <= UInt64(bytes.count), uncompressed <= 1 << 40 else {
                throw error(.recordOutOfBounds, name,
                            "the directory puts it at offset \(localOffset) with \(compressed) bytes (\(uncompressed) inflated), outside the \(bytes.count)-byte file")
            }
            // The data can start no earlier than a header with this name and no extra field.
            let earliestData = Int(localOffset) + 30 + nameLength
            guard earliestData <= bytes.count, Int(compressed) <= bytes.count - earliestData else {
                throw error(.recordOutOfBounds, name,
                            "\(compressed) bytes of data after the local header at offset \(localOffset) run past the end of the \(bytes.count)-byte file")
            }
            if method == 0 && compressed != uncompressed {
                throw error(.corrupt, name, "stored record has compressed size \(compressed) but uncompressed size \(uncompressed)")
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
        let r = ByteReader(bytes)
        let local = record.localHeaderOffset
        guard r.u32(local) == Self.localSignature, let nameLength = r.u16(local + 26),
              let extraLength = r.u16(local + 28) else {
            throw ZipError(.corrupt, path: path, field: record.name, "no local header (PK\\3\\4) at offset \(local)")
        }
        let offset = local + 30 + Int(nameLength) + Int(extraLength)
        guard offset <= bytes.count, record.compressedSize <= bytes.count - offset else {
            throw ZipError(.recordOutOfBounds, path: path, field: record.name,
                           "\(record.compressedSize) bytes of data at offset \(offset) run past the end of the \(bytes.count)-byte file")
        }
        return offset
    }

    /// The bytes of a record: a slice of the archive for stored records, freshly inflated
    /// (and CRC-checked) for deflated ones.
    public func contents(of record: ZipRecord) throws -> RecordBytes {
        switch record.method {
        case 0:
            return .mapped(ByteReader(bytes).buffer(try dataOffset(of: record), record.compressedSize)!)
        case 8:
            let input = ByteReader(bytes).buffer(try dataOffset(of: record), record.compressedSize)!
            // Deflate cannot expand data by more than about 1032:1; anything beyond is a lie.
            guard record.uncompressedSize <= input.count &* 1040 &+ 1024 else {
                throw ZipError(.absurdSize, path: path, field: record.name,
                               "claims \(record.uncompressedSize) bytes inflated from \(input.count) compressed")
            }
            do {
                return .owned(try Zlib.inflate(input, wrapper: .raw, expectedSize: record.uncompressedSize,
                                               expectedCRC32: record.crc32))
            } catch let z as ZlibError {
                throw ZipError(.decompression, path: path, field: record.name, z.message, zlib: z)
            }
        default:
            throw ZipError(.unsupportedMethod, path: path, field: record.name,
                           "compression method \(record.method) is not supported (only 0, stored, and 8, deflate)")
        }
    }

    /// Offset of the classic end-of-central-directory record: searched backwards over the
    /// last 64 KiB + 22 bytes (the largest possible trailing comment), requiring the comment
    /// length to reach exactly the end of the file.
    private static func findEndOfCentralDirectory(_ r: ByteReader<UnsafeRawBufferPointer>) -> Int? {
        guard r.count >= 22 else { return nil }
        let lowest = max(0, r.count - 22 - 0xFFFF)
        var at = r.count - 22
        while at >= lowest {
            if r.u32(at) == endSignature, let comment = r.u16(at + 20), at + 22 + Int(comment) == r.count {
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
        let r = ByteReader(extra)
        var at = 0
        while at + 4 <= extra.count {
            let id = r.u16(at)!
            let size = Int(r.u16(at + 2)!)
            guard let field = r.buffer(at + 4, size) else { break }
            if id == 1 {
                let f = ByteReader(field)
                var next = 0
                func value() throws -> UInt64 {
                    guard let v = f.u64(next) else {
                        throw ZipError(.corrupt, path: path, field: record, "the zip64 extra field is too short")
                    }
                    next += 8
                    return v
                }
                if uncompressed == 0xFFFF_FFFF { uncompressed = try value() }
                if compressed == 0xFFFF_FFFF { compressed = try value() }
                if localOffset == 0xFFFF_FFFF { localOffset = try value() }
                return
            }
            at += 4 + size
        }
        throw ZipError(.corrupt, path: path, field: record, "sizes need a zip64 extra field but the record has none")
    }
}

/// The bytes of a ZIP record or tensor payload: either borrowed from the archive's bytes or owned.
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

    /// A copy of the bytes.
    public var array: [UInt8] {
        switch self {
        case .mapped(let b): return Array(b)
        case .owned(let a): return a
        }
    }
}

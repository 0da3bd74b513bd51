/// Bounds-checked reads of little- or big-endian numbers from bytes read from an untrusted file.
///
/// Every read that would run past the end returns `nil` instead of trapping, so each parser turns
/// short input into its own typed error naming the file and the field it was reading. Offsets
/// count from the first byte of `bytes`, whatever its indices (an `ArraySlice` works too).
///
/// The one byte reader of the package: ZIP directories and pickles (over memory maps,
/// `UnsafeRawBufferPointer`) and NIfTI and DICOM headers (over `[UInt8]`) all read through it.
@frozen
public struct ByteReader<Bytes: RandomAccessCollection> where Bytes.Element == UInt8, Bytes.Index == Int {
    public let bytes: Bytes
    /// Byte order of multi-byte reads; little-endian unless the format says otherwise.
    public var bigEndian: Bool

    @inlinable
    public init(_ bytes: Bytes, bigEndian: Bool = false) {
        self.bytes = bytes
        self.bigEndian = bigEndian
    }

    @inlinable public var count: Int { bytes.count }

    /// True when `length` bytes from `offset` all lie inside.
    @inlinable
    public func has(_ offset: Int, _ length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= bytes.count && length <= bytes.count - offset
    }

    @inlinable
    func unsigned(_ offset: Int, _ size: Int) -> UInt64? {
        guard has(offset, size) else { return nil }
        let base = bytes.startIndex + offset
        var v: UInt64 = 0
        if bigEndian {
            for k in 0..<size { v = v << 8 | UInt64(bytes[base + k]) }
        } else {
            for k in stride(from: size - 1, through: 0, by: -1) { v = v << 8 | UInt64(bytes[base + k]) }
        }
        return v
    }

    @inlinable public func u8(_ o: Int) -> UInt8? { has(o, 1) ? bytes[bytes.startIndex + o] : nil }
    @inlinable public func u16(_ o: Int) -> UInt16? { unsigned(o, 2).map { UInt16(truncatingIfNeeded: $0) } }
    @inlinable public func i16(_ o: Int) -> Int16? { u16(o).map { Int16(bitPattern: $0) } }
    @inlinable public func u32(_ o: Int) -> UInt32? { unsigned(o, 4).map { UInt32(truncatingIfNeeded: $0) } }
    @inlinable public func i32(_ o: Int) -> Int32? { u32(o).map { Int32(bitPattern: $0) } }
    @inlinable public func u64(_ o: Int) -> UInt64? { unsigned(o, 8) }
    @inlinable public func i64(_ o: Int) -> Int64? { u64(o).map { Int64(bitPattern: $0) } }
    @inlinable public func f32(_ o: Int) -> Float? { u32(o).map { Float(bitPattern: $0) } }
    @inlinable public func f64(_ o: Int) -> Double? { u64(o).map { Double(bitPattern: $0) } }

    /// `length` bytes from `offset`, or nil if any of them lies outside.
    @inlinable
    public func slice(_ o: Int, _ length: Int) -> Bytes.SubSequence? {
        guard has(o, length) else { return nil }
        let base = bytes.startIndex + o
        return bytes[base..<(base + length)]
    }

    /// A fixed-width text field, cut at the first NUL (NIfTI `descrip`, `magic`).
    @inlinable
    public func text(_ o: Int, _ length: Int) -> String? {
        guard let s = slice(o, length) else { return nil }
        return String(decoding: s.prefix { $0 != 0 }, as: UTF8.self)
    }
}

extension ByteReader where Bytes == UnsafeRawBufferPointer {
    /// `length` bytes from `offset` as a buffer of their own (indices from 0), or nil if any of
    /// them lies outside: how records and operands are handed on without copying a memory map.
    @inlinable
    public func buffer(_ o: Int, _ length: Int) -> UnsafeRawBufferPointer? {
        guard has(o, length) else { return nil }
        return UnsafeRawBufferPointer(rebasing: bytes[o..<(o + length)])
    }
}

/// Fixed-layout little- or big-endian header writing (the counterpart of `ByteReader` for the
/// NIfTI writer): a zero-filled buffer of the header's size, written field by field.
public struct ByteWriter {
    public var bytes: [UInt8]
    public var bigEndian = false

    public init(size: Int) { bytes = [UInt8](repeating: 0, count: size) }

    private mutating func put(_ v: UInt64, _ o: Int, _ size: Int) {
        for k in 0..<size {
            let shift = bigEndian ? (size - 1 - k) * 8 : k * 8
            bytes[o + k] = UInt8(truncatingIfNeeded: v >> UInt64(shift))
        }
    }

    public mutating func u8(_ v: UInt8, at o: Int) { bytes[o] = v }
    public mutating func i16(_ v: Int16, at o: Int) { put(UInt64(UInt16(bitPattern: v)), o, 2) }
    public mutating func i32(_ v: Int32, at o: Int) { put(UInt64(UInt32(bitPattern: v)), o, 4) }
    public mutating func i64(_ v: Int64, at o: Int) { put(UInt64(bitPattern: v), o, 8) }
    public mutating func f32(_ v: Float, at o: Int) { put(UInt64(v.bitPattern), o, 4) }
    public mutating func f64(_ v: Double, at o: Int) { put(v.bitPattern, o, 8) }
    /// UTF-8 text in a fixed-width field, always leaving a terminating NUL.
    public mutating func text(_ s: String, at o: Int, width: Int) {
        for (k, b) in s.utf8.prefix(width - 1).enumerated() { bytes[o + k] = b }
    }
}

/// Overflow-checked arithmetic for sizes, counts and offsets read from files: nil instead of a
/// trap, so a hostile header becomes a typed error.
public enum CheckedMath {
    /// The product of non-negative `values`, or nil on a negative value or overflow.
    public static func product(_ values: [Int]) -> Int? {
        var p = 1
        for v in values {
            guard v >= 0 else { return nil }
            let (r, o) = p.multipliedReportingOverflow(by: v)
            if o { return nil }
            p = r
        }
        return p
    }

    public static func add(_ a: Int, _ b: Int) -> Int? {
        let (r, o) = a.addingReportingOverflow(b)
        return o ? nil : r
    }

    public static func multiply(_ a: Int, _ b: Int) -> Int? {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        return o ? nil : r
    }
}

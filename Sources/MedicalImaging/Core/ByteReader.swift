import Foundation

/// Bounds-checked little/big-endian reads from a byte buffer. Every read that would run past the
/// end returns `nil`, so parsers of untrusted files turn short input into a typed error, not a trap.
struct ByteReader {
    let bytes: [UInt8]
    var bigEndian: Bool

    init(_ bytes: [UInt8], bigEndian: Bool = false) {
        self.bytes = bytes
        self.bigEndian = bigEndian
    }

    var count: Int { bytes.count }

    func has(_ offset: Int, _ length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= bytes.count - length
    }

    private func raw(_ offset: Int, _ size: Int) -> UInt64? {
        guard has(offset, size) else { return nil }
        var v: UInt64 = 0
        if bigEndian {
            for k in 0..<size { v = v << 8 | UInt64(bytes[offset + k]) }
        } else {
            for k in stride(from: size - 1, through: 0, by: -1) { v = v << 8 | UInt64(bytes[offset + k]) }
        }
        return v
    }

    func u8(_ o: Int) -> UInt8? { has(o, 1) ? bytes[o] : nil }
    func u16(_ o: Int) -> UInt16? { raw(o, 2).map { UInt16(truncatingIfNeeded: $0) } }
    func i16(_ o: Int) -> Int16? { u16(o).map { Int16(bitPattern: $0) } }
    func u32(_ o: Int) -> UInt32? { raw(o, 4).map { UInt32(truncatingIfNeeded: $0) } }
    func i32(_ o: Int) -> Int32? { u32(o).map { Int32(bitPattern: $0) } }
    func u64(_ o: Int) -> UInt64? { raw(o, 8) }
    func i64(_ o: Int) -> Int64? { u64(o).map { Int64(bitPattern: $0) } }
    func f32(_ o: Int) -> Float? { u32(o).map { Float(bitPattern: $0) } }
    func f64(_ o: Int) -> Double? { u64(o).map { Double(bitPattern: $0) } }

    func slice(_ o: Int, _ length: Int) -> ArraySlice<UInt8>? {
        has(o, length) ? bytes[o..<(o + length)] : nil
    }

    /// A fixed-width text field, cut at the first NUL.
    func text(_ o: Int, _ length: Int) -> String? {
        guard let s = slice(o, length) else { return nil }
        let cut = s.prefix { $0 != 0 }
        return String(decoding: cut, as: UTF8.self)
    }
}

/// Little/big-endian appends for header writers.
struct ByteWriter {
    var bytes: [UInt8]
    var bigEndian = false

    init(size: Int) { bytes = [UInt8](repeating: 0, count: size) }

    private mutating func put(_ v: UInt64, _ o: Int, _ size: Int) {
        for k in 0..<size {
            let shift = bigEndian ? (size - 1 - k) * 8 : k * 8
            bytes[o + k] = UInt8(truncatingIfNeeded: v >> UInt64(shift))
        }
    }

    mutating func u8(_ v: UInt8, at o: Int) { bytes[o] = v }
    mutating func i16(_ v: Int16, at o: Int) { put(UInt64(UInt16(bitPattern: v)), o, 2) }
    mutating func i32(_ v: Int32, at o: Int) { put(UInt64(UInt32(bitPattern: v)), o, 4) }
    mutating func i64(_ v: Int64, at o: Int) { put(UInt64(bitPattern: v), o, 8) }
    mutating func f32(_ v: Float, at o: Int) { put(UInt64(v.bitPattern), o, 4) }
    mutating func f64(_ v: Double, at o: Int) { put(v.bitPattern, o, 8) }
    mutating func text(_ s: String, at o: Int, width: Int) {
        for (k, b) in s.utf8.prefix(width - 1).enumerated() { bytes[o + k] = b }
    }
}

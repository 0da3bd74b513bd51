/// Huffman decoding shared by the lossless (process 14) and 12-bit DCT JPEG decoders (ITU T.81).

/// A failure inside entropy-coded data.
struct JPEGEntropyError: Error {
    var message: String
}

struct JPEGHuffmanTable {
    var maxCode = [Int](repeating: -1, count: 17)
    var valuePointer = [Int](repeating: 0, count: 17)
    var minCode = [Int](repeating: 0, count: 17)
    var values: [UInt8] = []

    /// The canonical code assignment of T.81 Annex C from the BITS counts and HUFFVAL list.
    init(counts: [Int], values: [UInt8]) {
        self.values = values
        var code = 0, k = 0
        for length in 1...16 {
            let n = counts[length - 1]
            if n > 0 {
                valuePointer[length] = k
                minCode[length] = code
                code += n
                k += n
                maxCode[length] = code - 1
            }
            code <<= 1
        }
    }
}

/// Reads the entropy-coded bits of a scan: FF00 is a data FF; any other marker ends the data
/// (zeros are read after it, and the caller checks where the marker was).
struct JPEGBitReader {
    let data: UnsafeBufferPointer<UInt8>
    var position: Int
    var buffer: UInt32 = 0
    var count = 0
    var hitMarker = false

    mutating func bit() -> Int {
        if count == 0 { fill() }
        count -= 1
        return Int((buffer >> UInt32(count)) & 1)
    }

    mutating func bits(_ n: Int) -> Int {
        var v = 0
        for _ in 0..<n { v = (v << 1) | bit() }
        return v
    }

    private mutating func fill() {
        var byte: UInt8 = 0
        if !hitMarker && position < data.count {
            byte = data[position]
            if byte == 0xFF {
                let next = position + 1 < data.count ? data[position + 1] : 0xD9
                if next == 0x00 {
                    position += 2
                } else {
                    hitMarker = true
                    byte = 0
                }
            } else {
                position += 1
            }
        }
        buffer = UInt32(byte)
        count = 8
    }

    /// Drops the bits left in the current byte and steps over an RSTn marker.
    mutating func restart(expected n: Int) throws {
        count = 0
        hitMarker = false
        guard position + 1 < data.count, data[position] == 0xFF, data[position + 1] == 0xD0 + UInt8(n & 7) else {
            throw JPEGEntropyError(message: "expected restart marker RST\(n & 7) at byte \(position)")
        }
        position += 2
    }

    /// Where the scan's data ended: at the next marker, after skipping to it.
    mutating func endOfScan() -> Int {
        var p = position
        while p + 1 < data.count && !(data[p] == 0xFF && data[p + 1] != 0x00 && data[p + 1] != 0xFF) { p += 1 }
        return p
    }
}

extension JPEGHuffmanTable {
    /// The next Huffman-coded value (T.81 F.2.2.3).
    @inline(__always)
    func decode(_ reader: inout JPEGBitReader) throws -> Int {
        var code = 0
        for length in 1...16 {
            code = (code << 1) | reader.bit()
            if code <= maxCode[length] {
                // A malformed (over-full) table can put a code below its length's first code.
                let index = valuePointer[length] + code - minCode[length]
                guard index >= 0 && index < values.count else { break }
                return Int(values[index])
            }
        }
        throw JPEGEntropyError(message: reader.hitMarker ? "entropy-coded data ends before the image is complete" : "invalid Huffman code")
    }
}

extension JPEGBitReader {
    /// `n` more bits as a signed value (T.81 F.2.2.1 EXTEND).
    @inline(__always)
    mutating func extended(_ n: Int) -> Int {
        let v = bits(n)
        return v < 1 << (n - 1) ? v - (1 << n) + 1 : v
    }
}

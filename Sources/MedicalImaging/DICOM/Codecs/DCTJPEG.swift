import Foundation

/// A decoder for greyscale sequential DCT JPEG with Huffman coding (ITU T.81 baseline and extended,
/// SOF0/SOF1) at 8 or 12 bits: the 12-bit codestreams of DICOM transfer syntax
/// 1.2.840.10008.1.2.4.51 (process 4).
///
/// Written here because Debian 12's libjpeg-turbo 2.1 is built for 8-bit samples only (12-bit
/// needs a second build of the library that Debian does not ship); 8-bit files still go to
/// libjpeg-turbo. The inverse DCT is the exact separable cosine sum in double precision, so
/// values can differ by one grey level from a library's fixed-point IDCT (both are within T.81's
/// accuracy requirement).
enum DCTJPEG {
    struct Decoded {
        var width: Int
        var height: Int
        var precision: Int
        var samples: [UInt16]
    }

    /// Zig-zag position k -> natural (row-major) index in the 8x8 block (T.81 Figure A.6).
    static let zigzag: [Int] = [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
        28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54,
        47, 55, 62, 63,
    ]

    /// c[x * 8 + u] = C(u)/2 cos((2x+1) u pi / 16), the 1-D inverse DCT basis.
    static let basis: [Double] = (0..<64).map { i in
        let x = Double(i / 8), u = Double(i % 8)
        return (u == 0 ? 1 / 2.0.squareRoot() : 1) / 2 * cos((2 * x + 1) * u * Double.pi / 16)
    }

    private static func fail(_ m: String) -> LosslessJPEG.Failure { LosslessJPEG.Failure(unsupported: false, message: m) }

    static func decode(_ data: [UInt8]) throws -> Decoded {
        do { return try data.withUnsafeBufferPointer { try decode($0) } } catch let e as JPEGEntropyError { throw fail(e.message) }
    }

    private static func decode(_ data: UnsafeBufferPointer<UInt8>) throws -> Decoded {
        guard data.count >= 4, data[0] == 0xFF, data[1] == 0xD8 else { throw fail("no JPEG start-of-image marker (FFD8)") }
        func u16(_ p: Int) throws -> Int {
            guard p + 1 < data.count else { throw fail("marker segment runs past the end of the codestream") }
            return Int(data[p]) << 8 | Int(data[p + 1])
        }
        var position = 2
        var dcTables = [JPEGHuffmanTable?](repeating: nil, count: 4)
        var acTables = [JPEGHuffmanTable?](repeating: nil, count: 4)
        var quant = [[Int]?](repeating: nil, count: 4)
        var restartInterval = 0
        var precision = 0, width = 0, height = 0, quantTable = 0
        var samples: [UInt16]? = nil
        while true {
            guard position + 1 < data.count else { throw fail("codestream ends without an end-of-image marker (FFD9)") }
            guard data[position] == 0xFF else { throw fail("expected a marker at byte \(position), found \(data[position])") }
            let marker = data[position + 1]
            position += 2
            switch marker {
            case 0xFF: position -= 1
            case 0xD9:
                guard let samples else { throw fail("end of image before any scan") }
                return Decoded(width: width, height: height, precision: precision, samples: samples)
            case 0xC0, 0xC1:
                let length = try u16(position)
                guard position + length <= data.count, length >= 8 else { throw fail("SOF segment is truncated") }
                precision = Int(data[position + 2])
                height = try u16(position + 3)
                width = try u16(position + 5)
                let n = Int(data[position + 7])
                guard precision == 8 || precision == 12, width > 0, height > 0, length == 8 + 3 * n,
                      width * height <= 1 << 28 else {
                    throw fail("SOF declares precision \(precision), \(width)x\(height), \(n) components (segment length \(length))")
                }
                guard n == 1 else {
                    throw LosslessJPEG.Failure(unsupported: true, message: "DCT JPEG with \(n) components; only greyscale (1) is decoded here")
                }
                quantTable = Int(data[position + 10])
                guard quantTable < 4 else { throw fail("component uses quantisation table \(quantTable)") }
                position += length
            case 0xC2...0xC3, 0xC5...0xC7, 0xC9...0xCB, 0xCD...0xCF:
                throw LosslessJPEG.Failure(unsupported: true, message: "frame type SOF\(marker - 0xC0) is not sequential Huffman DCT")
            case 0xDB:
                let length = try u16(position)
                guard position + length <= data.count else { throw fail("DQT segment is truncated") }
                var p = position + 2
                while p < position + length {
                    let pq = Int(data[p] >> 4), tq = Int(data[p] & 15)
                    let size = pq == 0 ? 1 : 2
                    guard pq <= 1, tq < 4, p + 1 + 64 * size <= position + length else { throw fail("DQT table \(tq) is malformed") }
                    var table = [Int](repeating: 0, count: 64)
                    for k in 0..<64 {
                        let v = size == 1 ? Int(data[p + 1 + k]) : Int(data[p + 1 + 2 * k]) << 8 | Int(data[p + 2 + 2 * k])
                        table[zigzag[k]] = v
                    }
                    quant[tq] = table
                    p += 1 + 64 * size
                }
                position += length
            case 0xC4:
                let length = try u16(position)
                guard position + length <= data.count else { throw fail("DHT segment is truncated") }
                var p = position + 2
                while p < position + length {
                    let tc = Int(data[p] >> 4), th = Int(data[p] & 15)
                    guard tc <= 1, th < 4, p + 17 <= position + length else { throw fail("DHT table class \(tc) id \(th) is malformed") }
                    let counts = (0..<16).map { Int(data[p + 1 + $0]) }
                    let total = counts.reduce(0, +)
                    guard total <= 256, p + 17 + total <= position + length else { throw fail("DHT table \(th) lists \(total) codes past the segment end") }
                    let table = JPEGHuffmanTable(counts: counts, values: Array(data[(p + 17)..<(p + 17 + total)]))
                    if tc == 0 { dcTables[th] = table } else { acTables[th] = table }
                    p += 17 + total
                }
                position += length
            case 0xDD:
                guard try u16(position) == 4 else { throw fail("DRI segment length is not 4") }
                restartInterval = try u16(position + 2)
                position += 4
            case 0xDA:
                guard precision > 0 else { throw fail("scan before the frame header (SOF)") }
                let length = try u16(position)
                guard position + length <= data.count, length == 8, data[position + 2] == 1 else {
                    throw fail("SOS segment must name the one component (length \(length))")
                }
                let td = Int(data[position + 4] >> 4), ta = Int(data[position + 4] & 15)
                guard td < 4, ta < 4, let dc = dcTables[td], let ac = acTables[ta] else {
                    throw fail("scan uses undefined Huffman tables DC \(td) / AC \(ta)")
                }
                guard let q = quant[quantTable] else { throw fail("quantisation table \(quantTable) is not defined") }
                position += length
                var reader = JPEGBitReader(data: data, position: position)
                samples = try decodeScan(&reader, dc: dc, ac: ac, quant: q, width: width, height: height,
                                         precision: precision, restartInterval: restartInterval)
                position = reader.endOfScan()
            case 0xD0...0xD7, 0x01:
                continue
            default:
                position += try u16(position)
            }
        }
    }

    private static func decodeScan(_ reader: inout JPEGBitReader, dc: JPEGHuffmanTable, ac: JPEGHuffmanTable, quant: [Int],
                                   width: Int, height: Int, precision: Int, restartInterval: Int) throws -> [UInt16] {
        let bw = (width + 7) / 8, bh = (height + 7) / 8
        var out = [UInt16](repeating: 0, count: width * height)
        var prediction = 0, restarts = 0
        var coefficients = [Double](repeating: 0, count: 64)
        var temp = [Double](repeating: 0, count: 64)
        let shift = Double(1 << (precision - 1)), maxValue = Double((1 << precision) - 1)
        for b in 0..<(bw * bh) {
            if restartInterval > 0 && b > 0 && b % restartInterval == 0 {
                try reader.restart(expected: restarts)
                restarts += 1
                prediction = 0
            }
            for i in 0..<64 { coefficients[i] = 0 }
            let s = try dc.decode(&reader)
            guard s <= 16 else { throw fail("DC category \(s) exceeds 16") }
            prediction += s == 0 ? 0 : reader.extended(s)
            coefficients[0] = Double(prediction * quant[0])
            var k = 1
            while k < 64 {
                let rs = try ac.decode(&reader)
                let run = rs >> 4, size = rs & 15
                if size == 0 {
                    if run == 15 { k += 16; continue }
                    break
                }
                k += run
                guard k < 64 else { throw fail("AC coefficients run past the end of a block") }
                let z = zigzag[k]
                coefficients[z] = Double(reader.extended(size) * quant[z])
                k += 1
            }
            // Rows then columns of the separable inverse DCT.
            for y in 0..<8 {
                for x in 0..<8 {
                    var sum = 0.0
                    for u in 0..<8 { sum += basis[x * 8 + u] * coefficients[y * 8 + u] }
                    temp[y * 8 + x] = sum
                }
            }
            let bx = (b % bw) * 8, by = (b / bw) * 8
            for x in 0..<8 where bx + x < width {
                for y in 0..<8 where by + y < height {
                    var sum = 0.0
                    for v in 0..<8 { sum += basis[y * 8 + v] * temp[v * 8 + x] }
                    out[(by + y) * width + bx + x] = UInt16(min(maxValue, max(0, (sum + shift).rounded())))
                }
            }
        }
        return out
    }
}

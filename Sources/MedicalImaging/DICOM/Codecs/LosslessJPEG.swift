/// A decoder for lossless JPEG (ITU T.81 process 14: Huffman-coded prediction differences, any
/// precision from 2 to 16 bits, predictors 1 to 7, point transform), the codestream of DICOM
/// transfer syntaxes 1.2.840.10008.1.2.4.57 and .70.
///
/// Written here because the libjpeg-turbo in Debian 12 (2.1) has no lossless decoding (that
/// arrived in libjpeg-turbo 3.0) and neither CharLS nor OpenJPEG reads this format.
/// Components must not be subsampled (DICOM's lossless images never are).
enum LosslessJPEG {
    struct Decoded {
        var width: Int
        var height: Int
        var precision: Int
        /// Components interleaved per pixel, row by row.
        var components: Int
        var samples: [UInt16]
    }

    struct Failure: Error {
        var unsupported: Bool
        var message: String
    }

    private struct Component {
        var id: Int
        var table = 0
    }

    static func decode(_ data: [UInt8]) throws -> Decoded {
        do { return try data.withUnsafeBufferPointer { try decode($0) } } catch let e as JPEGEntropyError { throw fail(e.message) }
    }

    private static func fail(_ m: String) -> Failure { Failure(unsupported: false, message: m) }

    private static func decode(_ data: UnsafeBufferPointer<UInt8>) throws -> Decoded {
        guard data.count >= 4, data[0] == 0xFF, data[1] == 0xD8 else { throw fail("no JPEG start-of-image marker (FFD8)") }
        func u16(_ p: Int) throws -> Int {
            guard p + 1 < data.count else { throw fail("marker segment runs past the end of the codestream") }
            return Int(data[p]) << 8 | Int(data[p + 1])
        }
        var position = 2
        var tables = [JPEGHuffmanTable?](repeating: nil, count: 4)
        var restartInterval = 0
        var precision = 0, width = 0, height = 0
        var components: [Component] = []
        var planes: [[UInt16]] = []
        var scanned: Set<Int> = []
        while true {
            guard position + 1 < data.count else { throw fail("codestream ends without an end-of-image marker (FFD9)") }
            guard data[position] == 0xFF else { throw fail("expected a marker at byte \(position), found \(data[position])") }
            let marker = data[position + 1]
            position += 2
            switch marker {
            case 0xFF: position -= 1  // fill byte before a marker
            case 0xD9:
                guard !planes.isEmpty, scanned.count == components.count else {
                    throw fail("end of image before every component was decoded")
                }
                var samples = [UInt16](repeating: 0, count: width * height * components.count)
                for (c, plane) in planes.enumerated() {
                    for i in 0..<(width * height) { samples[i * components.count + c] = plane[i] }
                }
                return Decoded(width: width, height: height, precision: precision, components: components.count, samples: samples)
            case 0xC3:
                let length = try u16(position)
                guard position + length <= data.count, length >= 8 else { throw fail("SOF3 segment is truncated") }
                precision = Int(data[position + 2])
                height = try u16(position + 3)
                width = try u16(position + 5)
                let n = Int(data[position + 7])
                // The caller has matched the first frame header to the DICOM size; a later one must
                // not claim more (its planes are allocated here).
                guard (2...16).contains(precision), width > 0, height > 0, n >= 1, length == 8 + 3 * n,
                      width * height * n <= 1 << 28 else {
                    throw fail("SOF3 declares precision \(precision), \(width)x\(height), \(n) components (segment length \(length))")
                }
                components = []
                for k in 0..<n {
                    let p = position + 8 + 3 * k
                    guard data[p + 1] == 0x11 else {
                        throw Failure(unsupported: true, message: "component \(k + 1) is subsampled (sampling factors \(data[p + 1] >> 4)x\(data[p + 1] & 15)); only 1x1 is supported")
                    }
                    components.append(Component(id: Int(data[p])))
                }
                planes = [[UInt16]](repeating: [UInt16](repeating: 0, count: width * height), count: n)
                position += length
            case 0xC4:
                let length = try u16(position)
                guard position + length <= data.count else { throw fail("DHT segment is truncated") }
                var p = position + 2
                while p < position + length {
                    let tc = Int(data[p] >> 4), th = Int(data[p] & 15)
                    guard tc == 0, th < 4, p + 17 <= position + length else {
                        throw fail("DHT table class \(tc) id \(th) is not a lossless (DC) table 0-3")
                    }
                    let counts = (0..<16).map { Int(data[p + 1 + $0]) }
                    let total = counts.reduce(0, +)
                    guard total <= 256, p + 17 + total <= position + length else { throw fail("DHT table \(th) lists \(total) codes past the segment end") }
                    tables[th] = JPEGHuffmanTable(counts: counts, values: Array(data[(p + 17)..<(p + 17 + total)]))
                    p += 17 + total
                }
                position += length
            case 0xDD:
                guard try u16(position) == 4 else { throw fail("DRI segment length is not 4") }
                restartInterval = try u16(position + 2)
                position += 4
            case 0xDA:
                guard !planes.isEmpty else { throw fail("scan before the frame header (SOF3)") }
                let length = try u16(position)
                guard position + length <= data.count, length >= 6 else { throw fail("SOS segment is truncated") }
                let ns = Int(data[position + 2])
                guard ns >= 1, length == 6 + 2 * ns else { throw fail("SOS segment length \(length) does not fit \(ns) components") }
                var scan: [Int] = []
                for k in 0..<ns {
                    let id = Int(data[position + 3 + 2 * k])
                    guard let c = components.firstIndex(where: { $0.id == id }) else { throw fail("scan names unknown component \(id)") }
                    let table = Int(data[position + 4 + 2 * k] >> 4)
                    guard table < 4, tables[table] != nil else { throw fail("scan component \(id) uses undefined Huffman table \(table)") }
                    components[c].table = table
                    scan.append(c)
                }
                let predictor = Int(data[position + 3 + 2 * ns])
                let pointTransform = Int(data[position + 5 + 2 * ns] & 15)
                guard (1...7).contains(predictor), pointTransform < precision else {
                    throw fail("scan predictor \(predictor) / point transform \(pointTransform) out of range")
                }
                position += length
                var reader = JPEGBitReader(data: data, position: position)
                try decodeScan(&reader, scan: scan, tables: scan.map { tables[components[$0].table]! }, planes: &planes,
                               width: width, height: height, precision: precision, predictor: predictor,
                               pointTransform: pointTransform, restartInterval: restartInterval)
                scanned.formUnion(scan)
                position = reader.endOfScan()
            case 0xD0...0xD7, 0x01:
                continue
            case 0xC0...0xCF where marker != 0xC4 && marker != 0xC8 && marker != 0xCC:
                throw Failure(unsupported: true, message: "frame type SOF\(marker - 0xC0) (marker FF\(String(marker, radix: 16, uppercase: true))) is not lossless process 14")
            default:
                // APPn, COM, DQT, DNL and other segments do not affect a lossless image.
                position += try u16(position)
            }
        }
    }

    private static func decodeScan(_ reader: inout JPEGBitReader, scan: [Int], tables: [JPEGHuffmanTable], planes: inout [[UInt16]],
                                   width: Int, height: Int, precision: Int, predictor: Int,
                                   pointTransform: Int, restartInterval: Int) throws {
        let initial = 1 << (precision - pointTransform - 1)
        var mcus = 0, restarts = 0
        var firstRow = true
        for y in 0..<height {
            if restartInterval > 0 && mcus > 0 && mcus % restartInterval == 0 {
                try reader.restart(expected: restarts)
                restarts += 1
                firstRow = true
            }
            for x in 0..<width {
                if x > 0 && restartInterval > 0 && mcus % restartInterval == 0 {
                    throw Failure(unsupported: true, message: "restart interval \(restartInterval) does not end at a row end")
                }
                let i = y * width + x
                for (s, c) in scan.enumerated() {
                    let diff = try difference(&reader, tables[s])
                    let prediction: Int
                    if firstRow {
                        prediction = x == 0 ? initial : Int(planes[c][i - 1])
                    } else if x == 0 {
                        prediction = Int(planes[c][i - width])
                    } else {
                        let a = Int(planes[c][i - 1]), b = Int(planes[c][i - width]), d = Int(planes[c][i - width - 1])
                        switch predictor {
                        case 1: prediction = a
                        case 2: prediction = b
                        case 3: prediction = d
                        case 4: prediction = a + b - d
                        case 5: prediction = a + ((b - d) >> 1)
                        case 6: prediction = b + ((a - d) >> 1)
                        default: prediction = (a + b) >> 1
                        }
                    }
                    // Reconstruction is modulo 2^16 (T.81 H.2.1).
                    planes[c][i] = UInt16(truncatingIfNeeded: prediction + diff)
                }
                mcus += 1
            }
            firstRow = false
        }
        if pointTransform > 0 {
            for c in scan {
                for i in 0..<planes[c].count { planes[c][i] = planes[c][i] << UInt16(pointTransform) }
            }
        }
    }

    /// One Huffman-coded difference (T.81 H.1.2.2: category, then that many extra bits).
    @inline(__always)
    private static func difference(_ reader: inout JPEGBitReader, _ table: JPEGHuffmanTable) throws -> Int {
        let category = try table.decode(&reader)
        switch category {
        case 0: return 0
        case 16: return 32768
        case 1...15: return reader.extended(category)
        default: throw fail("difference category \(category) exceeds 16")
        }
    }
}

/// A JPEG-LS decoder (ITU-T T.87), for DICOM's JPEG-LS transfer syntaxes (1.2.840.10008.1.2.4.80/81).
///
/// Written here rather than called from CharLS: Debian 12's CharLS 2.4.1 computes a run-mode
/// Golomb parameter in a loop that corrupt data can keep going for billions of iterations
/// (fixed upstream after 2.4.4, team-charls/charls#334). A 738-byte DICOM file found by fuzzing
/// (Tests/MedicalImagingTests/Fixtures/fuzz/dicom-jpegls-charls-slow.dcm) kept one core busy for
/// 6-25 s, a denial of service for `medsam serve` uploads. Here every loop is bounded by the bits
/// it reads or by a constant, and every value read is range-checked before it enters the context
/// state, so corrupt data costs at most the time of a valid frame of the same size. CharLS stays
/// the tests' oracle (`JPEGLSCodecTests` encode with it and compare both decoders).
///
/// Supported: 2-16 bits per sample, lossless and near-lossless, preset coding parameters (LSE 1),
/// restart intervals, one to four components in separate scans, line-interleaved or
/// sample-interleaved scans. Refused with a message: mapping tables (palettes, LSE 2/3 and the
/// scan's Tm), oversize dimensions (LSE 4, or a height of 0 defined by DNL), point transforms,
/// subsampled components and HP colour transforms (APP8 "mrfx"), none of which DICOM allows.

/// A malformed or unsupported JPEG-LS stream.
public struct JPEGLSError: Error, CustomStringConvertible {
    public enum Kind: Sendable { case corrupt, truncated, unsupported }
    public var kind: Kind
    /// What is wrong, naming the marker segment or value.
    public var message: String
    public var description: String { "JPEG-LS: \(message)" }
    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// A decoded JPEG-LS image.
public struct JPEGLSImage: Sendable {
    public var width: Int
    public var height: Int
    public var components: Int
    public var bitsPerSample: Int
    /// Samples row-major, the components of a pixel next to each other.
    public var samples: [UInt16]
    /// How the scan(s) were interleaved: 0 none (a scan per component), 1 by line, 2 by sample.
    public var interleave: Int
}

/// What a JPEG-LS frame header (SOF55) declares.
public struct JPEGLSFrameInfo: Sendable {
    public var width: Int
    public var height: Int
    public var components: Int
    public var bitsPerSample: Int
}

public enum JPEGLSCodec {
    /// Decodes a whole JPEG-LS stream (SOI to EOI); throws `JPEGLSError` for anything else.
    ///
    /// - Parameter accept: called with the frame header before the samples are allocated, so a
    ///   caller that knows the image's size (DICOM's Rows and Columns) refuses a frame declaring
    ///   another one without allocating what the header claims; what it throws is rethrown.
    ///   Frames over `Image.maxSamples` samples are refused in any case.
    public static func decode(_ stream: [UInt8], accept: (JPEGLSFrameInfo) throws -> Void = { _ in }) throws -> JPEGLSImage {
        try stream.withUnsafeBufferPointer { try decode($0, accept: accept) }
    }

    static func decode(_ data: UnsafeBufferPointer<UInt8>, accept: (JPEGLSFrameInfo) throws -> Void) throws -> JPEGLSImage {
        var reader = MarkerReader(data: data)
        guard data.count >= 2, data[0] == 0xFF, data[1] == 0xD8 else {
            throw JPEGLSError(.corrupt, "the stream does not start with a JPEG SOI marker (FF D8)")
        }
        reader.position = 2
        var frame: Frame?
        var presets = Presets()
        var restartInterval = 0
        var image: JPEGLSImage?
        var decoded: [Bool] = []
        var interleave: Int?
        while true {
            let marker = try reader.nextMarker()
            switch marker {
            case 0xD9:  // EOI
                guard let frame, var image else {
                    throw JPEGLSError(.corrupt, "the stream ends (EOI) before any frame (SOF55) and scan")
                }
                if let missing = decoded.firstIndex(of: false) {
                    throw JPEGLSError(.truncated, "the stream ends (EOI) before a scan of component \(frame.componentIDs[missing])")
                }
                image.interleave = interleave ?? 0
                return image
            case 0xF7:  // SOF55, JPEG-LS frame
                guard frame == nil else { throw JPEGLSError(.corrupt, "a second frame header (SOF55)") }
                let f = try reader.frameHeader()
                try accept(JPEGLSFrameInfo(width: f.width, height: f.height, components: f.componentIDs.count, bitsPerSample: f.bitsPerSample))
                frame = f
                decoded = [Bool](repeating: false, count: f.componentIDs.count)
                image = JPEGLSImage(width: f.width, height: f.height, components: f.componentIDs.count,
                                    bitsPerSample: f.bitsPerSample,
                                    samples: [UInt16](repeating: 0, count: f.width * f.height * f.componentIDs.count),
                                    interleave: 0)
            case 0xF8:  // LSE
                try reader.presetParameters(into: &presets)
            case 0xDD:  // DRI
                restartInterval = try reader.restartInterval()
            case 0xDA:  // SOS
                guard let frame, image != nil else {
                    throw JPEGLSError(.corrupt, "a scan (SOS) before the frame header (SOF55)")
                }
                let scan = try reader.scanHeader(frame: frame)
                for c in scan.components {
                    guard !decoded[c] else {
                        throw JPEGLSError(.corrupt, "component \(frame.componentIDs[c]) has a second scan")
                    }
                    decoded[c] = true
                }
                if let interleave, interleave != scan.interleave {
                    throw JPEGLSError(.unsupported, "scans with different interleave modes (\(interleave), \(scan.interleave))")
                }
                interleave = scan.interleave
                let parameters = try CodingParameters(bitsPerSample: frame.bitsPerSample, near: scan.near, presets: presets)
                let end = reader.entropyCodedEnd()
                var decoder = ScanDecoder(frame: frame, scan: scan, parameters: parameters,
                                          bits: BitReader(data: data, position: reader.position, end: end),
                                          restartInterval: restartInterval)
                try decoder.decode(into: &image!.samples)
                reader.position = end
            case 0xE0...0xEF:
                try reader.applicationSegment(marker)
            case 0xFE:
                try reader.skipSegment()
            case 0xD8:
                throw JPEGLSError(.corrupt, "a second SOI marker")
            case 0xC0...0xCF where marker != 0xC4 && marker != 0xC8 && marker != 0xCC:
                throw JPEGLSError(.corrupt, "a JPEG (T.81) frame header FF \(String(marker, radix: 16, uppercase: true)), not JPEG-LS's SOF55 (FF F7)")
            case 0xD0...0xD7:
                throw JPEGLSError(.corrupt, "a restart marker FF \(String(marker, radix: 16, uppercase: true)) outside a scan")
            default:
                throw JPEGLSError(.corrupt, "an unexpected marker FF \(String(marker, radix: 16, uppercase: true))")
            }
        }
    }

    // MARK: - Headers

    struct Frame {
        var bitsPerSample: Int
        var width: Int
        var height: Int
        var componentIDs: [UInt8]
    }

    /// LSE type 1 values; 0 means "the default" (T.87 C.2.4.1.1).
    struct Presets {
        var maxVal = 0, t1 = 0, t2 = 0, t3 = 0, reset = 0
    }

    struct Scan {
        /// Indices into the frame's components, in the scan's order.
        var components: [Int]
        var near: Int
        var interleave: Int
    }

    /// Walks marker segments between scans.
    struct MarkerReader {
        let data: UnsafeBufferPointer<UInt8>
        var position = 0

        mutating func byte() throws -> Int {
            guard position < data.count else { throw JPEGLSError(.truncated, "the stream ends inside a marker segment") }
            defer { position += 1 }
            return Int(data[position])
        }

        mutating func word() throws -> Int { try byte() << 8 | byte() }

        /// The next marker code; fill bytes (FF FF ...) before it are skipped.
        mutating func nextMarker() throws -> Int {
            guard position < data.count else { throw JPEGLSError(.truncated, "the stream ends without an EOI marker") }
            guard data[position] == 0xFF else {
                throw JPEGLSError(.corrupt, "a marker was expected at byte \(position), found \(data[position])")
            }
            var code = try byte()
            while code == 0xFF { code = try byte() }
            return code
        }

        /// The segment's length field, checked against what is left, and the offset past it.
        mutating func segment(minimum: Int) throws -> (length: Int, end: Int) {
            let start = position
            let length = try word()
            guard length >= minimum else { throw JPEGLSError(.corrupt, "a marker segment of \(length) bytes (at least \(minimum) expected)") }
            guard start + length <= data.count else { throw JPEGLSError(.truncated, "a marker segment of \(length) bytes runs past the end of the stream") }
            return (length, start + length)
        }

        mutating func skipSegment() throws {
            position = try segment(minimum: 2).end
        }

        mutating func frameHeader() throws -> Frame {
            let (length, end) = try segment(minimum: 6)
            let bits = try byte(), height = try word(), width = try word(), count = try byte()
            guard (2...16).contains(bits) else { throw JPEGLSError(.corrupt, "SOF55 gives \(bits) bits per sample (2-16 expected)") }
            guard height > 0 else { throw JPEGLSError(.unsupported, "SOF55 gives a height of 0 (set later by a DNL marker)") }
            guard width > 0 else { throw JPEGLSError(.corrupt, "SOF55 gives a width of 0") }
            guard (1...4).contains(count) else { throw JPEGLSError(.unsupported, "SOF55 gives \(count) components (1-4 handled)") }
            guard length == 8 + 3 * count else { throw JPEGLSError(.corrupt, "SOF55 is \(length) bytes for \(count) components (\(8 + 3 * count) expected)") }
            var ids: [UInt8] = []
            for _ in 0..<count {
                let id = UInt8(try byte()), sampling = try byte()
                _ = try byte()  // Tq: 0 in JPEG-LS
                guard !ids.contains(id) else { throw JPEGLSError(.corrupt, "SOF55 names component \(id) twice") }
                guard sampling == 0x11 else {
                    throw JPEGLSError(.unsupported, "component \(id) is subsampled (sampling factors \(String(sampling, radix: 16, uppercase: true)); 11 handled)")
                }
                ids.append(id)
            }
            guard width * height * count <= Image.maxSamples else {
                throw JPEGLSError(.unsupported, "SOF55 gives \(width)x\(height) x \(count) samples, which exceeds the limit of \(Image.maxSamples) samples")
            }
            position = end
            return Frame(bitsPerSample: bits, width: width, height: height, componentIDs: ids)
        }

        mutating func presetParameters(into presets: inout Presets) throws {
            let (length, end) = try segment(minimum: 3)
            let id = try byte()
            switch id {
            case 1:
                guard length == 13 else { throw JPEGLSError(.corrupt, "LSE preset parameters are \(length) bytes (13 expected)") }
                presets = Presets(maxVal: try word(), t1: try word(), t2: try word(), t3: try word(), reset: try word())
            case 2, 3:
                throw JPEGLSError(.unsupported, "LSE mapping tables (palettes) are not handled")
            case 4:
                throw JPEGLSError(.unsupported, "LSE oversize image dimensions are not handled")
            default:
                throw JPEGLSError(.corrupt, "an LSE segment of unknown type \(id)")
            }
            position = end
        }

        mutating func restartInterval() throws -> Int {
            let (length, end) = try segment(minimum: 4)
            guard (4...6).contains(length) else { throw JPEGLSError(.corrupt, "DRI is \(length) bytes (4 to 6 expected)") }
            var value = 0
            for _ in 0..<(length - 2) { value = value << 8 | (try byte()) }
            position = end
            return value
        }

        mutating func applicationSegment(_ marker: Int) throws {
            let (length, end) = try segment(minimum: 2)
            // HP's colour transforms (APP8 "mrfx", CharLS writes it) change the meaning of the
            // samples; DICOM does not allow them.
            if marker == 0xE8, length >= 7, data[position] == 0x6D, data[position + 1] == 0x72,
               data[position + 2] == 0x66, data[position + 3] == 0x78, data[position + 4] != 0 {
                throw JPEGLSError(.unsupported, "an HP colour transform (APP8 mrfx \(data[position + 4])), which DICOM does not allow")
            }
            position = end
        }

        mutating func scanHeader(frame: Frame) throws -> Scan {
            let (length, end) = try segment(minimum: 6)
            let count = try byte()
            guard (1...4).contains(count), length == 6 + 2 * count else {
                throw JPEGLSError(.corrupt, "SOS is \(length) bytes for \(count) components")
            }
            var components: [Int] = []
            for _ in 0..<count {
                let id = UInt8(try byte()), table = try byte()
                guard let index = frame.componentIDs.firstIndex(of: id) else {
                    throw JPEGLSError(.corrupt, "SOS names component \(id), which SOF55 does not define")
                }
                guard !components.contains(index) else { throw JPEGLSError(.corrupt, "SOS names component \(id) twice") }
                guard table == 0 else { throw JPEGLSError(.unsupported, "component \(id) uses mapping table \(table) (palettes are not handled)") }
                components.append(index)
            }
            let near = try byte(), interleave = try byte(), transform = try byte()
            guard transform == 0 else { throw JPEGLSError(.unsupported, "a point transform (Al = \(transform & 15)) is not handled") }
            switch interleave {
            case 0 where count == 1, 1, 2: break
            case 0: throw JPEGLSError(.corrupt, "SOS has \(count) components without interleaving (ILV 0 takes one)")
            default: throw JPEGLSError(.corrupt, "SOS gives interleave mode \(interleave) (0, 1 or 2 expected)")
            }
            position = end
            return Scan(components: components, near: near, interleave: count == 1 ? 0 : interleave)
        }

        /// Where the entropy-coded data that starts at `position` ends: the first marker, FF
        /// followed by a byte with its high bit set (T.87 A.1), other than a restart marker. A
        /// stream that ends without one ends there.
        func entropyCodedEnd() -> Int {
            var i = position
            while i + 1 < data.count {
                if data[i] == 0xFF && data[i + 1] >= 0x80 && !(0xD0...0xD7).contains(data[i + 1]) {
                    // Fill bytes (FF FF ...) before the marker belong to it.
                    return i
                }
                i += 1
            }
            return data.count
        }
    }

    // MARK: - Coding parameters (T.87 C.2.4.1)

    struct CodingParameters {
        var maxVal: Int
        var near: Int
        var t1: Int, t2: Int, t3: Int
        var reset: Int
        var range: Int
        var qbpp: Int
        var limit: Int

        init(bitsPerSample: Int, near: Int, presets: Presets) throws {
            let maxVal = presets.maxVal != 0 ? presets.maxVal : (1 << bitsPerSample) - 1
            guard maxVal < 1 << bitsPerSample else {
                throw JPEGLSError(.corrupt, "LSE MAXVAL \(maxVal) does not fit \(bitsPerSample) bits per sample")
            }
            guard near <= min(255, maxVal / 2) else {
                throw JPEGLSError(.corrupt, "SOS NEAR \(near) is over min(255, MAXVAL / 2) = \(min(255, maxVal / 2))")
            }
            self.maxVal = maxVal
            self.near = near
            // The default thresholds (T.87 C.2.4.1.1.1, basic values 3, 7, 21), then the preset ones.
            func clamp(_ i: Int, _ j: Int) -> Int { i > maxVal || i < j ? j : i }
            var d1: Int, d2: Int, d3: Int
            if maxVal >= 128 {
                let factor = (min(maxVal, 4095) + 128) / 256
                d1 = clamp(factor * (3 - 2) + 2 + 3 * near, near + 1)
                d2 = clamp(factor * (7 - 3) + 3 + 5 * near, d1)
                d3 = clamp(factor * (21 - 4) + 4 + 7 * near, d2)
            } else {
                let factor = 256 / (maxVal + 1)
                d1 = clamp(max(2, 3 / factor + 3 * near), near + 1)
                d2 = clamp(max(3, 7 / factor + 5 * near), d1)
                d3 = clamp(max(4, 21 / factor + 7 * near), d2)
            }
            t1 = presets.t1 != 0 ? presets.t1 : d1
            t2 = presets.t2 != 0 ? presets.t2 : d2
            t3 = presets.t3 != 0 ? presets.t3 : d3
            reset = presets.reset != 0 ? presets.reset : 64
            guard (near + 1...maxVal).contains(t1), (t1...maxVal).contains(t2), (t2...maxVal).contains(t3) else {
                throw JPEGLSError(.corrupt, "LSE thresholds T1 \(t1), T2 \(t2), T3 \(t3) are not within NEAR + 1 <= T1 <= T2 <= T3 <= MAXVAL \(maxVal)")
            }
            guard (3...max(255, maxVal)).contains(reset) else {
                throw JPEGLSError(.corrupt, "LSE RESET \(reset) is outside 3...\(max(255, maxVal))")
            }
            range = (maxVal + 2 * near) / (2 * near + 1) + 1
            qbpp = ceilLog2(range)
            let bpp = max(2, ceilLog2(maxVal + 1))
            limit = 2 * (bpp + max(8, bpp))
        }
    }

    static func ceilLog2(_ n: Int) -> Int {
        var bits = 0
        while (1 << bits) < n { bits += 1 }
        return bits
    }

    // MARK: - Entropy-coded data

    /// Reads bits MSB first. After an FF byte the next byte's high bit is a stuffed 0 (T.87 A.1),
    /// so only its low 7 bits are data. Stops at a marker: bits past it are a truncated stream.
    struct BitReader {
        let data: UnsafeBufferPointer<UInt8>
        var position: Int
        let end: Int
        var cache: UInt64 = 0  // valid bits left-aligned
        var valid = 0
        var afterFF = false

        init(data: UnsafeBufferPointer<UInt8>, position: Int, end: Int) {
            self.data = data
            self.position = position
            self.end = end
        }

        mutating func fill() {
            while valid <= 56 && position < end {
                let byte = data[position]
                if afterFF {
                    // The marker search guarantees the high bit is 0 here.
                    cache |= UInt64(byte & 0x7F) << UInt64(57 - valid)
                    valid += 7
                } else {
                    if byte == 0xFF && (position + 1 >= end || data[position + 1] >= 0x80) { return }  // a marker
                    cache |= UInt64(byte) << UInt64(56 - valid)
                    valid += 8
                }
                afterFF = byte == 0xFF
                position += 1
            }
        }

        @inline(__always)
        mutating func bits(_ n: Int) throws -> Int {
            if n == 0 { return 0 }
            if valid < n {
                fill()
                guard valid >= n else { throw JPEGLSError(.truncated, "the scan's data ends early") }
            }
            let value = Int(cache >> UInt64(64 - n))
            cache <<= UInt64(n)
            valid -= n
            return value
        }

        @inline(__always)
        mutating func bit() throws -> Bool { try bits(1) == 1 }

        /// The number of 0 bits before the next 1 bit (which is consumed); more than `limit`
        /// zeros is corrupt data.
        mutating func zeros(limit: Int) throws -> Int {
            var count = 0
            while true {
                if valid == 0 {
                    fill()
                    guard valid > 0 else { throw JPEGLSError(.truncated, "the scan's data ends early") }
                }
                let lz = cache.leadingZeroBitCount
                if lz < valid {
                    count += lz
                    guard count <= limit else { break }
                    cache <<= UInt64(lz + 1)
                    valid -= lz + 1
                    return count
                }
                count += valid
                cache = 0
                valid = 0
                guard count <= limit else { break }
            }
            throw JPEGLSError(.corrupt, "a Golomb code with more than \(limit) leading zeros")
        }

        /// Drops the padding bits of the current restart interval and reads its restart marker.
        mutating func restart(expecting index: Int) throws {
            cache = 0
            valid = 0
            afterFF = false
            guard position + 1 < end, data[position] == 0xFF else {
                throw JPEGLSError(.corrupt, "restart marker RST\(index) expected at byte \(position)")
            }
            position += 1
            while position < end && data[position] == 0xFF { position += 1 }
            guard position < end, Int(data[position]) == 0xD0 + index else {
                throw JPEGLSError(.corrupt, "restart marker RST\(index) expected at byte \(position)")
            }
            position += 1
        }
    }

    /// T.87's J table: the run-length order of each run index.
    static let runOrder: [Int] = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
                                  4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15]

    /// The context modelling and prediction of T.87 Annex A, decoding side.
    struct ScanDecoder {
        let width: Int, height: Int
        let frameComponents: Int
        let scan: Scan
        let p: CodingParameters
        var bits: BitReader
        let restartInterval: Int
        // Regular contexts indexed by |Q| (1...364), run-interruption contexts 0 and 1.
        var a = [Int](), b = [Int](), c = [Int](), n = [Int]()
        var runA = [0, 0], runN = [0, 0], runNn = [0, 0]
        var runIndex = 0

        init(frame: Frame, scan: Scan, parameters: CodingParameters, bits: BitReader, restartInterval: Int) {
            width = frame.width
            height = frame.height
            frameComponents = frame.componentIDs.count
            self.scan = scan
            p = parameters
            self.bits = bits
            self.restartInterval = restartInterval > 0 ? restartInterval : frame.height
            resetContexts()
        }

        mutating func resetContexts() {
            let initialA = max(2, (p.range + 32) / 64)
            a = [Int](repeating: initialA, count: 365)
            b = [Int](repeating: 0, count: 365)
            c = [Int](repeating: 0, count: 365)
            n = [Int](repeating: 1, count: 365)
            runA = [initialA, initialA]
            runN = [1, 1]
            runNn = [0, 0]
            runIndex = 0
        }

        /// Decodes the scan's lines into `samples` (the frame's pixel-interleaved layout).
        mutating func decode(into samples: inout [UInt16]) throws {
            // One line pair per component in line mode; one pair of pixel lines in sample mode.
            let lanes = scan.interleave == 1 ? scan.components.count : 1
            let stride = scan.interleave == 2 ? scan.components.count : 1
            let lineLength = (width + 2) * stride
            var previous = [[Int]](repeating: [Int](repeating: 0, count: lineLength), count: lanes)
            var current = previous
            var runIndices = [Int](repeating: 0, count: lanes)
            var interval = 0
            for line in 0..<height {
                if line > 0 && line % restartInterval == 0 {
                    try bits.restart(expecting: interval % 8)
                    interval += 1
                    resetContexts()
                    for l in 0..<lanes {
                        previous[l] = [Int](repeating: 0, count: lineLength)
                        current[l] = previous[l]
                        runIndices[l] = 0
                    }
                }
                for lane in 0..<lanes {
                    swap(&previous[lane], &current[lane])
                    // Edges (T.87 A.2.1): Ra of the first sample is Rb; Rd of the last is Rb.
                    for s in 0..<stride {
                        current[lane][s] = previous[lane][stride + s]
                        previous[lane][(width + 1) * stride + s] = previous[lane][width * stride + s]
                    }
                    runIndex = runIndices[lane]
                    if stride == 1 {
                        try decodeLine(previous: previous[lane], current: &current[lane])
                    } else {
                        try decodeSampleInterleavedLine(components: stride, previous: previous[lane], current: &current[lane])
                    }
                    runIndices[lane] = runIndex
                    // Store the line.
                    let row = line * width * frameComponents
                    if stride == 1 {
                        let component = scan.components[lane]
                        for x in 0..<width {
                            samples[row + x * frameComponents + component] = UInt16(current[lane][x + 1])
                        }
                    } else {
                        for x in 0..<width {
                            for s in 0..<stride {
                                samples[row + x * frameComponents + scan.components[s]] = UInt16(current[lane][(x + 1) * stride + s])
                            }
                        }
                    }
                }
            }
        }

        @inline(__always)
        func quantize(_ d: Int) -> Int {
            if d <= -p.t3 { return -4 }
            if d <= -p.t2 { return -3 }
            if d <= -p.t1 { return -2 }
            if d < -p.near { return -1 }
            if d <= p.near { return 0 }
            if d < p.t1 { return 1 }
            if d < p.t2 { return 2 }
            if d < p.t3 { return 3 }
            return 4
        }

        @inline(__always)
        func context(_ ra: Int, _ rb: Int, _ rc: Int, _ rd: Int) -> Int {
            (quantize(rd - rb) * 9 + quantize(rb - rc)) * 9 + quantize(rc - ra)
        }

        @inline(__always)
        func predict(_ ra: Int, _ rb: Int, _ rc: Int) -> Int {
            if rc >= max(ra, rb) { return min(ra, rb) }
            if rc <= min(ra, rb) { return max(ra, rb) }
            return ra + rb - rc
        }

        @inline(__always)
        func clampSample(_ v: Int) -> Int { v < 0 ? 0 : (v > p.maxVal ? p.maxVal : v) }

        /// Px + Errval (dequantized), reduced modulo the range, then clamped (T.87 A.4.4, A.5).
        @inline(__always)
        func reconstruct(_ predicted: Int, _ error: Int) -> Int {
            let step = 2 * p.near + 1
            var v = predicted + error * step
            if v < -p.near { v += p.range * step } else if v > p.maxVal + p.near { v -= p.range * step }
            return clampSample(v)
        }

        /// A mapped error value: Golomb-coded with parameter k, or escaped with qbpp bits.
        @inline(__always)
        mutating func mappedError(k: Int, limit: Int) throws -> Int {
            let escape = limit - p.qbpp - 1
            let high = try bits.zeros(limit: escape)
            if high == escape { return try bits.bits(p.qbpp) + 1 }
            return k == 0 ? high : (high << k) + (try bits.bits(k))
        }

        /// The Golomb parameter: the least k with N << k >= A. Valid data keeps k under about
        /// qbpp + 16 (A <= RESET x RANGE); the bound only stops corrupt data.
        @inline(__always)
        func golombParameter(a: Int, n: Int) throws -> Int {
            var k = 0
            while (n << k) < a {
                k += 1
                guard k <= 40 else { throw JPEGLSError(.corrupt, "a context's statistics are out of range") }
            }
            return k
        }

        mutating func decodeRegular(context q: Int, ra: Int, rb: Int, rc: Int) throws -> Int {
            let sign = q < 0 ? -1 : 1
            let i = q * sign
            let k = try golombParameter(a: a[i], n: n[i])
            let predicted = clampSample(predict(ra, rb, rc) + sign * c[i])
            let mapped = try mappedError(k: k, limit: p.limit)
            // Inverse error mapping (T.87 A.5.2), with the special mapping for k = 0 lossless.
            var error = mapped & 1 == 0 ? mapped >> 1 : -((mapped + 1) >> 1)
            if k == 0 && p.near == 0 && 2 * b[i] <= -n[i] { error = -error - 1 }
            guard abs(error) <= p.range else { throw JPEGLSError(.corrupt, "an error value of \(error) (range \(p.range))") }
            // Context update (A.6).
            b[i] += error * (2 * p.near + 1)
            a[i] += abs(error)
            if n[i] == p.reset {
                a[i] >>= 1
                b[i] >>= 1
                n[i] >>= 1
            }
            n[i] += 1
            if b[i] <= -n[i] {
                b[i] += n[i]
                if c[i] > -128 { c[i] -= 1 }
                if b[i] <= -n[i] { b[i] = -n[i] + 1 }
            } else if b[i] > 0 {
                b[i] -= n[i]
                if c[i] < 127 { c[i] += 1 }
                if b[i] > 0 { b[i] = 0 }
            }
            return reconstruct(predicted, sign * error)
        }

        /// The length of a run of samples equal to Ra (T.87 A.7.1), at most `remaining`.
        mutating func runLength(remaining: Int) throws -> Int {
            var length = 0
            while try bits.bit() {
                let count = min(1 << JPEGLSCodec.runOrder[runIndex], remaining - length)
                length += count
                if count == 1 << JPEGLSCodec.runOrder[runIndex] { runIndex = min(31, runIndex + 1) }
                if length == remaining { return length }
            }
            length += try bits.bits(JPEGLSCodec.runOrder[runIndex])
            guard length <= remaining else { throw JPEGLSError(.corrupt, "a run of \(length) samples where \(remaining) are left in the line") }
            return length
        }

        /// The error of a run-interruption sample (T.87 A.7.2).
        mutating func interruptionError(_ type: Int) throws -> Int {
            let k = try golombParameter(a: runA[type] + (runN[type] >> 1) * type, n: runN[type])
            let mapped = try mappedError(k: k, limit: p.limit - JPEGLSCodec.runOrder[runIndex] - 1)
            let t = mapped + type
            let odd = t & 1 == 1
            let magnitude = (t + (odd ? 1 : 0)) / 2
            let error = (k != 0 || 2 * runNn[type] >= runN[type]) == odd ? -magnitude : magnitude
            guard magnitude <= p.range else { throw JPEGLSError(.corrupt, "an error value of \(error) (range \(p.range))") }
            if error < 0 { runNn[type] += 1 }
            runA[type] += (mapped + 1 - type) >> 1
            if runN[type] == p.reset {
                runA[type] >>= 1
                runN[type] >>= 1
                runNn[type] >>= 1
            }
            runN[type] += 1
            return error
        }

        /// One line of one component; `current[0]` and `previous[width + 1]` hold the edges.
        mutating func decodeLine(previous: [Int], current: inout [Int]) throws {
            var x = 1
            while x <= width {
                let ra = current[x - 1], rb = previous[x], rc = previous[x - 1], rd = previous[x + 1]
                let q = context(ra, rb, rc, rd)
                if q != 0 {
                    current[x] = try decodeRegular(context: q, ra: ra, rb: rb, rc: rc)
                    x += 1
                    continue
                }
                let length = try runLength(remaining: width - x + 1)
                for i in 0..<length { current[x + i] = ra }
                x += length
                if x > width { break }
                let rbEnd = previous[x]
                if abs(ra - rbEnd) <= p.near {
                    current[x] = reconstruct(ra, try interruptionError(1))
                } else {
                    current[x] = reconstruct(rbEnd, try interruptionError(0) * (rbEnd - ra < 0 ? -1 : 1))
                }
                runIndex = max(0, runIndex - 1)
                x += 1
            }
        }

        /// One line of pixels of `count` components (ILV 2): each component has its own context,
        /// a run needs all of them flat, and an interruption codes each component with context 0.
        mutating func decodeSampleInterleavedLine(components count: Int, previous: [Int], current: inout [Int]) throws {
            var x = 1
            var q = [Int](repeating: 0, count: count)
            while x <= width {
                var flat = true
                for s in 0..<count {
                    q[s] = context(current[(x - 1) * count + s], previous[x * count + s],
                                   previous[(x - 1) * count + s], previous[(x + 1) * count + s])
                    if q[s] != 0 { flat = false }
                }
                if !flat {
                    for s in 0..<count {
                        current[x * count + s] = try decodeRegular(context: q[s], ra: current[(x - 1) * count + s],
                                                                   rb: previous[x * count + s], rc: previous[(x - 1) * count + s])
                    }
                    x += 1
                    continue
                }
                let start = x
                let length = try runLength(remaining: width - x + 1)
                for i in 0..<length {
                    for s in 0..<count { current[(x + i) * count + s] = current[(start - 1) * count + s] }
                }
                x += length
                if x > width { break }
                for s in 0..<count {
                    let ra = current[(start - 1) * count + s], rb = previous[x * count + s]
                    current[x * count + s] = reconstruct(rb, try interruptionError(0) * (rb - ra < 0 ? -1 : 1))
                }
                runIndex = max(0, runIndex - 1)
                x += 1
            }
        }
    }
}

import XCTest
import CCharLS
@testable import MedicalImaging

/// `JPEGLSCodec` against CharLS (Debian's libcharls, the reference implementation most DICOM
/// toolkits use): images CharLS encodes, over bit depths, NEAR values, interleave modes, preset
/// parameters, restart intervals and sizes, must decode to what CharLS's own decoder gives, and
/// to the source exactly when lossless. The DICOM path is checked against pydicom on pydicom's
/// JPEG-LS files by scripts/tests/check_dicom_pixels.py.
final class JPEGLSCodecTests: XCTestCase {
    /// SplitMix64: reproducible images without Foundation's generator.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    /// Smooth ramps (regular mode), flat patches (run mode, interruptions) and noise (large
    /// errors, escape codes), pixel-interleaved, all within `maxVal`.
    static func image(width: Int, height: Int, components: Int, maxVal: Int, seed: UInt64) -> [Int] {
        var g = Generator(state: seed)
        var out = [Int](repeating: 0, count: width * height * components)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<components {
                    let region = ((x / 7) + (y / 5) + c) % 4
                    let v: Int
                    switch region {
                    case 0: v = (x * 13 + y * 7 + c * 50) * max(1, maxVal / 200)
                    case 1: v = maxVal / 3 + c
                    case 2: v = g.below(maxVal + 1)
                    default: v = (x * y + g.below(3)) * max(1, maxVal / 1000)
                    }
                    out[(y * width + x) * components + c] = min(maxVal, max(0, v))
                }
            }
        }
        return out
    }

    struct Settings {
        var width: Int, height: Int, components: Int, bits: Int
        var near = 0
        var interleave = CHARLS_INTERLEAVE_MODE_NONE
        var presets = charls_jpegls_pc_parameters(maximum_sample_value: 0, threshold1: 0, threshold2: 0, threshold3: 0, reset_value: 0)
        var seed: UInt64 = 1
    }

    static func check(_ code: charls_jpegls_errc, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(code, CHARLS_JPEGLS_ERRC_SUCCESS, "CharLS \(what): \(String(cString: charls_get_error_message(code)))", file: file, line: line)
    }

    /// CharLS's encoding of `samples` (pixel-interleaved; planar for CharLS when not interleaved).
    static func encode(_ samples: [Int], _ s: Settings) -> [UInt8] {
        let bytes = s.bits <= 8 ? 1 : 2
        let pixels = s.width * s.height
        var source = [UInt8](repeating: 0, count: samples.count * bytes)
        for (i, v) in samples.enumerated() {
            // CharLS reads planes when the scans are not interleaved.
            let p = i / s.components, c = i % s.components
            let j = s.interleave == CHARLS_INTERLEAVE_MODE_NONE ? c * pixels + p : i
            source[j * bytes] = UInt8(v & 0xFF)
            if bytes == 2 { source[j * bytes + 1] = UInt8(v >> 8) }
        }
        let encoder = charls_jpegls_encoder_create()!
        defer { charls_jpegls_encoder_destroy(encoder) }
        var info = charls_frame_info(width: UInt32(s.width), height: UInt32(s.height), bits_per_sample: Int32(s.bits), component_count: Int32(s.components))
        check(charls_jpegls_encoder_set_frame_info(encoder, &info), "set_frame_info")
        check(charls_jpegls_encoder_set_near_lossless(encoder, Int32(s.near)), "set_near_lossless")
        check(charls_jpegls_encoder_set_interleave_mode(encoder, s.interleave), "set_interleave_mode")
        var presets = s.presets
        check(charls_jpegls_encoder_set_preset_coding_parameters(encoder, &presets), "set_preset_coding_parameters")
        var size = 0
        check(charls_jpegls_encoder_get_estimated_destination_size(encoder, &size), "estimated size")
        var destination = [UInt8](repeating: 0, count: size + 1024)
        var written = 0
        destination.withUnsafeMutableBytes { d in
            check(charls_jpegls_encoder_set_destination_buffer(encoder, d.baseAddress!, d.count), "set_destination_buffer")
            source.withUnsafeBytes { src in
                check(charls_jpegls_encoder_encode_from_buffer(encoder, src.baseAddress!, src.count, 0), "encode")
            }
            check(charls_jpegls_encoder_get_bytes_written(encoder, &written), "bytes_written")
        }
        return Array(destination[0..<written])
    }

    /// CharLS's decoding, pixel-interleaved.
    static func charlsDecode(_ stream: [UInt8], components: Int, bits: Int) -> [Int]? {
        let decoder = charls_jpegls_decoder_create()!
        defer { charls_jpegls_decoder_destroy(decoder) }
        var size = 0
        var interleave = CHARLS_INTERLEAVE_MODE_NONE
        var output = [UInt8]()
        let ok: Bool = stream.withUnsafeBytes { src in
            guard charls_jpegls_decoder_set_source_buffer(decoder, src.baseAddress!, src.count) == CHARLS_JPEGLS_ERRC_SUCCESS,
                  charls_jpegls_decoder_read_header(decoder) == CHARLS_JPEGLS_ERRC_SUCCESS,
                  charls_jpegls_decoder_get_interleave_mode(decoder, &interleave) == CHARLS_JPEGLS_ERRC_SUCCESS,
                  charls_jpegls_decoder_get_destination_size(decoder, 0, &size) == CHARLS_JPEGLS_ERRC_SUCCESS else { return false }
            output = [UInt8](repeating: 0, count: size)
            return output.withUnsafeMutableBytes { dst in
                charls_jpegls_decoder_decode_to_buffer(decoder, dst.baseAddress!, dst.count, 0) == CHARLS_JPEGLS_ERRC_SUCCESS
            }
        }
        guard ok else { return nil }
        let bytes = bits <= 8 ? 1 : 2
        let n = size / bytes, pixels = n / components
        var out = [Int](repeating: 0, count: n)
        for j in 0..<n {
            let v = bytes == 1 ? Int(output[j]) : Int(output[2 * j]) | Int(output[2 * j + 1]) << 8
            let i = interleave == CHARLS_INTERLEAVE_MODE_NONE ? (j % pixels) * components + j / pixels : j
            out[i] = v
        }
        return out
    }

    private func roundTrip(_ s: Settings, file: StaticString = #filePath, line: UInt = #line) throws {
        let maxVal = s.presets.maximum_sample_value > 0 ? Int(s.presets.maximum_sample_value) : (1 << s.bits) - 1
        let source = Self.image(width: s.width, height: s.height, components: s.components, maxVal: maxVal, seed: s.seed)
        let stream = Self.encode(source, s)
        let label = "\(s.width)x\(s.height)x\(s.components) \(s.bits) bits NEAR \(s.near) ILV \(s.interleave.rawValue) presets \(s.presets)"
        let ours = try JPEGLSCodec.decode(stream)
        XCTAssertEqual(ours.width, s.width, label, file: file, line: line)
        XCTAssertEqual(ours.height, s.height, label, file: file, line: line)
        XCTAssertEqual(ours.components, s.components, label, file: file, line: line)
        XCTAssertEqual(ours.bitsPerSample, s.bits, label, file: file, line: line)
        let decoded = ours.samples.map(Int.init)
        guard let reference = Self.charlsDecode(stream, components: s.components, bits: s.bits) else {
            return XCTFail("CharLS cannot decode its own stream: \(label)", file: file, line: line)
        }
        let mismatches = zip(decoded, reference).filter { $0 != $1 }.count
        XCTAssertEqual(mismatches, 0, "samples differing from CharLS's decoding: \(label)", file: file, line: line)
        let worst = zip(decoded, source).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, s.near, "error over NEAR: \(label)", file: file, line: line)
    }

    func testGreyscaleOverBitDepthsAndNear() throws {
        var seed: UInt64 = 1
        for bits in [2, 3, 5, 8, 10, 12, 15, 16] {
            for near in [0, 1, 3] where near <= ((1 << bits) - 1) / 2 {
                seed += 1
                try roundTrip(Settings(width: 37, height: 23, components: 1, bits: bits, near: near, seed: seed))
            }
        }
    }

    func testColourInEveryInterleaveMode() throws {
        for mode in [CHARLS_INTERLEAVE_MODE_NONE, CHARLS_INTERLEAVE_MODE_LINE, CHARLS_INTERLEAVE_MODE_SAMPLE] {
            for (bits, near) in [(8, 0), (8, 2), (12, 0), (16, 1)] {
                try roundTrip(Settings(width: 29, height: 17, components: 3, bits: bits, near: near, interleave: mode, seed: UInt64(bits * 10 + near)))
            }
        }
        // Two and four components (DICOM uses 1 and 3). CharLS 2.4.1 writes a line-interleaved
        // two-component stream that its own decoder refuses, so two go in separate scans.
        try roundTrip(Settings(width: 19, height: 11, components: 2, bits: 8, interleave: CHARLS_INTERLEAVE_MODE_NONE))
        try roundTrip(Settings(width: 19, height: 11, components: 4, bits: 8, interleave: CHARLS_INTERLEAVE_MODE_SAMPLE))
    }

    func testEdgeSizes() throws {
        for (w, h) in [(1, 1), (1, 40), (40, 1), (2, 2), (256, 3)] {
            try roundTrip(Settings(width: w, height: h, components: 1, bits: 12, seed: UInt64(w * 1000 + h)))
            try roundTrip(Settings(width: w, height: h, components: 3, bits: 8, interleave: CHARLS_INTERLEAVE_MODE_SAMPLE, seed: UInt64(w + h)))
        }
    }

    /// Preset thresholds and RESET in an LSE segment; a small RESET halves the statistics often.
    func testPresetCodingParameters() throws {
        let presets = [
            charls_jpegls_pc_parameters(maximum_sample_value: 0, threshold1: 5, threshold2: 30, threshold3: 200, reset_value: 3),
            charls_jpegls_pc_parameters(maximum_sample_value: 0, threshold1: 0, threshold2: 0, threshold3: 0, reset_value: 7),
            charls_jpegls_pc_parameters(maximum_sample_value: 4095, threshold1: 0, threshold2: 0, threshold3: 0, reset_value: 0),
        ]
        for (i, p) in presets.enumerated() {
            try roundTrip(Settings(width: 41, height: 19, components: 1, bits: 12, presets: p, seed: UInt64(100 + i)))
            try roundTrip(Settings(width: 41, height: 19, components: 1, bits: 12, near: 2, presets: p, seed: UInt64(200 + i)))
        }
    }

    /// CharLS 2.4 cannot write restart markers, but a restart interval resets the coder, the
    /// contexts and the previous line, so the intervals of a stream with DRI are the scans of
    /// separate images: stitch CharLS encodings of each interval's lines with RST markers between.
    func testRestartIntervals() throws {
        for (interval, components, mode) in [(4, 1, CHARLS_INTERLEAVE_MODE_NONE), (3, 3, CHARLS_INTERLEAVE_MODE_LINE),
                                             (5, 3, CHARLS_INTERLEAVE_MODE_SAMPLE)] {
            let width = 23, height = 13, bits = 10
            let source = Self.image(width: width, height: height, components: components, maxVal: 1023, seed: UInt64(interval))
            var stream: [UInt8] = []
            var line = 0, index = 0
            while line < height {
                let lines = min(interval, height - line)
                let part = Array(source[(line * width * components)..<((line + lines) * width * components)])
                let encoded = Self.encode(part, Settings(width: width, height: lines, components: components, bits: bits, interleave: mode))
                let sos = try XCTUnwrap(Self.firstMarker(0xDA, in: encoded))
                let sosEnd = sos + 2 + (Int(encoded[sos + 2]) << 8 | Int(encoded[sos + 3]))
                let data = Array(encoded[sosEnd..<(encoded.count - 2)])  // up to EOI
                if line == 0 {
                    // The first part's headers with its SOF55 height set to the whole image's,
                    // and a DRI segment before the SOS.
                    var header = Array(encoded[0..<sosEnd])
                    let sof = try XCTUnwrap(Self.firstMarker(0xF7, in: header))
                    header[sof + 5] = UInt8(height >> 8)
                    header[sof + 6] = UInt8(height & 0xFF)
                    header.insert(contentsOf: [0xFF, 0xDD, 0x00, 0x04, 0x00, UInt8(interval)], at: sos)
                    stream = header + data
                } else {
                    stream += [0xFF, UInt8(0xD0 + index % 8)] + data
                    index += 1
                }
                line += lines
            }
            stream += [0xFF, 0xD9]
            let decoded = try JPEGLSCodec.decode(stream).samples.map(Int.init)
            XCTAssertEqual(decoded, source, "restart interval \(interval), \(components) component(s), ILV \(mode.rawValue)")
            XCTAssertEqual(Self.charlsDecode(stream, components: components, bits: bits), source, "CharLS on the stitched stream")
            // A wrong restart marker number is an error.
            if let rst = Self.firstMarker(0xD0, in: stream) {
                var bad = stream
                bad[rst + 1] = 0xD3
                XCTAssertThrowsError(try JPEGLSCodec.decode(bad))
            }
        }
    }

    /// An 8 x 8 8-bit greyscale stream.
    static func smallStream() -> [UInt8] {
        encode(image(width: 8, height: 8, components: 1, maxVal: 255, seed: 3), Settings(width: 8, height: 8, components: 1, bits: 8))
    }

    static func firstMarker(_ code: UInt8, in bytes: [UInt8]) -> Int? {
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0xFF && bytes[i + 1] == code { return i }
            i += 1
        }
        return nil
    }

    /// Truncations and byte flips of valid streams: each decodes or throws `JPEGLSError`; none
    /// traps, and none takes long (the CharLS defect this decoder replaces spun for seconds).
    func testDamagedStreamsFailCleanly() throws {
        let s = Settings(width: 50, height: 10, components: 1, bits: 16, near: 2, seed: 9)
        let stream = Self.encode(Self.image(width: 50, height: 10, components: 1, maxVal: 65535, seed: 9), s)
        var g = Generator(state: 42)
        var refused = 0
        for trial in 0..<3000 {
            var bad = stream
            if trial % 3 == 0 {
                bad = Array(bad[0..<(1 + g.below(bad.count - 1))])
            } else {
                for _ in 0..<(1 + g.below(4)) { bad[g.below(bad.count)] = UInt8(g.below(256)) }
            }
            do { _ = try JPEGLSCodec.decode(bad) } catch is JPEGLSError { refused += 1 }
        }
        XCTAssertGreaterThan(refused, 1000)
    }

    /// Differential check on damaged entropy-coded data (bytes below 0x80 written into the scan,
    /// so the stream keeps its structure): where CharLS and this decoder both accept a stream,
    /// their samples must agree. Most such streams are refused by both; this decoder also refuses
    /// a few CharLS accepts (Golomb codes longer than T.87 allows, error values beyond RANGE, scans
    /// whose bits run out), which no conforming encoder writes.
    func testDamagedScansDecodeAsCharLSWhereBothAccept() throws {
        var settings: [Settings] = [
            Settings(width: 50, height: 10, components: 1, bits: 16, near: 2, seed: 9),
            Settings(width: 31, height: 17, components: 1, bits: 8, seed: 5),
            Settings(width: 21, height: 13, components: 3, bits: 8, interleave: CHARLS_INTERLEAVE_MODE_SAMPLE, seed: 7),
            Settings(width: 21, height: 13, components: 3, bits: 12, near: 1, interleave: CHARLS_INTERLEAVE_MODE_LINE, seed: 8),
        ]
        settings[1].presets = charls_jpegls_pc_parameters(maximum_sample_value: 0, threshold1: 4, threshold2: 9, threshold3: 40, reset_value: 5)
        var g = Generator(state: 7)
        var both = 0, differing = 0
        for s in settings {
            let maxVal = s.presets.maximum_sample_value > 0 ? Int(s.presets.maximum_sample_value) : (1 << s.bits) - 1
            let stream = Self.encode(Self.image(width: s.width, height: s.height, components: s.components, maxVal: maxVal, seed: s.seed), s)
            let sos = try XCTUnwrap(Self.firstMarker(0xDA, in: stream))
            let start = sos + 2 + (Int(stream[sos + 2]) << 8 | Int(stream[sos + 3]))
            for _ in 0..<1500 {
                var bad = stream
                for _ in 0..<(1 + g.below(3)) { bad[start + g.below(bad.count - 2 - start)] = UInt8(g.below(0x80)) }
                guard let ours = try? JPEGLSCodec.decode(bad).samples.map(Int.init),
                      let theirs = Self.charlsDecode(bad, components: s.components, bits: s.bits) else { continue }
                both += 1
                if ours != theirs { differing += 1 }
            }
        }
        XCTAssertGreaterThan(both, 50, "too few damaged streams accepted by both to compare")
        XCTAssertEqual(differing, 0, "damaged streams both decoders accept but decode differently")
    }

    func testUnsupportedAndMalformedHeadersAreNamed() throws {
        let stream = Self.encode(Self.image(width: 8, height: 8, components: 1, maxVal: 255, seed: 3), Settings(width: 8, height: 8, components: 1, bits: 8))
        func expect(_ bytes: [UInt8], _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try JPEGLSCodec.decode(bytes), line: line) { error in
                XCTAssertTrue((error as? JPEGLSError)?.message.contains(fragment) == true, "\(error) lacks '\(fragment)'", line: line)
            }
        }
        let sof = Self.firstMarker(0xF7, in: stream)!, sos = Self.firstMarker(0xDA, in: stream)!
        expect([0x00, 0x01], "SOI")
        var b = stream; b[sof + 4] = 17; expect(b, "bits per sample")
        b = stream; b[sof + 5] = 0; b[sof + 6] = 0; expect(b, "height of 0")
        b = stream; b[sof + 11] = 0x21; expect(b, "subsampled")
        b = stream; b[sos + 6] = 1; expect(b, "mapping table")
        b = stream; b[sos + 9] = 1; expect(b, "point transform")
        b = stream; b[sos + 7] = 200; expect(b, "NEAR")
        b = stream; b[sos + 5] = 9; expect(b, "SOS names component 9")
        expect(Array(stream.dropLast(2)), "without an EOI")
    }
}

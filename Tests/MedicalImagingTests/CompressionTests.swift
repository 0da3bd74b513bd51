import ArchiveIO
import XCTest
import TensorRuntime
@testable import MedicalImaging

final class CompressionTests: XCTestCase {
    func testGzipRoundTripAndConcatenatedMembers() throws {
        let a = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 31) }, b = [UInt8](repeating: 7, count: 333)
        let both = try Zlib.gzip(a) + Zlib.gzip(b) + [0, 0, 0]
        XCTAssertEqual(try Zlib.inflate(both, wrapper: .gzip), a + b)
        // The shared zlib wrapper's errors become ImagingErrors naming the file and the field.
        assertImagingError(.truncated, ["cut", "gzip stream", "ends early"]) {
            try ImagingError.naming(path: "cut", field: "gzip stream") { try Zlib.inflate(Array(both.prefix(40)), wrapper: .gzip) }
        }
        assertImagingError(.truncated, ["empty"]) {
            try ImagingError.naming(path: "empty", field: nil) { try Zlib.inflate([], wrapper: .raw) }
        }
        // A declared size and CRC-32 are checked (ZIP records declare both).
        let raw = Array(try Zlib.gzip(a).dropFirst(10).dropLast(8))   // the deflate body of one member
        XCTAssertEqual(try Zlib.inflate(raw, wrapper: .raw, expectedSize: a.count,
                                        expectedCRC32: a.withUnsafeBytes { Zlib.crc32($0) }), a)
        XCTAssertThrowsError(try Zlib.inflate(raw, wrapper: .raw, expectedSize: a.count - 1)) { error in
            XCTAssertEqual((error as? ZlibError)?.kind, .sizeMismatch, "\(error)")
        }
        XCTAssertThrowsError(try Zlib.inflate(raw, wrapper: .raw, expectedSize: a.count + 1)) { error in
            XCTAssertEqual((error as? ZlibError)?.kind, .sizeMismatch, "\(error)")
        }
        XCTAssertThrowsError(try Zlib.inflate(raw, wrapper: .raw, expectedSize: a.count, expectedCRC32: 12345)) { error in
            XCTAssertEqual((error as? ZlibError)?.kind, .checksumMismatch, "\(error)")
        }
    }

    /// The selection-based percentile equals the sorted one (NumPy "linear"), duplicates included.
    func testPercentileBySelection() {
        var rng = SplitMix64(seed: 3)
        for n in [1, 2, 5, 200, 1001] {
            let values = (0..<n).map { _ in Float(rng.next() % 50) }
            for q in [0.0, 0.5, 37.0, 99.5, 100.0] {
                var work = values
                XCTAssertEqual(IntensityNormalization.percentile(selecting: &work, q),
                               IntensityNormalization.percentile(values.sorted(), q), "n \(n) q \(q)")
            }
        }
    }
}

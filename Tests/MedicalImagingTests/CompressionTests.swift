import XCTest
import TensorRuntime
@testable import MedicalImaging

final class CompressionTests: XCTestCase {
    func testGzipRoundTripAndConcatenatedMembers() throws {
        let a = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 31) }, b = [UInt8](repeating: 7, count: 333)
        let both = try Zlib.gzip(a, path: "a") + Zlib.gzip(b, path: "b") + [0, 0, 0]
        XCTAssertEqual(try Zlib.inflate(both, wrapper: .gzip, path: "ab"), a + b)
        assertImagingError(.truncated, ["cut", "ends early"]) {
            try Zlib.inflate(Array(both.prefix(40)), wrapper: .gzip, path: "cut")
        }
        assertImagingError(.truncated, ["empty"]) { try Zlib.inflate([], wrapper: .raw, path: "empty") }
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

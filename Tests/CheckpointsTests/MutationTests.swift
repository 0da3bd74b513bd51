import ArchiveIO
import TensorRuntime
import XCTest
@testable import Checkpoints

/// Randomly damaged copies of a real torch.save file either load or throw; none crashes.
final class MutationTests: XCTestCase {
    func testTenThousandCorruptedVariantsLoadOrThrow() throws {
        let original = try Fixtures.bytes("dtypes.pth")
        var rng = SplitMix64(seed: 0x5EED_C0DE)
        let path = "dtypes-mutant.pth"
        // Half the edits land in the pickle, where a flipped byte changes structure, not values.
        let pickle = try original.withUnsafeBytes { raw -> Range<Int> in
            let zip = try ZipArchive(path: "dtypes.pth", bytes: raw)
            let record = zip.record(named: "dtypes/data.pkl")!
            let offset = try zip.dataOffset(of: record)
            return offset..<(offset + record.compressedSize)
        }
        var loaded = 0, refused = 0
        var problems: [String: Int] = [:]
        for _ in 0..<10_000 {
            var bytes = original
            let edits = 1 + Int(rng.next() % 4)
            for _ in 0..<edits { mutate(&bytes, &rng, focus: pickle) }
            do {
                let checkpoint = try Checkpoint.open(file: MappedFile(copying: bytes, path: path))
                for key in checkpoint.keys {
                    let t = try checkpoint.load(key)
                    XCTAssertEqual(t.count, checkpoint.shapes[key]!.count)
                }
                loaded += 1
            } catch let error as CheckpointError {
                XCTAssertEqual(error.path, path)
                refused += 1
                problems[Mirror(reflecting: error.problem).children.first?.label ?? "\(error.problem)", default: 0] += 1
            }
        }
        XCTAssertEqual(loaded + refused, 10_000)
        // Both outcomes must occur, or the mutations are not exercising anything.
        XCTAssertGreaterThan(loaded, 100)
        XCTAssertGreaterThan(refused, 1_000)
        print("mutation test: \(loaded) loaded, \(refused) refused; problems: \(problems.sorted { $0.value > $1.value })")
    }

    private func mutate(_ bytes: inout [UInt8], _ rng: inout SplitMix64, focus: Range<Int>) {
        guard !bytes.isEmpty else { bytes = [UInt8(truncatingIfNeeded: rng.next())]; return }
        var at = Int(rng.next() % UInt64(bytes.count))
        if rng.next() % 2 == 0, focus.upperBound <= bytes.count {
            at = focus.lowerBound + Int(rng.next() % UInt64(focus.count))
        }
        switch rng.next() % 6 {
        case 0, 1: bytes[at] ^= UInt8(truncatingIfNeeded: 1 << (rng.next() % 8))          // bit flip
        case 2: bytes[at] = UInt8(truncatingIfNeeded: rng.next())                         // byte replacement
        case 3: bytes.removeSubrange(at..<bytes.count)                                    // truncation
        case 4:                                                                           // insertion
            let n = 1 + Int(rng.next() % 8)
            bytes.insert(contentsOf: (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
        default:                                                                          // deletion
            bytes.removeSubrange(at..<min(bytes.count, at + 1 + Int(rng.next() % 8)))
        }
    }
}

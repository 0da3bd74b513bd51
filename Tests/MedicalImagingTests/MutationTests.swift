import XCTest
import TensorRuntime
@testable import MedicalImaging

/// Damaged inputs of every format: each single-byte change either still reads or throws an
/// `ImagingError`; nothing traps, hangs or throws an untyped error.
final class MutationTests: XCTestCase {
    func testSingleByteMutationsNeverCrash() throws {
        let files = ["nifti/syn_int16.nii", "nifti/standard.nii.gz", "nifti/syn_nifti2.nii", "npz/case2d.npz",
                     "npz/case3d.npz", "raster/grey16.png", "raster/rgb.jpg", "dicom/MR_small_implicit.dcm",
                     "raster/rgb8.npy"]
        let dir = Fixtures.tempFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = SplitMix64(seed: 11)
        var outcomes = [String: (ok: Int, refused: Int)]()
        for name in files {
            let original = [UInt8](try Data(contentsOf: Fixtures.url(name)))
            let url = dir.appendingPathComponent(URL(fileURLWithPath: name).lastPathComponent)
            for _ in 0..<40 {
                var bytes = original
                // Headers are where parsers make decisions: bias mutations towards the first 600 bytes.
                let span = rng.next() % 4 == 0 ? bytes.count : min(bytes.count, 600)
                bytes[Int(rng.next() % UInt64(span))] = UInt8(truncatingIfNeeded: rng.next())
                try Data(bytes).write(to: url)
                do {
                    _ = try MedicalImageFile.read(url)
                    outcomes[name, default: (0, 0)].ok += 1
                } catch is ImagingError {
                    outcomes[name, default: (0, 0)].refused += 1
                } catch {
                    XCTFail("\(name): untyped error \(type(of: error)): \(error)")
                }
            }
        }
        print("mutation outcomes (read, refused):", outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" })
        // How many of the 40 seeded mutants of each file still read, as measured (seed 11). A
        // damaged file that reads is only acceptable where the damage hits pixel data or a field
        // the reader may ignore; a reader that starts accepting more of these mutants has stopped
        // checking something, and this bound says so. Fewer is fine (a stricter reader).
        let readAtMost = ["dicom/MR_small_implicit.dcm": 31, "nifti/standard.nii.gz": 7, "nifti/syn_int16.nii": 38,
                          "nifti/syn_nifti2.nii": 38, "npz/case2d.npz": 14, "npz/case3d.npz": 32,
                          "raster/grey16.png": 5, "raster/rgb.jpg": 31, "raster/rgb8.npy": 25]
        XCTAssertEqual(Set(readAtMost.keys), Set(files))
        for name in files {
            let o = outcomes[name, default: (0, 0)]
            XCTAssertEqual(o.ok + o.refused, 40, "\(name): every mutant either reads or is refused")
            XCTAssertLessThanOrEqual(o.ok, readAtMost[name]!, "\(name): \(o.ok) of 40 damaged files read, at most \(readAtMost[name]!) did")
        }
    }

    /// MedSAM `.npz` files go through the shared ZIP reader and zlib wrapper (`ArchiveIO`) from
    /// bytes in memory: 3,000 damaged copies of each fixture (stored and deflated members; bit
    /// flips, byte replacements, truncations, insertions) either decode or throw an `ImagingError`
    /// naming the file.
    func testThousandsOfDamagedNPZArchivesDecodeOrThrowTyped() throws {
        var rng = SplitMix64(seed: 0x4E50_5A)
        for name in ["npz/case2d.npz", "npz/case3d.npz"] {
            let original = [UInt8](try Data(contentsOf: Fixtures.url(name)))
            var decoded = 0, refused = 0
            var kinds: [String: Int] = [:]
            for _ in 0..<3_000 {
                var bytes = original
                for _ in 0..<(1 + Int(rng.next() % 3)) {
                    let at = Int(rng.next() % UInt64(bytes.count))
                    switch rng.next() % 5 {
                    case 0, 1: bytes[at] ^= UInt8(truncatingIfNeeded: 1 << (rng.next() % 8))
                    case 2: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                    case 3: bytes.removeSubrange(at...)
                    default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
                    }
                    if bytes.isEmpty { bytes = [0] }
                }
                do {
                    let npz = try NPZArchive.decode(bytes, path: name)
                    XCTAssertFalse(npz.arrays.isEmpty)
                    decoded += 1
                } catch let error as ImagingError {
                    XCTAssertEqual(error.path, name)
                    kinds[error.kind.rawValue, default: 0] += 1
                    refused += 1
                } catch {
                    XCTFail("\(name): untyped error \(type(of: error)): \(error)")
                }
            }
            XCTAssertEqual(decoded + refused, 3_000)
            // Both outcomes must occur, or the mutations are not exercising anything.
            XCTAssertGreaterThan(decoded, 30, name)
            XCTAssertGreaterThan(refused, 300, name)
            print("npz mutations of \(name): \(decoded) decoded, \(refused) refused \(kinds.sorted { $0.key < $1.key })")
        }
    }
}

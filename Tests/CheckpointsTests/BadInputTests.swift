import ArchiveIO
import Foundation
import TensorRuntime
import XCTest
@testable import Checkpoints

/// Every kind of damaged or hostile file gives a typed error naming the file and the problem.
final class BadInputTests: XCTestCase {
    override class func tearDown() {
        Fixtures.removeTemporaryFiles()
        super.tearDown()
    }

    private func open(_ path: String) throws { _ = try Checkpoint.open(path: path) }

    /// Opens and loads every tensor, so errors at load time count too.
    private func openAndLoadAll(_ path: String) throws {
        let c = try Checkpoint.open(path: path)
        for k in c.keys { _ = try c.load(k) }
    }

    func testHandMadeCheckpointIsValid() throws {
        // The builders themselves make a loadable file, so the failures below are the mutations'.
        let values: [Float] = [1, 2, 3, 4, 5, 6]
        let data = values.withUnsafeBytes { Array($0) }
        let pickle = HandMade.statePickle([.init(key: "w", numel: 6, size: [2, 3], stride: [3, 1])])
        let path = try Fixtures.temporaryFile(HandMade.checkpoint(pickle: pickle, storages: [("0", data)]))
        let c = try Checkpoint.open(path: path)
        XCTAssertEqual(try c.load("w"), Tensor(shape: [2, 3], data: values))
    }

    func testTruncatedFile() throws {
        let full = try Fixtures.bytes("tiny_sam.pth")
        for length in [full.count / 2, full.count - 1, 30] {
            let path = try Fixtures.temporaryFile(Array(full.prefix(length)))
            assertCheckpointError(path, { try open(path) }) { if case .truncated = $0 { return true }; return false }
        }
        let tiny = try Fixtures.temporaryFile([0x50, 0x4B])
        assertCheckpointError(tiny, { try open(tiny) }) { if case .truncated = $0 { return true }; return false }
        let empty = try Fixtures.temporaryFile([])
        assertCheckpointError(empty, { try open(empty) }) { if case .truncated = $0 { return true }; return false }
    }

    func testNotAZip() throws {
        let path = try Fixtures.temporaryFile(Array("this is plainly not a checkpoint, just some text\n".utf8))
        assertCheckpointError(path, { try open(path) }) { if case .unknownFormat = $0 { return true }; return false }
        assertCheckpointError(path, { _ = try PyTorchCheckpoint(path: path) }) {
            if case .unknownFormat = $0 { return true }; return false
        }
    }

    func testLegacyTorchSaveIsRefusedWithAdvice() throws {
        let path = Fixtures.path("legacy.pth")
        assertCheckpointError(path, { try open(path) }) {
            if case .unknownFormat(let m) = $0 { return m.contains("pre-1.6") }; return false
        }
    }

    func testCorruptCentralDirectory() throws {
        var bytes = try Fixtures.bytes("tiny_sam.pth")
        let cdOffset = try centralDirectoryOffset(bytes)
        bytes[cdOffset] ^= 0xFF // break the first entry's signature
        let path = try Fixtures.temporaryFile(bytes)
        assertCheckpointError(path, { try open(path) }) { if case .corruptZip = $0 { return true }; return false }

        // An end record claiming more entries than the directory can hold (a zip without zip64
        // records: torch's own files carry a zip64 end record, which takes precedence).
        var crowded = HandMade.checkpoint(pickle: [0x80, 0x02, 0x7D, 0x2E], storages: [])
        let end = crowded.count - 22
        crowded[end + 10] = 0xFF; crowded[end + 11] = 0xFF
        let crowdedPath = try Fixtures.temporaryFile(crowded)
        assertCheckpointError(crowdedPath, { try open(crowdedPath) }) { if case .corruptZip = $0 { return true }; return false }
    }

    func testRecordPointingOutsideTheFile() throws {
        var bytes = try Fixtures.bytes("tiny_sam.pth")
        let cdOffset = try centralDirectoryOffset(bytes)
        // First entry's local header offset (central header + 42) -> far past the end.
        for i in 0..<4 { bytes[cdOffset + 42 + i] = [0x00, 0x00, 0x00, 0x7F][i] }
        let path = try Fixtures.temporaryFile(bytes)
        assertCheckpointError(path, { try open(path) }) {
            if case .recordOutOfBounds(let r) = $0 { return r.hasSuffix("data.pkl") }; return false
        }
        // A storage whose sizes run past the end of the file.
        let values: [Float] = [1, 2]
        var zip = HandMade.checkpoint(pickle: HandMade.statePickle([.init(key: "w", numel: 2, size: [2], stride: [1])]),
                                      storages: [("0", values.withUnsafeBytes { Array($0) })])
        let dir = try centralDirectoryOffset(zip)
        let at = dir + 46 + (Int(zip[dir + 28]) | Int(zip[dir + 29]) << 8) // data/0 follows data.pkl
        for field in [20, 24] { for i in 0..<4 { zip[at + field + i] = [0x00, 0x00, 0x00, 0x10][i] } }
        let storagePath = try Fixtures.temporaryFile(zip)
        assertCheckpointError(storagePath, { try open(storagePath) }) {
            if case .recordOutOfBounds(let r) = $0 { return r == "archive/data/0" }; return false
        }
    }

    func testUnknownPickleOpcode() throws {
        var bytes = try Fixtures.bytes("tiny_sam.pth")
        let offset = try bytes.withUnsafeBytes { raw -> Int in
            let zip = try ZipArchive(path: "tiny_sam.pth", bytes: raw)
            return try zip.dataOffset(of: zip.record(named: "tiny_sam/data.pkl")!)
        }
        XCTAssertEqual(Array(bytes[offset..<offset + 2]), [0x80, 0x02])
        bytes[offset + 2] = 0xFE // instead of GLOBAL
        let path = try Fixtures.temporaryFile(bytes)
        assertCheckpointError(path, { try open(path) }) { $0 == .unknownOpcode(opcode: 0xFE, offset: 2) }
    }

    func testForbiddenGlobalFromARealPickleIsRefusedNotRun() throws {
        let path = Fixtures.path("evil.pth")
        assertCheckpointError(path, { try open(path) }) {
            if case .forbiddenGlobal(let g) = $0 { return g == "posix.system" || g == "os.system" }; return false
        }
        // Also a hand-made pickle whose tensor builder is a forbidden callable.
        let pickle = HandMade.statePickle([.init(key: "w", numel: 1, size: [1], stride: [1])],
                                          global: "builtins\neval\n")
        let handMade = try Fixtures.temporaryFile(HandMade.checkpoint(pickle: pickle, storages: [("0", [0, 0, 0, 0])]))
        assertCheckpointError(handMade, { try open(handMade) }) { $0 == .forbiddenGlobal("builtins.eval") }
    }

    func testStorageShorterThanItsTensor() throws {
        // The pickle says 6 floats (24 bytes); the record holds 8 bytes.
        let pickle = HandMade.statePickle([.init(key: "w", numel: 6, size: [2, 3], stride: [3, 1])])
        let path = try Fixtures.temporaryFile(HandMade.checkpoint(pickle: pickle, storages: [("0", [UInt8](repeating: 0, count: 8))]))
        assertCheckpointError(path, { try open(path) }) { $0 == .storageTooShort(tensor: "w", neededBytes: 24, availableBytes: 8) }
        // The view needs more elements than the storage declares.
        let overrun = HandMade.statePickle([.init(key: "v", numel: 4, offset: 2, size: [2, 2], stride: [2, 1])])
        let overrunPath = try Fixtures.temporaryFile(HandMade.checkpoint(pickle: overrun, storages: [("0", [UInt8](repeating: 0, count: 16))]))
        assertCheckpointError(overrunPath, { try open(overrunPath) }) { if case .storageTooShort = $0 { return true }; return false }
        // A storage record that does not exist.
        let missing = HandMade.statePickle([.init(key: "w", storageKey: "7", numel: 1, size: [1], stride: [1])])
        let missingPath = try Fixtures.temporaryFile(HandMade.checkpoint(pickle: missing, storages: [("0", [0, 0, 0, 0])]))
        assertCheckpointError(missingPath, { try open(missingPath) }) { if case .missingRecord = $0 { return true }; return false }
    }

    func testAbsurdSizes() throws {
        let huge = 1 << 40
        let cases: [HandMade.TensorEntry] = [
            .init(key: "a", numel: huge, size: [huge, huge], stride: [huge, 1]),   // element count overflows
            .init(key: "b", numel: Int.max / 2, size: [4], stride: [1]),         // storage bytes overflow
            .init(key: "c", numel: 4, size: [-1], stride: [1]),                  // negative size
            .init(key: "d", numel: 4, size: [1 << 31], stride: [0]),             // 8 GB from 16 bytes by a zero stride
        ]
        for entry in cases {
            let path = try Fixtures.temporaryFile(HandMade.checkpoint(pickle: HandMade.statePickle([entry]),
                                                                      storages: [("0", [UInt8](repeating: 0, count: 16))]))
            assertCheckpointError(path, { try open(path) }) { if case .absurdSize = $0 { return true }; return false }
        }
        // A zip64 directory claiming billions of entries.
        var zip64 = try Fixtures.bytes("tiny_sam_zip64.pth")
        let locator = zip64.count - 22 - 20
        let end64 = zip64.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: locator + 8, as: UInt64.self)) }
        for i in 0..<8 { zip64[end64 + 32 + i] = 0x7F }
        let path = try Fixtures.temporaryFile(zip64)
        assertCheckpointError(path, { try open(path) }) { if case .absurdSize = $0 { return true }; return false }
        // A pickle string whose declared length exceeds the pickle.
        var pickle: [UInt8] = [0x80, 0x02, 0x58] + HandMade.le32(0x7FFF_FFF0)
        pickle += [0x2E]
        let strPath = try Fixtures.temporaryFile(HandMade.checkpoint(pickle: pickle, storages: []))
        assertCheckpointError(strPath, { try open(strPath) }) { if case .absurdSize = $0 { return true }; return false }
    }

    func testMalformedPickles() throws {
        let programs: [[UInt8]] = [
            [0x80, 0x02, 0x30, 0x2E],                   // POP on an empty stack
            [0x80, 0x02, 0x68, 0x05, 0x2E],             // BINGET of an unwritten memo slot
            [0x80, 0x02, 0x4B, 0x01, 0x61, 0x2E],       // APPEND to an int
            [0x80, 0x02, 0x7D, 0x2E],                   // an empty dict: no state dict
            [0x80, 0x02, 0x4B, 0x01],                   // no STOP
            [0x80, 0x09, 0x2E],                         // protocol 9
        ]
        for program in programs {
            let path = try Fixtures.temporaryFile(HandMade.checkpoint(pickle: program, storages: []))
            assertCheckpointError(path, { try open(path) }) {
                switch $0 {
                case .malformedPickle, .noStateDict, .truncated: return true
                default: return false
                }
            }
        }
    }

    func testCorruptDeflatedRecord() throws {
        var bytes = try Fixtures.bytes("tiny_sam_deflated.pth")
        let (record, offset) = try bytes.withUnsafeBytes { raw -> (ZipRecord, Int) in
            let zip = try ZipArchive(path: "x", bytes: raw)
            let record = zip.record(named: "tiny_sam/data.pkl")!
            return (record, try zip.dataOffset(of: record))
        }
        XCTAssertEqual(record.method, 8)
        for i in 0..<min(16, record.compressedSize) { bytes[offset + i] ^= 0x5A }
        let path = try Fixtures.temporaryFile(bytes)
        assertCheckpointError(path, { try open(path) }) { if case .decompression = $0 { return true }; return false }
    }

    func testSafetensorsHeaderErrors() throws {
        let data = [UInt8](repeating: 0, count: 16)
        let headers: [(String, (CheckpointProblem) -> Bool)] = [
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
             { if case .safetensorsHeader(let m) = $0 { return m.contains("overlap") }; return false }),
            (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#,
             { if case .safetensorsHeader(let m) = $0 { return m.contains("outside") }; return false }),
            (#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
             { if case .safetensorsHeader(let m) = $0 { return m.contains("needs 12 bytes") }; return false }),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#,
             { if case .safetensorsHeader = $0 { return true }; return false }),
            (#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#,
             { if case .absurdSize = $0 { return true }; return false }),
            (#"{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#,
             { if case .unsupportedDType = $0 { return true }; return false }),
            (#"{"a": [1, 2"#, { if case .safetensorsHeader = $0 { return true }; return false }),
            (#"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#,
             { if case .safetensorsHeader = $0 { return true }; return false }),
        ]
        for (header, match) in headers {
            let path = try Fixtures.temporaryFile(HandMade.safetensors(header: header, data: data), name: "case.safetensors")
            assertCheckpointError(path, { _ = try SafetensorsCheckpoint(path: path) }, where: match)
        }
        // A header length past the end of the file.
        var long = HandMade.safetensors(header: "{}", data: [])
        long.replaceSubrange(0..<8, with: HandMade.le64(1000))
        let path = try Fixtures.temporaryFile(long, name: "case.safetensors")
        assertCheckpointError(path, { _ = try SafetensorsCheckpoint(path: path) }) { if case .truncated = $0 { return true }; return false }
        var absurd = long
        absurd.replaceSubrange(0..<8, with: HandMade.le64(UInt64.max))
        let absurdPath = try Fixtures.temporaryFile(absurd, name: "case.safetensors")
        assertCheckpointError(absurdPath, { _ = try SafetensorsCheckpoint(path: absurdPath) }) { if case .absurdSize = $0 { return true }; return false }
    }

    private func centralDirectoryOffset(_ bytes: [UInt8]) throws -> Int {
        let end = bytes.count - 22
        XCTAssertEqual(Array(bytes[end..<end + 4]), [0x50, 0x4B, 0x05, 0x06])
        return Int(bytes[end + 16]) | Int(bytes[end + 17]) << 8 | Int(bytes[end + 18]) << 16 | Int(bytes[end + 19]) << 24
    }
}

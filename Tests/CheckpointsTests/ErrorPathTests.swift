import Foundation
import TensorRuntime
import XCTest
import Checkpoints

/// Error paths of checkpoint reading not covered by `BadInputTests`: files that cannot be read,
/// big-endian storages, a zip without `data.pkl`, broken zip64 extra fields, and state dicts
/// nested in training-checkpoint wrappers (found when nested, refused when not there).
/// Everything goes through the public `Checkpoint.open` entry point.
final class ErrorPathTests: XCTestCase {
    override class func tearDown() {
        Fixtures.removeTemporaryFiles()
        super.tearDown()
    }

    private static let values: [Float] = [1, 2, 3, 4, 5, 6]
    private static var storage: [UInt8] { values.withUnsafeBytes { Array($0) } }
    private static let entry = HandMade.TensorEntry(key: "w", numel: 6, size: [2, 3], stride: [3, 1])

    private func loadAll(_ path: String) throws -> [String: Tensor] {
        let c = try Checkpoint.open(path: path)
        return Dictionary(uniqueKeysWithValues: try c.keys.map { ($0, try c.load($0)) })
    }

    // MARK: Unreadable files

    func testMissingFileAndDirectoryAreUnreadable() throws {
        let missing = Fixtures.temporaryDirectory.appendingPathComponent("no-such-\(UUID().uuidString).pth").path
        assertCheckpointError(missing, { _ = try Checkpoint.open(path: missing) }) {
            if case .unreadable(let why) = $0 { return why.contains("No such file") }; return false
        }
        let folder = Fixtures.temporaryDirectory.appendingPathComponent("folder-\(UUID().uuidString).pth")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        assertCheckpointError(folder.path, { _ = try Checkpoint.open(path: folder.path) }) {
            if case .unreadable(let why) = $0 { return why == "not a regular file" }; return false
        }
    }

    // MARK: Byte order

    /// torch records the storages' byte order in `<prefix>/byteorder`: "little" reads, "big" is
    /// refused by name (its floats would be silently wrong if read as little-endian).
    func testBigEndianStoragesAreRefusedAndLittleEndianRead() throws {
        let pickle = HandMade.statePickle([Self.entry])
        func file(byteOrder: String) -> [UInt8] {
            HandMade.zip([("archive/data.pkl", pickle), ("archive/byteorder", Array(byteOrder.utf8)),
                          ("archive/data/0", Self.storage), ("archive/version", Array("3\n".utf8))])
        }
        let little = try Fixtures.temporaryFile(file(byteOrder: "little"), name: "little.pth")
        XCTAssertEqual(try loadAll(little)["w"], Tensor(shape: [2, 3], data: Self.values))
        let big = try Fixtures.temporaryFile(file(byteOrder: "big"), name: "big.pth")
        assertCheckpointError(big, { _ = try Checkpoint.open(path: big) }) {
            if case .unsupportedDType(let why) = $0 { return why.contains("'big'-endian") && why.contains("little-endian") }
            return false
        }
    }

    // MARK: Missing records

    func testZipWithoutDataPickleIsRefused() throws {
        let path = try Fixtures.temporaryFile(HandMade.zip([("archive/data/0", Self.storage),
                                                           ("archive/version", Array("3\n".utf8))]), name: "nopkl.pth")
        assertCheckpointError(path, { _ = try Checkpoint.open(path: path) }) {
            if case .missingRecord(let what) = $0 { return what.contains("data.pkl") }; return false
        }
    }

    // MARK: zip64 extra fields

    /// A one-record stored zip whose central directory entry holds `compressed`/`uncompressed`
    /// (0xFFFFFFFF meaning "see the zip64 extra field") and `extra` as its extra field.
    private func zip(name: String, data: [UInt8], centralSize: Int, extra: [UInt8]) -> [UInt8] {
        let n = Array(name.utf8)
        var out = HandMade.le32(0x0403_4B50) + HandMade.le16(45) + HandMade.le16(0) + HandMade.le16(0)
        out += HandMade.le16(0) + HandMade.le16(0) + HandMade.le32(0)
        out += HandMade.le32(data.count) + HandMade.le32(data.count) + HandMade.le16(n.count) + HandMade.le16(0) + n + data
        let cdOffset = out.count
        var central = HandMade.le32(0x0201_4B50) + HandMade.le16(45) + HandMade.le16(45) + HandMade.le16(0) + HandMade.le16(0)
        central += HandMade.le16(0) + HandMade.le16(0) + HandMade.le32(0)
        central += HandMade.le32(centralSize) + HandMade.le32(centralSize) + HandMade.le16(n.count) + HandMade.le16(extra.count)
        central += HandMade.le16(0) + HandMade.le16(0) + HandMade.le16(0) + HandMade.le32(0) + HandMade.le32(0) + n + extra
        out += central
        out += HandMade.le32(0x0605_4B50) + HandMade.le16(0) + HandMade.le16(0) + HandMade.le16(1) + HandMade.le16(1)
        out += HandMade.le32(central.count) + HandMade.le32(cdOffset) + HandMade.le16(0)
        return out
    }

    private func zip64Field(_ values: [UInt64]) -> [UInt8] {
        HandMade.le16(1) + HandMade.le16(8 * values.count) + values.flatMap { HandMade.le64($0) }
    }

    func testZip64ExtraFieldErrors() throws {
        let pickle = HandMade.statePickle([.init(key: "w", numel: 0, size: [0], stride: [1])])
        // Control: sizes carried by a well-formed zip64 extra field (after an unrelated field) read.
        let unrelated = HandMade.le16(0x5455) + HandMade.le16(5) + [1, 0, 0, 0, 0]
        let good = try Fixtures.temporaryFile(
            zip(name: "archive/data.pkl", data: pickle, centralSize: 0xFFFF_FFFF,
                extra: unrelated + zip64Field([UInt64(pickle.count), UInt64(pickle.count)])), name: "zip64-good.pth")
        assertCheckpointError(good, { _ = try Checkpoint.open(path: good) }) {
            // Readable container; the one tensor's storage record is absent.
            if case .missingRecord(let what) = $0 { return what.contains("archive/data/0") }; return false
        }
        // 0xFFFFFFFF sizes with no zip64 field at all.
        let none = try Fixtures.temporaryFile(
            zip(name: "archive/data.pkl", data: pickle, centralSize: 0xFFFF_FFFF, extra: unrelated), name: "zip64-none.pth")
        assertCheckpointError(none, { _ = try Checkpoint.open(path: none) }) {
            if case .corruptZip(let why) = $0 { return why.contains("need a zip64 extra field but the record has none") }; return false
        }
        // A zip64 field holding one size where two are needed.
        let short = try Fixtures.temporaryFile(
            zip(name: "archive/data.pkl", data: pickle, centralSize: 0xFFFF_FFFF, extra: zip64Field([UInt64(pickle.count)])),
            name: "zip64-short.pth")
        assertCheckpointError(short, { _ = try Checkpoint.open(path: short) }) {
            if case .corruptZip(let why) = $0 { return why.contains("archive/data.pkl: the zip64 extra field is too short") }
            return false
        }
        // A zip64 field whose declared length runs past the extra area.
        var overlong = zip64Field([UInt64(pickle.count), UInt64(pickle.count)])
        overlong[2] = 64
        let cut = try Fixtures.temporaryFile(
            zip(name: "archive/data.pkl", data: pickle, centralSize: 0xFFFF_FFFF, extra: overlong), name: "zip64-overlong.pth")
        assertCheckpointError(cut, { _ = try Checkpoint.open(path: cut) }) {
            if case .corruptZip(let why) = $0 { return why.contains("need a zip64 extra field") }; return false
        }
        // Sizes in the field that point far beyond the file.
        let huge = try Fixtures.temporaryFile(
            zip(name: "archive/data.pkl", data: pickle, centralSize: 0xFFFF_FFFF, extra: zip64Field([1 << 50, 1 << 50])),
            name: "zip64-huge.pth")
        assertCheckpointError(huge, { _ = try Checkpoint.open(path: huge) }) {
            if case .recordOutOfBounds(record: "archive/data.pkl") = $0 { return true }; return false
        }
    }

    // MARK: Nested state dicts

    /// `{key: <pickled value>}` around the body of a protocol-2 pickle (PROTO and STOP removed).
    private func wrap(_ pickle: [UInt8], in key: String) -> [UInt8] {
        let body = Array(pickle.dropFirst(2).dropLast())
        return [0x80, 0x02, 0x7D, 0x28] + HandMade.unicode(key) + body + [0x75, 0x2E] // EMPTY_DICT MARK k v SETITEMS STOP
    }

    func testNestedStateDictsAreFoundOrRefusedByName() throws {
        let state = HandMade.statePickle([Self.entry])
        let expected = Tensor(shape: [2, 3], data: Self.values)
        // Training checkpoints: {"model": sd}, {"state_dict": sd}, {"model": {"state_dict": sd}}.
        for (label, pickle) in [("model", wrap(state, in: "model")), ("state_dict", wrap(state, in: "state_dict")),
                                ("model.state_dict", wrap(wrap(state, in: "state_dict"), in: "model"))] {
            let path = try Fixtures.temporaryFile(HandMade.checkpoint(pickle: pickle, storages: [("0", Self.storage)]),
                                                  name: "nested-\(label).pth")
            XCTAssertEqual(try loadAll(path), ["w": expected], label)
        }
        // Five levels of wrapping is beyond any real checkpoint.
        var deep = state
        for _ in 0..<5 { deep = wrap(deep, in: "model") }
        let deepPath = try Fixtures.temporaryFile(HandMade.checkpoint(pickle: deep, storages: [("0", Self.storage)]), name: "deep.pth")
        assertCheckpointError(deepPath, { _ = try Checkpoint.open(path: deepPath) }) {
            if case .noStateDict(let why) = $0 { return why.contains("nested too deeply") }; return false
        }
        // A wrapper under another name is not guessed at: the error lists the keys found.
        let other = wrap(state, in: "weights")
        let otherPath = try Fixtures.temporaryFile(HandMade.checkpoint(pickle: other, storages: [("0", Self.storage)]), name: "other.pth")
        assertCheckpointError(otherPath, { _ = try Checkpoint.open(path: otherPath) }) {
            if case .noStateDict(let why) = $0 { return why.contains("holds no tensors") && why.contains("weights") }; return false
        }
        // The top level is not a dict at all (a bare int).
        let bare = try Fixtures.temporaryFile(HandMade.checkpoint(pickle: [0x80, 0x02, 0x4B, 0x07, 0x2E], storages: []), name: "bare.pth")
        assertCheckpointError(bare, { _ = try Checkpoint.open(path: bare) }) {
            if case .noStateDict(let why) = $0 { return why.contains("not a dict") }; return false
        }
    }
}

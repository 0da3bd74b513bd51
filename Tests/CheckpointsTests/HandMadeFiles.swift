import Foundation

/// Builders for hand-made checkpoints: a stored-only zip writer and a pickle writer that emits
/// the same opcodes `torch.save` does, so tests can state exactly what is wrong with a file.
enum HandMade {
    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    static func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    static func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    /// A zip with every record stored (method 0), CRC left 0 (stored CRCs are not checked).
    static func zip(_ records: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for (name, data) in records {
            let offset = out.count
            let n = Array(name.utf8)
            out += le32(0x0403_4B50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0)
            out += le32(data.count) + le32(data.count) + le16(n.count) + le16(0) + n + data
            central += le32(0x0201_4B50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0)
            central += le32(0) + le32(data.count) + le32(data.count) + le16(n.count) + le16(0) + le16(0)
            central += le16(0) + le16(0) + le32(0) + le32(offset) + n
        }
        let cdOffset = out.count
        out += central
        out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(records.count) + le16(records.count)
        out += le32(central.count) + le32(cdOffset) + le16(0)
        return out
    }

    /// One tensor entry of a state dict.
    struct TensorEntry {
        var key: String
        var storageClass = "FloatStorage"
        var storageKey = "0"
        var numel: Int
        var offset = 0
        var size: [Int]
        var stride: [Int]
    }

    /// Pickle opcodes for `OrderedDict(key -> _rebuild_tensor_v2(...))`, protocol 2.
    static func statePickle(_ entries: [TensorEntry], global: String = "torch._utils\n_rebuild_tensor_v2\n") -> [UInt8] {
        var p: [UInt8] = [0x80, 0x02]
        p += [0x63] + Array("collections\nOrderedDict\n".utf8) + [0x29, 0x52] // GLOBAL, EMPTY_TUPLE, REDUCE
        p += [0x28] // MARK
        for e in entries {
            p += unicode(e.key)
            p += [0x63] + Array(global.utf8)
            p += [0x28, 0x28] // MARK (args), MARK (pid)
            p += unicode("storage") + [0x63] + Array("torch\n\(e.storageClass)\n".utf8)
            p += unicode(e.storageKey) + unicode("cpu") + int(e.numel) + [0x74, 0x51] // TUPLE, BINPERSID
            p += int(e.offset)
            p += [0x28] + e.size.flatMap(int) + [0x74]
            p += [0x28] + e.stride.flatMap(int) + [0x74]
            p += [0x89] // NEWFALSE
            p += [0x63] + Array("collections\nOrderedDict\n".utf8) + [0x29, 0x52]
            p += [0x74, 0x52] // TUPLE, REDUCE
        }
        p += [0x75, 0x2E] // SETITEMS, STOP
        return p
    }

    static func unicode(_ s: String) -> [UInt8] {
        let b = Array(s.utf8)
        return [0x58] + le32(b.count) + b
    }

    static func int(_ v: Int) -> [UInt8] {
        if v >= 0 && v < 256 { return [0x4B, UInt8(v)] }
        return [0x8A, 8] + le64(UInt64(bitPattern: Int64(v))) // LONG1 with 8 bytes
    }

    /// A torch-style checkpoint zip: `archive/data.pkl` plus storages.
    static func checkpoint(pickle: [UInt8], storages: [(String, [UInt8])]) -> [UInt8] {
        zip([("archive/data.pkl", pickle)] + storages.map { ("archive/data/" + $0.0, $0.1) }
            + [("archive/version", Array("3\n".utf8))])
    }

    /// A safetensors file from a raw JSON header and data.
    static func safetensors(header: String, data: [UInt8]) -> [UInt8] {
        let h = Array(header.utf8)
        return le64(UInt64(h.count)) + h + data
    }
}

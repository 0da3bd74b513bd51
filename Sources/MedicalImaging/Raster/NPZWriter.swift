import ArchiveIO
import Foundation
import TensorRuntime

/// Writes NumPy `.npz` files: a ZIP archive of `.npy` members, stored (no compression), which
/// `np.load` reads like `np.savez`'s output. Members over 4 GiB (ZIP64) are refused.
public enum NPZWriter {
    /// The archive bytes for `members` (`name` without `.npy`, and the member's `.npy` bytes),
    /// in the order given.
    public static func encode(_ members: [(name: String, npy: Data)], path: String = "<memory>") throws -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for (name, npy) in members {
            let fileName = Array((name + ".npy").utf8)
            guard npy.count < Int(UInt32.max), out.count < Int(UInt32.max) else {
                throw ImagingError(.writeFailed, path: path, field: name, "member larger than 4 GiB (ZIP64 is not written)")
            }
            let crc = npy.withUnsafeBytes { Zlib.crc32($0) }
            let offset = UInt32(out.count)
            // Local file header: version 2.0, no flags, stored, DOS date 1980-01-01.
            out += le32(0x0403_4b50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21)
            out += le32(crc) + le32(UInt32(npy.count)) + le32(UInt32(npy.count))
            out += le16(UInt16(fileName.count)) + le16(0) + fileName
            out += npy
            central += le32(0x0201_4b50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21)
            central += le32(crc) + le32(UInt32(npy.count)) + le32(UInt32(npy.count))
            central += le16(UInt16(fileName.count)) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(offset)
            central += fileName
        }
        let centralOffset = UInt32(out.count)
        out += central
        out += le32(0x0605_4b50) + le16(0) + le16(0) + le16(UInt16(members.count)) + le16(UInt16(members.count))
        out += le32(UInt32(central.count)) + le32(centralOffset) + le16(0)
        return out
    }

    /// Writes the archive through a temporary file and a rename (never a partial file).
    public static func write(_ members: [(name: String, npy: Data)], to url: URL) throws {
        try AtomicFile.write(encode(members, path: url.path), to: url)
    }

    /// `.npy` bytes of uint8 values with `shape`.
    public static func uint8Array(_ values: [UInt8], shape: [Int]) -> Data {
        NPY.encode(Tensor(shape: Shape(shape), data: values.map(Float.init)), asUInt8: true)
    }

    private static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    private static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
}

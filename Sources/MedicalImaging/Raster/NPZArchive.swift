import Foundation
import TensorRuntime

/// A NumPy `.npz` file: a ZIP archive of `.npy` members, stored or deflated (`np.savez` and
/// `np.savez_compressed`), ZIP64 size fields included.
public struct NPZArchive {
    /// Member arrays by name, without the `.npy` suffix.
    public var arrays: [String: NPYArray]
    /// The raw `.npy` bytes of each member, for values that need more than float32 precision.
    var rawMembers: [String: [UInt8]] = [:]

    /// A float64 (`<f8`) member's values at full precision; other dtypes via their float32 values.
    public func doubles(_ name: String) -> [Double]? {
        guard let array = arrays[name] else { return nil }
        let count = array.values.count
        if array.dtype == "<f8", let raw = rawMembers[name], raw.count >= 10 {
            let major = raw[6]
            let headerLength = major == 1 ? Int(raw[8]) | Int(raw[9]) << 8
                : Int(raw[8]) | Int(raw[9]) << 8 | Int(raw[10]) << 16 | Int(raw[11]) << 24
            let start = (major == 1 ? 10 : 12) + headerLength
            let r = ByteReader(raw)
            let values = (0..<count).compactMap { r.f64(start + 8 * $0) }
            if values.count == count { return values }
        }
        return array.values.map(Double.init)
    }

    public subscript(name: String) -> NPYArray? { arrays[name] }

    public static func read(_ url: URL) throws -> NPZArchive {
        try decode(AtomicFile.read(url), path: url.path)
    }

    public static func decode(_ bytes: [UInt8], path: String) throws -> NPZArchive {
        let r = ByteReader(bytes)
        func corrupt(_ field: String, _ m: String) -> ImagingError { ImagingError(.corrupt, path: path, field: field, m) }
        // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
        var eocd = -1
        var o = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65535)
        while o >= lowest {
            if r.u32(o) == 0x0605_4B50 { eocd = o; break }
            o -= 1
        }
        guard eocd >= 0 else {
            if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
                throw ImagingError(.truncated, path: path, field: "end of central directory",
                                   "the ZIP archive has no end record (PK\\5\\6); the file is truncated")
            }
            throw corrupt("end of central directory", "not a ZIP/.npz archive (record PK\\5\\6 not found; truncated file?)")
        }
        var entryCount = Int(r.u16(eocd + 10)!)
        var dirSize = Int(r.u32(eocd + 12)!)
        var dirOffset = Int(r.u32(eocd + 16)!)
        if (dirOffset == 0xFFFF_FFFF || entryCount == 0xFFFF), eocd >= 20, r.u32(eocd - 20) == 0x0706_4B50,
           let z64 = r.u64(eocd - 12).map(Int.init), r.u32(z64) == 0x0606_4B50 {
            entryCount = Int(clamping: r.u64(z64 + 32)!)
            dirSize = Int(clamping: r.u64(z64 + 40)!)
            dirOffset = Int(clamping: r.u64(z64 + 48)!)
        }
        guard r.has(dirOffset, dirSize) else {
            throw ImagingError(.truncated, path: path, field: "central directory",
                               "at byte \(dirOffset) with \(dirSize) bytes runs past the end of the file (\(bytes.count) bytes)")
        }
        var arrays: [String: NPYArray] = [:]
        var rawMembers: [String: [UInt8]] = [:]
        var p = dirOffset
        for _ in 0..<entryCount {
            guard r.u32(p) == 0x0201_4B50, let method = r.u16(p + 10), var compSize = r.u32(p + 20).map(Int.init),
                  var size = r.u32(p + 24).map(Int.init), let nameLen = r.u16(p + 28).map(Int.init),
                  let extraLen = r.u16(p + 30).map(Int.init), let commentLen = r.u16(p + 32).map(Int.init),
                  var localOffset = r.u32(p + 42).map(Int.init), let name = r.text(p + 46, nameLen) else {
                throw corrupt("central directory", "entry at byte \(p) is malformed")
            }
            // ZIP64 extra field (id 1): 64-bit sizes/offset for the fields that hold 0xFFFFFFFF.
            var e = p + 46 + nameLen
            let extraEnd = e + extraLen
            while e + 4 <= extraEnd, let id = r.u16(e), let len = r.u16(e + 2).map(Int.init) {
                if id == 1 {
                    var q = e + 4
                    if size == 0xFFFF_FFFF, let v = r.u64(q) { size = Int(clamping: v); q += 8 }
                    if compSize == 0xFFFF_FFFF, let v = r.u64(q) { compSize = Int(clamping: v); q += 8 }
                    if localOffset == 0xFFFF_FFFF, let v = r.u64(q) { localOffset = Int(clamping: v) }
                }
                e += 4 + len
            }
            p = extraEnd + commentLen
            guard r.u32(localOffset) == 0x0403_4B50, let lNameLen = r.u16(localOffset + 26).map(Int.init),
                  let lExtraLen = r.u16(localOffset + 28).map(Int.init) else {
                throw corrupt(name, "local header at byte \(localOffset) is missing")
            }
            let dataStart = localOffset + 30 + lNameLen + lExtraLen
            guard let stored = r.slice(dataStart, compSize) else {
                throw ImagingError(.truncated, path: path, field: name,
                                   "member data (\(compSize) bytes at \(dataStart)) runs past the end of the file")
            }
            let raw: [UInt8]
            switch method {
            case 0: raw = Array(stored)
            case 8: raw = try Zlib.inflate(Array(stored), wrapper: .raw, path: path, field: name, expectedSize: size)
            default:
                throw ImagingError(.unsupported, path: path, field: name,
                                   "compression method \(method); expected 0 (stored) or 8 (deflated)")
            }
            guard name.hasSuffix(".npy") else { continue }
            do {
                arrays[String(name.dropLast(4))] = try NPY.decode(Data(raw), path: "\(path):\(name)")
                rawMembers[String(name.dropLast(4))] = raw
            } catch let error as NPYError {
                throw ImagingError(.corrupt, path: path, field: name, error.message)
            }
        }
        if arrays.isEmpty {
            throw ImagingError(.missing, path: path, field: "members", "the archive holds no .npy arrays")
        }
        return NPZArchive(arrays: arrays, rawMembers: rawMembers)
    }
}

/// MedSAM's `.npz` case files: `imgs` (H x W x 3 for 2-D cases, D x H x W for 3-D), optional
/// `gts` (same layout, labels), `boxes` (N x 4 XYXY in 2-D, N x 6 [x0, y0, z0, x1, y1, z1] in 3-D)
/// and `spacing`.
public struct MedSAMCase {
    public var images: NPYArray
    public var groundTruth: NPYArray?
    public var boxes: NPYArray?
    public var spacing: [Double]?

    public var isVolume: Bool { images.shape.rank == 3 && images.shape[2] != 3 }

    public static func read(_ url: URL) throws -> MedSAMCase {
        let npz = try NPZArchive.read(url)
        guard let imgs = npz["imgs"] else {
            throw ImagingError(.missing, path: url.path, field: "imgs",
                               "MedSAM .npz needs an 'imgs' array; found \(npz.arrays.keys.sorted())")
        }
        guard imgs.shape.rank == 2 || imgs.shape.rank == 3 else {
            throw ImagingError(.unsupported, path: url.path, field: "imgs",
                               "has shape \(imgs.shape); expected H x W, H x W x 3 or D x H x W")
        }
        if let gts = npz["gts"] {
            let spatial = imgs.shape.rank == 3 && imgs.shape[2] == 3 ? Array(imgs.shape.dims.prefix(2)) : imgs.shape.dims
            guard gts.shape.dims == spatial else {
                throw ImagingError(.inconsistent, path: url.path, field: "gts",
                                   "has shape \(gts.shape), 'imgs' implies \(spatial)")
            }
        }
        if let boxes = npz["boxes"] {
            let width = boxes.shape.dims.last ?? 0
            guard width == 4 || width == 6 else {
                throw ImagingError(.corrupt, path: url.path, field: "boxes", "has shape \(boxes.shape); expected N x 4 or N x 6")
            }
        }
        return MedSAMCase(images: imgs, groundTruth: npz["gts"], boxes: npz["boxes"],
                          spacing: npz.doubles("spacing"))
    }

    /// The 3-D `imgs` (D x H x W) as a volume: i = column, j = row, k = slice, so the NumPy
    /// array `imgs[k, j, i]` is voxel (i, j, k). `spacing` (when 3 values) is taken in (i, j, k)
    /// order; the affine is that diagonal scale in LPS, as SimpleITK writes an identity direction.
    public func volume(source: String) -> Volume? {
        guard isVolume else { return nil }
        let d = images.shape.dims
        let s = (spacing?.count == 3 ? spacing! : [1, 1, 1]).map { $0 > 0 ? $0 : 1 }
        let affine = Affine(columns: [[s[0], 0, 0], [0, s[1], 0], [0, 0, s[2]]], origin: [0, 0, 0])
        return Volume(voxels: images.values, dims: [d[2], d[1], d[0]], spacing: s, affine: affine, frame: .lps,
                      sourceType: voxelType(images.dtype), source: "\(source) (MedSAM npz)")
    }

    /// The 2-D `imgs` as an image (H x W or H x W x 3).
    public func image() -> Image? {
        guard !isVolume else { return nil }
        let d = images.shape.dims
        return Image(pixels: images.values, height: d[0], width: d[1], channels: d.count == 3 ? 3 : 1,
                     bitDepth: 8, spacing: spacing.map { Array($0.prefix(2)) } ?? [1, 1])
    }
}

/// The voxel type that matches a NumPy dtype string (`<i2`, `|u1`, ...); float32 when unknown.
func voxelType(_ dtype: String) -> VoxelType {
    let core = dtype.trimmingCharacters(in: CharacterSet(charactersIn: "<>|="))
    switch core {
    case "u1", "b1": return .uint8
    case "i1": return .int8
    case "i2": return .int16
    case "u2": return .uint16
    case "i4": return .int32
    case "u4": return .uint32
    case "i8": return .int64
    case "u8": return .uint64
    case "f8": return .float64
    default: return .float32
    }
}

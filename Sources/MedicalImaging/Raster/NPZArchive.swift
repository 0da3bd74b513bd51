import ArchiveIO
import Foundation
import TensorRuntime

/// A NumPy `.npz` file: a ZIP archive of `.npy` members, stored or deflated (`np.savez` and
/// `np.savez_compressed`), ZIP64 size fields included. Read with the package's one ZIP reader
/// (`ArchiveIO.ZipArchive`); each member with `NPY`.
public struct NPZArchive {
    /// Member arrays by name, without the `.npy` suffix.
    public var arrays: [String: NPYArray]
    /// The raw `.npy` bytes of each member, for values that need more than float32 precision.
    var rawMembers: [String: [UInt8]] = [:]

    /// A member's values at float64 precision (exact for `<f8`, which `arrays` rounds to float32).
    public func doubles(_ name: String) -> [Double]? {
        guard let raw = rawMembers[name] else { return nil }
        return try? NPY.decodeDoubles(Data(raw))
    }

    public subscript(name: String) -> NPYArray? { arrays[name] }

    public static func read(_ url: URL) throws -> NPZArchive {
        try decode(AtomicFile.read(url), path: url.path)
    }

    public static func decode(_ bytes: [UInt8], path: String) throws -> NPZArchive {
        var arrays: [String: NPYArray] = [:]
        var rawMembers: [String: [UInt8]] = [:]
        try bytes.withUnsafeBytes { raw in
            let zip = try ImagingError.naming(path: path, field: nil) { try ZipArchive(path: path, bytes: raw) }
            for record in zip.records where record.name.hasSuffix(".npy") {
                let member = try ImagingError.naming(path: path, field: record.name) { try zip.contents(of: record).array }
                let name = String(record.name.dropLast(4))
                do {
                    arrays[name] = try NPY.decode(Data(member), path: "\(path):\(record.name)")
                    rawMembers[name] = member
                } catch let error as NPYError {
                    throw ImagingError(.corrupt, path: path, field: record.name, error.message)
                }
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
        try decode(AtomicFile.read(url), path: url.path)
    }

    /// ``read(_:)`` on the bytes of a file named `path` (for errors).
    public static func decode(_ bytes: [UInt8], path: String) throws -> MedSAMCase {
        let npz = try NPZArchive.decode(bytes, path: path)
        guard let imgs = npz["imgs"] else {
            throw ImagingError(.missing, path: path, field: "imgs",
                               "MedSAM .npz needs an 'imgs' array; found \(npz.arrays.keys.sorted())")
        }
        guard imgs.shape.rank == 2 || imgs.shape.rank == 3 else {
            throw ImagingError(.unsupported, path: path, field: "imgs",
                               "has shape \(imgs.shape); expected H x W, H x W x 3 or D x H x W")
        }
        if let gts = npz["gts"] {
            let spatial = imgs.shape.rank == 3 && imgs.shape[2] == 3 ? Array(imgs.shape.dims.prefix(2)) : imgs.shape.dims
            guard gts.shape.dims == spatial else {
                throw ImagingError(.inconsistent, path: path, field: "gts",
                                   "has shape \(gts.shape), 'imgs' implies \(spatial)")
            }
        }
        if let boxes = npz["boxes"] {
            let width = boxes.shape.dims.last ?? 0
            guard width == 4 || width == 6 else {
                throw ImagingError(.corrupt, path: path, field: "boxes", "has shape \(boxes.shape); expected N x 4 or N x 6")
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

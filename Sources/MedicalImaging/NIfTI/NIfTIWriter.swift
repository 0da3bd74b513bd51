import ArchiveIO
import Foundation

/// Writes volumes and masks as NIfTI (`.nii`, or gzip-compressed when the name ends in `.gz`).
public enum NIfTIWriter {
    /// Writes `volume` with voxels stored as `type` (integers are rounded and clamped to the type's
    /// range; `scl_slope` 1, `scl_inter` 0).
    ///
    /// The geometry is the volume's own NIfTI geometry when it came from NIfTI (qform, sform, pixdim
    /// and units copied unchanged), else one built from its RAS affine. NIfTI-1 is written unless a
    /// dimension exceeds its 16-bit limit or `version` asks for 2. The file appears atomically.
    public static func write(_ volume: Volume, to url: URL, as type: VoxelType = .float32,
                             version: Int? = nil, description: String = "medsam-swift") throws {
        let bytes = try encode(volume, as: type, version: version, description: description, path: url.path)
        let out = url.path.hasSuffix(".gz")
            ? try ImagingError.naming(path: url.path, field: "gzip stream", writing: true) { try Zlib.gzip(bytes) }
            : bytes
        try AtomicFile.write(out, to: url)
    }

    /// Writes a label mask (`labels` in voxel order, values 0...255) on `reference`'s grid as uint8.
    public static func writeMask(_ labels: [UInt8], like reference: Volume, to url: URL) throws {
        guard labels.count == reference.voxels.count else {
            throw ImagingError(.invalidArgument, path: url.path, field: "mask",
                               "has \(labels.count) voxels, the reference volume \(reference.dims) has \(reference.voxels.count)")
        }
        try write(reference.withVoxels(labels.map(Float.init), sourceType: .uint8), to: url, as: .uint8)
    }

    static func encode(_ volume: Volume, as type: VoxelType, version: Int?, description: String,
                       path: String) throws -> [UInt8] {
        let needsV2 = volume.dims.contains { $0 > Int(Int16.max) }
        let v = version ?? (needsV2 ? 2 : 1)
        guard v == 1 || v == 2 else {
            throw ImagingError(.invalidArgument, path: path, field: "version", "is \(v), expected 1 or 2")
        }
        if v == 1 && needsV2 {
            throw ImagingError(.invalidArgument, path: path, field: "dim",
                               "shape \(volume.dims) exceeds NIfTI-1's limit of 32767 per dimension")
        }
        var geometry = volume.niftiGeometry ?? NIfTIGeometry(rasAffine: volume.rasAffine)
        if volume.niftiGeometry == nil || geometry.pixdim.count != 8 {
            geometry.pixdim = [geometry.pixdim.first ?? 1] + volume.spacing + [1, 1, 1, 1]
        }
        let header = NIfTIHeader(version: v, bigEndian: false, dim: [3] + volume.dims + [1, 1, 1, 1],
                                 datatype: type, voxOffset: v == 1 ? 352 : 544, sclSlope: 1, sclInter: 0,
                                 geometry: geometry, description: description)
        var bytes = header.serialize()
        bytes.reserveCapacity(bytes.count + volume.voxels.count * type.size)
        appendVoxels(volume.voxels, as: type, to: &bytes)
        return bytes
    }

    static func appendVoxels(_ values: [Float], as type: VoxelType, to out: inout [UInt8]) {
        let lo = type.range.lowerBound, hi = type.range.upperBound
        let size = type.size
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: values.count * size))
        // One typed loop per type: this runs over every voxel of the volume.
        func fill<T>(_ as: T.Type, _ convert: (Float) -> T) {
            out.withUnsafeMutableBytes { raw in
                let dst = raw.baseAddress!.advanced(by: start)
                values.withUnsafeBufferPointer { src in
                    for n in 0..<src.count { dst.storeBytes(of: convert(src[n]), toByteOffset: n * size, as: T.self) }
                }
            }
        }
        @inline(__always) func int(_ f: Float) -> Double {
            let d = Double(f)
            return d.isNaN ? 0 : min(hi, max(lo, d.rounded()))
        }
        // Little-endian host (x86-64, arm64): values are stored in their native byte order.
        switch type {
        case .uint8: fill(UInt8.self) { UInt8(int($0)) }
        case .int8: fill(Int8.self) { Int8(int($0)) }
        case .int16: fill(Int16.self) { Int16(int($0)) }
        case .uint16: fill(UInt16.self) { UInt16(int($0)) }
        case .int32: fill(Int32.self) { Int32(int($0)) }
        case .uint32: fill(UInt32.self) { UInt32(int($0)) }
        case .int64: fill(Int64.self) { Int64(int($0)) }
        case .uint64: fill(UInt64.self) { UInt64(int($0)) }
        case .float32: fill(Float.self) { $0 }
        case .float64: fill(Double.self) { Double($0) }
        }
    }
}

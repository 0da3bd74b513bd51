import Foundation

/// Writes volumes and images as NumPy `.npy` in any voxel type.
///
/// A volume is stored with shape (nz, ny, nx) in C order, so `array[k, j, i]` is voxel (i, j, k):
/// the same bytes as NIfTI and DICOM pixel data, and the (frames, rows, columns) order pydicom's
/// `pixel_array` and MedSAM's npz use. An image is (height, width) or (height, width, channels).
/// NPY holds no geometry; write NIfTI (or print `info --json`) to keep it.
public enum VolumeNPY {
    public static func write(_ volume: Volume, to url: URL, as type: VoxelType = .float32) throws {
        try write(volume.voxels, shape: [volume.nz, volume.ny, volume.nx], as: type, to: url)
    }

    public static func write(_ image: Image, to url: URL, as type: VoxelType = .float32) throws {
        let shape = image.channels == 1 ? [image.height, image.width] : [image.height, image.width, image.channels]
        try write(image.pixels, shape: shape, as: type, to: url)
    }

    /// The NumPy dtype string of a voxel type (little-endian).
    static func descr(_ type: VoxelType) -> String {
        switch type {
        case .uint8: return "|u1"
        case .int8: return "|i1"
        case .int16: return "<i2"
        case .uint16: return "<u2"
        case .int32: return "<i4"
        case .uint32: return "<u4"
        case .int64: return "<i8"
        case .uint64: return "<u8"
        case .float32: return "<f4"
        case .float64: return "<f8"
        }
    }

    static func encode(_ values: [Float], shape: [Int], as type: VoxelType) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr(type))', 'fortran_order': False, 'shape': \(shapeText), }"
        // Magic (6) + version (2) + length (2) + header + newline, padded to 64 bytes (NPY 1.0).
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let n = header.utf8.count
        out += [UInt8(n & 0xFF), UInt8(n >> 8)]
        out += Array(header.utf8)
        NIfTIWriter.appendVoxels(values, as: type, to: &out)
        return out
    }

    private static func write(_ values: [Float], shape: [Int], as type: VoxelType, to url: URL) throws {
        try AtomicFile.write(encode(values, shape: shape, as: type), to: url)
    }
}

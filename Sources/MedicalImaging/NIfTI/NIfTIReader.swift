import ArchiveIO
import Foundation

/// Reads NIfTI-1 and NIfTI-2 single-file images (`.nii`, `.nii.gz`), either byte order.
public enum NIfTIReader {
    /// Reads a 3-D volume (2-D images become one slice; trailing dimensions of size 1 are dropped).
    ///
    /// Values are `raw * scl_slope + scl_inter` as float32. The affine is nibabel's choice (sform,
    /// then qform, then a voxel-size fallback), in RAS+. A 4-D file (or higher) holds several
    /// volumes; `volumeIndex` picks one (counting over dimensions 4 and up, file order), and is
    /// required when there is more than one.
    public static func read(_ url: URL, volumeIndex: Int? = nil) throws -> Volume {
        try decode(AtomicFile.read(url), path: url.path, volumeIndex: volumeIndex)
    }

    /// ``read(_:volumeIndex:)`` on the bytes of a file (gzip-compressed or not) named `path`,
    /// which only names the file in errors and says whether it should be gzip (`.gz`).
    public static func decode(_ file: [UInt8], path: String, volumeIndex: Int? = nil) throws -> Volume {
        let (header, bytes) = try parseHeader(file, path: path)
        let shape = header.dim[1...header.dim[0]]
        // Sizes come from the file: multiply with overflow checks so a hostile header cannot trap.
        guard let total = checkedProduct(Array(shape)), total < (1 << 36) else {
            throw ImagingError(.corrupt, path: path, field: "dim", "shape \(Array(shape)) is implausibly large")
        }
        let extra = checkedProduct(Array(shape.dropFirst(3)))!
        guard extra == 1 || volumeIndex != nil else {
            throw ImagingError(.unsupported, path: path, field: "dim",
                               "image has shape \(Array(shape)), i.e. \(extra) volumes; choose one with a volume index")
        }
        let volume = volumeIndex ?? 0
        guard (0..<extra).contains(volume) else {
            throw ImagingError(.invalidArgument, path: path, field: "volume index",
                               "is \(volume), expected 0...\(extra - 1) for shape \(Array(shape))")
        }
        let dims = (1...3).map { $0 <= header.dim[0] ? header.dim[$0] : 1 }
        let count = total / extra
        let start = header.voxOffset + volume * count * header.datatype.size
        // The whole image must be present, not only the volume asked for: a short file is damaged.
        let needed = count * extra * header.datatype.size
        guard bytes.count - header.voxOffset >= needed else {
            throw ImagingError(.truncated, path: path, field: "data",
                               "holds \(max(0, bytes.count - header.voxOffset)) bytes after vox_offset \(header.voxOffset), shape \(Array(shape)) of \(header.datatype.rawValue) needs \(needed)")
        }
        let voxels = decodeVoxels(bytes, offset: start, count: count, type: header.datatype,
                                  bigEndian: header.bigEndian, slope: header.sclSlope, inter: header.sclInter)
        let g = header.geometry
        let spacing = (1...3).map { d -> Double in
            let p = abs(g.pixdim[d])
            return p == 0 ? 1 : p
        }
        return Volume(voxels: voxels, dims: dims, spacing: spacing, affine: g.bestAffine(dims: dims),
                      frame: .ras, sourceType: header.datatype,
                      source: "\(path) (NIfTI-\(header.version))", niftiGeometry: g)
    }

    /// Reads and parses only the header; also returns the whole decompressed file.
    public static func readHeader(_ url: URL) throws -> (NIfTIHeader, [UInt8]) {
        try parseHeader(AtomicFile.read(url), path: url.path)
    }

    /// The header of a file's bytes, and the bytes decompressed.
    static func parseHeader(_ file: [UInt8], path: String) throws -> (NIfTIHeader, [UInt8]) {
        var bytes = file
        if bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B {
            let compressed = bytes
            bytes = try ImagingError.naming(path: path, field: "gzip stream") {
                try Zlib.inflate(compressed, wrapper: .gzip)
            }
        } else if path.hasSuffix(".gz") {
            throw ImagingError(.corrupt, path: path, field: "gzip stream",
                               "file name ends in .gz but the gzip magic bytes 1f 8b are missing")
        }
        return (try NIfTIHeader.parse(bytes, path: path), bytes)
    }

    /// The product of `values`, or nil on overflow.
    static func checkedProduct(_ values: [Int]) -> Int? {
        var p = 1
        for v in values {
            let (r, o) = p.multipliedReportingOverflow(by: v)
            if o { return nil }
            p = r
        }
        return p
    }

    static func decodeVoxels(_ bytes: [UInt8], offset: Int, count: Int, type: VoxelType, bigEndian: Bool,
                             slope: Double, inter: Double) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        let size = type.size
        bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress!.advanced(by: offset)
            out.withUnsafeMutableBufferPointer { o in
                for n in 0..<count {
                    let p = base.advanced(by: n * size)
                    let v: Double
                    switch type {
                    case .uint8: v = Double(p.load(as: UInt8.self))
                    case .int8: v = Double(p.load(as: Int8.self))
                    case .int16: v = Double(Int16(bitPattern: load16(p, bigEndian)))
                    case .uint16: v = Double(load16(p, bigEndian))
                    case .int32: v = Double(Int32(bitPattern: load32(p, bigEndian)))
                    case .uint32: v = Double(load32(p, bigEndian))
                    case .float32: v = Double(Float(bitPattern: load32(p, bigEndian)))
                    case .int64: v = Double(Int64(bitPattern: load64(p, bigEndian)))
                    case .uint64: v = Double(load64(p, bigEndian))
                    case .float64: v = Double(bitPattern: load64(p, bigEndian))
                    }
                    o[n] = Float(v * slope + inter)
                }
            }
        }
        return out
    }

    @inline(__always) private static func load16(_ p: UnsafeRawPointer, _ be: Bool) -> UInt16 {
        let v = p.loadUnaligned(as: UInt16.self)
        return be ? v.byteSwapped : v
    }
    @inline(__always) private static func load32(_ p: UnsafeRawPointer, _ be: Bool) -> UInt32 {
        let v = p.loadUnaligned(as: UInt32.self)
        return be ? v.byteSwapped : v
    }
    @inline(__always) private static func load64(_ p: UnsafeRawPointer, _ be: Bool) -> UInt64 {
        let v = p.loadUnaligned(as: UInt64.self)
        return be ? v.byteSwapped : v
    }
}

import ArchiveIO
import Foundation

/// The parts of a NIfTI-1 or NIfTI-2 header this package reads and writes.
public struct NIfTIHeader: Equatable, Sendable {
    /// 1 or 2.
    public var version: Int
    public var bigEndian: Bool
    /// dim[0...7]: dim[0] is the number of dimensions in use.
    public var dim: [Int]
    public var datatype: VoxelType
    public var voxOffset: Int
    public var sclSlope: Double
    public var sclInter: Double
    public var geometry: NIfTIGeometry
    public var description: String

    /// Sizes of the dimensions in use (dim[1...dim[0]]).
    public var shape: [Int] { Array(dim[1...max(1, dim[0])]) }

    /// NIfTI datatype codes (nifti1.h `DT_*`) of the voxel types supported here.
    static let datatypeCodes: [Int: VoxelType] = [
        2: .uint8, 4: .int16, 8: .int32, 16: .float32, 64: .float64,
        256: .int8, 512: .uint16, 768: .uint32, 1024: .int64, 1280: .uint64,
    ]
    static let datatypeNames: [Int: String] = [
        1: "binary", 32: "complex64", 128: "rgb24", 1536: "float128", 1792: "complex128",
        2048: "complex256", 2304: "rgba32",
    ]

    static func code(of type: VoxelType) -> Int {
        datatypeCodes.first { $0.value == type }!.key
    }

    /// Parses the header at the start of `bytes` (the decompressed file).
    static func parse(_ bytes: [UInt8], path: String) throws -> NIfTIHeader {
        func corrupt(_ field: String, _ m: String) -> ImagingError { ImagingError(.corrupt, path: path, field: field, m) }
        guard bytes.count >= 348 else {
            throw ImagingError(.truncated, path: path, field: "header",
                               "file holds \(bytes.count) bytes, a NIfTI header needs at least 348")
        }
        var r = ByteReader(bytes)
        let version: Int
        switch r.i32(0)! {
        case 348: version = 1
        case 540: version = 2
        default:
            r.bigEndian = true
            switch r.i32(0)! {
            case 348: version = 1
            case 540: version = 2
            default:
                throw corrupt("sizeof_hdr", "is \(ByteReader(bytes).i32(0)!), expected 348 (NIfTI-1) or 540 (NIfTI-2)")
            }
        }
        if version == 2 && bytes.count < 540 {
            throw ImagingError(.truncated, path: path, field: "header",
                               "file holds \(bytes.count) bytes, a NIfTI-2 header needs 540")
        }
        let magicOffset = version == 1 ? 344 : 4
        let magic = r.text(magicOffset, 4) ?? ""
        if magic == "ni1" || magic == "ni2" {
            throw ImagingError(.unsupported, path: path, field: "magic",
                               "'\(magic)' marks a .hdr/.img pair; only single-file .nii is supported")
        }
        guard magic == (version == 1 ? "n+1" : "n+2") else {
            throw corrupt("magic", "is '\(magic)', expected '\(version == 1 ? "n+1" : "n+2")'")
        }

        let dim: [Int]
        let pixdim: [Double]
        let datatypeCode: Int, bitpix: Int, voxOffset: Double
        var slope: Double, inter: Double
        let qformCode: Int, sformCode: Int
        let quatern: [Double], qoffset: [Double], srow: [[Double]]
        let xyzt: Int
        let descrip: String
        if version == 1 {
            dim = (0..<8).map { Int(r.i16(40 + 2 * $0)!) }
            datatypeCode = Int(r.i16(70)!)
            bitpix = Int(r.i16(72)!)
            pixdim = (0..<8).map { Double(r.f32(76 + 4 * $0)!) }
            voxOffset = Double(r.f32(108)!)
            slope = Double(r.f32(112)!)
            inter = Double(r.f32(116)!)
            xyzt = Int(r.u8(123)!)
            descrip = r.text(148, 80) ?? ""
            qformCode = Int(r.i16(252)!)
            sformCode = Int(r.i16(254)!)
            quatern = (0..<3).map { Double(r.f32(256 + 4 * $0)!) }
            qoffset = (0..<3).map { Double(r.f32(268 + 4 * $0)!) }
            srow = (0..<3).map { row in (0..<4).map { Double(r.f32(280 + 16 * row + 4 * $0)!) } }
        } else {
            dim = (0..<8).map { Int(clamping: r.i64(16 + 8 * $0)!) }
            datatypeCode = Int(r.i16(12)!)
            bitpix = Int(r.i16(14)!)
            pixdim = (0..<8).map { r.f64(104 + 8 * $0)! }
            voxOffset = Double(r.i64(168)!)
            slope = r.f64(176)!
            inter = r.f64(184)!
            descrip = r.text(240, 80) ?? ""
            qformCode = Int(r.i32(344)!)
            sformCode = Int(r.i32(348)!)
            quatern = (0..<3).map { r.f64(352 + 8 * $0)! }
            qoffset = (0..<3).map { r.f64(376 + 8 * $0)! }
            srow = (0..<3).map { row in (0..<4).map { r.f64(400 + 32 * row + 8 * $0)! } }
            xyzt = Int(r.i32(500)!)
        }

        guard (1...7).contains(dim[0]) else { throw corrupt("dim[0]", "is \(dim[0]), expected 1 to 7") }
        for d in 1...dim[0] where dim[d] < 1 {
            throw corrupt("dim[\(d)]", "is \(dim[d]), expected a size of at least 1")
        }
        guard let type = datatypeCodes[datatypeCode] else {
            let name = datatypeNames[datatypeCode].map { " (\($0))" } ?? ""
            throw ImagingError(.unsupported, path: path, field: "datatype",
                               "code \(datatypeCode)\(name) is not supported; expected one of uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64")
        }
        guard bitpix == type.size * 8 else {
            throw corrupt("bitpix", "is \(bitpix), expected \(type.size * 8) for datatype \(type.rawValue)")
        }
        let minOffset = version == 1 ? 348 : 540
        guard voxOffset.isFinite, voxOffset >= Double(minOffset), voxOffset < 1e15 else {
            throw corrupt("vox_offset", "is \(voxOffset), expected at least \(minOffset)")
        }
        for (name, v) in [("quatern", quatern), ("qoffset", qoffset), ("srow", Array(srow.joined())),
                          ("pixdim", Array(pixdim[0...3]))] where v.contains(where: { !$0.isFinite }) {
            throw corrupt(name, "holds a non-finite value \(v)")
        }
        // nibabel and nifti_clib: a zero or non-finite slope means "no scaling".
        if slope == 0 || !slope.isFinite { slope = 1; inter = 0 }
        if !inter.isFinite { inter = 0 }
        let geometry = NIfTIGeometry(qformCode: qformCode, sformCode: sformCode, quaternion: quatern,
                                     qoffset: qoffset, pixdim: pixdim, srow: srow, xyztUnits: xyzt)
        return NIfTIHeader(version: version, bigEndian: r.bigEndian, dim: dim, datatype: type,
                           voxOffset: Int(voxOffset), sclSlope: slope, sclInter: inter,
                           geometry: geometry, description: descrip)
    }

    /// Serialises a header (little endian) followed by the 4 zero extension bytes.
    func serialize() -> [UInt8] {
        let g = geometry
        let code = Int16(NIfTIHeader.code(of: datatype))
        let bitpix = Int16(datatype.size * 8)
        if version == 1 {
            var w = ByteWriter(size: 352)
            w.i32(348, at: 0)
            w.u8(114, at: 38)  // regular = 'r', as Analyze readers expect
            for (k, d) in dim.enumerated() { w.i16(Int16(clamping: d), at: 40 + 2 * k) }
            w.i16(code, at: 70)
            w.i16(bitpix, at: 72)
            for (k, p) in g.pixdim.enumerated() { w.f32(Float(p), at: 76 + 4 * k) }
            w.f32(Float(voxOffset), at: 108)
            w.f32(Float(sclSlope), at: 112)
            w.f32(Float(sclInter), at: 116)
            w.u8(UInt8(truncatingIfNeeded: g.xyztUnits), at: 123)
            w.text(description, at: 148, width: 80)
            w.i16(Int16(clamping: g.qformCode), at: 252)
            w.i16(Int16(clamping: g.sformCode), at: 254)
            for k in 0..<3 {
                w.f32(Float(g.quaternion[k]), at: 256 + 4 * k)
                w.f32(Float(g.qoffset[k]), at: 268 + 4 * k)
                for c in 0..<4 { w.f32(Float(g.srow[k][c]), at: 280 + 16 * k + 4 * c) }
            }
            w.text("n+1", at: 344, width: 4)
            return w.bytes
        }
        var w = ByteWriter(size: 544)
        w.i32(540, at: 0)
        for (k, b) in [0x6E, 0x2B, 0x32, 0x00, 0x0D, 0x0A, 0x1A, 0x0A].enumerated() { w.u8(UInt8(b), at: 4 + k) }
        w.i16(code, at: 12)
        w.i16(bitpix, at: 14)
        for (k, d) in dim.enumerated() { w.i64(Int64(d), at: 16 + 8 * k) }
        for (k, p) in g.pixdim.enumerated() { w.f64(p, at: 104 + 8 * k) }
        w.i64(Int64(voxOffset), at: 168)
        w.f64(sclSlope, at: 176)
        w.f64(sclInter, at: 184)
        w.text(description, at: 240, width: 80)
        w.i32(Int32(clamping: g.qformCode), at: 344)
        w.i32(Int32(clamping: g.sformCode), at: 348)
        for k in 0..<3 {
            w.f64(g.quaternion[k], at: 352 + 8 * k)
            w.f64(g.qoffset[k], at: 376 + 8 * k)
            for c in 0..<4 { w.f64(g.srow[k][c], at: 400 + 32 * k + 8 * c) }
        }
        w.i32(Int32(clamping: g.xyztUnits), at: 500)
        return w.bytes
    }
}

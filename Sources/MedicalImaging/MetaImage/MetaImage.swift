import ArchiveIO
import Foundation

/// ITK's MetaImage (`.mha` with the data attached, `.mhd` with a separate data file).
///
/// The header is `Key = Value` lines ending with `ElementDataFile`. Geometry is ITK's: LPS world,
/// `Offset` the first voxel's position, `TransformMatrix` the direction of each voxel axis
/// (axis after axis), `ElementSpacing` the step along each.
public enum MetaImage {
    static let types: [String: VoxelType] = [
        "MET_CHAR": .int8, "MET_UCHAR": .uint8, "MET_SHORT": .int16, "MET_USHORT": .uint16,
        "MET_INT": .int32, "MET_UINT": .uint32, "MET_LONG": .int32, "MET_ULONG": .uint32,
        "MET_LONG_LONG": .int64, "MET_ULONG_LONG": .uint64, "MET_FLOAT": .float32, "MET_DOUBLE": .float64,
    ]

    /// The type names written (MET_INT rather than its alias MET_LONG).
    static let writeNames: [VoxelType: String] = [
        .int8: "MET_CHAR", .uint8: "MET_UCHAR", .int16: "MET_SHORT", .uint16: "MET_USHORT", .int32: "MET_INT",
        .uint32: "MET_UINT", .int64: "MET_LONG_LONG", .uint64: "MET_ULONG_LONG", .float32: "MET_FLOAT", .float64: "MET_DOUBLE",
    ]

    /// Reads a 2-D, 3-D or (with `volumeIndex`) 4-D scalar image as a volume; raw or
    /// zlib-compressed data, either byte order.
    public static func read(_ url: URL, volumeIndex: Int? = nil) throws -> Volume {
        try decode(AtomicFile.read(url), url: url, volumeIndex: volumeIndex)
    }

    /// ``read(_:volumeIndex:)`` on the bytes of the file at `url` (an `.mhd`'s data file is
    /// still read from beside `url`).
    public static func decode(_ bytes: [UInt8], url: URL, volumeIndex: Int? = nil) throws -> Volume {
        let path = url.path
        func bad(_ field: String, _ m: String) -> ImagingError { ImagingError(.corrupt, path: path, field: field, m) }
        var fields: [String: String] = [:]
        var p = 0, start = 0
        var dataOffset: Int?
        while p < bytes.count && dataOffset == nil {
            if bytes[p] == 0x0A {
                let line = String(decoding: bytes[start..<p], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                start = p + 1
                if !line.isEmpty {
                    guard let eq = line.firstIndex(of: "=") else { throw bad("header", "line '\(line.prefix(80))' is not 'Key = Value'") }
                    let key = line[..<eq].trimmingCharacters(in: .whitespaces)
                    fields[key] = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                    if key == "ElementDataFile" { dataOffset = start }
                }
                guard fields.count < 1000 else { throw bad("header", "has no ElementDataFile line") }
            }
            p += 1
        }
        guard let attachedOffset = dataOffset ?? (start < bytes.count && String(decoding: bytes[start...], as: UTF8.self).contains("ElementDataFile") ? bytes.count : nil) else {
            throw ImagingError(.missing, path: path, field: "ElementDataFile", "the header has no ElementDataFile line (is this a MetaImage?)")
        }
        if dataOffset == nil, let eq = String(decoding: bytes[start...], as: UTF8.self).split(separator: "=", maxSplits: 1).last {
            fields["ElementDataFile"] = eq.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func need(_ key: String) throws -> String {
            guard let v = fields[key] else { throw ImagingError(.missing, path: path, field: key, "required MetaImage field is absent") }
            return v
        }
        func numbers(_ key: String, _ n: Int) throws -> [Double]? {
            guard let text = fields[key] else { return nil }
            let v = text.split(separator: " ").compactMap { Double($0) }
            guard v.count == n, v.allSatisfy(\.isFinite) else { throw bad(key, "is '\(text)', expected \(n) numbers") }
            return v
        }
        if let object = fields["ObjectType"], object.lowercased() != "image" {
            throw ImagingError(.unsupported, path: path, field: "ObjectType", "is '\(object)'; only Image is supported")
        }
        guard let nd = Int(try need("NDims")), (2...4).contains(nd) else { throw bad("NDims", "is '\(fields["NDims"]!)', expected 2, 3 or 4") }
        guard let sizeValues = try numbers("DimSize", nd), sizeValues.allSatisfy({ $0 >= 1 && $0 < 1e9 && $0 == $0.rounded() }) else {
            throw ImagingError(.missing, path: path, field: "DimSize", "required MetaImage field is absent or not \(nd) positive whole numbers")
        }
        let sizes = sizeValues.map { Int($0) }
        let typeName = try need("ElementType")
        guard let type = types[typeName] else { throw ImagingError(.unsupported, path: path, field: "ElementType", "'\(typeName)' is not a scalar type this reader knows") }
        if let channels = fields["ElementNumberOfChannels"], channels != "1" {
            throw ImagingError(.unsupported, path: path, field: "ElementNumberOfChannels", "is \(channels); only scalar images are supported")
        }
        if let binary = fields["BinaryData"], binary.lowercased() != "true" {
            throw ImagingError(.unsupported, path: path, field: "BinaryData", "is \(binary); ASCII MetaImage data is not supported")
        }
        let msb = (fields["BinaryDataByteOrderMSB"] ?? fields["ElementByteOrderMSB"] ?? "False").lowercased() == "true"
        let compressed = (fields["CompressedData"] ?? "False").lowercased() == "true"
        let spatialDims = min(nd, 3)
        let spacing = try numbers("ElementSpacing", nd) ?? numbers("ElementSize", nd) ?? [Double](repeating: 1, count: nd)
        let origin = try numbers("Offset", spatialDims) ?? numbers("Position", spatialDims) ?? numbers("Origin", spatialDims)
            ?? [Double](repeating: 0, count: spatialDims)
        let matrix = try numbers("TransformMatrix", spatialDims * spatialDims) ?? numbers("Rotation", spatialDims * spatialDims)
            ?? numbers("Orientation", spatialDims * spatialDims)
        let dataName = try need("ElementDataFile")
        var data: [UInt8]
        var dataPath = path
        if dataName == "LOCAL" {
            data = Array(bytes[attachedOffset...])
        } else {
            guard !dataName.hasPrefix("LIST"), !dataName.contains("%") else {
                throw ImagingError(.unsupported, path: path, field: "ElementDataFile", "'\(dataName)': multi-file data is not supported")
            }
            let dataURL = dataName.hasPrefix("/") ? URL(fileURLWithPath: dataName) : url.deletingLastPathComponent().appendingPathComponent(dataName)
            dataPath = dataURL.path
            data = try AtomicFile.read(dataURL)
        }
        let count = sizes.reduce(1) { a, b in a.multipliedReportingOverflow(by: b).overflow ? Int.max : a * b }
        guard count < (1 << 36) else { throw bad("DimSize", "shape \(sizes) is implausibly large") }
        let needed = count * type.size
        if compressed {
            let input = data
            data = try ImagingError.naming(path: dataPath, field: "compressed data") { try inflateZlib(input, expectedSize: needed) }
        }
        let headerSize = Int(fields["HeaderSize"] ?? "0") ?? 0
        let offset = headerSize == -1 ? data.count - needed : max(0, headerSize)
        guard offset >= 0, data.count - offset >= needed else {
            throw ImagingError(.truncated, path: dataPath, field: "data", "holds \(data.count) bytes, DimSize \(sizes) of \(typeName) needs \(needed)")
        }
        var voxels = NIfTIReader.decodeVoxels(data, offset: offset, count: count, type: type, bigEndian: msb, slope: 1, inter: 0)
        if nd == 4 {
            let perVolume = sizes[0] * sizes[1] * sizes[2]
            guard let index = volumeIndex ?? (sizes[3] == 1 ? 0 : nil) else {
                throw ImagingError(.unsupported, path: path, field: "DimSize", "shape \(sizes) holds \(sizes[3]) volumes; choose one with a volume index")
            }
            guard (0..<sizes[3]).contains(index) else {
                throw ImagingError(.invalidArgument, path: path, field: "volume index", "is \(index), expected 0...\(sizes[3] - 1) for shape \(sizes)")
            }
            voxels = Array(voxels[(index * perVolume)..<((index + 1) * perVolume)])
        } else if let index = volumeIndex, index != 0 {
            throw ImagingError(.invalidArgument, path: path, field: "volume index", "is \(index), but the image \(sizes) holds one volume")
        }
        // Direction of axis a: TransformMatrix entries a*n ..< (a+1)*n (ITK writes its direction
        // matrix transposed, i.e. axis by axis).
        var directions: [[Double]] = (0..<spatialDims).map { a in
            let d = matrix.map { Array($0[(a * spatialDims)..<((a + 1) * spatialDims)]) } ?? (0..<spatialDims).map { $0 == a ? 1 : 0 }
            return d + [Double](repeating: 0, count: 3 - spatialDims)
        }
        var world = origin + [Double](repeating: 0, count: 3 - spatialDims)
        var dims = Array(sizes.prefix(spatialDims))
        var steps = Array(spacing.prefix(spatialDims))
        if spatialDims == 2 {
            let a = directions[0], b = directions[1]
            directions.append([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])
            dims.append(1)
            steps.append(1)
        }
        world = Array(world.prefix(3))
        let affine = Affine(columns: (0..<3).map { a in directions[a].map { $0 * steps[a] } }, origin: world)
        return Volume(voxels: voxels, dims: dims, spacing: steps.map { abs($0) > 0 ? abs($0) : 1 }, affine: affine, frame: .lps,
                      sourceType: type, source: "\(path) (MetaImage)")
    }

    /// zlib-framed deflate (RFC 1950), as MetaImage's CompressedData holds: header checked, body
    /// inflated, Adler-32 checked.
    static func inflateZlib(_ input: [UInt8], expectedSize: Int) throws -> [UInt8] {
        guard input.count >= 6 else { throw ZlibError(.truncated, "zlib stream of \(input.count) bytes is too short") }
        let cmf = input[0], flg = input[1]
        guard cmf & 0x0F == 8, (Int(cmf) << 8 | Int(flg)) % 31 == 0, flg & 0x20 == 0 else {
            throw ZlibError(.corrupt, "not a zlib stream (header bytes \(String(cmf, radix: 16)) \(String(flg, radix: 16)))")
        }
        let out = try input[2...].withUnsafeBytes { try Zlib.inflate($0, wrapper: .raw, expectedSize: expectedSize) }
        var a: UInt32 = 1, b: UInt32 = 0
        for chunk in stride(from: 0, to: out.count, by: 5552) {
            for x in out[chunk..<min(out.count, chunk + 5552)] { a += UInt32(x); b += a }
            a %= 65521
            b %= 65521
        }
        // The Adler-32 follows the deflate data; the raw inflate stopped at the stream end, so it
        // is the last four bytes of the input.
        let t = input.suffix(4).map(UInt32.init)
        guard (t[0] << 24 | t[1] << 16 | t[2] << 8 | t[3]) == (b << 16 | a) else {
            throw ZlibError(.checksumMismatch, "zlib Adler-32 checksum does not match the inflated data")
        }
        return out
    }

    /// Writes `volume` as MetaImage: `.mha` with the data attached, or `.mhd` plus a `.raw` data
    /// file beside it. Uncompressed, little-endian, ITK's LPS geometry.
    public static func write(_ volume: Volume, to url: URL, as type: VoxelType = .float32) throws {
        let a = volume.lpsAffine
        let spacing = a.columnNorms.map { $0 > 0 ? $0 : 1 }
        func number(_ v: Double) -> String { v == 0 ? "0" : String(format: "%.17g", v) }
        let directions = (0..<3).flatMap { c in a.column(c).map { $0 / spacing[c] } }
        let detached = url.pathExtension.lowercased() == "mhd"
        let dataURL = url.deletingPathExtension().appendingPathExtension("raw")
        let typeName = writeNames[type]!
        let header = [
            "ObjectType = Image", "NDims = 3", "BinaryData = True", "BinaryDataByteOrderMSB = False",
            "CompressedData = False",
            "TransformMatrix = " + directions.map(number).joined(separator: " "),
            "Offset = " + (0..<3).map { number(a.m[$0][3]) }.joined(separator: " "),
            "CenterOfRotation = 0 0 0",
            "ElementSpacing = " + spacing.map(number).joined(separator: " "),
            "DimSize = \(volume.nx) \(volume.ny) \(volume.nz)",
            "ElementType = \(typeName)",
            "ElementDataFile = \(detached ? dataURL.lastPathComponent : "LOCAL")",
        ].joined(separator: "\n") + "\n"
        var raw: [UInt8] = []
        raw.reserveCapacity(volume.voxels.count * type.size)
        NIfTIWriter.appendVoxels(volume.voxels, as: type, to: &raw)
        if detached {
            try AtomicFile.write(raw, to: dataURL)
            try AtomicFile.write(Array(header.utf8), to: url)
        } else {
            try AtomicFile.write(Array(header.utf8) + raw, to: url)
        }
    }
}

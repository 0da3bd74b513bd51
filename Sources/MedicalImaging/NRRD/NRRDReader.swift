import ArchiveIO
import Foundation

/// Reads NRRD images (`.nrrd` with attached data, `.nhdr` with a detached data file): 3D Slicer's
/// native format, `.seg.nrrd` label maps included.
public enum NRRDReader {
    /// Reads a 2-D or 3-D scalar image as a volume. Raw, gzip and ascii encodings, either byte
    /// order, every scalar type. The geometry comes from `space`, `space directions` and
    /// `space origin` (LPS, RAS or LAS; LAS is turned into LPS), else from `spacings`. One
    /// non-spatial axis (a `none` direction, e.g. the layers of an overlapping `.seg.nrrd`, or a
    /// 4th dimension) is allowed when it has size 1 or `volumeIndex` picks one of its entries.
    public static func read(_ url: URL, volumeIndex: Int? = nil) throws -> Volume {
        try decode(AtomicFile.read(url), url: url, volumeIndex: volumeIndex)
    }

    /// ``read(_:volumeIndex:)`` on the bytes of the file at `url` (a detached data file is
    /// still read from beside `url`).
    public static func decode(_ bytes: [UInt8], url: URL, volumeIndex: Int? = nil) throws -> Volume {
        let path = url.path
        let header = try NRRDHeader.parse(bytes, path: path)
        let count = header.sizes.reduce(1) { a, b in a.multipliedReportingOverflow(by: b).overflow ? Int.max : a * b }
        guard count < (1 << 36) else {
            throw ImagingError(.corrupt, path: path, field: "sizes", "shape \(header.sizes) is implausibly large")
        }
        let (data, dataPath) = try payload(header, bytes: bytes, url: url)
        let values = try decode(header, data: data, count: count, path: dataPath)
        return try volume(header, values: values, volumeIndex: volumeIndex, path: path)
    }

    /// The data bytes (decompressed, line skip applied) and the file they came from.
    private static func payload(_ h: NRRDHeader, bytes: [UInt8], url: URL) throws -> ([UInt8], String) {
        var data: [UInt8]
        var dataPath = url.path
        if let file = h.dataFile {
            let dataURL = file.hasPrefix("/") ? URL(fileURLWithPath: file) : url.deletingLastPathComponent().appendingPathComponent(file)
            dataPath = dataURL.path
            data = try AtomicFile.read(dataURL)
            var skipped = 0, p = 0
            while skipped < h.lineSkip {
                guard p < data.count else {
                    throw ImagingError(.truncated, path: dataPath, field: "line skip", "the file has fewer than \(h.lineSkip) lines")
                }
                if data[p] == 0x0A { skipped += 1 }
                p += 1
            }
            if p > 0 { data.removeFirst(p) }
        } else {
            guard h.dataOffset <= bytes.count else { throw ImagingError(.truncated, path: url.path, field: "data", "the header has no data after it") }
            data = Array(bytes[h.dataOffset...])
        }
        if h.encoding == "gzip" || h.encoding == "gz" {
            // The image needs sizes x type bytes (after byte skip); more is refused while
            // inflating, so a small hostile file cannot expand without bound.
            let count = h.sizes.reduce(1) { a, b in a.multipliedReportingOverflow(by: b).overflow ? Int.max : a * b }
            let limit = min(1 << 36, count.multipliedReportingOverflow(by: h.type.size).overflow ? 1 << 36 : count * h.type.size) + max(0, h.byteSkip)
            let compressed = data
            data = try ImagingError.naming(path: dataPath, field: "gzip data") {
                try compressed.withUnsafeBytes { try Zlib.inflate($0, wrapper: .gzip, limit: limit) }
            }
        }
        return (data, dataPath)
    }

    private static func decode(_ h: NRRDHeader, data: [UInt8], count: Int, path: String) throws -> [Float] {
        if ["ascii", "text", "txt"].contains(h.encoding) {
            let words = String(decoding: data, as: UTF8.self).split { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" || $0 == "," }
            guard words.count >= count else {
                throw ImagingError(.truncated, path: path, field: "data", "holds \(words.count) ascii values, sizes \(h.sizes) need \(count)")
            }
            return try words.prefix(count).map { w in
                guard let v = Double(w) else { throw ImagingError(.corrupt, path: path, field: "data", "'\(w)' is not a number") }
                return Float(v)
            }
        }
        let needed = count * h.type.size
        let offset = h.byteSkip == -1 ? data.count - needed : h.byteSkip
        guard offset >= 0, data.count - offset >= needed else {
            throw ImagingError(.truncated, path: path, field: "data",
                               "holds \(data.count) bytes (byte skip \(h.byteSkip)), sizes \(h.sizes) of \(h.type.rawValue) need \(needed)")
        }
        return NIfTIReader.decodeVoxels(data, offset: offset, count: count, type: h.type, bigEndian: h.bigEndian, slope: 1, inter: 0)
    }

    /// Kinds that mark an axis as not spatial when the header has no space.
    private static let nonSpatialKinds: Set<String> = ["list", "point", "vector", "covariant-vector", "normal", "stub", "scalar",
                                                        "complex", "2-vector", "3-color", "rgb-color", "hsv-color", "xyz-color",
                                                        "4-color", "rgba-color", "3-vector", "3-gradient", "3-normal", "4-vector",
                                                        "quaternion", "time"]

    private static func volume(_ h: NRRDHeader, values: [Float], volumeIndex: Int?, path: String) throws -> Volume {
        let n = h.sizes.count
        var spatial: [Int]
        if h.frame != nil {
            spatial = (0..<n).filter { h.directions[$0] != nil }
        } else {
            spatial = (0..<n).filter { a in !(h.kinds.map { a < $0.count && nonSpatialKinds.contains($0[a].lowercased()) } ?? false) }
            spatial = Array(spatial.prefix(3))
        }
        guard (2...3).contains(spatial.count) else {
            throw ImagingError(.unsupported, path: path, field: "space directions", "the image has \(spatial.count) spatial axes; expected 2 or 3")
        }
        let others = (0..<n).filter { !spatial.contains($0) }
        let multi = others.filter { h.sizes[$0] > 1 }
        guard multi.count <= 1 else {
            throw ImagingError(.unsupported, path: path, field: "sizes", "shape \(h.sizes) has \(multi.count) non-spatial axes longer than 1; only one is supported")
        }
        var voxels = values
        if let axis = multi.first {
            guard let index = volumeIndex else {
                throw ImagingError(.unsupported, path: path, field: "sizes",
                                   "shape \(h.sizes) holds \(h.sizes[axis]) volumes along axis \(axis) (kind \(h.kinds.map { axis < $0.count ? $0[axis] : "?" } ?? "none")); choose one with a volume index")
            }
            guard (0..<h.sizes[axis]).contains(index) else {
                throw ImagingError(.invalidArgument, path: path, field: "volume index", "is \(index), expected 0...\(h.sizes[axis] - 1) for shape \(h.sizes)")
            }
            let inner = h.sizes[..<axis].reduce(1, *), size = h.sizes[axis]
            let outer = values.count / (inner * size)
            voxels = []
            voxels.reserveCapacity(inner * outer)
            for o in 0..<outer {
                let base = (o * size + index) * inner
                voxels.append(contentsOf: values[base..<(base + inner)])
            }
        } else if let index = volumeIndex, index != 0 {
            throw ImagingError(.invalidArgument, path: path, field: "volume index", "is \(index), but the image \(h.sizes) holds one volume")
        }
        var dims = spatial.map { h.sizes[$0] }
        var columns: [[Double]]
        if h.frame != nil {
            columns = spatial.map { h.directions[$0]! }
        } else {
            columns = spatial.enumerated().map { k, a in
                let s = h.spacings.map { a < $0.count && $0[a].isFinite && $0[a] > 0 ? $0[a] : 1 } ?? 1
                return (0..<3).map { $0 == k ? s : 0 }
            }
        }
        while dims.count < 3 {
            // A 2-D image becomes one slice; its third axis is the unit normal of the first two.
            let a = columns[0], b = columns[1]
            var c = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
            let norm = (c[0] * c[0] + c[1] * c[1] + c[2] * c[2]).squareRoot()
            c = norm > 0 ? c.map { $0 / norm } : [0, 0, 1]
            columns.append(c)
            dims.append(1)
        }
        let affine = Affine(columns: columns, origin: h.origin ?? [0, 0, 0])
        let spacing = affine.columnNorms.map { $0 > 0 ? $0 : 1 }
        return Volume(voxels: voxels, dims: dims, spacing: spacing, affine: affine, frame: h.frame ?? .lps,
                      sourceType: h.type, source: "\(path) (NRRD)")
    }
}

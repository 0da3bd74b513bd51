import Foundation

/// Errors reading a NumPy `.npy` file; each names the file and what was wrong.
public struct NPYError: Error, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

/// A NumPy array read from `.npy`: its shape, the dtype string (e.g. `<f4`, `|u1`) and the
/// values converted to float32 (float64 and int64 lose precision beyond float32's range).
public struct NPYArray {
    public var shape: Shape
    public var dtype: String
    public var values: [Float]

    public var tensor: Tensor { Tensor(shape: shape, data: values) }
}

/// A `.npy` file's header: what `NPY.header(of:)` reads before any element.
public struct NPYHeader: Sendable, Equatable {
    /// The dtype string, e.g. `<f4`, `|u1`.
    public var dtype: String
    public var shape: Shape
    /// Offset of the first element from the start of the file.
    public var dataOffset: Int
}

/// Reader and writer for NumPy's `.npy` format (versions 1.0, 2.0 and 3.0).
///
/// Supported dtypes: little-endian or byte-order-free f2/f4/f8, i1/i2/i4/i8, u1/u2/u4/u8, b1;
/// C order only (`fortran_order: True` is refused).
public enum NPY {
    public static func read(_ url: URL) throws -> NPYArray {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw NPYError(path: url.path, message: "cannot read: \(error.localizedDescription)")
        }
        return try decode(data, path: url.path)
    }

    /// The header of a `.npy` file: the dtype string, the shape, and where the data starts.
    /// Checks the data holds all the elements the shape promises.
    public static func header(of data: Data, path: String = "<memory>") throws -> NPYHeader {
        func fail(_ m: String) -> NPYError { NPYError(path: path, message: m) }
        let bytes = [UInt8](data.prefix(12))
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
            throw fail("not a .npy file (magic \\x93NUMPY missing)")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("truncated header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw fail("unsupported .npy version \(major)")
        }
        guard headerStart + headerLength <= data.count else { throw fail("header length \(headerLength) runs past the end of the file") }
        let headerData = data.subdata(in: (data.startIndex + headerStart)..<(data.startIndex + headerStart + headerLength))
        guard let header = String(data: headerData, encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw fail("header is not text")
        }
        guard let descr = field(header, "descr").flatMap(quoted) else { throw fail("header has no 'descr'") }
        guard let fortran = field(header, "fortran_order") else { throw fail("header has no 'fortran_order'") }
        if fortran.hasPrefix("True") { throw fail("Fortran-order arrays are not supported (save with np.ascontiguousarray)") }
        // The ')' searched for after the '(' (a ')' before it was a trap, found by fuzzing).
        guard let shapeText = field(header, "shape"), let open = shapeText.firstIndex(of: "("),
              let close = shapeText[open...].firstIndex(of: ")") else { throw fail("header has no 'shape' tuple") }
        var dims: [Int] = []
        for part in shapeText[shapeText.index(after: open)..<close].split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let d = Int(t), d >= 0 else { throw fail("bad dimension '\(t)' in shape") }
            dims.append(d)
        }
        var count = 1
        for d in dims {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, p < (1 << 40) else { throw fail("shape \(dims) is absurdly large") }
            count = p
        }
        guard let (_, size) = parseDescr(descr) else { throw fail("unsupported dtype '\(descr)'") }
        let payloadStart = headerStart + headerLength
        let needed = count * size
        guard data.count - payloadStart >= needed else {
            throw fail("data holds \(data.count - payloadStart) bytes, shape \(dims) of \(descr) needs \(needed)")
        }
        return NPYHeader(dtype: descr, shape: Shape(dims), dataOffset: payloadStart)
    }

    public static func decode(_ data: Data, path: String = "<memory>") throws -> NPYArray {
        let header = try header(of: data, path: path)
        let (kind, size) = parseDescr(header.dtype)!
        let count = header.shape.count
        var values = [Float](repeating: 0, count: count)
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress!.advanced(by: header.dataOffset)
            values.withUnsafeMutableBufferPointer { out in
                for i in 0..<count {
                    let p = base.advanced(by: i * size)
                    out[i] = convert(p, kind: kind, size: size)
                }
            }
        }
        return NPYArray(shape: header.shape, dtype: header.dtype, values: values)
    }

    /// The values at float64 precision: exact for `<f8` (and every narrower type), where
    /// `decode` would round to float32.
    public static func decodeDoubles(_ data: Data, path: String = "<memory>") throws -> [Double] {
        let header = try header(of: data, path: path)
        guard header.dtype.hasSuffix("f8") else { return try decode(data, path: path).values.map(Double.init) }
        let count = header.shape.count
        return data.withUnsafeBytes { raw in
            (0..<count).map { raw.loadUnaligned(fromByteOffset: header.dataOffset + 8 * $0, as: Double.self) }
        }
    }

    /// Writes float32 (`<f4`) or, with `asUInt8`, `|u1` (values rounded and clamped to 0...255).
    /// The file is written to a temporary name and renamed, so no partial file is left behind.
    public static func write(_ tensor: Tensor, to url: URL, asUInt8: Bool = false) throws {
        try writeAtomically(encode(tensor, asUInt8: asUInt8), to: url)
    }

    public static func encode(_ tensor: Tensor, asUInt8: Bool = false) -> Data {
        let descr = asUInt8 ? "|u1" : "<f4"
        let shapeText = tensor.shape.rank == 1 ? "(\(tensor.shape[0]),)"
            : "(" + tensor.shape.dims.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var out = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let n = header.utf8.count
        out.append(contentsOf: [UInt8(n & 0xFF), UInt8(n >> 8)])
        out.append(contentsOf: Array(header.utf8))
        if asUInt8 {
            out.append(contentsOf: tensor.data.map { UInt8(max(0, min(255, $0.rounded()))) })
        } else {
            tensor.data.withUnsafeBufferPointer { out.append(Data(buffer: $0)) }
        }
        return out
    }

    private enum Kind { case float, signed, unsigned, bool }

    private static func parseDescr(_ d: String) -> (Kind, Int)? {
        var s = Substring(d)
        if let f = s.first, "<|=".contains(f) { s = s.dropFirst() } else if s.first == ">" {
            // Big-endian data is only unambiguous for single bytes.
            guard s.hasSuffix("1") else { return nil }
            s = s.dropFirst()
        }
        guard let k = s.first, let size = Int(s.dropFirst()) else { return nil }
        switch (k, size) {
        case ("f", 2), ("f", 4), ("f", 8): return (.float, size)
        case ("i", 1), ("i", 2), ("i", 4), ("i", 8): return (.signed, size)
        case ("u", 1), ("u", 2), ("u", 4), ("u", 8): return (.unsigned, size)
        case ("b", 1): return (.bool, 1)
        default: return nil
        }
    }

    private static func convert(_ p: UnsafeRawPointer, kind: Kind, size: Int) -> Float {
        switch (kind, size) {
        case (.float, 2): return Float(Float16(bitPattern: p.loadUnaligned(as: UInt16.self)))
        case (.float, 4): return p.loadUnaligned(as: Float.self)
        case (.float, 8): return Float(p.loadUnaligned(as: Double.self))
        case (.signed, 1): return Float(p.load(as: Int8.self))
        case (.signed, 2): return Float(p.loadUnaligned(as: Int16.self))
        case (.signed, 4): return Float(p.loadUnaligned(as: Int32.self))
        case (.signed, 8): return Float(p.loadUnaligned(as: Int64.self))
        case (.unsigned, 1), (.bool, 1): return Float(p.load(as: UInt8.self))
        case (.unsigned, 2): return Float(p.loadUnaligned(as: UInt16.self))
        case (.unsigned, 4): return Float(p.loadUnaligned(as: UInt32.self))
        case (.unsigned, 8): return Float(p.loadUnaligned(as: UInt64.self))
        default: return .nan
        }
    }

    /// The text after `'key':` up to the next top-level comma (tuples kept whole).
    private static func field(_ header: String, _ key: String) -> String? {
        guard let r = header.range(of: "'\(key)'") else { return nil }
        var rest = header[r.upperBound...].drop { $0 == " " || $0 == ":" }
        var depth = 0
        var out = ""
        while let c = rest.first {
            if c == "(" { depth += 1 }
            if c == ")" { depth -= 1 }
            if (c == "," || c == "}") && depth == 0 { break }
            out.append(c)
            rest = rest.dropFirst()
        }
        return out.trimmingCharacters(in: .whitespaces)
    }

    private static func quoted(_ s: String) -> String? {
        let t = s.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        return t.isEmpty ? nil : t
    }
}

/// Writes `data` to `url` through a temporary file in the same folder and a rename, so
/// readers never see a partial file and a failure leaves nothing behind.
public func writeAtomically(_ data: Data, to url: URL) throws {
    let dir = url.deletingLastPathComponent()
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
        throw NPYError(path: url.path, message: "output folder \(dir.path) does not exist")
    }
    let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
    do {
        try data.write(to: tmp)
        if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
        try FileManager.default.moveItem(at: tmp, to: url)
    } catch {
        try? FileManager.default.removeItem(at: tmp)
        throw NPYError(path: url.path, message: "cannot write: \(error.localizedDescription)")
    }
}

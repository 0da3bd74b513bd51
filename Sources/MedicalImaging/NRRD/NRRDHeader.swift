import Foundation

/// The fields of a NRRD header (http://teem.sourceforge.net/nrrd/format.html) this package uses.
struct NRRDHeader {
    var type: VoxelType
    var sizes: [Int]
    var encoding: String
    var bigEndian: Bool
    /// The world frame of `directions`/`origin` after mapping LAS to LPS; nil without a space.
    var frame: WorldFrame?
    /// Per axis: the world step of one voxel, or nil for a non-spatial axis ("none").
    var directions: [[Double]?]
    var origin: [Double]?
    /// Per-axis spacings (used only when there is no space).
    var spacings: [Double]?
    var kinds: [String]?
    var dataFile: String?
    var lineSkip = 0
    var byteSkip = 0
    /// Key/value pairs (`key:=value`), e.g. Slicer's Segment0_Name.
    var keyValues: [String: String] = [:]
    /// Where the attached data starts (after the blank line ending the header).
    var dataOffset: Int

    static let types: [String: VoxelType] = {
        var t: [String: VoxelType] = [:]
        for n in ["signed char", "int8", "int8_t"] { t[n] = .int8 }
        for n in ["uchar", "unsigned char", "uint8", "uint8_t"] { t[n] = .uint8 }
        for n in ["short", "short int", "signed short", "signed short int", "int16", "int16_t"] { t[n] = .int16 }
        for n in ["ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t"] { t[n] = .uint16 }
        for n in ["int", "signed int", "int32", "int32_t"] { t[n] = .int32 }
        for n in ["uint", "unsigned int", "uint32", "uint32_t"] { t[n] = .uint32 }
        for n in ["longlong", "long long", "long long int", "signed long long", "signed long long int", "int64", "int64_t"] { t[n] = .int64 }
        for n in ["ulonglong", "unsigned long long", "unsigned long long int", "uint64", "uint64_t"] { t[n] = .uint64 }
        t["float"] = .float32
        t["double"] = .float64
        return t
    }()

    static func parse(_ bytes: [UInt8], path: String) throws -> NRRDHeader {
        func bad(_ field: String, _ m: String) -> ImagingError { ImagingError(.corrupt, path: path, field: field, m) }
        guard bytes.count >= 8, bytes[0..<7].elementsEqual("NRRD000".utf8) else {
            throw bad("magic", "not a NRRD file: expected 'NRRD000x' at the start")
        }
        // The header is text up to the first empty line (or the end, for a detached header).
        var lines: [String] = []
        var start = 0, p = 0
        var dataOffset = bytes.count
        while p < bytes.count {
            if bytes[p] == 0x0A {
                var line = String(decoding: bytes[start..<p], as: UTF8.self)
                if line.hasSuffix("\r") { line.removeLast() }
                if line.isEmpty && !lines.isEmpty { dataOffset = p + 1; break }
                lines.append(line)
                start = p + 1
                guard lines.count < 10_000 else { throw bad("header", "has no end (no empty line in the first 10000 lines)") }
            }
            p += 1
        }
        if p >= bytes.count && start < bytes.count {
            lines.append(String(decoding: bytes[start...], as: UTF8.self).trimmingCharacters(in: .newlines))
        }
        var fields: [String: String] = [:]
        var keyValues: [String: String] = [:]
        for line in lines.dropFirst() where !line.hasPrefix("#") {
            if let r = line.range(of: ":=") {
                keyValues[String(line[..<r.lowerBound])] = String(line[r.upperBound...])
            } else if let r = line.range(of: ": ") {
                fields[line[..<r.lowerBound].lowercased()] = line[r.upperBound...].trimmingCharacters(in: .whitespaces)
            } else if !line.trimmingCharacters(in: .whitespaces).isEmpty {
                throw bad("header", "line '\(line)' is neither 'field: value' nor 'key:=value'")
            }
        }
        func need(_ f: String) throws -> String {
            guard let v = fields[f] else { throw ImagingError(.missing, path: path, field: f, "required NRRD field is absent") }
            return v
        }
        guard let type = types[try need("type").lowercased()] else {
            throw ImagingError(.unsupported, path: path, field: "type", "'\(fields["type"]!)' is not a NRRD scalar type this reader knows (block data is not supported)")
        }
        guard let dimension = Int(try need("dimension")), (1...16).contains(dimension) else {
            throw bad("dimension", "is '\(fields["dimension"]!)', expected 1 to 16")
        }
        let sizes = try need("sizes").split(separator: " ").map { s -> Int in
            guard let v = Int(s), v > 0 else { throw bad("sizes", "'\(fields["sizes"]!)' is not a list of positive integers") }
            return v
        }
        guard sizes.count == dimension else { throw bad("sizes", "has \(sizes.count) values for dimension \(dimension)") }
        let encoding = try need("encoding").lowercased()
        guard ["raw", "gzip", "gz", "ascii", "text", "txt"].contains(encoding) else {
            throw ImagingError(.unsupported, path: path, field: "encoding", "'\(encoding)' is not supported; expected raw, gzip or ascii")
        }
        let endian = fields["endian"]?.lowercased() ?? "little"
        guard endian == "little" || endian == "big" else { throw bad("endian", "is '\(endian)', expected little or big") }

        // Space: the frame the directions and origin are in.
        var frame: WorldFrame?
        var flipY = false
        var spaceDimension = fields["space dimension"].flatMap { Int($0) }
        if let space = fields["space"]?.lowercased() {
            switch space {
            case "left-posterior-superior", "lps", "scanner-xyz", "3d-right-handed": frame = .lps
            case "right-anterior-superior", "ras": frame = .ras
            case "left-anterior-superior", "las": frame = .lps; flipY = true
            default:
                throw ImagingError(.unsupported, path: path, field: "space", "'\(space)' is not supported; expected left-posterior-superior, right-anterior-superior or left-anterior-superior")
            }
            spaceDimension = 3
        }
        func vector(_ text: Substring, _ field: String) throws -> [Double] {
            let t = text.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("("), t.hasSuffix(")") else { throw bad(field, "'\(t)' is not a (x,y,z) vector") }
            let v = try t.dropFirst().dropLast().split(separator: ",").map { s -> Double in
                guard let d = Double(s.trimmingCharacters(in: .whitespaces)), d.isFinite else { throw bad(field, "'\(t)' holds a value that is not a number") }
                return d
            }
            guard v.count == (spaceDimension ?? 3) else { throw bad(field, "'\(t)' has \(v.count) components, expected \(spaceDimension ?? 3)") }
            return flipY && v.count == 3 ? [v[0], -v[1], v[2]] : v
        }
        var directions = [[Double]?](repeating: nil, count: dimension)
        if let text = fields["space directions"] {
            guard spaceDimension == 3 else { throw bad("space directions", "given without a 3-D space") }
            // Entries are "(x,y,z)" or "none", separated by spaces (none inside the parentheses matters).
            var entries: [Substring] = []
            var rest = Substring(text)
            while let first = rest.first(where: { $0 != " " }) {
                rest = rest.drop { $0 == " " }
                if first == "(" {
                    guard let close = rest.firstIndex(of: ")") else { throw bad("space directions", "unbalanced parentheses in '\(text)'") }
                    entries.append(rest[...close])
                    rest = rest[rest.index(after: close)...]
                } else {
                    let word = rest.prefix { $0 != " " }
                    entries.append(word)
                    rest = rest.dropFirst(word.count)
                }
            }
            guard entries.count == dimension else { throw bad("space directions", "has \(entries.count) entries for dimension \(dimension)") }
            directions = try entries.map { $0.lowercased() == "none" ? nil : try vector($0, "space directions") }
        } else if frame != nil {
            throw ImagingError(.missing, path: path, field: "space directions", "a NRRD with a space needs space directions")
        }
        let origin = try fields["space origin"].map { try vector(Substring($0), "space origin") }
        let spacings = try fields["spacings"].map { text in
            try text.split(separator: " ").map { s -> Double in
                if s.lowercased() == "nan" { return .nan }
                guard let d = Double(s) else { throw bad("spacings", "'\(text)' is not a list of numbers") }
                return d
            }
        }
        let dataFile = fields["data file"] ?? fields["datafile"]
        if let d = dataFile, d.hasPrefix("LIST") || d.contains("%") {
            throw ImagingError(.unsupported, path: path, field: "data file", "'\(d)': multi-file data is not supported")
        }
        let lineSkip = Int(fields["line skip"] ?? fields["lineskip"] ?? "0") ?? -2
        let byteSkip = Int(fields["byte skip"] ?? fields["byteskip"] ?? "0") ?? -2
        guard lineSkip >= 0, byteSkip >= -1 else { throw bad("byte skip", "line skip / byte skip must be whole numbers (byte skip -1 or more)") }
        return NRRDHeader(type: type, sizes: sizes, encoding: encoding, bigEndian: endian == "big", frame: frame,
                          directions: directions, origin: origin, spacings: spacings,
                          kinds: fields["kinds"].map { $0.split(separator: " ").map(String.init) },
                          dataFile: dataFile, lineSkip: lineSkip, byteSkip: byteSkip, keyValues: keyValues,
                          dataOffset: dataOffset)
    }
}

import Foundation

/// The `multipart/form-data` that MONAI Label clients send and expect back (RFC 7578): only
/// what those clients use: named fields and files, no nested parts or transfer encodings.
public enum Multipart {
    public struct Part: Equatable, Sendable {
        public var name: String
        public var filename: String?
        public var contentType: String?
        public var data: [UInt8]

        public init(name: String, filename: String? = nil, contentType: String? = nil, data: [UInt8]) {
            self.name = name
            self.filename = filename
            self.contentType = contentType
            self.data = data
        }
    }

    /// The boundary of a `multipart/form-data; boundary=...` content type.
    public static func boundary(contentType: String) -> String? {
        guard contentType.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for param in contentType.split(separator: ";").dropFirst() {
            let kv = param.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, kv[0].lowercased() == "boundary" {
                let b = kv[1].trimmingCharacters(in: ["\""])
                return b.isEmpty ? nil : b
            }
        }
        return nil
    }

    /// Splits `body` at `boundary` into parts. Throws `ServiceError` (400) naming what is malformed.
    public static func parse(_ body: [UInt8], boundary: String) throws -> [Part] {
        let delimiter = Array("--\(boundary)".utf8)
        var positions: [Int] = []
        var from = 0
        while let at = find(delimiter, in: body, from: from) {
            positions.append(at)
            from = at + delimiter.count
        }
        guard positions.count >= 2 else { throw ServiceError.badRequest("multipart body: no parts delimited by the boundary '\(boundary)'") }
        var parts: [Part] = []
        for (start, end) in zip(positions, positions.dropFirst()) {
            var lo = start + delimiter.count
            // The line break after the delimiter, and the one before the next delimiter.
            if lo + 1 < body.count, body[lo] == 13, body[lo + 1] == 10 { lo += 2 }
            var hi = end
            if hi - 2 >= lo, body[hi - 2] == 13, body[hi - 1] == 10 { hi -= 2 }
            guard let split = find([13, 10, 13, 10], in: body, from: lo), split <= hi else {
                throw ServiceError.badRequest("multipart body: a part has no blank line after its headers")
            }
            let headers = String(decoding: body[lo..<split], as: UTF8.self)
            var part = Part(name: "", data: Array(body[(split + 4)..<hi]))
            for line in headers.components(separatedBy: "\r\n") {
                let kv = line.split(separator: ":", maxSplits: 1)
                guard kv.count == 2 else { continue }
                let key = kv[0].trimmingCharacters(in: .whitespaces).lowercased()
                let value = kv[1].trimmingCharacters(in: .whitespaces)
                if key == "content-type" { part.contentType = value }
                if key == "content-disposition" {
                    for param in value.split(separator: ";").dropFirst() {
                        let p = param.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                        guard p.count == 2 else { continue }
                        let v = p[1].trimmingCharacters(in: ["\""])
                        if p[0].lowercased() == "name" { part.name = v }
                        if p[0].lowercased() == "filename" { part.filename = v }
                    }
                }
            }
            parts.append(part)
        }
        return parts
    }

    /// `parts` as a body, and its content type.
    public static func encode(_ parts: [Part], boundary: String = "medsam-\(UUID().uuidString)") -> (contentType: String, body: [UInt8]) {
        var body: [UInt8] = []
        for p in parts {
            var head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(p.name)\""
            if let f = p.filename { head += "; filename=\"\(f)\"" }
            head += "\r\n"
            if let t = p.contentType { head += "Content-Type: \(t)\r\n" }
            head += "\r\n"
            body += Array(head.utf8) + p.data + Array("\r\n".utf8)
        }
        body += Array("--\(boundary)--\r\n".utf8)
        return ("multipart/form-data; boundary=\(boundary)", body)
    }

    private static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, hay.count >= needle.count, from <= hay.count - needle.count else { return nil }
        let first = needle[0]
        var i = from
        let last = hay.count - needle.count
        while i <= last {
            if hay[i] == first {
                var j = 1
                while j < needle.count && hay[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }
}

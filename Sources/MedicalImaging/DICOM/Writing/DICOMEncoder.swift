import Foundation

/// A data set to write as DICOM Part 10, explicit VR little endian: values set by tag, written in
/// ascending tag order, sequences and items with defined lengths.
struct DICOMWriteSet {
    enum Value {
        case text(String)
        case bytes([UInt8])
        case items([DICOMWriteSet])
    }

    private(set) var elements: [DICOMTag: (vr: String, value: Value)] = [:]

    /// A text value (AE, AS, CS, DA, DS, DT, IS, LO, LT, PN, SH, ST, TM, UI, UT); multiple values
    /// joined by backslashes.
    mutating func set(_ tag: DICOMTag, _ vr: String, _ values: String...) {
        elements[tag] = (vr, .text(values.joined(separator: "\\")))
    }

    mutating func set(_ tag: DICOMTag, _ vr: String, list values: [String]) {
        elements[tag] = (vr, .text(values.joined(separator: "\\")))
    }

    /// Unsigned 16-bit values (US).
    mutating func us(_ tag: DICOMTag, _ values: Int...) {
        var b: [UInt8] = []
        for v in values { b += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        elements[tag] = ("US", .bytes(b))
    }

    /// Unsigned 32-bit values (UL).
    mutating func ul(_ tag: DICOMTag, _ values: [Int]) {
        var b: [UInt8] = []
        for v in values { for k in 0..<4 { b.append(UInt8((v >> (8 * k)) & 0xFF)) } }
        elements[tag] = ("UL", .bytes(b))
    }

    /// Attribute tags (AT).
    mutating func at(_ tag: DICOMTag, _ value: DICOMTag) {
        let g = value.group, e = value.element
        elements[tag] = ("AT", .bytes([UInt8(g & 0xFF), UInt8(g >> 8), UInt8(e & 0xFF), UInt8(e >> 8)]))
    }

    mutating func bytes(_ tag: DICOMTag, _ vr: String, _ value: [UInt8]) {
        elements[tag] = (vr, .bytes(value))
    }

    mutating func sequence(_ tag: DICOMTag, _ items: [DICOMWriteSet]) {
        elements[tag] = ("SQ", .items(items))
    }

    private static let longVRs: Set<String> = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]

    /// The encoded elements (no preamble).
    func encode() -> [UInt8] {
        var out: [UInt8] = []
        for tag in elements.keys.sorted(by: { ($0.group, $0.element) < ($1.group, $1.element) }) {
            let (vr, value) = elements[tag]!
            var body: [UInt8]
            switch value {
            case .text(let s):
                body = Array(s.utf8)
                // Values have even length: UI is padded with NUL, text with a space.
                if body.count % 2 == 1 { body.append(vr == "UI" ? 0 : 0x20) }
            case .bytes(let b):
                body = b
                if body.count % 2 == 1 { body.append(0) }
            case .items(let items):
                body = []
                for item in items {
                    let encoded = item.encode()
                    body += Self.tagBytes(.item) + Self.u32(encoded.count) + encoded
                }
            }
            out += Self.tagBytes(tag) + Array(vr.utf8)
            if Self.longVRs.contains(vr) {
                out += [0, 0] + Self.u32(body.count)
            } else {
                out += [UInt8(body.count & 0xFF), UInt8(body.count >> 8)]
            }
            out += body
        }
        return out
    }

    /// A Part 10 file: preamble, "DICM", the file meta group (with its group length) and `self`.
    func part10(sopClassUID: String, sopInstanceUID: String) -> [UInt8] {
        var meta = DICOMWriteSet()
        meta.bytes(DICOMTag(0x0002, 0x0001), "OB", [0, 1])
        meta.set(.mediaStorageSOPClass, "UI", sopClassUID)
        meta.set(DICOMTag(0x0002, 0x0003), "UI", sopInstanceUID)
        meta.set(.transferSyntax, "UI", TransferSyntax.explicitLittle)
        meta.set(DICOMTag(0x0002, 0x0012), "UI", DICOMUID.implementationClass)
        meta.set(DICOMTag(0x0002, 0x0013), "SH", "MEDSAM_SWIFT")
        let encodedMeta = meta.encode()
        var length = DICOMWriteSet()
        length.ul(DICOMTag(0x0002, 0x0000), [encodedMeta.count])
        return [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + length.encode() + encodedMeta + encode()
    }

    static func tagBytes(_ t: DICOMTag) -> [UInt8] {
        [UInt8(t.group & 0xFF), UInt8(t.group >> 8), UInt8(t.element & 0xFF), UInt8(t.element >> 8)]
    }

    static func u32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
}

/// UIDs this package creates: "2.25." followed by a random UUID as one decimal number (PS3.5 B.2).
enum DICOMUID {
    /// The implementation class UID written in file meta information.
    static let implementationClass = "2.25.270170397391232734462396356355396437523"

    static func make() -> String {
        var bytes = withUnsafeBytes(of: UUID().uuid) { Array($0) }
        var digits: [UInt8] = []
        // Repeated division of the 128-bit big-endian number by 10.
        while bytes.contains(where: { $0 != 0 }) {
            var remainder = 0
            for i in bytes.indices {
                let v = remainder * 256 + Int(bytes[i])
                bytes[i] = UInt8(v / 10)
                remainder = v % 10
            }
            digits.append(UInt8(remainder))
        }
        return "2.25." + (digits.isEmpty ? "0" : String(digits.reversed().map { Character(String($0)) }))
    }
}

import ArchiveIO
import Foundation

/// The top-level elements of a DICOM Part 10 file: where each value lies in the file's bytes.
///
/// Sequences are walked only to skip them (defined or undefined length, nested to any sane depth);
/// their contents are not kept, since the image geometry this package needs is all at top level.
/// Encapsulated (compressed) pixel data is split into its fragments here; decoding them is
/// `DICOMPixelData`'s job.
public struct DICOMDataSet {
    struct Element {
        var vr: String
        var offset: Int
        var length: Int
    }

    let path: String
    /// The bytes element offsets refer to (the inflated body for the deflated transfer syntax).
    let bytes: [UInt8]
    var elements: [DICOMTag: Element] = [:]
    /// The transfer syntax UID from the file meta information.
    public private(set) var transferSyntaxUID: String = ""
    /// The media storage SOP class UID from the file meta information ("" when absent).
    public private(set) var sopClassUID: String = ""
    /// Whether the body's elements carry their VR (every transfer syntax but implicit VR little endian).
    private(set) var explicitVR = true
    /// Whether the body is big-endian (the retired Explicit VR Big Endian transfer syntax).
    public private(set) var bigEndian = false
    /// Whether the transfer syntax encapsulates the pixel data in fragments (every compressed one).
    public private(set) var encapsulated = false
    /// Encapsulated pixel data: the basic offset table (byte offsets of each frame's first
    /// fragment item, counted from the first fragment's item tag; empty when the table is empty).
    var offsetTable: [Int] = []
    /// Encapsulated pixel data: each fragment's bytes and the offset of its item tag, counted as
    /// `offsetTable` counts.
    var fragments: [(item: Int, bytes: Range<Int>)] = []

    /// Parses `bytes` (a whole file). Refuses files without the Part 10 preamble and "DICM",
    /// transfer syntaxes `DICOMPixelData` cannot decode, and elements that run past the end.
    public static func parse(_ bytes: [UInt8], path: String) throws -> DICOMDataSet {
        guard bytes.count >= 132, bytes[128..<132].elementsEqual("DICM".utf8) else {
            throw ImagingError(.corrupt, path: path, field: "preamble",
                               "not a DICOM Part 10 file: expected 'DICM' after the 128-byte preamble")
        }
        // File meta information (group 0002) is always explicit VR little endian.
        var meta = DICOMDataSet(path: path, bytes: bytes)
        var offset = 132
        while offset + 4 <= bytes.count, ByteReader(bytes).u16(offset) == 0x0002 {
            offset = try meta.readElement(at: offset, explicit: true, depth: 0, store: true)
        }
        guard meta.elements[.transferSyntax] != nil else {
            throw ImagingError(.missing, path: path, field: DICOMTag.transferSyntax.description,
                               "the file meta information has no transfer syntax")
        }
        let ts = meta.string(.transferSyntax) ?? ""
        let sop = meta.string(.mediaStorageSOPClass) ?? ""
        var body: DICOMDataSet
        var explicit = true
        switch ts {
        case TransferSyntax.explicitLittle:
            body = meta
        case TransferSyntax.implicitLittle:
            body = meta
            explicit = false
        case TransferSyntax.deflatedExplicitLittle:
            let inflated = try ImagingError.naming(path: path, field: "deflated data set") {
                try bytes[offset...].withUnsafeBytes { try Zlib.inflate($0, wrapper: .raw) }
            }
            body = DICOMDataSet(path: path, bytes: inflated)
            offset = 0
        case TransferSyntax.explicitBig:
            body = meta
            body.bigEndian = true
        case _ where TransferSyntax.encapsulated.contains(ts):
            body = meta
            body.encapsulated = true
        default:
            throw ImagingError(.unsupported, path: path, field: DICOMTag.transferSyntax.description,
                               "\(TransferSyntax.describe(ts)) is a compressed transfer syntax this reader does not decode; decompress first (e.g. `gdcmconv --raw` or `dcmdjpeg`)")
        }
        body.transferSyntaxUID = ts
        body.explicitVR = explicit
        body.sopClassUID = sop
        while offset < body.bytes.count {
            // Trailing padding shorter than an element header is tolerated.
            if body.bytes.count - offset < 8 { break }
            let r = ByteReader(body.bytes, bigEndian: body.bigEndian)
            let tag = DICOMTag(r.u16(offset)!, r.u16(offset + 2)!)
            offset = try body.readElement(at: offset, explicit: explicit, depth: 0, store: true)
            if tag == .pixelData { break }
        }
        return body
    }

    private init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }

    private static let longVRs: Set<String> = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]
    private static let maxDepth = 64

    /// Reads one element header at `offset`, records it when `store`, and returns the offset after
    /// its value (after the whole sequence for undefined-length sequences).
    private mutating func readElement(at offset: Int, explicit: Bool, depth: Int, store: Bool) throws -> Int {
        let r = ByteReader(bytes, bigEndian: bigEndian)
        guard let g = r.u16(offset), let e = r.u16(offset + 2) else { throw truncated(offset, nil) }
        let tag = DICOMTag(g, e)
        var vr = ""
        var length: UInt32
        var valueOffset: Int
        let vrBytes = r.slice(offset + 4, 2)
        let looksExplicit = vrBytes.map { $0.allSatisfy { (65...90).contains($0) } } ?? false
        if explicit && g != 0xFFFE && looksExplicit {
            vr = String(decoding: vrBytes!, as: UTF8.self)
            if DICOMDataSet.longVRs.contains(vr) {
                guard let l = r.u32(offset + 8) else { throw truncated(offset, tag) }
                length = l
                valueOffset = offset + 12
            } else {
                guard let l = r.u16(offset + 6) else { throw truncated(offset, tag) }
                length = UInt32(l)
                valueOffset = offset + 8
            }
        } else {
            guard let l = r.u32(offset + 4) else { throw truncated(offset, tag) }
            length = l
            valueOffset = offset + 8
        }
        if length == 0xFFFF_FFFF {
            if tag == .pixelData && encapsulated && depth == 0 {
                let end = try readFragments(at: valueOffset)
                if store { elements[tag] = Element(vr: vr, offset: valueOffset, length: end - valueOffset) }
                return end
            }
            if tag == .pixelData {
                throw ImagingError(.corrupt, path: path, field: tag.description,
                                   "encapsulated (undefined-length) pixel data in uncompressed transfer syntax \(transferSyntaxUID)")
            }
            // An undefined length can only be a sequence (SQ, or UN holding implicit-VR items).
            let itemsExplicit = explicit && vr != "UN"
            let end = try skipSequence(at: valueOffset, explicit: itemsExplicit, depth: depth + 1, tag: tag)
            if store { elements[tag] = Element(vr: "SQ", offset: valueOffset, length: end - valueOffset) }
            return end
        }
        let len = Int(length)
        guard r.has(valueOffset, len) else {
            if tag == .pixelData {
                throw ImagingError(.truncated, path: path, field: tag.description,
                                   "value of \(len) bytes runs past the end of the file (\(bytes.count - valueOffset) bytes left)")
            }
            throw truncated(offset, tag)
        }
        if store { elements[tag] = Element(vr: vr, offset: valueOffset, length: len) }
        return valueOffset + len
    }

    /// Records the basic offset table and fragments of encapsulated pixel data starting at `start`
    /// (PS3.5 A.4); returns the offset after the sequence delimiter.
    private mutating func readFragments(at start: Int) throws -> Int {
        let r = ByteReader(bytes)
        let field = DICOMTag.pixelData.description
        var offset = start
        var first = true
        var itemBase = 0
        while true {
            guard let g = r.u16(offset), let e = r.u16(offset + 2), let l = r.u32(offset + 4) else {
                throw ImagingError(.truncated, path: path, field: field,
                                   "encapsulated pixel data has no sequence delimiter before the end of the file")
            }
            let t = DICOMTag(g, e)
            if t == .sequenceDelimiter { return offset + 8 }
            guard t == .item else {
                throw ImagingError(.corrupt, path: path, field: field,
                                   "expected a fragment item (FFFE,E000) at byte \(offset), found \(t)")
            }
            let len = Int(l)
            guard l != 0xFFFF_FFFF, r.has(offset + 8, len) else {
                throw ImagingError(.truncated, path: path, field: field,
                                   "fragment at byte \(offset) of \(l) bytes runs past the end of the file (\(bytes.count) bytes)")
            }
            if first {
                // The first item is the basic offset table: 32-bit little-endian offsets.
                guard len % 4 == 0 else {
                    throw ImagingError(.corrupt, path: path, field: field,
                                       "basic offset table has \(len) bytes, expected a multiple of 4")
                }
                offsetTable = (0..<(len / 4)).map { Int(r.u32(offset + 8 + 4 * $0)!) }
                itemBase = offset + 8 + len
                first = false
            } else {
                fragments.append((item: offset - itemBase, bytes: (offset + 8)..<(offset + 8 + len)))
            }
            offset += 8 + len
        }
    }

    /// Skips the items of an undefined-length sequence; returns the offset after its delimiter.
    private mutating func skipSequence(at start: Int, explicit: Bool, depth: Int, tag: DICOMTag) throws -> Int {
        guard depth <= DICOMDataSet.maxDepth else {
            throw ImagingError(.corrupt, path: path, field: tag.description, "sequences nested deeper than \(DICOMDataSet.maxDepth)")
        }
        let r = ByteReader(bytes, bigEndian: bigEndian)
        var offset = start
        while true {
            guard let g = r.u16(offset), let e = r.u16(offset + 2), let l = r.u32(offset + 4) else {
                throw ImagingError(.truncated, path: path, field: tag.description,
                                   "sequence has no delimiter before the end of the file")
            }
            let t = DICOMTag(g, e)
            if t == .sequenceDelimiter { return offset + 8 }
            guard t == .item else {
                throw ImagingError(.corrupt, path: path, field: tag.description,
                                   "expected an item tag (FFFE,E000) inside the sequence at byte \(offset), found \(t)")
            }
            if l != 0xFFFF_FFFF {
                guard r.has(offset + 8, Int(l)) else { throw truncated(offset, tag) }
                offset += 8 + Int(l)
                continue
            }
            // Undefined-length item: its elements run until the item delimiter.
            offset += 8
            while true {
                guard let ig = r.u16(offset), let ie = r.u16(offset + 2) else {
                    throw ImagingError(.truncated, path: path, field: tag.description,
                                       "sequence item has no delimiter before the end of the file")
                }
                if DICOMTag(ig, ie) == .itemDelimiter { offset += 8; break }
                offset = try readElement(at: offset, explicit: explicit, depth: depth, store: false)
            }
        }
    }

    private func truncated(_ offset: Int, _ tag: DICOMTag?) -> ImagingError {
        ImagingError(.truncated, path: path, field: tag?.description ?? "byte \(offset)",
                     "element runs past the end of the file (\(bytes.count) bytes)")
    }

    // MARK: - Sequences

    /// The items of sequence `tag`, each parsed as a data set of its own (same encoding), in order;
    /// empty when the element is absent. In implicit VR the caller's knowing `tag` is a sequence
    /// is what makes its value parse as items.
    public func items(_ tag: DICOMTag) throws -> [DICOMDataSet] {
        guard let el = elements[tag] else { return [] }
        let r = ByteReader(bytes, bigEndian: bigEndian)
        let end = el.offset + el.length
        var offset = el.offset
        var items: [DICOMDataSet] = []
        func corrupt(_ m: String) -> ImagingError { ImagingError(.corrupt, path: path, field: tag.description, m) }
        while offset + 8 <= end {
            let t = DICOMTag(r.u16(offset)!, r.u16(offset + 2)!)
            let length = r.u32(offset + 4)!
            if t == .sequenceDelimiter { break }
            guard t == .item else { throw corrupt("expected an item tag (FFFE,E000) at byte \(offset), found \(t)") }
            var item = DICOMDataSet(path: path, bytes: bytes)
            item.bigEndian = bigEndian
            item.explicitVR = explicitVR
            item.transferSyntaxUID = transferSyntaxUID
            var p = offset + 8
            if length == 0xFFFF_FFFF {
                while true {
                    guard let g = r.u16(p), let e = r.u16(p + 2), p < end else { throw corrupt("sequence item has no delimiter") }
                    if DICOMTag(g, e) == .itemDelimiter { p += 8; break }
                    p = try item.readElement(at: p, explicit: explicitVR, depth: 1, store: true)
                }
            } else {
                let itemEnd = p + Int(length)
                guard itemEnd <= end else { throw corrupt("item at byte \(offset) of \(length) bytes runs past the sequence end") }
                while p + 8 <= itemEnd { p = try item.readElement(at: p, explicit: explicitVR, depth: 1, store: true) }
                guard p <= itemEnd else { throw corrupt("an element of the item at byte \(offset) runs past the item end") }
                p = itemEnd
            }
            items.append(item)
            offset = p
        }
        return items
    }

    // MARK: - Values

    /// Whether the element is present.
    public func contains(_ tag: DICOMTag) -> Bool { elements[tag] != nil }

    /// A text value with trailing spaces and NULs removed.
    public func string(_ tag: DICOMTag) -> String? {
        guard let el = elements[tag], el.vr != "SQ" else { return nil }
        let s = String(decoding: bytes[el.offset..<(el.offset + el.length)], as: UTF8.self)
        return s.trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
    }

    /// A multi-valued decimal or integer string (DS, IS) as numbers. Throws when a value is not a number.
    public func numbers(_ tag: DICOMTag) throws -> [Double]? {
        guard let s = string(tag), !s.isEmpty else { return nil }
        return try s.split(separator: "\\", omittingEmptySubsequences: false).map { part in
            let t = part.trimmingCharacters(in: .whitespaces)
            guard let v = Double(t), v.isFinite else {
                throw ImagingError(.corrupt, path: path, field: tag.description, "value '\(s)' is not a list of numbers")
            }
            return v
        }
    }

    /// An unsigned short (US) value.
    public func uint16(_ tag: DICOMTag) throws -> Int? {
        guard let el = elements[tag] else { return nil }
        // Some writers store IS text where US is expected; accept a number either way.
        if el.vr == "IS" || el.vr == "DS" {
            guard let v = try numbers(tag)?.first else { return nil }
            guard let i = Int(exactly: v.rounded()), (0...65535).contains(i) else {
                throw ImagingError(.corrupt, path: path, field: tag.description, "is \(v), expected 0 to 65535")
            }
            return i
        }
        guard el.length >= 2 else {
            throw ImagingError(.corrupt, path: path, field: tag.description, "has \(el.length) bytes, expected 2 (US)")
        }
        return Int(ByteReader(bytes, bigEndian: bigEndian).u16(el.offset)!)
    }

    /// Every 16-bit word of a binary value (US, SS, OW, or an implicit-VR element read as such),
    /// unsigned, in the data set's byte order; nil when absent. Throws on an odd length.
    func words(_ tag: DICOMTag) throws -> [Int]? {
        guard let el = elements[tag] else { return nil }
        guard el.length % 2 == 0 else {
            throw ImagingError(.corrupt, path: path, field: tag.description, "has \(el.length) bytes, expected whole 16-bit words")
        }
        let r = ByteReader(bytes, bigEndian: bigEndian)
        return stride(from: el.offset, to: el.offset + el.length, by: 2).map { Int(r.u16($0)!) }
    }

    /// The element's value representation as written ("" in implicit-VR data sets).
    func vr(_ tag: DICOMTag) -> String? { elements[tag]?.vr }

    /// The raw bytes of an element's value.
    func value(_ tag: DICOMTag) -> ArraySlice<UInt8>? {
        elements[tag].map { bytes[$0.offset..<($0.offset + $0.length)] }
    }
}

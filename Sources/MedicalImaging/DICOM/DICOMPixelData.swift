import Foundation

/// The layout DICOM pixel data must decode to: what Rows, Columns, NumberOfFrames and
/// BitsAllocated promise for a greyscale image.
struct PixelLayout {
    var rows: Int
    var columns: Int
    var frames: Int
    var bitsAllocated: Int
    /// Whether PixelRepresentation says the stored values are two's complement.
    var signed: Bool
    /// Samples per pixel: 1 for greyscale (and PALETTE COLOR indices); 3 for colour, decoded
    /// interleaved by pixel whatever the codec's own layout.
    var samplesPerPixel = 1
    /// For 3-sample JPEG: whether the codestream holds YCbCr (1) or RGB (0), from DICOM's
    /// PhotometricInterpretation, which pydicom also trusts over the JPEG markers; -1: ask libjpeg.
    var jpegYCbCr: Int32 = -1

    var bytesPerSample: Int { bitsAllocated / 8 }
    var pixelsPerFrame: Int { rows * columns }
    /// Samples of one frame, interleaved by pixel for colour (R G B R G B ...).
    var samplesPerFrame: Int { rows * columns * samplesPerPixel }
    var bytesPerFrame: Int { samplesPerFrame * bytesPerSample }
}

/// Turns a data set's pixel data, native or encapsulated, into one little-endian buffer of
/// `frames x rows x columns` samples of `bitsAllocated` bits: the layout of uncompressed
/// Explicit VR Little Endian pixel data, so that one routine applies BitsStored, the sign and
/// the modality rescale whatever the transfer syntax was.
enum DICOMPixelData {
    static func decode(_ ds: DICOMDataSet, layout: PixelLayout) throws -> [UInt8] {
        if ds.encapsulated { return try decodeEncapsulated(ds, layout: layout) }
        let path = ds.path
        let field = DICOMTag.pixelData.description
        guard let raw = ds.value(.pixelData) else {
            throw ImagingError(.missing, path: path, field: field, "the file has no pixel data element, so it holds no image")
        }
        let need = layout.bytesPerFrame * layout.frames
        guard raw.count >= need else {
            throw ImagingError(.truncated, path: path, field: field,
                               "holds \(raw.count) bytes, \(layout.frames) frame(s) of \(layout.rows)x\(layout.columns) at \(layout.bitsAllocated) bits need \(need)")
        }
        guard ds.bigEndian, layout.bytesPerSample > 1 || ds.vr(.pixelData) == "OW" else { return Array(raw.prefix(need)) }
        // Big-endian samples are swapped per BitsAllocated, as pydicom reads them; 8-bit samples
        // in an OW element are swapped in 16-bit words (the element's padding byte included).
        let word = max(2, layout.bytesPerSample)
        var out = Array(raw.prefix(min(raw.count, (need + word - 1) / word * word)))
        out.withUnsafeMutableBufferPointer { b in
            var i = 0
            while i + word <= b.count {
                b[i..<(i + word)].reverse()
                i += word
            }
        }
        if out.count > need { out.removeLast(out.count - need) }
        return out
    }

    /// The most bytes one decoded frame, and all frames, may take. Compressed pixel data does not
    /// bound the image size the header claims (a few bytes of codestream can declare 65535 x 65535),
    /// so without a limit a hostile header could make the decoders allocate tens of gigabytes.
    /// The largest real frames (mammography, 4096 x 5120 x 16 bits) are about 40 MB.
    static let maxFrameBytes = 1 << 30
    static let maxTotalBytes = 1 << 33

    private static func decodeEncapsulated(_ ds: DICOMDataSet, layout: PixelLayout) throws -> [UInt8] {
        let path = ds.path
        guard layout.bytesPerFrame <= maxFrameBytes, layout.bytesPerFrame * layout.frames <= maxTotalBytes else {
            throw ImagingError(.unsupported, path: path, field: DICOMTag.pixelData.description,
                               "\(layout.frames) frame(s) of \(layout.rows)x\(layout.columns) at \(layout.bitsAllocated) bits exceed the decoder's limit of \(maxFrameBytes >> 20) MiB per frame and \(maxTotalBytes >> 30) GiB in all")
        }
        let groups = try frameFragments(ds, frames: layout.frames)
        var out = [UInt8]()
        out.reserveCapacity(layout.bytesPerFrame * layout.frames)
        for (index, group) in groups.enumerated() {
            // A frame's fragments concatenated are its codestream (PS3.5 A.4).
            var stream = [UInt8]()
            for r in group { stream.append(contentsOf: ds.bytes[r]) }
            let context = FrameContext(path: path, frame: index, frames: layout.frames, transferSyntax: ds.transferSyntaxUID)
            let frame: [UInt8]
            switch ds.transferSyntaxUID {
            case TransferSyntax.rle:
                frame = try RLEDecoder.decode(stream, layout: layout, context: context)
            case TransferSyntax.jpegLSLossless, TransferSyntax.jpegLSNearLossless:
                frame = try JPEGLSDecoder.decode(stream, layout: layout, context: context)
            case TransferSyntax.jpeg2000Lossless, TransferSyntax.jpeg2000:
                frame = try JPEG2000Decoder.decode(stream, layout: layout, context: context)
            default:
                frame = try DICOMJPEGDecoder.decode(stream, layout: layout, context: context)
            }
            precondition(frame.count == layout.bytesPerFrame, "decoder returned \(frame.count) bytes for \(layout.bytesPerFrame)")
            out.append(contentsOf: frame)
        }
        return out
    }

    /// Which fragments make up each frame: all of them for a single frame; else the basic offset
    /// table; else one fragment per frame; else fragments grouped by the codestream end marker
    /// (FFD9, which JPEG, JPEG-LS and JPEG 2000 all end with).
    static func frameFragments(_ ds: DICOMDataSet, frames: Int) throws -> [[Range<Int>]] {
        let path = ds.path, field = DICOMTag.pixelData.description
        let fragments = ds.fragments
        guard !fragments.isEmpty else {
            throw ImagingError(.missing, path: path, field: field, "encapsulated pixel data holds no fragments")
        }
        if frames == 1 { return [fragments.map(\.bytes)] }
        if ds.offsetTable.count == frames {
            var groups: [[Range<Int>]] = []
            for (k, start) in ds.offsetTable.enumerated() {
                let end = k + 1 < frames ? ds.offsetTable[k + 1] : Int.max
                let group = fragments.filter { $0.item >= start && $0.item < end }.map(\.bytes)
                guard start < end, !group.isEmpty, fragments.contains(where: { $0.item == start }) else {
                    throw ImagingError(.corrupt, path: path, field: field,
                                       "basic offset table entry \(k) (\(start)) does not start a fragment")
                }
                groups.append(group)
            }
            return groups
        }
        if fragments.count == frames { return fragments.map { [$0.bytes] } }
        if ds.transferSyntaxUID != TransferSyntax.rle {
            var groups: [[Range<Int>]] = [], current: [Range<Int>] = []
            for f in fragments {
                current.append(f.bytes)
                let tail = ds.bytes[f.bytes].reversed().drop { $0 == 0 }
                if tail.count >= 2, tail.first == 0xD9, tail.dropFirst().first == 0xFF {
                    groups.append(current)
                    current = []
                }
            }
            if current.isEmpty && groups.count == frames { return groups }
        }
        throw ImagingError(.corrupt, path: path, field: field,
                           "cannot tell which of \(fragments.count) fragments belong to which of \(frames) frames (basic offset table has \(ds.offsetTable.count) entries)")
    }
}

/// Where a codestream came from, for error messages.
struct FrameContext {
    var path: String
    var frame: Int
    var frames: Int
    var transferSyntax: String

    var field: String {
        frames > 1 ? "\(DICOMTag.pixelData.description) frame \(frame + 1) of \(frames)" : DICOMTag.pixelData.description
    }

    func error(_ kind: ImagingError.Kind, _ message: String) -> ImagingError {
        ImagingError(kind, path: path, field: field, message)
    }
}

/// Appends `value`'s low `bytes` bytes little-endian (the sample layout `DICOMPixelData` returns).
@inline(__always)
func appendSample(_ value: Int, bytes: Int, to out: inout [UInt8]) {
    var v = UInt64(bitPattern: Int64(value))
    for _ in 0..<bytes {
        out.append(UInt8(truncatingIfNeeded: v))
        v >>= 8
    }
}

import CJPEG
import Foundation

/// JPEG read through libjpeg-turbo (Debian `libjpeg62-turbo-dev`): 8-bit grey or RGB (YCbCr and
/// CMYK files are converted to RGB by the library).
public enum JPEGCodec {
    public static func read(_ url: URL) throws -> Image {
        try decode(AtomicFile.read(url), path: url.path)
    }

    public static func decode(_ bytes: [UInt8], path: String) throws -> Image {
        var out = cjpeg_image()
        defer { cjpeg_free(&out) }
        let status = bytes.withUnsafeBufferPointer { cjpeg_decode($0.baseAddress, $0.count, Image.maxSamples, &out) }
        guard status == 0, let p = out.pixels else {
            let message = withUnsafeBytes(of: &out.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw ImagingError(.corrupt, path: path, field: "JPEG", "cannot decode: libjpeg: \(message)")
        }
        let count = Int(out.width) * Int(out.height) * Int(out.components)
        let pixels = (0..<count).map { Float(p[$0]) }
        return Image(pixels: pixels, height: Int(out.height), width: Int(out.width), channels: Int(out.components))
    }
}

import CPNG
import Foundation

/// PNG read and write through libpng's simplified API (libpng 1.6, Debian `libpng-dev`).
public enum PNGCodec {
    /// Reads a grey or colour PNG, 8 or 16 bits per sample. Palette images are expanded to RGB,
    /// grey+alpha and RGBA are composited onto black and the alpha dropped.
    public static func read(_ url: URL) throws -> Image {
        try decode(AtomicFile.read(url), path: url.path)
    }

    public static func decode(_ bytes: [UInt8], path: String) throws -> Image {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        let ok = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard ok != 0 else { throw failure(&image, path, "not a readable PNG") }
        let fileFormat = image.format
        let colour = fileFormat & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
        let sixteen = fileFormat & UInt32(PNG_FORMAT_FLAG_LINEAR) != 0
        let channels = colour ? 3 : 1
        image.format = (colour ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0) | (sixteen ? UInt32(PNG_FORMAT_FLAG_LINEAR) : 0)
        let width = Int(image.width), height = Int(image.height)
        let count = width * height * channels
        guard width > 0, height > 0, count <= Image.maxSamples else {
            throw ImagingError(.corrupt, path: path, field: "IHDR",
                               "image size \(width)x\(height) x \(channels) channels is empty or exceeds the limit of \(Image.maxSamples) samples")
        }
        var pixels = [Float](repeating: 0, count: count)
        if sixteen {
            var buffer = [UInt16](repeating: 0, count: count)
            let done = buffer.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
            guard done != 0 else { throw failure(&image, path, "pixel data could not be decoded") }
            for n in 0..<count { pixels[n] = Float(buffer[n]) }
        } else {
            var buffer = [UInt8](repeating: 0, count: count)
            let done = buffer.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
            guard done != 0 else { throw failure(&image, path, "pixel data could not be decoded") }
            for n in 0..<count { pixels[n] = Float(buffer[n]) }
        }
        return Image(pixels: pixels, height: height, width: width, channels: channels, bitDepth: sixteen ? 16 : 8)
    }

    /// Writes a 1- or 3-channel image as PNG. Values are rounded and clamped to 0...255
    /// (`bitDepth` 8) or 0...65535 (`bitDepth` 16). The file appears atomically.
    public static func write(_ img: Image, to url: URL, bitDepth: Int = 8) throws {
        try AtomicFile.write(encode(img, bitDepth: bitDepth, path: url.path), to: url)
    }

    public static func encode(_ img: Image, bitDepth: Int = 8, path: String = "<memory>") throws -> [UInt8] {
        guard img.channels == 1 || img.channels == 3 else {
            throw ImagingError(.invalidArgument, path: path, field: "channels", "is \(img.channels), expected 1 or 3")
        }
        guard bitDepth == 8 || bitDepth == 16 else {
            throw ImagingError(.invalidArgument, path: path, field: "bitDepth", "is \(bitDepth), expected 8 or 16")
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(img.width)
        image.height = UInt32(img.height)
        image.format = (img.channels == 3 ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0) | (bitDepth == 16 ? UInt32(PNG_FORMAT_FLAG_LINEAR) : 0)
        defer { png_image_free(&image) }
        let maxValue: Float = bitDepth == 16 ? 65535 : 255
        func clamp(_ v: Float) -> Float { v.isNaN ? 0 : min(maxValue, max(0, v.rounded())) }
        let samples: [UInt8] = bitDepth == 16
            ? img.pixels.map { UInt16(clamp($0)) }.withUnsafeBytes { Array($0) }
            : img.pixels.map { UInt8(clamp($0)) }
        // libpng's memory writer is called once to learn the size and once to fill the buffer.
        var size = 0
        let sized = samples.withUnsafeBytes { png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, 0, nil) }
        guard sized != 0, size > 0 else { throw failure(&image, path, "PNG encoding failed") }
        var out = [UInt8](repeating: 0, count: size)
        let written = out.withUnsafeMutableBytes { dst in
            samples.withUnsafeBytes { png_image_write_to_memory(&image, dst.baseAddress, &size, 0, $0.baseAddress, 0, nil) }
        }
        guard written != 0 else { throw failure(&image, path, "PNG encoding failed") }
        return Array(out[0..<size])
    }

    /// Writes a label map (H x W, one byte per pixel) as an 8-bit palette PNG: each pixel holds
    /// its label (0 = background), so label readers (Pillow, nibabel-style tools) get the labels
    /// back, while viewers show label k in `colours[k - 1]` (cycled) over black. The palette
    /// always has 256 entries so the file keeps 8 bits per pixel whatever the largest label.
    public static func writeLabelMap(_ labels: [UInt8], height: Int, width: Int, colours: [[Float]],
                                     to url: URL) throws {
        try AtomicFile.write(encodeLabelMap(labels, height: height, width: width, colours: colours, path: url.path), to: url)
    }

    /// The bytes of ``writeLabelMap(_:height:width:colours:to:)``'s file.
    public static func encodeLabelMap(_ labels: [UInt8], height: Int, width: Int, colours: [[Float]],
                                      path: String = "<memory>") throws -> [UInt8] {
        guard height > 0, width > 0, labels.count == height * width, !colours.isEmpty else {
            throw ImagingError(.invalidArgument, path: path, field: "labels",
                               "has \(labels.count) pixels for a \(height)x\(width) image")
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        // PNG_FORMAT_RGB_COLORMAP is a macro of macros, which Swift does not import.
        image.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_COLORMAP)
        image.colormap_entries = 256
        defer { png_image_free(&image) }
        var colormap = [UInt8](repeating: 0, count: 256 * 3)
        for k in 1..<256 {
            let c = colours[(k - 1) % colours.count]
            for j in 0..<3 { colormap[k * 3 + j] = UInt8(min(255, max(0, c[j].rounded()))) }
        }
        var size = 0
        let sized = labels.withUnsafeBytes { px in
            colormap.withUnsafeBytes { png_image_write_to_memory(&image, nil, &size, 0, px.baseAddress, 0, $0.baseAddress) }
        }
        guard sized != 0, size > 0 else { throw failure(&image, path, "PNG encoding failed") }
        var out = [UInt8](repeating: 0, count: size)
        let written = out.withUnsafeMutableBytes { dst in
            labels.withUnsafeBytes { px in
                colormap.withUnsafeBytes { png_image_write_to_memory(&image, dst.baseAddress, &size, 0, px.baseAddress, 0, $0.baseAddress) }
            }
        }
        guard written != 0 else { throw failure(&image, path, "PNG encoding failed") }
        return Array(out[0..<size])
    }

    /// A mask label map as a PNG a person can look at, the one form `medsam segment` and
    /// `medsam batch` write: a single prompt's mask as grey 0 (background) / 255 (mask); several
    /// prompts (or label values) as an 8-bit palette PNG whose pixels are the labels, shown in
    /// the overlay's colours.
    public static func encodeMask(_ labels: [UInt8], singlePrompt: Bool, height: Int, width: Int,
                                  path: String = "<memory>") throws -> [UInt8] {
        if singlePrompt {
            return try encode(Image(pixels: labels.map { $0 > 0 ? 255 : 0 }, height: height, width: width, channels: 1), path: path)
        }
        return try encodeLabelMap(labels, height: height, width: width, colours: OverlayRenderer.palette, path: path)
    }

    /// Writes ``encodeMask(_:singlePrompt:height:width:path:)``'s PNG; the file appears atomically.
    public static func writeMask(_ labels: [UInt8], singlePrompt: Bool, height: Int, width: Int, to url: URL) throws {
        try AtomicFile.write(encodeMask(labels, singlePrompt: singlePrompt, height: height, width: width, path: url.path), to: url)
    }

    private static func failure(_ image: inout png_image, _ path: String, _ what: String) -> ImagingError {
        let message = withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let kind: ImagingError.Kind = message.contains("EOF") || message.contains("end") ? .truncated : .corrupt
        return ImagingError(kind, path: path, field: "PNG", message.isEmpty ? what : "\(what): libpng: \(message)")
    }
}

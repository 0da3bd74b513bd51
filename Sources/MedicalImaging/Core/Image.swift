import Foundation

/// A 2-D image: `height` rows of `width` pixels of `channels` interleaved float32 values.
///
/// Pixel (x, y, c) is at `pixels[(y * width + x) * channels + c]`: y is the row (first axis),
/// x the column, as NumPy, PNG and SAM index images.
public struct Image: Equatable, Sendable {
    public var pixels: [Float]
    public var height: Int
    public var width: Int
    public var channels: Int
    /// Bits per sample in the source file (8 or 16 for PNG/JPEG; 32 for float data).
    public var bitDepth: Int
    /// Pixel size in millimetres (row spacing, column spacing) when known, else (1, 1).
    public var spacing: [Double]

    /// The most samples (height x width x channels) a PNG or JPEG may decode to: 2^28, 1 GiB as
    /// float32 (a 16384 x 16384 grey or 9400 x 9400 RGB image). The header alone declares the
    /// size, and a few hundred bytes of JPEG can declare 65500 x 65500 x 3, so without a limit a
    /// hostile file makes the reader allocate tens of gigabytes (found by fuzzing).
    public static let maxSamples = 1 << 28

    public init(pixels: [Float], height: Int, width: Int, channels: Int, bitDepth: Int = 8,
                spacing: [Double] = [1, 1]) {
        precondition(height * width * channels == pixels.count,
                     "Image: \(height)x\(width)x\(channels) needs \(height * width * channels) values, got \(pixels.count)")
        self.pixels = pixels
        self.height = height
        self.width = width
        self.channels = channels
        self.bitDepth = bitDepth
        self.spacing = spacing
    }

    public subscript(x x: Int, y y: Int, c c: Int = 0) -> Float {
        get { pixels[(y * width + x) * channels + c] }
        set { pixels[(y * width + x) * channels + c] = newValue }
    }

    /// A single-channel view: the grey value itself, or ITU-R BT.601 luma for RGB.
    public func grey() -> Image {
        if channels == 1 { return self }
        var out = [Float](repeating: 0, count: height * width)
        for p in 0..<(height * width) {
            let b = p * channels
            out[p] = channels >= 3
                ? 0.299 * pixels[b] + 0.587 * pixels[b + 1] + 0.114 * pixels[b + 2]
                : pixels[b]
        }
        return Image(pixels: out, height: height, width: width, channels: 1, bitDepth: bitDepth, spacing: spacing)
    }

    /// Three channels: grey repeated (as MedSAM feeds a grey slice to SAM), RGB kept, alpha dropped.
    public func rgb() -> Image {
        if channels == 3 { return self }
        var out = [Float](repeating: 0, count: height * width * 3)
        for p in 0..<(height * width) {
            for c in 0..<3 {
                out[p * 3 + c] = channels >= 3 ? pixels[p * channels + c] : pixels[p * channels]
            }
        }
        return Image(pixels: out, height: height, width: width, channels: 3, bitDepth: bitDepth, spacing: spacing)
    }

    /// Smallest and largest value over all channels (NaN ignored).
    public var valueRange: ClosedRange<Float>? { finiteRange(pixels) }
}

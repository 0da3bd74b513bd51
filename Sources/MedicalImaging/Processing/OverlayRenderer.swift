import Foundation

/// A prompt point for drawing: pixel coordinates and label (1 foreground, 0 background).
public struct OverlayPoint: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public var foreground: Bool
    public init(x: Double, y: Double, foreground: Bool = true) {
        self.x = x
        self.y = y
        self.foreground = foreground
    }
}

/// Draws masks and prompts over a grey image for a quick visual check (`--overlay`).
public enum OverlayRenderer {
    /// Distinct colours for labels 1, 2, ... (repeating after 10).
    public static let palette: [[Float]] = [
        [255, 64, 64], [64, 200, 255], [255, 210, 0], [80, 220, 100], [230, 90, 255],
        [255, 140, 0], [0, 255, 200], [255, 105, 180], [160, 160, 255], [200, 255, 120],
    ]

    public static func colour(for label: Int) -> [Float] { palette[(label - 1) % palette.count] }

    /// Returns an RGB image: `base` (grey or RGB, 0...255) with each label of `labels` (H x W,
    /// 0 = background) tinted at 30 % and outlined in its colour, each box drawn in the colour of
    /// its prompt (box n has label n + 1), and points as discs (green foreground, red background)
    /// ringed in white.
    ///
    /// `scale` enlarges the picture by an integer factor (nearest neighbour, so pixels stay
    /// square and mask edges stay exact) before drawing, so that a 64-pixel slice gets visible
    /// outlines and markers; prompt coordinates are scaled with it.
    public static func render(base: Image, labels: [UInt8]? = nil, boxes: [[Double]] = [],
                              points: [OverlayPoint] = [], scale: Int = 1) throws -> Image {
        if let labels, labels.count != base.width * base.height {
            throw ImagingError(.invalidArgument, path: "overlay", field: "labels",
                               "has \(labels.count) pixels, the image is \(base.height)x\(base.width)")
        }
        guard (1...64).contains(scale) else {
            throw ImagingError(.invalidArgument, path: "overlay", field: "scale", "is \(scale), expected 1...64")
        }
        if scale > 1 {
            let s = Double(scale)
            return try render(base: enlarge(base, scale), labels: labels.map { enlarge($0, base.height, base.width, scale) },
                              boxes: boxes.map { $0.map { $0 * s } },
                              points: points.map { OverlayPoint(x: $0.x * s + (s - 1) / 2, y: $0.y * s + (s - 1) / 2,
                                                                foreground: $0.foreground) })
        }
        let w = base.width, h = base.height
        var out = base.rgb()
        out.bitDepth = 8
        func set(_ x: Int, _ y: Int, _ c: [Float], alpha: Float = 1) {
            guard x >= 0, y >= 0, x < w, y < h else { return }
            let p = (y * w + x) * 3
            for k in 0..<3 { out.pixels[p + k] = out.pixels[p + k] * (1 - alpha) + c[k] * alpha }
        }
        // Coordinates outside the picture (or not finite) are clamped just past its edge, so
        // drawing never traps and off-image parts are simply not drawn.
        func pixel(_ v: Double, _ size: Int) -> Int {
            v.isFinite ? Int(Swift.min(Swift.max(v.rounded(), -2), Double(size + 1))) : -2
        }
        let thickness = Swift.max(1, Swift.min(w, h) / 256)
        if let labels {
            for y in 0..<h {
                for x in 0..<w {
                    let l = Int(labels[y * w + x])
                    guard l > 0 else { continue }
                    var edge = false
                    for (dx, dy) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
                        let nx = x + dx, ny = y + dy
                        if nx < 0 || ny < 0 || nx >= w || ny >= h || Int(labels[ny * w + nx]) != l { edge = true }
                    }
                    set(x, y, colour(for: l), alpha: edge ? 1 : 0.3)
                }
            }
        }
        for (n, b) in boxes.enumerated() where b.count == 4 {
            let c = colour(for: n + 1)
            let x0 = pixel(b[0], w), y0 = pixel(b[1], h), x1 = pixel(b[2], w), y1 = pixel(b[3], h)
            for t in 0..<thickness {
                for x in x0...Swift.max(x0, x1) { set(x, y0 + t, c); set(x, y1 - t, c) }
                for y in y0...Swift.max(y0, y1) { set(x0 + t, y, c); set(x1 - t, y, c) }
            }
        }
        let radius = Swift.max(2, Swift.min(w, h) / 100)
        for p in points {
            let cx = pixel(p.x, w), cy = pixel(p.y, h)
            let fill: [Float] = p.foreground ? [0, 230, 0] : [230, 0, 0]
            for dy in -(radius + 1)...(radius + 1) {
                for dx in -(radius + 1)...(radius + 1) {
                    let d2 = dx * dx + dy * dy
                    if d2 <= radius * radius { set(cx + dx, cy + dy, fill) }
                    else if d2 <= (radius + 1) * (radius + 1) { set(cx + dx, cy + dy, [255, 255, 255]) }
                }
            }
        }
        return out
    }

    /// Renders and writes the overlay as an 8-bit RGB PNG.
    public static func write(to url: URL, base: Image, labels: [UInt8]? = nil, boxes: [[Double]] = [],
                             points: [OverlayPoint] = [], scale: Int = 1) throws {
        try PNGCodec.write(render(base: base, labels: labels, boxes: boxes, points: points, scale: scale), to: url)
    }

    /// The enlargement that brings the image's longer side to at least `minimumSide` pixels
    /// (1 for images already that large): the default of `--overlay-scale`.
    public static func automaticScale(height: Int, width: Int, minimumSide: Int = 512) -> Int {
        let side = Swift.max(height, width, 1)
        return Swift.min(64, Swift.max(1, (minimumSide + side - 1) / side))
    }

    private static func enlarge(_ img: Image, _ s: Int) -> Image {
        let c = img.channels, w = img.width * s, h = img.height * s
        var px = [Float](repeating: 0, count: w * h * c)
        for y in 0..<h {
            let src = (y / s) * img.width
            for x in 0..<w {
                for k in 0..<c { px[(y * w + x) * c + k] = img.pixels[(src + x / s) * c + k] }
            }
        }
        return Image(pixels: px, height: h, width: w, channels: c, bitDepth: img.bitDepth)
    }

    private static func enlarge(_ labels: [UInt8], _ height: Int, _ width: Int, _ s: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: height * width * s * s)
        for y in 0..<(height * s) {
            for x in 0..<(width * s) { out[y * width * s + x] = labels[(y / s) * width + x / s] }
        }
        return out
    }
}

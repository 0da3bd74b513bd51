import TensorRuntime

/// Where an image went on its way into the model, to map prompts in and masks back out.
public struct ImageTransform: Sendable, Hashable, Codable {
    public var family: PreprocessingFamily
    public var originalHeight: Int
    public var originalWidth: Int
    /// Size of the resized image inside the padded square input (equal to it for MedSAM).
    public var resizedHeight: Int
    public var resizedWidth: Int
    /// Side of the square model input.
    public var inputSize: Int

    public init(family: PreprocessingFamily, originalHeight: Int, originalWidth: Int, resizedHeight: Int,
                resizedWidth: Int, inputSize: Int) {
        self.family = family
        self.originalHeight = originalHeight
        self.originalWidth = originalWidth
        self.resizedHeight = resizedHeight
        self.resizedWidth = resizedWidth
        self.inputSize = inputSize
    }

    /// Where an image of `height` x `width` goes in `family`'s preprocessing: the long side to
    /// `inputSize` (SAM, LiteMedSAM), or the whole square input (MedSAM). Needs no pixels, so an
    /// embedding computed earlier can be given its transform without preprocessing again.
    public init(family: PreprocessingFamily, originalHeight h: Int, originalWidth w: Int, inputSize: Int) {
        let resized = family == .medsam ? (height: inputSize, width: inputSize)
            : Preprocessing.resizedSize(height: h, width: w, longSide: inputSize)
        self.init(family: family, originalHeight: h, originalWidth: w, resizedHeight: resized.height,
                  resizedWidth: resized.width, inputSize: inputSize)
    }

    /// A point of the original image in the model input frame.
    public func point(x: Float, y: Float) -> (x: Float, y: Float) {
        switch family {
        case .sam:   // ResizeLongestSide.apply_coords: scale by the rounded new size
            return (Float(Double(x) * Double(resizedWidth) / Double(originalWidth)),
                    Float(Double(y) * Double(resizedHeight) / Double(originalHeight)))
        case .medsam:
            return (Float(Double(x) / Double(originalWidth) * Double(inputSize)),
                    Float(Double(y) / Double(originalHeight) * Double(inputSize)))
        case .liteMedSAM:
            let s = Double(inputSize) / Double(max(originalHeight, originalWidth))
            return (Float(Double(x) * s), Float(Double(y) * s))
        }
    }

    /// A box (x0, y0, x1, y1) of the original image in the model input frame. LiteMedSAM
    /// truncates each coordinate to an integer (`resize_box_to_256`).
    public func box(_ b: [Float]) -> [Float] {
        if family == .liteMedSAM {
            let s = Double(inputSize) / Double(max(originalHeight, originalWidth))
            return b.map { Float((Double($0) * s).rounded(.towardZero)) }
        }
        let p0 = point(x: b[0], y: b[1]), p1 = point(x: b[2], y: b[3])
        return [p0.x, p0.y, p1.x, p1.y]
    }
}

/// Errors of image preprocessing.
public enum PreprocessingError: Error, CustomStringConvertible, Equatable {
    case imageShape(Shape)
    public var description: String {
        switch self {
        case .imageShape(let s): return "an image must be [height, width, 3] with values 0...255, got \(s)"
        }
    }
}

/// Image preprocessing of each model family (docs/sam-spec.md §4, §7, §8.3).
public enum Preprocessing {
    /// `ResizeLongestSide.get_preprocess_shape`: long side to `target`, `int(x·scale + 0.5)`.
    public static func resizedSize(height: Int, width: Int, longSide target: Int) -> (height: Int, width: Int) {
        let scale = Double(target) / Double(max(height, width))
        return (Int(Double(height) * scale + 0.5), Int(Double(width) * scale + 0.5))
    }

    /// `image` `[H, W, 3]` with values 0…255 (RGB) → model input `[1, 3, S, S]` and its transform.
    public static func preprocess(_ image: Tensor, family: PreprocessingFamily, inputSize: Int) throws -> (Tensor, ImageTransform) {
        guard image.shape.rank == 3, image.shape[2] == 3, image.shape[0] > 0, image.shape[1] > 0 else {
            throw PreprocessingError.imageShape(image.shape)
        }
        let h = image.shape[0], w = image.shape[1]
        let t = ImageTransform(family: family, originalHeight: h, originalWidth: w, inputSize: inputSize)
        let nh = t.resizedHeight, nw = t.resizedWidth
        switch family {
        case .liteMedSAM:
            let resized = AreaResize.resize(image.data, height: h, width: w, channels: 3, newHeight: nh, newWidth: nw)
            return (padChannelsFirst(minMax(resized), height: nh, width: nw, size: inputSize), t)
        case .sam:
            let resized = PILBilinear.resize(image.data, height: h, width: w, channels: 3, newHeight: nh, newWidth: nw)
            let mean: [Double] = [123.675, 116.28, 103.53], std: [Double] = [58.395, 57.12, 57.375]
            var normalised = resized
            for i in 0..<normalised.count {
                let c = i % 3
                normalised[i] = Float((Double(resized[i]) - mean[c]) / std[c])
            }
            return (padChannelsFirst(normalised, height: nh, width: nw, size: inputSize), t)
        case .medsam:
            let resized = CubicSplineResize.resize(image.data, height: h, width: w, channels: 3, newHeight: nh, newWidth: nw)
            return (padChannelsFirst(minMax(resized), height: nh, width: nw, size: inputSize), t)
        }
    }

    /// (x − min) / max(max − min, 1e-8) over all values, in float64 then rounded (as NumPy does).
    public static func minMax(_ v: [Float]) -> [Float] {
        guard let lo = v.min(), let hi = v.max() else { return v }
        let range = max(Double(hi) - Double(lo), 1e-8)
        return v.map { Float((Double($0) - Double(lo)) / range) }
    }

    /// HWC (height × width × 3) → `[1, 3, size, size]`, zero padding at the bottom and right.
    public static func padChannelsFirst(_ v: [Float], height: Int, width: Int, size: Int) -> Tensor {
        var out = [Float](repeating: 0, count: 3 * size * size)
        for c in 0..<3 {
            for y in 0..<height {
                for x in 0..<width { out[(c * size + y) * size + x] = v[(y * width + x) * 3 + c] }
            }
        }
        return Tensor(shape: [1, 3, size, size], data: out)
    }
}

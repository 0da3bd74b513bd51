import Foundation

/// A prompt mode of the COSMOS (Huang et al., docs/sam-spec.md §10.1) and MedSAM (§10.2)
/// evaluations: how one ground-truth object becomes one prompt.
public enum EvaluationMode: Hashable, Sendable, CustomStringConvertible {
    /// COSMOS: the object's centroid as one foreground point.
    case point1
    /// COSMOS: the centroid and four foreground samples.
    case point5
    /// COSMOS: `point5` plus five background samples from the tight box enlarged 2x.
    case point5plus5
    /// COSMOS: the tight box.
    case box
    /// COSMOS: the tight box and the centroid.
    case boxPoint1
    /// MedSAM: the tight box widened by a random 0...max pixels on each side (seeded).
    case boxJitter(max: Int)
    /// The tight box widened by a fixed number of pixels on each side.
    case boxMargin(Int)
    /// SAM's automatic masks (`EverythingGenerator`, `EvaluationOptions.everything`), the one
    /// with the highest Dice against the object chosen (COSMOS's matching; an oracle).
    case everything

    /// The modes `medsam evaluate` runs when none are named.
    public static let defaults: [EvaluationMode] = [.point1, .point5, .point5plus5, .box, .boxPoint1, .boxJitter(max: 20)]

    /// The mode's name as the CLI, the CSVs and the report spell it.
    public var description: String {
        switch self {
        case .point1: return "point1"
        case .point5: return "point5"
        case .point5plus5: return "point5+5"
        case .box: return "box"
        case .boxPoint1: return "box+point1"
        case .boxJitter: return "box-jitter"
        case .boxMargin: return "box-margin"
        case .everything: return "everything"
        }
    }

    /// The mode named `name` (`point1`, `point5`, `point5+5`, `box`, `box+point1`, `box-jitter`,
    /// `box-margin`), with the jitter and margin (pixels) the box modes use.
    public init(name: String, jitter: Int, margin: Int) throws {
        switch name.trimmingCharacters(in: .whitespaces).lowercased() {
        case "point1": self = .point1
        case "point5": self = .point5
        case "point5+5", "point10": self = .point5plus5
        case "box": self = .box
        case "box+point1": self = .boxPoint1
        case "box-jitter": self = .boxJitter(max: jitter)
        case "box-margin": self = .boxMargin(margin)
        case "everything": self = .everything
        default:
            throw EvaluationError("unknown prompt mode '\(name)' (expected point1, point5, point5+5, box, box+point1, box-jitter, box-margin or everything)")
        }
    }
}

/// Prompts sampled from a ground-truth mask, as the COSMOS code (`find_center_from_mask_new`,
/// `find_box_from_mask`) and MedSAM's box protocol make them.
///
/// Points:
/// 1. The first foreground point is the centroid of the mask as `cv2.moments` gives it,
///    (int(m10/m00), int(m01/m00)) in (x, y), whether or not it lies in the mask (COSMOS does
///    not check).
/// 2. The other foreground points are uniform samples of the foreground pixels listed in
///    row-major order (NumPy's `np.where`): step = int(n/5), every step-th pixel from the first,
///    the first of them replaced by the centroid.
/// 3. Background points are the same uniform samples of the background pixels inside the tight
///    box enlarged 2x about its centre and clipped to the image.
///
/// One difference from the COSMOS code, on purpose: when n is not a multiple of 5 the code's
/// every-step-th slice holds a sixth foreground sample (below 20 pixels, up to n of them), and
/// taking the first ten of [foreground..., background...] with labels [1]x5 + [0]x5 then labels
/// those foreground pixels as background (and drops as many background points). Here exactly
/// five foreground and five background points are taken, each with its own label. Where fewer
/// than five foreground or background pixels exist, COSMOS's step is 0 and its code raises;
/// here each of them is taken.
///
/// Checked against a run of COSMOS's own functions on real masks (EvaluationTests, fixture
/// `cosmos_sampling.json` from scripts/reference/cosmos_sampling.py; docs/evaluate.md).
public enum PromptSampler {
    /// A pixel (x = column, y = row).
    public struct Pixel: Equatable, Sendable {
        public var x: Int
        public var y: Int
        public init(x: Int, y: Int) { self.x = x; self.y = y }
    }

    /// The centroid of `mask` (`height x width`, row-major), truncated as `int()` does; nil for an
    /// empty mask.
    public static func centroid(_ mask: [Bool], height: Int, width: Int) -> Pixel? {
        var n = 0, sx = 0, sy = 0
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] { n += 1; sx += x; sy += y }
        }
        guard n > 0 else { return nil }
        // int() truncates toward zero; the sums are non-negative, so integer division is the same.
        return Pixel(x: sx / n, y: sy / n)
    }

    /// Every step-th element of `pixels` from the first, step = int(count/k) (at least 1), at
    /// most `k` of them: COSMOS's uniform sampling of a row-major pixel list.
    public static func uniformSamples(_ pixels: [Pixel], count k: Int) -> [Pixel] {
        guard !pixels.isEmpty, k > 0 else { return [] }
        let step = max(1, pixels.count / k)
        return Array(stride(from: 0, to: pixels.count, by: step).prefix(k).map { pixels[$0] })
    }

    /// The five foreground points: the centroid, then four uniform foreground samples.
    public static func foregroundPoints(_ mask: [Bool], height: Int, width: Int) -> [Pixel] {
        guard let c = centroid(mask, height: height, width: width) else { return [] }
        var fg: [Pixel] = []
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] { fg.append(Pixel(x: x, y: y)) }
        }
        var samples = uniformSamples(fg, count: 5)
        samples[0] = c
        return samples
    }

    /// The tight box enlarged 2x about its centre and clipped to the image, in inclusive pixel
    /// indices [x0, y0, x1, y1], as COSMOS's `limit_rect` and its slicing give it: along each
    /// axis the region starts at lo - e/2 (e = hi - lo) and ends 2e later; the start is clipped
    /// at 0 and the end, where it reaches the image's size, set to it; the pixels taken are
    /// `int(start) ..< int(start) + int(end - start)` (Python's truncating `int`). A region of
    /// no pixels (a mask one pixel wide) has x1 < x0 or y1 < y0.
    public static func enlargedBox(_ box: [Int], height: Int, width: Int) -> [Int] {
        func axis(_ lo: Int, _ hi: Int, _ size: Int) -> (Int, Int) {
            let extent = Double(hi - lo)
            let unclipped = Double(lo) - extent / 2
            let start = max(0, unclipped)
            let end = min(unclipped + 2 * extent, Double(size))
            let first = Int(start)
            return (first, first + Int(end - start) - 1)
        }
        let x = axis(box[0], box[2], width), y = axis(box[1], box[3], height)
        return [x.0, y.0, x.1, y.1]
    }

    /// Up to five background points: uniform samples of the background pixels inside the
    /// enlarged box, in row-major order.
    public static func backgroundPoints(_ mask: [Bool], height: Int, width: Int) -> [Pixel] {
        guard let tight = tightBox(mask, height: height, width: width) else { return [] }
        let b = enlargedBox(tight, height: height, width: width)
        var bg: [Pixel] = []
        for y in stride(from: b[1], through: b[3], by: 1) {
            for x in stride(from: b[0], through: b[2], by: 1) where !mask[y * width + x] { bg.append(Pixel(x: x, y: y)) }
        }
        return uniformSamples(bg, count: 5)
    }

    /// The tight box [x0, y0, x1, y1] of `mask` (inclusive pixel indices, as `find_box_from_mask`
    /// and MedSAM take min and max of the foreground indices); nil for an empty mask.
    public static func tightBox(_ mask: [Bool], height: Int, width: Int) -> [Int]? {
        var x0 = Int.max, y0 = Int.max, x1 = -1, y1 = -1
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] {
                x0 = min(x0, x); y0 = min(y0, y); x1 = max(x1, x); y1 = max(y1, y)
            }
        }
        return x1 < 0 ? nil : [x0, y0, x1, y1]
    }

    /// The prompt of `mode` for the object `mask`. Box modes take their box from `box`, which the
    /// caller computes with `LabelBoxes` (so a jittered box is the one `medsam batch
    /// --box-margin-random` draws for the same case, slice, label and seed).
    public static func prompt(_ mode: EvaluationMode, mask: [Bool], height: Int, width: Int,
                              box: [Float]?) -> ImagePrompt {
        func points(_ p: [Pixel], label: Int) -> [ImagePrompt.Point] {
            p.map { ImagePrompt.Point(x: Float($0.x), y: Float($0.y), label: label) }
        }
        switch mode {
        case .point1:
            return ImagePrompt(points: points(Array(foregroundPoints(mask, height: height, width: width).prefix(1)), label: 1))
        case .point5:
            return ImagePrompt(points: points(foregroundPoints(mask, height: height, width: width), label: 1))
        case .point5plus5:
            return ImagePrompt(points: points(foregroundPoints(mask, height: height, width: width), label: 1)
                               + points(backgroundPoints(mask, height: height, width: width), label: 0))
        case .box, .boxJitter, .boxMargin, .everything:
            return ImagePrompt(box: box)
        case .boxPoint1:
            return ImagePrompt(points: points(Array(foregroundPoints(mask, height: height, width: width).prefix(1)), label: 1),
                               box: box)
        }
    }

    /// The box margin a box mode widens the tight box by (nil for point modes).
    public static func margin(_ mode: EvaluationMode, seed: UInt64) -> BoxMargin? {
        switch mode {
        case .box, .boxPoint1: return .fixed(0)
        case .boxMargin(let m): return .fixed(m)
        case .boxJitter(let j): return .random(max: j, seed: seed)
        case .point1, .point5, .point5plus5, .everything: return nil
        }
    }
}

/// An evaluation input or option that cannot be used; the message names the file, field or value.
public struct EvaluationError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

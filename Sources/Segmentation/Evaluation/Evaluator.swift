import Foundation
import MedicalImaging
import TensorRuntime

/// Which of the decoder's masks an evaluation scores.
public enum MaskChoice: String, CaseIterable, Sendable, Codable {
    /// The single-mask output (`multimask_output=False`, how MedSAM and LiteMedSAM are run).
    case single
    /// Of the three multimask outputs, the one with the highest predicted IoU (SAM's own choice).
    case best
    /// Of the three multimask outputs, the one with the highest Dice against the ground truth
    /// (COSMOS's matching; it looks at the answer, so it is reported as oracle).
    case oracle
}

/// Which slices holding a label are evaluated.
public enum SliceSelection: Equatable, Sendable {
    /// Every slice that holds the label.
    case all
    /// The slice where the label has the most pixels (the first of equals).
    case largest
    /// Every K-th of the slices that hold the label, from the first.
    case every(Int)

    /// `all`, `largest` or `every:K`.
    public init(parsing s: String) throws {
        if s == "all" { self = .all; return }
        if s == "largest" { self = .largest; return }
        if s.hasPrefix("every:"), let k = Int(s.dropFirst(6)), k >= 1 { self = .every(k); return }
        throw EvaluationError("--slices '\(s)': expected all, largest or every:K (K >= 1)")
    }
}

/// How an evaluation runs.
public struct EvaluationOptions: Sendable {
    public var modes: [EvaluationMode] = EvaluationMode.defaults
    public var maskChoices: [MaskChoice] = MaskChoice.allCases
    /// Seeds the jittered boxes (with the case, slice and label, as `LabelBoxes` does).
    public var seed: UInt64 = 0
    /// Objects with at most this many pixels in a slice are skipped (COSMOS drops <= 50).
    public var minArea = 50
    public var slices: SliceSelection = .all
    public var axis: SliceAxis = .axial
    /// NSD tolerance, in pixels (or mm with `physicalSpacing`).
    public var nsdTolerance = 2.0
    /// MedSAM's rule: NSD is 0 where DSC <= 0.2.
    public var medsamRules = false
    /// Surface metrics in mm with the slice's pixel spacing; otherwise in pixels, as MedSAM's
    /// evaluation scores 2-D images.
    public var physicalSpacing = false
    /// Slices per encoder call.
    public var batchSize = 4
    /// The intensity mapping of every image (nil: the automatic choice; `.npz` images are kept as they are).
    public var mapping: IntensityMapping?
    /// Label ids to evaluate (nil: every id present, and every named id).
    public var labels: Set<Int>?
    /// The automatic mask generator's settings for the `everything` mode.
    public var everything = EverythingParameters()
    /// Slice-wise (2-D) evaluation, and/or 3-D evaluation of volumes by LiteMedSAM's propagation
    /// from a 3-D box (`ChallengeInference.propagate`).
    public var dimensions: Set<EvaluationDimension> = [.twoD]
    /// With both 2-D and 3-D evaluation, at most this many of a case's 2-D slice embeddings are
    /// kept for its 3-D walk, which then does not encode those slices again (LiteMedSAM's and
    /// SAM's embeddings are 256 x 64 x 64 floats, 4 MiB each: 64 is 256 MiB). Only slices the
    /// walk visits are kept, the first ones in slice order; the walk frees each once it is past it.
    public var sharedEmbeddings = 64

    public init() {}

    /// The prompt modes 3-D evaluation runs: the box modes (`box`, `box-jitter`, `box-margin`)
    /// among `modes`; points and automatic masks have no 3-D form in the challenge method.
    public var modes3D: [EvaluationMode] {
        dimensions.contains(.threeD) ? modes.filter { PromptSampler.margin($0, seed: seed) != nil && $0 != .boxPoint1 } : []
    }

    /// Every mode name the rows can carry, in report order: the 2-D modes, then the 3-D ones
    /// (`3d-box`, ...).
    public var modeNames: [String] {
        (dimensions.contains(.twoD) ? modes.map(\.description) : []) + modes3D.map { EvaluationRow.threeDPrefix + $0.description }
    }
}

/// How a volume is evaluated.
public enum EvaluationDimension: String, CaseIterable, Sendable, Codable {
    /// Each selected slice on its own (2-D images always are).
    case twoD = "2d"
    /// The whole volume per label: a 3-D box from the ground truth propagated slice by slice by
    /// the LiteMedSAM challenge method, scored with 3-D metrics in mm.
    case threeD = "3d"
}

/// One scored object: a label in a slice (or a 2-D image), under one prompt mode and mask choice.
public struct EvaluationRow: Sendable, Equatable, Codable {
    public var caseID: String
    public var label: Int
    public var name: String
    /// The slice index along the evaluation axis (nil for a 2-D image and for a 3-D score).
    public var slice: Int?
    public var mode: String
    public var maskChoice: MaskChoice
    public var groundTruthArea: Int
    public var predictionArea: Int
    public var dice: Double
    /// COSMOS's smoothed Dice (smooth 0.1).
    public var smoothedDice: Double
    public var iou: Double
    public var nsd: Double
    /// Nil when the prediction is empty (the distance is infinite; counted as an empty prediction).
    public var hd95: Double?
    public var asd: Double?
    /// The decoder's predicted IoU of the chosen mask.
    public var predictedIoU: Double
    /// The prompt, as `box x0 y0 x1 y1` and/or `points x y label;...` (pixel indices), so the
    /// sampling can be checked against another implementation.
    public var prompt: String
    public var emptyPrediction: Bool { predictionArea == 0 }
    /// Mode names of 3-D scores start with this (`3d-box`): they are their own modes in the summary.
    public static let threeDPrefix = "3d-"
    /// A score of a whole volume (3-D evaluation) rather than of a slice.
    public var isThreeD: Bool { mode.hasPrefix(Self.threeDPrefix) }
}

/// An object or label that was not scored, and why.
public struct EvaluationSkip: Sendable, Equatable, Codable {
    /// `small`: at most `--min-area` pixels (voxels for a 3-D score); `absent`: a named label not
    /// in the case; `not-3d`: a 2-D case under 3-D evaluation alone.
    public enum Reason: String, Sendable, Codable { case small, absent, notVolume = "not-3d" }
    public var caseID: String
    public var label: Int
    public var name: String
    public var slice: Int?
    public var reason: Reason
    /// Pixels of the label in the slice, or voxels in the volume for a 3-D skip (0 for an absent label).
    public var area: Int
    /// Whether the skip is of a 3-D score (slice nil, area in voxels).
    public var threeD: Bool?
}

/// What one case produced.
public struct CaseEvaluation: Sendable {
    public var caseID: String
    public var rows: [EvaluationRow] = []
    public var skips: [EvaluationSkip] = []
    /// Slices encoded (each once, shared by every prompt mode and mask choice).
    public var encodedSlices = 0
    public var encodeMilliseconds = 0.0
    public var decodeMilliseconds = 0.0
    public var readMilliseconds = 0.0
}

/// A case's image and label map, read and checked against each other.
public struct EvaluationInput {
    /// The mapped image: a 2-D image or a volume.
    public var image: Image?
    public var volume: Volume?
    /// The label map, of the same shape.
    public var labelPlane: [Float]?
    public var labelVolume: Volume?

    /// Reads `c` (image and label map, or a MedSAM `.npz` with `gts`); a label map of another
    /// shape or geometry than its image is an error naming both files.
    public static func load(_ c: EvaluationCase, mapping: IntensityMapping?) throws -> EvaluationInput {
        let url = URL(fileURLWithPath: c.image)
        if c.labels == nil {
            let npz = try MedSAMCase.read(url)
            guard let gts = npz.groundTruth else {
                throw EvaluationError("\(c.image), field 'gts': missing (an evaluation needs the ground truth)")
            }
            if var vol = npz.volume(source: c.image) {
                let mapped = mapping?.apply(vol) ?? vol
                vol.voxels = gts.values
                return EvaluationInput(image: nil, volume: mapped, labelPlane: nil, labelVolume: vol)
            }
            let img = npz.image()!
            return EvaluationInput(image: mapping?.apply(img) ?? img, volume: nil, labelPlane: gts.values, labelVolume: nil)
        }
        let labelsPath = c.labels!
        let image = try MedicalImageFile.read(url)
        let labels = try MedicalImageFile.read(URL(fileURLWithPath: labelsPath))
        switch (image, labels) {
        case (.image(let img), .image(let l)):
            guard l.height == img.height, l.width == img.width else {
                throw EvaluationError("\(labelsPath): the label map is \(l.height)x\(l.width), its image \(c.image) is \(img.height)x\(img.width)")
            }
            guard l.channels == 1 else {
                throw EvaluationError("\(labelsPath): the label map has \(l.channels) channels, expected one channel of label ids")
            }
            let m = mapping ?? IntensityMapping.automatic(for: img)
            return EvaluationInput(image: m.apply(img), volume: nil, labelPlane: l.pixels, labelVolume: nil)
        case (.volume(let v), .volume(let l)):
            guard l.dims == v.dims else {
                throw EvaluationError("\(labelsPath): the label map has dims \(l.dims), its image \(c.image) has \(v.dims)")
            }
            guard l.affine.isClose(to: v.affine, tolerance: 1e-3) else {
                throw EvaluationError("\(labelsPath): the label map's affine differs from that of its image \(c.image) (not on the same voxel grid)")
            }
            let m = mapping ?? IntensityMapping.automatic(for: v)
            return EvaluationInput(image: nil, volume: m.apply(v), labelPlane: nil, labelVolume: l)
        default:
            throw EvaluationError("\(labelsPath): the label map is not of the same kind (2-D image or volume) as its image \(c.image)")
        }
    }

    func sliceCount(_ axis: SliceAxis) -> Int { volume?.sliceCount(axis) ?? 1 }

    /// The image and label plane of slice `k` (ignored for 2-D).
    func slice(_ axis: SliceAxis, _ k: Int) throws -> (image: Image, labels: [Float]) {
        if let v = volume, let l = labelVolume { return (try v.slice(axis, k), try l.slice(axis, k).pixels) }
        return (image!, labelPlane!)
    }
}

/// Candidates for the report's gallery of best and worst cases: a scored object and what it
/// takes to draw it.
public struct GalleryItem {
    public var row: EvaluationRow
    public var image: Image
    public var groundTruth: [Bool]
    public var prediction: [Bool]
    public var prompt: ImagePrompt
}

/// The COSMOS and MedSAM evaluation protocols on a labelled case: for every label and selected
/// slice, every prompt mode's prompt is decoded against the slice's one embedding (one encoder
/// run per slice, batched as `Predictor.embed` batches), and each chosen mask is scored against
/// the ground truth with `MaskComparison`.
public final class Evaluator {
    public let predictor: Predictor
    public let options: EvaluationOptions
    /// Called with each scored object (for the report's gallery); nil to skip.
    public var gallery: ((GalleryItem) -> Void)?

    public init(predictor: Predictor, options: EvaluationOptions) {
        self.predictor = predictor
        self.options = options
    }

    /// Evaluates one case. `names` gives label names (and labels expected in every case: a
    /// named label absent from the case is recorded as a skip).
    public func evaluate(_ c: EvaluationCase, names: [Int: String]) throws -> CaseEvaluation {
        let start = DispatchTime.now().uptimeNanoseconds
        var result = CaseEvaluation(caseID: c.id)
        let input = try EvaluationInput.load(c, mapping: options.mapping)
        let axis = options.axis
        let n = input.sliceCount(axis)
        func name(_ l: Int) -> String { names[l] ?? "label\(l)" }

        // Areas of every label in every slice, to choose slices per label.
        var areas: [Int: [Int: Int]] = [:]   // label -> slice -> pixels
        for k in 0..<n {
            let plane = input.volume == nil ? input.labelPlane! : try input.labelVolume!.slice(axis, k).pixels
            for v in plane where v > 0 && v.isFinite {
                let l = Int(v.rounded())
                if l > 0 { areas[l, default: [:]][k, default: 0] += 1 }
            }
        }
        var wanted = Set(areas.keys).union(names.keys)
        if let only = options.labels { wanted = wanted.intersection(only) }
        var work: [Int: [Int]] = [:]          // slice -> labels scored there
        for l in wanted.sorted() {
            guard let perSlice = areas[l], !perSlice.isEmpty else {
                result.skips.append(EvaluationSkip(caseID: c.id, label: l, name: name(l), slice: nil, reason: .absent, area: 0))
                continue
            }
            let holding = perSlice.keys.sorted()
            let chosen: [Int]
            switch options.slices {
            case .all: chosen = holding
            case .largest: chosen = [holding.max { perSlice[$0]! < perSlice[$1]! || (perSlice[$0]! == perSlice[$1]! && $0 > $1) }!]
            case .every(let step): chosen = stride(from: 0, to: holding.count, by: step).map { holding[$0] }
            }
            for k in chosen where options.dimensions.contains(.twoD) {
                let area = perSlice[k]!
                let slice = input.volume == nil ? nil : k
                if area <= options.minArea {
                    result.skips.append(EvaluationSkip(caseID: c.id, label: l, name: name(l), slice: slice, reason: .small, area: area))
                } else {
                    work[k, default: []].append(l)
                }
            }
        }
        result.readMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        // The 3-D walk's plan, made first so that the 2-D pass knows which embeddings it will reuse.
        var plan3D: Plan3D?
        if options.dimensions.contains(.threeD) {
            let labels = wanted.sorted().filter { areas[$0] != nil }
            if input.volume != nil {
                plan3D = plan(c, labels: labels, areas: areas, name: name)
                result.skips += plan3D!.skips
            } else if !options.dimensions.contains(.twoD) {
                for l in labels {
                    result.skips.append(EvaluationSkip(caseID: c.id, label: l, name: name(l), slice: nil, reason: .notVolume,
                                                       area: areas[l]!.values.reduce(0, +), threeD: true))
                }
            }
        }
        let walked = plan3D?.slices ?? []
        var kept: [Int: ImageEmbedding] = [:]

        let slices = work.keys.sorted()
        let batch = max(1, options.batchSize)
        for chunkStart in stride(from: 0, to: slices.count, by: batch) {
            let chunk = Array(slices[chunkStart..<min(chunkStart + batch, slices.count)])
            let planes = try chunk.map { try input.slice(axis, $0) }
            let embeddings = try predictor.embed(planes.map(\.image))
            result.encodeMilliseconds += predictor.lastEncodeMilliseconds
            result.encodedSlices += chunk.count
            for (i, k) in chunk.enumerated() {
                try predictor.setEmbedding(embeddings[i])
                try scoreSlice(c, slice: input.volume == nil ? nil : k, image: planes[i].image, plane: planes[i].labels,
                               labels: work[k]!, name: name, into: &result)
                if walked.contains(k) && kept.count < options.sharedEmbeddings { kept[k] = embeddings[i] }
            }
        }
        if let plan3D {
            // The 3-D rows come first, as they did when the walk ran before the 2-D pass.
            var threeD = CaseEvaluation(caseID: c.id)
            try evaluate3D(c, input: input, plan: plan3D, embeddings: kept, name: name, into: &threeD)
            result.rows = threeD.rows + result.rows
            result.encodedSlices += threeD.encodedSlices
            result.encodeMilliseconds += threeD.encodeMilliseconds
            result.decodeMilliseconds += threeD.decodeMilliseconds
        }
        return result
    }

    /// What the 3-D evaluation of a volume scores: the labels of more than `minArea` voxels
    /// with their slice ranges along the axis (the others are skips), and so the slices the walk visits.
    struct Plan3D {
        var scored: [Int] = []
        var zRange: [Int: (first: Int, last: Int)] = [:]
        var skips: [EvaluationSkip] = []
        /// Every slice some label's walk crosses (each label's walk covers its whole z range).
        var slices: Set<Int> { Set(zRange.values.flatMap { Array($0.first...$0.last) }) }
    }

    private func plan(_ c: EvaluationCase, labels: [Int], areas: [Int: [Int: Int]], name: (Int) -> String) -> Plan3D {
        var p = Plan3D()
        for l in labels {
            let total = areas[l]!.values.reduce(0, +)
            if total <= options.minArea {
                p.skips.append(EvaluationSkip(caseID: c.id, label: l, name: name(l), slice: nil, reason: .small, area: total, threeD: true))
                continue
            }
            p.scored.append(l)
            let z = areas[l]!.keys
            p.zRange[l] = (z.min()!, z.max()!)
        }
        return p
    }

    /// 3-D evaluation of a volume: per label, the 3-D box of its ground truth (tight in the slice
    /// range; x and y widened as the 2-D box modes do, from the same generator with the key
    /// `<case>#3d`) propagated through the slices along `axis` by the LiteMedSAM challenge method,
    /// the labels of a mode as the challenge runs a case's boxes (where two labels' predictions
    /// overlap, the later label keeps the voxel, as in the challenge's `segs`). Each label's
    /// prediction is scored against its ground truth with the 3-D metrics in mm.
    ///
    /// `embeddings` are slices the 2-D pass encoded (the same slice image, so the same
    /// embedding): the walk uses them instead of encoding those slices again.
    private func evaluate3D(_ c: EvaluationCase, input: EvaluationInput, plan: Plan3D, embeddings: [Int: ImageEmbedding],
                            name: (Int) -> String, into result: inout CaseEvaluation) throws {
        let axis = options.axis
        let depth = input.sliceCount(axis)
        var stack: [Float] = [], labelStack: [Float] = []
        var h = 0, w = 0, spacing = (depth: 1.0, row: 1.0, column: 1.0)
        for k in 0..<depth {
            let (image, plane) = try input.slice(axis, k)
            h = image.height; w = image.width
            if image.spacing.count == 2 { spacing.row = image.spacing[0]; spacing.column = image.spacing[1] }
            stack += image.pixels
            labelStack += plane
        }
        if let v = input.volume { spacing.depth = v.spacing[axis.normalAxis] }
        let hw = h * w
        let scored = plan.scored, zRange = plan.zRange
        guard !scored.isEmpty else { return }
        // The label's footprint over all slices: the x, y extent of its 3-D box.
        var footprints: [Int: [Float]] = [:]
        for l in scored { footprints[l] = [Float](repeating: 0, count: hw) }
        for k in 0..<depth {
            for i in 0..<hw {
                let v = labelStack[k * hw + i]
                guard v > 0, v.isFinite else { continue }
                let l = Int(v.rounded())
                if footprints[l] != nil { footprints[l]![i] = Float(l) }
            }
        }
        let key = "\(c.id)#3d"
        // Every mode's boxes in one walk (track t is mode t / n, label t % n), so each slice is
        // encoded once for all modes; each mode's masks are then combined as the challenge's
        // `segs` would be had its boxes been run alone (a later label over an earlier one).
        let modes = options.modes3D
        let n = scored.count
        let rows: [[Float]] = modes.flatMap { mode in
            let margin = PromptSampler.margin(mode, seed: options.seed)!
            return scored.map { l in
                let b = LabelBoxes.boxes(labels: footprints[l]!, height: h, width: w, margin: margin, key: key)[0].box
                let z = zRange[l]!
                return [b[0], b[1], Float(z.first), b[2], b[3], Float(z.last)]
            }
        }
        let run = try ChallengeInference.propagate(stack, depth: depth, height: h, width: w, boxes: rows, origin: c.image,
                                                   predictor: predictor, batch: options.batchSize, keepTrackMasks: true,
                                                   trackGroups: rows.indices.map { $0 / n }, embeddings: embeddings)
        result.encodedSlices += run.images
        result.encodeMilliseconds += run.encodeMilliseconds
        result.decodeMilliseconds += run.decodeMilliseconds
        let masks = run.trackMasks!
        for (m, mode) in modes.enumerated() {
            for (k, l) in scored.enumerated() {
                let t = m * n + k
                let gt: [UInt8] = labelStack.map { $0 > 0 && $0.isFinite && Int($0.rounded()) == l ? 1 : 0 }
                var pred = masks[t]
                for later in (t + 1)..<((m + 1) * n) {
                    for i in pred.indices where masks[later][i] != 0 { pred[i] = 0 }
                }
                let cmp = try MaskComparison(groundTruth: gt, prediction: pred, depth: depth, height: h, width: w, spacing: spacing)
                var row = row(c, label: l, name: name(l), slice: nil, mode: EvaluationRow.threeDPrefix + mode.description,
                              choice: .single, comparison: cmp, predictedIoU: Double(run.ious[t]))
                row.prompt = "box3d " + rows[t].map { String(format: "%g", $0) }.joined(separator: " ")
                result.rows.append(row)
            }
        }
    }

    private func scoreSlice(_ c: EvaluationCase, slice: Int?, image: Image, plane: [Float], labels: [Int],
                            name: (Int) -> String, into result: inout CaseEvaluation) throws {
        let h = image.height, w = image.width, hw = h * w
        let masks: [[Bool]] = labels.map { l in plane.map { $0.isFinite && Int($0.rounded()) == l && $0 > 0 } }
        let spacing = options.physicalSpacing && image.spacing.count == 2 ? (row: image.spacing[0], column: image.spacing[1]) : (row: 1.0, column: 1.0)
        let key = "\(c.id)#\(slice.map(String.init) ?? "2d")"
        for mode in options.modes where mode != .everything {
            var boxes: [Int: [Float]] = [:]
            if let margin = PromptSampler.margin(mode, seed: options.seed) {
                for (l, b) in LabelBoxes.boxes(labels: plane, height: h, width: w, margin: margin, key: key) { boxes[l] = b }
            }
            let prompts = labels.enumerated().map { j, l in
                PromptSampler.prompt(mode, mask: masks[j], height: h, width: w, box: boxes[l])
            }
            // One decoder call per prompt form (prompts of one call need the same number of points).
            var groups: [String: [Int]] = [:]
            for (j, p) in prompts.enumerated() { groups["\(p.points.count)-\(p.box != nil)", default: []].append(j) }
            for key in groups.keys.sorted() {
                let members = groups[key]!
                let single = options.maskChoices.contains(.single)
                    ? try predictor.predict(members.map { prompts[$0] }, multimask: false) : nil
                if single != nil { result.decodeMilliseconds += predictor.lastDecodeMilliseconds }
                let multi = options.maskChoices.contains(where: { $0 != .single })
                    ? try predictor.predict(members.map { prompts[$0] }, multimask: true) : nil
                if multi != nil { result.decodeMilliseconds += predictor.lastDecodeMilliseconds }
                for (p, j) in members.enumerated() {
                    let gt = masks[j]
                    for choice in options.maskChoices {
                        let prediction: Prediction
                        let m: Int
                        switch choice {
                        case .single: prediction = single!; m = 0
                        case .best: prediction = multi!; m = multi!.bestMask(p)
                        case .oracle: prediction = multi!; m = Self.oracleMask(multi!, p, groundTruth: gt)
                        }
                        let count = prediction.masks.shape[1]
                        let offset = (p * count + m) * hw
                        let pred = (0..<hw).map { prediction.masks.data[offset + $0] > 0 }
                        var row = try score(c, label: labels[j], name: name(labels[j]), slice: slice, mode: mode, choice: choice,
                                            groundTruth: gt, prediction: pred, height: h, width: w, spacing: spacing,
                                            predictedIoU: Double(prediction.iou.data[p * count + m]))
                        row.prompt = Self.describe(prompts[j])
                        result.rows.append(row)
                        gallery?(GalleryItem(row: row, image: image, groundTruth: gt, prediction: pred, prompt: prompts[j]))
                    }
                }
            }
        }
        if options.modes.contains(.everything) {
            try scoreEverything(c, slice: slice, image: image, labels: labels, masks: masks, spacing: spacing, name: name, into: &result)
        }
    }

    /// The `everything` mode: SAM's automatic masks for the slice (a second encoder run, as the
    /// generator embeds the image itself), each object matched to the mask with the highest
    /// Dice against it (the first of equals; an empty prediction when there is no mask).
    /// Recorded under the `oracle` mask choice, since the matching looks at the answer.
    private func scoreEverything(_ c: EvaluationCase, slice: Int?, image: Image, labels: [Int], masks: [[Bool]],
                                 spacing: (row: Double, column: Double), name: (Int) -> String,
                                 into result: inout CaseEvaluation) throws {
        let generator = try EverythingGenerator(predictor: predictor, parameters: options.everything)
        let found = try generator.generate(image)
        result.encodeMilliseconds += generator.lastTimings.encoder
        result.decodeMilliseconds += generator.lastTimings.total - generator.lastTimings.encoder
        let candidates = found.map { $0.rle.decode().map { $0 != 0 } }
        let h = image.height, w = image.width
        for (j, gt) in masks.enumerated() {
            var best = -1, bestDice = -1.0
            let gtArea = gt.reduce(0) { $0 + ($1 ? 1 : 0) }
            for (k, m) in candidates.enumerated() {
                var both = 0, area = 0
                for i in 0..<gt.count where m[i] {
                    area += 1
                    if gt[i] { both += 1 }
                }
                let d = 2 * Double(both) / Double(gtArea + area)
                if d > bestDice { bestDice = d; best = k }
            }
            let pred = best >= 0 ? candidates[best] : [Bool](repeating: false, count: h * w)
            var row = try score(c, label: labels[j], name: name(labels[j]), slice: slice, mode: .everything, choice: .oracle,
                                groundTruth: gt, prediction: pred, height: h, width: w, spacing: spacing,
                                predictedIoU: best >= 0 ? Double(found[best].predictedIoU) : 0)
            row.prompt = best >= 0 ? "everything point \(Int(found[best].point.x)) \(Int(found[best].point.y)) of \(found.count) masks" : "everything: no mask"
            result.rows.append(row)
            gallery?(GalleryItem(row: row, image: image, groundTruth: gt, prediction: pred, prompt: ImagePrompt()))
        }
    }

    /// COSMOS's matching: the candidate mask with the highest smoothed Dice against the ground
    /// truth (the first of equals, as `argmax`).
    static func oracleMask(_ p: Prediction, _ prompt: Int, groundTruth gt: [Bool]) -> Int {
        let count = p.masks.shape[1], hw = gt.count
        var best = 0, bestDice = -1.0
        let gtArea = gt.reduce(0) { $0 + ($1 ? 1 : 0) }
        for m in 0..<count {
            let offset = (prompt * count + m) * hw
            var both = 0, area = 0
            for i in 0..<hw where p.masks.data[offset + i] > 0 {
                area += 1
                if gt[i] { both += 1 }
            }
            let d = (2 * Double(both) + 0.1) / (Double(gtArea + area) + 0.1)
            if d > bestDice { bestDice = d; best = m }
        }
        return best
    }

    /// The metrics of one prediction against its (non-empty) ground truth.
    func score(_ c: EvaluationCase, label: Int, name: String, slice: Int?, mode: EvaluationMode, choice: MaskChoice,
               groundTruth: [Bool], prediction: [Bool], height: Int, width: Int,
               spacing: (row: Double, column: Double), predictedIoU: Double) throws -> EvaluationRow {
        let cmp = try MaskComparison(groundTruth: groundTruth.map { $0 ? 1 : 0 }, prediction: prediction.map { $0 ? 1 : 0 },
                                     height: height, width: width, spacing: spacing)
        return row(c, label: label, name: name, slice: slice, mode: mode.description, choice: choice, comparison: cmp,
                   predictedIoU: predictedIoU)
    }

    /// The row of a comparison (2-D or 3-D) against a non-empty ground truth.
    func row(_ c: EvaluationCase, label: Int, name: String, slice: Int?, mode: String, choice: MaskChoice,
             comparison cmp: MaskComparison, predictedIoU: Double) -> EvaluationRow {
        // The ground truth is never empty here (empty objects are not scored), so Dice, IoU and
        // NSD are defined; an empty prediction scores 0 and has no finite surface distance.
        let dice = cmp.dice ?? 0
        var nsd = cmp.surfaceDice(tolerance: options.nsdTolerance) ?? 0
        if options.medsamRules && dice <= 0.2 { nsd = 0 }
        let empty = cmp.predictionArea == 0
        return EvaluationRow(caseID: c.id, label: label, name: name, slice: slice, mode: mode, maskChoice: choice,
                             groundTruthArea: cmp.groundTruthArea, predictionArea: cmp.predictionArea,
                             dice: dice, smoothedDice: cmp.smoothedDice, iou: cmp.iou ?? 0, nsd: nsd,
                             hd95: empty ? nil : cmp.hausdorff(percent: 95), asd: empty ? nil : cmp.averageSurfaceDistance,
                             predictedIoU: predictedIoU, prompt: "")
    }

    /// `box x0 y0 x1 y1` and/or `points x y l;x y l...`, joined by ` | `.
    static func describe(_ p: ImagePrompt) -> String {
        func n(_ v: Float) -> String { String(format: "%g", v) }
        var parts: [String] = []
        if let b = p.box { parts.append("box " + b.map(n).joined(separator: " ")) }
        if !p.points.isEmpty { parts.append("points " + p.points.map { "\(n($0.x)) \(n($0.y)) \($0.label)" }.joined(separator: ";")) }
        return parts.joined(separator: " | ")
    }
}

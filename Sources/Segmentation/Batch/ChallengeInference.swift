import Foundation
import MedicalImaging
import SAMModels
import TensorRuntime

/// What a challenge case produced: `segs` (label k where box k's mask is, later boxes over
/// earlier ones) and the bookkeeping the journal records.
struct ChallengeResult {
    var segs: [UInt8]
    /// `[H, W]` for a 2-D case, `[D, H, W]` for a 3-D one (the spatial shape of `imgs`).
    var shape: [Int]
    var prompts = 0
    /// Slices encoded (each once, however many boxes cross it).
    var images = 0
    var areas: [Int] = []
    var ious: [Float] = []
    /// Per box, its own mask over the volume (1 where it predicted, whatever later boxes did),
    /// when `propagate` is asked for them.
    var trackMasks: [[UInt8]]?
    var encodeMilliseconds: Double = 0
    var decodeMilliseconds: Double = 0
}

/// The "MedSAM on laptop" challenge's LiteMedSAM inference (`CVPR24_LiteMedSAM_infer.py`,
/// docs/sam-spec.md §8.3) on a MedSAM `.npz` case, with each slice encoded once.
///
/// 2-D: one encode, every box in one decoder call. 3-D, per box: the middle slice of the box's
/// z range with the box, then slice by slice up to z_max and down to z_min, each slice prompted
/// with the tight box (widened by 3 in the 256 frame) of the previous slice's mask after
/// LiteMedSAM's area resize, or the middle box when that mask is empty. The reference script
/// walks box by box and encodes a slice once per box that crosses it; here all boxes walk
/// together, upwards in one sweep and downwards in a second, so a slice is encoded once and
/// its boxes share one decoder call. Slices the two sweeps share keep their embedding between them.
enum ChallengeInference {
    /// Box shift of the propagated boxes, in the 256-pixel model frame (`get_bbox256`).
    static let bboxShift = 3

    static func run(_ c: MedSAMCase, origin: String, predictor: Predictor, batch: Int) throws -> ChallengeResult {
        guard let boxes = c.boxes else {
            throw BatchError("\(origin), field 'boxes': the .npz has no 'boxes' array (needed for a challenge case)")
        }
        return c.isVolume ? try volume(c, boxes: boxes, origin: origin, predictor: predictor, batch: batch)
            : try image(c, boxes: boxes, origin: origin, predictor: predictor)
    }

    /// Rows of a `N x width` boxes array (a single box may be stored flat).
    static func rows(_ boxes: NPYArray, width: Int, origin: String) throws -> [[Float]] {
        let d = boxes.shape.dims
        let n: Int
        if d == [width] { n = 1 } else if d.count == 2 && d[1] == width { n = d[0] } else {
            throw BatchError("\(origin), field 'boxes': shape \(boxes.shape), expected N x \(width)")
        }
        return (0..<n).map { Array(boxes.values[($0 * width)..<(($0 + 1) * width)]) }
    }

    static func image(_ c: MedSAMCase, boxes: NPYArray, origin: String, predictor: Predictor) throws -> ChallengeResult {
        let img = c.image()!
        let rows = try rows(boxes, width: 4, origin: origin)
        for (k, b) in rows.enumerated() {
            guard b.allSatisfy(\.isFinite), b[0] >= 0, b[1] >= 0, b[2] <= Float(img.width), b[3] <= Float(img.height),
                  b[2] >= b[0], b[3] >= b[1] else {
                throw BatchError("\(origin), field 'boxes' row \(k): \(b.map { String(format: "%g", $0) }.joined(separator: ",")) is not an ordered box inside the \(img.width)x\(img.height) image")
            }
        }
        var result = ChallengeResult(segs: [UInt8](repeating: 0, count: img.height * img.width), shape: [img.height, img.width])
        guard !rows.isEmpty else { return result }
        let e = try predictor.embed([img])[0]
        result.encodeMilliseconds = predictor.lastEncodeMilliseconds
        result.images = 1
        try predictor.setEmbedding(e)
        let p = try predictor.predict(rows.map { ImagePrompt(box: $0) })
        result.decodeMilliseconds = predictor.lastDecodeMilliseconds
        let hw = img.height * img.width
        for k in 0..<rows.count {
            for i in 0..<hw where p.masks.data[k * hw + i] > 0 { result.segs[i] = UInt8(min(k + 1, 255)) }
            result.areas.append(p.area(k, 0))
            result.ious.append(p.iou.data[k])
        }
        result.prompts = rows.count
        return result
    }

    /// A box's walk: where it starts and how far it goes each way, and the last mask it made.
    struct Track {
        var label: Int
        var box: [Float]
        var middle: Int
        var top: Int
        var bottom: Int
        var middleMask: [UInt8] = []
        var previous: [UInt8] = []
    }

    static func volume(_ c: MedSAMCase, boxes: NPYArray, origin: String, predictor: Predictor, batch: Int) throws -> ChallengeResult {
        let d = c.images.shape.dims
        return try propagate(c.images.values, depth: d[0], height: d[1], width: d[2], boxes: try rows(boxes, width: 6, origin: origin),
                             origin: origin, predictor: predictor, batch: batch)
    }

    /// The 3-D walk on a `depth x height x width` stack of 0...255 slices (row-major, as a
    /// challenge `imgs` array) from `rows` of x_min, y_min, z_min, x_max, y_max, z_max; box k
    /// writes label k + 1. `medsam evaluate --dimensions 3d` runs it on boxes from the ground truth
    /// (the boxes of all its prompt modes in one walk, so a slice is encoded once for all of them,
    /// with `keepTrackMasks` to separate them). `trackGroups` (one per box) splits each slice's
    /// decoder call by group, so a group's boxes are decoded exactly as in a walk of their own (a
    /// batch of other size may differ in the last bits, which the walk can amplify) and are
    /// numbered within their group (`segs` then mixes the groups' labels: use the track masks).
    /// `embeddings` are slices already encoded by `predictor` from the same slice images (by slice
    /// index): the walk uses them and encodes only the others (`images` counts those), dropping
    /// each once it is past it.
    static func propagate(_ images: [Float], depth: Int, height h: Int, width w: Int, boxes rows: [[Float]],
                          origin: String, predictor: Predictor, batch: Int, keepTrackMasks: Bool = false,
                          trackGroups: [Int]? = nil, embeddings: [Int: ImageEmbedding] = [:]) throws -> ChallengeResult {
        guard predictor.model.config.preprocessing == .liteMedSAM else {
            throw BatchError("\(origin): 3-D challenge cases follow LiteMedSAM's inference; use --model litemedsam")
        }
        let hw = h * w
        precondition(trackGroups == nil || trackGroups!.count == rows.count, "one group per box")
        var tracks: [Track] = []
        for (k, b) in rows.enumerated() {
            let text = b.map { String(format: "%g", $0) }.joined(separator: ",")
            guard b.allSatisfy(\.isFinite), b[0] >= 0, b[1] >= 0, b[2] >= 0, b[3] <= Float(w), b[4] <= Float(h),
                  b[3] >= b[0], b[4] >= b[1], b[5] >= b[2], b[2] < Float(depth) else {
                throw BatchError("\(origin), field 'boxes' row \(k): \(text) is not an ordered box x_min,y_min,z_min,x_max,y_max,z_max inside the \(w)x\(h)x\(depth) volume")
            }
            // int((z_max - z_min)/2 + z_min); the walk up stops before min(z_max+1, D), down after max(z_min-1, -1).
            let zmin = Int(b[2]), zmax = Int(b[5])
            let middle = Int((b[5] - b[2]) / 2 + b[2])
            // A box's label is its number in its group: the label's value reaches the next slice's
            // box through the area resize of the previous mask (the reference resizes the uint8
            // mask holding it, which rounds), so a group's boxes keep the labels of a walk of their own.
            let label = trackGroups.map { g in g[..<k].filter { $0 == g[k] }.count + 1 } ?? (k + 1)
            tracks.append(Track(label: label, box: [b[0], b[1], b[3], b[4]], middle: middle,
                                top: min(zmax + 1, depth) - 1, bottom: max(zmin - 1, -1) + 1))
        }
        var result = ChallengeResult(segs: [UInt8](repeating: 0, count: depth * hw), shape: [depth, h, w])
        result.prompts = tracks.count
        if keepTrackMasks { result.trackMasks = [[UInt8]](repeating: [UInt8](repeating: 0, count: depth * hw), count: tracks.count) }
        guard !tracks.isEmpty else { return result }

        let up = Set(tracks.flatMap { t in t.middle <= t.top ? Array(t.middle...t.top) : [] }).sorted()
        let down = Set(tracks.flatMap { t in t.bottom <= t.middle - 1 ? Array(t.bottom...(t.middle - 1)) : [] }).sorted(by: >)
        let shared = Set(up).intersection(down)
        // Given embeddings of slices the walk does not visit are not kept.
        var cache = embeddings.filter { up.contains($0.key) || down.contains($0.key) }
        func slice(_ z: Int) -> Image {
            Image(pixels: Array(images[(z * hw)..<((z + 1) * hw)]), height: h, width: w, channels: 1)
        }
        func embedding(_ z: Int, order: [Int], at position: Int) throws -> ImageEmbedding {
            if let e = cache[z] { return e }
            let next = order[position...].filter { cache[$0] == nil }.prefix(max(batch, 1))
            let embeddings = try predictor.embed(next.map(slice))
            result.encodeMilliseconds += predictor.lastEncodeMilliseconds
            result.images += next.count
            for (zz, e) in zip(next, embeddings) { cache[zz] = e }
            return cache[z]!
        }
        var areas = [Int](repeating: 0, count: tracks.count), ious = [Float](repeating: 0, count: tracks.count)
        func decode(_ z: Int, _ e: ImageEmbedding, _ active: [Int], prompts: [[Float]]) throws {
            try predictor.setEmbedding(e)
            // One decoder call per group of boxes (all boxes when no groups are given).
            for g in Set(active.map { trackGroups?[$0] ?? 0 }).sorted() {
                let members = active.indices.filter { (trackGroups?[active[$0]] ?? 0) == g }
                let start = DispatchTime.now().uptimeNanoseconds
                let p = try predictor.predict(frameBoxes: members.map { prompts[$0] })
                result.decodeMilliseconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                for (j, index) in members.enumerated() {
                    let t = active[index]
                    var mask = [UInt8](repeating: 0, count: hw)
                    let label = UInt8(min(tracks[t].label, 255))
                    for i in 0..<hw where p.masks.data[j * hw + i] > 0 {
                        mask[i] = label
                        // Later boxes over earlier ones: the largest label wins.
                        if result.segs[z * hw + i] < label { result.segs[z * hw + i] = label }
                        result.trackMasks?[t][z * hw + i] = 1
                    }
                    areas[t] += p.area(j, 0)
                    if z == tracks[t].middle { ious[t] = p.iou.data[j] }
                    tracks[t].previous = mask
                    if z == tracks[t].middle { tracks[t].middleMask = mask }
                }
            }
        }
        for (position, z) in up.enumerated() {
            let active = tracks.indices.filter { tracks[$0].middle <= z && z <= tracks[$0].top }
            guard !active.isEmpty else { continue }
            let e = try embedding(z, order: up, at: position)
            let prompts = active.map { t in
                z == tracks[t].middle ? e.transform.box(tracks[t].box)
                    : propagated(tracks[t].previous, label: tracks[t].label, tracks[t].box, e.transform)
            }
            try decode(z, e, active, prompts: prompts)
            if !shared.contains(z) { cache[z] = nil }
        }
        for t in tracks.indices { tracks[t].previous = tracks[t].middleMask }
        for (position, z) in down.enumerated() {
            let active = tracks.indices.filter { tracks[$0].bottom <= z && z <= tracks[$0].middle - 1 }
            guard !active.isEmpty else { continue }
            let e = try embedding(z, order: down, at: position)
            let prompts = active.map { t in propagated(tracks[t].previous, label: tracks[t].label, tracks[t].box, e.transform) }
            try decode(z, e, active, prompts: prompts)
            cache[z] = nil
        }
        result.areas = areas
        result.ious = ious
        return result
    }

    /// The box, in the model frame, for a slice from the previous slice's mask (values 0 or the
    /// box's label, as the reference keeps them): area-resized into the frame, its tight box
    /// widened by `bboxShift` and clipped to the (padded) frame; the middle box (`resize_box_to_256`)
    /// when the resized mask is empty.
    static func propagated(_ previous: [UInt8], label: Int, _ middle: [Float], _ t: ImageTransform) -> [Float] {
        let h = t.originalHeight, w = t.originalWidth
        let small = AreaResize.resize(previous.map(Float.init), height: h, width: w, channels: 1,
                                      newHeight: t.resizedHeight, newWidth: t.resizedWidth)
        var x0 = Int.max, y0 = Int.max, x1 = -1, y1 = -1
        for y in 0..<t.resizedHeight {
            for x in 0..<t.resizedWidth where small[y * t.resizedWidth + x] > 0 {
                x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
            }
        }
        guard x1 >= 0 else { return t.box(middle) }
        let s = t.inputSize
        return [max(0, x0 - bboxShift), max(0, y0 - bboxShift), min(s, x1 + bboxShift), min(s, y1 + bboxShift)].map(Float.init)
    }
}

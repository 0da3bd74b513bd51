import Foundation
import MedicalImaging

/// The files `medsam everything` (and `medsam batch --everything`, per case) writes: the
/// reference's JSON records, amg.py's folder layout, a label map and an overlay. Every file
/// appears atomically (temporary file and rename).
public struct EverythingOutputs {
    public var masks: [EverythingMask]
    /// The image the masks were generated on (as displayed, for a volume slice).
    public var image: Image

    public init(masks: [EverythingMask], image: Image) {
        self.masks = masks
        self.image = image
    }

    /// `SamAutomaticMaskGenerator.generate`'s records (output_mode coco_rle or uncompressed_rle).
    public func writeJSON(to path: String, compressed: Bool) throws {
        let records = masks.map { m in
            Record(segmentation: RLEJSON(size: [m.rle.height, m.rle.width],
                                              counts: compressed ? .string(m.rle.cocoString) : .runs(m.rle.counts)),
                   area: m.area, bbox: m.bbox, predicted_iou: Double(m.predictedIoU), point_coords: [[m.point.x, m.point.y]],
                   stability_score: Double(m.stabilityScore), crop_box: m.crop.xywh)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try AtomicFile.write([UInt8](try encoder.encode(records)), to: URL(fileURLWithPath: path))
    }

    /// `scripts/amg.py`'s `write_masks_to_folder`: `<i>.png` (0/255) per mask and metadata.csv
    /// with its header and one row per mask, numbers as Python's `str` writes them.
    public func writeFolder(_ path: String) throws {
        let folder = URL(fileURLWithPath: path)
        var lines = ["id,area,bbox_x0,bbox_y0,bbox_w,bbox_h,point_input_x,point_input_y,predicted_iou,stability_score,"
                     + "crop_box_x0,crop_box_y0,crop_box_w,crop_box_h"]
        for (i, m) in masks.enumerated() {
            let pixels = m.rle.decode().map { Float($0) * 255 }
            try PNGCodec.write(Image(pixels: pixels, height: image.height, width: image.width, channels: 1),
                               to: folder.appendingPathComponent("\(i).png"))
            let fields: [String] = [String(i), String(m.area)] + m.bbox.map(String.init)
                + [python(m.point.x), python(m.point.y), python(Double(m.predictedIoU)), python(Double(m.stabilityScore))]
                + m.crop.xywh.map(String.init)
            lines.append(fields.joined(separator: ","))
        }
        try Data(lines.joined(separator: "\n").utf8).write(to: folder.appendingPathComponent("metadata.csv"), options: .atomic)
    }

    /// Python's `str(float)`: the shortest repr, with ".0" on whole numbers (Swift's
    /// `description` is the same shortest round-trip form).
    private func python(_ v: Double) -> String { v.description }

    /// "png" or "nifti" for a label map path, nil for another extension.
    public static func labelMapKind(_ path: String) -> String? {
        let p = path.lowercased()
        if p.hasSuffix(".png") { return "png" }
        if p.hasSuffix(".nii") || p.hasSuffix(".nii.gz") { return "nifti" }
        return nil
    }

    /// Mask i as value i+1; larger masks first so smaller ones (often inside them) stay visible.
    public func labels() -> [Int] {
        var labels = [Int](repeating: 0, count: image.height * image.width)
        for i in masks.indices.sorted(by: { masks[$0].area != masks[$1].area ? masks[$0].area > masks[$1].area : $0 < $1 }) {
            for (p, v) in masks[i].rle.decode().enumerated() where v != 0 { labels[p] = i + 1 }
        }
        return labels
    }

    /// PNG (8-bit, or 16-bit beyond 255 masks) or NIfTI (uint8 / uint16): for a volume slice the
    /// whole volume's grid with the labels in that slice, for a 2-D image one slice of unit spacing.
    /// `image` (and so every mask) is laid out by `display`; a NIfTI of a volume slice goes back
    /// to array order, on the input's voxel grid.
    public func writeLabelMap(to path: String, volume: Volume?, axis: SliceAxis, slice: Int, display: SliceOrientation = .identity,
                       source: String) throws {
        let labels = labels()
        let wide = masks.count > 255
        let url = URL(fileURLWithPath: path)
        let slicePixels = Image(pixels: labels.map(Float.init), height: image.height, width: image.width, channels: 1)
        if Self.labelMapKind(path) == "png" {
            try PNGCodec.write(slicePixels, to: url, bitDepth: wide ? 16 : 8)
            return
        }
        let type: VoxelType = wide ? .uint16 : .uint8
        guard let volume else {
            let v = Volume(voxels: labels.map(Float.init), dims: [image.width, image.height, 1], spacing: [1, 1, 1],
                           affine: Affine([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), frame: .ras,
                           sourceType: type, source: source)
            try NIfTIWriter.write(v, to: url, as: type)
            return
        }
        var labelVolume = volume.withVoxels([Float](repeating: 0, count: volume.voxels.count), sourceType: type)
        try labelVolume.setSlice(axis, slice, from: display.toArray(slicePixels))
        try NIfTIWriter.write(labelVolume, to: url, as: type)
    }

    /// Every mask tinted and outlined over the image (colours repeat after 10 masks).
    public func writeOverlay(to path: String) throws {
        let labels = labels().map { $0 == 0 ? UInt8(0) : UInt8(($0 - 1) % 255 + 1) }
        try OverlayRenderer.write(to: URL(fileURLWithPath: path), base: image, labels: labels,
                                  points: masks.map { OverlayPoint(x: $0.point.x, y: $0.point.y) })
    }

    struct Record: Encodable {
        var segmentation: RLEJSON
        var area: Int
        var bbox: [Int]
        var predicted_iou: Double
        var point_coords: [[Double]]
        var stability_score: Double
        var crop_box: [Int]
    }

    struct RLEJSON: Encodable {
        var size: [Int]
        var counts: Counts
    }

    enum Counts: Encodable {
        case string(String)
        case runs([Int])
        func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .string(let s): try c.encode(s)
            case .runs(let r): try c.encode(r)
            }
        }
    }
}

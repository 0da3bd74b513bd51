import Foundation
import MedicalImaging
import Segmentation

// The native API's JSON bodies (docs/openapi.yaml describes the same shapes).

/// What an upload returns, and `GET /v1/images/{id}`.
public struct ImageInfo: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    /// "volume" or "image".
    public var kind: String
    public var format: String
    /// Voxels along i, j, k (a 2-D image: width, height, 1).
    public var shape: [Int]
    /// Millimetres per voxel along i, j, k.
    public var spacing: [Double]
    /// Slices per axis, and how each axis's slices are laid out.
    public var axes: [String: AxisInfo]
    public var mapping: String
    /// Slices of this image whose embeddings are in the cache now.
    public var cachedSlices: Int
    /// Background encodes queued for the whole server.
    public var encodingQueued: Int
}

public struct AxisInfo: Codable, Sendable, Equatable {
    public var slices: Int
    /// Slice width and height in pixels.
    public var width: Int
    public var height: Int
    /// The volume axes (i, j or k) shown as the slice's columns (x) and rows (y).
    public var x: String
    public var y: String
    /// For a volume: how to turn this axis's array-order slices (what the API's coordinates
    /// and slice PNGs use) into the radiological display, from the volume's affine (see
    /// `SliceOrientation`: transpose first, then mirror). Absent for 2-D images.
    public var radiological: SliceOrientation?
    /// For a volume: the anatomical plane (axial, coronal or sagittal) these slices lie in,
    /// which differs from the axis name when the volume was not acquired axially.
    public var plane: AnatomicalPlane?

    public init(slices: Int, width: Int, height: Int, x: String, y: String,
                radiological: SliceOrientation? = nil, plane: AnatomicalPlane? = nil) {
        self.slices = slices; self.width = width; self.height = height; self.x = x; self.y = y
        self.radiological = radiological; self.plane = plane
    }
}

/// `POST /v1/images/{id}/segment`.
public struct SegmentRequest: Codable, Sendable {
    /// axial (default), coronal or sagittal.
    public var axis: SliceAxis?
    /// Slice index along `axis` (default 0; a 2-D image has only 0).
    public var slice: Int?
    /// Boxes [x0, y0, x1, y1] in slice pixels; each is one prompt.
    public var boxes: [[Float]]?
    /// Points [x, y] in slice pixels, added to every prompt (or one prompt of their own).
    public var points: [[Float]]?
    /// 1 foreground, 0 background, one per point (default: all 1).
    public var labels: [Int]?
    public var multimask: Bool?
    /// The low-res logits of an earlier answer on this slice (`"previous"`), to refine it.
    public var usePreviousMask: Bool?
    /// "rle" (default), "png" or "both".
    public var maskFormat: String?
    /// When set (1...255), the best mask of the first prompt is written into the label image
    /// as this label on this slice.
    public var label: Int?

    public init(axis: SliceAxis? = nil, slice: Int? = nil, boxes: [[Float]]? = nil, points: [[Float]]? = nil,
                labels: [Int]? = nil, multimask: Bool? = nil, usePreviousMask: Bool? = nil,
                maskFormat: String? = nil, label: Int? = nil) {
        self.axis = axis; self.slice = slice; self.boxes = boxes; self.points = points; self.labels = labels
        self.multimask = multimask; self.usePreviousMask = usePreviousMask; self.maskFormat = maskFormat
        self.label = label
    }
}

public struct MaskResult: Codable, Sendable, Equatable {
    /// Which prompt (index into the request's boxes, or 0) and which of its masks.
    public var prompt: Int
    public var index: Int
    public var iou: Float
    public var area: Int
    public var best: Bool
    public var rle: RLEMask?
    public var png: String?
}

public struct Timings: Codable, Sendable, Equatable {
    /// Time spent waiting for the model thread.
    public var queueMs: Double
    /// Image encoder time (0 when the embedding was cached).
    public var encodeMs: Double
    /// Prompt encoder, mask decoder and post-processing.
    public var decodeMs: Double
    /// Everything from request to response body.
    public var totalMs: Double
}

public struct SegmentResponse: Codable, Sendable, Equatable {
    public var image: String
    public var axis: SliceAxis
    public var slice: Int
    public var width: Int
    public var height: Int
    public var cached: Bool
    /// `[prompt][mask]` predicted IoU.
    public var iou: [[Float]]
    public var masks: [MaskResult]
    public var timings: Timings
}

/// `POST /v1/images/{id}/propagate`: either `box` on `slice`, or `box3d`.
public struct PropagateRequest: Codable, Sendable {
    public var axis: SliceAxis?
    /// The key slice of a 2-D box.
    public var slice: Int?
    /// [x0, y0, x1, y1] on the key slice.
    public var box: [Float]?
    /// [x0, y0, z0, x1, y1, z1] (z along `axis`, z1 inclusive).
    public var box3d: [Float]?
    /// The label written into the label volume (1...255, default 1).
    public var label: Int?

    public init(axis: SliceAxis? = nil, slice: Int? = nil, box: [Float]? = nil, box3d: [Float]? = nil, label: Int? = nil) {
        self.axis = axis; self.slice = slice; self.box = box; self.box3d = box3d; self.label = label
    }
}

public struct PropagateResponse: Codable, Sendable, Equatable {
    public var image: String
    public var axis: SliceAxis
    public var label: Int
    public var voxels: Int
    public var slices: [VolumePropagation.SliceRecord]
    public var stops: [String: String]
    public var milliseconds: Double
}

/// `POST /v1/images/{id}/encode`: embeddings to compute in the background.
public struct EncodeRequest: Codable, Sendable {
    public var axis: SliceAxis?
    /// Slice indices; default every slice along `axis`.
    public var slices: [Int]?
}

public struct EncodeResponse: Codable, Sendable, Equatable {
    public var queued: Int
    public var alreadyCached: Int

    public init(queued: Int, alreadyCached: Int) {
        self.queued = queued
        self.alreadyCached = alreadyCached
    }
}

/// `POST /v1/images/{id}/labels/undo`.
public struct UndoResponse: Codable, Sendable, Equatable {
    public var image: String
    /// Earlier label changes that can still be undone.
    public var remaining: Int
}

public struct HealthResponse: Codable, Sendable, Equatable {
    public var status: String
    public var model: String
    public var backend: String
    public var images: Int
    public var cache: CacheStats
}

public struct CacheStats: Codable, Sendable, Equatable {
    public var entries: Int
    public var bytes: Int
    public var capacityBytes: Int
    public var hits: Int
    public var misses: Int
    public var evictions: Int
}

/// The body of every error response.
public struct ErrorBody: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public var status: Int
        public var message: String
    }
    public var error: Detail
}

import Foundation
import MedicalImaging

/// An uploaded image as the server keeps it: the data as read (for geometry), the 0...255 grey
/// levels the model sees, and the label image annotation accumulates into.
///
/// Shared between request handlers; `labels` is only changed under `lock`.
public final class StoredImage: @unchecked Sendable {
    public enum Content {
        /// A 3-D volume: `original` keeps the geometry and values as read; `mapped` is 0...255.
        case volume(original: Volume, mapped: Volume)
        /// A 2-D image (grey or RGB), already mapped to 0...255.
        case image(Image)
    }

    public let id: String
    public let name: String
    public let format: MedicalImageFormat
    public let content: Content
    /// A description of the intensity mapping applied on upload.
    public let mapping: String
    private let lock = NSLock()
    private var labelVoxels: [UInt8]
    /// Label edits that can be undone, oldest first; bounded by `undoLimitBytes`.
    private var undoStack: [LabelEdit] = []
    private var undoBytes = 0

    /// The voxels one edit changed and the values they had before it.
    private struct LabelEdit {
        var voxels: [Int]
        var previous: [UInt8]
        var bytes: Int { voxels.count * (MemoryLayout<Int>.size + 1) }
    }

    /// The most memory the undo history of one image may hold; the oldest edits are forgotten
    /// first. A propagated liver in a 512x512x300 CT changes about 2 million voxels (18 MB).
    public static let undoLimitBytes = 128 << 20
    /// The most edits the undo history keeps.
    public static let undoLimitEdits = 1000

    init(id: String, name: String, format: MedicalImageFormat, content: Content, mapping: String) {
        self.id = id
        self.name = name
        self.format = format
        self.content = content
        self.mapping = mapping
        switch content {
        case .volume(let v, _): labelVoxels = [UInt8](repeating: 0, count: v.voxels.count)
        case .image(let im): labelVoxels = [UInt8](repeating: 0, count: im.width * im.height)
        }
    }

    /// Voxel counts along i, j, k; for a 2-D image [width, height, 1].
    public var dims: [Int] {
        switch content {
        case .volume(let v, _): return v.dims
        case .image(let im): return [im.width, im.height, 1]
        }
    }

    public var spacing: [Double] {
        switch content {
        case .volume(let v, _): return v.spacing
        // An image's spacing is (row, column); reported here along (x, y, slice) like a volume's.
        case .image(let im): return im.spacing.count == 2 ? [im.spacing[1], im.spacing[0], 1] : [1, 1, 1]
        }
    }

    public var isVolume: Bool { if case .volume = content { return true } else { return false } }

    /// Slices per axis (a 2-D image has one axial slice).
    public func sliceCount(_ axis: SliceAxis) -> Int {
        switch content {
        case .volume(_, let m): return m.sliceCount(axis)
        case .image: return axis == .axial ? 1 : 0
        }
    }

    /// Throws the API's error when `index` is not a slice of this image along `axis`.
    public func checkSlice(_ axis: SliceAxis, _ index: Int) throws {
        let n = sliceCount(axis)
        guard n > 0 else { throw ServiceError.badRequest("axis: image \(id) is 2-D; only 'axial' (slice 0) applies") }
        guard (0..<n).contains(index) else {
            throw ServiceError.badRequest("slice: \(index) is outside 0...\(n - 1) along the \(axis.rawValue) axis of image \(id)")
        }
    }

    /// Checks `axis`/`slice` and returns the slice the model sees (grey levels 0...255).
    public func slice(_ axis: SliceAxis, _ index: Int) throws -> Image {
        try checkSlice(axis, index)
        switch content {
        case .volume(_, let m): return try m.slice(axis, index)
        case .image(let im): return im
        }
    }

    /// A copy of the label image (voxel order, i fastest; row-major for a 2-D image).
    public var labels: [UInt8] {
        lock.lock(); defer { lock.unlock() }
        return labelVoxels
    }

    /// Writes `mask` (one slice, 0/1, as `slice(axis, index)` lays it out) as `label`: the
    /// label's old pixels on that slice are cleared first, so an accepted correction replaces
    /// the previous answer instead of adding to it.
    public func setLabel(_ label: UInt8, axis: SliceAxis, slice index: Int, mask: [Float]) {
        lock.lock(); defer { lock.unlock() }
        var edit = LabelEdit(voxels: [], previous: [])
        for (p, v) in sliceVoxels(axis, index).enumerated() {
            write(mask[p] > 0 ? label : (labelVoxels[v] == label ? 0 : labelVoxels[v]), at: v, into: &edit)
        }
        record(edit)
    }

    /// Replaces `label` in the whole image with a propagated mask (0/1 in voxel order).
    public func setLabel(_ label: UInt8, volumeMask: [UInt8]) {
        lock.lock(); defer { lock.unlock() }
        var edit = LabelEdit(voxels: [], previous: [])
        for v in labelVoxels.indices {
            write(volumeMask[v] != 0 ? label : (labelVoxels[v] == label ? 0 : labelVoxels[v]), at: v, into: &edit)
        }
        record(edit)
    }

    /// Clears every label (an edit that can be undone like the others).
    public func clearLabels() {
        lock.lock(); defer { lock.unlock() }
        var edit = LabelEdit(voxels: [], previous: [])
        for v in labelVoxels.indices { write(0, at: v, into: &edit) }
        record(edit)
    }

    /// Restores the labels as they were before the last edit still in the history.
    /// - Returns: whether there was an edit to undo.
    public func undoLastEdit() -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard let edit = undoStack.popLast() else { return false }
        undoBytes -= edit.bytes
        for (v, old) in zip(edit.voxels, edit.previous) { labelVoxels[v] = old }
        return true
    }

    /// How many edits `undoLastEdit` can still undo.
    public var undoDepth: Int {
        lock.lock(); defer { lock.unlock() }
        return undoStack.count
    }

    /// One slice of the label image, laid out as `slice(axis, index)` lays out the pixels.
    public func labelSlice(_ axis: SliceAxis, _ index: Int) throws -> [UInt8] {
        _ = try slice(axis, index)  // the same checks, and errors, as the pixels
        lock.lock(); defer { lock.unlock() }
        return sliceVoxels(axis, index).map { labelVoxels[$0] }
    }

    /// Voxel indices of one slice in the slice's row-major pixel order.
    private func sliceVoxels(_ axis: SliceAxis, _ index: Int) -> [Int] {
        let d = dims
        let (ax, ay) = axis.inPlaneAxes
        let w = d[ax], h = d[ay]
        let stride = [1, d[0], d[0] * d[1]]
        let base = index * stride[axis.normalAxis]
        var out = [Int]()
        out.reserveCapacity(w * h)
        for y in 0..<h {
            for x in 0..<w { out.append(base + y * stride[ay] + x * stride[ax]) }
        }
        return out
    }

    private func write(_ value: UInt8, at v: Int, into edit: inout LabelEdit) {
        guard labelVoxels[v] != value else { return }
        edit.voxels.append(v)
        edit.previous.append(labelVoxels[v])
        labelVoxels[v] = value
    }

    /// Keeps an edit for undo, forgetting the oldest past the bounds. An edit that changed
    /// nothing is kept too: undo then steps back over it as the annotator expects, instead of
    /// silently undoing the edit before it.
    private func record(_ edit: LabelEdit) {
        undoStack.append(edit)
        undoBytes += edit.bytes
        while undoBytes > Self.undoLimitBytes || undoStack.count > Self.undoLimitEdits {
            undoBytes -= undoStack.removeFirst().bytes
        }
    }

    /// Bytes the image holds in memory (for `/v1/images` listings and limits).
    public var bytes: Int {
        switch content {
        case .volume(let o, let m): return (o.voxels.count + m.voxels.count) * 4 + o.voxels.count
        case .image(let im): return im.pixels.count * 4 + im.width * im.height
        }
    }
}

import Foundation

/// The axis a 2-D slice is taken across, with the CLI's pixel conventions (`CLI.md`):
/// axial picks k and shows x = i, y = j; coronal picks j, x = i, y = k; sagittal picks i, x = j, y = k.
/// Slices are shown without flips.
public enum SliceAxis: String, CaseIterable, Codable, Sendable {
    case axial, coronal, sagittal

    /// The volume axis (0 = i, 1 = j, 2 = k) the slice index runs along.
    public var normalAxis: Int {
        switch self {
        case .axial: return 2
        case .coronal: return 1
        case .sagittal: return 0
        }
    }

    /// The volume axes shown as the slice's x (columns) and y (rows).
    public var inPlaneAxes: (x: Int, y: Int) {
        switch self {
        case .axial: return (0, 1)
        case .coronal: return (0, 2)
        case .sagittal: return (1, 2)
        }
    }
}

extension Volume {
    /// The number of slices along `axis`.
    public func sliceCount(_ axis: SliceAxis) -> Int { dims[axis.normalAxis] }

    /// Slice `index` across `axis` as a one-channel image (float values as stored in the volume).
    public func slice(_ axis: SliceAxis, _ index: Int) throws -> Image {
        let n = sliceCount(axis)
        guard (0..<n).contains(index) else {
            throw ImagingError(.invalidArgument, path: source, field: "slice",
                               "index \(index) is outside 0...\(n - 1) along the \(axis.rawValue) axis")
        }
        let (ax, ay) = axis.inPlaneAxes
        let w = dims[ax], h = dims[ay]
        let stride = [1, nx, nx * ny]
        var out = [Float](repeating: 0, count: w * h)
        let base = index * stride[axis.normalAxis]
        for y in 0..<h {
            let row = base + y * stride[ay]
            for x in 0..<w { out[y * w + x] = voxels[row + x * stride[ax]] }
        }
        return Image(pixels: out, height: h, width: w, channels: 1, bitDepth: 32,
                     spacing: [spacing[ay], spacing[ax]])
    }

    /// Writes a one-channel `image` (as `slice(axis, index)` lays it out) into the volume.
    public mutating func setSlice(_ axis: SliceAxis, _ index: Int, from image: Image) throws {
        let (ax, ay) = axis.inPlaneAxes
        guard (0..<sliceCount(axis)).contains(index), image.channels == 1,
              image.width == dims[ax], image.height == dims[ay] else {
            throw ImagingError(.invalidArgument, path: source, field: "slice",
                               "a \(image.height)x\(image.width)x\(image.channels) image does not fit \(axis.rawValue) slice \(index) of \(dims)")
        }
        let stride = [1, nx, nx * ny]
        let base = index * stride[axis.normalAxis]
        for y in 0..<image.height {
            for x in 0..<image.width { voxels[base + y * stride[ay] + x * stride[ax]] = image.pixels[y * image.width + x] }
        }
    }
}

import Foundation

/// How slices are laid out on screen: as radiology viewers show them, or in array order.
public enum DisplayConvention: String, CaseIterable, Codable, Sendable {
    /// The radiological convention, from the volume's affine: axial slices with the patient's
    /// anterior up and the patient's right on the screen's left; coronal with superior up and
    /// the patient's right on the left; sagittal with superior up and anterior on the left.
    case radiological
    /// Array order without flips (``SliceAxis``: axial x = i, y = j; coronal x = i, y = k;
    /// sagittal x = j, y = k), what the command line did before the radiological default.
    case array
}

/// The anatomical plane a slice lies in, from the volume's affine (not from the array axis
/// named by ``SliceAxis``: an axial ``SliceAxis`` of a sagittally acquired volume shows a
/// sagittal plane).
public enum AnatomicalPlane: String, Codable, Sendable {
    /// Left-right by anterior-posterior (transverse).
    case axial
    /// Left-right by superior-inferior (frontal).
    case coronal
    /// Anterior-posterior by superior-inferior.
    case sagittal
}

/// How an array-order slice (``Volume/slice(_:_:)``) turns into its on-screen layout, and back.
///
/// The display image is the array-order slice, **transposed** first when ``transpose`` is set
/// (x and y swap), then mirrored left-right when ``flipX`` is set and top-bottom when ``flipY``
/// is set. Coordinates are pixel indices (the centre of pixel x is x, as boxes taken from a
/// mask's first and last column are), so mirroring maps x to `width - 1 - x`.
///
/// The model always sees the array-order slice: a display only changes where prompts and 2-D
/// outputs are placed, so masks are the same voxels whatever the display.
///
/// ```swift
/// let o = SliceOrientation.radiological(for: volume, axis: .axial)
/// let shown = o.toDisplay(try volume.slice(.axial, 40))           // what a viewer shows
/// let arrayBox = o.boxToArray([x0, y0, x1, y1], displayWidth: shown.width, displayHeight: shown.height)
/// ```
public struct SliceOrientation: Equatable, Hashable, Codable, Sendable {
    /// Swap x and y (applied first).
    public var transpose: Bool
    /// Mirror left-right (after the transpose).
    public var flipX: Bool
    /// Mirror top-bottom (after the transpose).
    public var flipY: Bool

    /// The display made of these steps (all off: array order).
    public init(transpose: Bool = false, flipX: Bool = false, flipY: Bool = false) {
        self.transpose = transpose
        self.flipX = flipX
        self.flipY = flipY
    }

    /// Array order: the display is the array-order slice itself.
    public static let identity = SliceOrientation()

    /// Whether the display is the array-order slice unchanged.
    public var isIdentity: Bool { !transpose && !flipX && !flipY }

    // MARK: - Choosing an orientation

    /// The radiological display of `volume`'s slices across `axis`.
    ///
    /// Each array axis (i, j, k) is assigned the world axis it runs most along (for oblique
    /// affines, the assignment of array to world axes with the largest total cosine, so two
    /// array axes never claim the same world axis). The slice's two in-plane world axes name its
    /// plane; the axis running left-right (axial, coronal) or anterior-posterior (sagittal) goes
    /// on screen x, and each screen axis runs toward the patient's left, posterior or inferior.
    public static func radiological(for volume: Volume, axis: SliceAxis) -> SliceOrientation {
        radiological(affine: volume.affine, frame: volume.frame, axis: axis).orientation
    }

    /// The radiological display of the slices across `axis` of a volume with this affine, and
    /// the anatomical plane those slices lie in.
    public static func radiological(affine: Affine, frame: WorldFrame, axis: SliceAxis)
        -> (orientation: SliceOrientation, plane: AnatomicalPlane) {
        let ras = frame == .ras ? affine : affine.flippingXY
        let (world, sign) = dominantWorldAxes(ras)
        let (ax, ay) = axis.inPlaneAxes
        let transpose = world[ax] > world[ay]
        // After the transpose, screen x shows the array axis with the smaller world axis
        // (x before y before z), screen y the other.
        let onX = transpose ? ay : ax, onY = transpose ? ax : ay
        // Screen coordinates grow rightward and downward, toward the patient's left, posterior
        // or inferior: decreasing RAS. An array axis growing toward increasing RAS is mirrored.
        let orientation = SliceOrientation(transpose: transpose, flipX: sign[onX] > 0, flipY: sign[onY] > 0)
        let plane: AnatomicalPlane
        switch Set([world[ax], world[ay]]) {
        case [0, 1]: plane = .axial
        case [0, 2]: plane = .coronal
        default: plane = .sagittal
        }
        return (orientation, plane)
    }

    /// The display of `axis` slices of `volume` in `convention`; a 2-D image (no volume) is
    /// always shown in array order (it has no patient axes).
    public static func display(_ convention: DisplayConvention, volume: Volume?, axis: SliceAxis) -> SliceOrientation {
        guard convention == .radiological, let volume else { return .identity }
        return radiological(for: volume, axis: axis)
    }

    /// For each array axis c (0 = i, 1 = j, 2 = k), the RAS world axis it runs most along and
    /// the sign of its step there. The six assignments are tried and the one with the largest
    /// sum of |cosine| wins (the first in a tie), which is the dominant axis of each column
    /// whenever those differ, and stays a one-to-one assignment at 45 degrees.
    static func dominantWorldAxes(_ ras: Affine) -> (world: [Int], sign: [Double]) {
        let norms = ras.columnNorms
        func cosine(_ w: Int, _ c: Int) -> Double { norms[c] > 0 ? ras.m[w][c] / norms[c] : 0 }
        let permutations = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
        var best = permutations[0], bestScore = -1.0
        for p in permutations {
            let score = (0..<3).reduce(0.0) { $0 + abs(cosine(p[$1], $1)) }
            if score > bestScore + 1e-12 { best = p; bestScore = score }
        }
        return (best, (0..<3).map { cosine(best[$0], $0) >= 0 ? 1 : -1 })
    }

    // MARK: - Sizes

    /// The display's (width, height) for an array-order slice of `arrayWidth` x `arrayHeight`.
    public func displaySize(arrayWidth: Int, arrayHeight: Int) -> (width: Int, height: Int) {
        transpose ? (arrayHeight, arrayWidth) : (arrayWidth, arrayHeight)
    }

    /// The array-order slice's (width, height) for a display of `displayWidth` x `displayHeight`.
    public func arraySize(displayWidth: Int, displayHeight: Int) -> (width: Int, height: Int) {
        transpose ? (displayHeight, displayWidth) : (displayWidth, displayHeight)
    }

    // MARK: - Points and boxes

    /// The display position of array-order pixel (x, y) in a slice of `arrayWidth` x `arrayHeight`.
    public func pointToDisplay(x: Double, y: Double, arrayWidth: Int, arrayHeight: Int) -> (x: Double, y: Double) {
        let (w, h) = displaySize(arrayWidth: arrayWidth, arrayHeight: arrayHeight)
        var (dx, dy) = transpose ? (y, x) : (x, y)
        if flipX { dx = Double(w - 1) - dx }
        if flipY { dy = Double(h - 1) - dy }
        return (dx, dy)
    }

    /// The array-order position of display pixel (x, y) in a display of `displayWidth` x `displayHeight`.
    public func pointToArray(x: Double, y: Double, displayWidth: Int, displayHeight: Int) -> (x: Double, y: Double) {
        let tx = flipX ? Double(displayWidth - 1) - x : x
        let ty = flipY ? Double(displayHeight - 1) - y : y
        return transpose ? (ty, tx) : (tx, ty)
    }

    /// An array-order box `[x0, y0, x1, y1]` as the display shows it (corners re-ordered so
    /// x0 <= x1 and y0 <= y1 again).
    public func boxToDisplay(_ box: [Double], arrayWidth: Int, arrayHeight: Int) -> [Double] {
        precondition(box.count == 4, "a box is [x0, y0, x1, y1]")
        let a = pointToDisplay(x: box[0], y: box[1], arrayWidth: arrayWidth, arrayHeight: arrayHeight)
        let b = pointToDisplay(x: box[2], y: box[3], arrayWidth: arrayWidth, arrayHeight: arrayHeight)
        return [min(a.x, b.x), min(a.y, b.y), max(a.x, b.x), max(a.y, b.y)]
    }

    /// A display box `[x0, y0, x1, y1]` in array order (corners re-ordered so x0 <= x1, y0 <= y1).
    public func boxToArray(_ box: [Double], displayWidth: Int, displayHeight: Int) -> [Double] {
        precondition(box.count == 4, "a box is [x0, y0, x1, y1]")
        let a = pointToArray(x: box[0], y: box[1], displayWidth: displayWidth, displayHeight: displayHeight)
        let b = pointToArray(x: box[2], y: box[3], displayWidth: displayWidth, displayHeight: displayHeight)
        return [min(a.x, b.x), min(a.y, b.y), max(a.x, b.x), max(a.y, b.y)]
    }

    // MARK: - Images and pixel arrays

    /// `values` (row-major, `arrayHeight` x `arrayWidth` pixels of `channels` interleaved
    /// values, array order) laid out as the display shows them.
    public func toDisplay<T>(_ values: [T], arrayWidth: Int, arrayHeight: Int, channels: Int = 1) -> [T] {
        precondition(values.count == arrayWidth * arrayHeight * channels, "toDisplay: \(values.count) values for \(arrayHeight)x\(arrayWidth)x\(channels)")
        if isIdentity { return values }
        let (w, h) = displaySize(arrayWidth: arrayWidth, arrayHeight: arrayHeight)
        var out = values
        for dy in 0..<h {
            for dx in 0..<w {
                let a = arrayIndex(dx, dy, displayWidth: w, displayHeight: h)
                let src = (a.y * arrayWidth + a.x) * channels, dst = (dy * w + dx) * channels
                for c in 0..<channels { out[dst + c] = values[src + c] }
            }
        }
        return out
    }

    /// `values` holding several planes of `arrayHeight` x `arrayWidth` one-value pixels (array
    /// order, e.g. P x H x W masks or logits) with every plane laid out as the display shows it.
    public func planesToDisplay<T>(_ values: [T], arrayWidth: Int, arrayHeight: Int) -> [T] {
        let n = arrayWidth * arrayHeight
        guard !isIdentity, n > 0 else { return values }
        precondition(values.count % n == 0, "planesToDisplay: \(values.count) values are not whole \(arrayHeight)x\(arrayWidth) planes")
        var out: [T] = []
        out.reserveCapacity(values.count)
        for p in stride(from: 0, to: values.count, by: n) {
            out += toDisplay(Array(values[p..<(p + n)]), arrayWidth: arrayWidth, arrayHeight: arrayHeight)
        }
        return out
    }

    /// Display-order `values` (`displayHeight` x `displayWidth` x `channels`) back in array order.
    public func toArray<T>(_ values: [T], displayWidth: Int, displayHeight: Int, channels: Int = 1) -> [T] {
        precondition(values.count == displayWidth * displayHeight * channels, "toArray: \(values.count) values for \(displayHeight)x\(displayWidth)x\(channels)")
        if isIdentity { return values }
        let (aw, _) = arraySize(displayWidth: displayWidth, displayHeight: displayHeight)
        var out = values
        for dy in 0..<displayHeight {
            for dx in 0..<displayWidth {
                let a = arrayIndex(dx, dy, displayWidth: displayWidth, displayHeight: displayHeight)
                let src = (dy * displayWidth + dx) * channels, dst = (a.y * aw + a.x) * channels
                for c in 0..<channels { out[dst + c] = values[src + c] }
            }
        }
        return out
    }

    /// An array-order slice (any number of channels) as the display shows it; the pixel
    /// spacing follows its axes.
    public func toDisplay(_ image: Image) -> Image {
        let (w, h) = displaySize(arrayWidth: image.width, arrayHeight: image.height)
        return Image(pixels: toDisplay(image.pixels, arrayWidth: image.width, arrayHeight: image.height, channels: image.channels),
                     height: h, width: w, channels: image.channels, bitDepth: image.bitDepth,
                     spacing: transpose ? [image.spacing[1], image.spacing[0]] : image.spacing)
    }

    /// A display image back in array order.
    public func toArray(_ image: Image) -> Image {
        let (w, h) = arraySize(displayWidth: image.width, displayHeight: image.height)
        return Image(pixels: toArray(image.pixels, displayWidth: image.width, displayHeight: image.height, channels: image.channels),
                     height: h, width: w, channels: image.channels, bitDepth: image.bitDepth,
                     spacing: transpose ? [image.spacing[1], image.spacing[0]] : image.spacing)
    }

    /// The array-order pixel shown at display pixel (dx, dy) (whole pixels).
    private func arrayIndex(_ dx: Int, _ dy: Int, displayWidth: Int, displayHeight: Int) -> (x: Int, y: Int) {
        let tx = flipX ? displayWidth - 1 - dx : dx
        let ty = flipY ? displayHeight - 1 - dy : dy
        return transpose ? (ty, tx) : (tx, ty)
    }

    /// A short description for people: "transposed, flipped left-right and top-bottom", or
    /// "as stored".
    public var summary: String {
        var parts: [String] = []
        if transpose { parts.append("transposed") }
        switch (flipX, flipY) {
        case (true, true): parts.append("flipped left-right and top-bottom")
        case (true, false): parts.append("flipped left-right")
        case (false, true): parts.append("flipped top-bottom")
        default: break
        }
        return parts.isEmpty ? "as stored" : parts.joined(separator: ", ")
    }
}

/// The per-frame attributes of an enhanced multi-frame image (PS3.3 C.7.6.16): each frame's
/// functional groups are its item of PerFrameFunctionalGroupsSequence, falling back to the one
/// item of SharedFunctionalGroupsSequence.
struct FunctionalGroups {
    /// ImagePositionPatient of each frame (PlanePositionSequence), when every frame has one.
    var positions: [[Double]]?
    /// ImageOrientationPatient (PlaneOrientationSequence), the same for every frame.
    var orientation: [Double]?
    /// PixelMeasuresSequence.
    var pixelSpacing: [Double]?
    var sliceThickness: Double?
    var spacingBetweenSlices: Double?
    /// RescaleSlope/Intercept of each frame (PixelValueTransformationSequence), when present.
    var rescale: [(slope: Double, intercept: Double)]?

    static let shared = DICOMTag(0x5200, 0x9229)
    static let perFrame = DICOMTag(0x5200, 0x9230)
    static let planePosition = DICOMTag(0x0020, 0x9113)
    static let planeOrientation = DICOMTag(0x0020, 0x9116)
    static let pixelMeasures = DICOMTag(0x0028, 0x9110)
    static let pixelValueTransformation = DICOMTag(0x0028, 0x9145)

    /// The groups of `ds`, or nil when it has neither functional group sequence.
    static func read(_ ds: DICOMDataSet, frames: Int) throws -> FunctionalGroups? {
        let shared = try ds.items(Self.shared).first
        let perFrame = try ds.items(Self.perFrame)
        guard shared != nil || !perFrame.isEmpty else { return nil }
        let path = ds.path
        guard perFrame.isEmpty || perFrame.count == frames else {
            throw ImagingError(.inconsistent, path: path, field: "(5200,9230) PerFrameFunctionalGroupsSequence",
                               "has \(perFrame.count) items for \(frames) frames (NumberOfFrames)")
        }
        /// The macro `sequence` of frame `f`: its own, else the shared one.
        func macro(_ sequence: DICOMTag, _ f: Int) throws -> DICOMDataSet? {
            if f < perFrame.count, let own = try perFrame[f].items(sequence).first { return own }
            return try shared?.items(sequence).first
        }
        func vector(_ item: DICOMDataSet?, _ tag: DICOMTag, _ n: Int, frame f: Int) throws -> [Double]? {
            guard let item, let v = try item.numbers(tag) else { return nil }
            guard v.count == n else {
                throw ImagingError(.corrupt, path: path, field: "\(tag) of frame \(f + 1)", "has \(v.count) values, expected \(n)")
            }
            return v
        }
        var groups = FunctionalGroups()
        var positions: [[Double]] = []
        var rescale: [(slope: Double, intercept: Double)] = []
        for f in 0..<frames {
            if let p = try vector(macro(planePosition, f), .imagePositionPatient, 3, frame: f) { positions.append(p) }
            let o = try vector(macro(planeOrientation, f), .imageOrientationPatient, 6, frame: f)
            if f == 0 {
                groups.orientation = o
            } else if let a = groups.orientation, let b = o, zip(a, b).contains(where: { abs($0 - $1) > 1e-3 }) {
                throw ImagingError(.unsupported, path: path, field: "(0020,9116) PlaneOrientationSequence",
                                   "frame \(f + 1) has orientation \(b), frame 1 \(a); frames of one volume must share an orientation")
            }
            if let t = try macro(pixelValueTransformation, f) {
                rescale.append((try t.numbers(.rescaleSlope)?.first ?? 1, try t.numbers(.rescaleIntercept)?.first ?? 0))
            }
        }
        if positions.count == frames { groups.positions = positions }
        if rescale.count == frames { groups.rescale = rescale }
        if let m = try macro(pixelMeasures, 0) {
            groups.pixelSpacing = try vector(m, .pixelSpacing, 2, frame: 0)
            groups.sliceThickness = try m.numbers(.sliceThickness)?.first
            groups.spacingBetweenSlices = try m.numbers(.spacingBetweenSlices)?.first
        }
        return groups
    }
}

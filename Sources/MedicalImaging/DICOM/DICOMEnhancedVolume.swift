import Foundation

extension DICOMImage {
    /// The volume of an enhanced multi-frame image whose frames each carry a position
    /// (`framePositions`): frames sorted along the slice normal. When every position holds the
    /// same number m > 1 of frames (several time points, echoes or b-values of one stack), they
    /// form m volumes in file order and `volumeIndex` picks one. Positions must be evenly spaced
    /// on one line; uneven ones are refused with the positions named.
    ///
    /// Without frame positions this is `volume()`, with `volumeIndex` picking one frame.
    public func stackedVolume(volumeIndex: Int? = nil) throws -> Volume {
        guard let positions = framePositions, frames > 1 else {
            let v = volume()
            return try volumeIndex.map { try v.slice($0, path: path) } ?? v
        }
        let (r, c, n) = directions
        let along = positions.map { $0[0] * n[0] + $0[1] * n[1] + $0[2] * n[2] }
        // Distinct positions, sorted, each with its frames in file order.
        var stacks: [(position: Double, frames: [Int])] = []
        for f in along.indices.sorted(by: { (along[$0], $0) < (along[$1], $1) }) {
            if let last = stacks.last, abs(last.position - along[f]) < 1e-3 {
                stacks[stacks.count - 1].frames.append(f)
            } else {
                stacks.append((along[f], [f]))
            }
        }
        let field = "(5200,9230) PerFrameFunctionalGroupsSequence"
        let m = stacks[0].frames.count
        if let odd = stacks.first(where: { $0.frames.count != m }) {
            throw ImagingError(.inconsistent, path: path, field: field,
                               "position \(odd.position) mm along the normal holds \(odd.frames.count) frames, position \(stacks[0].position) mm holds \(m); every position of a multi-volume image needs the same number")
        }
        let index: Int
        if m == 1 {
            if let k = volumeIndex, k != 0 {
                throw ImagingError(.invalidArgument, path: path, field: "volume index", "is \(k), but the \(frames) frames form one volume")
            }
            index = 0
        } else {
            guard let k = volumeIndex else {
                throw ImagingError(.unsupported, path: path, field: field,
                                   "the \(frames) frames form \(m) volumes of \(stacks.count) slices; choose one with a volume index (0...\(m - 1))")
            }
            guard (0..<m).contains(k) else {
                throw ImagingError(.invalidArgument, path: path, field: "volume index", "is \(k), expected 0...\(m - 1) (\(m) volumes)")
            }
            index = k
        }
        let chosen = stacks.map { $0.frames[index] }
        let sx = pixelSpacing?[1] ?? 1, sy = pixelSpacing?[0] ?? 1
        var step = n.map { $0 * (spacingBetweenSlices ?? sliceThickness ?? 1) }
        if chosen.count > 1 {
            let p0 = positions[chosen[0]], p1 = positions[chosen[chosen.count - 1]]
            step = (0..<3).map { (p1[$0] - p0[$0]) / Double(chosen.count - 1) }
            if let problem = DICOMSeries.unevenness(chosen.map { positions[$0] }, step: step) {
                let listed = chosen.map { "frame \($0 + 1) at \(((along[$0]) * 1000).rounded() / 1000)" }
                throw ImagingError(.inconsistent, path: path, field: field,
                                   "\(problem): \(listed.joined(separator: ", ")) mm along the normal; refusing to average them into one spacing")
            }
        }
        let size = rows * columns
        var voxels = [Float]()
        voxels.reserveCapacity(size * chosen.count)
        for f in chosen { voxels.append(contentsOf: pixels[(f * size)..<((f + 1) * size)]) }
        let sz = (step[0] * step[0] + step[1] * step[1] + step[2] * step[2]).squareRoot()
        let affine = Affine(columns: [r.map { $0 * sx }, c.map { $0 * sy }, step], origin: positions[chosen[0]])
        let what = m > 1 ? "volume \(index) of \(m), \(chosen.count) frames" : "\(chosen.count) frames"
        return Volume(voxels: voxels, dims: [columns, rows, chosen.count], spacing: [sx, sy, sz > 0 ? sz : 1],
                      affine: affine, frame: .lps, sourceType: sourceType,
                      source: "\(path) (DICOM enhanced multi-frame, \(what))", modality: modality)
    }
}

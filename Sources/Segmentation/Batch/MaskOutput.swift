import Foundation
import MedicalImaging
import TensorRuntime

/// Writes a finished case's masks the way `medsam segment` (and, for challenge cases, the
/// challenge's inference script) writes them, byte for byte, through a temporary file in the
/// output's folder and a rename.
enum MaskOutput {
    /// Adds one image's result to the case's output buffers.
    static func add(_ r: ImageResult, to a: CaseAssembly) throws {
        if let e = r.everything {
            a.everything = e
            return
        }
        let hw = a.height * a.width
        let c = a.batchCase
        switch c.format {
        case .nifti where a.volume != nil:
            if a.maskVolume == nil {
                a.maskVolume = a.volume!.withVoxels([Float](repeating: 0, count: a.volume!.voxels.count), sourceType: .uint8)
            }
            try a.maskVolume!.setSlice(a.axis, a.slices[r.job.slot]!,
                                       from: Image(pixels: r.labels.map(Float.init), height: a.height, width: a.width, channels: 1))
        case .npy:
            a.npyMasks = r.masks
            a.labels = r.labels
        default:
            precondition(r.labels.count == hw)
            a.labels = r.labels
        }
    }

    /// Writes the case's output file (an Everything case: its records and label map, as
    /// `medsam everything --output-json --label-map` writes them).
    static func write(_ a: CaseAssembly, compressedRLE: Bool = true) throws {
        let c = a.batchCase
        let url = URL(fileURLWithPath: c.output)
        if c.prompts == .everything {
            guard let e = a.everything, let records = c.recordsPath else { throw BatchError("\(c.origin): no Everything masks to write") }
            try e.writeJSON(to: records, compressed: compressedRLE)
            try e.writeLabelMap(to: c.output, volume: a.volume, axis: a.axis, slice: a.slices.first.flatMap { $0 } ?? 0,
                                display: a.display, source: c.input)
            return
        }
        switch c.format {
        case .png:
            // One slice: laid out on the display, as `medsam segment` writes it.
            let (w, h) = a.display.displaySize(arrayWidth: a.width, arrayHeight: a.height)
            let labels = a.display.toDisplay(a.labels, arrayWidth: a.width, arrayHeight: a.height)
            // `segment`'s form: one explicit prompt as 0/255, else a palette of the label values.
            let single: Bool
            if case .explicit(let p) = c.prompts { single = p.count <= 1 } else { single = false }
            let bytes = try PNGCodec.encodeMask(labels, singlePrompt: single, height: h, width: w, path: c.output)
            try replace(url, with: Data(bytes))
        case .npy:
            let (w, h) = a.display.displaySize(arrayWidth: a.width, arrayHeight: a.height)
            let p = a.height * a.width == 0 ? 0 : a.npyMasks.count / (a.height * a.width)
            let masks = a.display.planesToDisplay(a.npyMasks, arrayWidth: a.width, arrayHeight: a.height)
            try replace(url, with: NPY.encode(Tensor(shape: [p, h, w], data: masks), asUInt8: true))
        case .nifti:
            if let mask = a.maskVolume, let volume = a.volume {
                try NIfTIWriter.writeMask(mask.voxels.map { UInt8($0) }, like: volume, to: url)
            } else {
                // A 2-D input: a one-slice volume with unit geometry (x = column, y = row), as segment writes it.
                let v = Volume(voxels: a.labels.map(Float.init), dims: [a.width, a.height, 1], spacing: [1, 1, 1],
                               affine: Affine([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), frame: .ras,
                               sourceType: .uint8, source: c.input)
                try NIfTIWriter.write(v, to: url, as: .uint8)
            }
        case .npz:
            guard let r = a.challengeResult else { throw BatchError("\(c.origin): no challenge result to write") }
            try replace(url, with: Data(try NPZWriter.encode([("segs", NPZWriter.uint8Array(r.segs, shape: r.shape))], path: c.output)))
        }
    }

    /// Writes `data` to a temporary name next to `url` and renames it over `url`: a reader (or
    /// a rerun after a kill) sees the old file, the whole new one, or none, never a part.
    static func replace(_ url: URL, with data: Data) throws {
        let dir = url.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw BatchError("\(url.path): output folder \(dir.path) does not exist")
        }
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))")
        do {
            try data.write(to: tmp)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw BatchError("\(url.path): cannot write: \(error.localizedDescription)")
        }
        guard rename(tmp.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw BatchError("\(url.path): cannot rename the temporary file: \(reason)")
        }
    }

    /// Removes temporary files an earlier, killed run left next to `outputs` (named
    /// `.<output name>.tmp-*`, as this writer and the NIfTI writer name them).
    static func removeStaleTemporaries(of outputs: [String]) {
        var byFolder: [String: Set<String>] = [:]
        for o in outputs {
            let u = URL(fileURLWithPath: o)
            byFolder[u.deletingLastPathComponent().path, default: []].insert(u.lastPathComponent)
        }
        for (dir, names) in byFolder {
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            for e in entries where e.hasPrefix(".") {
                guard let r = e.range(of: ".tmp-") else { continue }
                let base = String(e[e.index(after: e.startIndex)..<r.lowerBound])
                if names.contains(base) { try? FileManager.default.removeItem(atPath: (dir as NSString).appendingPathComponent(e)) }
            }
        }
    }
}

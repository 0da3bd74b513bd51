import Foundation
import MedicalImaging
import TensorRuntime

/// Where `medsam batch --save-embeddings DIR` writes the image embedding of each image the
/// encoder ran on: the `.npy` `medsam embed` writes for the same image (float32
/// `[1, C, h, w]`, the same bytes), which `medsam segment --embedding` reads. A cohort embedded
/// once (on a GPU, say) can then be prompted again without its encoder.
///
/// Names: `DIR/<output name without extension>.embedding.npy` for a case of one image (a 2-D
/// input, one slice of a volume, a volume of one slice such as a DICOM file),
/// `DIR/<output name without extension>.<axis><k>.embedding.npy` for slice `k` of a case of
/// several slices (a range, a whole volume). The output name
/// is unique per case (``CasePlanner/check(_:)``), so only the base names of outputs in different
/// folders, or differing only in extension, can clash; ``checkNames(_:)`` refuses those.
public struct EmbeddingFiles: Sendable {
    /// The folder the embeddings go to.
    public let directory: String

    static let suffix = ".embedding.npy"

    public init(directory: String) { self.directory = directory }

    /// The case's name in the folder: its output's file name without the extension.
    static func stem(of c: BatchCase) -> String {
        let name = CasePlanner.fileName(c.output)
        let lower = name.lowercased()
        for ext in [".nii.gz", ".nii", ".png", ".npy", ".npz"] where lower.hasSuffix(ext) {
            return String(name.dropLast(ext.count))
        }
        return name
    }

    /// The embedding file of the case's image `slot` (its slices are known once the reader has
    /// read the input: a volume's slice count decides between the two forms of name).
    func path(for a: CaseAssembly, slot: Int) -> String {
        var name = Self.stem(of: a.batchCase)
        if a.slices.count > 1, let k = a.slices[slot] { name += ".\(a.axis.rawValue)\(k)" }
        return (directory as NSString).appendingPathComponent(name + Self.suffix)
    }

    /// The case stem an embedding file name (without the folder) belongs to, given the stems in
    /// use: the name less `.embedding.npy`, or that less a `.<axis><k>` slice tag.
    static func owner(ofFile name: String, stems: Set<String>) -> String? {
        guard name.hasSuffix(suffix) else { return nil }
        let base = String(name.dropLast(suffix.count))
        if stems.contains(base) { return base }
        if let split = splitSliceTag(base), stems.contains(split.stem) { return split.stem }
        return nil
    }

    /// `stem.<axis><k>` as (stem, tag), or nil when `base` does not end in a slice tag.
    static func splitSliceTag(_ base: String) -> (stem: String, tag: String)? {
        guard let dot = base.lastIndex(of: ".") else { return nil }
        let tag = base[base.index(after: dot)...]
        for axis in SliceAxis.allCases where tag.hasPrefix(axis.rawValue) {
            let digits = tag.dropFirst(axis.rawValue.count)
            if !digits.isEmpty && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber) {
                return (stem: String(base[..<dot]), tag: String(tag))
            }
        }
        return nil
    }

    /// Refuses cases that would write the same embedding file: two outputs with the same name
    /// less extension (in different folders, or `a.png` and `a.npy`), or one whose name is
    /// another's with a slice tag (`a.axial3.png` beside a volume case `a.nii.gz`). Also refuses
    /// cases whose encoder runs are not the batch's: challenge `.npz` cases (embedded slice by
    /// slice inside their propagation) and Everything cases (the generator's crops).
    public static func checkNames(_ cases: [BatchCase]) throws {
        var byStem: [String: BatchCase] = [:]
        for c in cases {
            switch c.prompts {
            case .challenge:
                throw BatchError("\(c.origin): --save-embeddings writes the embeddings of box, point and label-map cases; \(c.input) is a challenge .npz case (its slices are embedded inside the challenge's propagation)")
            case .everything:
                throw BatchError("\(c.origin): --save-embeddings is not for Everything cases (the generator runs the encoder on crops)")
            case .explicit, .labels:
                break
            }
            let s = stem(of: c)
            if let other = byStem[s] {
                throw BatchError("\(c.origin), field 'output': with --save-embeddings, \(c.output) and \(other.output) (\(other.origin)) would both write \(s)\(suffix); give them different names")
            }
            byStem[s] = c
        }
        for (s, c) in byStem.sorted(by: { $0.key < $1.key }) {
            if let split = splitSliceTag(s), let other = byStem[split.stem] {
                throw BatchError("\(c.origin), field 'output': with --save-embeddings, \(c.output) would write \(s)\(suffix), the name of \(other.output)'s \(split.tag) slice (\(other.origin)); give it another name")
            }
        }
    }

    /// Removes temporary files a killed run left for `cases`' embeddings (`.<name>.tmp-*`),
    /// leaving other runs' (another shard writing to the same folder) alone.
    func removeStaleTemporaries(of cases: [BatchCase]) {
        let stems = Set(cases.map(Self.stem(of:)))
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for e in entries where e.hasPrefix(".") {
            guard let r = e.range(of: ".tmp-") else { continue }
            let name = String(e[e.index(after: e.startIndex)..<r.lowerBound])
            if Self.owner(ofFile: name, stems: stems) != nil {
                try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(e))
            }
        }
    }

    /// Writes `embedding` as `medsam embed` does (float32 .npy) through a temporary file and a rename.
    func write(_ embedding: Tensor, to path: String) throws {
        try MaskOutput.replace(URL(fileURLWithPath: path), with: NPY.encode(embedding))
    }
}

import Foundation
import MedicalImaging

/// One labelled case of an evaluation: an image (2-D or 3-D) and its label map.
public struct EvaluationCase: Equatable, Sendable {
    /// A stable id (the file name without its extension, or the manifest's `id`).
    public var id: String
    /// The image file (for a MedSAM `.npz`, the file holding both `imgs` and `gts`).
    public var image: String
    /// The label map file; nil for a MedSAM `.npz` (its `gts`).
    public var labels: String?
    /// Where the case came from, for error messages (a folder, or a manifest row).
    public var origin: String

    public init(id: String, image: String, labels: String?, origin: String) {
        self.id = id; self.image = image; self.labels = labels; self.origin = origin
    }
}

/// The layouts `medsam evaluate` reads.
public enum DatasetFormat: String, CaseIterable, Sendable {
    /// Decided from what the path holds (see `EvaluationDataset.open`).
    case auto
    /// nnU-Net / Medical Segmentation Decathlon: `dataset.json`, `imagesTs/`, `labelsTs/`.
    case nnunet
    /// A `.csv` (header with `image`, `label`, optional `id`) or `.jsonl` manifest.
    case manifest
    /// A folder with `images/` and `labels/` (or `imgs/` and `gts/`) of 2-D files of the same names.
    case png
    /// MedSAM `.npz` files holding `imgs` and `gts` (one file, or a folder of them).
    case npz
}

/// A labelled dataset: its cases in a fixed order and the names of its label ids.
public struct EvaluationDataset: Sendable {
    public var format: DatasetFormat
    public var cases: [EvaluationCase]
    /// Label id to name (from `dataset.json` or `--labels`); ids without a name are called `label<N>`.
    public var labelNames: [Int: String]

    /// The name of label `id`.
    public func name(_ id: Int) -> String { labelNames[id] ?? "label\(id)" }

    /// Opens `path` as `format`. With `.auto`: a folder with `dataset.json` is nnU-Net, a `.csv`
    /// or `.jsonl` file a manifest, a `.npz` file or a folder of them MedSAM npz, a folder with
    /// `images/`+`labels/` (or `imgs/`+`gts/`) PNG pairs. `split` is nnU-Net's `Ts` or `Tr`.
    public static func open(_ path: String, format: DatasetFormat = .auto, split: String = "Ts") throws -> EvaluationDataset {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
            throw EvaluationError("dataset \(path): no such file or folder")
        }
        var f = format
        if f == .auto {
            let lower = path.lowercased()
            if isDir.boolValue {
                if fm.fileExists(atPath: join(path, "dataset.json")) { f = .nnunet }
                else if pairFolders(path) != nil { f = .png }
                else if (try? fm.contentsOfDirectory(atPath: path))?.contains(where: { $0.lowercased().hasSuffix(".npz") }) == true { f = .npz }
                else {
                    throw EvaluationError("dataset \(path): cannot tell its layout (expected dataset.json, images/ and labels/, imgs/ and gts/, or .npz files); give --format")
                }
            } else if lower.hasSuffix(".csv") || lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") { f = .manifest }
            else if lower.hasSuffix(".npz") { f = .npz }
            else { throw EvaluationError("dataset \(path): expected a folder, a .csv/.jsonl manifest or a .npz file") }
        }
        switch f {
        case .nnunet: return try nnunet(path, split: split)
        case .manifest: return EvaluationDataset(format: .manifest, cases: try manifest(path), labelNames: [:])
        case .png: return EvaluationDataset(format: .png, cases: try pngPairs(path), labelNames: [:])
        case .npz: return EvaluationDataset(format: .npz, cases: try npzFiles(path, isFolder: isDir.boolValue), labelNames: [:])
        case .auto: fatalError("resolved above")
        }
    }

    /// Label names from a JSON object: `{"1": "liver"}` (MSD, `--labels`) or `{"liver": 1}`
    /// (nnU-Net v2); `background` / id 0 is dropped. `source` names the file in errors.
    public static func labelNames(json: Any, source: String) throws -> [Int: String] {
        guard let object = json as? [String: Any] else {
            throw EvaluationError("\(source), field 'labels': expected a JSON object of label ids and names")
        }
        var names: [Int: String] = [:]
        for (k, v) in object {
            if let id = Int(k), let name = v as? String {
                names[id] = name
            } else if let n = v as? NSNumber {
                names[n.intValue] = k
            } else if let region = v as? [Any], let n = region.first as? NSNumber, region.count == 1 {
                names[n.intValue] = k
            } else {
                throw EvaluationError("\(source), field 'labels' entry '\(k)': expected \"id\": \"name\" or \"name\": id")
            }
        }
        names[0] = nil
        return names
    }

    // MARK: nnU-Net / MSD

    static func nnunet(_ root: String, split: String) throws -> EvaluationDataset {
        let jsonPath = join(root, "dataset.json")
        guard let data = FileManager.default.contents(atPath: jsonPath) else {
            throw EvaluationError("dataset \(root): no dataset.json (an nnU-Net/MSD dataset needs it for its label names)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw EvaluationError("\(jsonPath): not a JSON object")
        }
        guard let labels = object["labels"] else {
            throw EvaluationError("\(jsonPath), field 'labels': missing (expected the label ids and names)")
        }
        let names = try labelNames(json: labels, source: jsonPath)
        guard split == "Ts" || split == "Tr" else { throw EvaluationError("--split '\(split)': expected Ts or Tr") }
        let imagesDir = join(root, "images\(split)"), labelsDir = join(root, "labels\(split)")
        let images = try listFiles(imagesDir, what: "images\(split)/ of \(root)")
        guard FileManager.default.fileExists(atPath: labelsDir) else {
            throw EvaluationError("dataset \(root): no labels\(split)/ folder (the \(split == "Ts" ? "test" : "training") split has no labels here)")
        }
        let ending = (object["file_ending"] as? String) ?? ".nii.gz"
        var cases: [EvaluationCase] = []
        for file in images where !file.hasPrefix(".") {
            let stem = stripExtension(file)
            // nnU-Net v2 names channels `<case>_0000`; evaluate the first channel, skip the others.
            var id = stem
            if let r = stem.range(of: #"_\d{4}$"#, options: .regularExpression) {
                guard stem[r] == "_0000" else { continue }
                id = String(stem[..<r.lowerBound])
            }
            let label = [join(labelsDir, id + ending), join(labelsDir, id + extensionOf(file))]
                .first { FileManager.default.fileExists(atPath: $0) }
            guard let label else {
                throw EvaluationError("dataset \(root): images\(split)/\(file) has no label map labels\(split)/\(id)\(ending)")
            }
            cases.append(EvaluationCase(id: id, image: join(imagesDir, file), labels: label, origin: "images\(split)/\(file)"))
        }
        guard !cases.isEmpty else { throw EvaluationError("dataset \(root): images\(split)/ holds no images") }
        return EvaluationDataset(format: .nnunet, cases: cases, labelNames: names)
    }

    // MARK: Manifest

    static func manifest(_ path: String) throws -> [EvaluationCase] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw EvaluationError("manifest \(path): cannot read it as UTF-8 text")
        }
        let base = (path as NSString).deletingLastPathComponent
        var cases: [EvaluationCase] = []
        func add(_ image: String?, _ label: String?, _ id: String?, origin: String) throws {
            guard let image, !image.isEmpty else { throw EvaluationError("\(origin), field 'image': missing or empty") }
            let imagePath = Manifest.resolve(image, base)
            let isNPZ = imagePath.lowercased().hasSuffix(".npz")
            guard isNPZ || (label.map { !$0.isEmpty } ?? false) else {
                throw EvaluationError("\(origin), field 'label': missing or empty (only a MedSAM .npz carries its labels)")
            }
            cases.append(EvaluationCase(id: id.flatMap { $0.isEmpty ? nil : $0 } ?? stripExtension((image as NSString).lastPathComponent),
                                        image: imagePath, labels: (label?.isEmpty ?? true) ? nil : Manifest.resolve(label!, base),
                                        origin: origin))
        }
        if path.lowercased().hasSuffix(".csv") {
            let rows = try CSVReader.rows(text, path: path)
            guard let header = rows.first else { throw EvaluationError("manifest \(path): empty, expected a header row") }
            let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            for (i, n) in names.enumerated() where !["image", "label", "id"].contains(n) {
                throw EvaluationError("manifest \(path) line \(header.line), column \(i + 1): unknown column '\(n)' (expected image, label, id)")
            }
            guard names.contains("image") else {
                throw EvaluationError("manifest \(path) line \(header.line): the header has no 'image' column")
            }
            for (r, row) in rows.dropFirst().enumerated() {
                let origin = "manifest \(path) row \(r + 1) (line \(row.line))"
                guard row.fields.count == names.count else {
                    throw EvaluationError("\(origin): \(row.fields.count) fields, the header has \(names.count)")
                }
                var f: [String: String] = [:]
                for (n, v) in zip(names, row.fields) { f[n] = v.trimmingCharacters(in: .whitespaces) }
                try add(f["image"], f["label"], f["id"], origin: origin)
            }
        } else {
            for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let t = line.trimmingCharacters(in: .whitespaces)
                if t.isEmpty { continue }
                let origin = "manifest \(path) line \(i + 1)"
                guard let o = try? JSONSerialization.jsonObject(with: Data(t.utf8)) as? [String: Any] else {
                    throw EvaluationError("\(origin): not a JSON object")
                }
                for k in o.keys.sorted() where !["image", "label", "id"].contains(k) {
                    throw EvaluationError("\(origin), field '\(k)': unknown field (expected image, label, id)")
                }
                for k in ["image", "label", "id"] where o[k] != nil && !(o[k] is String) {
                    throw EvaluationError("\(origin), field '\(k)': expected a string")
                }
                try add(o["image"] as? String, o["label"] as? String, o["id"] as? String, origin: origin)
            }
        }
        guard !cases.isEmpty else { throw EvaluationError("manifest \(path): no cases") }
        let ids = cases.map(\.id)
        if let dup = ids.first(where: { id in ids.filter { $0 == id }.count > 1 }) {
            throw EvaluationError("manifest \(path): case id '\(dup)' appears more than once (give an 'id' column)")
        }
        return cases
    }

    // MARK: Folders of pairs, npz

    static func pairFolders(_ root: String) -> (images: String, labels: String)? {
        for (i, l) in [("images", "labels"), ("imgs", "gts")] {
            var a: ObjCBool = false, b: ObjCBool = false
            if FileManager.default.fileExists(atPath: join(root, i), isDirectory: &a), a.boolValue,
               FileManager.default.fileExists(atPath: join(root, l), isDirectory: &b), b.boolValue {
                return (join(root, i), join(root, l))
            }
        }
        return nil
    }

    static func pngPairs(_ root: String) throws -> [EvaluationCase] {
        guard let (imagesDir, labelsDir) = pairFolders(root) else {
            throw EvaluationError("dataset \(root): expected the folders images/ and labels/ (or imgs/ and gts/)")
        }
        let labels = try listFiles(labelsDir, what: "\(labelsDir)")
        let byStem = Dictionary(labels.map { (stripExtension($0), $0) }, uniquingKeysWith: { a, _ in a })
        var cases: [EvaluationCase] = []
        for file in try listFiles(imagesDir, what: imagesDir) where !file.hasPrefix(".") {
            let stem = stripExtension(file)
            guard let label = byStem[stem] else {
                throw EvaluationError("dataset \(root): \(imagesDir)/\(file) has no label map of the same name in \(labelsDir)/")
            }
            cases.append(EvaluationCase(id: stem, image: join(imagesDir, file), labels: join(labelsDir, label), origin: "\(imagesDir)/\(file)"))
        }
        guard !cases.isEmpty else { throw EvaluationError("dataset \(root): \(imagesDir)/ holds no images") }
        return cases
    }

    static func npzFiles(_ path: String, isFolder: Bool) throws -> [EvaluationCase] {
        let files = isFolder ? try listFiles(path, what: path).filter { $0.lowercased().hasSuffix(".npz") }.map { join(path, $0) } : [path]
        guard !files.isEmpty else { throw EvaluationError("dataset \(path): no .npz files") }
        return files.map { EvaluationCase(id: stripExtension(($0 as NSString).lastPathComponent), image: $0, labels: nil, origin: $0) }
    }

    // MARK: Paths

    static func join(_ a: String, _ b: String) -> String { (a as NSString).appendingPathComponent(b) }

    static func listFiles(_ dir: String, what: String) throws -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
            throw EvaluationError("\(what): cannot list the folder (missing or unreadable)")
        }
        return names.filter { !$0.hasPrefix(".") }.sorted()
    }

    static func extensionOf(_ name: String) -> String {
        let lower = name.lowercased()
        for e in [".nii.gz", ".seg.nrrd"] where lower.hasSuffix(e) { return String(name.suffix(e.count)) }
        let ext = (name as NSString).pathExtension
        return ext.isEmpty ? "" : "." + ext
    }

    static func stripExtension(_ name: String) -> String { String(name.dropLast(extensionOf(name).count)) }
}

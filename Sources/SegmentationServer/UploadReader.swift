import ArchiveIO
import Foundation
import MedicalImaging

/// Turns uploaded bytes into a `MedicalImage`, touching nothing outside the server's own
/// temporary folder.
///
/// The client's file name only chooses the format (by its extension); the bytes are written
/// under a name the server makes up, read with the same readers as the CLI, and removed. A DICOM
/// series arrives as a zip: its entries are written as numbered files (the names inside the
/// archive are never used as paths, so `../` in them cannot escape), after the sum of their
/// declared sizes has been checked against the upload limit (a zip bomb is refused before
/// anything is inflated).
public struct UploadReader: Sendable {
    public var temporaryFolder: URL
    /// The most bytes an upload may hold, and the most a DICOM zip may inflate to.
    public var maxBytes: Int

    public init(temporaryFolder: URL, maxBytes: Int) {
        self.temporaryFolder = temporaryFolder
        self.maxBytes = maxBytes
    }

    /// Extensions accepted, in the form clients name their files.
    public static let extensions = [".nii.gz", ".nii", ".png", ".npy", ".dcm", ".zip"]

    /// Reads `bytes`, whose format `name` gives by its extension.
    public func read(_ bytes: [UInt8], name: String) throws -> (MedicalImage, MedicalImageFormat) {
        let lower = name.lowercased()
        guard let ext = Self.extensions.first(where: { lower.hasSuffix($0) }) else {
            throw ServiceError.unsupported("name '\(name)': unsupported extension; expected one of \(Self.extensions.joined(separator: ", "))")
        }
        guard !bytes.isEmpty else { throw ServiceError.badRequest("the upload is empty") }
        let work = temporaryFolder.appendingPathComponent("upload-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        do {
            if ext == ".zip" {
                let folder = try extractDICOMZip(bytes, into: work)
                return (.volume(try DICOMSeries.read(folder: folder)), .dicomSeries)
            }
            let file = work.appendingPathComponent("image" + ext)
            try Data(bytes).write(to: file)
            let format = try MedicalImageFile.format(of: file)
            return (try MedicalImageFile.read(file), format)
        } catch let e as ServiceError {
            throw e
        } catch {
            // The readers name the temporary path; the client knows its file by its own name.
            let text = "\(error)"
                .replacingOccurrences(of: work.appendingPathComponent("image" + ext).path, with: name)
                .replacingOccurrences(of: work.path + "/", with: "")
            throw ServiceError.unprocessable(text.contains(name) ? text : "\(name): \(text)")
        }
    }

    private func extractDICOMZip(_ bytes: [UInt8], into work: URL) throws -> URL {
        let folder = work.appendingPathComponent("series", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try bytes.withUnsafeBytes { raw in
            let zip: ZipArchive
            do { zip = try ZipArchive(path: "upload.zip", bytes: raw) } catch {
                throw ServiceError.unprocessable("upload.zip: \(error)")
            }
            let files = zip.records.filter { !$0.name.hasSuffix("/") }
            guard !files.isEmpty else { throw ServiceError.unprocessable("the zip holds no files; expected a DICOM series") }
            let declared = files.reduce(0) { $0 &+ max($1.uncompressedSize, 0) }
            guard declared <= maxBytes else {
                throw ServiceError.tooLarge("the zip declares \(declared) bytes once inflated; the limit is \(maxBytes)")
            }
            for (i, record) in files.enumerated() {
                let base = (record.name as NSString).lastPathComponent
                // macOS archivers add resource forks; they are not DICOM files.
                if record.name.hasPrefix("__MACOSX/") || base.hasPrefix("._") { continue }
                let data: RecordBytes
                do { data = try zip.contents(of: record) } catch {
                    throw ServiceError.unprocessable("upload.zip: \(error)")
                }
                let out = folder.appendingPathComponent(String(format: "%06d.dcm", i))
                try data.withBytes { try Data($0).write(to: out) }
            }
        }
        return folder
    }
}

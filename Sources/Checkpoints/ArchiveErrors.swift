import ArchiveIO

extension CheckpointError {
    /// The shared ZIP reader's error as a checkpoint problem, keeping its record or structure
    /// name and its account of what was wrong.
    init(_ zip: ZipError) {
        let problem: CheckpointProblem
        switch zip.kind {
        case .notAZip: problem = .unknownFormat(zip.message)
        case .truncated: problem = .truncated(zip.message)
        case .corrupt: problem = .corruptZip("\(zip.field): \(zip.message)")
        case .recordOutOfBounds: problem = .recordOutOfBounds(record: zip.field)
        case .absurdSize: problem = .absurdSize("\(zip.field): \(zip.message)")
        case .unsupportedMethod, .decompression: problem = .decompression(record: zip.field, detail: zip.message)
        }
        self.init(path: zip.path, problem: problem)
    }
}

/// Runs `body`, which reads a ZIP archive, turning `ZipError` into `CheckpointError`.
func readingZip<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as ZipError { throw CheckpointError(error) }
}

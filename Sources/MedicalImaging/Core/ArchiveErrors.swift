import ArchiveIO

extension ImagingError {
    /// Runs `body`, which calls the shared ZIP reader or zlib wrapper (module `ArchiveIO`), and
    /// turns their errors into `ImagingError`s naming `path` and `field` (a ZIP error names its
    /// own record or structure).
    static func naming<T>(path: String, field: String?, writing: Bool = false, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ZlibError {
            let kind: Kind = writing ? .writeFailed : error.kind == .truncated ? .truncated : .corrupt
            throw ImagingError(kind, path: path, field: field, error.message)
        } catch let error as ZipError {
            let kind: Kind
            switch error.kind {
            case .truncated, .recordOutOfBounds: kind = .truncated
            case .notAZip, .corrupt, .absurdSize: kind = .corrupt
            case .unsupportedMethod: kind = .unsupported
            case .decompression: kind = error.zlib?.kind == .truncated ? .truncated : .corrupt
            }
            throw ImagingError(kind, path: path, field: error.field, error.message)
        }
    }
}

import Foundation

/// Writes through a temporary file in the destination folder and a rename, so readers never see a
/// partial file and a failed write leaves nothing behind.
public enum AtomicFile {
    /// Writes `bytes` to `url` through a temporary file in the same folder and a rename.
    public static func write(_ bytes: [UInt8], to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw ImagingError(.writeFailed, path: url.path, "output folder \(dir.path) does not exist")
        }
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try Data(bytes).write(to: tmp)
            // rename(2) replaces an existing file atomically (same folder, so same file system).
            guard rename(tmp.path, url.path) == 0 else {
                throw ImagingError(.writeFailed, path: url.path, "cannot rename the temporary file: \(String(cString: strerror(errno)))")
            }
        } catch let e as ImagingError {
            try? FileManager.default.removeItem(at: tmp)
            throw e
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw ImagingError(.writeFailed, path: url.path, "cannot write: \(error.localizedDescription)")
        }
    }

    /// Reads a whole file, turning any failure into `ImagingError.unreadable`.
    public static func read(_ url: URL) throws -> [UInt8] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw ImagingError(.unreadable, path: url.path, "no such file")
        }
        if isDir.boolValue { throw ImagingError(.unreadable, path: url.path, "is a folder, expected a file") }
        do { return [UInt8](try Data(contentsOf: url)) } catch {
            throw ImagingError(.unreadable, path: url.path, "cannot read: \(error.localizedDescription)")
        }
    }
}

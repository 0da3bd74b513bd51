import Foundation
import Segmentation

extension EverythingOutputs {
    /// A folder that may take amg.py's files: created when missing; an existing metadata.csv
    /// needs `force`.
    static func checkFolder(_ path: String, force: Bool) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw CLIError("--output-dir \(path) is a file, expected a folder") }
            if !force && FileManager.default.fileExists(atPath: path + "/metadata.csv") {
                throw CLIError("--output-dir \(path) already holds metadata.csv (use --force to overwrite)")
            }
        } else {
            let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
            guard FileManager.default.fileExists(atPath: parent) else {
                throw CLIError("--output-dir \(path): folder \(parent) does not exist")
            }
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        }
    }
}

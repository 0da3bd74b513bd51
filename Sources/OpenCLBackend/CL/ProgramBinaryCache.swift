import Foundation

/// Compiled program binaries on disk, keyed by source hash, build options, device and driver.
///
/// Lives under `$XDG_CACHE_HOME/medsam-swift/opencl` or `~/.cache/medsam-swift/opencl`. A
/// corrupt or foreign entry is simply rebuilt from source; the cache never decides correctness.
struct ProgramBinaryCache {
    let directory: URL?

    init(directory: URL? = ProgramBinaryCache.defaultDirectory()) {
        self.directory = directory
    }

    static func defaultDirectory() -> URL? {
        let env = ProcessInfo.processInfo.environment
        if env["MEDSAM_OPENCL_NO_CACHE"] == "1" { return nil }
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("medsam-swift/opencl")
        }
        guard let home = env["HOME"], !home.isEmpty else { return nil }
        return URL(fileURLWithPath: home).appendingPathComponent(".cache/medsam-swift/opencl")
    }

    /// A file name that changes whenever anything that affects the binary changes.
    static func key(source: String, options: String, device: String, driver: String) -> String {
        let text = [source, options, device, driver].joined(separator: "\u{1}")
        return String(format: "%016llx%016llx", fnv1a(text, seed: 0xcbf2_9ce4_8422_2325),
                      fnv1a(text, seed: 0x8422_2325_cbf2_9ce4)) + ".bin"
    }

    func load(_ key: String) -> [UInt8]? {
        guard let dir = directory else { return nil }
        guard let data = try? Data(contentsOf: dir.appendingPathComponent(key)), !data.isEmpty else { return nil }
        return [UInt8](data)
    }

    /// Best effort: a read-only or full disk only costs a rebuild next time.
    func store(_ key: String, _ bytes: [UInt8]) {
        guard let dir = directory, !bytes.isEmpty else { return }
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let tmp = dir.appendingPathComponent(key + ".\(getpid()).tmp")
            try Data(bytes).write(to: tmp)
            _ = try? FileManager.default.removeItem(at: dir.appendingPathComponent(key))
            try FileManager.default.moveItem(at: tmp, to: dir.appendingPathComponent(key))
        } catch {
            return
        }
    }

    private static func fnv1a(_ s: String, seed: UInt64) -> UInt64 {
        var h = seed
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }
}

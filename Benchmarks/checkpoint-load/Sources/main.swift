// Checkpoint loading benchmark: compares reading a checkpoint's bytes once with loading every
// tensor as float32 through `Checkpoint.open` + `load(key)`, and reports peak resident memory.
//
//   swift run -c release --scratch-path .build-checkpoints CheckpointLoadBench PATH [--keep-pages] [--cold] [--runs N]
//
// --cold evicts the file from the page cache (posix_fadvise DONTNEED, this file only) before
// every read and load run, so both come from the disk.
//
// See Benchmarks/checkpoint-load/README.md for how the ViT-H-sized file is made and the results.
import Checkpoints
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A field of /proc/self/status in MiB (VmHWM = peak resident set, VmRSS = current).
func procStatusMiB(_ field: String) -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
        return kb / 1024
    }
    return .nan
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Reads the whole file once with read(2) into a 16 MiB buffer, touching every byte.
func readOnce(_ path: String) throws -> (bytes: Int, checksum: UInt64) {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw CheckpointError(path: path, problem: .unreadable(String(cString: strerror(errno)))) }
    defer { close(fd) }
    let chunk = 16 << 20
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 64)
    defer { buffer.deallocate() }
    var total = 0
    var checksum: UInt64 = 0
    while true {
        let n = read(fd, buffer, chunk)
        if n <= 0 { break }
        total += n
        checksum &+= UInt64(buffer.load(fromByteOffset: 0, as: UInt8.self))
    }
    return (total, checksum)
}

/// Asks the kernel to drop this file's cached pages, so the next access reads the disk.
func evictFromPageCache(_ path: String) {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return }
    _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
    close(fd)
}

let arguments = CommandLine.arguments.dropFirst()
guard let path = arguments.first(where: { !$0.hasPrefix("--") && Int($0) == nil }) else {
    print("usage: CheckpointLoadBench PATH [--keep-pages] [--runs N]")
    exit(2)
}
let keepPages = arguments.contains("--keep-pages")
let cold = arguments.contains("--cold")
let runs = arguments.firstIndex(of: "--runs").flatMap { i in arguments.dropFirst(i - arguments.startIndex + 1).first }.flatMap { Int($0) } ?? 3

do {
    let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
    // Load first, so the peak resident set reflects loading alone (reading uses a 16 MiB buffer).
    var loadTimes: [Double] = [], openTimes: [Double] = []
    var tensors = 0, elements = 0
    for _ in 0..<runs {
        var checkpoint: CheckpointSource!
        if cold { evictFromPageCache(path) }
        openTimes.append(try seconds { checkpoint = try Checkpoint.open(path: path) })
        if let p = checkpoint as? PyTorchCheckpoint { p.releasesPagesAfterLoad = !keepPages }
        if let s = checkpoint as? SafetensorsCheckpoint { s.releasesPagesAfterLoad = !keepPages }
        tensors = 0; elements = 0
        let t = try seconds {
            for key in checkpoint.keys {
                let tensor = try checkpoint.load(key)
                tensors += 1
                elements += tensor.count
            }
        }
        loadTimes.append(t + openTimes.last!)
    }
    let peakLoadMiB = procStatusMiB("VmHWM")
    var readTimes: [Double] = []
    for _ in 0..<runs {
        var result = (bytes: 0, checksum: UInt64(0))
        if cold { evictFromPageCache(path) }
        readTimes.append(try seconds { result = try readOnce(path) })
        precondition(result.bytes == size, "read \(result.bytes) of \(size) bytes")
    }
    let median = { (xs: [Double]) in xs.sorted()[xs.count / 2] }
    let fileMiB = Double(size) / 1_048_576
    print(String(format: "file: %@ (%.1f MiB, %d tensors, %d elements), page cache %@", path, fileMiB, tensors, elements,
                 cold ? "evicted before each run" : "warm"))
    print(String(format: "read all bytes once (median of %d): %.3f s (%.2f GB/s)", runs, median(readTimes),
                 Double(size) / median(readTimes) / 1e9))
    print(String(format: "open (median): %.4f s", median(openTimes)))
    print(String(format: "open + load every tensor as float32 (median of %d): %.3f s (%.2f GB/s), load/read = %.2f",
                 runs, median(loadTimes), Double(size) / median(loadTimes) / 1e9, median(loadTimes) / median(readTimes)))
    print(String(format: "peak RSS while loading: %.1f MiB = %.3f x file size (pages %@)", peakLoadMiB,
                 peakLoadMiB / fileMiB, keepPages ? "kept mapped" : "released after each tensor"))
} catch {
    print("error: \(error)")
    exit(1)
}

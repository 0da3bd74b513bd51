#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file, so multi-gigabyte checkpoints are paged in on
/// demand by the kernel instead of copied into the heap.
public final class MappedFile {
    public let path: String
    /// The mapped bytes (empty for an empty file).
    public let bytes: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer?
    /// True when `bytes` is a heap copy (tests) rather than a map.
    private let isHeapCopy: Bool
    /// Kept open for `read(into:count:at:)`; -1 for heap copies.
    private let descriptor: Int32

    public init(path: String) throws {
        self.path = path
        isHeapCopy = false
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw CheckpointError(path: path, problem: .unreadable(String(cString: strerror(errno))))
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw CheckpointError(path: path, problem: .unreadable(message))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw CheckpointError(path: path, problem: .unreadable("not a regular file"))
        }
        descriptor = fd
        let size = Int(info.st_size)
        if size == 0 {
            base = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            close(fd)
            throw CheckpointError(path: path, problem: .unreadable("mmap failed: \(String(cString: strerror(errno)))"))
        }
        base = p
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    /// In-memory bytes presented as a file named `path`, so tests can open thousands of
    /// variants without touching the disk.
    init(copying data: [UInt8], path: String) {
        self.path = path
        isHeapCopy = true
        descriptor = -1
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(data.count, 1), alignment: 64)
        data.withUnsafeBytes { if let src = $0.baseAddress { p.copyMemory(from: src, byteCount: data.count) } }
        base = p
        bytes = UnsafeRawBufferPointer(start: p, count: data.count)
    }

    /// Tells the kernel the range is no longer needed, so its pages leave this process's resident
    /// set (they stay in the page cache and are re-read transparently if touched again).
    func release(_ range: Range<Int>) {
        guard let base, !isHeapCopy, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        // Only whole pages inside the range: a neighbouring tensor may share the edge pages.
        let start = (range.lowerBound + page - 1) / page * page
        let end = range.upperBound / page * page
        guard end > start else { return }
        _ = madvise(base + start, end - start, MADV_DONTNEED)
    }

    /// Asks the kernel to start reading the range, and `lookAhead` bytes after it, now: one
    /// large asynchronous read-ahead instead of a page fault per page when the file is not in
    /// the page cache. Tensors are usually loaded in file order, so reading ahead overlaps the
    /// disk with converting the current tensor.
    func willNeed(_ range: Range<Int>, lookAhead: Int = 64 << 20) {
        guard let base, !isHeapCopy, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = range.lowerBound / page * page
        let end = min(bytes.count, range.upperBound + lookAhead)
        _ = madvise(base + start, end - start, MADV_WILLNEED)
    }

    /// Copies `count` bytes at `offset` into `destination` with `pread`, bypassing the map: for
    /// contiguous float32 tensors this is a plain file read (kernel read-ahead, no page faults,
    /// nothing added to the resident set). The caller has checked the range lies in the file.
    func read(into destination: UnsafeMutableRawPointer, count: Int, at offset: Int) throws {
        if isHeapCopy || descriptor < 0 {
            if count > 0 { destination.copyMemory(from: bytes.baseAddress! + offset, byteCount: count) }
            return
        }
        var done = 0
        while done < count {
            let n = pread(descriptor, destination + done, count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = n < 0 ? String(cString: strerror(errno)) : "the file ended early (was it truncated while open?)"
                throw CheckpointError(path: path, problem: .unreadable("reading \(count) bytes at offset \(offset): \(reason)"))
            }
            done += n
        }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        guard let base else { return }
        if isHeapCopy { base.deallocate() } else { munmap(base, bytes.count) }
    }
}

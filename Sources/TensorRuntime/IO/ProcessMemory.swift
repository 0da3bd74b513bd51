#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Memory figures of the running process, for benchmarks.
public enum ProcessMemory {
    /// Peak resident set size of this process so far, in bytes (getrusage's ru_maxrss).
    public static func peakResidentBytes() -> Int {
        var usage = rusage()
        #if canImport(Darwin)
        getrusage(RUSAGE_SELF, &usage)
        return usage.ru_maxrss            // bytes on Darwin
        #else
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024     // KiB on Linux
        #endif
    }
}

import Foundation

/// Progress of a batch on standard error: a bar redrawn in place on a terminal, plain lines at
/// most every `interval` seconds otherwise (a log file gets no carriage-return frames).
public final class BatchProgress {
    public enum Mode: String, Sendable, CaseIterable {
        case bar, lines, none
        /// A bar when standard error is a terminal, lines otherwise.
        public static func automatic() -> Mode { isatty(2) == 1 ? .bar : .lines }
    }

    private let total: Int
    private let mode: Mode
    private let interval: Double
    private let start = DispatchTime.now().uptimeNanoseconds
    private var done = 0, failed = 0, images = 0
    private var lastPrint: Double = -1
    private let lock = NSLock()

    public init(total: Int, mode: Mode, interval: Double = 10) {
        self.total = total
        self.mode = mode
        self.interval = interval
    }

    func caseFinished(images n: Int, failed f: Bool) {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        images += n
        if f { failed += 1 }
        let now = elapsed
        switch mode {
        case .none: return
        case .bar:
            if now - lastPrint < 0.2 && done < total { return }
            lastPrint = now
            let width = 30
            let filled = total == 0 ? width : min(width, done * width / total)
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            emit("\r[\(bar)] \(status(now))" + (done >= total ? "\n" : ""))
        case .lines:
            if now - lastPrint < interval && done < total { return }
            lastPrint = now
            emit("batch: \(status(now))\n")
        }
    }

    private var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    private func status(_ t: Double) -> String {
        let rate = t > 0 ? Double(images) / t : 0
        let eta = done > 0 ? t / Double(done) * Double(total - done) : 0
        let failures = failed > 0 ? " (\(failed) failed)" : ""
        return "\(done)/\(total) cases\(failures), " + String(format: "%.2f images/s, ETA %@", rate, Self.duration(eta))
    }

    static func duration(_ s: Double) -> String {
        let v = Int(s.rounded())
        if v >= 3600 { return String(format: "%dh%02dm", v / 3600, (v % 3600) / 60) }
        if v >= 60 { return String(format: "%dm%02ds", v / 60, v % 60) }
        return "\(v)s"
    }

    private func emit(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}

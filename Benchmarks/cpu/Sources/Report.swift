import Foundation
import TensorRuntime

/// Runs scripts/bench/pytorch.py (found from the current directory) and parses its JSON.
enum PyTorchRun {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func run(workloads: [String], threads: Int, runs: Int, vitRuns: Int) throws -> [String: Any] {
        let script = FileManager.default.currentDirectoryPath + "/scripts/bench/pytorch.py"
        guard FileManager.default.fileExists(atPath: script) else {
            throw Failure(description: "\(script) not found (run from the repository root)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, "--threads", "\(threads)", "--runs", "\(runs)", "--vit-runs", "\(vitRuns)",
                       "--only", workloads.joined(separator: ",")]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw Failure(description: "pytorch.py exited with \(p.terminationStatus)") }
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Failure(description: "pytorch.py printed no JSON object")
        }
        return json
    }
}

enum Report {
    static func print(_ rows: [WorkloadResult], torch: [String: Any]?, threads: Int, json: Bool, device: DeviceInfo) {
        if json {
            var items: [[String: Any]] = []
            for r in rows {
                let name = r.name
                var item: [String: Any] = [
                    "workload": name, "median_ms": r.median * 1e3, "min_ms": r.min * 1e3,
                    "samples_ms": r.samples.map { $0 * 1e3 }, "gflop": r.flops / 1e9, "gflops": r.gflops,
                    "peak_rss_mb": Double(r.peakRSSBytes) / 1_048_576, "compile_s": r.compileSeconds,
                    "intermediate_mb": Double(r.intermediateBytes) / 1_048_576,
                ]
                if let ratio = r.ratio {
                    let torchMS = r.roundMedians.map(\.torchMS).sorted()
                    item["pytorch_median_ms"] = median(torchMS)
                    item["pytorch_round_medians_ms"] = r.roundMedians.map(\.torchMS)
                    item["round_medians_ms"] = r.roundMedians.map { $0.swift * 1e3 }
                    item["ratio"] = ratio
                }
                if let p = r.profile {
                    item["profile"] = p.byOp.map { ["op": $0.op, "ms": $0.seconds * 1e3, "count": $0.count] }
                }
                items.append(item)
            }
            var top: [String: Any] = ["backend": "cpu", "device": device.name, "threads": threads, "workloads": items]
            if let torch { top["pytorch"] = ["torch": torch["torch"] ?? "", "peak_rss_mb": torch["peak_rss_mb"] ?? 0] }
            if let data = try? JSONSerialization.data(withJSONObject: top, options: [.prettyPrinted, .sortedKeys]) {
                Swift.print(String(decoding: data, as: UTF8.self))
            }
            return
        }
        Swift.print(col("workload", 20) + col("cpu ms", 10, right: true) + col("min ms", 10, right: true)
                    + col("GFLOP/s", 9, right: true) + col("RSS MB", 9, right: true)
                    + col("pytorch ms", 12, right: true) + col("ratio", 8, right: true) + "  ratio per round")
        for r in rows {
            var line = col(r.name, 20) + String(format: " %10.1f %10.1f %9.1f %9.0f", r.median * 1e3, r.min * 1e3, r.gflops,
                                                Double(r.peakRSSBytes) / 1_048_576)
            if let ratio = r.ratio {
                let torchMS = r.roundMedians.map(\.torchMS).sorted()
                line += String(format: " %12.1f %8.3f  ", median(torchMS), ratio)
                line += r.roundMedians.map { String(format: "%.3f", $0.swift * 1e3 / $0.torchMS) }.joined(separator: " ")
            }
            Swift.print(line)
        }
    }

    /// A per-op profile table (time, count, share, GFLOP/s), largest first.
    static func profileTable(_ p: ProfileReport, top: Int = 16) -> String {
        var flops: [String: Double] = [:]
        for e in p.entries { flops[e.op, default: 0] += e.flops }
        var s = col("op", 22) + col("ms", 10, right: true) + col("count", 7, right: true) + col("share", 8, right: true)
            + col("GFLOP/s", 9, right: true) + "\n"
        let total = max(p.total, 1e-12)
        for row in p.byOp.prefix(top) {
            s += col(row.op, 22) + String(format: " %10.2f %7d %7.1f%% %9.1f\n", row.seconds * 1e3, row.count,
                                         100 * row.seconds / total, (flops[row.op] ?? 0) / max(row.seconds, 1e-12) / 1e9)
        }
        return s + col("total", 22) + String(format: " %10.2f\n", p.total * 1e3)
    }

    /// The `top` slowest single nodes of a profile, with their shapes' GFLOP/s.
    static func nodeTable(_ p: ProfileReport, top: Int) -> String {
        var s = col("node", 48) + col("op", 20) + col("ms", 10, right: true) + col("GFLOP/s", 9, right: true) + "\n"
        for e in p.entries.sorted(by: { $0.seconds > $1.seconds }).prefix(top) {
            s += col(e.node, 48) + col(e.op, 20) + String(format: " %10.2f %9.1f\n", e.seconds * 1e3,
                                                          e.flops / max(e.seconds, 1e-12) / 1e9)
        }
        return s
    }

    /// `s` padded to `width` columns (String(format:) cannot take Swift strings on Linux).
    static func col(_ s: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return (right ? " " + fill + s : s + fill)
    }
}

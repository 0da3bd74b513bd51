import CPUBackend
import Foundation
import SAMModels
import TensorRuntime

// cpu-bench: times SAM workloads on the `cpu` backend (release build) and, with
// --compare-pytorch, runs scripts/bench/pytorch.py in the same invocation and prints both.
//
// usage: cpu-bench [--workloads vit-b-encoder,litemedsam-encoder,litemedsam-decoder,vit-h-encoder]
//                  [--threads N] [--runs N] [--vit-runs N] [--profile] [--top-nodes N]
//                  [--compare-pytorch] [--json]
//        cpu-bench --ops [--op-filter TEXT] [--threads N]     (single ops at SAM's shapes)

struct Options {
    var workloads = ["vit-b-encoder", "litemedsam-encoder", "litemedsam-decoder"]
    var threads = ProcessInfo.processInfo.activeProcessorCount
    var runs = 5
    var vitRuns = 3
    var profile = false
    var comparePyTorch = false
    var json = false
    /// Time single ops at SAM's shapes instead of whole models (optionally filtered by name).
    var ops = false
    var opFilter: String? = nil
    /// With --profile: also list this many slowest single nodes per workload.
    var topNodes = 0
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(1)
}

func parseOptions() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst()
    func value(_ flag: String) -> String {
        guard let v = args.popFirst() else { fail("\(flag) needs a value") }
        return v
    }
    func positive(_ flag: String) -> Int {
        let v = value(flag)
        guard let n = Int(v), n >= 1 else { fail("\(flag) must be a positive integer, got '\(v)'") }
        return n
    }
    while let a = args.popFirst() {
        switch a {
        case "--workloads":
            o.workloads = value(a).split(separator: ",").map(String.init)
            for w in o.workloads where Workload.all[w] == nil {
                fail("unknown workload '\(w)' (expected one of \(Workload.all.keys.sorted().joined(separator: ", ")))")
            }
        case "--threads": o.threads = positive(a)
        case "--runs": o.runs = positive(a)
        case "--vit-runs": o.vitRuns = positive(a)
        case "--profile": o.profile = true
        case "--compare-pytorch": o.comparePyTorch = true
        case "--json": o.json = true
        case "--ops": o.ops = true
        case "--op-filter": o.opFilter = value(a)
        case "--top-nodes": o.topNodes = positive(a); o.profile = true
        default: fail("unknown option '\(a)'")
        }
    }
    return o
}

let options = parseOptions()
let backend = CPUBackend(threads: options.threads)
if options.ops {
    do { try OpBench.run(backend: backend, filter: options.opFilter) } catch { fail("\(error)") }
    exit(0)
}
var rows: [WorkloadResult] = []
for name in options.workloads {
    let w = Workload.all[name]!
    let runs = name.hasPrefix("vit") ? options.vitRuns : options.runs
    if !options.json { print("running \(name) (\(runs) runs, \(options.threads) threads)...") }
    do {
        var result = try w.measure(on: backend, runs: runs, profile: options.profile)
        result.name = name
        rows.append(result)
    } catch {
        fail("\(name): \(error)")
    }
    if options.profile, !options.json, let p = rows.last?.profile {
        print(Report.profileTable(p))
        if options.topNodes > 0 { print(Report.nodeTable(p, top: options.topNodes)) }
    }
}

var torch: [String: Any]? = nil
if options.comparePyTorch {
    let names = options.workloads.filter { $0 != "vit-h-encoder" }
    if !names.isEmpty {
        if !options.json { print("running scripts/bench/pytorch.py for \(names.joined(separator: ","))...") }
        do {
            torch = try PyTorchRun.run(workloads: names, threads: options.threads, runs: options.runs, vitRuns: options.vitRuns)
        } catch {
            fail("PyTorch comparison: \(error)")
        }
    }
}
Report.print(rows, torch: torch, threads: options.threads, json: options.json, device: backend.info)

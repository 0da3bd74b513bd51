import CPUBackend
import Foundation
import SAMModels
import TensorRuntime

// cpu-bench: times SAM workloads on the `cpu` backend (release build) and, with
// --compare-pytorch, runs scripts/bench/pytorch.py in the same invocation and prints both.
//
// usage: cpu-bench [--workloads vit-b-encoder,litemedsam-encoder,litemedsam-decoder,vit-h-encoder]
//                  [--threads N] [--runs N] [--vit-runs N] [--profile] [--top-nodes N]
//                  [--compare-pytorch] [--rounds N] [--gap-ms N] [--json]
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
    /// Interleaved rounds of (this backend, then PyTorch); ratios are medians over rounds.
    var rounds = 1
    /// A pause before every timed run, as between an annotator's clicks: what a run costs when
    /// the machine was idle just before (threads asleep, caches and clocks cooled), which a
    /// back-to-back loop never shows.
    var gapMilliseconds = 0
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
        case "--rounds": o.rounds = positive(a)
        case "--gap-ms": o.gapMilliseconds = positive(a)
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
// Compile everything first; then each round times every workload on this backend and, with
// --compare-pytorch, right after it the same workloads in PyTorch. Interleaving rounds keeps
// the comparison fair on a machine whose speed drifts (shared VMs): each ratio compares runs
// made minutes apart, not one side's runs with the other's taken much later.
var prepared: [PreparedWorkload] = []
for name in options.workloads {
    if !options.json { print("compiling \(name)...") }
    do { prepared.append(try Workload.all[name]!.prepare(on: backend, name: name)) } catch { fail("\(name): \(error)") }
}
let torchNames = options.workloads.filter { $0 != "vit-h-encoder" }
var torchInfo: [String: Any]? = nil
for round in 1...options.rounds {
    var swiftMedians: [String: Double] = [:]
    for w in prepared {
        let runs = w.name.hasPrefix("vit") ? options.vitRuns : options.runs
        if !options.json { print("round \(round)/\(options.rounds): \(w.name) (\(runs) runs, \(options.threads) threads)...") }
        do { swiftMedians[w.name] = try w.sample(runs: runs, gapMilliseconds: options.gapMilliseconds) } catch { fail("\(w.name): \(error)") }
    }
    if options.comparePyTorch && !torchNames.isEmpty {
        if !options.json { print("round \(round)/\(options.rounds): scripts/bench/pytorch.py for \(torchNames.joined(separator: ","))...") }
        do {
            let torch = try PyTorchRun.run(workloads: torchNames, threads: options.threads, runs: options.runs,
                                           vitRuns: options.vitRuns)
            torchInfo = torch
            let t = torch["workloads"] as? [String: [String: Any]] ?? [:]
            for w in prepared {
                if let m = t[w.name]?["median_ms"] as? Double, let s = swiftMedians[w.name] {
                    w.roundMedians.append((s, m))
                }
            }
        } catch {
            fail("PyTorch comparison: \(error)")
        }
    }
}
var rows: [WorkloadResult] = []
for w in prepared {
    var profile: ProfileReport? = nil
    if options.profile {
        do { profile = try w.profile() } catch { fail("\(w.name): \(error)") }
        if !options.json, let p = profile {
            print("profile of \(w.name):")
            print(Report.profileTable(p))
            if options.topNodes > 0 { print(Report.nodeTable(p, top: options.topNodes)) }
        }
    }
    rows.append(w.result(profile: profile))
}
Report.print(rows, torch: torchInfo, threads: options.threads, json: options.json, device: backend.info)

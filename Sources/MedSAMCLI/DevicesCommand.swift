import ArgumentParser
import Segmentation
import TensorRuntime

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the compute devices of every backend.")

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let listings = BackendFactory.listAll()
        if json {
            try printJSON(["backends": listings])
            return
        }
        for l in listings {
            if let e = l.error {
                print("\(l.backend): none (\(e))")
                continue
            }
            for d in l.devices {
                let mem = d.memoryBytes.map { String(format: ", %.1f GiB", Double($0) / 1_073_741_824) } ?? ""
                var features: [String] = []
                if d.supportsFloat16 { features.append("fp16") }
                if d.supportsCooperativeMatrix { features.append("cooperative-matrix") }
                if let s = d.subgroupSize { features.append("subgroup \(s)") }
                print("\(l.backend) #\(d.index): \(d.name) [\(d.vendor), \(d.driver)\(mem)]"
                      + (features.isEmpty ? "" : " " + features.joined(separator: ", ")))
                for (k, v) in d.details.sorted(by: { $0.key < $1.key }) { print("    \(k): \(v)") }
            }
        }
    }
}

import ArgumentParser
import TensorRuntime

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List every linked backend and its compute devices.")

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let listings = BackendRegistry.shared.listDevices()
        // What `--backend auto` would open here, or why it can open nothing.
        let auto: String
        do {
            let r = try BackendRegistry.shared.resolve(BackendRequest())
            auto = "\(r.name) #\(r.deviceIndex)"
        } catch {
            auto = "none (\(error))"
        }
        if json {
            try printJSON(DevicesReport(backends: listings, auto: auto))
            return
        }
        for l in listings {
            print("\(l.backend): \(l.summary)")
            if let e = l.error {
                print("  no device (\(e))")
                continue
            }
            for d in l.devices {
                let mem = d.memoryBytes.map { String(format: ", %.1f GiB", Double($0) / 1_073_741_824) } ?? ""
                var features: [String] = []
                if d.supportsFloat16 { features.append("fp16") }
                if d.supportsCooperativeMatrix { features.append("cooperative-matrix") }
                if let s = d.subgroupSize { features.append("subgroup \(s)") }
                print("  \(l.backend) #\(d.index): \(d.name) [\(d.vendor), \(d.driver)\(mem)]"
                      + (features.isEmpty ? "" : " " + features.joined(separator: ", ")))
                for (k, v) in d.details.sorted(by: { $0.key < $1.key }) { print("      \(k): \(v)") }
            }
        }
        print("auto: \(auto)")
    }
}

/// `medsam devices --json`: every linked backend with its devices, and `auto`'s choice.
struct DevicesReport: Encodable {
    var backends: [DeviceListing]
    var auto: String
}

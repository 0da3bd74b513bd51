import Foundation

/// Tile sizes of the GEMM kernel (`gemm_core.cl`), chosen once per device.
struct GemmTiles: Equatable, CustomStringConvertible {
    /// Output tile per work-group (rows x columns) and the depth staged in local memory.
    var tsm: Int, tsn: Int, tsk: Int
    /// Outputs per work-item (register block).
    var wptm: Int, wptn: Int

    var workGroup: (n: Int, m: Int) { (tsn / wptn, tsm / wptm) }
    var localBytes: Int { tsk * (tsm + 1 + tsn + 1) * 4 }
    var description: String { "\(tsm)x\(tsn)x\(tsk) tiles, \(wptm)x\(wptn) per work-item" }

    var defines: [String: Int] { ["TSM": tsm, "TSN": tsn, "TSK": tsk, "WPTM": wptm, "WPTN": wptn] }

    /// GPUs: the largest of 64x64 (16x16 work-items, 4x4 each), 32x32 or 16x16 tiles that fits the
    /// work-group and local-memory limits, so many work-groups keep the compute units busy.
    /// CPUs (PoCL and similar): work-items of a group run as loops on one core, so larger
    /// register blocks and fewer, deeper tiles amortise the loop and barrier overhead.
    static func choose(for d: CLDevice) -> GemmTiles {
        if let forced = fromEnvironment(), forced.fits(d) { return forced }
        let candidates: [GemmTiles]
        if d.isGPU {
            candidates = [GemmTiles(tsm: 64, tsn: 64, tsk: 16, wptm: 4, wptn: 4),
                          GemmTiles(tsm: 32, tsn: 32, tsk: 16, wptm: 4, wptn: 4),
                          GemmTiles(tsm: 16, tsn: 16, tsk: 8, wptm: 2, wptn: 2)]
        } else {
            candidates = [GemmTiles(tsm: 64, tsn: 64, tsk: 32, wptm: 8, wptn: 8),
                          GemmTiles(tsm: 32, tsn: 32, tsk: 16, wptm: 4, wptn: 4),
                          GemmTiles(tsm: 16, tsn: 16, tsk: 8, wptm: 2, wptn: 2)]
        }
        for t in candidates where t.fits(d) { return t }
        // Any conforming device runs a 4x4 group with 4 kB of local memory.
        return GemmTiles(tsm: 4, tsn: 4, tsk: 4, wptm: 1, wptn: 1)
    }

    func fits(_ d: CLDevice) -> Bool {
        let wg = workGroup
        return tsm % wptm == 0 && tsn % wptn == 0
            && wg.n * wg.m <= d.maxWorkGroupSize
            && wg.n <= (d.maxWorkItemSizes.first ?? wg.n)
            && wg.m <= (d.maxWorkItemSizes.dropFirst().first ?? wg.m)
            && localBytes <= d.localMemBytes
    }

    /// `MEDSAM_OPENCL_GEMM_TILES=TSM,TSN,TSK,WPTM,WPTN` overrides the choice (for tuning on a
    /// new device); ignored when malformed or beyond the device's limits.
    static func fromEnvironment() -> GemmTiles? {
        guard let text = ProcessInfo.processInfo.environment["MEDSAM_OPENCL_GEMM_TILES"] else { return nil }
        let v = text.split(separator: ",").compactMap { Int($0) }
        guard v.count == 5, v.allSatisfy({ $0 > 0 }) else { return nil }
        return GemmTiles(tsm: v[0], tsn: v[1], tsk: v[2], wptm: v[3], wptn: v[4])
    }
}

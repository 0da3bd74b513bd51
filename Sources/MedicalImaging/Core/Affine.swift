import Foundation

/// A 4x4 homogeneous matrix mapping voxel indices (i, j, k, 1) to world millimetres.
///
/// Row-major: `m[r][c]`. The last row is (0, 0, 0, 1) for every affine built here.
public struct Affine: Equatable, Codable, Sendable {
    public var m: [[Double]]

    public init(_ rows: [[Double]]) {
        precondition(rows.count == 4 && rows.allSatisfy { $0.count == 4 }, "Affine needs 4x4 values")
        m = rows
    }

    public static let identity = Affine([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])

    /// An affine from three column vectors (the world step of one voxel along i, j, k) and an origin.
    public init(columns c: [[Double]], origin o: [Double]) {
        m = [[c[0][0], c[1][0], c[2][0], o[0]],
             [c[0][1], c[1][1], c[2][1], o[1]],
             [c[0][2], c[1][2], c[2][2], o[2]],
             [0, 0, 0, 1]]
    }

    public func column(_ c: Int) -> [Double] { [m[0][c], m[1][c], m[2][c]] }

    /// The length of each voxel axis in world units (the voxel spacing the affine implies).
    public var columnNorms: [Double] {
        (0..<3).map { c in (0..<3).reduce(0) { $0 + m[$1][c] * m[$1][c] }.squareRoot() }
    }

    public func apply(_ p: [Double]) -> [Double] {
        (0..<3).map { r in m[r][0] * p[0] + m[r][1] * p[1] + m[r][2] * p[2] + m[r][3] }
    }

    /// The same mapping with the world's first two axes negated: LPS <-> RAS.
    public var flippingXY: Affine {
        var out = self
        for c in 0..<4 { out.m[0][c] = -m[0][c]; out.m[1][c] = -m[1][c] }
        return out
    }

    /// Whether every entry differs from `other`'s by at most `tolerance`.
    public func isClose(to other: Affine, tolerance: Double = 1e-4) -> Bool {
        zip(m.joined(), other.m.joined()).allSatisfy { abs($0 - $1) <= tolerance }
    }
}

/// The world frame an affine maps into.
public enum WorldFrame: String, Codable, Sendable {
    /// NIfTI / nibabel ("RAS+"): +x towards the patient's right, +y anterior, +z superior.
    case ras = "RAS"
    /// DICOM / ITK: +x towards the patient's left, +y posterior, +z superior ("LPS+").
    case lps = "LPS"
}

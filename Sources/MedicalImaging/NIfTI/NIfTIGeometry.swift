import Foundation

/// The header fields that place a NIfTI image in the world. Copied verbatim from an input so a
/// mask written for it lands on exactly the same grid (same qform, sform and pixdim).
public struct NIfTIGeometry: Equatable, Codable, Sendable {
    public var qformCode: Int
    public var sformCode: Int
    /// quatern_b, quatern_c, quatern_d.
    public var quaternion: [Double]
    /// qoffset_x, qoffset_y, qoffset_z.
    public var qoffset: [Double]
    /// pixdim[0...7]; pixdim[0] is qfac (the handedness of the qform, ±1).
    public var pixdim: [Double]
    /// srow_x, srow_y, srow_z (each 4 values).
    public var srow: [[Double]]
    public var xyztUnits: Int

    public init(qformCode: Int, sformCode: Int, quaternion: [Double], qoffset: [Double], pixdim: [Double],
                srow: [[Double]], xyztUnits: Int) {
        self.qformCode = qformCode
        self.sformCode = sformCode
        self.quaternion = quaternion
        self.qoffset = qoffset
        self.pixdim = pixdim
        self.srow = srow
        self.xyztUnits = xyztUnits
    }

    /// qfac: the sign of the third axis in the qform (pixdim[0]; 0 is read as 1, as the standard says).
    public var qfac: Double { pixdim[0] < 0 ? -1 : 1 }

    /// The qform as an affine (NIfTI "method 2"): rotation from the unit quaternion, columns scaled
    /// by pixdim[1...3] (the third by qfac), translated by qoffset.
    public var qformAffine: Affine {
        var b = quaternion[0], c = quaternion[1], d = quaternion[2]
        var a2 = 1 - (b * b + c * c + d * d)
        if a2 < 1e-7 {
            // Rounding can push the norm just over 1: renormalise and take a = 0, as nifti_clib does.
            let n = (b * b + c * c + d * d).squareRoot()
            b /= n; c /= n; d /= n
            a2 = 0
        }
        let a = a2.squareRoot()
        let r: [[Double]] = [
            [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
            [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
            [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
        ]
        let scale = [pixdim[1], pixdim[2], pixdim[3] * qfac]
        var rows = [[Double]]()
        for i in 0..<3 {
            rows.append([r[i][0] * scale[0], r[i][1] * scale[1], r[i][2] * scale[2], qoffset[i]])
        }
        rows.append([0, 0, 0, 1])
        return Affine(rows)
    }

    /// The sform as an affine ("method 3").
    public var sformAffine: Affine { Affine(srow + [[0, 0, 0, 1]]) }

    /// The affine nibabel reports: the sform when its code is set, else the qform when its code is
    /// set, else nibabel's fallback (voxel sizes with x flipped, origin at the volume centre).
    public func bestAffine(dims: [Int]) -> Affine {
        if sformCode > 0 { return sformAffine }
        if qformCode > 0 { return qformAffine }
        let z = (1...3).map { pixdim[$0] == 0 ? 1 : pixdim[$0] }
        let centre = (0..<3).map { Double(dims[$0] - 1) / 2 }
        return Affine([[-z[0], 0, 0, centre[0] * z[0]],
                       [0, z[1], 0, -centre[1] * z[1]],
                       [0, 0, z[2], -centre[2] * z[2]],
                       [0, 0, 0, 1]])
    }

    /// Geometry for a volume that did not come from NIfTI (e.g. a DICOM series): both sform and
    /// qform describe `ras` (code 1, scanner anatomical), pixdim holds the column lengths.
    public init(rasAffine ras: Affine) {
        let cols = (0..<3).map { ras.column($0) }
        let norms = ras.columnNorms.map { $0 == 0 ? 1 : $0 }
        // Orthonormalise (Gram-Schmidt): a qform can only hold a rotation.
        func unit(_ v: [Double]) -> [Double] {
            let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).squareRoot()
            return n == 0 ? v : v.map { $0 / n }
        }
        func dot(_ u: [Double], _ v: [Double]) -> Double { u[0] * v[0] + u[1] * v[1] + u[2] * v[2] }
        let e0 = unit(cols[0].allSatisfy { $0 == 0 } ? [1, 0, 0] : cols[0])
        var c1 = cols[1].allSatisfy { $0 == 0 } ? [0, 1, 0] : cols[1]
        c1 = unit((0..<3).map { c1[$0] - dot(c1, e0) * e0[$0] })
        let cross = [e0[1] * c1[2] - e0[2] * c1[1], e0[2] * c1[0] - e0[0] * c1[2], e0[0] * c1[1] - e0[1] * c1[0]]
        // A left-handed grid keeps the proper rotation (e0, c1, e0 x c1) and sets qfac = -1.
        let qfac: Double = dot(cols[2], cross) < 0 ? -1 : 1
        let r = [[e0[0], c1[0], cross[0]], [e0[1], c1[1], cross[1]], [e0[2], c1[2], cross[2]]]
        let trace = r[0][0] + r[1][1] + r[2][2]
        var a, b, c, d: Double
        if trace > 0 {
            let s = 0.5 / (trace + 1).squareRoot()
            a = 0.25 / s
            b = (r[2][1] - r[1][2]) * s
            c = (r[0][2] - r[2][0]) * s
            d = (r[1][0] - r[0][1]) * s
        } else if r[0][0] > r[1][1] && r[0][0] > r[2][2] {
            let s = 2 * (1 + r[0][0] - r[1][1] - r[2][2]).squareRoot()
            a = (r[2][1] - r[1][2]) / s
            b = 0.25 * s
            c = (r[0][1] + r[1][0]) / s
            d = (r[0][2] + r[2][0]) / s
        } else if r[1][1] > r[2][2] {
            let s = 2 * (1 + r[1][1] - r[0][0] - r[2][2]).squareRoot()
            a = (r[0][2] - r[2][0]) / s
            b = (r[0][1] + r[1][0]) / s
            c = 0.25 * s
            d = (r[1][2] + r[2][1]) / s
        } else {
            let s = 2 * (1 + r[2][2] - r[0][0] - r[1][1]).squareRoot()
            a = (r[1][0] - r[0][1]) / s
            b = (r[0][2] + r[2][0]) / s
            c = (r[1][2] + r[2][1]) / s
            d = 0.25 * s
        }
        if a < 0 { b = -b; c = -c; d = -d; a = -a }
        self.init(qformCode: 1, sformCode: 1, quaternion: [b, c, d],
                  qoffset: [ras.m[0][3], ras.m[1][3], ras.m[2][3]],
                  pixdim: [qfac, norms[0], norms[1], norms[2], 1, 1, 1, 1],
                  srow: Array(ras.m[0..<3]), xyztUnits: 2)  // 2 = millimetres
    }
}

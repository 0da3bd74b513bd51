import XCTest
@testable import MedicalImaging

final class SliceOrientationTests: XCTestCase {
    /// A 4 x 3 x 5 volume (distinct sizes, so a swapped axis shows) with this affine.
    private func volume(_ affine: [[Double]], frame: WorldFrame = .ras) -> Volume {
        let dims = [4, 3, 5]
        return Volume(voxels: (0..<60).map(Float.init), dims: dims, spacing: [1, 1, 1], affine: Affine(affine),
                      frame: frame, sourceType: .float32, source: "synthetic")
    }

    /// The RAS world position of display pixel (x, y) of `axis` slice `index`.
    private func world(_ v: Volume, _ axis: SliceAxis, _ index: Int, _ o: SliceOrientation, x: Int, y: Int) -> [Double] {
        let (ax, ay) = axis.inPlaneAxes
        let (dw, dh) = o.displaySize(arrayWidth: v.dims[ax], arrayHeight: v.dims[ay])
        let a = o.pointToArray(x: Double(x), y: Double(y), displayWidth: dw, displayHeight: dh)
        var ijk = [0.0, 0.0, 0.0]
        ijk[ax] = a.x; ijk[ay] = a.y; ijk[axis.normalAxis] = Double(index)
        return v.rasAffine.apply(ijk)
    }

    /// What the radiological convention means, checked in world coordinates and independent of
    /// how the flags are derived: on screen, right of the patient on the left (axial, coronal),
    /// anterior on the left (sagittal), and anterior (axial) or superior (others) at the top.
    private func assertRadiological(_ v: Volume, file: StaticString = #filePath, line: UInt = #line) {
        for axis in SliceAxis.allCases {
            let (o, plane) = SliceOrientation.radiological(affine: v.affine, frame: v.frame, axis: axis)
            let (ax, ay) = axis.inPlaneAxes
            let (w, h) = o.displaySize(arrayWidth: v.dims[ax], arrayHeight: v.dims[ay])
            let topLeft = world(v, axis, 1, o, x: 0, y: 0)
            let topRight = world(v, axis, 1, o, x: w - 1, y: 0)
            let bottomLeft = world(v, axis, 1, o, x: 0, y: h - 1)
            // World axes shown left-right and top-bottom for each plane.
            let (across, down) = plane == .axial ? (0, 1) : plane == .coronal ? (0, 2) : (1, 2)
            XCTAssertGreaterThan(topLeft[across], topRight[across], "\(axis) (\(plane)): screen x must run toward decreasing RAS axis \(across)", file: file, line: line)
            XCTAssertGreaterThan(topLeft[down], bottomLeft[down], "\(axis) (\(plane)): screen y must run toward decreasing RAS axis \(down)", file: file, line: line)
        }
    }

    func testIdentityRASFlipsBothAxesOfEveryPlane() {
        let v = volume([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
        for axis in SliceAxis.allCases {
            let (o, plane) = SliceOrientation.radiological(affine: v.affine, frame: .ras, axis: axis)
            // i grows toward the right, j anterior, k superior: every screen axis is mirrored.
            XCTAssertEqual(o, SliceOrientation(transpose: false, flipX: true, flipY: true), "\(axis)")
            XCTAssertEqual(plane.rawValue, axis.rawValue)
        }
        assertRadiological(v)
        // The axial slice 0 of i + 4 j: array rows [0 1 2 3], [4 5 6 7], [8 9 10 11] shown
        // turned by 180 degrees.
        let o = SliceOrientation.radiological(for: v, axis: .axial)
        let shown = o.toDisplay(try! v.slice(.axial, 0))
        XCTAssertEqual(shown.pixels, [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
    }

    func testDICOMAxialLPSIsAlreadyRadiological() {
        // ImageOrientationPatient 1,0,0,0,1,0 in LPS: i toward the patient's left, j posterior.
        let v = volume([[0.7, 0, 0, -100], [0, 0.7, 0, -120], [0, 0, 2.5, 30], [0, 0, 0, 1]], frame: .lps)
        XCTAssertEqual(SliceOrientation.radiological(for: v, axis: .axial), .identity)
        XCTAssertEqual(SliceOrientation.radiological(for: v, axis: .coronal), SliceOrientation(flipY: true))
        XCTAssertEqual(SliceOrientation.radiological(for: v, axis: .sagittal), SliceOrientation(flipY: true))
        assertRadiological(v)
    }

    func testRealDICOMAndNIfTIFixtures() throws {
        // pydicom's CT_small: an axial LPS slice shown as stored.
        guard case .volume(let ct) = try MedicalImageFile.read(Fixtures.url("dicom/CT_small.dcm")) else { return XCTFail("CT_small is a volume") }
        XCTAssertEqual(SliceOrientation.radiological(for: ct, axis: .axial), .identity)
        // nibabel's anatomical.nii: aff2axcodes gives L, A, S (affine diag(-2, 2, 2)), so axial
        // slices keep x (i already runs toward the left) and mirror y (j runs anterior).
        guard case .volume(let mr) = try MedicalImageFile.read(Fixtures.url("nifti/anatomical.nii")) else { return XCTFail("anatomical.nii is a volume") }
        XCTAssertEqual(SliceOrientation.radiological(for: mr, axis: .axial), SliceOrientation(flipY: true))
        XCTAssertEqual(SliceOrientation.radiological(for: mr, axis: .sagittal), SliceOrientation(flipX: true, flipY: true))
        assertRadiological(mr)
    }

    func testFlippedAxes() {
        // LAS with k inferior (diag(-1, 1, -1)): only the anterior and superior ends flip.
        let v = volume([[-1, 0, 0, 0], [0, 1, 0, 0], [0, 0, -1, 0], [0, 0, 0, 1]])
        XCTAssertEqual(SliceOrientation.radiological(for: v, axis: .axial), SliceOrientation(flipY: true))
        XCTAssertEqual(SliceOrientation.radiological(for: v, axis: .coronal), .identity)
        XCTAssertEqual(SliceOrientation.radiological(for: v, axis: .sagittal), SliceOrientation(flipX: true))
        assertRadiological(v)
    }

    func testPermutedSagittalAcquisition() {
        // i anterior, j inferior, k toward the right (a sagittal series): the array's "axial"
        // slices lie in the sagittal plane, its "coronal" ones in the axial plane.
        let v = volume([[0, 0, 1, 0], [1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 0, 1]])
        let axial = SliceOrientation.radiological(affine: v.affine, frame: .ras, axis: .axial)
        XCTAssertEqual(axial.plane, .sagittal)
        XCTAssertEqual(axial.orientation, SliceOrientation(transpose: false, flipX: true, flipY: false))
        let coronal = SliceOrientation.radiological(affine: v.affine, frame: .ras, axis: .coronal)
        XCTAssertEqual(coronal.plane, .axial)
        XCTAssertEqual(coronal.orientation, SliceOrientation(transpose: true, flipX: true, flipY: true))
        XCTAssertEqual(SliceOrientation.radiological(affine: v.affine, frame: .ras, axis: .sagittal).plane, .coronal)
        assertRadiological(v)
    }

    func testObliqueAffinesUseTheDominantAxes() {
        func rotated(_ degrees: Double, about axis: Int) -> [[Double]] {
            let c = cos(degrees * .pi / 180), s = sin(degrees * .pi / 180)
            var r = [[1.0, 0, 0], [0, 1, 0], [0, 0, 1]]
            let (p, q) = axis == 2 ? (0, 1) : axis == 1 ? (0, 2) : (1, 2)
            r[p][p] = c; r[p][q] = -s; r[q][p] = s; r[q][q] = c
            return [r[0] + [5], r[1] + [-3], r[2] + [7], [0, 0, 0, 1]]
        }
        // 30 degrees about z keeps i ~ right, j ~ anterior: the identity's display.
        for axis in [0, 1, 2] {
            let v = volume(rotated(30, about: axis))
            XCTAssertEqual(SliceOrientation.radiological(for: v, axis: .axial), SliceOrientation(flipX: true, flipY: true), "30 degrees about \(axis)")
            assertRadiological(v)
        }
        // 120 degrees about x: j now runs mostly superior and k mostly posterior.
        let v = volume(rotated(120, about: 0))
        let axial = SliceOrientation.radiological(affine: v.affine, frame: .ras, axis: .axial)
        XCTAssertEqual(axial.plane, .coronal)
        assertRadiological(v)
        // Exactly 45 degrees: both i and j are as much x as y; the tie still gives each array
        // axis its own world axis.
        let (world, _) = SliceOrientation.dominantWorldAxes(Affine(rotated(45, about: 2)))
        XCTAssertEqual(Set(world), [0, 1, 2])
    }

    func testImagesPointsAndBoxesMapBothWays() {
        // A 5 x 3 three-channel image whose values name their array pixel.
        let w = 5, h = 3, channels = 3
        let pixels = (0..<(w * h * channels)).map(Float.init)
        let image = Image(pixels: pixels, height: h, width: w, channels: channels, spacing: [2, 0.5])
        for bits in 0..<8 {
            let o = SliceOrientation(transpose: bits & 1 != 0, flipX: bits & 2 != 0, flipY: bits & 4 != 0)
            let shown = o.toDisplay(image)
            XCTAssertEqual(o.toArray(shown), image, "\(o)")
            XCTAssertEqual([shown.width, shown.height], o.transpose ? [h, w] : [w, h])
            XCTAssertEqual(shown.spacing, o.transpose ? [0.5, 2] : [2, 0.5])
            for y in 0..<h {
                for x in 0..<w {
                    let d = o.pointToDisplay(x: Double(x), y: Double(y), arrayWidth: w, arrayHeight: h)
                    for c in 0..<channels {
                        XCTAssertEqual(shown[x: Int(d.x), y: Int(d.y), c: c], image[x: x, y: y, c: c], "\(o) pixel \(x),\(y)")
                    }
                    let back = o.pointToArray(x: d.x, y: d.y, displayWidth: shown.width, displayHeight: shown.height)
                    XCTAssertEqual([back.x, back.y], [Double(x), Double(y)])
                }
            }
            // A box through the display and back is the same box; its corners stay ordered.
            let box = [1.0, 0.0, 3.0, 2.0]
            let d = o.boxToDisplay(box, arrayWidth: w, arrayHeight: h)
            XCTAssertTrue(d[0] <= d[2] && d[1] <= d[3], "\(o): \(d)")
            XCTAssertEqual(o.boxToArray(d, displayWidth: shown.width, displayHeight: shown.height), box, "\(o)")
        }
        // The tight box of a mask in the display is the display box of its array tight box.
        let o = SliceOrientation(transpose: true, flipX: true, flipY: false)
        var mask = [UInt8](repeating: 0, count: w * h)
        mask[1 * w + 2] = 1; mask[2 * w + 3] = 1             // array pixels (2, 1) and (3, 2)
        let shown = o.toDisplay(mask, arrayWidth: w, arrayHeight: h)
        let (dw, _) = o.displaySize(arrayWidth: w, arrayHeight: h)
        let on = shown.indices.filter { shown[$0] == 1 }.map { (Double($0 % dw), Double($0 / dw)) }
        let tight = [on.map(\.0).min()!, on.map(\.1).min()!, on.map(\.0).max()!, on.map(\.1).max()!]
        XCTAssertEqual(tight, o.boxToDisplay([2, 1, 3, 2], arrayWidth: w, arrayHeight: h))
    }

    func testDisplayConventionChoosesIdentityForArrayAndTwoDImages() {
        let v = volume([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
        XCTAssertEqual(SliceOrientation.display(.array, volume: v, axis: .axial), .identity)
        XCTAssertEqual(SliceOrientation.display(.radiological, volume: nil, axis: .axial), .identity)
        XCTAssertEqual(SliceOrientation.display(.radiological, volume: v, axis: .axial), SliceOrientation(flipX: true, flipY: true))
        XCTAssertEqual(SliceOrientation(transpose: true, flipY: true).summary, "transposed, flipped top-bottom")
        XCTAssertEqual(SliceOrientation.identity.summary, "as stored")
    }
}

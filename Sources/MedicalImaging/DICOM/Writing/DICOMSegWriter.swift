import Foundation

/// One segment of a DICOM SEG: the label value it has in the mask, and how it is described.
public struct DICOMSegment: Sendable, Equatable {
    public var label: Int
    /// SegmentLabel (a short name, e.g. "tumour").
    public var name: String
    /// SegmentDescription, optional.
    public var description: String?
    /// SegmentedPropertyCategory and Type codes (value, scheme, meaning); SNOMED CT
    /// "Tissue" / "Tissue" by default.
    public var category: (String, String, String)
    public var type: (String, String, String)

    public init(label: Int, name: String, description: String? = nil,
                category: (String, String, String) = ("85756007", "SCT", "Tissue"),
                type: (String, String, String) = ("85756007", "SCT", "Tissue")) {
        self.label = label
        self.name = name
        self.description = description
        self.category = category
        self.type = type
    }

    public static func == (a: DICOMSegment, b: DICOMSegment) -> Bool {
        a.label == b.label && a.name == b.name && a.description == b.description && a.category == b.category && a.type == b.type
    }
}

/// Writes a label mask on the grid of a DICOM volume as a binary DICOM Segmentation (PS3.3
/// A.51): one frame per segment and slice, each frame referencing its source image, positions
/// and orientation copied from the source, patient and study attributes copied so PACS file it
/// with the images.
public enum DICOMSegWriter {
    static let segmentationStorage = "1.2.840.10008.5.1.4.1.1.66.4"

    /// Writes `labels` (voxel order of `reference`, values 0...255; 0 is background) as a SEG.
    /// Every label value in `segments` gets a segment (an empty one still gets its frames).
    /// `reference` must come from single-frame DICOM images (its `dicomSource`).
    public static func write(_ labels: [UInt8], like reference: Volume, segments: [DICOMSegment], to url: URL,
                             algorithm: String = "medsam-swift", seriesDescription: String = "Segmentation") throws {
        let bytes = try encode(labels, like: reference, segments: segments, algorithm: algorithm,
                               seriesDescription: seriesDescription, path: url.path)
        try AtomicFile.write(bytes, to: url)
    }

    static func encode(_ labels: [UInt8], like v: Volume, segments: [DICOMSegment], algorithm: String,
                       seriesDescription: String, path: String, now: Date = Date()) throws -> [UInt8] {
        func invalid(_ field: String, _ m: String) -> ImagingError { ImagingError(.invalidArgument, path: path, field: field, m) }
        guard let source = v.dicomSource, source.instances.count == v.nz else {
            throw invalid("reference", "the volume (\(v.source)) was not read from single-frame DICOM images, so a SEG cannot reference them; write NIfTI or NRRD instead")
        }
        guard labels.count == v.voxels.count else {
            throw invalid("mask", "has \(labels.count) voxels, the reference volume \(v.dims) has \(v.voxels.count)")
        }
        guard !segments.isEmpty, Set(segments.map(\.label)).count == segments.count,
              segments.allSatisfy({ (1...255).contains($0.label) && !$0.name.isEmpty }) else {
            throw invalid("segments", "need at least one segment, distinct labels 1...255 and non-empty names")
        }
        let a = v.lpsAffine
        let spacing = a.columnNorms
        let row = a.column(0).map { $0 / spacing[0] }, column = a.column(1).map { $0 / spacing[1] }
        func ds(_ x: Double) -> String {
            // DS holds at most 16 characters.
            var s = String(format: "%.10g", x)
            if s.count > 16 { s = String(format: "%.6g", x) }
            return s == "-0" ? "0" : s
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: now)
        func two(_ x: Int?) -> String { String(format: "%02d", x ?? 0) }
        let date = String(format: "%04d", c.year ?? 1970) + two(c.month) + two(c.day)
        let time = two(c.hour) + two(c.minute) + two(c.second)
        let seriesUID = DICOMUID.make(), instanceUID = DICOMUID.make(), dimensionUID = DICOMUID.make()

        var d = DICOMWriteSet()
        d.set(DICOMTag(0x0008, 0x0005), "CS", "ISO_IR 192")
        d.set(DICOMTag(0x0008, 0x0008), "CS", "DERIVED", "PRIMARY")
        d.set(DICOMSource.sopClassUID, "UI", segmentationStorage)
        d.set(DICOMSource.sopInstanceUID, "UI", instanceUID)
        d.set(DICOMTag(0x0008, 0x0012), "DA", date)
        d.set(DICOMTag(0x0008, 0x0013), "TM", time)
        d.set(DICOMTag(0x0008, 0x0023), "DA", date)
        d.set(DICOMTag(0x0008, 0x0033), "TM", time)
        d.set(.modality, "CS", "SEG")
        d.set(DICOMTag(0x0008, 0x0070), "LO", "medsam-swift")
        d.set(DICOMTag(0x0008, 0x103E), "LO", seriesDescription)
        d.set(DICOMTag(0x0008, 0x1090), "LO", "medsam-swift")
        d.set(DICOMTag(0x0018, 0x1000), "LO", "1")
        d.set(DICOMTag(0x0018, 0x1020), "LO", "1")
        for (name, tag) in DICOMSource.copiedTags {
            let vr = ["PatientName": "PN", "ReferringPhysicianName": "PN", "PatientBirthDate": "DA", "StudyDate": "DA",
                      "StudyTime": "TM", "PatientSex": "CS", "StudyInstanceUID": "UI", "StudyID": "SH",
                      "AccessionNumber": "SH", "PatientID": "LO"][name]!
            d.set(tag, vr, source.study[name] ?? "")
        }
        if (source.study["StudyInstanceUID"] ?? "").isEmpty { d.set(DICOMTag(0x0020, 0x000D), "UI", DICOMUID.make()) }
        d.set(.seriesInstanceUID, "UI", seriesUID)
        d.set(DICOMTag(0x0020, 0x0011), "IS", "9901")
        d.set(.instanceNumber, "IS", "1")
        d.set(DICOMSource.frameOfReferenceUID, "UI", source.frameOfReferenceUID ?? DICOMUID.make())
        d.set(DICOMTag(0x0020, 0x1040), "LO", "")
        d.set(.photometricInterpretation, "CS", "MONOCHROME2")
        d.us(.samplesPerPixel, 1)
        d.us(.rows, v.ny)
        d.us(.columns, v.nx)
        d.us(.bitsAllocated, 1)
        d.us(.bitsStored, 1)
        d.us(DICOMTag(0x0028, 0x0102), 0)
        d.us(.pixelRepresentation, 0)
        d.set(DICOMTag(0x0028, 0x2110), "CS", "00")
        d.set(DICOMTag(0x0062, 0x0001), "CS", "BINARY")
        d.set(DICOMTag(0x0070, 0x0080), "CS", "SEGMENTATION")
        d.set(DICOMTag(0x0070, 0x0081), "LO", String(seriesDescription.prefix(64)))
        d.set(DICOMTag(0x0070, 0x0084), "PN", "")

        func code(_ c: (String, String, String)) -> DICOMWriteSet {
            var item = DICOMWriteSet()
            item.set(DICOMTag(0x0008, 0x0100), "SH", c.0)
            item.set(DICOMTag(0x0008, 0x0102), "SH", c.1)
            item.set(DICOMTag(0x0008, 0x0104), "LO", c.2)
            return item
        }
        d.sequence(DICOMTag(0x0062, 0x0002), segments.enumerated().map { n, s in
            var item = DICOMWriteSet()
            item.sequence(DICOMTag(0x0062, 0x0003), [code(s.category)])
            item.us(DICOMTag(0x0062, 0x0004), n + 1)
            item.set(DICOMTag(0x0062, 0x0005), "LO", String(s.name.prefix(64)))
            if let text = s.description { item.set(DICOMTag(0x0062, 0x0006), "ST", text) }
            item.set(DICOMTag(0x0062, 0x0008), "CS", "AUTOMATIC")
            item.set(DICOMTag(0x0062, 0x0009), "LO", String(algorithm.prefix(64)))
            item.sequence(DICOMTag(0x0062, 0x000F), [code(s.type)])
            return item
        })
        // Dimensions: segment number, then position along the slices.
        var organisation = DICOMWriteSet()
        organisation.set(DICOMTag(0x0020, 0x9164), "UI", dimensionUID)
        d.sequence(DICOMTag(0x0020, 0x9221), [organisation])
        var bySegment = DICOMWriteSet(), byPosition = DICOMWriteSet()
        bySegment.set(DICOMTag(0x0020, 0x9164), "UI", dimensionUID)
        bySegment.at(DICOMTag(0x0020, 0x9165), DICOMTag(0x0062, 0x000B))
        bySegment.at(DICOMTag(0x0020, 0x9167), DICOMTag(0x0062, 0x000A))
        byPosition.set(DICOMTag(0x0020, 0x9164), "UI", dimensionUID)
        byPosition.at(DICOMTag(0x0020, 0x9165), .imagePositionPatient)
        byPosition.at(DICOMTag(0x0020, 0x9167), FunctionalGroups.planePosition)
        d.sequence(DICOMTag(0x0020, 0x9222), [bySegment, byPosition])

        var shared = DICOMWriteSet(), measures = DICOMWriteSet(), orientation = DICOMWriteSet()
        measures.set(.pixelSpacing, "DS", ds(spacing[1]), ds(spacing[0]))
        measures.set(.sliceThickness, "DS", ds(spacing[2]))
        measures.set(.spacingBetweenSlices, "DS", ds(spacing[2]))
        orientation.set(.imageOrientationPatient, "DS", list: (row + column).map(ds))
        shared.sequence(FunctionalGroups.pixelMeasures, [measures])
        shared.sequence(FunctionalGroups.planeOrientation, [orientation])
        d.sequence(FunctionalGroups.shared, [shared])

        let sliceSize = v.nx * v.ny
        var perFrame: [DICOMWriteSet] = []
        var bits = [UInt8](repeating: 0, count: (segments.count * v.nz * sliceSize + 7) / 8)
        var frame = 0
        for (n, s) in segments.enumerated() {
            for k in 0..<v.nz {
                var item = DICOMWriteSet()
                var content = DICOMWriteSet(), position = DICOMWriteSet(), ident = DICOMWriteSet()
                var derivation = DICOMWriteSet(), sourceImage = DICOMWriteSet()
                content.ul(DICOMTag(0x0020, 0x9157), [n + 1, k + 1])
                let p = (0..<3).map { a.m[$0][3] + Double(k) * a.m[$0][2] }
                position.set(.imagePositionPatient, "DS", list: p.map(ds))
                ident.us(DICOMTag(0x0062, 0x000B), n + 1)
                sourceImage.set(DICOMTag(0x0008, 0x1150), "UI", source.instances[k].sopClassUID)
                sourceImage.set(DICOMTag(0x0008, 0x1155), "UI", source.instances[k].sopInstanceUID)
                sourceImage.sequence(DICOMTag(0x0040, 0xA170), [code(("121322", "DCM", "Source image for image processing operation"))])
                // The mask is on the source's own grid: pixel (i, j) of this frame is pixel (i, j) there.
                sourceImage.set(DICOMTag(0x0028, 0x135A), "CS", "YES")
                derivation.sequence(DICOMTag(0x0008, 0x2112), [sourceImage])
                derivation.sequence(DICOMTag(0x0008, 0x9215), [code(("113076", "DCM", "Segmentation"))])
                item.sequence(DICOMTag(0x0008, 0x9124), [derivation])
                item.sequence(DICOMTag(0x0020, 0x9111), [content])
                item.sequence(FunctionalGroups.planePosition, [position])
                item.sequence(DICOMTag(0x0062, 0x000A), [ident])
                perFrame.append(item)
                // 1-bit frames follow each other without padding, first pixel in the lowest bit.
                let base = frame * sliceSize
                for i in 0..<sliceSize where Int(labels[k * sliceSize + i]) == s.label {
                    bits[(base + i) >> 3] |= 1 << UInt8((base + i) & 7)
                }
                frame += 1
            }
        }
        d.sequence(FunctionalGroups.perFrame, perFrame)
        d.set(.numberOfFrames, "IS", String(frame))
        // The images this SEG was derived from (Common Instance Reference module).
        var series = DICOMWriteSet()
        series.set(.seriesInstanceUID, "UI", source.seriesInstanceUID)
        series.sequence(DICOMTag(0x0008, 0x114A), Array(Set(source.instances.map(\.sopInstanceUID))).sorted().map { uid in
            var ref = DICOMWriteSet()
            ref.set(DICOMTag(0x0008, 0x1150), "UI", source.instances.first { $0.sopInstanceUID == uid }!.sopClassUID)
            ref.set(DICOMTag(0x0008, 0x1155), "UI", uid)
            return ref
        })
        d.sequence(DICOMTag(0x0008, 0x1115), [series])
        d.bytes(.pixelData, "OB", bits)
        return d.part10(sopClassUID: segmentationStorage, sopInstanceUID: instanceUID)
    }
}

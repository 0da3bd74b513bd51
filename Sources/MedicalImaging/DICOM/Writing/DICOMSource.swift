/// What a derived object (a DICOM SEG) must copy from, and point back to, the images it was made
/// from: the patient and study attributes, the frame of reference, and each slice's instance.
public struct DICOMSource: Equatable, Sendable {
    /// One source image.
    public struct Instance: Equatable, Sendable {
        public var sopClassUID: String
        public var sopInstanceUID: String
    }

    /// Patient and study attributes, copied verbatim into derived objects (PS3.3 C.7.1.1, C.7.2.1).
    public var study: [String: String]
    public var seriesInstanceUID: String
    public var frameOfReferenceUID: String?
    /// The source instance of each slice, in the volume's k order (one for a single image).
    public var instances: [Instance]

    /// The patient and study attributes copied (keyword, tag); all of type 1 or 2 in a SEG.
    static let copiedTags: [(String, DICOMTag)] = [
        ("PatientName", DICOMTag(0x0010, 0x0010)), ("PatientID", DICOMTag(0x0010, 0x0020)),
        ("PatientBirthDate", DICOMTag(0x0010, 0x0030)), ("PatientSex", DICOMTag(0x0010, 0x0040)),
        ("StudyInstanceUID", DICOMTag(0x0020, 0x000D)), ("StudyDate", DICOMTag(0x0008, 0x0020)),
        ("StudyTime", DICOMTag(0x0008, 0x0030)), ("ReferringPhysicianName", DICOMTag(0x0008, 0x0090)),
        ("StudyID", DICOMTag(0x0020, 0x0010)), ("AccessionNumber", DICOMTag(0x0008, 0x0050)),
    ]
    static let sopClassUID = DICOMTag(0x0008, 0x0016)
    static let sopInstanceUID = DICOMTag(0x0008, 0x0018)
    static let frameOfReferenceUID = DICOMTag(0x0020, 0x0052)

    /// The source attributes of one parsed image, or nil when it lacks the UIDs a reference needs.
    static func of(_ ds: DICOMDataSet) -> DICOMSource? {
        guard let sop = ds.string(sopInstanceUID), !sop.isEmpty,
              let cls = ds.string(sopClassUID).flatMap({ $0.isEmpty ? nil : $0 }) ?? (ds.sopClassUID.isEmpty ? nil : ds.sopClassUID),
              let series = ds.string(.seriesInstanceUID), !series.isEmpty else { return nil }
        var study: [String: String] = [:]
        for (name, tag) in copiedTags { if let v = ds.string(tag) { study[name] = v } }
        return DICOMSource(study: study, seriesInstanceUID: series, frameOfReferenceUID: ds.string(frameOfReferenceUID),
                           instances: [Instance(sopClassUID: cls, sopInstanceUID: sop)])
    }
}

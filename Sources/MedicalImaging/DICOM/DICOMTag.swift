/// A DICOM attribute tag (group, element), e.g. (0028,0010) Rows.
public struct DICOMTag: Hashable, Sendable, CustomStringConvertible {
    public var group: UInt16
    public var element: UInt16

    public init(_ group: UInt16, _ element: UInt16) {
        self.group = group
        self.element = element
    }

    public var description: String {
        let g = String(group, radix: 16, uppercase: true), e = String(element, radix: 16, uppercase: true)
        let pad = { (s: String) in String(repeating: "0", count: max(0, 4 - s.count)) + s }
        let name = DICOMTag.names[self].map { " \($0)" } ?? ""
        return "(\(pad(g)),\(pad(e)))\(name)"
    }

    static let transferSyntax = DICOMTag(0x0002, 0x0010)
    static let mediaStorageSOPClass = DICOMTag(0x0002, 0x0002)
    static let modality = DICOMTag(0x0008, 0x0060)
    static let sliceThickness = DICOMTag(0x0018, 0x0050)
    static let spacingBetweenSlices = DICOMTag(0x0018, 0x0088)
    static let seriesInstanceUID = DICOMTag(0x0020, 0x000E)
    static let instanceNumber = DICOMTag(0x0020, 0x0013)
    static let imagePositionPatient = DICOMTag(0x0020, 0x0032)
    static let imageOrientationPatient = DICOMTag(0x0020, 0x0037)
    static let samplesPerPixel = DICOMTag(0x0028, 0x0002)
    static let photometricInterpretation = DICOMTag(0x0028, 0x0004)
    static let planarConfiguration = DICOMTag(0x0028, 0x0006)
    static let numberOfFrames = DICOMTag(0x0028, 0x0008)
    static let rows = DICOMTag(0x0028, 0x0010)
    static let columns = DICOMTag(0x0028, 0x0011)
    static let pixelSpacing = DICOMTag(0x0028, 0x0030)
    static let bitsAllocated = DICOMTag(0x0028, 0x0100)
    static let bitsStored = DICOMTag(0x0028, 0x0101)
    static let pixelRepresentation = DICOMTag(0x0028, 0x0103)
    static let windowCenter = DICOMTag(0x0028, 0x1050)
    static let windowWidth = DICOMTag(0x0028, 0x1051)
    static let rescaleIntercept = DICOMTag(0x0028, 0x1052)
    static let rescaleSlope = DICOMTag(0x0028, 0x1053)
    // Palette Color Lookup Table module (PS3.3 C.7.6.3.1.5-6, C.7.9): R, G, B in element order.
    static let paletteDescriptors = [DICOMTag(0x0028, 0x1101), DICOMTag(0x0028, 0x1102), DICOMTag(0x0028, 0x1103)]
    static let paletteData = [DICOMTag(0x0028, 0x1201), DICOMTag(0x0028, 0x1202), DICOMTag(0x0028, 0x1203)]
    static let segmentedPaletteData = [DICOMTag(0x0028, 0x1221), DICOMTag(0x0028, 0x1222), DICOMTag(0x0028, 0x1223)]
    static let gridFrameOffsetVector = DICOMTag(0x3004, 0x000C)
    static let doseGridScaling = DICOMTag(0x3004, 0x000E)
    static let pixelData = DICOMTag(0x7FE0, 0x0010)
    static let item = DICOMTag(0xFFFE, 0xE000)
    static let itemDelimiter = DICOMTag(0xFFFE, 0xE00D)
    static let sequenceDelimiter = DICOMTag(0xFFFE, 0xE0DD)

    static let names: [DICOMTag: String] = [
        transferSyntax: "TransferSyntaxUID", modality: "Modality", sliceThickness: "SliceThickness",
        spacingBetweenSlices: "SpacingBetweenSlices", seriesInstanceUID: "SeriesInstanceUID",
        instanceNumber: "InstanceNumber", imagePositionPatient: "ImagePositionPatient",
        imageOrientationPatient: "ImageOrientationPatient", samplesPerPixel: "SamplesPerPixel",
        photometricInterpretation: "PhotometricInterpretation", planarConfiguration: "PlanarConfiguration", numberOfFrames: "NumberOfFrames",
        rows: "Rows", columns: "Columns", pixelSpacing: "PixelSpacing", bitsAllocated: "BitsAllocated",
        bitsStored: "BitsStored", pixelRepresentation: "PixelRepresentation", windowCenter: "WindowCenter",
        windowWidth: "WindowWidth", rescaleIntercept: "RescaleIntercept", rescaleSlope: "RescaleSlope",
        gridFrameOffsetVector: "GridFrameOffsetVector", doseGridScaling: "DoseGridScaling",
        pixelData: "PixelData",
        paletteDescriptors[0]: "RedPaletteColorLookupTableDescriptor",
        paletteDescriptors[1]: "GreenPaletteColorLookupTableDescriptor",
        paletteDescriptors[2]: "BluePaletteColorLookupTableDescriptor",
        paletteData[0]: "RedPaletteColorLookupTableData", paletteData[1]: "GreenPaletteColorLookupTableData",
        paletteData[2]: "BluePaletteColorLookupTableData",
        segmentedPaletteData[0]: "SegmentedRedPaletteColorLookupTableData",
        segmentedPaletteData[1]: "SegmentedGreenPaletteColorLookupTableData",
        segmentedPaletteData[2]: "SegmentedBluePaletteColorLookupTableData",
    ]
}

/// The DICOM transfer syntaxes this reader recognises by name.
enum TransferSyntax {
    static let implicitLittle = "1.2.840.10008.1.2"
    static let explicitLittle = "1.2.840.10008.1.2.1"
    static let deflatedExplicitLittle = "1.2.840.10008.1.2.1.99"
    static let explicitBig = "1.2.840.10008.1.2.2"
    static let jpegBaseline = "1.2.840.10008.1.2.4.50"
    static let jpegExtended = "1.2.840.10008.1.2.4.51"
    static let jpegLossless = "1.2.840.10008.1.2.4.57"
    static let jpegLosslessSV1 = "1.2.840.10008.1.2.4.70"
    static let jpegLSLossless = "1.2.840.10008.1.2.4.80"
    static let jpegLSNearLossless = "1.2.840.10008.1.2.4.81"
    static let jpeg2000Lossless = "1.2.840.10008.1.2.4.90"
    static let jpeg2000 = "1.2.840.10008.1.2.4.91"
    static let rle = "1.2.840.10008.1.2.5"

    /// The compressed transfer syntaxes `DICOMPixelData` decodes (all encapsulate the pixel data).
    static let encapsulated: Set<String> = [
        jpegBaseline, jpegExtended, jpegLossless, jpegLosslessSV1, jpegLSLossless, jpegLSNearLossless,
        jpeg2000Lossless, jpeg2000, rle,
    ]

    static let names: [String: String] = [
        implicitLittle: "Implicit VR Little Endian",
        explicitLittle: "Explicit VR Little Endian",
        deflatedExplicitLittle: "Deflated Explicit VR Little Endian",
        explicitBig: "Explicit VR Big Endian (retired)",
        "1.2.840.10008.1.2.4.50": "JPEG Baseline (Process 1)",
        "1.2.840.10008.1.2.4.51": "JPEG Extended (Process 2 & 4)",
        "1.2.840.10008.1.2.4.57": "JPEG Lossless, Non-Hierarchical (Process 14)",
        "1.2.840.10008.1.2.4.70": "JPEG Lossless, First-Order Prediction (Process 14, SV1)",
        "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
        "1.2.840.10008.1.2.4.81": "JPEG-LS Near-Lossless",
        "1.2.840.10008.1.2.4.90": "JPEG 2000 (Lossless Only)",
        "1.2.840.10008.1.2.4.91": "JPEG 2000",
        "1.2.840.10008.1.2.4.201": "High-Throughput JPEG 2000 (Lossless Only)",
        "1.2.840.10008.1.2.4.202": "High-Throughput JPEG 2000 with RPCL (Lossless Only)",
        "1.2.840.10008.1.2.4.203": "High-Throughput JPEG 2000",
        "1.2.840.10008.1.2.5": "RLE Lossless",
        "1.2.840.10008.1.2.4.100": "MPEG2 Main Profile / Main Level",
        "1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264 High Profile",
    ]

    static func describe(_ uid: String) -> String {
        names[uid].map { "\(uid) (\($0))" } ?? uid
    }
}

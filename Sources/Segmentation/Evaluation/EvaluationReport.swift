import Foundation
import MedicalImaging

/// Keeps the best and the worst scored objects (by Dice, for one mask choice) for the report's
/// gallery, so a long run holds a few slices rather than every one.
public final class GalleryCollector {
    public let count: Int
    public let maskChoice: MaskChoice
    public private(set) var best: [GalleryItem] = []
    public private(set) var worst: [GalleryItem] = []

    public init(count: Int, maskChoice: MaskChoice) {
        self.count = count
        self.maskChoice = maskChoice
    }

    /// Indices into `rows` (all scored objects, in the order a fresh run offers them) of the
    /// objects a collector of `count` for `maskChoice` ends up with: which cases a resumed run
    /// must draw again so that its gallery is a fresh run's.
    public static func selection(of rows: [EvaluationRow], count: Int, maskChoice: MaskChoice) -> Set<Int> {
        guard count > 0 else { return [] }
        let candidates = rows.indices.filter { rows[$0].maskChoice == maskChoice }
        // The same ranking as `offer`: Dice, ties to the earlier object.
        let best = candidates.sorted { rows[$0].dice != rows[$1].dice ? rows[$0].dice > rows[$1].dice : $0 < $1 }.prefix(count)
        let worst = candidates.sorted { rows[$0].dice != rows[$1].dice ? rows[$0].dice < rows[$1].dice : $0 < $1 }.prefix(count)
        return Set(best).union(worst)
    }

    public func offer(_ item: GalleryItem) {
        guard count > 0, item.row.maskChoice == maskChoice else { return }
        // Ties go to the earlier object, so the gallery is the same on every run.
        // The new item goes after every equal one already held (a stable insertion).
        best.insert(item, at: best.firstIndex { $0.row.dice < item.row.dice } ?? best.endIndex)
        if best.count > count { best.removeLast() }
        worst.insert(item, at: worst.firstIndex { $0.row.dice > item.row.dice } ?? worst.endIndex)
        if worst.count > count { worst.removeLast() }
    }
}

/// The self-contained HTML report of an evaluation: tables, a mode x label heat map, box plots
/// of Dice and NSD (SVG), predicted against true IoU (SVG), and overlays of the best and worst
/// objects (inline PNG). Nothing in it is fetched from the network.
public enum EvaluationReport {
    public static func html(summary: EvaluationSummary, rows: [EvaluationRow], gallery: GalleryCollector?,
                            title: String = "medsam evaluate") throws -> String {
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body{font-family:sans-serif;margin:1.5em;color:#222}
        table{border-collapse:collapse;margin:0.5em 0 1.5em}
        td,th{border:1px solid #bbb;padding:3px 7px;text-align:right;font-size:13px}
        th{background:#eee}
        td.l{text-align:left}
        figure{display:inline-block;margin:6px;vertical-align:top;font-size:12px}
        figure img{display:block;image-rendering:pixelated}
        </style></head><body>
        <h1>\(escape(title))</h1>

        """
        h += "<h2>Settings</h2><table>"
        for k in summary.settings.keys.sorted() { h += "<tr><th>\(escape(k))</th><td class=\"l\">\(escape(summary.settings[k]!))</td></tr>" }
        h += "<tr><th>cases</th><td class=\"l\">\(summary.cases) (\(summary.failedCases.count) failed)</td></tr></table>\n"
        if !summary.failedCases.isEmpty {
            h += "<h2>Failed cases</h2><table><tr><th>case</th><th>error</th></tr>"
            for k in summary.failedCases.keys.sorted() { h += "<tr><td class=\"l\">\(escape(k))</td><td class=\"l\">\(escape(summary.failedCases[k]!))</td></tr>" }
            h += "</table>\n"
        }

        let labels = Array(Set(summary.groups.map(\.label))).sorted()
        let modes = summary.groups.map(\.mode).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let choices = summary.groups.map(\.maskChoice).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let nameOf = Dictionary(summary.groups.map { ($0.label, $0.name) }, uniquingKeysWith: { a, _ in a })

        h += "<h2>Mean Dice: prompt mode x label</h2>\n"
        for choice in choices {
            h += "<p>mask choice <b>\(choice)</b></p><table><tr><th>mode</th>"
            for l in labels { h += "<th>\(escape(nameOf[l]!)) (\(l))</th>" }
            h += "</tr>"
            for mode in modes {
                h += "<tr><th>\(escape(mode))</th>"
                for l in labels {
                    if let g = summary.groups.first(where: { $0.label == l && $0.mode == mode && $0.maskChoice == choice }) {
                        h += "<td style=\"background:\(heat(g.dice.mean))\">\(String(format: "%.3f", g.dice.mean))</td>"
                    } else {
                        h += "<td></td>"
                    }
                }
                h += "</tr>"
            }
            h += "</table>\n"
        }

        h += "<h2>Summary per label, mode and mask choice</h2><table><tr><th>label</th><th>mode</th><th>mask</th><th>n</th>"
        h += "<th>Dice mean(std) x100</th><th>Dice median [IQR]</th><th>NSD mean</th><th>NSD median [IQR]</th><th>IoU mean</th><th>HD95 median</th><th>ASD median</th><th>empty predictions</th></tr>"
        for g in summary.groups {
            h += "<tr><td class=\"l\">\(escape(g.name)) (\(g.label))</td><td class=\"l\">\(escape(g.mode))</td><td class=\"l\">\(g.maskChoice)</td><td>\(g.dice.n)</td>"
            h += "<td style=\"background:\(heat(g.dice.mean))\">\(g.cosmos)</td>"
            h += "<td>\(f3(g.dice.median)) [\(f3(g.dice.q1)), \(f3(g.dice.q3))]</td><td>\(f3(g.nsd.mean))</td>"
            h += "<td>\(f3(g.nsd.median)) [\(f3(g.nsd.q1)), \(f3(g.nsd.q3))]</td><td>\(f3(g.iou.mean))</td>"
            h += "<td>\(g.hd95.map { f3($0.median) } ?? "")</td><td>\(g.asd.map { f3($0.median) } ?? "")</td><td>\(g.emptyPredictions)</td></tr>"
        }
        h += "</table>\n"
        if !summary.skipped.isEmpty {
            h += "<h2>Not scored</h2><table><tr><th>label</th><th>objects at or below min-area</th><th>cases without the label</th></tr>"
            for s in summary.skipped { h += "<tr><td class=\"l\">\(escape(s.name)) (\(s.label))</td><td>\(s.small)</td><td>\(s.absent)</td></tr>" }
            h += "</table>\n"
        }

        h += "<h2>Distributions</h2>\n"
        for metric in ["Dice", "NSD"] {
            for choice in choices {
                h += "<figure>" + boxPlot(rows: rows, labels: labels, names: nameOf, modes: modes, choice: choice, metric: metric)
                h += "<figcaption>\(metric) per label and mode, mask choice \(choice)</figcaption></figure>\n"
            }
        }
        h += "<figure>" + scatter(rows) + "<figcaption>predicted IoU (y) against true IoU (x), every scored mask</figcaption></figure>\n"

        if let gallery {
            h += "<h2>Gallery (mask choice \(gallery.maskChoice.rawValue)): ground truth yellow, prediction red</h2>\n"
            for (title, items) in [("Best", gallery.best), ("Worst", gallery.worst)] where !items.isEmpty {
                h += "<h3>\(title)</h3>\n"
                for item in items {
                    let png = try PNGCodec.encode(overlay(item), bitDepth: 8)
                    let r = item.row
                    h += "<figure><img alt=\"\(escape(r.caseID)) \(escape(r.name))\" src=\"data:image/png;base64,\(Data(png).base64EncodedString())\">"
                    h += "<figcaption>\(escape(r.caseID)) \(r.slice.map { "slice \($0)" } ?? (r.isThreeD ? "3-D" : "2-D")) \(escape(r.name)) \(escape(r.mode)): Dice \(f3(r.dice)), NSD \(f3(r.nsd))</figcaption></figure>\n"
                }
            }
        }
        h += "</body></html>\n"
        return h
    }

    /// The slice with the prediction filled and outlined in red, the prompt drawn, and the
    /// ground truth's border in yellow on top, enlarged so that small slices stay legible.
    static func overlay(_ item: GalleryItem) throws -> Image {
        let img = item.image
        let scale = OverlayRenderer.automaticScale(height: img.height, width: img.width, minimumSide: 256)
        let shown = min(scale, max(1, 512 / max(img.height, img.width, 1)))
        let s = max(1, shown)
        let labels = item.prediction.map { $0 ? UInt8(1) : 0 }
        var out = try OverlayRenderer.render(base: img, labels: labels, boxes: item.prompt.box.map { [$0.map(Double.init)] } ?? [],
                                             points: item.prompt.points.map { OverlayPoint(x: Double($0.x), y: Double($0.y), foreground: $0.label == 1) },
                                             scale: s)
        let w = img.width, ow = out.width
        for y in 0..<img.height {
            for x in 0..<w where item.groundTruth[y * w + x] {
                let edge = [(1, 0), (-1, 0), (0, 1), (0, -1)].contains { dx, dy in
                    let nx = x + dx, ny = y + dy
                    return nx < 0 || ny < 0 || nx >= w || ny >= img.height || !item.groundTruth[ny * w + nx]
                }
                guard edge else { continue }
                for yy in (y * s)..<((y + 1) * s) {
                    for xx in (x * s)..<((x + 1) * s) {
                        let p = (yy * ow + xx) * 3
                        out.pixels[p] = 255; out.pixels[p + 1] = 230; out.pixels[p + 2] = 0
                    }
                }
            }
        }
        return out
    }

    /// Box plots (quartiles, median, whiskers at the extremes) of `metric` for each label and mode.
    static func boxPlot(rows: [EvaluationRow], labels: [Int], names: [Int: String], modes: [String], choice: String, metric: String) -> String {
        let boxW = 22.0, gap = 6.0, groupGap = 24.0, top = 10.0, plotH = 200.0, left = 40.0
        let width = left + Double(labels.count) * (Double(modes.count) * (boxW + gap) + groupGap) + 10
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(top + plotH + 60))\" font-size=\"10\">"
        func y(_ v: Double) -> Double { top + plotH * (1 - v) }
        for t in stride(from: 0.0, through: 1.0, by: 0.25) {
            svg += "<line x1=\"\(left)\" x2=\"\(width)\" y1=\"\(y(t))\" y2=\"\(y(t))\" stroke=\"#ddd\"/><text x=\"4\" y=\"\(y(t) + 3)\">\(String(format: "%.2f", t))</text>"
        }
        var x = left
        for l in labels {
            let groupStart = x
            for (i, mode) in modes.enumerated() {
                let values = rows.filter { $0.label == l && $0.mode == mode && $0.maskChoice.rawValue == choice }
                    .map { metric == "Dice" ? $0.dice : $0.nsd }
                if let s = MetricStatistics(values) {
                    let lo = values.min()!, hi = values.max()!
                    let colour = OverlayRenderer.colour(for: i + 1).map { Int($0) }
                    let cx = x + boxW / 2
                    svg += "<line x1=\"\(cx)\" x2=\"\(cx)\" y1=\"\(y(hi))\" y2=\"\(y(lo))\" stroke=\"#555\"/>"
                    svg += "<rect x=\"\(x)\" y=\"\(y(s.q3))\" width=\"\(boxW)\" height=\"\(max(1, y(s.q1) - y(s.q3)))\" fill=\"rgb(\(colour[0]),\(colour[1]),\(colour[2]))\" stroke=\"#333\"><title>\(escape(mode)): median \(f3(s.median)), n \(s.n)</title></rect>"
                    svg += "<line x1=\"\(x)\" x2=\"\(x + boxW)\" y1=\"\(y(s.median))\" y2=\"\(y(s.median))\" stroke=\"#000\" stroke-width=\"2\"/>"
                }
                svg += "<text x=\"\(x + 2)\" y=\"\(top + plotH + 12 + Double(i % 2) * 10)\">\(escape(mode))</text>"
                x += boxW + gap
            }
            svg += "<text x=\"\(groupStart)\" y=\"\(top + plotH + 45)\" font-weight=\"bold\">\(escape(names[l] ?? "label\(l)"))</text>"
            x += groupGap
        }
        return svg + "</svg>"
    }

    /// Predicted IoU against true IoU, one dot per scored mask (at most 4000, evenly picked).
    static func scatter(_ rows: [EvaluationRow]) -> String {
        let size = 240.0, pad = 30.0
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(size + 2 * pad))\" height=\"\(Int(size + 2 * pad))\" font-size=\"10\">"
        svg += "<rect x=\"\(pad)\" y=\"\(pad)\" width=\"\(size)\" height=\"\(size)\" fill=\"none\" stroke=\"#888\"/>"
        svg += "<line x1=\"\(pad)\" y1=\"\(pad + size)\" x2=\"\(pad + size)\" y2=\"\(pad)\" stroke=\"#ccc\"/>"
        svg += "<text x=\"\(pad)\" y=\"\(pad + size + 14)\">0</text><text x=\"\(pad + size - 6)\" y=\"\(pad + size + 14)\">1</text>"
        let step = max(1, rows.count / 4000)
        for r in stride(from: 0, to: rows.count, by: step).map({ rows[$0] }) {
            let px = pad + size * min(max(r.iou, 0), 1), py = pad + size * (1 - min(max(r.predictedIoU, 0), 1))
            svg += "<circle cx=\"\(String(format: "%.1f", px))\" cy=\"\(String(format: "%.1f", py))\" r=\"2\" fill=\"rgba(40,90,200,0.5)\"/>"
        }
        return svg + "</svg>"
    }

    /// Red (0) through yellow to green (1).
    static func heat(_ v: Double) -> String {
        let t = min(max(v, 0), 1)
        let r = t < 0.5 ? 255 : Int(255 * (1 - t) * 2), g = t < 0.5 ? Int(255 * t * 2) : 255
        return "rgb(\(r),\(g),120)"
    }

    static func f3(_ v: Double) -> String { v.isFinite ? String(format: "%.3f", v) : "inf" }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

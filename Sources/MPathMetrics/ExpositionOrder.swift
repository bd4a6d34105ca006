/// Puts the registry's exposition in a stable order. The registry emits families and series
/// in dictionary order, which changes from scrape to scrape and makes diffs and eyeballing
/// hard; Prometheus itself does not care.
enum ExpositionOrder {
    private struct Family {
        var name: String
        var header: [Substring] = []
        var isHistogram = false
        /// One entry per series: one sample line, or a histogram's buckets, sum and count.
        var series: [[Substring]] = []
        var open = false
    }

    /// Families sorted by name (HELP and TYPE first), series within a family sorted by their
    /// first line; a histogram's bucket, sum and count lines stay together in their order.
    static func sorted(_ text: String) -> String {
        var families: [Family] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let name = metricName(ofComment: line)
                if families.last?.name != name || families.last?.series.isEmpty == false {
                    families.append(Family(name: name))
                }
                families[families.count - 1].header.append(line)
                if line.hasPrefix("# TYPE "), line.hasSuffix(" histogram") {
                    families[families.count - 1].isHistogram = true
                }
                continue
            }
            if families.isEmpty { families.append(Family(name: "")) }
            var family = families.removeLast()
            if family.isHistogram {
                if family.open {
                    family.series[family.series.count - 1].append(line)
                } else {
                    family.series.append([line])
                    family.open = true
                }
                // `_count` is the last line the registry writes for each histogram series.
                if line.hasPrefix(family.name + "_count") { family.open = false }
            } else {
                family.series.append([line])
            }
            families.append(family)
        }
        families.sort { $0.name < $1.name }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for family in families {
            for line in family.header { out += line; out += "\n" }
            for series in family.series.sorted(by: { ($0.first ?? "") < ($1.first ?? "") }) {
                for line in series { out += line; out += "\n" }
            }
        }
        return out
    }

    /// The third word of `# HELP name …` / `# TYPE name …`.
    private static func metricName(ofComment line: Substring) -> String {
        let words = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
        return words.count >= 3 ? String(words[2]) : ""
    }
}

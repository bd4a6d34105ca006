/// Log-linear latency histogram (HdrHistogram's idea, 32 sub-buckets per power of two, about
/// 3% precision) with no allocation per sample.
public struct LatencyHistogram: Sendable {
    private static let subBits = 5
    private static let subCount = 1 << subBits
    private var counts = [UInt64](repeating: 0, count: 64 * LatencyHistogram.subCount)
    public private(set) var count: UInt64 = 0
    public private(set) var max: UInt64 = 0
    public private(set) var sum: UInt64 = 0

    public init() {}

    @inline(__always) static func index(_ value: UInt64) -> Int {
        if value < UInt64(subCount) { return Int(value) }
        let magnitude = 63 - value.leadingZeroBitCount          // ≥ subBits
        let shift = magnitude - subBits
        let sub = Int(value >> UInt64(shift)) & (subCount - 1)
        return (shift + 1) * subCount + sub
    }

    @inline(__always) static func lowerBound(_ index: Int) -> UInt64 {
        if index < subCount { return UInt64(index) }
        let shift = index / subCount - 1
        let sub = index % subCount
        return UInt64(subCount + sub) << UInt64(shift)
    }

    public mutating func record(_ value: UInt64) {
        counts[Self.index(value)] += 1
        count += 1
        sum &+= value
        if value > max { max = value }
    }

    public mutating func merge(_ other: LatencyHistogram) {
        for i in counts.indices { counts[i] += other.counts[i] }
        count += other.count
        sum &+= other.sum
        max = Swift.max(max, other.max)
    }

    /// The value at `quantile` (0...1): the lower edge of the bucket holding it.
    public func value(atQuantile quantile: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = UInt64((Double(count) * quantile).rounded(.up))
        var seen: UInt64 = 0
        for (i, c) in counts.enumerated() where c > 0 {
            seen += c
            if seen >= Swift.max(rank, 1) { return Swift.min(Self.lowerBound(i), max) }
        }
        return max
    }

    public var mean: Double { count == 0 ? 0 : Double(sum) / Double(count) }
}

import Foundation

/// A line chart written as SVG by our own code: axes with ticks and labels, one polyline with
/// points per series, each point with its 95% interval as an error bar where the series has
/// one, a legend (the CS5260 report's Figures 2 and 3: a measure against a tuned parameter).
struct SVGPlot {
  /// One line of the chart.
  struct Series {
    var name: String
    /// The points, each with its interval (nil: none drawn).
    var points: [(x: Double, y: Double, interval: ClosedRange<Double>?)]
  }

  var title: String
  var xLabel: String
  var yLabel: String
  var series: [Series]
  /// The y axis's range; nil fits the data.
  var yRange: ClosedRange<Double>?

  private static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"]
  private static let (width, height) = (640.0, 400.0)
  private static let (left, right, top, bottom) = (70.0, 160.0, 40.0, 60.0)

  /// The chart as an SVG document.
  func render() -> String {
    let xs = series.flatMap { $0.points.map(\.x) }
    let ys = series.flatMap { line in
      line.points.flatMap { [$0.y] + ($0.interval.map { [$0.lowerBound, $0.upperBound] } ?? []) }
    }
    var xRange = (xs.min() ?? 0)...(xs.max() ?? 1)
    if xRange.lowerBound == xRange.upperBound {
      xRange = (xRange.lowerBound - 1)...(xRange.upperBound + 1)
    }
    var yFit = yRange ?? (min(0, ys.min() ?? 0)...(ys.max() ?? 1))
    if yFit.lowerBound == yFit.upperBound { yFit = yFit.lowerBound...(yFit.lowerBound + 1) }
    let plotWidth = Self.width - Self.left - Self.right
    let plotHeight = Self.height - Self.top - Self.bottom
    func px(_ x: Double) -> Double {
      Self.left + (x - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * plotWidth
    }
    func py(_ y: Double) -> Double {
      Self.top + plotHeight - (y - yFit.lowerBound) / (yFit.upperBound - yFit.lowerBound)
        * plotHeight
    }
    var svg = """
      <?xml version="1.0" encoding="UTF-8"?>
      <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(Self.width))" \
      height="\(Int(Self.height))" viewBox="0 0 \(Int(Self.width)) \(Int(Self.height))" \
      font-family="sans-serif" font-size="12">
      <rect width="100%" height="100%" fill="white"/>
      <text x="\(f(Self.left + plotWidth / 2))" y="22" text-anchor="middle" font-size="14">\
      \(Self.escape(title))</text>

      """
    let axisY = f(Self.top + plotHeight)
    svg +=
      "<line x1=\"\(f(Self.left))\" y1=\"\(axisY)\" x2=\"\(f(Self.left + plotWidth))\" "
      + "y2=\"\(axisY)\" stroke=\"black\"/>\n"
    svg +=
      "<line x1=\"\(f(Self.left))\" y1=\"\(f(Self.top))\" x2=\"\(f(Self.left))\" "
      + "y2=\"\(axisY)\" stroke=\"black\"/>\n"
    for tick in Self.ticks(xRange) {
      let x = f(px(tick))
      svg +=
        "<line x1=\"\(x)\" y1=\"\(axisY)\" x2=\"\(x)\" y2=\"\(f(Self.top + plotHeight + 5))\" "
        + "stroke=\"black\"/>\n"
      svg +=
        "<text x=\"\(x)\" y=\"\(f(Self.top + plotHeight + 19))\" text-anchor=\"middle\">"
        + "\(Self.label(tick))</text>\n"
    }
    for tick in Self.ticks(yFit) {
      let y = f(py(tick))
      svg +=
        "<line x1=\"\(f(Self.left - 5))\" y1=\"\(y)\" x2=\"\(f(Self.left))\" y2=\"\(y)\" "
        + "stroke=\"black\"/>\n"
      svg +=
        "<line x1=\"\(f(Self.left))\" y1=\"\(y)\" x2=\"\(f(Self.left + plotWidth))\" "
        + "y2=\"\(y)\" stroke=\"#dddddd\"/>\n"
      svg +=
        "<text x=\"\(f(Self.left - 8))\" y=\"\(f(py(tick) + 4))\" text-anchor=\"end\">"
        + "\(Self.label(tick))</text>\n"
    }
    svg +=
      "<text x=\"\(f(Self.left + plotWidth / 2))\" y=\"\(f(Self.height - 15))\" "
      + "text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
    let middle = f(Self.top + plotHeight / 2)
    svg +=
      "<text x=\"18\" y=\"\(middle)\" text-anchor=\"middle\" "
      + "transform=\"rotate(-90 18 \(middle))\">\(Self.escape(yLabel))</text>\n"
    for (number, line) in series.enumerated() {
      let color = Self.colors[number % Self.colors.count]
      let points = line.points.sorted { $0.x < $1.x }
      let path = points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
      svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(path)\"/>\n"
      for point in points {
        if let interval = point.interval {
          let x = px(point.x)
          let (low, high) = (f(py(interval.lowerBound)), f(py(interval.upperBound)))
          svg +=
            "<path d=\"M\(f(x)),\(low) V\(high) M\(f(x - 4)),\(low) H\(f(x + 4)) "
            + "M\(f(x - 4)),\(high) H\(f(x + 4))\" stroke=\"\(color)\" stroke-opacity=\"0.6\"/>\n"
        }
        svg +=
          "<circle cx=\"\(f(px(point.x)))\" cy=\"\(f(py(point.y)))\" r=\"3\" "
          + "fill=\"\(color)\"/>\n"
      }
      let legendY = Self.top + 10 + Double(number) * 20
      let legendX = Self.left + plotWidth + 15
      svg +=
        "<line x1=\"\(f(legendX))\" y1=\"\(f(legendY))\" x2=\"\(f(legendX + 20))\" "
        + "y2=\"\(f(legendY))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
      svg +=
        "<text x=\"\(f(legendX + 26))\" y=\"\(f(legendY + 4))\">"
        + "\(Self.escape(line.name))</text>\n"
    }
    return svg + "</svg>\n"
  }

  /// Round tick values (steps of 1, 2 or 5 times a power of ten) covering a range.
  static func ticks(_ range: ClosedRange<Double>) -> [Double] {
    let span = range.upperBound - range.lowerBound
    guard span > 0, span.isFinite else { return [range.lowerBound] }
    let rough = span / 5
    let power = pow(10, (log10(rough)).rounded(.down))
    let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? 10 * power
    let first = (range.lowerBound / step).rounded(.up)
    let last = (range.upperBound / step + 1e-9).rounded(.down)
    guard first <= last else { return [range.lowerBound] }
    return stride(from: first, through: last, by: 1).map { ParameterGrid.rounded($0 * step) }
  }

  private static func label(_ value: Double) -> String {
    JSONValue.format(ParameterGrid.rounded(value))
  }

  private func f(_ value: Double) -> String { String(format: "%.1f", value) }

  static func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }
}

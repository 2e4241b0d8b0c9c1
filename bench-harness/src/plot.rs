//! The latency-by-percentile chart (`catga bench --plot FILE.svg`): the chart HdrHistogram users
//! know, one small panel per scenario, the current run against the baseline.
//!
//! The x axis is the percentile on the `1/(1-p)` log scale (0%, 90%, 99%, 99.9%, ...), so the
//! tail gets as much room as the body; the y axis is the latency on a log scale. The SVG is
//! self-contained: no scripts, no external fonts, nothing fetched.

use std::fmt::{self, Write as _};

use hdrhistogram::Histogram;

use crate::report::{PS_PER_NS, Report};

/// Percentile steps per half distance to 100%, as in the `.hgrm` files.
const TICKS_PER_HALF_DISTANCE: u32 = 5;
/// Size of one panel, in SVG user units (pixels).
const PANEL_WIDTH: f64 = 440.0;
const PANEL_HEIGHT: f64 = 300.0;
/// The plot area inside a panel: room for the title above, tick labels and axis titles around.
const PLOT_LEFT: f64 = 78.0;
const PLOT_RIGHT: f64 = 18.0;
const PLOT_TOP: f64 = 34.0;
const PLOT_BOTTOM: f64 = 50.0;
/// Outer margin and the legend band at the top.
const MARGIN: f64 = 12.0;
const LEGEND_HEIGHT: f64 = 48.0;
/// Never draw further than 99.9999999%: beyond, the axis labels stop being readable.
const MAX_DECADES: f64 = 9.0;
/// Panel titles longer than this are shortened; the full name stays in the panel's tooltip.
const MAX_TITLE_CHARS: usize = 56;
const CURRENT_COLOR: &str = "#1f77b4";
const BASELINE_COLOR: &str = "#e6550d";
const GRID_COLOR: &str = "#e3e3e3";
const TEXT_COLOR: &str = "#222222";
const MUTED_COLOR: &str = "#777777";

/// Which of the two reports a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// The report of this run.
    Current,
    /// The report compared against.
    Baseline,
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Run::Current => "current",
            Run::Baseline => "baseline",
        })
    }
}

/// Why the chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// A scenario's histogram is not a valid encoded histogram.
    #[error(
        "the histogram of scenario `{scenario}` in the {run} report cannot be decoded \
         ({message}); {}",
        match run {
            Run::Current => "the report is damaged, run the benchmark again",
            Run::Baseline => "save a new baseline with `catga bench --save FILE`",
        }
    )]
    Decode {
        /// The report it is in.
        run: Run,
        /// The scenario's name.
        scenario: String,
        /// What is wrong with the histogram.
        message: String,
    },
}

/// The chart of every scenario in `current`, with the same scenario of `baseline` (when given
/// and present there) as a dashed line, as a self-contained SVG document.
pub fn plot_svg(current: &Report, baseline: Option<&Report>) -> Result<String, PlotError> {
    // Decode everything first: a damaged report is an error, not a half-drawn chart.
    let mut panels = Vec::with_capacity(current.scenarios.len());
    for scenario in &current.scenarios {
        let points = decode_points(Run::Current, &scenario.name, &scenario.histogram)?;
        let base = match baseline.and_then(|report| report.scenario(&scenario.name)) {
            Some(base) => Some(decode_points(Run::Baseline, &base.name, &base.histogram)?),
            None => None,
        };
        panels.push(Panel {
            name: &scenario.name,
            current: points,
            baseline: base,
        });
    }

    let columns = match panels.len() {
        0 | 1 => 1,
        2..=4 => 2,
        _ => 3,
    };
    let rows = panels.len().div_ceil(columns).max(1);
    let width = MARGIN * 2.0 + PANEL_WIDTH * columns as f64;
    let height = LEGEND_HEIGHT + PANEL_HEIGHT * rows as f64 + MARGIN;

    let mut svg = String::new();
    // `write!` into a String cannot fail; the results are ignored for that reason.
    let _ = writeln!(svg, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" fill="{TEXT_COLOR}">"#
    );
    let _ = writeln!(svg, "<title>Latency by percentile</title>");
    let _ = writeln!(
        svg,
        r#"<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>"#
    );
    legend(&mut svg, current, baseline);
    if panels.is_empty() {
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{MUTED_COLOR}">no scenarios in the report</text>"#,
            width / 2.0,
            LEGEND_HEIGHT + PANEL_HEIGHT / 2.0
        );
    }
    for (index, panel) in panels.iter().enumerate() {
        let x = MARGIN + PANEL_WIDTH * (index % columns) as f64;
        let y = LEGEND_HEIGHT + PANEL_HEIGHT * (index / columns) as f64;
        draw_panel(&mut svg, panel, x, y, baseline.is_some());
    }
    svg.push_str("</svg>\n");
    Ok(svg)
}

/// One point of a latency-by-percentile line: the percentile level as a quantile, and the
/// latency in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    quantile: f64,
    ns: f64,
}

/// What one panel shows. An empty `Vec` is an empty histogram.
#[derive(Debug)]
struct Panel<'a> {
    name: &'a str,
    current: Vec<Point>,
    /// `None`: no baseline, or the scenario is not in it.
    baseline: Option<Vec<Point>>,
}

fn decode_points(run: Run, scenario: &str, encoded: &str) -> Result<Vec<Point>, PlotError> {
    let histogram =
        crate::report::decode_histogram(encoded).map_err(|message| PlotError::Decode {
            run,
            scenario: scenario.to_owned(),
            message,
        })?;
    Ok(points(&histogram))
}

/// The percentile steps of a histogram of picoseconds, in nanoseconds.
fn points(histogram: &Histogram<u64>) -> Vec<Point> {
    histogram
        .iter_quantiles(TICKS_PER_HALF_DISTANCE)
        .map(|step| Point {
            quantile: step.quantile_iterated_to(),
            ns: step.value_iterated_to() as f64 / PS_PER_NS,
        })
        .collect()
}

/// The legend band: a swatch and a label per line drawn.
fn legend(svg: &mut String, current: &Report, baseline: Option<&Report>) {
    let y = MARGIN + 14.0;
    let _ = writeln!(svg, r#"<g class="legend">"#);
    let _ = writeln!(
        svg,
        r#"<text x="{MARGIN}" y="{y}" font-size="14" font-weight="bold">Latency by percentile</text>"#
    );
    let mut x = MARGIN + 190.0;
    let mut entry = |label: &str, color: &str, dashed: bool, class: &str| {
        let dash = if dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = writeln!(
            svg,
            r#"<line class="{class}" x1="{x}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="2.5"{dash}/>"#,
            y - 4.0,
            x + 28.0,
            y - 4.0
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{y}">{}</text>"#,
            x + 34.0,
            escape(label)
        );
        // Room for the label at roughly 7 px per character of a 12 px sans-serif font.
        x += 34.0 + 7.0 * label.chars().count() as f64 + 24.0;
    };
    entry(
        &run_label("current", current),
        CURRENT_COLOR,
        false,
        "legend-current",
    );
    if let Some(baseline) = baseline {
        entry(
            &run_label("baseline", baseline),
            BASELINE_COLOR,
            true,
            "legend-baseline",
        );
    }
    let _ = writeln!(svg, "</g>");
}

/// `current (0123456789ab, 2026-11-22T21:00:00Z)`: which run a line is.
fn run_label(role: &str, report: &Report) -> String {
    let mut details = Vec::new();
    if let Some(sha) = report.env.git_sha.as_deref().filter(|sha| !sha.is_empty()) {
        details.push(sha.chars().take(12).collect::<String>());
    }
    if !report.env.timestamp.is_empty() {
        details.push(report.env.timestamp.clone());
    }
    if details.is_empty() {
        role.to_owned()
    } else {
        format!("{role} ({})", details.join(", "))
    }
}

/// The axis ranges of a panel, in log10 units.
#[derive(Debug, Clone, Copy)]
struct Scale {
    /// Decades of `1/(1-p)`: 1 reaches 90%, 2 reaches 99%, ...
    x_max: f64,
    /// log10 of the lowest and highest latency shown, in ns, on whole decades.
    y_min: f64,
    y_max: f64,
}

impl Scale {
    fn of<'p>(series: impl Iterator<Item = &'p [Point]> + Clone) -> Scale {
        let all = || series.clone().flatten();
        let finite_x = all()
            .filter(|p| p.quantile < 1.0)
            .map(|p| x_decades(p.quantile))
            .fold(0.0_f64, f64::max);
        // Small tolerances: 1/(1-0.99) is 100.00000000000009, which is still 2 decades.
        let x_max = (finite_x - 1e-9).ceil().clamp(1.0, MAX_DECADES);
        let positive = all().map(|p| p.ns).filter(|ns| *ns > 0.0);
        let low = positive.clone().fold(f64::INFINITY, f64::min);
        let high = positive.fold(0.0_f64, f64::max);
        let (y_min, y_max) = if low.is_finite() {
            let y_min = (low.log10() + 1e-9).floor();
            let y_max = (high.log10() - 1e-9).ceil().max(y_min + 1.0);
            (y_min, y_max)
        } else {
            // Only zeros: show 1 ns to 10 ns, zeros on the bottom edge.
            (0.0, 1.0)
        };
        Scale {
            x_max,
            y_min,
            y_max,
        }
    }

    /// The x coordinate inside a plot area of width `w`; 100% is the right edge.
    fn x(&self, quantile: f64, w: f64) -> f64 {
        let decades = if quantile >= 1.0 {
            self.x_max
        } else {
            x_decades(quantile).min(self.x_max)
        };
        w * decades / self.x_max
    }

    /// The y coordinate inside a plot area of height `h`: latency grows upward.
    fn y(&self, ns: f64, h: f64) -> f64 {
        let decades = if ns > 0.0 {
            ns.log10().clamp(self.y_min, self.y_max)
        } else {
            self.y_min
        };
        h - h * (decades - self.y_min) / (self.y_max - self.y_min)
    }
}

/// `log10(1/(1-q))`: 0 at 0%, 1 at 90%, 2 at 99%.
fn x_decades(quantile: f64) -> f64 {
    (1.0 / (1.0 - quantile)).log10().max(0.0)
}

fn draw_panel(svg: &mut String, panel: &Panel<'_>, left: f64, top: f64, with_baseline: bool) {
    let w = PANEL_WIDTH - PLOT_LEFT - PLOT_RIGHT;
    let h = PANEL_HEIGHT - PLOT_TOP - PLOT_BOTTOM;
    let _ = writeln!(
        svg,
        r#"<g class="panel" transform="translate({left:.1},{top:.1})">"#
    );
    let _ = writeln!(svg, "<title>{}</title>", escape(panel.name));
    let title = shorten(panel.name, MAX_TITLE_CHARS);
    let _ = writeln!(
        svg,
        r#"<text class="panel-title" x="{:.1}" y="20" text-anchor="middle" font-size="13" font-weight="bold">{}</text>"#,
        PLOT_LEFT + w / 2.0,
        escape(&title)
    );
    let _ = writeln!(
        svg,
        r#"<g class="plot" transform="translate({PLOT_LEFT},{PLOT_TOP})">"#
    );

    let series: Vec<&[Point]> = std::iter::once(panel.current.as_slice())
        .chain(panel.baseline.as_deref())
        .filter(|points| !points.is_empty())
        .collect();
    if series.is_empty() {
        frame(svg, w, h);
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{MUTED_COLOR}">no data</text>"#,
            w / 2.0,
            h / 2.0
        );
    } else {
        let scale = Scale::of(series.iter().copied());
        axes(svg, &scale, w, h);
        if let Some(points) = panel.baseline.as_deref().filter(|p| !p.is_empty()) {
            path(
                svg,
                points,
                &scale,
                w,
                h,
                "series baseline",
                BASELINE_COLOR,
                true,
            );
        }
        if panel.current.is_empty() {
            note(svg, w, "no data in the current run");
        } else {
            path(
                svg,
                &panel.current,
                &scale,
                w,
                h,
                "series current",
                CURRENT_COLOR,
                false,
            );
            if with_baseline && panel.baseline.is_none() {
                note(svg, w, "not in the baseline");
            } else if panel.baseline.as_ref().is_some_and(Vec::is_empty) {
                note(svg, w, "no data in the baseline");
            }
        }
    }
    let _ = writeln!(svg, "</g>");
    // Axis titles, outside the plot area.
    let _ = writeln!(
        svg,
        r#"<text class="axis-title" x="{:.1}" y="{:.1}" text-anchor="middle">Percentile</text>"#,
        PLOT_LEFT + w / 2.0,
        PANEL_HEIGHT - 12.0
    );
    let cy = PLOT_TOP + h / 2.0;
    let _ = writeln!(
        svg,
        r#"<text class="axis-title" x="16" y="{cy:.1}" text-anchor="middle" transform="rotate(-90 16 {cy:.1})">Latency</text>"#
    );
    let _ = writeln!(svg, "</g>");
}

/// The plot area's border.
fn frame(svg: &mut String, w: f64, h: f64) {
    let _ = writeln!(
        svg,
        r##"<rect x="0" y="0" width="{w:.1}" height="{h:.1}" fill="none" stroke="#999999"/>"##
    );
}

/// Grid lines and tick labels of both axes, then the frame over them.
fn axes(svg: &mut String, scale: &Scale, w: f64, h: f64) {
    let _ = writeln!(svg, r#"<g class="grid" stroke="{GRID_COLOR}">"#);
    let decades = scale.x_max as u32;
    for decade in 0..=decades {
        let x = w * f64::from(decade) / scale.x_max;
        let _ = writeln!(svg, r#"<line x1="{x:.2}" y1="0" x2="{x:.2}" y2="{h:.2}"/>"#);
    }
    let y_ticks = y_ticks(scale);
    for ns in &y_ticks {
        let y = scale.y(*ns, h);
        let _ = writeln!(svg, r#"<line x1="0" y1="{y:.2}" x2="{w:.2}" y2="{y:.2}"/>"#);
    }
    let _ = writeln!(svg, "</g>");
    let _ = writeln!(svg, r#"<g class="x-ticks" text-anchor="middle">"#);
    // Every decade gets a grid line, but only as many labels as fit side by side: the longest
    // label (`99.99999%`) is about 6.5 px per character at the chart's font size.
    let spacing = w / scale.x_max;
    let widest = percentile_label(decades).len() as f64 * 6.5 + 6.0;
    let every = ((widest / spacing).ceil() as u32).max(1);
    for decade in (0..=decades).filter(|decade| decade % every == 0) {
        let x = w * f64::from(decade) / scale.x_max;
        let _ = writeln!(
            svg,
            r#"<text x="{x:.2}" y="{:.2}">{}</text>"#,
            h + 16.0,
            percentile_label(decade)
        );
    }
    let _ = writeln!(svg, "</g>");
    let _ = writeln!(svg, r#"<g class="y-ticks" text-anchor="end">"#);
    for ns in &y_ticks {
        let _ = writeln!(
            svg,
            r#"<text x="-6" y="{:.2}">{}</text>"#,
            scale.y(*ns, h) + 4.0,
            escape(&duration_label(*ns))
        );
    }
    let _ = writeln!(svg, "</g>");
    frame(svg, w, h);
}

/// Latency ticks: every decade, and 2x and 5x as well when the range is two decades or less.
fn y_ticks(scale: &Scale) -> Vec<f64> {
    let first = scale.y_min as i32;
    let last = scale.y_max as i32;
    let dense = last - first <= 2;
    let mut ticks = Vec::new();
    for exponent in first..=last {
        let decade = 10_f64.powi(exponent);
        ticks.push(decade);
        if dense && exponent < last {
            ticks.push(2.0 * decade);
            ticks.push(5.0 * decade);
        }
    }
    ticks
}

/// `0%`, `90%`, `99%`, `99.9%`, ... for 0, 1, 2, 3, ... decades of `1/(1-p)`.
fn percentile_label(decades: u32) -> String {
    match decades {
        0 => "0%".to_owned(),
        1 => "90%".to_owned(),
        2 => "99%".to_owned(),
        n => format!("99.{}%", "9".repeat(n as usize - 2)),
    }
}

/// A duration in nanoseconds with the unit that keeps the number short: `500 ns`, `2 µs`,
/// `10 ms`, `1 s`.
fn duration_label(ns: f64) -> String {
    let (unit, name) = [(1e9, "s"), (1e6, "ms"), (1e3, "µs")]
        .into_iter()
        .find(|(unit, _)| ns >= unit * 0.999_999)
        .unwrap_or((1.0, "ns"));
    let number = format!("{:.3}", ns / unit);
    let number = number.trim_end_matches('0').trim_end_matches('.');
    format!("{number} {name}")
}

/// A latency line through the percentile steps.
#[allow(clippy::too_many_arguments)] // One call site per series; a struct would only rename them.
fn path(
    svg: &mut String,
    points: &[Point],
    scale: &Scale,
    w: f64,
    h: f64,
    class: &str,
    color: &str,
    dashed: bool,
) {
    let mut d = String::new();
    for (index, point) in points.iter().enumerate() {
        let command = if index == 0 { 'M' } else { 'L' };
        let _ = write!(
            d,
            "{}{command}{:.2} {:.2}",
            if index == 0 { "" } else { " " },
            scale.x(point.quantile, w),
            scale.y(point.ns, h)
        );
    }
    let dash = if dashed {
        r#" stroke-dasharray="6 4""#
    } else {
        ""
    };
    let _ = writeln!(
        svg,
        r#"<path class="{class}" d="{d}" fill="none" stroke="{color}" stroke-width="2" stroke-linejoin="round"{dash}/>"#
    );
}

/// A short remark in the top-left corner of the plot area.
fn note(svg: &mut String, w: f64, text: &str) {
    let _ = writeln!(
        svg,
        r#"<text class="note" x="{:.1}" y="14" text-anchor="end" font-size="11" fill="{MUTED_COLOR}">{}</text>"#,
        w - 6.0,
        escape(text)
    );
}

/// `name` cut to `max` characters with an ellipsis.
fn shorten(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        name.to_owned()
    } else {
        let mut short: String = name.chars().take(max.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}

/// Text made safe for XML content and attribute values. Control characters that XML 1.0
/// forbids become U+FFFD, so any scenario name still gives a well-formed document.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || ('\u{7f}'..='\u{9f}').contains(&c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ScenarioReport;

    use crate::report::fixtures::histogram;

    /// Latencies from 10 ns to about 2 µs with a tail, in picoseconds.
    fn spread(seed: u64) -> Histogram<u64> {
        histogram((1..=20_000_u64).map(|i| {
            let tail = if i % 997 == 0 { 1_000_000 } else { 0 };
            10_000 + (i * 7_919 + seed) % 2_000_000 + tail
        }))
    }

    use crate::report::fixtures::histogram_scenario as scenario;

    fn report(sha: Option<&str>, scenarios: Vec<ScenarioReport>) -> Report {
        let mut report = crate::report::fixtures::report(scenarios);
        report.env.git_sha = sha.map(str::to_owned);
        report
    }

    fn has_class(node: &roxmltree::Node<'_, '_>, class: &str) -> bool {
        node.attribute("class")
            .is_some_and(|classes| classes.split_whitespace().any(|c| c == class))
    }

    fn with_class<'a, 'i>(
        doc: &'a roxmltree::Document<'i>,
        class: &str,
    ) -> std::vec::IntoIter<roxmltree::Node<'a, 'i>> {
        doc.descendants()
            .filter(|n| has_class(n, class))
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// The (x, y) coordinates of a path's `d`.
    fn coordinates(d: &str) -> Vec<(f64, f64)> {
        d.split(['M', 'L'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|pair| {
                let (x, y) = pair.split_once(' ').expect("x y");
                (x.parse().expect("x"), y.parse().expect("y"))
            })
            .collect()
    }

    fn texts(doc: &roxmltree::Document<'_>) -> Vec<String> {
        doc.descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text().map(str::to_owned))
            .collect()
    }

    #[test]
    fn is_an_svg_document_with_size_and_view_box() {
        let current = report(Some("0123456789abcdef"), vec![scenario("send", &spread(1))]);
        let svg = plot_svg(&current, None).expect("plots");
        let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
        let root = doc.root_element();
        assert!(root.has_tag_name(("http://www.w3.org/2000/svg", "svg")));
        let width: f64 = root.attribute("width").expect("width").parse().expect("n");
        let height: f64 = root
            .attribute("height")
            .expect("height")
            .parse()
            .expect("n");
        assert_eq!(
            root.attribute("viewBox"),
            Some(format!("0 0 {width} {height}").as_str())
        );
        assert!(!svg.contains("<script"));
        assert!(!svg.contains("@font-face") && !svg.contains("href"));
    }

    #[test]
    fn one_panel_per_scenario_with_its_title() {
        let names = [
            "send_command",
            "send_query",
            "publish_1",
            "publish_10",
            "saga",
        ];
        let scenarios = names.iter().map(|n| scenario(n, &spread(3))).collect();
        let svg = plot_svg(&report(None, scenarios), None).expect("plots");
        let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
        let titles: Vec<&str> = with_class(&doc, "panel-title")
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(titles, names);
        assert_eq!(with_class(&doc, "panel").count(), 5);
        // Five panels go three to a row.
        let root = doc.root_element();
        let width: f64 = root.attribute("width").expect("width").parse().expect("n");
        assert_eq!(width, MARGIN * 2.0 + PANEL_WIDTH * 3.0);
    }

    #[test]
    fn baseline_is_dashed_and_only_where_the_scenario_exists() {
        let current = report(
            Some("aaaaaaaaaaaaaaaaaaaa"),
            vec![
                scenario("both", &spread(1)),
                scenario("new_one", &spread(2)),
            ],
        );
        let baseline = report(Some("bbbbbbbbbbbb"), vec![scenario("both", &spread(5))]);
        let svg = plot_svg(&current, Some(&baseline)).expect("plots");
        let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
        let panels: Vec<_> = with_class(&doc, "panel").collect();
        assert_eq!(panels.len(), 2);
        // The dash pattern of each path of a class in a panel.
        let dashes = |panel: roxmltree::Node<'_, '_>, class: &str| -> Vec<Option<String>> {
            panel
                .descendants()
                .filter(|n| n.has_tag_name("path") && has_class(n, class))
                .map(|n| n.attribute("stroke-dasharray").map(str::to_owned))
                .collect()
        };
        assert_eq!(dashes(panels[0], "baseline"), [Some("6 4".to_owned())]);
        assert_eq!(dashes(panels[0], "current"), [None]);
        assert!(dashes(panels[1], "baseline").is_empty());
        assert_eq!(dashes(panels[1], "current"), [None]);
        assert!(texts(&doc).iter().any(|t| t == "not in the baseline"));
        // Without a baseline report, no dashed line anywhere.
        let svg = plot_svg(&current, None).expect("plots");
        let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
        assert_eq!(with_class(&doc, "baseline").count(), 0);
    }

    #[test]
    fn legend_and_axis_titles() {
        let current = report(Some("0123456789abcdef"), vec![scenario("s", &spread(1))]);
        let baseline = report(None, vec![scenario("s", &spread(2))]);
        let svg = plot_svg(&current, Some(&baseline)).expect("plots");
        let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
        let texts = texts(&doc);
        assert!(texts.contains(&"current (0123456789ab, 2026-11-22T21:00:00Z)".to_owned()));
        assert!(texts.contains(&"baseline (2026-11-22T21:00:00Z)".to_owned()));
        assert!(texts.contains(&"Latency".to_owned()));
        assert!(texts.contains(&"Percentile".to_owned()));
        assert!(texts.contains(&"0%".to_owned()) && texts.contains(&"99.9%".to_owned()));
        // Latency ticks carry units.
        assert!(texts.iter().any(|t| t.ends_with(" ns")), "{texts:?}");
        assert!(texts.iter().any(|t| t.ends_with(" µs")), "{texts:?}");
        assert_eq!(with_class(&doc, "legend-baseline").count(), 1);
    }

    #[test]
    fn latency_rises_upward_as_the_percentile_rises() {
        let current = report(None, vec![scenario("s", &spread(1))]);
        let svg = plot_svg(&current, None).expect("plots");
        let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
        let path = with_class(&doc, "current").next().expect("a current line");
        let points = coordinates(path.attribute("d").expect("d"));
        assert!(points.len() > 20);
        for pair in points.windows(2) {
            assert!(pair[1].0 >= pair[0].0, "x goes right: {pair:?}");
            assert!(pair[1].1 <= pair[0].1, "y goes up: {pair:?}");
        }
        // The line spans the plot area: 0% at the left edge, 100% at the right one.
        let w = PANEL_WIDTH - PLOT_LEFT - PLOT_RIGHT;
        assert_eq!(points[0].0, 0.0);
        assert_eq!(
            points.last().map(|p| p.0),
            Some((w * 100.0).round() / 100.0)
        );
    }

    #[test]
    fn escapes_names() {
        let name = "a<b>&\"c'\u{1}";
        let current = report(Some("<sha&>"), vec![scenario(name, &spread(1))]);
        let svg = plot_svg(&current, None).expect("plots");
        assert!(svg.contains("a&lt;b&gt;&amp;&quot;c&apos;\u{fffd}"));
        let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
        let titles: Vec<&str> = with_class(&doc, "panel-title")
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(titles, ["a<b>&\"c'\u{fffd}"]);
        assert!(texts(&doc).iter().any(|t| t.contains("<sha&>")));
    }

    #[test]
    fn empty_histogram_says_no_data() {
        let current = report(None, vec![scenario("idle", &histogram([]))]);
        let svg = plot_svg(&current, None).expect("plots");
        let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
        assert!(texts(&doc).contains(&"no data".to_owned()));
        assert_eq!(
            doc.descendants().filter(|n| n.has_tag_name("path")).count(),
            0
        );
    }

    #[test]
    fn single_value_is_a_flat_line() {
        let current = report(None, vec![scenario("flat", &histogram([1_000_000]))]);
        let svg = plot_svg(&current, None).expect("plots");
        let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
        let path = with_class(&doc, "current").next().expect("a current line");
        let points = coordinates(path.attribute("d").expect("d"));
        assert!(points.len() >= 2);
        assert!(points.iter().all(|p| p.1 == points[0].1), "{points:?}");
        assert!(points.iter().all(|p| p.1.is_finite()));
        assert!(texts(&doc).contains(&"1 µs".to_owned()));
    }

    #[test]
    fn zero_latencies_stay_on_the_chart() {
        let current = report(None, vec![scenario("zeros", &histogram([0, 0, 0]))]);
        let svg = plot_svg(&current, None).expect("plots");
        let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
        let path = with_class(&doc, "current").next().expect("a current line");
        assert!(
            coordinates(path.attribute("d").expect("d"))
                .iter()
                .all(|p| p.0.is_finite() && p.1.is_finite())
        );
    }

    #[test]
    fn decode_failure_names_scenario_and_report() {
        let mut broken = scenario("broken_one", &spread(1));
        broken.histogram = "%%%".to_owned();
        let error = plot_svg(&report(None, vec![broken.clone()]), None).expect_err("fails");
        assert!(
            error.to_string().contains("`broken_one` in the current"),
            "{error}"
        );
        let current = report(None, vec![scenario("broken_one", &spread(1))]);
        let baseline = report(None, vec![broken]);
        let error = plot_svg(&current, Some(&baseline)).expect_err("fails");
        assert!(
            matches!(
                error,
                PlotError::Decode {
                    run: Run::Baseline,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn no_scenarios_still_makes_a_document() {
        let svg = plot_svg(&report(None, Vec::new()), None).expect("plots");
        let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
        assert!(texts(&doc).contains(&"no scenarios in the report".to_owned()));
    }

    #[test]
    fn labels() {
        assert_eq!(percentile_label(0), "0%");
        assert_eq!(percentile_label(2), "99%");
        assert_eq!(percentile_label(5), "99.999%");
        assert_eq!(duration_label(0.5), "0.5 ns");
        assert_eq!(duration_label(500.0), "500 ns");
        assert_eq!(duration_label(1_000.0), "1 µs");
        assert_eq!(duration_label(20_000_000.0), "20 ms");
        assert_eq!(duration_label(5e9), "5 s");
    }

    #[test]
    fn x_axis_reaches_as_far_as_the_data() {
        let few = Scale::of([points(&histogram(1..=50)).as_slice()].into_iter());
        assert_eq!(few.x_max, 2.0);
        let many = Scale::of([points(&spread(1)).as_slice()].into_iter());
        assert_eq!(many.x_max, 5.0);
    }
}

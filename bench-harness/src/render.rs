//! All text output of `catga bench`: a report and a comparison, each as an aligned plain-text
//! table for a terminal and as a GitHub-flavoured markdown table for a pull-request comment.
//! No colors: the CLI may add them. JSON output is the serde form of [`Report`] and
//! [`Comparison`], written by the CLI.

use std::fmt::Write as _;

use crate::compare::{CompareOptions, Comparison, Metric, MetricComparison, Verdict};
use crate::report::{Report, ScenarioReport};

/// A latency in nanoseconds with an adaptive unit and three significant digits: `12.3 ns`,
/// `4.56 µs`, `1.20 ms`, `2.50 s`. A value that rounds up to 1000 of a unit moves to the next
/// one (`999.9 ns` is `1.00 µs`).
pub fn format_latency(ns: f64) -> String {
    scaled(ns, &[" ns", " µs", " ms", " s"])
}

/// Operations per second with a `k`, `M` or `G` suffix and three significant digits: `950`,
/// `12.3k`, `2.40M`.
pub fn format_rate(ops_s: f64) -> String {
    scaled(ops_s, &["", "k", "M", "G"])
}

/// `value` in the largest unit (each 1000 times the previous) that keeps it at least 1, with
/// three significant digits.
fn scaled(value: f64, units: &[&str]) -> String {
    if !value.is_finite() || value < 0.0 {
        return "n/a".to_owned();
    }
    let mut scaled = value;
    let mut unit = 0;
    // Decide on the rounded value, so that 999.96 moves up rather than printing as `1000`.
    while unit + 1 < units.len() && scaled >= 999.5 {
        scaled /= 1000.0;
        unit += 1;
    }
    let decimals = if scaled < 9.995 {
        2
    } else if scaled < 99.95 {
        1
    } else {
        0
    };
    format!("{scaled:.decimals$}{}", units[unit])
}

/// A relative change as a signed percentage: `+12.3%`, `-4.0%`.
fn format_change(fraction: f64) -> String {
    format!("{:+.1}%", fraction * 100.0)
}

/// A metric's summary figure in its unit.
fn format_value(metric: Metric, value: f64) -> String {
    match metric {
        Metric::P50 | Metric::P99 | Metric::Cpu => format_latency(value),
        Metric::Instructions => format!("{}/op", format_rate(value)),
        Metric::Throughput => format!("{} ops/s", format_rate(value)),
        Metric::Allocs => format!("{value:.2}/op"),
    }
}

/// The change column: relative for timings, absolute for allocation counts (from zero a relative
/// change means nothing).
fn change_cell(metric: &MetricComparison) -> String {
    match (metric.metric, metric.change) {
        (Metric::Allocs, _) => format!("{:+.2}/op", metric.difference()),
        (_, Some(change)) => format_change(change),
        (_, None) => "n/a".to_owned(),
    }
}

fn interval_cell(metric: &MetricComparison) -> String {
    if metric.verdict == Verdict::Informational {
        return "-".to_owned();
    }
    match metric.interval {
        Some(interval) => format!(
            "[{}, {}]",
            format_change(interval.low),
            format_change(interval.high)
        ),
        None if metric.metric == Metric::Allocs && metric.note.is_some() => {
            "sample spread".to_owned()
        }
        None if matches!(metric.metric, Metric::Allocs | Metric::Instructions) => {
            "exact".to_owned()
        }
        None => format!(
            "too few samples ({} vs {})",
            metric.samples[0], metric.samples[1]
        ),
    }
}

/// Column alignment.
#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
}

/// An aligned plain-text table: a header, a rule, the rows; columns two spaces apart.
fn text_table(headers: &[(&str, Align)], rows: &[Vec<String>]) -> String {
    let width = |text: &str| text.chars().count();
    let mut widths: Vec<usize> = headers.iter().map(|(h, _)| width(h)).collect();
    for row in rows {
        for (column, cell) in row.iter().enumerate() {
            widths[column] = widths[column].max(width(cell));
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (column, cell) in cells.enumerate() {
            if column > 0 {
                text.push_str("  ");
            }
            let pad = " ".repeat(widths[column] - width(cell));
            if headers[column].1 == Align::Left {
                text.push_str(cell);
                text.push_str(&pad);
            } else {
                text.push_str(&pad);
                text.push_str(cell);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().map(|(h, _)| *h));
    let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    line(&mut rule.iter().map(String::as_str));
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

/// A GitHub markdown table; `|` in cells is escaped.
fn markdown_table(headers: &[(&str, Align)], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    let row_text = |cells: &mut dyn Iterator<Item = String>| {
        format!("| {} |\n", cells.collect::<Vec<_>>().join(" | "))
    };
    out.push_str(&row_text(&mut headers.iter().map(|(h, _)| (*h).to_owned())));
    out.push_str(&row_text(&mut headers.iter().map(|(_, align)| {
        match align {
            Align::Left => ":---",
            Align::Right => "---:",
        }
        .to_owned()
    })));
    for row in rows {
        out.push_str(&row_text(
            &mut row.iter().map(|cell| cell.replace('|', "\\|")),
        ));
    }
    out
}

/// A scenario name as markdown code, unless a backtick in it would break the span.
fn code(name: &str) -> String {
    if name.contains('`') {
        name.to_owned()
    } else {
        format!("`{name}`")
    }
}

/// The header line of a report.
fn report_header(report: &Report) -> String {
    let config = &report.config;
    format!(
        "{} {} | {} ({} cores) | {} per scenario after {} warm-up | {} samples | timer overhead {}",
        report.tool.name,
        report.tool.version,
        report.env.cpu,
        report.env.cores,
        format_latency(config.duration_ms as f64 * 1e6),
        format_latency(config.warmup_ms as f64 * 1e6),
        config.samples,
        format_latency(report.timer_overhead_ns),
    )
}

/// The footnotes of a report, numbered by first appearance, and each scenario's markers.
fn footnotes(report: &Report) -> (Vec<String>, Vec<String>) {
    let mut notes: Vec<String> = Vec::new();
    let mut markers = Vec::new();
    for scenario in &report.scenarios {
        let mut own = Vec::new();
        if scenario.batch > 1 {
            own.push(format!(
                "batched: latency is the per-operation mean of each batch of {} operations, \
                 because timing one operation alone costs about the timer overhead ({})",
                scenario.batch,
                format_latency(report.timer_overhead_ns)
            ));
        }
        if let Some(rate) = scenario.rate_ops_s {
            own.push(format!(
                "open loop: operations arrive at {} ops/s whether or not earlier ones finished; \
                 latencies are corrected for coordinated omission",
                format_rate(rate)
            ));
        }
        let mut numbers = Vec::new();
        for note in own {
            let index = match notes.iter().position(|known| *known == note) {
                Some(index) => index,
                None => {
                    notes.push(note);
                    notes.len() - 1
                }
            };
            numbers.push((index + 1).to_string());
        }
        markers.push(if numbers.is_empty() {
            String::new()
        } else {
            format!(" [{}]", numbers.join(","))
        });
    }
    (notes, markers)
}

fn report_headers() -> [(&'static str, Align); 11] {
    [
        ("scenario", Align::Left),
        ("group", Align::Left),
        ("conc", Align::Right),
        ("ops", Align::Right),
        ("ops/s", Align::Right),
        ("p50", Align::Right),
        ("p99", Align::Right),
        ("p99.9", Align::Right),
        ("max", Align::Right),
        ("allocs/op", Align::Right),
        ("x floor", Align::Right),
    ]
}

fn report_row(scenario: &ScenarioReport, name: String) -> Vec<String> {
    let latency = &scenario.latency_ns;
    vec![
        name,
        scenario.group.clone(),
        scenario.concurrency.to_string(),
        format_rate(scenario.ops as f64),
        format_rate(scenario.throughput_ops_s),
        format_latency(latency.p50),
        format_latency(latency.p99),
        format_latency(latency.p999),
        format_latency(latency.max),
        format!("{:.2}", scenario.allocs_per_op),
        scenario
            .ratio_to_floor
            .map_or_else(|| "-".to_owned(), |ratio| format!("{ratio:.1}x")),
    ]
}

/// A report as a header line, an aligned table and footnotes for batched and open-loop scenarios.
pub fn report_human(report: &Report) -> String {
    let mut out = report_header(report);
    out.push_str("\n\n");
    if report.scenarios.is_empty() {
        out.push_str("No scenario was run.\n");
        return out;
    }
    let (notes, markers) = footnotes(report);
    let rows: Vec<Vec<String>> = report
        .scenarios
        .iter()
        .zip(&markers)
        .map(|(scenario, marker)| report_row(scenario, format!("{}{marker}", scenario.name)))
        .collect();
    out.push_str(&text_table(&report_headers(), &rows));
    if !notes.is_empty() {
        out.push('\n');
        for (index, note) in notes.iter().enumerate() {
            let _ = writeln!(out, "[{}] {note}.", index + 1);
        }
    }
    out
}

/// A report as markdown: the header line, a GitHub table and the footnotes.
pub fn report_markdown(report: &Report) -> String {
    let mut out = format!("**{}**\n\n", report_header(report).replace('|', "·"));
    if report.scenarios.is_empty() {
        out.push_str("No scenario was run.\n");
        return out;
    }
    let (notes, markers) = footnotes(report);
    let rows: Vec<Vec<String>> = report
        .scenarios
        .iter()
        .zip(&markers)
        .map(|(scenario, marker)| report_row(scenario, format!("{}{marker}", code(&scenario.name))))
        .collect();
    out.push_str(&markdown_table(&report_headers(), &rows));
    if !notes.is_empty() {
        out.push('\n');
        for (index, note) in notes.iter().enumerate() {
            let _ = writeln!(out, "\\[{}\\] {note}.  ", index + 1);
        }
    }
    out
}

fn comparison_headers(confidence: f64) -> Vec<(String, Align)> {
    vec![
        ("scenario".to_owned(), Align::Left),
        ("metric".to_owned(), Align::Left),
        ("baseline".to_owned(), Align::Right),
        ("current".to_owned(), Align::Right),
        ("change".to_owned(), Align::Right),
        (
            format!(
                "{}% interval",
                crate::compare::format_percent_plain(confidence)
            ),
            Align::Left,
        ),
        ("verdict".to_owned(), Align::Left),
        ("by".to_owned(), Align::Left),
    ]
}

fn comparison_row(name: String, metric: &MetricComparison, verdict: String) -> Vec<String> {
    vec![
        name,
        metric.metric.to_string(),
        format_value(metric.metric, metric.baseline),
        format_value(metric.metric, metric.current),
        change_cell(metric),
        interval_cell(metric),
        verdict,
        metric.decided_by.to_string(),
    ]
}

/// `1 regression`, `2 regressions`.
fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// The short description of a changed metric: `send_command p99 +31.2%`.
fn summary_item(name: &str, metric: &MetricComparison) -> String {
    format!("{name} {} {}", metric.metric, change_cell(metric))
}

fn settings(options: &CompareOptions) -> String {
    format!(
        "threshold {}%, {}% confidence",
        crate::compare::format_percent_plain(options.threshold),
        crate::compare::format_percent_plain(options.confidence)
    )
}

/// Notes on what was not compared, and on runs measured on different machines.
fn comparison_notes(comparison: &Comparison, code_span: fn(&str) -> String) -> Vec<String> {
    let mut notes = Vec::new();
    let list = |names: &[String]| {
        names
            .iter()
            .map(|n| code_span(n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !comparison.only_in_baseline.is_empty() {
        notes.push(format!(
            "Only in the baseline (not run now): {}",
            list(&comparison.only_in_baseline)
        ));
    }
    if !comparison.only_in_current.is_empty() {
        notes.push(format!(
            "Only in this run (no baseline): {}",
            list(&comparison.only_in_current)
        ));
    }
    let drifted: Vec<String> = comparison
        .with_verdict(Verdict::Drifted)
        .map(|(name, metric)| format!("{} {}", code_span(name), metric.metric))
        .collect();
    if !drifted.is_empty() {
        notes.push(format!(
            "Reference implementations drifted ({}): they are the same code in both runs, so the \
             machine ran at another speed; weigh the other verdicts accordingly, and compare \
             again if in doubt",
            drifted.join(", ")
        ));
    }
    let unconfirmed: Vec<String> = comparison
        .with_verdict(Verdict::Unconfirmed)
        .map(|(name, metric)| format!("{} {}", code_span(name), metric.metric))
        .collect();
    if !unconfirmed.is_empty() {
        notes.push(format!(
            "Unconfirmed ({}): regressed in this run but not when measured again, so the \
             machine's noise; they do not fail the comparison",
            unconfirmed.join(", ")
        ));
    }
    for scenario in &comparison.scenarios {
        // One line per reason, naming the metrics it keeps from deciding.
        let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
        for metric in &scenario.metrics {
            let Some(note) = metric.note.as_deref() else {
                continue;
            };
            // `cpu` is informational whenever wall time decides: no news.
            if metric.metric == Metric::Cpu && metric.verdict == Verdict::Informational {
                continue;
            }
            match reasons.iter_mut().find(|(known, _)| *known == note) {
                Some((_, metrics)) => metrics.push(metric.metric.name()),
                None => reasons.push((note, vec![metric.metric.name()])),
            }
        }
        for (note, metrics) in reasons {
            notes.push(format!(
                "{} {}: {note}",
                code_span(&scenario.name),
                metrics.join(", ")
            ));
        }
    }
    let (base, cur) = (&comparison.baseline_env, &comparison.current_env);
    if base.cpu != cur.cpu || base.cores != cur.cores {
        notes.push(format!(
            "The runs were measured on different machines ({} with {} cores, then {} with {} \
             cores): the changes include the difference of the machines",
            base.cpu, base.cores, cur.cpu, cur.cores
        ));
    }
    notes
}

/// A comparison as an aligned table of every metric, then a summary of the regressions and the
/// scenarios that were not compared.
pub fn comparison_human(comparison: &Comparison, options: &CompareOptions) -> String {
    let headers = comparison_headers(options.confidence);
    let headers: Vec<(&str, Align)> = headers.iter().map(|(h, a)| (h.as_str(), *a)).collect();
    let rows: Vec<Vec<String>> = comparison
        .scenarios
        .iter()
        .flat_map(|scenario| {
            scenario.metrics.iter().map(|metric| {
                let verdict = match metric.verdict {
                    Verdict::Regressed => "REGRESSED".to_owned(),
                    Verdict::Informational => "info".to_owned(),
                    other => other.to_string(),
                };
                comparison_row(scenario.name.clone(), metric, verdict)
            })
        })
        .collect();
    let mut out = text_table(&headers, &rows);
    out.push('\n');
    let regressions: Vec<_> = comparison.regressions().collect();
    let improvements = comparison.with_verdict(Verdict::Improved).count();
    if regressions.is_empty() {
        let _ = write!(out, "No regressions ({})", settings(options));
    } else {
        let _ = write!(
            out,
            "{} ({}):",
            plural(regressions.len(), "regression"),
            settings(options)
        );
        for (name, metric) in &regressions {
            let _ = write!(out, "\n  {}", summary_item(name, metric));
        }
        out.push('\n');
    }
    if improvements > 0 {
        let _ = write!(
            out,
            "{}{}",
            if regressions.is_empty() { "; " } else { "" },
            plural(improvements, "improvement")
        );
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    for note in comparison_notes(comparison, |name| name.to_owned()) {
        let _ = writeln!(out, "{note}.");
    }
    out
}

/// A comparison as a pull-request comment: a summary line, a table of the changed metrics, and
/// the unchanged ones collapsed in a `<details>` block.
pub fn comparison_markdown(comparison: &Comparison, options: &CompareOptions) -> String {
    let regressions = comparison.regressions().count();
    let improvements = comparison.with_verdict(Verdict::Improved).count();
    let mut out = if regressions > 0 {
        format!(
            ":x: **{}** ({})",
            plural(regressions, "regression"),
            settings(options)
        )
    } else {
        format!(
            ":white_check_mark: **No regressions** ({})",
            settings(options)
        )
    };
    if improvements > 0 {
        let _ = write!(out, ", {}", plural(improvements, "improvement"));
    }
    out.push_str("\n\n");

    let headers = comparison_headers(options.confidence);
    let headers: Vec<(&str, Align)> = headers.iter().map(|(h, a)| (h.as_str(), *a)).collect();
    let rows = |changed: bool| -> Vec<Vec<String>> {
        comparison
            .scenarios
            .iter()
            .flat_map(|scenario| {
                scenario
                    .metrics
                    .iter()
                    .filter(move |metric| {
                        !matches!(metric.verdict, Verdict::Unchanged | Verdict::Informational)
                            == changed
                    })
                    .map(|metric| {
                        let verdict = match metric.verdict {
                            Verdict::Regressed => ":x: regressed",
                            Verdict::Improved => ":rocket: improved",
                            Verdict::Unchanged => "unchanged",
                            Verdict::Drifted => ":warning: drifted (reference)",
                            Verdict::Unconfirmed => ":grey_question: unconfirmed",
                            Verdict::Informational => "info",
                        };
                        comparison_row(code(&scenario.name), metric, verdict.to_owned())
                    })
            })
            .collect()
    };
    let changed = rows(true);
    let unchanged = rows(false);
    if !changed.is_empty() {
        out.push_str(&markdown_table(&headers, &changed));
        out.push('\n');
    }
    if !unchanged.is_empty() {
        let _ = write!(
            out,
            "<details>\n<summary>{} unchanged</summary>\n\n{}\n</details>\n\n",
            plural(unchanged.len(), "metric"),
            markdown_table(&headers, &unchanged)
        );
    }
    for note in comparison_notes(comparison, code) {
        let _ = writeln!(out, "{note}.  ");
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::compare;
    use crate::compare::tests::{Figures, report, scenario};

    #[test]
    fn latency_units() {
        assert_eq!(format_latency(0.0), "0.00 ns");
        assert_eq!(format_latency(0.85), "0.85 ns");
        assert_eq!(format_latency(12.34), "12.3 ns");
        assert_eq!(format_latency(999.4), "999 ns");
        assert_eq!(format_latency(999.9), "1.00 µs");
        assert_eq!(format_latency(4561.0), "4.56 µs");
        assert_eq!(format_latency(9_996.0), "10.0 µs");
        assert_eq!(format_latency(1_200_000.0), "1.20 ms");
        assert_eq!(format_latency(2.5e9), "2.50 s");
        assert_eq!(format_latency(3.6e12), "3600 s");
        assert_eq!(format_latency(f64::NAN), "n/a");
    }

    #[test]
    fn rate_units() {
        assert_eq!(format_rate(950.0), "950");
        assert_eq!(format_rate(0.5), "0.50");
        assert_eq!(format_rate(12_345.0), "12.3k");
        assert_eq!(format_rate(999_999.0), "1.00M");
        assert_eq!(format_rate(2_400_000.0), "2.40M");
        assert_eq!(format_rate(1.5e9), "1.50G");
    }

    fn sample_report() -> Report {
        let samples: Vec<Figures> = vec![(12.3, 20.0, 2.4e6); 3];
        let mut batched = scenario("send_command", &samples, 0.0);
        batched.batch = 64;
        let mut open = scenario("send_query", &[(4560.0, 9000.0, 10_000.0)], 2.0);
        open.rate_ops_s = Some(10_000.0);
        open.concurrency = 10;
        open.ratio_to_floor = None;
        let mut floor = scenario("direct_call", &[(3.0, 5.0, 3.0e8)], 0.0);
        floor.group = "baseline".to_owned();
        floor.ratio_to_floor = Some(1.0);
        report(vec![batched, open, floor])
    }

    #[test]
    fn human_report() {
        let text = report_human(&sample_report());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "catga 0.1.0 | Test CPU @ 2.20GHz (2 cores) | 5.00 s per scenario after 1.00 s \
             warm-up | 10 samples | timer overhead 45.5 ns"
        );
        assert_eq!(
            lines[2],
            "scenario          group     conc    ops  ops/s      p50      p99    p99.9      max  allocs/op  x floor"
        );
        assert_eq!(
            lines[4],
            "send_command [1]  runtime      1  3.00k  2.40M  12.3 ns  20.0 ns  40.0 ns   200 ns       0.00     4.1x"
        );
        assert_eq!(
            lines[5],
            "send_query [2]    runtime     10  1.00k  10.0k  4.56 µs  9.00 µs  18.0 µs  90.0 µs       2.00        -"
        );
        assert!(text.contains(
            "[1] batched: latency is the per-operation mean of each batch of 64 operations, \
             because timing one operation alone costs about the timer overhead (45.5 ns).\n"
        ));
        assert!(text.contains(
            "[2] open loop: operations arrive at 10.0k ops/s whether or not earlier ones \
             finished; latencies are corrected for coordinated omission.\n"
        ));
    }

    #[test]
    fn markdown_report() {
        let text = report_markdown(&sample_report());
        assert!(text.starts_with("**catga 0.1.0 · Test CPU"), "{text}");
        assert!(text.contains(
            "| scenario | group | conc | ops | ops/s | p50 | p99 | p99.9 | max | allocs/op | x floor |\n\
             | :--- | :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n\
             | `send_command` [1] | runtime | 1 | 3.00k | 2.40M | 12.3 ns | 20.0 ns | 40.0 ns | 200 ns | 0.00 | 4.1x |\n"
        ), "{text}");
        assert!(text.contains("\\[2\\] open loop"), "{text}");
    }

    #[test]
    fn empty_report() {
        let text = report_human(&report(vec![]));
        assert!(text.ends_with("\n\nNo scenario was run.\n"), "{text}");
    }

    fn sample_comparison() -> Comparison {
        let base: Vec<Figures> = (0..10).map(|i| (100.0 + i as f64, 400.0, 1e6)).collect();
        let slow: Vec<Figures> = (0..10).map(|i| (130.0 + i as f64, 400.0, 1e6)).collect();
        let baseline = report(vec![
            scenario("send_command", &base, 0.0),
            scenario("gone", &base, 0.0),
            scenario("few", &base[..2], 0.0),
        ]);
        let current = report(vec![
            scenario("send_command", &slow, 1.0),
            scenario("few", &slow[..2], 0.0),
            scenario("new", &base, 0.0),
        ]);
        compare(&baseline, &current, &CompareOptions::default()).expect("shared scenarios")
    }

    #[test]
    fn human_comparison() {
        let text = comparison_human(&sample_comparison(), &CompareOptions::default());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "scenario      metric         baseline      current    change  99% interval              verdict    by"
        );
        assert_eq!(
            lines[2],
            "send_command  p50              105 ns       135 ns    +28.7%  [+23.9%, +33.7%]          REGRESSED  wall"
        );
        assert_eq!(
            lines[5],
            "send_command  allocs          0.00/op      1.00/op  +1.00/op  exact                     REGRESSED  count"
        );
        assert_eq!(
            lines[6],
            "few           p50              101 ns       131 ns    +29.9%  too few samples (2 vs 2)  unchanged  wall"
        );
        let summary = text
            .split("\n\n")
            .nth(1)
            .expect("a summary after the table");
        assert_eq!(
            summary,
            "2 regressions (threshold 10%, 99% confidence):\n  send_command p50 +28.7%\n  \
             send_command allocs +1.00/op\nOnly in the baseline (not run now): gone.\n\
             Only in this run (no baseline): new.\n"
        );
    }

    #[test]
    fn human_comparison_without_regressions() {
        let samples: Vec<Figures> = vec![(100.0, 400.0, 1e6); 10];
        let r = report(vec![scenario("a", &samples, 0.0)]);
        let comparison = compare(&r, &r, &CompareOptions::default()).expect("shared");
        let text = comparison_human(&comparison, &CompareOptions::default());
        assert!(
            text.ends_with("\n\nNo regressions (threshold 10%, 99% confidence)\n"),
            "{text}"
        );
    }

    #[test]
    fn markdown_comparison() {
        let text = comparison_markdown(&sample_comparison(), &CompareOptions::default());
        assert!(
            text.starts_with(
                ":x: **2 regressions** (threshold 10%, 99% confidence)\n\n| scenario |"
            ),
            "{text}"
        );
        assert!(text.contains(
            "| `send_command` | p50 | 105 ns | 135 ns | +28.7% | [+23.9%, +33.7%] | :x: regressed | wall |\n"
        ), "{text}");
        assert!(
            text.contains("<details>\n<summary>6 metrics unchanged</summary>\n\n| scenario"),
            "{text}"
        );
        assert!(
            text.contains(
                "| `few` | p50 | 101 ns | 131 ns | +29.9% | too few samples (2 vs 2) | unchanged | wall |"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("Only in this run (no baseline): `new`.  \n"),
            "{text}"
        );
    }
}

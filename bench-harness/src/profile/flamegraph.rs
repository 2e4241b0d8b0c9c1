//! Flamegraph SVGs from folded stacks, drawn by inferno (the Rust port of Brendan Gregg's
//! FlameGraph): a CPU flamegraph, a flamegraph of allocated bytes, and a differential
//! flamegraph of a baseline's CPU stacks against a run's.
//!
//! Colours are chosen from each frame's name, not at random, so the same function has the same
//! colour in every SVG and two SVGs of the same stacks are identical.

use inferno::differential;
use inferno::flamegraph::{self, Options, Palette, color::BasicPalette, color::MultiPalette};

use super::folded::Folded;

/// What a flamegraph shows, in its title and tooltips.
#[derive(Debug, Clone)]
pub struct Labels {
    pub title: String,
    pub subtitle: String,
    /// What a stack's count counts (`samples`, `bytes`): the tooltips say `N samples (x%)`.
    pub count_name: String,
}

/// The CPU flamegraph of `stacks`.
pub fn cpu_svg(stacks: &Folded, labels: &Labels) -> Result<String, String> {
    render(
        &stacks.to_text(),
        labels,
        Palette::Multi(MultiPalette::Rust),
    )
}

/// The flamegraph of allocated bytes by stack.
pub fn bytes_svg(stacks: &Folded, labels: &Labels) -> Result<String, String> {
    render(&stacks.to_text(), labels, Palette::Basic(BasicPalette::Mem))
}

/// The differential flamegraph of `baseline` against `current`: the frames and widths of
/// `current`, each coloured by how its share of the samples changed, red where it grew and blue
/// where it shrank. The baseline's counts are first scaled to the same total as the run's, so
/// a run that sampled longer is not all red.
pub fn differential_svg(
    baseline: &Folded,
    current: &Folded,
    labels: &Labels,
) -> Result<String, String> {
    let mut lines = Vec::new();
    differential::from_readers(
        differential::Options {
            normalize: true,
            strip_hex: false,
        },
        baseline.to_text().as_bytes(),
        current.to_text().as_bytes(),
        &mut lines,
    )
    .map_err(|error| format!("cannot pair the two profiles' stacks: {error}"))?;
    let lines = String::from_utf8(lines)
        .map_err(|error| format!("the paired stacks are not UTF-8: {error}"))?;
    render(&lines, labels, Palette::Multi(MultiPalette::Rust))
}

fn render(folded: &str, labels: &Labels, palette: Palette) -> Result<String, String> {
    if folded.trim().is_empty() {
        return Err("there are no stacks to draw".to_owned());
    }
    let mut options = Options::default();
    options.title = labels.title.clone();
    options.subtitle = Some(labels.subtitle.clone());
    options.count_name = labels.count_name.clone();
    options.colors = palette;
    options.hash = true;
    options.deterministic = true;
    let mut svg = Vec::new();
    flamegraph::from_lines(&mut options, folded.lines(), &mut svg)
        .map_err(|error| format!("cannot draw the flamegraph: {error}"))?;
    String::from_utf8(svg).map_err(|error| format!("the flamegraph is not UTF-8: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels {
        Labels {
            title: "CPU: send_command".to_owned(),
            subtitle: "a test".to_owned(),
            count_name: "samples".to_owned(),
        }
    }

    fn stacks(lines: &[(&str, u64)]) -> Folded {
        let mut folded = Folded::new();
        for (stack, count) in lines {
            folded.add(stack.split(';'), *count);
        }
        folded
    }

    /// The text of every `<title>` (a frame's tooltip) in an SVG.
    fn titles(svg: &str) -> Vec<String> {
        // inferno's SVGs start with the SVG 1.1 doctype.
        let options = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..roxmltree::ParsingOptions::default()
        };
        let document =
            roxmltree::Document::parse_with_options(svg, options).expect("the SVG is XML");
        document
            .descendants()
            .filter(|node| node.has_tag_name("title"))
            .filter_map(|node| node.text().map(str::to_owned))
            .collect()
    }

    #[test]
    fn a_cpu_flamegraph_names_every_frame_with_its_samples() {
        let folded = stacks(&[
            ("main;run;catga::mediator::Mediator::send", 30),
            ("main;run;<[u8, 4] as Debug>::fmt", 10),
        ]);
        let svg = cpu_svg(&folded, &labels()).unwrap();
        let titles = titles(&svg);
        assert!(
            titles
                .iter()
                .any(|t| t.starts_with("catga::mediator::Mediator::send (30 samples, 75.00%)")),
            "{titles:?}"
        );
        assert!(svg.contains("CPU: send_command"));
        assert_eq!(svg, cpu_svg(&folded, &labels()).unwrap(), "deterministic");
    }

    #[test]
    fn a_differential_flamegraph_shows_the_growth_of_each_frame() {
        let baseline = stacks(&[("main;send", 50), ("main;other", 50)]);
        let current = stacks(&[("main;send", 150), ("main;other", 50)]);
        let svg = differential_svg(&baseline, &current, &labels()).unwrap();
        let titles = titles(&svg);
        // Normalised: the baseline's 50 of 100 become 100 of 200, so `send` grew by 50.
        assert!(
            titles
                .iter()
                .any(|t| t.starts_with("send (150 samples, 75.00%; +25.00%)")),
            "{titles:?}"
        );
        assert!(
            titles
                .iter()
                .any(|t| t.starts_with("other (50 samples, 25.00%; -25.00%)")),
            "{titles:?}"
        );
    }

    #[test]
    fn bytes_are_drawn_and_nothing_to_draw_is_an_error() {
        let svg = bytes_svg(
            &stacks(&[("main;op;make_key", 640)]),
            &Labels {
                count_name: "bytes".to_owned(),
                ..labels()
            },
        )
        .unwrap();
        assert!(
            titles(&svg)
                .iter()
                .any(|t| t.starts_with("make_key (640 bytes"))
        );
        let error = cpu_svg(&Folded::new(), &labels()).unwrap_err();
        assert!(error.contains("no stacks"), "{error}");
    }
}

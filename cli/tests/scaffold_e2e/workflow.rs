//! A small runner for the generated GitHub Actions workflow: it reads the `run:` steps of every
//! job, in order, and runs each as GitHub's ubuntu runners do (`bash -eo pipefail`), with the
//! workflow's `env:`, `$GITHUB_PATH` (lines appended to it go in front of `PATH` for the
//! following steps) and `$GITHUB_STEP_SUMMARY`. `uses:` steps (checkout, toolchain, caches,
//! artifacts) are GitHub's machinery and are skipped. After a failed step only `if: always()`
//! steps run, as on GitHub; any other `if:` on a `run:` step is refused, so the workflow stays
//! one a plain runner can follow.
//!
//! It reads the subset of YAML the template uses: block mappings and sequences, plain scalars
//! and `|` block scalars.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

/// One `run:` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    /// Its `name:`, or its script's first line.
    pub(crate) name: String,
    /// The shell script.
    pub(crate) script: String,
    /// `if: always()`: runs after a failed step too.
    pub(crate) always: bool,
}

/// The workflow's `env:` and `run:` steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Workflow {
    pub(crate) env: Vec<(String, String)>,
    pub(crate) steps: Vec<Step>,
}

/// What one step did.
#[derive(Debug)]
pub(crate) struct StepRun {
    pub(crate) name: String,
    /// The exit code (`None`: killed by a signal).
    pub(crate) code: Option<i32>,
    /// stdout and stderr.
    pub(crate) output: String,
    /// `$GITHUB_STEP_SUMMARY` after the step.
    pub(crate) summary: String,
    /// How long it ran.
    pub(crate) elapsed: std::time::Duration,
}

/// A line's indentation and its text without it.
fn split_indent(line: &str) -> (usize, &str) {
    let text = line.trim_start_matches(' ');
    (line.len() - text.len(), text)
}

fn is_blank_or_comment(line: &str) -> bool {
    let text = line.trim();
    text.is_empty() || text.starts_with('#')
}

/// `key: value` (value may be empty).
fn key_value(text: &str) -> Option<(&str, &str)> {
    let (key, value) = text.split_once(':')?;
    let key = key.trim();
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    simple.then(|| (key, value.trim()))
}

/// A plain or quoted scalar's value.
fn scalar(text: &str) -> String {
    let text = text.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = text
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            return inner.to_string();
        }
    }
    text.to_string()
}

impl Workflow {
    pub(crate) fn parse(text: &str) -> Result<Workflow, String> {
        let lines: Vec<&str> = text.lines().collect();
        let mut env = Vec::new();
        let mut steps = Vec::new();
        let mut index = 0;
        while index < lines.len() {
            let line = lines[index];
            if is_blank_or_comment(line) {
                index += 1;
                continue;
            }
            let (indent, text) = split_indent(line);
            if indent == 0 && text == "env:" {
                index += 1;
                while index < lines.len() {
                    let line = lines[index];
                    if is_blank_or_comment(line) {
                        index += 1;
                        continue;
                    }
                    let (indent, text) = split_indent(line);
                    if indent == 0 {
                        break;
                    }
                    let (key, value) = key_value(text)
                        .ok_or_else(|| format!("line {}: expected `KEY: value`", index + 1))?;
                    env.push((key.to_string(), scalar(value)));
                    index += 1;
                }
                continue;
            }
            if text == "steps:" {
                index = parse_steps(&lines, index + 1, indent, &mut steps)?;
                continue;
            }
            index += 1;
        }
        Ok(Workflow { env, steps })
    }

    /// Runs the steps in `dir` with `extra_env` on top of this process's environment.
    pub(crate) fn run(&self, dir: &Path, extra_env: &[(String, OsString)]) -> Vec<StepRun> {
        let scratch = tempfile::tempdir().expect("a scratch directory for the runner");
        let github_path = scratch.path().join("github_path");
        let summary = scratch.path().join("step_summary");
        std::fs::write(&github_path, "").expect("create $GITHUB_PATH");
        std::fs::write(&summary, "").expect("create $GITHUB_STEP_SUMMARY");
        let mut runs = Vec::new();
        let mut failed = false;
        for step in &self.steps {
            if failed && !step.always {
                continue;
            }
            let mut path: Vec<std::path::PathBuf> = std::fs::read_to_string(&github_path)
                .expect("read $GITHUB_PATH")
                .lines()
                .rev()
                .filter(|line| !line.trim().is_empty())
                .map(std::path::PathBuf::from)
                .collect();
            path.extend(std::env::split_paths(
                &std::env::var_os("PATH").unwrap_or_default(),
            ));
            let mut command = Command::new("bash");
            command
                .args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
                .arg(&step.script)
                .current_dir(dir)
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                .envs(extra_env.iter().map(|(k, v)| (k, v)))
                .env("PATH", std::env::join_paths(path).expect("a valid PATH"))
                .env("GITHUB_PATH", &github_path)
                .env("GITHUB_STEP_SUMMARY", &summary)
                .env("GITHUB_ACTIONS", "true")
                .env("CI", "true");
            let started = std::time::Instant::now();
            let output = super::output_within_limit(command, &format!("step `{}`", step.name));
            let code = output.status.code();
            failed |= code != Some(0);
            runs.push(StepRun {
                name: step.name.clone(),
                code,
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
                summary: std::fs::read_to_string(&summary).unwrap_or_default(),
                elapsed: started.elapsed(),
            });
        }
        runs
    }
}

/// Reads the sequence of steps after a `steps:` line indented `parent`; returns the index of
/// the first line after it.
fn parse_steps(
    lines: &[&str],
    mut index: usize,
    parent: usize,
    steps: &mut Vec<Step>,
) -> Result<usize, String> {
    while index < lines.len() {
        let line = lines[index];
        if is_blank_or_comment(line) {
            index += 1;
            continue;
        }
        let (item_indent, text) = split_indent(line);
        if item_indent <= parent {
            break;
        }
        let Some(first) = text.strip_prefix("- ") else {
            return Err(format!("line {}: expected a `- ` step", index + 1));
        };
        // The step's keys sit at the column of the text after `- `.
        let key_indent = item_indent + 2;
        let mut keys: Vec<(String, String)> = Vec::new();
        let mut pending = Some(first.to_string());
        index += 1;
        loop {
            let Some(text) = pending.take() else {
                // The next line of this step, if there is one.
                while index < lines.len() && is_blank_or_comment(lines[index]) {
                    index += 1;
                }
                if index >= lines.len() {
                    break;
                }
                let (indent, text) = split_indent(lines[index]);
                if indent != key_indent {
                    if indent > key_indent {
                        // Nested under a key we do not read (`with:`): skip.
                        index += 1;
                        continue;
                    }
                    break;
                }
                pending = Some(text.to_string());
                index += 1;
                continue;
            };
            let (key, value) = key_value(&text)
                .ok_or_else(|| format!("line {index}: expected `key: value` in a step"))?;
            let value = if value == "|" {
                let mut block = Vec::new();
                let mut block_indent = None;
                while index < lines.len() {
                    let line = lines[index];
                    let (indent, _) = split_indent(line);
                    if !line.trim().is_empty() && indent <= key_indent {
                        break;
                    }
                    let strip = *block_indent.get_or_insert(indent);
                    block.push(line.get(strip..).unwrap_or("").to_string());
                    index += 1;
                }
                while block.last().is_some_and(|line| line.trim().is_empty()) {
                    block.pop();
                }
                block.join("\n") + "\n"
            } else {
                scalar(value)
            };
            keys.push((key.to_string(), value));
        }
        let get = |name: &str| {
            keys.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        if let Some(script) = get("run") {
            let always = match get("if").as_deref() {
                None => false,
                Some("always()") => true,
                Some(other) => {
                    return Err(format!(
                        "a `run:` step with `if: {other}`: this runner follows only `always()`"
                    ));
                }
            };
            let name = get("name")
                .unwrap_or_else(|| script.lines().next().unwrap_or_default().to_string());
            steps.push(Step {
                name,
                script,
                always,
            });
        }
    }
    Ok(index)
}

#[test]
fn workflow_runner_reads_run_steps_in_order_with_env_and_block_scripts() {
    let workflow = Workflow::parse(
        "name: ci\nenv:\n  A: \"1\"\njobs:\n  one:\n    steps:\n      - uses: actions/checkout@v4\n      \
         - name: first\n        run: echo \"$A\"\n      - uses: actions/cache@v4\n        with:\n          \
         path: x\n      - run: |\n          echo two\n          echo three\n      - name: last\n        \
         if: always()\n        run: |\n          if true; then\n            echo nested\n          fi\n",
    )
    .expect("parses");
    assert_eq!(workflow.env, [("A".to_string(), "1".to_string())]);
    let names: Vec<&str> = workflow.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["first", "echo two", "last"]);
    assert_eq!(workflow.steps[1].script, "echo two\necho three\n");
    assert_eq!(
        workflow.steps[2].script,
        "if true; then\n  echo nested\nfi\n"
    );
    assert!(workflow.steps[2].always && !workflow.steps[0].always);

    let dir = tempfile::tempdir().expect("temp dir");
    let failing = Workflow {
        env: vec![("WHO".into(), "runner".into())],
        steps: vec![
            Step {
                name: "path".into(),
                script: "mkdir bin && printf '#!/bin/sh\\necho tool\\n' > bin/tool && chmod +x bin/tool && echo \"$PWD/bin\" >> \"$GITHUB_PATH\"\n".into(),
                always: false,
            },
            Step {
                name: "fails".into(),
                script: "tool && echo \"$WHO\" >> \"$GITHUB_STEP_SUMMARY\" && false\n".into(),
                always: false,
            },
            Step {
                name: "skipped".into(),
                script: "true\n".into(),
                always: false,
            },
            Step {
                name: "always".into(),
                script: "true\n".into(),
                always: true,
            },
        ],
    };
    let runs = failing.run(dir.path(), &[]);
    let seen: Vec<(&str, Option<i32>)> = runs.iter().map(|r| (r.name.as_str(), r.code)).collect();
    assert_eq!(
        seen,
        [("path", Some(0)), ("fails", Some(1)), ("always", Some(0))]
    );
    assert!(runs[1].output.contains("tool"), "{}", runs[1].output);
    assert_eq!(runs[1].summary, "runner\n");
}

#[test]
fn workflow_runner_refuses_conditions_it_cannot_evaluate() {
    let error = Workflow::parse(
        "jobs:\n  one:\n    steps:\n      - if: github.event_name == 'push'\n        run: echo\n",
    )
    .unwrap_err();
    assert!(error.contains("only `always()`"), "{error}");
}

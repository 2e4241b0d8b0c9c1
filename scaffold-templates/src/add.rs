//! `catga add`: the plan for one new slice (a message, its handler and a test) in an existing
//! project, wired into its module tree and its `Mediator::builder()` chain.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use catga_lints::{Edit, apply_edits};

use crate::edit::{self, ParsedFile, Registration};
use crate::format::{format_created, rustfmt_snippet};
use crate::name::{self, TypeName};
use crate::template::{self, Template};
use crate::{Plan, ScaffoldError};

/// What `catga add` adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A command and its handler.
    Command,
    /// A query and its handler.
    Query,
    /// An event and its handler.
    Event,
    /// A saga, its state, and the command that starts it.
    Saga,
}

impl Kind {
    fn templates(self) -> (Template, Template) {
        match self {
            Kind::Command => (template::COMMAND, template::COMMAND_TEST),
            Kind::Query => (template::QUERY, template::QUERY_TEST),
            Kind::Event => (template::EVENT, template::EVENT_TEST),
            Kind::Saga => (template::SAGA, template::SAGA_TEST),
        }
    }

    /// `command`, `query`, `event` or `saga`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Command => "command",
            Kind::Query => "query",
            Kind::Event => "event",
            Kind::Saga => "saga",
        }
    }
}

/// What `catga add` was asked for.
#[derive(Debug, Clone)]
pub struct AddOptions {
    /// What to add.
    pub kind: Kind,
    /// The message's name (converted to PascalCase).
    pub name: String,
    /// The response type of a command or query.
    pub response: Option<String>,
    /// The module to place the slice in (`orders` or `orders::shipping`); the crate root
    /// without one.
    pub module: Option<String>,
    /// Where to look for the project: this directory or the nearest one above with a
    /// `Cargo.toml`.
    pub dir: PathBuf,
}

/// The project `catga add` extends.
#[derive(Debug)]
struct Project {
    root: PathBuf,
    crate_ident: String,
    /// `src/lib.rs`: where modules are declared from.
    crate_root: PathBuf,
    files: Vec<ParsedFile>,
}

/// The plan for a new slice: checks the names, finds the project and where it registers its
/// handlers, and computes every file and edit.
pub fn plan(options: &AddOptions) -> Result<Plan, ScaffoldError> {
    let name = name::message_type(&options.name)?;
    let response = response(options)?;
    let mut module = options
        .module
        .as_deref()
        .map(name::module_path)
        .transpose()?
        .unwrap_or_default();
    let project = Project::find(&options.dir)?;
    let mut plan = Plan::new(&project.root);
    plan.notes.extend(name.note.clone());
    // `--module a::x` for slice `x`: the slice is module `a::x` itself, not `a::x::x`, a
    // module inside its namesake, which clippy's `module_inception` refuses.
    if module.last() == Some(&name.snake) {
        module.pop();
        plan.notes.push(format!(
            "the slice is the module `{}` itself (a module `{}` inside `{}` trips clippy's \
             module_inception)",
            module
                .iter()
                .chain(std::iter::once(&name.snake))
                .cloned()
                .collect::<Vec<_>>()
                .join("::"),
            name.snake,
            name.snake
        ));
    }

    let critical = match options.kind {
        Kind::Command => critical_command(&project.root, &name.pascal)?,
        _ => None,
    };
    let slice = Slice {
        kind: options.kind,
        path: module
            .iter()
            .chain(std::iter::once(&name.snake))
            .cloned()
            .collect::<Vec<_>>()
            .join("::"),
        name,
        response,
        idempotent: critical.is_some(),
    };
    plan.notes.extend(critical);
    project.refuse_taken(&slice.defined_names())?;
    let registration = project.registration()?;

    let values = slice.values(&project, &registration);
    let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (module_template, test_template) = slice.kind.templates();
    let mut slice_path = PathBuf::from("src");
    slice_path.extend(&module);
    slice_path.push(format!("{}.rs", slice.name.snake));
    plan.create(&slice_path, template::render(module_template.text, &values));
    plan.create(
        Path::new("tests").join(format!("{}.rs", slice.name.snake)),
        template::render(test_template.text, &values),
    );

    let mut edits: BTreeMap<PathBuf, Vec<Edit>> = BTreeMap::new();
    project.declare_modules(&module, &slice.name.snake, &mut plan, &mut edits)?;
    let registration_file = project.file(&registration.path)?;
    let call = slice.registration_call(&path_prefix(&project, &registration));
    edits
        .entry(registration.path.clone())
        .or_default()
        .push(registration.edit(registration_file, &call));
    for (path, file_edits) in edits {
        let file = project.file(&path)?;
        let after = apply_edits(file.text(), &file_edits).ok_or_else(|| {
            ScaffoldError::project(format!(
                "the edits of `{}` overlap; add the module declaration by hand",
                path.display()
            ))
        })?;
        plan.edit(path, file.text().to_string(), after);
    }
    format_created(&mut plan);
    plan.check()?;
    Ok(plan)
}

/// Why the command `pascal` must be idempotent: the `critical_commands` pattern of the
/// project's configuration (CATGA013) that names it, or `None`.
fn critical_command(root: &Path, pascal: &str) -> Result<Option<String>, ScaffoldError> {
    let config = catga_lints::config::load(root).map_err(|error| {
        ScaffoldError::project(format!(
            "cannot read the project's catga configuration: {error}"
        ))
    })?;
    let Some(pattern) = config.settings.critical_pattern(pascal) else {
        return Ok(None);
    };
    let source = match &config.file {
        Some(file) => format!("in `{}`", file.display()),
        None => "among the default `critical_commands`".to_string(),
    };
    Ok(Some(format!(
        "`{pascal}` matches the critical command pattern `{pattern}` {source}: it is \
         idempotent, keyed by `request_id`"
    )))
}

fn response(options: &AddOptions) -> Result<String, ScaffoldError> {
    let refuse = |reason: &str| ScaffoldError::InvalidName {
        what: "--response",
        name: options.response.clone().unwrap_or_default(),
        reason: reason.to_string(),
    };
    match (options.kind, options.response.as_deref()) {
        (Kind::Command, None) => Ok("()".into()),
        (Kind::Query, None) => Err(ScaffoldError::project(
            "a query needs `--response TYPE`: the type it answers (e.g. `--response String`)",
        )),
        (Kind::Event | Kind::Saga, Some(_)) => Err(refuse(&format!(
            "only commands and queries have a response; {} takes no --response",
            if options.kind == Kind::Event {
                "an event"
            } else {
                "a saga"
            }
        ))),
        (Kind::Event | Kind::Saga, None) => Ok(String::new()),
        (Kind::Command | Kind::Query, Some(text)) => {
            let ty: syn::Type = syn::parse_str(text)
                .map_err(|error| refuse(&format!("not a Rust type: {error}")))?;
            Ok(quote_type(&ty))
        }
    }
}

/// A type as rustfmt writes it (`Vec<String>`, `Option<(u8, u8)>`).
fn quote_type(ty: &syn::Type) -> String {
    let tokens = quote::ToTokens::to_token_stream(ty).to_string();
    rustfmt_snippet(&format!("type T = {tokens};"))
        .and_then(|text| {
            Some(
                text.trim()
                    .strip_prefix("type T = ")?
                    .strip_suffix(';')?
                    .to_string(),
            )
        })
        .unwrap_or(tokens)
}

/// The slice being added: what the templates and the registration are made from.
#[derive(Debug)]
struct Slice {
    kind: Kind,
    name: TypeName,
    /// The response type of a command or query, as rustfmt writes it.
    response: String,
    /// A critical command gets `idempotent` and a `request_id` key.
    idempotent: bool,
    /// The slice's module path from the crate root (`orders::ship_order`).
    path: String,
}

impl Slice {
    /// The type names the slice defines.
    fn defined_names(&self) -> Vec<String> {
        let pascal = &self.name.pascal;
        match self.kind {
            Kind::Command | Kind::Query | Kind::Event => {
                vec![pascal.clone(), format!("{pascal}Handler")]
            }
            Kind::Saga => vec![
                pascal.clone(),
                format!("{pascal}State"),
                format!("Start{pascal}"),
                format!("Start{pascal}Handler"),
            ],
        }
    }

    /// `.handler(prefix path::NameHandler)`: the slice's handler registration.
    fn registration_call(&self, prefix: &str) -> String {
        let pascal = &self.name.pascal;
        // The stub handlers are unit structs, built by naming them; the saga's holds its
        // runner.
        let (method, handler) = match self.kind {
            Kind::Command | Kind::Query => ("handler", format!("{pascal}Handler")),
            Kind::Event => ("event_handler", format!("{pascal}Handler")),
            Kind::Saga => ("handler", format!("Start{pascal}Handler::default()")),
        };
        format!(".{method}({prefix}{}::{handler})", self.path)
    }

    /// The templates' `{{key}}` values.
    fn values(
        &self,
        project: &Project,
        registration: &Registration,
    ) -> Vec<(&'static str, String)> {
        let response = self.response.as_str();
        let command_attr = match (response, self.idempotent) {
            ("()", false) => String::new(),
            ("()", true) => "#[command(idempotent)]\n".into(),
            (response, false) => format!("#[command(response = {response})]\n"),
            (response, true) => format!("#[command(response = {response}, idempotent)]\n"),
        };
        let (key_field, key_init) = if self.idempotent {
            (
                "    /// Chosen by the caller, one per intended change: a retry with the same key gets\n    /// the first reply without running the handler again.\n    #[idempotency_key]\n    pub request_id: String,\n",
                "        request_id: \"req-1\".into(),\n",
            )
        } else {
            ("", "")
        };
        let reply = if response == "()" {
            "Ok(())"
        } else {
            "Ok(Default::default())"
        };
        let mediator = match &registration.builder_fn {
            Some((function, returns_result)) if registration.path == project.crate_root => {
                let question_mark = if *returns_result { "?" } else { "" };
                format!("{}::{function}(){question_mark}", project.crate_ident)
            }
            // The project builds its mediator where a test cannot call it: the test builds
            // one with just this handler.
            _ => format!(
                "catga::Mediator::builder(){}.build()?",
                self.registration_call(&format!("{}::", project.crate_ident))
            ),
        };
        vec![
            ("Type", self.name.pascal.clone()),
            ("module", self.name.snake.clone()),
            ("crate", project.crate_ident.clone()),
            ("path", self.path.clone()),
            ("response", self.response.clone()),
            ("reply", reply.to_string()),
            ("command_attr", command_attr),
            ("key_field", key_field.to_string()),
            ("key_init", key_init.to_string()),
            ("mediator", mediator),
        ]
    }
}

/// How the file holding `registration` names the crate's modules: nothing from the crate
/// root, the library's name from `src/main.rs` beside a library, `crate::` elsewhere.
fn path_prefix(project: &Project, registration: &Registration) -> String {
    if registration.path == project.crate_root {
        String::new()
    } else if edit::is_crate_root(&registration.path) {
        format!("{}::", project.crate_ident)
    } else {
        "crate::".to_string()
    }
}

impl Project {
    /// The nearest package at or above `dir` that depends on catga, with every `src/` file
    /// parsed.
    fn find(dir: &Path) -> Result<Project, ScaffoldError> {
        let dir = dir
            .canonicalize()
            .map_err(|error| ScaffoldError::io("read", dir, error))?;
        let Some(root) = dir.ancestors().find(|d| d.join("Cargo.toml").is_file()) else {
            return Err(ScaffoldError::project(format!(
                "no Cargo.toml in `{}` or above: run catga add inside a project (catga new makes one)",
                dir.display()
            )));
        };
        let manifest_path = root.join("Cargo.toml");
        let manifest: toml::Table = fs::read_to_string(&manifest_path)
            .map_err(|error| ScaffoldError::io("read", &manifest_path, error))?
            .parse()
            .map_err(|error| ScaffoldError::Parse {
                path: manifest_path.clone(),
                message: format!("{error}"),
            })?;
        let Some(package) = manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
        else {
            return Err(ScaffoldError::project(format!(
                "`{}` has no [package]: run catga add inside the package to extend, not at a workspace root",
                manifest_path.display()
            )));
        };
        let depends_on_catga = manifest
            .get("dependencies")
            .and_then(|deps| deps.get("catga"))
            .is_some();
        if !depends_on_catga {
            return Err(ScaffoldError::project(format!(
                "`{}` does not depend on catga: add `catga` to [dependencies] first",
                manifest_path.display()
            )));
        }
        let crate_ident = manifest
            .get("lib")
            .and_then(|lib| lib.get("name"))
            .and_then(|name| name.as_str())
            .unwrap_or(package)
            .replace('-', "_");
        let crate_root = PathBuf::from("src/lib.rs");
        if !root.join(&crate_root).is_file() {
            return Err(ScaffoldError::project(format!(
                "`{}` has no src/lib.rs: catga add writes tests under tests/, which can only \
                 reach a library; move the service's modules and its mediator into src/lib.rs \
                 (catga new lays a project out that way)",
                root.display()
            )));
        }
        let mut files = Vec::new();
        parse_dir(root, Path::new("src"), &mut files)?;
        Ok(Project {
            root: root.to_path_buf(),
            crate_ident,
            crate_root,
            files,
        })
    }

    fn file(&self, path: &Path) -> Result<&ParsedFile, ScaffoldError> {
        self.files
            .iter()
            .find(|file| file.path == path)
            .ok_or_else(|| {
                ScaffoldError::project(format!(
                    "`{}` is not a source file of the project",
                    path.display()
                ))
            })
    }

    fn refuse_taken(&self, names: &[String]) -> Result<(), ScaffoldError> {
        for file in &self.files {
            for (defined, line) in edit::defined_types(file) {
                if names.contains(&defined) {
                    return Err(ScaffoldError::AlreadyDefined {
                        name: defined,
                        path: file.path.clone(),
                        line,
                    });
                }
            }
        }
        Ok(())
    }

    /// The one `Mediator::builder() ... .build()` chain under `src/`.
    fn registration(&self) -> Result<Registration, ScaffoldError> {
        let mut found: Vec<Registration> =
            self.files.iter().flat_map(edit::registrations).collect();
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(ScaffoldError::project(format!(
                "no `Mediator::builder() ... .build()` under `{}`: catga add registers handlers \
                 in that chain; build the mediator in one function (catga new's src/lib.rs \
                 shows how)",
                self.root.join("src").display()
            ))),
            _ => Err(ScaffoldError::project(format!(
                "{} `Mediator::builder()` chains under src/ ({}): catga add needs the one that \
                 registers every handler; keep a single one",
                found.len(),
                found
                    .iter()
                    .map(|r| format!("{}:{}", r.path.display(), r.line))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Declares each level of `module`, then the slice `leaf` in the innermost one: edits of
    /// existing module files, and new module files (declaring their one child) where none
    /// exists.
    fn declare_modules(
        &self,
        module: &[String],
        leaf: &str,
        plan: &mut Plan,
        edits: &mut BTreeMap<PathBuf, Vec<Edit>>,
    ) -> Result<(), ScaffoldError> {
        // The existing file that must declare the next level; `None` once a level is new.
        let mut parent = Some(self.crate_root.clone());
        let mut dir = PathBuf::from("src");
        for (depth, segment) in module.iter().enumerate() {
            if let Some(parent) = &parent {
                self.declare(parent, segment, edits)?;
            }
            let file_path = dir.join(format!("{segment}.rs"));
            let mod_path = dir.join(segment).join("mod.rs");
            parent = [file_path.clone(), mod_path]
                .into_iter()
                .find(|path| self.files.iter().any(|file| &file.path == path));
            if parent.is_none() {
                let child = module.get(depth + 1).map_or(leaf, String::as_str);
                plan.create(
                    &file_path,
                    format!("//! The `{segment}` slices.\n\npub mod {child};\n"),
                );
            }
            dir.push(segment);
        }
        match parent {
            Some(parent) => self.declare(&parent, leaf, edits),
            None => Ok(()),
        }
    }

    fn declare(
        &self,
        parent: &Path,
        module: &str,
        edits: &mut BTreeMap<PathBuf, Vec<Edit>>,
    ) -> Result<(), ScaffoldError> {
        if let Some(edit) = edit::declare_module(self.file(parent)?, module)? {
            edits.entry(parent.to_path_buf()).or_default().push(edit);
        }
        Ok(())
    }
}

/// Parses every `.rs` file below `root/relative`.
fn parse_dir(
    root: &Path,
    relative: &Path,
    files: &mut Vec<ParsedFile>,
) -> Result<(), ScaffoldError> {
    let dir = root.join(relative);
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .map_err(|error| ScaffoldError::io("read", &dir, error))?
        .flatten()
        .collect();
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = relative.join(entry.file_name());
        let full = root.join(&path);
        if full.is_dir() {
            parse_dir(root, &path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = fs::read_to_string(&full)
                .map_err(|error| ScaffoldError::io("read", &full, error))?;
            files.push(ParsedFile::parse(path, text)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Change;

    #[test]
    fn a_slice_named_like_its_module_is_that_module_not_one_inside_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let project = dir.path().join("demo");
        crate::new::plan(&crate::new::NewOptions {
            name: "demo".into(),
            path: project.clone(),
            runtime: crate::new::Runtime::Version("0.1".into()),
            force: false,
            http: false,
            transport: crate::new::TransportChoice::Memory,
        })
        .expect("plans")
        .apply()
        .expect("writes");
        let plan = plan(&AddOptions {
            kind: Kind::Saga,
            name: "Shipping".into(),
            response: None,
            module: Some("orders::shipping".into()),
            dir: project,
        })
        .expect("plans");
        let created: Vec<String> = plan
            .files
            .iter()
            .filter(|file| matches!(file.change, Change::Create(_)))
            .map(|file| file.path.to_string_lossy().replace('\\', "/"))
            .collect();
        assert_eq!(
            created,
            [
                "src/orders/shipping.rs",
                "tests/shipping.rs",
                "src/orders.rs"
            ]
        );
        let Some(Change::Create(orders)) = plan
            .files
            .iter()
            .find(|file| file.path == Path::new("src/orders.rs"))
            .map(|file| &file.change)
        else {
            panic!("src/orders.rs is created");
        };
        assert!(orders.contains("pub mod shipping;"), "{orders}");
        assert!(
            plan.notes
                .iter()
                .any(|note| note.contains("module_inception"))
        );
    }

    #[test]
    fn responses_are_checked_per_kind() {
        let options = |kind, response: Option<&str>| AddOptions {
            kind,
            name: "X".into(),
            response: response.map(String::from),
            module: None,
            dir: PathBuf::from("."),
        };
        assert_eq!(response(&options(Kind::Command, None)).expect("ok"), "()");
        assert!(response(&options(Kind::Query, None)).is_err());
        assert!(response(&options(Kind::Event, Some("String"))).is_err());
        assert!(response(&options(Kind::Command, Some("Vec<"))).is_err());
        assert_eq!(
            response(&options(Kind::Query, Some("Vec< String >"))).expect("ok"),
            "Vec<String>"
        );
    }
}

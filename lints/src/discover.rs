//! Which files to lint, and which crate each belongs to.
//!
//! No paths: `cargo metadata --no-deps` (never resolves nor downloads dependencies) for the
//! workspace or package around the root, and every member target's source directory. Paths: the
//! `.rs` files under them (an explicitly named file is always linted). Walking honours
//! `.gitignore` (with or without a git repository), skips hidden entries and cargo's target
//! directories (not every directory called `target`: `src/target/mod.rs` is source), never
//! follows symlinks (so no loops), and applies the config's `exclude` globs.
//! Each file carries the dependency names of its crate's manifest, read without resolving, and
//! the features the manifest enables on them (as `name/feature`), so rules can tell whether a fix
//! may use `tokio::fs` or `tokio::time`.

use crate::config::Config;
use crate::error::LintError;
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A file to lint.
#[derive(Debug, Clone)]
pub(crate) struct SourceUnit {
    /// Where to read it.
    pub(crate) path: PathBuf,
    /// The path diagnostics show: relative to the root when below it.
    pub(crate) display: PathBuf,
    /// The crate's dependency names (dev-dependencies included for tests, benches and examples)
    /// and the features its manifest enables on them, as `name/feature`; `None` when no
    /// manifest was found.
    pub(crate) dependencies: Option<Arc<BTreeSet<String>>>,
    /// The file belongs to a test or bench target (`tests/`, `benches/`): all of it is test code.
    pub(crate) test_target: bool,
    /// The module the file is, by cargo's layout: `shop::orders::create` for
    /// `src/orders/create.rs` of crate `shop` (`#[path]` attributes are not followed).
    pub(crate) module: Arc<str>,
}

/// The module path of `file` in a crate named `crate_name` whose root source file sits in
/// `src_dir`: `src/lib.rs` is `shop`, `src/orders/mod.rs` and `src/orders.rs` are
/// `shop::orders`.
fn module_path(crate_name: &str, src_dir: &Path, file: &Path) -> Arc<str> {
    let mut path = crate_name.replace('-', "_");
    let Ok(relative) = file.strip_prefix(src_dir) else {
        return path.into();
    };
    let components: Vec<&str> = relative
        .components()
        .filter_map(|component| component.as_os_str().to_str())
        .collect();
    for (index, component) in components.iter().enumerate() {
        let last = index + 1 == components.len();
        let segment = if last {
            component.strip_suffix(".rs").unwrap_or(component)
        } else {
            component
        };
        let crate_root = index == 0 && matches!(segment, "lib" | "main");
        if last && (segment == "mod" || crate_root) {
            break;
        }
        path.push_str("::");
        path.push_str(&segment.replace('-', "_"));
    }
    path.into()
}

/// The files of a run, and the cargo target directory when the run covers a cargo project.
#[derive(Debug, Default)]
pub(crate) struct Discovered {
    pub(crate) files: Vec<SourceUnit>,
    pub(crate) target_dir: Option<PathBuf>,
}

/// Find the files of a run rooted at `root` (canonical).
pub(crate) fn discover(
    root: &Path,
    paths: &[PathBuf],
    config: &Config,
) -> Result<Discovered, LintError> {
    let excludes = Excludes::new(config)?;
    if paths.is_empty()
        && let Some(manifest) = root
            .ancestors()
            .map(|dir| dir.join("Cargo.toml"))
            .find(|manifest| manifest.is_file())
    {
        return discover_cargo(root, &manifest, &excludes);
    }
    let paths: Vec<PathBuf> = if paths.is_empty() {
        vec![root.to_path_buf()]
    } else {
        paths.to_vec()
    };
    let target_dir = guess_target_dir(root);
    let mut manifests = ManifestCache::default();
    let mut files = BTreeMap::new();
    for given in &paths {
        let path = normalize(&if given.is_absolute() {
            given.clone()
        } else {
            root.join(given)
        });
        let metadata = std::fs::metadata(&path).map_err(|_| LintError::MissingPath {
            path: given.clone(),
        })?;
        let found = if metadata.is_file() {
            vec![path]
        } else {
            walk(&path, &excludes, target_dir.as_deref())?
        };
        for file in found {
            let (dependencies, test_target, module) = manifests.crate_of(&file);
            files.entry(file.clone()).or_insert_with(|| SourceUnit {
                display: display_path(root, &file),
                path: file,
                dependencies,
                test_target,
                module,
            });
        }
    }
    Ok(Discovered {
        files: files.into_values().collect(),
        target_dir,
    })
}

fn discover_cargo(
    root: &Path,
    manifest: &Path,
    excludes: &Excludes,
) -> Result<Discovered, LintError> {
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(manifest)
        .no_deps()
        .other_options(vec!["--offline".to_string()])
        .exec()
        .map_err(|error| LintError::Metadata {
            manifest: manifest.to_path_buf(),
            message: error.to_string(),
        })?;
    let members: BTreeSet<_> = metadata.workspace_members.iter().collect();
    let target_dir = metadata.target_directory.as_std_path();
    let mut files: BTreeMap<PathBuf, SourceUnit> = BTreeMap::new();
    for package in metadata
        .packages
        .iter()
        .filter(|package| members.contains(&package.id))
    {
        let normal: BTreeSet<String> = dependency_names(package, false);
        let with_dev: BTreeSet<String> = dependency_names(package, true);
        let (normal, with_dev) = (Arc::new(normal), Arc::new(with_dev));
        let package_dir = package
            .manifest_path
            .parent()
            .map(|dir| dir.as_std_path().to_path_buf())
            .unwrap_or_default();
        let mut targets: Vec<_> = package.targets.iter().collect();
        // Library and binary sources first: a file shared with tests gets the normal dependencies.
        targets
            .sort_by_key(|target| !(target.is_lib() || target.is_bin() || target.is_proc_macro()));
        for target in targets {
            let src = target.src_path.as_std_path();
            let test_target = target.is_test() || target.is_bench();
            let dev = test_target || target.is_example();
            let dependencies = if dev { &with_dev } else { &normal };
            let dir = src.parent().unwrap_or(src);
            let found = if target.is_custom_build() || dir == package_dir {
                vec![src.to_path_buf()]
            } else if dir.is_dir() {
                walk(dir, excludes, Some(target_dir))?
            } else {
                Vec::new()
            };
            for file in found {
                if !file.is_file() {
                    continue;
                }
                files.entry(file.clone()).or_insert_with(|| SourceUnit {
                    display: display_path(root, &file),
                    module: module_path(&target.name, dir, &file),
                    path: file,
                    dependencies: Some(dependencies.clone()),
                    test_target,
                });
            }
        }
    }
    Ok(Discovered {
        files: files.into_values().collect(),
        target_dir: Some(target_dir.to_path_buf()),
    })
}

/// The cargo target directory for a run given explicit paths, without running cargo:
/// `$CARGO_TARGET_DIR`, else `target/` beside the nearest enclosing workspace manifest (or the
/// nearest manifest); `None` outside any cargo project.
fn guess_target_dir(root: &Path) -> Option<PathBuf> {
    let mut nearest = None;
    for dir in root.ancestors() {
        let manifest = dir.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        nearest.get_or_insert_with(|| dir.to_path_buf());
        if text.lines().any(|line| line.trim() == "[workspace]") {
            nearest = Some(dir.to_path_buf());
            break;
        }
    }
    let project = nearest?;
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(target) => Some(project.join(target)),
        None => Some(project.join("target")),
    }
}

fn dependency_names(package: &cargo_metadata::Package, include_dev: bool) -> BTreeSet<String> {
    package
        .dependencies
        .iter()
        .filter(|dependency| match dependency.kind {
            cargo_metadata::DependencyKind::Normal => true,
            cargo_metadata::DependencyKind::Development => include_dev,
            _ => false,
        })
        .flat_map(|dependency| {
            let name = dependency
                .rename
                .clone()
                .unwrap_or_else(|| dependency.name.clone())
                .replace('-', "_");
            let features = dependency
                .features
                .iter()
                .map(|feature| format!("{name}/{feature}"))
                .collect::<Vec<_>>();
            std::iter::once(name).chain(features)
        })
        .collect()
}

/// Drop `.` components and fold `..` lexically, so `root/./src` displays as `src`.
fn normalize(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if normal.file_name().is_some() => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal
}

/// The project `root` lies in: the nearest directory at or above it whose `Cargo.toml` has a
/// `[workspace]` table, else the nearest package's directory, else `root` itself. Machine-read
/// output names files relative to it, so it reads the same whichever directory a run starts in.
pub(crate) fn project_root(root: &Path) -> PathBuf {
    let mut package = None;
    for dir in root.ancestors() {
        let manifest = dir.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        if text.lines().any(|line| line.trim() == "[workspace]") {
            return dir.to_path_buf();
        }
        package.get_or_insert_with(|| dir.to_path_buf());
    }
    package.unwrap_or_else(|| root.to_path_buf())
}

fn display_path(root: &Path, file: &Path) -> PathBuf {
    file.strip_prefix(root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| file.to_path_buf())
}

/// Whether `dir` is a cargo target directory: the run's own (`target_dir`), or any directory
/// named `target` that cargo has marked as its output (`CACHEDIR.TAG`, `.rustc_info.json`) or
/// that sits beside a `Cargo.toml` (where cargo puts it by default, even when
/// `$CARGO_TARGET_DIR` points elsewhere for this run). A source module directory called
/// `target` (`src/target/`) is none of these.
fn is_cargo_target_dir(dir: &Path, target_dir: Option<&Path>) -> bool {
    target_dir == Some(dir)
        || (dir.file_name().is_some_and(|name| name == "target")
            && (dir.join("CACHEDIR.TAG").is_file()
                || dir.join(".rustc_info.json").is_file()
                || dir.parent().is_some_and(|p| p.join("Cargo.toml").is_file())))
}

/// `.rs` files under `dir`, outside cargo's target directory `target_dir`.
fn walk(
    dir: &Path,
    excludes: &Excludes,
    target_dir: Option<&Path>,
) -> Result<Vec<PathBuf>, LintError> {
    let mut files = Vec::new();
    let filter_excludes = excludes.clone();
    let target_dir = target_dir.map(Path::to_path_buf);
    let walker = ignore::WalkBuilder::new(dir)
        .hidden(true)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(true)
        .require_git(false)
        .follow_links(false)
        .filter_entry(move |entry| {
            let is_dir = entry
                .file_type()
                .is_some_and(|file_type| file_type.is_dir());
            let is_target_dir = is_dir && is_cargo_target_dir(entry.path(), target_dir.as_deref());
            !is_target_dir && !filter_excludes.matches(entry.path())
        })
        .build();
    for entry in walker {
        let entry = entry.map_err(|error| LintError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::other(error.to_string()),
        })?;
        let is_file = entry
            .file_type()
            .is_some_and(|file_type| file_type.is_file());
        if is_file
            && entry
                .path()
                .extension()
                .is_some_and(|extension| extension == "rs")
        {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

/// The config's `exclude` globs, matched against paths relative to the config's directory.
#[derive(Debug, Clone)]
struct Excludes {
    set: Arc<GlobSet>,
    base: PathBuf,
}

impl Excludes {
    fn new(config: &Config) -> Result<Excludes, LintError> {
        let mut builder = GlobSetBuilder::new();
        for pattern in &config.settings.exclude {
            // Validated when the config was loaded; a failure here is a config error all the same.
            let glob = Glob::new(pattern).map_err(|error| LintError::Config {
                path: config.file.clone().unwrap_or_default(),
                line: 1,
                column: 1,
                message: format!("invalid glob `{pattern}` in `exclude`: {}", error.kind()),
            })?;
            builder.add(glob);
        }
        let set = builder.build().map_err(|error| LintError::Config {
            path: config.file.clone().unwrap_or_default(),
            line: 1,
            column: 1,
            message: format!("invalid `exclude` globs: {error}"),
        })?;
        Ok(Excludes {
            set: Arc::new(set),
            base: config.base_dir.clone(),
        })
    }

    fn matches(&self, path: &Path) -> bool {
        if self.set.is_empty() {
            return false;
        }
        let relative = path.strip_prefix(&self.base).unwrap_or(path);
        self.set.is_match(relative)
            || path
                .file_name()
                .is_some_and(|name| self.set.is_match(Path::new(name)))
    }
}

/// A manifest's directory, package name and dependency names.
#[derive(Debug, Clone)]
struct CrateManifest {
    dir: PathBuf,
    name: String,
    normal: Arc<BTreeSet<String>>,
    with_dev: Arc<BTreeSet<String>>,
}

/// Manifests found by walking up from files, read once per directory.
#[derive(Debug, Default)]
struct ManifestCache {
    by_dir: HashMap<PathBuf, Option<CrateManifest>>,
}

impl ManifestCache {
    /// The dependencies of the crate `file` belongs to, whether it is in a test or bench target,
    /// and its module path, by cargo's default layout (`src/` for the package's crate, each file
    /// of `tests/`, `benches/`, `examples/` a crate of its own). Outside any package, `crate`
    /// and the path below the nearest `src/`.
    fn crate_of(&mut self, file: &Path) -> (Option<Arc<BTreeSet<String>>>, bool, Arc<str>) {
        let Some(manifest) = file.parent().and_then(|dir| self.manifest_for(dir)) else {
            let src = file.ancestors().find(|dir| dir.ends_with("src"));
            let module = match src {
                Some(src) => module_path("crate", src, file),
                None => "crate".into(),
            };
            return (None, false, module);
        };
        let first = file
            .strip_prefix(&manifest.dir)
            .ok()
            .and_then(|relative| relative.components().next())
            .and_then(|first| first.as_os_str().to_str().map(str::to_owned));
        let test_target = matches!(first.as_deref(), Some("tests" | "benches"));
        let dev = test_target || first.as_deref() == Some("examples");
        let module = match first.as_deref() {
            Some(dir @ ("tests" | "benches" | "examples")) => {
                let stem = file.file_stem().and_then(|stem| stem.to_str());
                module_path(stem.unwrap_or(dir), &manifest.dir.join(dir), file)
            }
            _ => module_path(&manifest.name, &manifest.dir.join("src"), file),
        };
        let dependencies = if dev {
            manifest.with_dev
        } else {
            manifest.normal
        };
        (Some(dependencies), test_target, module)
    }

    fn manifest_for(&mut self, dir: &Path) -> Option<CrateManifest> {
        if let Some(known) = self.by_dir.get(dir) {
            return known.clone();
        }
        let found = if dir.join("Cargo.toml").is_file() {
            read_manifest_dependencies(&dir.join("Cargo.toml")).map(|(name, normal, with_dev)| {
                CrateManifest {
                    dir: dir.to_path_buf(),
                    name,
                    normal: Arc::new(normal),
                    with_dev: Arc::new(with_dev),
                }
            })
        } else {
            dir.parent().and_then(|parent| self.manifest_for(parent))
        };
        self.by_dir.insert(dir.to_path_buf(), found.clone());
        found
    }
}

/// The package name (`crate` for a virtual manifest) and dependency names of a manifest,
/// without resolving: (`[dependencies]`, plus `[dev-dependencies]`), including
/// `[target.'cfg(..)'.*]` tables, with the features each enables as `name/feature` (features a
/// `workspace = true` entry inherits are not seen).
fn read_manifest_dependencies(
    manifest: &Path,
) -> Option<(String, BTreeSet<String>, BTreeSet<String>)> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    let name = table
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(toml::Value::as_str)
        .unwrap_or("crate")
        .replace('-', "_");
    let mut tables = vec![&table];
    if let Some(toml::Value::Table(targets)) = table.get("target") {
        tables.extend(targets.values().filter_map(toml::Value::as_table));
    }
    let names = |key: &str| -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        let dependency_tables = tables
            .iter()
            .filter_map(|table| table.get(key).and_then(toml::Value::as_table));
        for (name, spec) in dependency_tables.flatten() {
            let name = name.replace('-', "_");
            let features = spec
                .get("features")
                .and_then(toml::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(toml::Value::as_str);
            names.extend(features.map(|feature| format!("{name}/{feature}")));
            names.insert(name);
        }
        names
    };
    let normal = names("dependencies");
    let mut with_dev = names("dev-dependencies");
    with_dev.extend(normal.iter().cloned());
    Some((name, normal, with_dev))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_root_is_the_workspace_above_else_the_package_else_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("crates/a/src")).unwrap();
        std::fs::write(
            root.join("crates/a/Cargo.toml"),
            "[package]\nname = \"a\"\n",
        )
        .unwrap();
        assert_eq!(
            project_root(&root.join("crates/a/src")),
            root.join("crates/a")
        );
        std::fs::write(
            root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"crates/a\"]\n",
        )
        .unwrap();
        assert_eq!(project_root(&root.join("crates/a/src")), root);
        let lone = tempfile::tempdir().unwrap();
        assert_eq!(project_root(lone.path()), lone.path());
    }

    #[test]
    fn module_paths_follow_cargos_layout() {
        let src = Path::new("/p/src");
        let module = |file: &str| module_path("my-shop", src, &src.join(file)).to_string();
        assert_eq!(module("lib.rs"), "my_shop");
        assert_eq!(module("main.rs"), "my_shop");
        assert_eq!(module("orders.rs"), "my_shop::orders");
        assert_eq!(module("orders/mod.rs"), "my_shop::orders");
        assert_eq!(module("orders/create.rs"), "my_shop::orders::create");
        assert_eq!(module("orders/lib.rs"), "my_shop::orders::lib");
        assert_eq!(
            module_path("shop", src, Path::new("/elsewhere/x.rs")).as_ref(),
            "shop"
        );
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn walking_honours_gitignore_hidden_target_and_exclude_globs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        write(&root.join("src/lib.rs"), "");
        write(&root.join("src/generated/out.rs"), "");
        write(&root.join("src/ignored.rs"), "");
        write(&root.join("src/.hidden/h.rs"), "");
        write(&root.join("target/debug/build.rs"), "");
        write(
            &root.join("target/CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55",
        );
        write(&root.join("notes.txt"), "");
        write(&root.join(".gitignore"), "ignored.rs\n");
        let config = Config {
            settings: crate::config::Settings {
                exclude: vec!["src/generated/**".to_string()],
                ..Default::default()
            },
            file: None,
            base_dir: root.clone(),
            bench_target: None,
        };
        let found = discover(&root, &[PathBuf::from(".")], &config).unwrap();
        let displays: Vec<PathBuf> = found
            .files
            .iter()
            .map(|unit| unit.display.clone())
            .collect();
        assert_eq!(displays, [PathBuf::from("src/lib.rs")]);
    }

    #[test]
    fn source_directory_named_target_is_linted_but_cargo_target_dirs_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        write(&root.join("Cargo.toml"), "[package]\nname = \"cc\"\n");
        write(&root.join("src/lib.rs"), "mod target;");
        write(&root.join("src/target/mod.rs"), "");
        write(&root.join("src/target/apple.rs"), "");
        // The project's own target directory, before cargo marked it.
        write(&root.join("target/debug/build/out.rs"), "");
        // A nested package's target directory, marked by cargo.
        write(&root.join("examples/demo/target/.rustc_info.json"), "{}");
        write(&root.join("examples/demo/target/debug/gen.rs"), "");
        write(&root.join("examples/demo/main.rs"), "");
        let found = discover(&root, &[PathBuf::from(".")], &Config::default()).unwrap();
        let displays: Vec<PathBuf> = found
            .files
            .iter()
            .map(|unit| unit.display.clone())
            .collect();
        assert_eq!(
            displays,
            [
                PathBuf::from("examples/demo/main.rs"),
                PathBuf::from("src/lib.rs"),
                PathBuf::from("src/target/apple.rs"),
                PathBuf::from("src/target/mod.rs"),
            ]
        );
    }

    #[test]
    fn missing_path_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let error = discover(dir.path(), &[PathBuf::from("nope")], &Config::default()).unwrap_err();
        assert!(
            matches!(error, LintError::MissingPath { ref path } if path == Path::new("nope")),
            "{error}"
        );
    }

    #[test]
    fn manifest_dependencies_are_read_without_resolving_and_dev_dependencies_only_for_tests() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        write(
            &root.join("Cargo.toml"),
            "[package]\nname = \"x\"\n[dependencies]\nserde = \"1\"\n[dev-dependencies]\ntokio = { version = \"1\", features = [\"fs\"] }\n",
        );
        write(&root.join("src/lib.rs"), "");
        write(&root.join("tests/t.rs"), "");
        let found = discover(
            &root,
            &[PathBuf::from("src"), PathBuf::from("tests")],
            &Config::default(),
        )
        .unwrap();
        let lib = found
            .files
            .iter()
            .find(|unit| unit.display.ends_with("lib.rs"))
            .unwrap();
        let test = found
            .files
            .iter()
            .find(|unit| unit.display.ends_with("t.rs"))
            .unwrap();
        assert!(!lib.dependencies.as_ref().unwrap().contains("tokio"));
        assert!(test.dependencies.as_ref().unwrap().contains("tokio"));
        assert!(test.dependencies.as_ref().unwrap().contains("tokio/fs"));
        assert!(test.test_target && !lib.test_target);
    }
}

//! `cargo catga ...`: cargo runs this binary as `cargo-catga catga ...`; it runs the `catga`
//! installed beside it with the arguments after `catga`, and exits with its exit code.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    // Run by cargo, the first argument is the subcommand's name; run directly, it is not.
    if args.first().is_some_and(|first| first == "catga") {
        args.remove(0);
    }
    let catga = match beside_this_binary() {
        Ok(path) => path,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    match Command::new(&catga).args(&args).status() {
        Ok(status) => match status.code() {
            Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(2)),
            // Ended by a signal: say so rather than pretend an exit code.
            None => {
                eprintln!("error: `{}` was ended by a signal", catga.display());
                ExitCode::from(2)
            }
        },
        Err(error) => {
            eprintln!(
                "error: cannot run `{}`: {error}; reinstall with `cargo install catga-cli`, \
                 which installs `catga` and `cargo-catga` side by side",
                catga.display()
            );
            ExitCode::from(2)
        }
    }
}

/// The `catga` executable in this binary's directory.
fn beside_this_binary() -> Result<PathBuf, String> {
    let this = std::env::current_exe()
        .map_err(|error| format!("cannot find where cargo-catga is installed: {error}"))?;
    let dir = this
        .parent()
        .ok_or_else(|| format!("`{}` has no parent directory", this.display()))?;
    Ok(dir.join(format!("catga{}", std::env::consts::EXE_SUFFIX)))
}

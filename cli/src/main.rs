//! The `catga` command line.

fn main() {}

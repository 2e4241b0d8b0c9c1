//! Every fixture's near-misses (`good.rs`) and fixed output (`bad.fixed.rs`), compiled against
//! the catga runtime. `lints/tests/fixtures_compile.rs` checks that every fixture directory is
//! listed here.
#![allow(dead_code, unused_imports, unused_variables, unused_mut, unused_must_use, clippy::all)]

#[path = "../../fixtures/catga005"]
pub mod catga005 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    pub mod fixed;
}

#[path = "../../fixtures/catga006"]
pub mod catga006 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    pub mod fixed;
}

#[path = "../../fixtures/catga007"]
pub mod catga007 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    pub mod fixed;
}

#[path = "../../fixtures/catga009"]
pub mod catga009 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    pub mod fixed;
}

#[path = "../../fixtures/catga012"]
pub mod catga012 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    pub mod fixed;
}

#[path = "../../fixtures/catga010"]
pub mod catga010 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    pub mod fixed;
}

#[path = "../../fixtures/catga001"]
pub mod catga001 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    pub mod fixed;
}

#[path = "../../fixtures/catga003"]
pub mod catga003 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    pub mod fixed;
}

#[path = "../../fixtures/catga015"]
pub mod catga015 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    pub mod fixed;
}

#[path = "../../fixtures/catga002"]
pub mod catga002 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    pub mod fixed;
}

#[path = "../../fixtures/catga004"]
pub mod catga004 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    pub mod fixed;
}

#[path = "../../fixtures/catga008"]
pub mod catga008 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    pub mod fixed;
}

#[path = "../../fixtures/catga011"]
pub mod catga011 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    pub mod fixed;
}

#[path = "../../fixtures/catga013"]
pub mod catga013 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    pub mod fixed;
}

#[path = "../../fixtures/catga014"]
pub mod catga014 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    pub mod fixed;
}

//! Rendering results for people (tables) and machines (JSON on stdout).

pub mod diff;
pub mod facts;
pub mod plan;
pub mod probe;

//! Rendering results for people (tables) and machines (JSON on stdout).

pub mod probe;

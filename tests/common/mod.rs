//! Helpers shared by the integration tests.

pub mod isolate;
pub mod lab;
pub mod process;
pub mod stable;

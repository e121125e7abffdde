//! Keeps a developer's own defaults out of the tests' `sshfix` runs: no
//! `SSHFIX_*` setting of `sshfix::cli::config::KEYS` (nor `SSHFIX_CONFIG`) from
//! the environment, and `XDG_CONFIG_HOME` pointing where no `config.toml` is,
//! so `~/.config/sshfix/config.toml` is never read. `COLUMNS` and `NO_COLOR`
//! are removed too, so human output has its piped default look (80 columns,
//! no colour) whatever the developer's shell exports. Other `SSHFIX_*`
//! variables (test hooks, `SSHFIX_LOG`) pass through.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use sshfix::cli::config::{CONFIG_ENV, KEYS};

/// An `XDG_CONFIG_HOME` that holds no `sshfix/config.toml` (it does not exist).
pub fn no_config_home() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/sshfix-tests-no-config-home")
}

fn variables() -> impl Iterator<Item = &'static str> {
    KEYS.iter()
        .map(|k| k.env)
        .chain([CONFIG_ENV, "COLUMNS", "NO_COLOR"])
}

/// `sshfix` with the user's defaults shut out.
pub fn isolate(cmd: &mut Command) -> &mut Command {
    for var in variables() {
        cmd.env_remove(var);
    }
    cmd.env("XDG_CONFIG_HOME", no_config_home())
}

/// The test binary's `sshfix`, isolated.
pub fn sshfix() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sshfix"));
    isolate(&mut cmd);
    cmd
}

/// The same for every child of this process; call it before any thread starts
/// (the lab test binaries do, in `Lab::up`).
pub fn isolate_this_process() {
    for var in variables() {
        std::env::remove_var(var);
    }
    std::env::set_var("XDG_CONFIG_HOME", no_config_home());
}

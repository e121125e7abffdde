//! Ansible inventories (INI, YAML, directories with group_vars/host_vars,
//! executable `--list` inventories) parsed into hosts with merged variables.
//!
//! STUB: the inventory work fills this in; the public API below is the contract
//! the rest of the crate uses.

pub mod vars;

use std::path::PathBuf;

use serde_json::{Map, Value};

/// A host with its variables merged with Ansible's precedence.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub name: String,
    pub vars: Map<String, Value>,
}

/// A resolved inventory.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    hosts: Vec<Host>,
}

/// Why an inventory could not be loaded or a pattern not resolved.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct InventoryError {
    pub message: String,
}

impl Inventory {
    /// Loads and merges the given sources (files, directories, executables), in order.
    pub fn load(sources: &[PathBuf]) -> Result<Inventory, InventoryError> {
        let _ = sources;
        Err(InventoryError {
            message: "inventory parsing is not implemented yet".into(),
        })
    }

    /// Every host, in inventory order.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// A host by name.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// The hosts matching an Ansible `--limit` pattern (all hosts for `None`), in inventory order.
    pub fn select(&self, limit: Option<&str>) -> Result<Vec<&Host>, InventoryError> {
        let _ = limit;
        Ok(self.hosts.iter().collect())
    }

    /// `ansible-inventory --list` JSON.
    pub fn to_list_json(&self) -> Value {
        Value::Object(Map::new())
    }

    /// `ansible-inventory --host NAME` JSON, or `None` for an unknown host.
    pub fn host_json(&self, name: &str) -> Option<Value> {
        self.host(name).map(|h| Value::Object(h.vars.clone()))
    }
}

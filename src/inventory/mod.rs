//! Ansible inventories (INI, YAML, directories with group_vars/host_vars,
//! executable `--list` inventories) parsed into hosts with merged variables,
//! following ansible-core 2.19's own code: the same plugins in the same order,
//! the same typing, the same variable precedence and the same `--list` JSON.
//!
//! `docs/inventory.md` is the user-facing reference.

mod address;
mod data;
mod ini;
mod pattern;
mod pyliteral;
mod script;
pub mod vars;
pub(crate) mod yaml;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexSet;
use serde_json::{Map, Value};

use data::Data;

/// A host with its variables merged with Ansible's precedence.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub name: String,
    pub vars: Map<String, Value>,
}

/// A resolved inventory.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Every host in Ansible's order (`all`'s hosts, then its descendants').
    hosts: Vec<Host>,
    data: Data,
}

/// Why an inventory could not be loaded or a pattern not resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InventoryError {
    /// The complete message, e.g. ``inventory/hosts.ini:7:1: section header `[web:chldren]` …``.
    pub message: String,
}

impl InventoryError {
    pub(crate) fn new(message: impl Into<String>) -> InventoryError {
        InventoryError {
            message: message.into(),
        }
    }

    /// An error at `path:line:column`.
    pub(crate) fn at(
        path: &Path,
        line: usize,
        column: usize,
        message: impl fmt::Display,
    ) -> InventoryError {
        InventoryError::new(format!("{}:{line}:{column}: {message}", path.display()))
    }
}

/// Variables `ansible-inventory` never prints (Ansible's `INTERNAL_STATIC_VARS`).
const INTERNAL_VARS: &[&str] = &[
    "ansible_async_path",
    "ansible_collection_name",
    "ansible_config_file",
    "ansible_dependent_role_names",
    "ansible_diff_mode",
    "ansible_facts",
    "ansible_forks",
    "ansible_inventory_sources",
    "ansible_limit",
    "ansible_play_batch",
    "ansible_play_hosts",
    "ansible_play_hosts_all",
    "ansible_play_role_names",
    "ansible_playbook_python",
    "ansible_role_name",
    "ansible_role_names",
    "ansible_run_tags",
    "ansible_skip_tags",
    "ansible_verbosity",
    "ansible_version",
    "inventory_dir",
    "inventory_file",
    "inventory_hostname",
    "inventory_hostname_short",
    "groups",
    "group_names",
    "hostvars",
    "playbook_dir",
    "play_hosts",
    "role_name",
    "role_names",
    "role_path",
    "role_uuid",
];

/// File names a directory inventory skips (Ansible's `IGNORED` defaults).
fn ignored_in_dir(name: &str) -> bool {
    const EXTS: &[&str] = &[
        ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg",
        ".retry",
    ];
    name.starts_with('.')
        || matches!(name, "host_vars" | "group_vars" | "vars_plugins")
        || EXTS.iter().any(|e| name.ends_with(e))
}

/// Python's `os.path.splitext(path)[1]`.
fn extension(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stripped = name.trim_start_matches('.');
    match stripped.rfind('.') {
        Some(i) => stripped[i..].to_string(),
        None => String::new(),
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn read(path: &Path) -> Result<Vec<u8>, InventoryError> {
    std::fs::read(path)
        .map_err(|e| InventoryError::new(format!("cannot read `{}`: {e}", path.display())))
}

/// Reads one source into `data` the way Ansible's `parse_source` does.
fn parse_source(data: &mut Data, path: &Path, timeout: Duration) -> Result<(), InventoryError> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| InventoryError::new(format!("cannot list `{}`: {e}", path.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort_by(|a, b| {
            use std::os::unix::ffi::OsStrExt;
            a.file_name()
                .map(|n| n.as_bytes().to_vec())
                .cmp(&b.file_name().map(|n| n.as_bytes().to_vec()))
        });
        for entry in entries {
            let name = entry
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if ignored_in_dir(&name) {
                continue;
            }
            parse_source(data, &entry, timeout)?;
        }
        return Ok(());
    }
    let mut script_error = None;
    if is_executable(path) {
        let mut attempt = data.clone();
        match script::load(&mut attempt, path, timeout) {
            Ok(()) => {
                *data = attempt;
                return Ok(());
            }
            // Not a program (e.g. an INI file with the x bit): read it as a file.
            Err(script::RunError::NotRunnable(_)) => {}
            Err(script::RunError::Failed(e)) => script_error = Some(e),
        }
    }
    match parse_file(data, path) {
        Ok(()) => Ok(()),
        Err(e) => Err(script_error.unwrap_or(e)),
    }
}

/// A static file: the `yaml` plugin (no extension, `.yml`, `.yaml`, `.json`), then `ini`.
fn parse_file(data: &mut Data, path: &Path) -> Result<(), InventoryError> {
    let bytes = read(path)?;
    let ext = extension(path);
    if ext == ".toml" {
        return Err(InventoryError::new(format!(
            "`{}`: TOML inventories are not supported; convert it to YAML or INI",
            path.display()
        )));
    }
    let yaml_ext = matches!(ext.as_str(), "" | ".yml" | ".yaml" | ".json");
    let mut yaml_error = None;
    if yaml_ext {
        let text = String::from_utf8_lossy(&bytes);
        let doc = match serde_json::from_str::<Value>(&text) {
            Ok(v) => Ok(yaml::Node::from_json(&v)),
            Err(_) => yaml::load(&text, path),
        };
        match doc {
            Ok(doc) => {
                let looks_yaml = yaml::is_mapping(&doc) || !ext.is_empty();
                let mut attempt = data.clone();
                match yaml::parse_inventory(&mut attempt, &doc, &text, path) {
                    Ok(()) => {
                        *data = attempt;
                        return Ok(());
                    }
                    Err(e) if looks_yaml => yaml_error = Some(e),
                    Err(_) => {}
                }
            }
            Err(e) if !ext.is_empty() => yaml_error = Some(e),
            Err(_) => {}
        }
    }
    let text = ini::decode(&bytes, path);
    let mut attempt = data.clone();
    let result = text.and_then(|t| ini::parse(&mut attempt, &t, path));
    match result {
        Ok(()) => {
            *data = attempt;
            Ok(())
        }
        Err(e) => Err(yaml_error.unwrap_or(e)),
    }
}

/// `-i 'h1,h2:2222,'`: Ansible's `host_list` plugin.
fn parse_host_list(data: &mut Data, list: &str) -> Result<(), InventoryError> {
    for h in list.split(',') {
        let h = h.trim();
        if h.is_empty() {
            continue;
        }
        let (host, port) = match address::parse_address(h) {
            Some((host, port)) if !host.contains('[') => (host, port),
            _ => (h.to_string(), None),
        };
        if !data.hosts.contains_key(&host) {
            data.add_host(&host, Some("ungrouped"), port)
                .map_err(|m| InventoryError::new(format!("host list `{list}`: {m}")))?;
        }
    }
    Ok(())
}

/// `group_vars`/`host_vars` files of one entity (`find_vars_files`).
fn vars_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    const EXTS: [&str; 3] = [".yml", ".yaml", ".json"];
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        names.sort();
        for n in names {
            if n.starts_with('.') || n.ends_with('~') {
                continue;
            }
            let full = dir.join(&n);
            let ext = extension(&full);
            if full.is_dir() && ext.is_empty() {
                walk(&full, out);
            } else if full.is_file() && (ext.is_empty() || EXTS.contains(&ext.as_str())) {
                out.push(full);
            }
        }
    }
    let mut out = Vec::new();
    if name.starts_with('/') || !dir.is_dir() {
        return out;
    }
    for ext in ["", ".yml", ".yaml", ".json"] {
        let full = dir.join(format!("{name}{ext}"));
        if full.exists() {
            if full.is_dir() {
                walk(&full, &mut out);
            } else {
                out.push(full);
            }
            break;
        }
    }
    out
}

/// Loads and caches `group_vars/NAME*` and `host_vars/NAME*` under each source directory.
struct VarsFiles {
    dirs: Vec<PathBuf>,
    cache: HashMap<(usize, &'static str, String), Map<String, Value>>,
}

impl VarsFiles {
    fn get(
        &mut self,
        idx: usize,
        kind: &'static str,
        name: &str,
    ) -> Result<&Map<String, Value>, InventoryError> {
        let key = (idx, kind, name.to_string());
        if !self.cache.contains_key(&key) {
            let mut merged = Map::new();
            for file in vars_files(&self.dirs[idx].join(kind), name) {
                let bytes = read(&file)?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    InventoryError::new(format!("`{}` is not valid UTF-8", file.display()))
                })?;
                let value = yaml::load_data(&text, &file)?;
                if is_falsy(&value) {
                    continue;
                }
                let Value::Object(map) = value else {
                    return Err(InventoryError::new(format!(
                        "`{}` must be a mapping of variables (`name: value`), found {}",
                        file.display(),
                        value_kind(&value)
                    )));
                };
                merged.extend(map);
            }
            self.cache.insert(key.clone(), merged);
        }
        Ok(&self.cache[&key])
    }
}

fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// JSON with every object's keys sorted, as `json.dumps(sort_keys=True)` prints it.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

impl Inventory {
    /// Loads and merges the given sources (files, directories, executables), in order.
    pub fn load(sources: &[PathBuf]) -> Result<Inventory, InventoryError> {
        Inventory::load_with_timeout(sources, script::TIMEOUT)
    }

    /// [`Inventory::load`] with a different time limit for executable inventories.
    pub fn load_with_timeout(
        sources: &[PathBuf],
        timeout: Duration,
    ) -> Result<Inventory, InventoryError> {
        let mut data = Data::default();
        let mut dirs = Vec::new();
        for src in sources {
            let text = src.to_string_lossy();
            if !src.exists() {
                if text.contains(',') {
                    parse_host_list(&mut data, &text)?;
                    continue;
                }
                return Err(InventoryError::new(format!(
                    "inventory source `{}` does not exist",
                    src.display()
                )));
            }
            parse_source(&mut data, src, timeout)?;
            let abs = std::path::absolute(src).unwrap_or_else(|_| src.clone());
            dirs.push(if abs.is_dir() {
                abs
            } else {
                abs.parent().map(Path::to_path_buf).unwrap_or_default()
            });
        }
        Inventory::finish(data, dirs)
    }

    /// Parses INI text (tests and tools); `path` is used in messages only.
    pub fn from_str_ini(text: &str, path: impl AsRef<Path>) -> Result<Inventory, InventoryError> {
        let mut data = Data::default();
        ini::parse(&mut data, text, path.as_ref())?;
        Inventory::finish(data, Vec::new())
    }

    /// Parses YAML inventory text (tests and tools); `path` is used in messages only.
    pub fn from_str_yaml(text: &str, path: impl AsRef<Path>) -> Result<Inventory, InventoryError> {
        let path = path.as_ref();
        let mut data = Data::default();
        let doc = yaml::load(text, path)?;
        yaml::parse_inventory(&mut data, &doc, text, path)?;
        Inventory::finish(data, Vec::new())
    }

    /// Reads Ansible inventory JSON as an executable inventory would print it.
    pub fn from_list_json(json: &Value) -> Result<Inventory, InventoryError> {
        let mut data = Data::default();
        script::parse_list(&mut data, Path::new("<json>"), json, |_| {
            Ok(Value::Object(Map::new()))
        })?;
        Inventory::finish(data, Vec::new())
    }

    /// Reconciles the groups and merges each host's variables.
    fn finish(mut data: Data, dirs: Vec<PathBuf>) -> Result<Inventory, InventoryError> {
        data.reconcile().map_err(InventoryError::new)?;
        let mut files = VarsFiles {
            dirs,
            cache: HashMap::new(),
        };
        let groups_of = data.host_groups_all();
        let depths: HashMap<&str, usize> = data
            .groups
            .keys()
            .map(|g| (g.as_str(), data.depth(g)))
            .collect();
        let mut hosts = Vec::new();
        for name in data.group_hosts("all") {
            let mut mine: Vec<&String> = groups_of[&name].iter().filter(|g| *g != "all").collect();
            mine.sort_by(|a, b| {
                (depths[a.as_str()], data.groups[*a].priority, a).cmp(&(
                    depths[b.as_str()],
                    data.groups[*b].priority,
                    b,
                ))
            });
            let mut vars = data.groups["all"].vars.clone();
            for g in &mine {
                vars.extend(data.groups[*g].vars.clone());
            }
            for i in 0..files.dirs.len() {
                vars.extend(files.get(i, "group_vars", "all")?.clone());
            }
            for i in 0..files.dirs.len() {
                for g in &mine {
                    vars.extend(files.get(i, "group_vars", g)?.clone());
                }
            }
            vars.extend(data.hosts[&name].vars.clone());
            for i in 0..files.dirs.len() {
                vars.extend(files.get(i, "host_vars", &name)?.clone());
            }
            for k in INTERNAL_VARS {
                vars.shift_remove(*k);
            }
            hosts.push(Host { name, vars });
        }
        Ok(Inventory { hosts, data })
    }

    /// Every host, in inventory order.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// A host by name.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// Group names, in the order Ansible created them (`all` and `ungrouped` first).
    pub fn group_names(&self) -> Vec<&str> {
        self.data.groups.keys().map(String::as_str).collect()
    }

    /// The hosts matching an Ansible `--limit` pattern (all hosts for `None`), in inventory order.
    pub fn select(&self, limit: Option<&str>) -> Result<Vec<&Host>, InventoryError> {
        let Some(limit) = limit else {
            return Ok(self.hosts.iter().collect());
        };
        let patterns = pattern::split_host_pattern(limit);
        let chosen: IndexSet<String> = pattern::Matcher { data: &self.data }
            .evaluate(patterns)?
            .into_iter()
            .collect();
        Ok(self
            .hosts
            .iter()
            .filter(|h| chosen.contains(&h.name))
            .collect())
    }

    /// `ansible-inventory --list` JSON.
    pub fn to_list_json(&self) -> Value {
        let available: IndexSet<&str> = self.hosts.iter().map(|h| h.name.as_str()).collect();
        let mut out = Map::new();
        let mut seen: IndexSet<String> = IndexSet::new();
        self.format_group("all", &available, &mut seen, &mut out);
        let mut hostvars = Map::new();
        for h in &self.hosts {
            if !h.vars.is_empty() {
                hostvars.insert(h.name.clone(), Value::Object(h.vars.clone()));
            }
        }
        let mut meta = Map::new();
        meta.insert("hostvars".into(), Value::Object(hostvars));
        meta.insert("profile".into(), Value::String("inventory_legacy".into()));
        out.insert("_meta".into(), Value::Object(meta));
        sorted(&Value::Object(out))
    }

    /// `json_inventory.format_group`: groups with no hosts and no children are left out.
    fn format_group(
        &self,
        name: &str,
        available: &IndexSet<&str>,
        seen: &mut IndexSet<String>,
        out: &mut Map<String, Value>,
    ) {
        let g = &self.data.groups[name];
        let mut entry = Map::new();
        out.insert(name.to_string(), Value::Null);
        if name != "all" {
            let hosts: Vec<Value> = g
                .hosts
                .iter()
                .filter(|h| available.contains(h.as_str()))
                .map(|h| Value::String(h.clone()))
                .collect();
            if !hosts.is_empty() {
                entry.insert("hosts".into(), Value::Array(hosts));
            }
        }
        let mut children = Vec::new();
        for c in &g.children {
            children.push(Value::String(c.clone()));
            if !seen.contains(c) {
                self.format_group(c, available, seen, out);
                seen.insert(c.clone());
            }
        }
        if !children.is_empty() {
            entry.insert("children".into(), Value::Array(children));
        }
        if entry.is_empty() {
            out.shift_remove(name);
        } else {
            out.insert(name.to_string(), Value::Object(entry));
        }
    }

    /// `ansible-inventory --host NAME` JSON, or `None` for an unknown host.
    pub fn host_json(&self, name: &str) -> Option<Value> {
        self.host(name)
            .map(|h| sorted(&Value::Object(h.vars.clone())))
    }
}

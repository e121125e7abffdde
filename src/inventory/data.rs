//! The inventory being built: groups, hosts, their own variables and the
//! parent/child edges, with the rules of Ansible's `InventoryData`
//! (`all` and `ungrouped`, `reconcile_inventory`, group depth and priority).

use indexmap::{IndexMap, IndexSet};
use serde_json::{Map, Value};

/// One group as the parsers leave it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Group {
    pub vars: Map<String, Value>,
    pub children: Vec<String>,
    pub parents: Vec<String>,
    /// Direct member hosts, in the order they were added.
    pub hosts: IndexSet<String>,
    /// `ansible_group_priority` (default 1).
    pub priority: i64,
}

/// One host as the parsers leave it.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostData {
    pub vars: Map<String, Value>,
}

/// Groups and hosts in creation order, like Ansible's `InventoryData`.
#[derive(Debug, Clone)]
pub(crate) struct Data {
    pub groups: IndexMap<String, Group>,
    pub hosts: IndexMap<String, HostData>,
}

impl Default for Data {
    fn default() -> Self {
        let mut d = Data {
            groups: IndexMap::new(),
            hosts: IndexMap::new(),
        };
        d.add_group("all");
        d.add_group("ungrouped");
        // Cannot fail: both groups exist and there is no loop.
        let _ = d.add_child("all", "ungrouped");
        d
    }
}

impl Data {
    pub fn add_group(&mut self, name: &str) {
        if !self.groups.contains_key(name) {
            self.groups.insert(
                name.to_string(),
                Group {
                    priority: 1,
                    ..Group::default()
                },
            );
        }
    }

    /// Adds a host (if new) and makes it a member of `group`; a port given
    /// with the first definition becomes `ansible_port`.
    pub fn add_host(
        &mut self,
        name: &str,
        group: Option<&str>,
        port: Option<u64>,
    ) -> Result<(), String> {
        if name.is_empty() {
            return Err("empty host name".into());
        }
        if let Some(g) = group {
            if !self.groups.contains_key(g) {
                return Err(format!("group `{g}` does not exist"));
            }
        }
        if !self.hosts.contains_key(name) {
            let mut h = HostData::default();
            if let Some(p) = port.filter(|p| *p != 0) {
                h.vars.insert("ansible_port".into(), Value::from(p));
            }
            self.hosts.insert(name.to_string(), h);
        }
        if let Some(g) = group {
            if let Some(group) = self.groups.get_mut(g) {
                group.hosts.insert(name.to_string());
            }
        }
        Ok(())
    }

    /// `InventoryData.set_variable`: a group of that name wins over a host.
    pub fn set_variable(&mut self, entity: &str, key: &str, value: Value) -> Result<(), String> {
        if let Some(g) = self.groups.get_mut(entity) {
            if key == "ansible_group_priority" {
                g.priority = py_int(&value).ok_or_else(|| {
                    format!("`ansible_group_priority` must be an integer, found `{value}`")
                })?;
            } else {
                g.vars.insert(key.to_string(), value);
            }
            Ok(())
        } else if let Some(h) = self.hosts.get_mut(entity) {
            h.vars.insert(key.to_string(), value);
            Ok(())
        } else {
            Err(format!("no group or host named `{entity}`"))
        }
    }

    /// `InventoryData.add_child`: `child` is a group, or else a host.
    pub fn add_child(&mut self, group: &str, child: &str) -> Result<(), String> {
        if !self.groups.contains_key(group) {
            return Err(format!("`{group}` is not a known group"));
        }
        if self.groups.contains_key(child) {
            if group == child {
                return Err(format!("group `{group}` cannot be a child of itself"));
            }
            if self.groups[group].children.iter().any(|c| c == child) {
                return Ok(());
            }
            if self.ancestors(group).contains(child) {
                return Err(format!(
                    "adding group `{child}` as a child of `{group}` creates a loop: `{child}` is already an ancestor of `{group}`"
                ));
            }
            self.groups[group].children.push(child.to_string());
            let c = &mut self.groups[child];
            if !c.parents.iter().any(|p| p == group) {
                c.parents.push(group.to_string());
            }
            Ok(())
        } else if self.hosts.contains_key(child) {
            self.add_host(child, Some(group), None)
        } else {
            Err(format!("`{child}` is not a known host nor group"))
        }
    }

    /// Every group above `group` (not including itself).
    pub fn ancestors(&self, group: &str) -> IndexSet<String> {
        let mut seen = IndexSet::new();
        let mut todo: Vec<&str> = vec![group];
        while let Some(g) = todo.pop() {
            if let Some(gr) = self.groups.get(g) {
                for p in &gr.parents {
                    if seen.insert(p.clone()) {
                        todo.push(p);
                    }
                }
            }
        }
        seen
    }

    /// Each host's groups, directly or through ancestors (never empty for a
    /// host in any group: `all` is everyone's ancestor after `reconcile`).
    pub fn host_groups_all(&self) -> IndexMap<String, IndexSet<String>> {
        let ancestors: IndexMap<&str, IndexSet<String>> = self
            .groups
            .keys()
            .map(|g| (g.as_str(), self.ancestors(g)))
            .collect();
        let mut out: IndexMap<String, IndexSet<String>> = self
            .hosts
            .keys()
            .map(|h| (h.clone(), IndexSet::new()))
            .collect();
        for (name, g) in &self.groups {
            for h in &g.hosts {
                if let Some(set) = out.get_mut(h) {
                    set.extend(ancestors[name.as_str()].iter().cloned());
                    set.insert(name.clone());
                }
            }
        }
        out
    }

    /// `reconcile_inventory`: parentless groups under `all`; hosts in no
    /// group into `ungrouped`, and out of it when they are in another group.
    pub fn reconcile(&mut self) -> Result<(), String> {
        let names: Vec<String> = self.groups.keys().cloned().collect();
        for g in names {
            if g != "all" && self.groups[&g].parents.is_empty() {
                self.add_child("all", &g)?;
            }
        }
        for (h, mine) in self.host_groups_all() {
            if mine.contains("ungrouped") {
                if mine.iter().any(|g| g != "all" && g != "ungrouped") {
                    self.groups["ungrouped"].hosts.shift_remove(&h);
                }
            } else if mine.is_empty() || (mine.len() == 1 && mine.contains("all")) {
                self.add_host(&h, Some("ungrouped"), None)?;
            }
        }
        Ok(())
    }

    /// A group's depth: the longest path from `all` (what Ansible's
    /// incremental `depth` ends up as).
    pub fn depth(&self, group: &str) -> usize {
        fn go(d: &Data, g: &str, memo: &mut IndexMap<String, usize>, guard: usize) -> usize {
            if let Some(v) = memo.get(g) {
                return *v;
            }
            if guard > d.groups.len() {
                return 0;
            }
            let v = d.groups.get(g).map_or(0, |gr| {
                gr.parents
                    .iter()
                    .map(|p| go(d, p, memo, guard + 1) + 1)
                    .max()
                    .unwrap_or(0)
            });
            memo.insert(g.to_string(), v);
            v
        }
        go(self, group, &mut IndexMap::new(), 0)
    }

    /// `Group.get_hosts()`: hosts of the group and its descendants, walking
    /// the children level by level as Ansible does.
    pub fn group_hosts(&self, group: &str) -> Vec<String> {
        let Some(g) = self.groups.get(group) else {
            return Vec::new();
        };
        let mut ordered: Vec<&str> = vec![group];
        let mut seen: IndexSet<&str> = IndexSet::new();
        seen.insert(group);
        for c in &g.children {
            ordered.push(c);
            seen.insert(c);
        }
        let mut frontier: Vec<&str> = g.children.iter().map(String::as_str).collect();
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for f in &frontier {
                for c in &self.groups[*f].children {
                    if !seen.contains(c.as_str()) && !next.contains(&c.as_str()) {
                        ordered.push(c);
                        next.push(c.as_str());
                    }
                }
            }
            for n in &next {
                seen.insert(n);
            }
            frontier = next;
        }
        let mut hosts = IndexSet::new();
        for g in ordered {
            for h in &self.groups[g].hosts {
                hosts.insert(h.clone());
            }
        }
        hosts.into_iter().collect()
    }
}

/// Python's `int(value)` for `ansible_group_priority`.
fn py_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::String(s) => s.trim().replace('_', "").parse().ok(),
        _ => None,
    }
}

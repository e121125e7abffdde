//! YAML as Ansible reads it (PyYAML, YAML 1.1 types: `yes`/`no`/`on`/`off`
//! are booleans, `0755` is octal, `1e3` is text), the YAML inventory format
//! (`all:` / `children:` / `hosts:` / `vars:`), and `group_vars`/`host_vars`
//! files (JSON first, then YAML, as Ansible's loader does).
//!
//! yaml_serde resolves scalars with YAML 1.2 rules, so documents are read in
//! two passes: the first learns the shape of the document, the second reads
//! every scalar's raw text and style and types it with YAML 1.1 rules.

use std::fmt;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use serde_json::{Map, Number, Value};

use super::address::expand_hostpattern;
use super::data::Data;
use super::pyliteral::float_repr;
use super::InventoryError;

/// Pass 1: the shape of a YAML document.
#[derive(Debug)]
enum Shape {
    Null,
    Bool,
    Num,
    Str,
    Seq(Vec<Shape>),
    Map(Vec<(Shape, Shape)>),
    Tagged(String, Box<Shape>),
}

struct ShapeVisitor;

impl<'de> de::Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShapeVisitor)
    }
}

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Bool)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::Num)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::Num)
    }
    fn visit_i128<E>(self, _: i128) -> Result<Shape, E> {
        Ok(Shape::Num)
    }
    fn visit_u128<E>(self, _: u128) -> Result<Shape, E> {
        Ok(Shape::Num)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::Num)
    }
    fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::Str)
    }
    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::Null)
    }
    fn visit_none<E>(self) -> Result<Shape, E> {
        Ok(Shape::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let mut items = Vec::new();
        while let Some(s) = seq.next_element::<Shape>()? {
            items.push(s);
        }
        Ok(Shape::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut pairs = Vec::new();
        while let Some(k) = map.next_key::<Shape>()? {
            let v = map.next_value::<Shape>()?;
            pairs.push((k, v));
        }
        Ok(Shape::Map(pairs))
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Shape, A::Error> {
        let (tag, variant): (String, _) = data.variant()?;
        let inner: Shape = variant.newtype_variant()?;
        Ok(Shape::Tagged(tag, Box::new(inner)))
    }
}

/// A YAML node with YAML 1.1 types and, for scalars, its byte offset.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Merge,
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub kind: Kind,
    pub at: Option<usize>,
}

impl Node {
    fn new(kind: Kind) -> Node {
        Node { kind, at: None }
    }

    /// A JSON document as a node (what Ansible's loader returns for JSON).
    pub fn from_json(v: &Value) -> Node {
        Node::new(match v {
            Value::Null => Kind::Null,
            Value::Bool(b) => Kind::Bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Kind::Int(i128::from(i)),
                (_, Some(u)) => Kind::Int(i128::from(u)),
                _ => Kind::Float(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => Kind::Str(s.clone()),
            Value::Array(a) => Kind::Seq(a.iter().map(Node::from_json).collect()),
            Value::Object(m) => Kind::Map(
                m.iter()
                    .map(|(k, v)| (Node::new(Kind::Str(k.clone())), Node::from_json(v)))
                    .collect(),
            ),
        })
    }

    /// Python truthiness (`if not data`).
    pub fn is_falsy(&self) -> bool {
        match &self.kind {
            Kind::Null => true,
            Kind::Bool(b) => !b,
            Kind::Int(i) => *i == 0,
            Kind::Float(f) => *f == 0.0,
            Kind::Str(s) => s.is_empty(),
            Kind::Merge => false,
            Kind::Seq(v) => v.is_empty(),
            Kind::Map(v) => v.is_empty(),
        }
    }

    /// Python type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "boolean",
            Kind::Int(_) => "integer",
            Kind::Float(_) => "float",
            Kind::Str(_) | Kind::Merge => "string",
            Kind::Seq(_) => "list",
            Kind::Map(_) => "mapping",
        }
    }

    /// The key text of a mapping key, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            Kind::Merge => Some("<<"),
            _ => None,
        }
    }

    /// Mapping pairs after merge keys (`<<`) and duplicate keys are applied,
    /// as PyYAML's SafeLoader does.
    pub fn pairs(&self) -> Option<Vec<(Node, Node)>> {
        let Kind::Map(raw) = &self.kind else {
            return None;
        };
        let mut merged: Vec<(Node, Node)> = Vec::new();
        let mut explicit: Vec<(Node, Node)> = Vec::new();
        for (k, v) in raw {
            if k.kind == Kind::Merge {
                match &v.kind {
                    Kind::Map(_) => merged.extend(v.pairs().unwrap_or_default()),
                    Kind::Seq(items) => {
                        let mut subs: Vec<Vec<(Node, Node)>> =
                            items.iter().filter_map(Node::pairs).collect();
                        subs.reverse();
                        for s in subs {
                            merged.extend(s);
                        }
                    }
                    _ => explicit.push((k.clone(), v.clone())),
                }
            } else {
                explicit.push((k.clone(), v.clone()));
            }
        }
        let mut out: Vec<(Node, Node)> = Vec::new();
        for (k, v) in merged.into_iter().chain(explicit) {
            match out.iter_mut().find(|(ek, _)| ek.kind == k.kind) {
                Some(slot) => slot.1 = v,
                None => out.push((k, v)),
            }
        }
        Some(out)
    }

    /// The node as a JSON value (what Ansible's JSON encoder prints).
    pub fn to_json(&self) -> Value {
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => {
                if let Ok(v) = i64::try_from(*i) {
                    Value::from(v)
                } else if let Ok(v) = u64::try_from(*i) {
                    Value::from(v)
                } else {
                    Value::from(*i as f64)
                }
            }
            Kind::Float(f) => Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(float_repr(*f, true))),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Merge => Value::String("<<".into()),
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(_) => {
                let mut map = Map::new();
                for (k, v) in self.pairs().unwrap_or_default() {
                    map.insert(k.key_text(), v.to_json());
                }
                Value::Object(map)
            }
        }
    }

    /// A mapping key as JSON prints it.
    pub fn key_text(&self) -> String {
        match &self.kind {
            Kind::Str(s) => s.clone(),
            Kind::Merge => "<<".into(),
            Kind::Null => "null".into(),
            Kind::Bool(b) => b.to_string(),
            Kind::Int(i) => i.to_string(),
            Kind::Float(f) => float_repr(*f, true),
            Kind::Seq(_) | Kind::Map(_) => self.to_json().to_string(),
        }
    }
}

static BOOL11: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$")
        .expect("valid regex")
});
static FLOAT11: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
    )
    .expect("valid regex")
});
static INT11: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
    )
    .expect("valid regex")
});

/// Types a plain scalar with PyYAML's (YAML 1.1) implicit resolvers.
pub(crate) fn resolve11(s: &str) -> Kind {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Kind::Null,
        "<<" => return Kind::Merge,
        _ => {}
    }
    if BOOL11.is_match(s) {
        return Kind::Bool(
            matches!(s.as_bytes()[0], b'y' | b'Y' | b't' | b'T') || s.eq_ignore_ascii_case("on"),
        );
    }
    if FLOAT11.is_match(s) {
        let v = s.replace('_', "").to_ascii_lowercase();
        let (sign, body) = match v.strip_prefix('-') {
            Some(b) => (-1.0, b.to_string()),
            None => (1.0, v.strip_prefix('+').unwrap_or(&v).to_string()),
        };
        let f = if body == ".inf" {
            f64::INFINITY
        } else if body == ".nan" {
            f64::NAN
        } else if body.contains(':') {
            let mut value = 0.0;
            for part in body.split(':') {
                value = value * 60.0 + part.parse::<f64>().unwrap_or(0.0);
            }
            value
        } else {
            let mut b = body.clone();
            if b.ends_with('.') {
                b.push('0');
            }
            let b = b.replace(".e", ".0e");
            match b.parse::<f64>() {
                Ok(f) => f,
                Err(_) => return Kind::Str(s.to_string()),
            }
        };
        return Kind::Float(sign * f);
    }
    if INT11.is_match(s) {
        let v = s.replace('_', "");
        let (neg, body) = match v.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, v.strip_prefix('+').unwrap_or(&v)),
        };
        let parsed = if body == "0" {
            Some(0)
        } else if let Some(b) = body.strip_prefix("0b") {
            i128::from_str_radix(b, 2).ok()
        } else if let Some(h) = body.strip_prefix("0x") {
            i128::from_str_radix(h, 16).ok()
        } else if body.starts_with('0') {
            i128::from_str_radix(body, 8).ok()
        } else if body.contains(':') {
            let mut value: i128 = 0;
            let mut ok = true;
            for part in body.split(':') {
                match part.parse::<i128>() {
                    Ok(p) => value = value.saturating_mul(60).saturating_add(p),
                    Err(_) => ok = false,
                }
            }
            ok.then_some(value)
        } else {
            body.parse::<i128>().ok()
        };
        return match parsed {
            Some(i) => Kind::Int(if neg { -i } else { i }),
            None => Kind::Str(s.to_string()),
        };
    }
    Kind::Str(s.to_string())
}

/// Pass 2: reads nodes following the shape from pass 1.
struct NodeSeed<'s> {
    shape: &'s Shape,
    input: &'s str,
    force_str: bool,
}

/// Raw text of a scalar; `Some(offset)` when it was borrowed from the input.
struct RawVisitor<'s> {
    input: &'s str,
}

impl<'de> Visitor<'de> for RawVisitor<'_> {
    type Value = (String, Option<usize>);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        let base = self.input.as_ptr() as usize;
        let p = v.as_ptr() as usize;
        let off = (p >= base && p + v.len() <= base + self.input.len()).then(|| p - base);
        Ok((v.to_string(), off))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok((v.to_string(), None))
    }
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = Node;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        match self.shape {
            Shape::Seq(items) => d.deserialize_seq(SeqV {
                items,
                input: self.input,
            }),
            Shape::Map(pairs) => d.deserialize_map(MapV {
                pairs,
                input: self.input,
            }),
            Shape::Tagged(tag, inner) => d.deserialize_any(TagV {
                tag,
                inner,
                input: self.input,
            }),
            scalar => {
                let (text, at) = d.deserialize_str(RawVisitor { input: self.input })?;
                let kind = if self.force_str {
                    Kind::Str(text)
                } else {
                    match scalar {
                        Shape::Null => Kind::Null,
                        Shape::Bool | Shape::Num => resolve11(&text),
                        _ => match at {
                            Some(o) if is_plain(self.input, o, text.len()) => resolve11(&text),
                            _ => Kind::Str(text),
                        },
                    }
                };
                Ok(Node { kind, at })
            }
        }
    }
}

/// Whether the scalar at `offset` was written plain (not quoted, not `!!str`).
fn is_plain(input: &str, offset: usize, len: usize) -> bool {
    let before = input.as_bytes().get(offset.wrapping_sub(1)).copied();
    let after = input.as_bytes().get(offset + len).copied();
    if let (Some(q @ (b'\'' | b'"')), Some(a)) = (before, after) {
        if a == q {
            return false;
        }
    }
    !input[..offset].trim_end().ends_with("!!str")
}

struct SeqV<'s> {
    items: &'s [Shape],
    input: &'s str,
}

impl<'de> Visitor<'de> for SeqV<'_> {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut out = Vec::new();
        for shape in self.items {
            match seq.next_element_seed(NodeSeed {
                shape,
                input: self.input,
                force_str: false,
            })? {
                Some(n) => out.push(n),
                None => break,
            }
        }
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Node::new(Kind::Seq(out)))
    }
}

struct MapV<'s> {
    pairs: &'s [(Shape, Shape)],
    input: &'s str,
}

impl<'de> Visitor<'de> for MapV<'_> {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut out = Vec::new();
        for (ks, vs) in self.pairs {
            let Some(k) = map.next_key_seed(NodeSeed {
                shape: ks,
                input: self.input,
                force_str: false,
            })?
            else {
                break;
            };
            let v = map.next_value_seed(NodeSeed {
                shape: vs,
                input: self.input,
                force_str: false,
            })?;
            out.push((k, v));
        }
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Node::new(Kind::Map(out)))
    }
}

struct TagV<'s> {
    tag: &'s str,
    inner: &'s Shape,
    input: &'s str,
}

impl<'de> Visitor<'de> for TagV<'_> {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a tagged value")
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
        let (_, variant): (de::IgnoredAny, _) = data.variant()?;
        match self.tag {
            "unsafe" => variant.newtype_variant_seed(NodeSeed {
                shape: self.inner,
                input: self.input,
                force_str: true,
            }),
            // Kept as ansible-inventory prints it (it cannot decrypt without
            // the vault password either); `vars.rs` refuses it only where
            // sshfix needs the value.
            "vault" => {
                let text = variant.newtype_variant_seed(NodeSeed {
                    shape: self.inner,
                    input: self.input,
                    force_str: true,
                })?;
                Ok(Node::new(Kind::Map(vec![(
                    Node::new(Kind::Str("__ansible_vault".into())),
                    text,
                )])))
            }
            other => Err(de::Error::custom(format!(
                "unsupported YAML tag `!{other}`"
            ))),
        }
    }
}

/// Line and column (1-based) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Loads one YAML document with YAML 1.1 types.
pub(crate) fn load(text: &str, path: &Path) -> Result<Node, InventoryError> {
    let wrap = |e: serde_yaml::Error| match e.location() {
        Some(loc) => {
            InventoryError::at(path, loc.line(), loc.column(), format!("invalid YAML: {e}"))
        }
        None => InventoryError::new(format!("`{}`: invalid YAML: {e}", path.display())),
    };
    // An empty document (blank, comments only) is null, as in PyYAML.
    let blank = text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
    });
    if blank {
        return Ok(Node::new(Kind::Null));
    }
    let shape: Shape = serde_yaml::from_str(text).map_err(wrap)?;
    let de = serde_yaml::Deserializer::from_str(text);
    NodeSeed {
        shape: &shape,
        input: text,
        force_str: false,
    }
    .deserialize(de)
    .map_err(wrap)
}

/// Loads a variables file as Ansible's DataLoader does: JSON first, then YAML.
pub(crate) fn load_data(text: &str, path: &Path) -> Result<Value, InventoryError> {
    if text.trim_start().starts_with("$ANSIBLE_VAULT") {
        return Err(InventoryError::new(format!(
            "`{}` is vault-encrypted; sshfix cannot read vault files (keep connection settings in a plain file)",
            path.display()
        )));
    }
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return Ok(v);
    }
    Ok(load(text, path)?.to_json())
}

/// An error at a node (its line and column when known).
fn node_err(text: &str, path: &Path, node: &Node, msg: String) -> InventoryError {
    match node.at {
        Some(o) => {
            let (l, c) = line_col(text, o);
            InventoryError::at(path, l, c, msg)
        }
        None => InventoryError::new(format!("`{}`: {msg}", path.display())),
    }
}

/// Whether a parsed document looks like a YAML inventory (a mapping).
pub(crate) fn is_mapping(node: &Node) -> bool {
    matches!(node.kind, Kind::Map(_))
}

/// Parses a YAML inventory document into `data` (Ansible's `yaml` plugin).
pub(crate) fn parse_inventory(
    data: &mut Data,
    doc: &Node,
    text: &str,
    path: &Path,
) -> Result<(), InventoryError> {
    if doc.is_falsy() {
        return Err(InventoryError::new(format!(
            "`{}` is empty",
            path.display()
        )));
    }
    let Some(pairs) = doc.pairs() else {
        return Err(InventoryError::new(format!(
            "`{}`: a YAML inventory must be a mapping of groups (e.g. `all:`), found a {}",
            path.display(),
            doc.type_name()
        )));
    };
    if let Some((k, v)) = pairs.iter().find(|(k, _)| k.as_str() == Some("plugin")) {
        if !v.is_falsy() {
            return Err(node_err(
                text,
                path,
                k,
                format!(
                    "this is a configuration file for the inventory plugin `{}`, which sshfix does not run; export it with `ansible-inventory -i {} --list > inventory.json` or use a static inventory",
                    v.key_text(),
                    path.display()
                ),
            ));
        }
    }
    let p = YamlInv { text, path };
    for (k, v) in &pairs {
        p.group(data, k, v)?;
    }
    Ok(())
}

struct YamlInv<'a> {
    text: &'a str,
    path: &'a Path,
}

impl YamlInv<'_> {
    fn err(&self, node: &Node, msg: String) -> InventoryError {
        node_err(self.text, self.path, node, msg)
    }

    /// `_parse_group`: returns the group name.
    fn group(&self, data: &mut Data, key: &Node, value: &Node) -> Result<String, InventoryError> {
        let Some(name) = key.as_str() else {
            return Err(self.err(
                key,
                format!("group name `{}` must be a string", key.key_text()),
            ));
        };
        let name = name.to_string();
        if !matches!(value.kind, Kind::Map(_) | Kind::Null) {
            // Ansible warns and skips such a group.
            return Ok(name);
        }
        if name.is_empty() {
            return Err(self.err(key, "empty group name".into()));
        }
        data.add_group(&name);
        let Some(pairs) = value.pairs() else {
            return Ok(name);
        };
        for (k, v) in &pairs {
            let section = k.as_str().unwrap_or_default();
            if matches!(section, "vars" | "children" | "hosts")
                && !matches!(v.kind, Kind::Map(_) | Kind::Null | Kind::Str(_))
            {
                return Err(self.err(
                    k,
                    format!(
                        "`{section}` of group `{name}` must be a mapping, found a {}",
                        v.type_name()
                    ),
                ));
            }
        }
        for (k, v) in &pairs {
            let section = k.as_str().unwrap_or_default();
            // A bare string is allowed for these sections: `hosts: web1`.
            let v = match (&v.kind, section) {
                (Kind::Str(s), "vars" | "children" | "hosts") => Node {
                    kind: Kind::Map(vec![(
                        Node {
                            kind: Kind::Str(s.clone()),
                            at: v.at,
                        },
                        Node::new(Kind::Null),
                    )]),
                    at: v.at,
                },
                _ => v.clone(),
            };
            let Some(entries) = v.pairs() else {
                continue; // null or not a mapping: skipped, as Ansible does
            };
            match section {
                "vars" => {
                    for (vk, vv) in &entries {
                        data.set_variable(&name, &vk.key_text(), vv.to_json())
                            .map_err(|m| self.err(vk, m))?;
                    }
                }
                "children" => {
                    for (ck, cv) in &entries {
                        let child = self.group(data, ck, cv)?;
                        data.add_child(&name, &child).map_err(|m| {
                            self.err(ck, format!("group `{name}`, child `{child}`: {m}"))
                        })?;
                    }
                }
                "hosts" => {
                    for (hk, hv) in &entries {
                        let Some(pattern) = hk.as_str() else {
                            return Err(self.err(
                                hk,
                                format!(
                                    "host name `{}` must be a string; put numbers in quotes",
                                    hk.key_text()
                                ),
                            ));
                        };
                        let (hosts, port) =
                            expand_hostpattern(pattern).map_err(|m| self.err(hk, m))?;
                        let vars = if hv.is_falsy() {
                            Vec::new()
                        } else {
                            hv.pairs().ok_or_else(|| {
                                self.err(
                                    hk,
                                    format!(
                                        "the variables of host `{pattern}` must be a mapping, found a {}",
                                        hv.type_name()
                                    ),
                                )
                            })?
                        };
                        for h in &hosts {
                            data.add_host(h, Some(&name), port)
                                .map_err(|m| self.err(hk, m))?;
                            for (vk, vv) in &vars {
                                data.set_variable(h, &vk.key_text(), vv.to_json())
                                    .map_err(|m| self.err(vk, m))?;
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn j(text: &str) -> Value {
        load(text, Path::new("t.yml")).unwrap().to_json()
    }

    #[test]
    fn yaml_1_1_types_like_pyyaml() {
        let doc = "a: yes\nb: 0755\nc: 1e3\nd: 1_000\ne: 2020-01-01\nf: 1:30\ng: \"yes\"\nh: 1.0e+3\ni: 09\nj: ~\nk: 0o17\nl: .5\nm: +12\nn: 0x1F\no: 0b11\np: off\nq: 'on'\nr:\ns: !unsafe yes\nt: !!str yes\nu: [yes, 'no', 3]\nv: True\nw: 1.\n";
        assert_eq!(
            j(doc),
            json!({"a": true, "b": 493, "c": "1e3", "d": 1000, "e": "2020-01-01", "f": 90,
                   "g": "yes", "h": 1000.0, "i": "09", "j": null, "k": "0o17", "l": 0.5, "m": 12,
                   "n": 31, "o": 3, "p": false, "q": "on", "r": null, "s": "yes", "t": "yes",
                   "u": [true, "no", 3], "v": true, "w": 1.0})
        );
    }

    #[test]
    fn merge_keys_and_duplicates() {
        let doc = "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\nd: 1\nd: 2\n";
        assert_eq!(
            j(doc),
            json!({"base": {"x": 1, "y": 2}, "m": {"x": 1, "y": 3}, "d": 2})
        );
    }

    #[test]
    fn yaml_errors_carry_position() {
        let e = load("all:\n  hosts: [a\n", Path::new("inv/h.yml")).unwrap_err();
        assert!(
            e.to_string().starts_with("inv/h.yml:3:1: invalid YAML: "),
            "{e}"
        );
        let v = load("a: !vault |\n  xyz\n", Path::new("v.yml")).unwrap();
        assert_eq!(
            v.to_json(),
            serde_json::json!({"a": {"__ansible_vault": "xyz\n"}})
        );
    }
}

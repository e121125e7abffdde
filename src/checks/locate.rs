//! Exact `line:column` of any node of a YAML document, found lazily.
//!
//! The inventory's YAML reader ([`crate::inventory::yaml`]) records a byte
//! offset only for scalars that are slices of the input (plain scalars, and
//! quoted ones without escapes). Block scalars (`|`, `>`), quoted strings with
//! escapes (`"a\nb"`) and mappings/sequences have none. yaml_serde does not hand
//! marks to visitors, but it attaches the mark of the current event to an error
//! a visitor returns — so to find a node we parse the document again, walk the
//! same path, and fail on purpose at that node. Only used when a location is
//! needed and the cheap offset is missing (error messages, fix tasks), so the
//! extra parse costs nothing in the common case.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};

/// One step from a node to a child, in the document's raw order (merge keys
/// and duplicate keys not applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The n-th item of a sequence.
    Item(usize),
    /// The key of the n-th pair of a mapping.
    Key(usize),
    /// The value of the n-th pair of a mapping.
    Value(usize),
}

const MARK: &str = "\u{1}sshfix-locate-target\u{1}";

/// Line and column (1-based) where the node at `path` starts: the first
/// character of a scalar (its quote, or `|`/`>` of a block scalar), the first
/// key of a block mapping, the `-` of a block sequence, `{`/`[` of a flow
/// collection. `None` if the path does not exist.
pub(crate) fn locate(text: &str, path: &[Step]) -> Option<(usize, usize)> {
    let de = serde_yaml::Deserializer::from_str(text);
    match (Nav { path }).deserialize(de) {
        Ok(()) => None,
        Err(e) => {
            if !e.to_string().contains(MARK) {
                return None;
            }
            e.location().map(|l| (l.line(), l.column()))
        }
    }
}

struct Nav<'p> {
    path: &'p [Step],
}

impl<'de> DeserializeSeed<'de> for Nav<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Nav<'_> {
    fn leaf<E: de::Error>(&self) -> Result<(), E> {
        if self.path.is_empty() {
            Err(E::custom(MARK))
        } else {
            Err(E::custom("path goes below a scalar"))
        }
    }
}

impl<'de> Visitor<'de> for Nav<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML node")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.leaf()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.leaf()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.leaf()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.leaf()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Step::Item(n), rest)) = self.path.split_first() else {
            return self.leaf();
        };
        for _ in 0..*n {
            if seq.next_element::<de::IgnoredAny>()?.is_none() {
                return Err(de::Error::custom("no such item"));
            }
        }
        match seq.next_element_seed(Nav { path: rest })? {
            Some(()) => Ok(()),
            None => Err(de::Error::custom("no such item")),
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (n, key, rest) = match self.path.split_first() {
            Some((Step::Key(n), rest)) => (*n, true, rest),
            Some((Step::Value(n), rest)) => (*n, false, rest),
            _ => return self.leaf(),
        };
        for _ in 0..n {
            if map
                .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                .is_none()
            {
                return Err(de::Error::custom("no such pair"));
            }
        }
        if key {
            return match map.next_key_seed(Nav { path: rest })? {
                Some(()) => Ok(()),
                None => Err(de::Error::custom("no such pair")),
            };
        }
        if map.next_key::<de::IgnoredAny>()?.is_none() {
            return Err(de::Error::custom("no such pair"));
        }
        map.next_value_seed(Nav { path: rest })
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // A tagged node (`!unsafe x`): the tag is not a step.
        if self.path.is_empty() {
            return Err(de::Error::custom(MARK));
        }
        let (_, variant): (de::IgnoredAny, _) = data.variant()?;
        de::VariantAccess::newtype_variant_seed(variant, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "name: x\nchecks:\n  - id: a\n    evidence:\n      - \"one\\ntwo\"\n      - |\n        block\n    fix:\n      - {module: m}\n";

    #[test]
    fn finds_nodes_without_offsets() {
        use Step::*;
        // `checks` value: the block sequence starts at its `-`.
        assert_eq!(locate(DOC, &[Value(1)]), Some((3, 3)));
        // The check mapping starts at its first key.
        assert_eq!(locate(DOC, &[Value(1), Item(0)]), Some((3, 5)));
        // A double-quoted string with an escape: at its opening quote.
        assert_eq!(
            locate(DOC, &[Value(1), Item(0), Value(1), Item(0)]),
            Some((5, 9))
        );
        // A block scalar: at its `|`.
        assert_eq!(
            locate(DOC, &[Value(1), Item(0), Value(1), Item(1)]),
            Some((6, 9))
        );
        // A flow mapping: at its `{`.
        assert_eq!(
            locate(DOC, &[Value(1), Item(0), Value(2), Item(0)]),
            Some((9, 9))
        );
        // A key.
        assert_eq!(locate(DOC, &[Key(1)]), Some((2, 1)));
    }

    #[test]
    fn missing_paths_are_none() {
        use Step::*;
        assert_eq!(locate(DOC, &[Value(5)]), None);
        assert_eq!(locate(DOC, &[Value(0), Item(0)]), None);
        assert_eq!(locate(DOC, &[Value(1), Item(3)]), None);
    }
}

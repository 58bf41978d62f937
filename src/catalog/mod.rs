//! The error catalog: YAML files in `patterns/`, validated and compiled into
//! an immutable [`CatalogSet`] with lookups by code, hex and name: the
//! schema and its compilation in `compile`, the model and its lookups in
//! `model`.
//!
//! The built-in catalogs are compiled into the binary ([`CatalogSet::builtin`]);
//! users add or replace catalogs with [`CatalogSetBuilder::add_dir`].

use std::path::PathBuf;

mod compile;
mod model;

pub use compile::{BUILTIN, CatalogSetBuilder, MAX_KEY_LEN, MAX_MESSAGE_LEN, MAX_PATTERNS};
pub use model::*;

/// The built-in catalogs (if `builtin`) plus every catalog in `dirs`.
pub fn load(builtin: bool, dirs: &[PathBuf]) -> Result<CatalogSet, CatalogError> {
    let mut b = CatalogSetBuilder::new();
    b.builtin(builtin);
    for d in dirs {
        b.add_dir(d)?;
    }
    b.build()
}

#[cfg(test)]
mod tests {

    #[test]
    fn no_description_says_itself_twice() {
        let set = CatalogSet::builtin().unwrap();
        for e in set.all_entries() {
            assert!(
                !e.description.en.contains("Description:"),
                "{}: {}",
                e.key,
                e.description.en
            );
        }
    }

    #[test]
    fn every_entry_says_what_to_do_in_both_languages() {
        let set = CatalogSet::builtin().unwrap();
        for e in set.all_entries() {
            let a = e
                .action
                .as_ref()
                .unwrap_or_else(|| panic!("{} has no action", e.key));
            assert!(!a.en.is_empty(), "{}", e.key);
            assert!(
                a.ja.as_deref().is_some_and(|j| !j.is_empty()),
                "{} has no ja action",
                e.key
            );
        }
    }

    #[test]
    fn every_category_is_in_one_group_and_ice_and_its_v5_form_meet() {
        for c in CATEGORIES {
            let n = GROUPS.iter().filter(|(_, cats)| cats.contains(c)).count();
            assert_eq!(n, 1, "{c}");
        }
        let set = CatalogSet::builtin().unwrap();
        let id = |name: &str, major: u32| {
            *set.by_name(name)
                .iter()
                .find(|&&i| set.entry(i).sdk_major == Some(major))
                .unwrap()
        };
        let ice = id("ICE_TRANSPORT_ERROR", 4);
        assert_eq!(group_of(&set, ice, None), "media_connection");
        let op = id("OPERATION_FAILED", 5);
        let fw = id("FIREWALL_RESTRICTION", 5);
        assert_eq!(group_of(&set, op, Some(fw)), "media_connection");
        assert_eq!(group_of(&set, op, None), "usage");
    }

    use super::*;

    #[test]
    fn builtin_loads_with_lookups() {
        let set = CatalogSet::builtin().unwrap();
        let ice = set.lookup("0x4003");
        assert_eq!(set.entry(ice[0]).key, "ICE_TRANSPORT_ERROR");
        assert_eq!(set.entry(set.lookup("16387")[0]).key, "ICE_TRANSPORT_ERROR");
        assert_eq!(set.entry(set.lookup("UNKOWN")[0]).key, "UNKNOWN");
        assert_eq!(set.lookup("INVALID_PARAMETER").len(), 2);
    }

    #[test]
    fn bad_category_is_refused_with_its_place() {
        let mut b = CatalogSetBuilder::new();
        b.builtin(false).add_yaml(
            "x.yaml",
            "catalog: x\nentries:\n  - key: A_B\n    kind: sdk\n    code: 1\n    category: nope\n    severity: error\n    description: {en: a}\n",
        );
        let e = b.build().unwrap_err().to_string();
        assert!(e.starts_with("x.yaml:6:15: unknown category"), "{e}");
    }

    #[test]
    fn yaml_syntax_and_unknown_fields_are_refused() {
        for (yaml, want) in [
            ("catalog: x\nentries: [\n", "x.yaml:"),
            (
                "catalog: x\nentries:\n  - key: A\n    colour: red\n",
                "x.yaml:4:",
            ),
        ] {
            let mut b = CatalogSetBuilder::new();
            b.builtin(false).add_yaml("x.yaml", yaml);
            let e = b.build().unwrap_err().to_string();
            assert!(e.starts_with(want), "{e}");
        }
    }

    fn one_entry(key: &str, aliases: usize) -> String {
        let list: Vec<String> = (0..aliases).map(|i| format!("A_{i}")).collect();
        format!(
            "catalog: x\nentries:\n  - key: {key}\n    aliases: [{}]\n    kind: sdk\n    code: 1\n    category: room\n    severity: error\n    description: {{en: a}}\n",
            list.join(", ")
        )
    }

    #[test]
    fn sizes_are_bounded_and_short_keys_warned_about() {
        let build = |yaml: String| {
            let mut b = CatalogSetBuilder::new();
            b.builtin(false).add_yaml("x.yaml", yaml);
            b.build()
        };
        let e = build(one_entry(&"K".repeat(10_000), 0))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("x.yaml:3:") && e.contains("at most 64"),
            "{e}"
        );
        let e = build(one_entry("MANY", 20_000)).unwrap_err().to_string();
        assert!(e.contains("more than 10000"), "{e}");
        let set = build(one_entry("A", 0)).unwrap();
        assert!(
            set.warnings()[0].contains("\"A\" is shorter than 4"),
            "{:?}",
            set.warnings()
        );
        assert!(CatalogSet::builtin().unwrap().warnings().is_empty());
    }

    #[test]
    fn hex_must_equal_code() {
        let mut b = CatalogSetBuilder::new();
        b.builtin(false).add_yaml(
            "x.yaml",
            "catalog: x\nentries:\n  - key: A_B\n    kind: sdk\n    code: 1\n    hex: \"0x2\"\n    category: room\n    severity: error\n    description: {en: a}\n",
        );
        let e = b.build().unwrap_err().to_string();
        assert!(
            e.contains("x.yaml:6:") && e.contains("does not equal"),
            "{e}"
        );
    }
}

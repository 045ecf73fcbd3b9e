//! A light, deterministic suffix stemmer for English index terms.
//!
//! It conflates the inflections agents and tool authors actually mix up
//! ("issues"/"issue", "listing"/"list", "created"/"create"/"creates") and
//! nothing more ambitious: there is no dictionary, so a stem is only a key
//! ("create" and "created" both become `creat`), never shown to anyone.
//! Words that are not pure ASCII letters, or shorter than four bytes, are
//! left alone.

/// Stems `word` in place. `word` must already be lowercase.
pub(crate) fn stem_in_place(word: &mut String) {
    if word.len() < 4 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return;
    }
    strip_plural(word);
    strip_verb_suffix(word);
    strip_final_e(word);
}

/// `queries` -> `query`, `addresses` -> `address`, `branches` -> `branch`,
/// `files` -> `file`; leaves `status`, `access`, `analysis` alone.
fn strip_plural(word: &mut String) {
    let len = word.len();
    if len >= 5 && word.ends_with("ies") {
        word.truncate(len - 3);
        word.push('y');
    } else if len >= 5 && word.ends_with("es") && ends_with_sibilant(&word[..len - 2]) {
        word.truncate(len - 2);
    } else if word.ends_with('s')
        && !word.ends_with("ss")
        && !word.ends_with("us")
        && !word.ends_with("is")
    {
        word.truncate(len - 1);
    }
}

/// `listing` -> `list`, `running` -> `run`, `created` -> `creat`,
/// `stopped` -> `stop`; leaves `string`, `need`, `speed` alone.
fn strip_verb_suffix(word: &mut String) {
    let len = word.len();
    let suffix_len = if len >= 6 && word.ends_with("ing") {
        3
    } else if len >= 5 && word.ends_with("ed") {
        2
    } else {
        return;
    };
    let stem = &word[..len - suffix_len];
    if stem.len() < 3 || !has_vowel(stem) || stem.ends_with('e') {
        return;
    }
    word.truncate(len - suffix_len);
    undouble(word);
}

/// `runn` -> `run`, `logg` -> `log`; keeps `ll`, `ss`, `zz` (`call`, `pass`)
/// and very short stems (`add`).
fn undouble(word: &mut String) {
    let bytes = word.as_bytes();
    let len = bytes.len();
    if len < 4 {
        return;
    }
    let (last, before) = (bytes[len - 1], bytes[len - 2]);
    if last == before && !is_vowel(last) && !matches!(last, b'l' | b's' | b'z') {
        word.truncate(len - 1);
    }
}

/// `create` -> `creat`, so it meets `created` and `creating`; keeps `tree`.
fn strip_final_e(word: &mut String) {
    if word.len() >= 4 && word.ends_with('e') && !word.ends_with("ee") {
        word.truncate(word.len() - 1);
    }
}

fn ends_with_sibilant(stem: &str) -> bool {
    ["sh", "ch", "x", "z", "s"]
        .iter()
        .any(|s| stem.ends_with(s))
}

fn has_vowel(stem: &str) -> bool {
    stem.bytes().any(|b| is_vowel(b) || b == b'y')
}

fn is_vowel(b: u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u')
}

#[cfg(test)]
mod tests {
    use super::stem_in_place;

    fn stem(word: &str) -> String {
        let mut owned = word.to_string();
        stem_in_place(&mut owned);
        owned
    }

    #[test]
    fn conflates_inflections() {
        let groups: &[&[&str]] = &[
            &["issue", "issues"],
            &["list", "lists", "listing", "listed"],
            &["create", "creates", "created", "creating"],
            &["query", "queries"],
            &["branch", "branches"],
            &["address", "addresses"],
            &["run", "running"],
            &["message", "messages"],
            &["file", "files"],
            &["delete", "deleted", "deleting", "deletes"],
            &["update", "updated", "updating", "updates"],
            &["process", "processes", "processing", "processed"],
            &["database", "databases"],
            &["log", "logs", "logging"],
        ];
        for group in groups {
            let first = stem(group[0]);
            for word in group.iter() {
                assert_eq!(stem(word), first, "{word} vs {}", group[0]);
            }
        }
    }

    #[test]
    fn leaves_lookalikes_alone() {
        for word in [
            "status", "access", "analysis", "string", "need", "add", "call", "tree",
        ] {
            let stemmed = stem(word);
            assert!(
                word.starts_with(&stemmed) && stemmed.len() + 1 >= word.len(),
                "{word} -> {stemmed}"
            );
        }
        assert_eq!(stem("string"), "string");
        assert_eq!(stem("status"), "status");
    }

    #[test]
    fn ignores_non_ascii_and_digits() {
        assert_eq!(stem("cafés"), "cafés");
        assert_eq!(stem("v2es"), "v2es");
        assert_eq!(stem(""), "");
    }
}

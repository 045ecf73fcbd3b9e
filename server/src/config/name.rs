//! The one rule for server names: `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`.
//!
//! A name travels into `server:tool` routing, REST paths, log file names, container names,
//! terminals and agents' contexts, so it is kept to characters that are safe in all of them:
//! no `:`, `/`, spaces, control characters or escape sequences, at most 64 characters.
//! Config validation (load and apply), REST, MCP and the CLI all call [`check_server_name`].

/// The rule, as a regular expression, for messages and docs.
pub const SERVER_NAME_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";

/// The longest name allowed, in characters.
pub const SERVER_NAME_MAX: usize = 64;

/// Why a name breaks the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty.
    #[error("server name is required")]
    Empty,
    /// Longer than [`SERVER_NAME_MAX`].
    #[error(
        "server name is too long ({len} characters, at most {SERVER_NAME_MAX}); it must match {SERVER_NAME_PATTERN}"
    )]
    TooLong {
        /// Its length in characters.
        len: usize,
    },
    /// Has a character outside the rule (shown escaped, never raw).
    #[error(
        "server name {shown} is invalid: it must match {SERVER_NAME_PATTERN} (letters, digits, '.', '_', '-'; starting with a letter or digit)"
    )]
    BadCharacter {
        /// The name, escaped (`{:?}`) and cut to a readable length.
        shown: String,
    },
}

/// Check `name` against [`SERVER_NAME_PATTERN`].
pub fn check_server_name(name: &str) -> Result<(), NameError> {
    let len = name.chars().count();
    if len == 0 {
        return Err(NameError::Empty);
    }
    if len > SERVER_NAME_MAX {
        return Err(NameError::TooLong { len });
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if first_ok && rest_ok {
        Ok(())
    } else {
        Err(NameError::BadCharacter {
            shown: escaped(name),
        })
    }
}

/// `name` escaped for a message or a terminal: no control characters, at most 80 characters.
pub fn escaped(name: &str) -> String {
    let shown: String = name.chars().take(SERVER_NAME_MAX).collect();
    let mut out = format!("{shown:?}");
    if name.chars().count() > SERVER_NAME_MAX {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_rule_and_nothing_else() {
        for ok in ["a", "fx", "A.b_c-9", "0x", &"a".repeat(64), "github-server"] {
            assert_eq!(check_server_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "-a",
            ".a",
            "_a",
            "a b",
            "a:b",
            "a/b",
            "a\nb",
            "a\u{1b}[31mred",
            "é",
            "a\u{0}",
            &"a".repeat(65),
            &"a".repeat(300),
        ] {
            assert!(check_server_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn messages_never_carry_raw_control_characters() {
        let Err(e) = check_server_name("evil\n\u{1b}[2J") else {
            panic!("must be refused");
        };
        let message = e.to_string();
        assert!(
            !message.contains('\n') && !message.contains('\u{1b}'),
            "{message}"
        );
        assert!(message.contains(SERVER_NAME_PATTERN));
    }
}

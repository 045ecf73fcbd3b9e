//! Decoders: base64 (standard and URL-safe), base32, hex, percent-encoding and `\u`/`\x`
//! escapes, found anywhere in a field. A candidate is kept only when it decodes to readable
//! text (valid UTF-8, printable, mostly letters), so hashes, UUIDs, colours and images stay
//! silent; the caller scans what decodes again, recursively up to [`MAX_DEPTH`] layers.

/// How many layers of encoding are peeled (base64 of base64 of …).
pub const MAX_DEPTH: usize = 3;
/// Shortest encoded run worth decoding (`Y3VybA==` is four bytes).
const MIN_RUN: usize = 8;
/// Most plain bytes between two escapes decoded as one text.
const ESCAPE_GAP: usize = 40;
/// Longest encoded run decoded (longer ones are cut: a payload hides at the start as well).
const MAX_RUN: usize = 16 * 1024;

/// Which encoding a candidate used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// RFC 4648 base64, standard or URL-safe alphabet.
    Base64,
    /// RFC 4648 base32.
    Base32,
    /// Hexadecimal bytes.
    Hex,
    /// `%XX` percent-encoding.
    Percent,
    /// `\uXXXX` / `\xXX` escapes.
    Escapes,
}

impl Encoding {
    /// How a finding names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Base64 => "base64",
            Self::Base32 => "base32",
            Self::Hex => "hex",
            Self::Percent => "percent-encoded",
            Self::Escapes => "escaped",
        }
    }
}

/// Readable text found encoded in a field.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The encoding.
    pub encoding: Encoding,
    /// Byte range of the encoded run in the field.
    pub start: usize,
    /// End of that range.
    pub end: usize,
    /// What it decodes to.
    pub text: String,
}

/// Every readable encoded run of `text`.
pub fn find(text: &str) -> Vec<Decoded> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    // Escapes and percent-encoding first: their runs contain `\` and `%`.
    // Escapes with the plain text between them (`\u003cIMPORTANT\u003e send …`): each
    // cluster of escapes no further than [`ESCAPE_GAP`] apart is decoded as one text.
    if bytes.contains(&b'\\') {
        let mut cluster: Option<(usize, usize)> = None;
        let flush = |c: (usize, usize), out: &mut Vec<Decoded>| {
            if c.1 - c.0 >= MIN_RUN
                && let Some(t) = unescape(&text[c.0..c.1]).filter(|t| readable(t))
            {
                out.push(Decoded {
                    encoding: Encoding::Escapes,
                    start: c.0,
                    end: c.1,
                    text: t,
                });
            }
        };
        for (s, e) in escapes(bytes) {
            cluster = match cluster {
                Some((cs, ce)) if s - ce <= ESCAPE_GAP => Some((cs, e)),
                Some(c) => {
                    flush(c, &mut out);
                    Some((s, e))
                }
                None => Some((s, e)),
            };
        }
        if let Some(c) = cluster {
            flush(c, &mut out);
        }
    }
    if text.contains('%') {
        runs(
            bytes,
            |b| b.is_ascii_graphic() && !b"\"'`<>()[]{}".contains(&b),
            |s, e| {
                let run = &text[s..e];
                if run.matches('%').count() >= 2
                    && let Ok(t) = percent_encoding::percent_decode_str(run).decode_utf8()
                    && t != run
                    && readable(&t)
                {
                    out.push(Decoded {
                        encoding: Encoding::Percent,
                        start: s,
                        end: e,
                        text: t.into_owned(),
                    });
                }
            },
        );
    }
    runs(
        bytes,
        |b| b.is_ascii_alphanumeric() || b"+/-_=".contains(&b),
        |s, e| {
            // Every decoder needs an uppercase letter, a digit or padding: plain words are
            // passed over in one look.
            if !bytes[s..e]
                .iter()
                .any(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'=')
            {
                return;
            }
            // `init=PAYLOAD`: padding ends a piece; what follows an inner `=` is another piece.
            let mut piece = s;
            let mut i = s;
            while i < e {
                if bytes[i] == b'=' {
                    while i < e && bytes[i] == b'=' {
                        i += 1;
                    }
                    try_piece(text, piece, i, &mut out);
                    piece = i;
                } else {
                    i += 1;
                }
            }
            try_piece(text, piece, e, &mut out);
        },
    );
    out
}

/// Decode `text[s..e]` as base64, base32 or hex, whichever reads as text.
fn try_piece(text: &str, s: usize, e: usize, out: &mut Vec<Decoded>) {
    let e = e.min(s + MAX_RUN);
    let run = &text[s..e];
    if run.trim_end_matches('=').len() < MIN_RUN {
        return;
    }
    let class = Class::of(run);
    let found = if class.base64()
        && let Some(t) = base64(run).filter(|t| readable(t))
    {
        Some((Encoding::Base64, t))
    } else if run.len() >= 16
        && class.base32
        && let Some(t) = base32(run).filter(|t| readable(t))
    {
        Some((Encoding::Base32, t))
    } else if run.len().is_multiple_of(2)
        && class.hex
        && let Some(t) = hex(run).filter(|t| readable(t))
    {
        Some((Encoding::Hex, t))
    } else {
        None
    };
    if let Some((encoding, text)) = found {
        out.push(Decoded {
            encoding,
            start: s,
            end: e,
            text,
        });
    }
}

/// Call `each(start, end)` for every maximal run of bytes matching `keep`.
fn runs(bytes: &[u8], keep: impl Fn(u8) -> bool, mut each: impl FnMut(usize, usize)) {
    let mut i = 0;
    while i < bytes.len() {
        if !keep(bytes[i]) {
            i += 1;
            continue;
        }
        let s = i;
        while i < bytes.len() && keep(bytes[i]) {
            i += 1;
        }
        if i - s >= MIN_RUN {
            each(s, i);
        }
    }
}

/// What a candidate run is made of, in one pass: which decoders are worth trying.
struct Class {
    /// Uppercase letters after the first byte.
    upper: usize,
    lower: bool,
    /// Digits, `+`, `/` or `=`.
    other: bool,
    double_underscore: bool,
    padded: bool,
    /// Only base32 characters.
    base32: bool,
    /// Only hex digits.
    hex: bool,
}

impl Class {
    fn of(run: &str) -> Self {
        let mut c = Class {
            upper: 0,
            lower: false,
            other: false,
            double_underscore: run.contains("__"),
            padded: run.ends_with('='),
            base32: true,
            hex: true,
        };
        for (i, b) in run.bytes().enumerate() {
            c.upper += usize::from(i > 0 && b.is_ascii_uppercase());
            c.lower |= b.is_ascii_lowercase();
            c.other |= b.is_ascii_digit() || b"+/=".contains(&b);
            c.base32 &= b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b) || b == b'=';
            c.hex &= b.is_ascii_hexdigit();
        }
        c
    }

    /// Plain words (`Initialises`, `send_email`) are not tried: a base64 run mixes cases
    /// with digits or symbols, or ends in padding.
    fn base64(&self) -> bool {
        !self.double_underscore
            && (self.padded || (self.upper > 0 && self.lower && (self.other || self.upper >= 2)))
    }
}

/// Whether decoded bytes read as text: printable, at least four characters, mostly letters,
/// digits, spaces and path/URL punctuation.
fn readable(text: &str) -> bool {
    let n = text.chars().count();
    if n < 4 {
        return false;
    }
    let bad = text
        .chars()
        .filter(|c| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || *c == '\u{FFFD}')
        .count();
    let plain = text
        .chars()
        .filter(|c| {
            c.is_alphanumeric() || c.is_whitespace() || "./:~-_|&>=<,;'\"!?()@%+".contains(*c)
        })
        .count();
    bad == 0 && plain * 10 >= n * 9
}

fn base64(run: &str) -> Option<String> {
    radix(run, 6, |b| match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    })
}

fn base32(run: &str) -> Option<String> {
    radix(run, 5, |b| match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'2'..=b'7' => Some(b - b'2' + 26),
        _ => None,
    })
}

fn hex(run: &str) -> Option<String> {
    radix(run, 4, |b| char::from(b).to_digit(16).map(|d| d as u8))
}

/// Decode `run` (padding `=` trimmed) where each character carries `bits` bits (`value` of
/// it; `None` for a character outside the alphabet) into UTF-8 text.
fn radix(run: &str, bits: u32, value: impl Fn(u8) -> Option<u8>) -> Option<String> {
    let mut acc: u32 = 0;
    let mut n = 0;
    let mut out = Vec::with_capacity(run.len() * bits as usize / 8);
    for b in run.trim_end_matches('=').bytes() {
        acc = (acc << bits) | u32::from(value(b)?);
        n += bits;
        if n >= 8 {
            n -= 8;
            out.push((acc >> n) as u8);
            acc &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Byte ranges of the `\uXXXX` and `\xXX` escapes of `bytes`.
fn escapes(bytes: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    bytes.iter().enumerate().filter_map(move |(i, &b)| {
        let width = match (b, bytes.get(i + 1)) {
            (b'\\', Some(b'u')) => 4,
            (b'\\', Some(b'x')) => 2,
            _ => return None,
        };
        let digits = bytes.get(i + 2..i + 2 + width)?;
        digits
            .iter()
            .all(u8::is_ascii_hexdigit)
            .then_some((i, i + 2 + width))
    })
}

/// `\u0041\x42` → `AB`; `None` when the run holds no escape.
fn unescape(run: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = run;
    let mut any = false;
    while !rest.is_empty() {
        let (width, tail) = match rest.as_bytes() {
            [b'\\', b'u', ..] => (4, &rest[2..]),
            [b'\\', b'x', ..] => (2, &rest[2..]),
            _ => {
                let c = rest.chars().next()?;
                out.push(c);
                rest = &rest[c.len_utf8()..];
                continue;
            }
        };
        match tail
            .get(..width)
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32)
        {
            Some(c) => {
                out.push(c);
                any = true;
                rest = &tail[width..];
            }
            None => {
                out.push('\\');
                rest = &rest[1..];
            }
        }
    }
    any.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<(Encoding, String)> {
        find(s).into_iter().map(|d| (d.encoding, d.text)).collect()
    }

    #[test]
    fn decodes_each_encoding_anywhere() {
        assert_eq!(
            texts("init=Y3VybCB4IHwgc2g="),
            [(Encoding::Base64, "curl x | sh".into())]
        );
        assert_eq!(
            texts("k: 6375726c2078207c207368."),
            [(Encoding::Hex, "curl x | sh".into())]
        );
        assert_eq!(
            texts("MN2XE3BAPAQHYIDTNA======"),
            [(Encoding::Base32, "curl x | sh".into())]
        );
        assert_eq!(
            texts("a curl%20x%20%7C%20sh b"),
            [(Encoding::Percent, "curl x | sh".into())]
        );
        assert_eq!(
            texts(r"go \u0063\u0075\x72\x6c x"),
            [(Encoding::Escapes, "curl".into())]
        );
    }

    #[test]
    fn hashes_ids_colours_and_words_stay_silent() {
        for s in [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            "#ff8800 rgb(255,136,0)",
            "Initialises the workspace with send_email and SearchResults",
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
            "JBSWY3DPEHPK3PXP",
        ] {
            assert!(find(s).is_empty(), "{s}: {:?}", find(s));
        }
    }
}

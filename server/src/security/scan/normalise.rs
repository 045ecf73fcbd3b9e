//! Normalisation before matching: every character of a field is classified (invisible,
//! direction-changing, tag, private-use, variation selector, control), hidden ones are
//! reported and stripped, the rest folded — NFKC (fullwidth and mathematical letters,
//! ligatures), a homoglyph map (Cyrillic and Greek look-alikes of Latin letters), lowercase,
//! curly quotes straightened, whitespace collapsed — and cut into word tokens. Every folded
//! character remembers the byte offset of the original character it came from, so a match
//! reports the span of the text as written.

use unicode_normalization::UnicodeNormalization;

use super::phrase::word_hash;

/// A kind of character that hides or reorders text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hidden {
    /// Zero-width space, joiner, word joiner, invisible operators, BOM.
    ZeroWidth,
    /// Left-to-right / right-to-left marks.
    DirectionMark,
    /// Bidi embeddings, overrides and isolates (reorder what is displayed).
    BidiControl,
    /// Unicode tag characters U+E0000–U+E007F (invisible ASCII).
    Tag,
    /// Private-use code points (no meaning a reader can see).
    PrivateUse,
    /// Soft hyphen.
    SoftHyphen,
    /// Variation selectors.
    VariationSelector,
    /// C0/C1 control characters other than line breaks and tabs.
    Control,
}

impl Hidden {
    /// How a finding names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::ZeroWidth => "zero-width",
            Self::DirectionMark => "direction mark",
            Self::BidiControl => "bidi override",
            Self::Tag => "Unicode tag (invisible ASCII)",
            Self::PrivateUse => "private-use",
            Self::SoftHyphen => "soft hyphen",
            Self::VariationSelector => "variation selector",
            Self::Control => "control character",
        }
    }
}

/// What kind of hidden character `c` is, if any.
pub fn hidden_kind(c: char) -> Option<Hidden> {
    Some(match c {
        '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}' => {
            Hidden::ZeroWidth
        }
        '\u{200E}' | '\u{200F}' | '\u{061C}' => Hidden::DirectionMark,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => Hidden::BidiControl,
        '\u{E0000}'..='\u{E007F}' => Hidden::Tag,
        '\u{E000}'..='\u{F8FF}' | '\u{F0000}'..='\u{FFFFD}' | '\u{100000}'..='\u{10FFFD}' => {
            Hidden::PrivateUse
        }
        '\u{00AD}' => Hidden::SoftHyphen,
        '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}' => Hidden::VariationSelector,
        c if c.is_control() && !matches!(c, '\n' | '\r' | '\t') => Hidden::Control,
        _ => return None,
    })
}

/// Whether `c` is a pictograph that zero-width joiners and variation selectors legitimately
/// follow or join (emoji sequences such as 👨‍👩‍👧 or ☀️).
pub fn is_pictograph(c: char) -> bool {
    matches!(c as u32,
        0x2300..=0x23FF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x1F000..=0x1FAFF
    ) || c == '\u{00A9}'
        || c == '\u{00AE}'
        || ('\u{1F3FB}'..='\u{1F3FF}').contains(&c)
}

/// A Latin letter that a Cyrillic or Greek character looks like.
fn homoglyph(c: char) -> Option<char> {
    Some(match c {
        'а' => 'a',
        'в' => 'b',
        'с' | 'ϲ' => 'c',
        'ԁ' => 'd',
        'е' | 'ё' => 'e',
        'һ' => 'h',
        'і' | 'ї' | 'ι' => 'i',
        'ј' => 'j',
        'к' | 'κ' => 'k',
        'ӏ' => 'l',
        'м' => 'm',
        'п' => 'n',
        'о' | 'ο' | 'σ' => 'o',
        'р' | 'ρ' => 'p',
        'ԛ' => 'q',
        'г' => 'r',
        'ѕ' => 's',
        'т' | 'τ' => 't',
        'υ' | 'ս' => 'u',
        'ѵ' | 'ν' => 'v',
        'ԝ' | 'ω' => 'w',
        'х' | 'χ' => 'x',
        'у' | 'γ' => 'y',
        'ᴢ' => 'z',
        _ => return None,
    })
}

/// One hidden character found in a field.
#[derive(Debug, Clone, Copy)]
pub struct HiddenChar {
    /// Its kind.
    pub kind: Hidden,
    /// The character.
    pub ch: char,
    /// Byte offset in the original text.
    pub at: usize,
    /// Whether context makes it legitimate (a joiner or selector inside an emoji sequence,
    /// tag letters of a subdivision flag).
    pub benign: bool,
}

/// A word token of the folded text.
#[derive(Debug, Clone)]
pub struct Token {
    /// Byte range in [`Folded::text`].
    pub start: usize,
    /// End of that range.
    pub end: usize,
    /// Sentence number (tokens of different sentences never match one phrase).
    pub sentence: u32,
    /// Whether the original word mixed Latin with Cyrillic or Greek letters.
    pub mixed_script: bool,
    /// [`word_hash`] of the word (what the phrase indexes look up).
    pub hash: u64,
}

/// A field after normalisation.
#[derive(Debug, Default)]
pub struct Folded {
    /// Folded text: lowercase ASCII-ish, hidden characters stripped, whitespace collapsed.
    pub text: String,
    /// For each byte of `text`, the byte offset of the original character it came from.
    origin: Vec<u32>,
    /// Word tokens (letters, digits and `_`).
    pub tokens: Vec<Token>,
    /// Hidden characters of the original.
    pub hidden: Vec<HiddenChar>,
    /// ASCII carried by tag characters (outside subdivision flags).
    pub tag_text: String,
    /// Length of the original text.
    original_len: usize,
}

impl Folded {
    /// Normalise `text`.
    pub fn new(text: &str) -> Self {
        let mut out = Folded {
            text: String::with_capacity(text.len()),
            origin: Vec::with_capacity(text.len()),
            original_len: text.len(),
            ..Folded::default()
        };
        if text.is_ascii() {
            out.fold_ascii(text);
        } else {
            out.fold(text);
        }
        out.tokenize(text);
        out
    }

    /// [`Self::fold`] for plain ASCII (most fields): no decoding, no NFKC, no homoglyphs.
    fn fold_ascii(&mut self, text: &str) {
        let mut space: Option<usize> = None;
        for (at, &b) in text.as_bytes().iter().enumerate() {
            match b {
                b'\n' => {
                    self.push_space(space.unwrap_or(at));
                    self.push_ascii('\n', at);
                    space = None;
                }
                b' ' | b'\t' | b'\r' => space = space.or(Some(at)),
                0..=0x1f | 0x7f => self.note_hidden(Hidden::Control, char::from(b), at, false),
                _ => {
                    if let Some(first) = space.take() {
                        self.push_space(first);
                    }
                    self.push_ascii(char::from(b.to_ascii_lowercase()), at);
                }
            }
        }
    }

    /// Classify, strip and fold every character of `text`.
    fn fold(&mut self, text: &str) {
        let out = self;
        let mut prev_visible: Option<char> = None;
        let mut space: Option<usize> = None;
        let mut in_flag = false;
        for (at, c) in text.char_indices() {
            if c.is_ascii() {
                in_flag = false;
                if c.is_ascii_control() && !matches!(c, '\n' | '\r' | '\t') {
                    out.note_hidden(Hidden::Control, c, at, false);
                    continue;
                }
                if c.is_ascii_whitespace() {
                    space = space.or(Some(at));
                    if c == '\n' {
                        // Kept: a blank line ends a sentence as a full stop does.
                        out.push_space(space.unwrap_or(at));
                        out.push_ascii('\n', at);
                        space = None;
                    }
                    prev_visible = Some(c);
                    continue;
                }
                if let Some(first) = space.take() {
                    out.push_space(first);
                }
                out.push_ascii(c.to_ascii_lowercase(), at);
                prev_visible = Some(c);
                continue;
            }
            if let Some(kind) = hidden_kind(c) {
                let benign = match kind {
                    Hidden::ZeroWidth if c == '\u{200D}' => prev_visible.is_some_and(is_pictograph),
                    Hidden::VariationSelector => prev_visible.is_some_and(is_pictograph),
                    Hidden::Tag => in_flag || prev_visible == Some('\u{1F3F4}'),
                    _ => false,
                };
                if kind == Hidden::Tag {
                    in_flag = benign && c != '\u{E007F}';
                    if !benign && ('\u{E0020}'..='\u{E007E}').contains(&c) {
                        out.tag_text.push(char::from((c as u32 - 0xE0000) as u8));
                    }
                }
                out.note_hidden(kind, c, at, benign);
                continue;
            }
            in_flag = false;
            if c.is_whitespace() {
                space = space.or(Some(at));
                prev_visible = Some(c);
                continue;
            }
            if let Some(first) = space.take() {
                out.push_space(first);
            }
            prev_visible = Some(c);
            let c = match c {
                '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{2032}' => '\'',
                '\u{201C}' | '\u{201D}' | '\u{2033}' => '"',
                c => c,
            };
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase(), at);
                continue;
            }
            for n in std::iter::once(c).nfkc() {
                if n.is_whitespace() {
                    out.push_space(at);
                    continue;
                }
                let n = homoglyph(n).unwrap_or(n);
                for l in n.to_lowercase() {
                    let l = homoglyph(l).unwrap_or(l);
                    out.push(l, at);
                }
            }
        }
    }

    fn note_hidden(&mut self, kind: Hidden, ch: char, at: usize, benign: bool) {
        self.hidden.push(HiddenChar {
            kind,
            ch,
            at,
            benign,
        });
    }

    fn push_ascii(&mut self, c: char, at: usize) {
        self.text.push(c);
        self.origin.push(at as u32);
    }

    fn push(&mut self, c: char, at: usize) {
        let before = self.text.len();
        self.text.push(c);
        self.origin
            .extend(std::iter::repeat_n(at as u32, self.text.len() - before));
    }

    fn push_space(&mut self, at: usize) {
        if !self.text.is_empty() && !self.text.ends_with([' ', '\n']) {
            self.push_ascii(' ', at);
        }
    }

    /// Cut the folded text into word tokens, numbering sentences.
    fn tokenize(&mut self, original: &str) {
        let bytes = self.text.as_bytes();
        let mut sentence = 0u32;
        let ascii = original.is_ascii();
        let mut i = 0;
        let mut tokens = Vec::with_capacity(bytes.len() / 5);
        while i < bytes.len() {
            let c = bytes[i];
            if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                // Non-ASCII runs that are not letters (symbols, emoji) are not words.
                let word = &self.text[start..i];
                if bytes[start].is_ascii_alphanumeric() || word.chars().any(char::is_alphanumeric) {
                    let mixed_script = !ascii && mixed_script(self.original(start, i, original));
                    tokens.push(Token {
                        start,
                        end: i,
                        sentence,
                        mixed_script,
                        hash: word_hash(word.as_bytes()),
                    });
                }
                continue;
            }
            let ends = match c {
                b'!' | b'?' | b';' => true,
                b'\n' => bytes.get(i + 1) == Some(&b'\n'),
                // A full stop ends a sentence when followed by a space (not `mcp.json`).
                b'.' => bytes.get(i + 1).is_none_or(|n| *n == b' ' || *n == b'\n'),
                _ => false,
            };
            if ends {
                sentence += 1;
            }
            i += 1;
        }
        self.tokens = tokens;
    }

    /// The original text behind folded bytes `start..end`.
    pub fn original<'a>(&self, start: usize, end: usize, original: &'a str) -> &'a str {
        let (a, b) = self.span(start, end);
        original.get(a..b).unwrap_or_default()
    }

    /// The original byte span behind folded bytes `start..end`.
    pub fn span(&self, start: usize, end: usize) -> (usize, usize) {
        let a = self.origin.get(start).copied().unwrap_or(0) as usize;
        let b = match self.origin.get(end) {
            Some(o) => *o as usize,
            None => self.original_len,
        };
        (a, b.max(a))
    }

    /// The text of token `i`.
    pub fn word(&self, i: usize) -> &str {
        let t = &self.tokens[i];
        &self.text[t.start..t.end]
    }
}

/// Whether a word mixes Latin letters with Cyrillic or Greek ones (a homoglyph spoof).
fn mixed_script(word: &str) -> bool {
    let latin = word.chars().any(|c| c.is_ascii_alphabetic());
    let other = word.chars().any(|c| matches!(c as u32, 0x0370..=0x052F));
    latin && other
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(f: &Folded) -> Vec<&str> {
        (0..f.tokens.len()).map(|i| f.word(i)).collect()
    }

    #[test]
    fn folds_width_case_homoglyphs_and_hidden_characters() {
        let f = Folded::new("Ｉｇｎｏｒｅ \u{0456}gnore I\u{200B}gn\u{00AD}ore 𝗜𝗴𝗻𝗼𝗿𝗲 ﬁle");
        assert_eq!(words(&f), ["ignore", "ignore", "ignore", "ignore", "file"]);
        assert_eq!(f.hidden.len(), 2);
        assert!(f.tokens[1].mixed_script);
        assert!(!f.tokens[0].mixed_script);
    }

    #[test]
    fn spans_point_at_the_original_text() {
        let text = "Ａb \u{200B}cd";
        let f = Folded::new(text);
        let t = &f.tokens[1];
        assert_eq!(f.original(t.start, t.end, text), "cd");
        let t = &f.tokens[0];
        assert_eq!(f.original(t.start, t.end, text), "Ａb");
    }

    #[test]
    fn emoji_sequences_and_flags_are_benign_and_tags_elsewhere_carry_text() {
        let f = Folded::new("👨\u{200D}👩 ☀\u{FE0F} 🏴\u{E0067}\u{E0062}\u{E007F}");
        assert!(f.hidden.iter().all(|h| h.benign), "{:?}", f.hidden);
        let f = Folded::new("ok\u{E0068}\u{E0069}");
        assert_eq!(f.tag_text, "hi");
        assert!(f.hidden.iter().all(|h| !h.benign));
    }

    #[test]
    fn sentences_split_on_stops_but_not_inside_paths() {
        let f = Folded::new("Read ~/.cursor/mcp.json now. Then stop\nok\n\nnext");
        let s: Vec<u32> = f.tokens.iter().map(|t| t.sentence).collect();
        assert_eq!(s, [0, 0, 0, 0, 0, 1, 1, 1, 2]);
    }
}

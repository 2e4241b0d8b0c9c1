//! A minimal Rust lexer for what syn cannot give us: where comments are (syn drops them), and how
//! deep brackets nest before parsing (syn's recursion must not overflow the stack). It knows
//! string, raw string, byte string and char literals, lifetimes, and nested block comments, so a
//! `//` or a bracket inside a literal is not mistaken for code.

/// Something the scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    /// A `//` comment: byte range, without the line terminator.
    LineComment { start: usize, end: usize },
    /// An opening bracket `(`, `[` or `{` at this offset.
    Open(usize),
    /// A closing bracket at this offset.
    Close(usize),
}

/// Scan `text`, calling `on` for every comment and bracket; stop early when `on` returns false.
pub(crate) fn scan(text: &str, mut on: impl FnMut(Token) -> bool) {
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        index = match byte {
            // Whitespace first: most bytes between tokens.
            b' ' | b'\n' | b'\t' | b'\r' => index + 1,
            b'/' => match bytes.get(index + 1) {
                Some(b'/') => {
                    let end = memchr_newline(bytes, index);
                    if !on(Token::LineComment { start: index, end }) {
                        return;
                    }
                    end
                }
                Some(b'*') => skip_block_comment(bytes, index),
                _ => index + 1,
            },
            b'"' => skip_string(bytes, index + 1),
            b'r' | b'b' | b'c' if starts_raw_or_prefixed_string(bytes, index) => {
                skip_prefixed_string(bytes, index)
            }
            b'\'' => skip_char_or_lifetime(text, index),
            b'(' | b'[' | b'{' => {
                if !on(Token::Open(index)) {
                    return;
                }
                index + 1
            }
            b')' | b']' | b'}' => {
                if !on(Token::Close(index)) {
                    return;
                }
                index + 1
            }
            // Whole identifiers, so a trailing `r`, `b` or `c` is never taken for a string prefix.
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let mut end = index + 1;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_')
                {
                    end += 1;
                }
                end
            }
            _ => index + 1,
        }
        .max(index + 1);
    }
}

/// The offset of the first `\n` at or after `from`, or the length of `bytes`.
pub(crate) fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    // Comments are a large part of most files: look for the newline a word at a time.
    const NEWLINES: u64 = u64::from_ne_bytes([b'\n'; 8]);
    const LOW: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut index = from;
    while let Some(word) = bytes.get(index..index + 8) {
        let word = u64::from_ne_bytes(word.try_into().expect("eight bytes"));
        let newlines = word ^ NEWLINES;
        // A zero byte in `newlines` is a newline in `word`.
        if newlines.wrapping_sub(LOW) & !newlines & HIGH != 0 {
            break;
        }
        index += 8;
    }
    bytes[index..]
        .iter()
        .position(|&byte| byte == b'\n')
        .map_or(bytes.len(), |offset| index + offset)
}

fn skip_block_comment(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut index = start;
    while index + 1 < bytes.len() {
        match (bytes[index], bytes[index + 1]) {
            (b'/', b'*') => {
                depth += 1;
                index += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                index += 2;
                if depth == 0 {
                    return index;
                }
            }
            _ => index += 1,
        }
    }
    bytes.len()
}

/// From just after an opening `"`, the offset just after the closing one.
fn skip_string(bytes: &[u8], mut index: usize) -> usize {
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            b'"' => return index + 1,
            _ => index += 1,
        }
    }
    bytes.len()
}

/// `r"`, `r#"`, `b"`, `br"`, `br#"`, `c"`, `cr#"`, `b'`.
fn starts_raw_or_prefixed_string(bytes: &[u8], index: usize) -> bool {
    let rest = &bytes[index..];
    let after_prefix = match rest {
        [b'b' | b'c', b'r', ..] => 2,
        [b'r' | b'b' | b'c', ..] => 1,
        _ => return false,
    };
    let raw = rest.get(after_prefix - 1) == Some(&b'r');
    match rest.get(after_prefix) {
        Some(b'"') => true,
        Some(b'#') => raw,
        Some(b'\'') => rest[0] == b'b' && after_prefix == 1,
        _ => false,
    }
}

fn skip_prefixed_string(bytes: &[u8], index: usize) -> usize {
    let mut cursor = index;
    let mut raw = false;
    while cursor < bytes.len() && matches!(bytes[cursor], b'r' | b'b' | b'c') {
        raw |= bytes[cursor] == b'r';
        cursor += 1;
    }
    if bytes.get(cursor) == Some(&b'\'') {
        // A byte literal `b'x'`.
        let mut end = cursor + 1;
        if bytes.get(end) == Some(&b'\\') {
            end += 2;
        } else {
            end += 1;
        }
        while end < bytes.len() && bytes[end] != b'\'' && bytes[end] != b'\n' {
            end += 1;
        }
        return (end + 1).min(bytes.len());
    }
    if !raw {
        return skip_string(bytes, cursor + 1);
    }
    let mut hashes = 0;
    while bytes.get(cursor) == Some(&b'#') {
        hashes += 1;
        cursor += 1;
    }
    if bytes.get(cursor) != Some(&b'"') {
        return cursor;
    }
    cursor += 1;
    while cursor < bytes.len() {
        if bytes[cursor] == b'"'
            && bytes[cursor + 1..]
                .iter()
                .take(hashes)
                .filter(|&&byte| byte == b'#')
                .count()
                == hashes
        {
            return cursor + 1 + hashes;
        }
        cursor += 1;
    }
    bytes.len()
}

/// `'x'`, `'\n'`, `'\u{1F600}'` are chars; `'a` in `&'a str` is a lifetime.
fn skip_char_or_lifetime(text: &str, index: usize) -> usize {
    let bytes = text.as_bytes();
    if bytes.get(index + 1) == Some(&b'\\') {
        // Skip the backslash and the escaped character, then up to the closing quote.
        let mut end = index + 3;
        while end < bytes.len() && bytes[end] != b'\'' && bytes[end] != b'\n' {
            end += 1;
        }
        return (end + 1).min(bytes.len());
    }
    let Some(ch) = text.get(index + 1..).and_then(|rest| rest.chars().next()) else {
        return index + 1;
    };
    let after = index + 1 + ch.len_utf8();
    if bytes.get(after) == Some(&b'\'') {
        after + 1
    } else {
        index + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comments(text: &str) -> Vec<&str> {
        let mut found = Vec::new();
        scan(text, |token| {
            if let Token::LineComment { start, end } = token {
                found.push(&text[start..end]);
            }
            true
        });
        found
    }

    #[test]
    fn comments_inside_literals_are_not_comments() {
        let text = "let a = \"// no\"; // yes\nlet b = r#\"\n// no\n\"#; let c = '/'; // also\n/* // no */ let d: &'a str = b\"//\";\nlet e = '\"'; // last\n";
        assert_eq!(comments(text), ["// yes", "// also", "// last"]);
    }

    #[test]
    fn brackets_in_strings_and_chars_are_skipped() {
        let mut depth = 0i32;
        let mut max = 0;
        scan("f(\"((((\", '(', '\\'', [x]) /* ( */", |token| {
            match token {
                Token::Open(_) => depth += 1,
                Token::Close(_) => depth -= 1,
                Token::LineComment { .. } => {}
            }
            max = max.max(depth);
            true
        });
        assert_eq!((depth, max), (0, 2));
    }

    #[test]
    fn long_comments_end_at_their_newline_or_at_the_end_of_the_text() {
        for length in 0..40 {
            let comment = format!("// {}", "x".repeat(length));
            let text = format!("a {comment}\nb {comment}");
            assert_eq!(comments(&text), [comment.as_str(), comment.as_str()]);
        }
    }

    #[test]
    fn identifiers_ending_in_string_prefixes_are_not_strings() {
        assert_eq!(comments("let br = 1; let rb = c; // end\n"), ["// end"]);
    }
}

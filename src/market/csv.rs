//! Just enough CSV for the instrument file: one line in, its fields out.
//!
//! Fields are separated by commas. A field is either unquoted (surrounding spaces
//! trimmed, no `"` inside) or wholly double-quoted (`"NIFTY 50"`, commas allowed inside,
//! `""` for a literal quote, spaces outside the quotes ignored). Invariant: anything else
//! — an unterminated quote, a quote inside an unquoted field, text after a closing quote —
//! is an error, so a line is never silently split in the wrong places.

/// The fields of one CSV line (without its line ending).
///
/// # Errors
///
/// A message naming the 1-based field and what is wrong with its quoting.
pub(super) fn split_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        let number = fields.len() + 1;
        let trimmed = rest.trim_start();
        let (field, after) = if let Some(quoted) = trimmed.strip_prefix('"') {
            quoted_field(quoted).ok_or_else(|| {
                format!("field {number}: unterminated quote (a quoted field must end with \")")
            })?
        } else {
            let end = trimmed.find(',').unwrap_or(trimmed.len());
            let field = trimmed[..end].trim_end();
            if field.contains('"') {
                return Err(format!(
                    "field {number}: a quote inside an unquoted field; quote the whole \
                     field and double the inner quote (\"\")"
                ));
            }
            (field.to_owned(), &trimmed[end..])
        };
        fields.push(field);
        let after = after.trim_start();
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None if after.is_empty() => return Ok(fields),
            None => {
                return Err(format!(
                    "field {number}: unexpected text after the closing quote"
                ));
            }
        }
    }
}

/// Reads a quoted field whose opening quote is already consumed: its text, and what
/// follows the closing quote. `None` if the quote never closes.
fn quoted_field(text: &str) -> Option<(String, &str)> {
    let mut field = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        if c != '"' {
            field.push(c);
            continue;
        }
        let after = &text[at + 1..];
        if after.starts_with('"') {
            field.push('"');
            chars.next(); // the second quote of ""
        } else {
            return Some((field, after));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::split_line;

    #[test]
    fn splits_plain_and_quoted_fields() {
        #[rustfmt::skip]
        let cases: [(&str, &[&str]); 7] = [
            ("a,b,c", &["a", "b", "c"]),
            (" a , b ,c ", &["a", "b", "c"]),
            ("NIFTY 50,x", &["NIFTY 50", "x"]),
            ("\"NIFTY 50\",x", &["NIFTY 50", "x"]),
            ("\"a, b\", \"say \"\"hi\"\"\" ,c", &["a, b", "say \"hi\"", "c"]),
            ("a,,", &["a", "", ""]),
            ("\"\"", &[""]),
        ];
        for (line, expected) in cases {
            assert_eq!(split_line(line).unwrap(), expected, "{line:?}");
        }
    }

    #[test]
    fn rejects_quotes_it_cannot_parse() {
        let cases = [
            ("\"abc,d", "field 1: unterminated quote"),
            ("a,ab\"c", "field 2: a quote inside an unquoted field"),
            (
                "\"ab\"c,d",
                "field 1: unexpected text after the closing quote",
            ),
            ("a,\"b\"\"", "field 2: unterminated quote"),
        ];
        for (line, expected) in cases {
            let error = split_line(line).unwrap_err();
            assert!(error.starts_with(expected), "{line:?}: {error}");
        }
    }
}

/// What [`read_bounded_line`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineRead {
    /// The end of the input.
    End,
    /// A line, in the buffer without its `\n` or `\r\n`.
    Line,
    /// More than the bound came without a line ending (`/dev/zero`, a binary file).
    TooLong,
}

/// Reads the next line of `input` into `buf` (cleared first), never holding more than
/// `max` bytes plus one: the shared door of the tick and candle files, which must not
/// grow a buffer without bound on input with no line endings.
///
/// # Errors
/// The input's read error.
pub(crate) fn read_bounded_line<R: std::io::BufRead>(
    input: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<LineRead> {
    use std::io::{BufRead as _, Read as _};
    buf.clear();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    if input.by_ref().take(limit).read_until(b'\n', buf)? == 0 {
        return Ok(LineRead::End);
    }
    if buf.len() > max {
        return Ok(LineRead::TooLong);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(LineRead::Line)
}

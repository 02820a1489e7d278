//! A CSV record splitter over decoded text, for the profile reader's hot loop.
//!
//! It reads what the `csv` crate reads with `flexible(true)` and its default terminator (the tests hold
//! it to that on random input): blank lines are skipped; `\n`, `\r` and `\r\n` end a record; a field
//! that starts with the quote character is quoted (doubled quotes are one quote, delimiters and line
//! breaks are text), and whatever follows its closing quote up to the next delimiter is appended; a
//! quote inside an unquoted field is text; an unclosed quote runs to the end of the text.
//!
//! Unlike the `csv` crate it borrows fields from the text (a field is copied only when it holds a
//! doubled quote or text after its closing quote), does not validate UTF-8 again (the text is a `&str` and every split is at an ASCII
//! byte), splits a line without quotes by SIMD scans, and counts the physical line of every record as it goes.

/// Where one field's text is: a byte range of the input text, or of the record's own buffer (a field
/// with a doubled quote, the only kind that is not a slice of the input).
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    owned: bool,
}

/// One record's fields. `Copy` spans, so clearing it for the next record costs nothing per field.
#[derive(Debug, Default)]
pub(crate) struct Record<'a> {
    text: &'a str,
    owned: String,
    spans: Vec<Span>,
}

impl<'a> Record<'a> {
    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<&str> {
        let span = self.spans.get(index)?;
        let source = if span.owned { self.owned.as_str() } else { self.text };
        source.get(span.start..span.end)
    }

    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Makes the record these cells (copied into its own buffer), for inputs that are not CSV text.
    pub(crate) fn set_owned(&mut self, cells: &[String]) {
        self.text = "";
        self.owned.clear();
        self.spans.clear();
        for cell in cells {
            let start = self.owned.len();
            self.owned.push_str(cell);
            self.spans.push(Span { start, end: self.owned.len(), owned: true });
        }
    }

    fn clear(&mut self, text: &'a str) {
        self.text = text;
        self.owned.clear();
        self.spans.clear();
    }
}

pub(crate) struct Splitter<'a> {
    text: &'a str,
    pos: usize,
    /// 1-based physical line at `pos`.
    line: u64,
    delimiter: u8,
    quote: u8,
    /// A quote was read that a count of quotes cannot account for: inside an unquoted field, before
    /// text after a closing quote, or never closed.
    irregular_quotes: bool,
}

impl<'a> Splitter<'a> {
    /// `delimiter` and `quote` must be ASCII (profiles are validated so), and different.
    pub(crate) fn new(text: &'a str, delimiter: u8, quote: u8) -> Splitter<'a> {
        Splitter::at(text, delimiter, quote, 1)
    }

    /// A splitter whose text starts on physical line `line`.
    pub(crate) fn at(text: &'a str, delimiter: u8, quote: u8, line: u64) -> Splitter<'a> {
        assert!(delimiter.is_ascii() && quote.is_ascii() && delimiter != quote, "ASCII delimiter and quote");
        assert!(!matches!(delimiter, b'\n' | b'\r') && !matches!(quote, b'\n' | b'\r'), "not a line break");
        Splitter { text, pos: 0, line, delimiter, quote, irregular_quotes: false }
    }

    /// The text not read yet, and the physical line it starts on.
    pub(crate) fn rest(&self) -> (&'a str, u64) {
        (&self.text[self.pos..], self.line)
    }

    pub(crate) fn irregular_quotes(&self) -> bool {
        self.irregular_quotes
    }

    /// The next record's fields into `fields` (cleared first), and the physical line it starts on;
    /// `None` at the end of the text.
    pub(crate) fn next_record(&mut self, fields: &mut Record<'a>) -> Option<u64> {
        fields.clear(self.text);
        let b = self.text.as_bytes();
        loop {
            match b.get(self.pos) {
                None => return None,
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                }
                Some(b'\r') => self.pos += 1,
                Some(_) => break,
            }
        }
        let line = self.line;
        // Fast path: a line without quotes or a lone `\r` is one record, split at its delimiters (SIMD
        // scans over the whole line instead of a scan per field).
        let rest = &b[self.pos..];
        let newline = memchr::memchr(b'\n', rest);
        let full = &rest[..newline.unwrap_or(rest.len())];
        let body = full.strip_suffix(b"\r").unwrap_or(full);
        if memchr::memchr2(self.quote, b'\r', body).is_none() {
            let pos = self.pos;
            let mut start = 0;
            let spans = &mut fields.spans;
            for_each_byte(body, self.delimiter, |at| {
                spans.push(Span { start: pos + start, end: pos + at, owned: false });
                start = at + 1;
            });
            spans.push(Span { start: pos + start, end: pos + body.len(), owned: false });
            match newline {
                Some(at) => {
                    self.pos += at + 1;
                    self.line += 1;
                }
                None => self.pos = b.len(),
            }
            return Some(line);
        }
        // Every field consumes at least its delimiter or the record's end, so this ends within the text.
        loop {
            let record_ended = if b.get(self.pos) == Some(&self.quote) {
                self.quoted(fields)
            } else {
                let (start, end, ended) = self.scan_plain();
                fields.spans.push(Span { start, end, owned: false });
                ended
            };
            if record_ended {
                return Some(line);
            }
        }
    }

    /// An unquoted field (or the rest of one after a closing quote), up to the delimiter or line end:
    /// its byte range and whether the record ended with it.
    fn scan_plain(&mut self) -> (usize, usize, bool) {
        let b = self.text.as_bytes();
        let start = self.pos;
        // Fields are short (a few bytes on average): a plain loop beats memchr's setup per call.
        let delimiter = self.delimiter;
        match b[start..].iter().position(|&c| c == delimiter || c == b'\n' || c == b'\r') {
            Some(offset) => {
                let at = start + offset;
                self.pos = at + 1;
                self.irregular_quotes |= memchr::memchr(self.quote, &b[start..at]).is_some();
                if b[at] == b'\n' {
                    self.line += 1;
                }
                (start, at, b[at] != self.delimiter)
            }
            None => {
                self.pos = b.len();
                self.irregular_quotes |= memchr::memchr(self.quote, &b[start..]).is_some();
                (start, b.len(), true)
            }
        }
    }

    /// A quoted field, `pos` at its opening quote, into `fields`: a span of the text when it is one
    /// piece of it, else copied into the record's buffer (doubled quotes, text after the closing quote).
    /// Whether the record ended with it.
    fn quoted(&mut self, fields: &mut Record<'a>) -> bool {
        let (text, b) = (self.text, self.text.as_bytes());
        self.pos += 1;
        // Where this field's copy starts in the record's buffer, once it needs one.
        let mut copy_start: Option<usize> = None;
        let mut segment = self.pos;
        let (segment_end, closed) = loop {
            let Some(offset) = memchr::memchr(self.quote, &b[self.pos..]) else {
                // Unclosed: the rest of the text is the field.
                self.irregular_quotes = true;
                self.line += memchr::memchr_iter(b'\n', &b[self.pos..]).count() as u64;
                self.pos = b.len();
                break (b.len(), false);
            };
            let q = self.pos + offset;
            self.line += memchr::memchr_iter(b'\n', &b[self.pos..q]).count() as u64;
            if b.get(q + 1) == Some(&self.quote) {
                // A doubled quote is one quote of text.
                copy_start.get_or_insert(fields.owned.len());
                fields.owned.push_str(&text[segment..=q]);
                self.pos = q + 2;
                segment = self.pos;
                continue;
            }
            self.pos = q + 1;
            break (q, true);
        };
        let (ended, trailing) = match b.get(self.pos) {
            _ if !closed => (true, None),
            None => (true, None),
            Some(&c) if c == self.delimiter => {
                self.pos += 1;
                (false, None)
            }
            Some(b'\n') => {
                self.pos += 1;
                self.line += 1;
                (true, None)
            }
            Some(b'\r') => {
                self.pos += 1;
                (true, None)
            }
            Some(_) => {
                self.irregular_quotes = true;
                let (start, end, ended) = self.scan_plain();
                (ended, Some((start, end)))
            }
        };
        if copy_start.is_none() && trailing.is_none() {
            fields.spans.push(Span { start: segment, end: segment_end, owned: false });
        } else {
            let start = *copy_start.get_or_insert(fields.owned.len());
            fields.owned.push_str(&text[segment..segment_end]);
            if let Some((s, e)) = trailing {
                fields.owned.push_str(&text[s..e]);
            }
            fields.spans.push(Span { start, end: fields.owned.len(), owned: true });
        }
        ended
    }
}

/// Calls `found` with every position of `needle` in `haystack`, in order. Eight bytes at a time (SWAR):
/// fields are a few bytes long, so one search per field would spend more on its setup than on bytes.
fn for_each_byte(haystack: &[u8], needle: u8, mut found: impl FnMut(usize)) {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let spread = u64::from_le_bytes([needle; 8]);
    let mut chunks = haystack.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes")) ^ spread;
        // The high bit of each byte that is zero in `x` (exact: no carries between bytes).
        let mut zero = !(((x & LOW7) + LOW7) | x | LOW7);
        while zero != 0 {
            found(base + (zero.trailing_zeros() / 8) as usize);
            zero &= zero - 1;
        }
        base += 8;
    }
    for (i, b) in chunks.remainder().iter().enumerate() {
        if *b == needle {
            found(base + i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split(text: &str) -> Vec<(u64, Vec<String>)> {
        let mut s = Splitter::new(text, b',', b'"');
        let mut fields = Record::default();
        let mut out = Vec::new();
        while let Some(line) = s.next_record(&mut fields) {
            assert_eq!(fields.iter().count(), fields.len(), "every span is a field");
            out.push((line, fields.iter().map(str::to_string).collect()));
        }
        out
    }

    /// The csv crate's records with the physical line each starts on (its position's byte offset,
    /// after the line breaks it skipped, counted in `\n`s).
    fn csv_crate_lines(text: &str) -> Vec<(u64, Vec<String>)> {
        let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
        let mut out = Vec::new();
        let mut record = csv::StringRecord::new();
        while r.read_record(&mut record).expect("valid UTF-8") {
            let mut at = usize::try_from(record.position().expect("a position").byte()).unwrap();
            while matches!(text.as_bytes().get(at), Some(b'\n' | b'\r')) {
                at += 1;
            }
            let line = 1 + text.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() as u64;
            out.push((line, record.iter().map(str::to_string).collect()));
        }
        out
    }

    fn csv_crate(text: &str) -> Vec<Vec<String>> {
        let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
        r.records().map(|rec| rec.expect("valid UTF-8").iter().map(str::to_string).collect()).collect()
    }

    #[test]
    fn fields_quotes_and_lines() {
        let text = "a,b,c\r\n\r\n\"x,1\",\"say \"\"hi\"\"\",\"multi\nline\"\nlast,\n\"q\"tail,\"open";
        assert_eq!(
            split(text),
            vec![
                (1, vec!["a".into(), "b".into(), "c".into()]),
                (3, vec!["x,1".into(), "say \"hi\"".into(), "multi\nline".into()]),
                (5, vec!["last".into(), "".into()]),
                (6, vec!["qtail".into(), "open".into()]),
            ]
        );
    }

    proptest! {
        #[test]
        fn finds_every_byte_and_only_those(bytes in proptest::collection::vec(prop::sample::select(vec![b',', b'a', 0x80, 0xAC, 0x2B, 0x2D, 0]), 0..70)) {
            let mut ours = Vec::new();
            for_each_byte(&bytes, b',', |at| ours.push(at));
            let expected: Vec<usize> = bytes.iter().enumerate().filter(|(_, b)| **b == b',').map(|(i, _)| i).collect();
            prop_assert_eq!(ours, expected);
        }

        #[test]
        fn reads_what_the_csv_crate_reads(text in "[a\",\n\r ]{0,40}") {
            let ours: Vec<Vec<String>> = split(&text).into_iter().map(|(_, f)| f).collect();
            prop_assert_eq!(ours, csv_crate(&text));
        }

        #[test]
        fn long_lines_read_as_the_csv_crate_reads_them(text in "([a-c,]{0,20}[\r\n\"]?){0,12}") {
            let ours: Vec<Vec<String>> = split(&text).into_iter().map(|(_, f)| f).collect();
            prop_assert_eq!(ours, csv_crate(&text));
        }

        #[test]
        fn lines_are_the_physical_lines_records_start_on(text in "([a,]{0,12}[\r\n\"]?){0,10}") {
            prop_assert_eq!(split(&text), csv_crate_lines(&text));
        }
    }
}

//! Safe XML input: encoding detection and transcoding, and guards that bound memory and time.
//!
//! - A UTF-8 BOM is skipped; a declared ISO-8859-1 / Latin-1 / Windows-1252 encoding is decoded to UTF-8
//!   on the fly; UTF-16 and other encodings are refused with a clear error.
//! - `RunGuard` refuses any run of more than `max_run_bytes` bytes without a `<` or `>`: no text node,
//!   attribute list or tag can make the reader buffer more than that, whatever the file size.
//! - DOCTYPE declarations are refused and entity references other than the five predefined ones and
//!   character references are errors (never expanded) — enforced by the camt reader on the events.

use std::io::{self, BufRead, Read};

/// Bounds on what one document may make the reader do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest element nesting accepted (camt nests about 12 deep).
    pub max_depth: usize,
    /// Longest run of bytes between markup (`<` … `>`): a text node or a tag.
    pub max_run_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_depth: 64, max_run_bytes: 1 << 20 }
    }
}

/// The encodings the reader decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// ISO-8859-1 (Latin-1): every byte is the code point of the same value.
    Latin1,
    /// Windows-1252: Latin-1 but for 0x80–0x9F.
    Windows1252,
}

/// Marker inside io errors raised by the guards, so the reader can report them as what they are.
#[derive(Debug)]
pub struct GuardError(pub String);

impl std::fmt::Display for GuardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GuardError {}

/// Reads the first bytes to find a BOM and the declared encoding. Returns the encoding and the bytes
/// read so far (without the BOM), which must be fed to the parser before the rest of the input.
pub fn sniff<R: Read>(input: &mut R) -> Result<(Encoding, Vec<u8>), String> {
    let mut head = Vec::with_capacity(512);
    input.by_ref().take(512).read_to_end(&mut head).map_err(|e| format!("cannot read: {e}"))?;
    if head.starts_with(&[0xFE, 0xFF]) || head.starts_with(&[0xFF, 0xFE]) {
        return Err("UTF-16 documents are not supported: expected UTF-8 or ISO-8859-1".into());
    }
    if let Some(rest) = head.strip_prefix(b"\xEF\xBB\xBF") {
        head = rest.to_vec();
    }
    let mut encoding = Encoding::Utf8;
    let trimmed_start = head.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(head.len());
    if head[trimmed_start..].starts_with(b"<?xml") {
        let end = head[trimmed_start..].windows(2).position(|w| w == b"?>").map(|p| trimmed_start + p);
        if let Some(end) = end {
            let decl = String::from_utf8_lossy(&head[trimmed_start..end]).to_ascii_lowercase();
            if let Some(pos) = decl.find("encoding") {
                let after = &decl[pos + "encoding".len()..];
                let value: String = after
                    .trim_start()
                    .trim_start_matches('=')
                    .trim_start()
                    .trim_start_matches(['"', '\''])
                    .chars()
                    .take_while(|c| *c != '"' && *c != '\'')
                    .collect();
                encoding = match value.trim() {
                    "utf-8" | "utf8" | "us-ascii" | "ascii" => Encoding::Utf8,
                    "iso-8859-1" | "iso8859-1" | "latin1" | "latin-1" | "l1" | "iso_8859-1" => Encoding::Latin1,
                    "windows-1252" | "cp1252" => Encoding::Windows1252,
                    other => return Err(format!("unsupported encoding {other:?}: expected UTF-8 or ISO-8859-1")),
                };
            }
        }
    }
    Ok((encoding, head))
}

/// Windows-1252 code points for bytes 0x80–0x9F (undefined bytes map to themselves, as C1 controls).
const CP1252_HIGH: [u16; 32] = [
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D,
    0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
    0x0153, 0x009D, 0x017E, 0x0178,
];

/// Decodes a single-byte encoding to UTF-8 as it reads.
pub struct Transcode<R> {
    inner: R,
    encoding: Encoding,
    pending: Vec<u8>,
    pending_at: usize,
    raw: Vec<u8>,
}

impl<R: Read> Transcode<R> {
    pub fn new(inner: R, encoding: Encoding) -> Transcode<R> {
        Transcode { inner, encoding, pending: Vec::new(), pending_at: 0, raw: vec![0; 16 * 1024] }
    }
}

impl<R: Read> Read for Transcode<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.encoding == Encoding::Utf8 {
            return self.inner.read(out);
        }
        if self.pending_at == self.pending.len() {
            let n = self.inner.read(&mut self.raw)?;
            if n == 0 {
                return Ok(0);
            }
            self.pending.clear();
            self.pending_at = 0;
            for &b in &self.raw[..n] {
                let code = match (self.encoding, b) {
                    (_, 0..=0x7F) => {
                        self.pending.push(b);
                        continue;
                    }
                    (Encoding::Windows1252, 0x80..=0x9F) => u32::from(CP1252_HIGH[usize::from(b - 0x80)]),
                    _ => u32::from(b),
                };
                let ch = char::from_u32(code).expect("Latin-1 and CP1252 code points are valid");
                let mut utf8 = [0u8; 4];
                self.pending.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
            }
        }
        let n = out.len().min(self.pending.len() - self.pending_at);
        out[..n].copy_from_slice(&self.pending[self.pending_at..self.pending_at + n]);
        self.pending_at += n;
        Ok(n)
    }
}

/// Refuses runs of bytes between markup longer than a limit, and counts bytes.
pub struct RunGuard<R> {
    inner: R,
    run: usize,
    max_run: usize,
    pub consumed: u64,
}

impl<R: Read> RunGuard<R> {
    pub fn new(inner: R, max_run: usize) -> RunGuard<R> {
        RunGuard { inner, run: 0, max_run, consumed: 0 }
    }
}

impl<R: Read> Read for RunGuard<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        let data = &out[..n];
        // XML 1.0 allows no NUL character, and a NUL is how truncated, padded or binary files show
        // themselves: refused with its offset rather than passed on into a field.
        if let Some(at) = memchr::memchr(0, data) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                GuardError(format!("a NUL byte at byte {} (XML allows none)", self.consumed + at as u64)),
            ));
        }
        let too_long = |max: usize| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                GuardError(format!(
                    "more than {max} bytes of text or markup in one piece (limit against hostile input)"
                )),
            )
        };
        // Runs can only exceed the limit across reads or within a read longer than the limit: a read no
        // longer than the limit needs just its first and last markup byte (two memchr calls), not every one.
        if n > self.max_run {
            let mut after_markup = 0usize;
            for pos in memchr::memchr2_iter(b'<', b'>', data) {
                if self.run + (pos - after_markup) > self.max_run {
                    return Err(too_long(self.max_run));
                }
                self.run = 0;
                after_markup = pos + 1;
            }
            self.run += n - after_markup;
        } else {
            match (memchr::memchr2(b'<', b'>', data), memchr::memrchr2(b'<', b'>', data)) {
                (Some(first), Some(last)) => {
                    if self.run + first > self.max_run {
                        return Err(too_long(self.max_run));
                    }
                    self.run = n - last - 1;
                }
                _ => self.run += n,
            }
        }
        if self.run > self.max_run {
            return Err(too_long(self.max_run));
        }
        self.consumed += n as u64;
        Ok(n)
    }
}

/// A `BufRead` over the sniffed head, then the rest of the input, transcoded and guarded.
pub fn prepare<R: Read>(mut input: R, limits: Limits) -> Result<(Encoding, impl BufRead), String> {
    let (encoding, head) = sniff(&mut input)?;
    let chained = io::Cursor::new(head).chain(input);
    let reader =
        io::BufReader::with_capacity(64 * 1024, RunGuard::new(Transcode::new(chained, encoding), limits.max_run_bytes));
    Ok((encoding, reader))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Result<(Encoding, String), String> {
        let (encoding, mut reader) = prepare(bytes, Limits::default())?;
        let mut out = String::new();
        reader.read_to_string(&mut out).map_err(|e| e.to_string())?;
        Ok((encoding, out))
    }

    #[test]
    fn encodings() {
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Gr\xfc\xdfe</a>";
        assert_eq!(
            decode(latin1).unwrap(),
            (Encoding::Latin1, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Grüße</a>".into())
        );
        let cp = b"<?xml version='1.0' encoding='windows-1252'?><a>\x80 5</a>";
        assert_eq!(decode(cp).unwrap().1, "<?xml version='1.0' encoding='windows-1252'?><a>€ 5</a>");
        assert_eq!(decode(b"\xEF\xBB\xBF<a/>").unwrap(), (Encoding::Utf8, "<a/>".into()));
        assert!(decode(b"\xFF\xFE<\x00").unwrap_err().contains("UTF-16"));
        assert!(
            decode(b"<?xml version=\"1.0\" encoding=\"EBCDIC\"?><a/>").unwrap_err().contains("unsupported encoding")
        );
    }

    #[test]
    fn nul_bytes_are_refused_with_their_offset() {
        let (_, mut reader) = prepare(&b"<a>x\0y</a>"[..], Limits::default()).unwrap();
        let mut out = String::new();
        let err = reader.read_to_string(&mut out).unwrap_err();
        assert!(err.to_string().contains("a NUL byte at byte 4 (XML allows none)"), "{err}");
    }

    #[test]
    fn long_runs_are_refused() {
        let mut text = b"<a>".to_vec();
        text.extend(std::iter::repeat_n(b'x', 100));
        let (_, mut reader) = prepare(&text[..], Limits { max_depth: 8, max_run_bytes: 50 }).unwrap();
        let mut out = Vec::new();
        let err = reader.read_to_end(&mut out).unwrap_err();
        assert!(err.to_string().contains("more than 50 bytes"), "{err}");
    }
}

/// Where a `walk` stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkError {
    /// Byte offset in the (decoded) input, when known.
    pub byte: Option<u64>,
    /// `/Document/CstmrPmtStsRpt/…` of the element being read.
    pub path: String,
    pub message: String,
}

/// What `walk` reports: an element opens (its local name), or closes with its text content (the
/// element's own character data, entities resolved, trimmed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node<'a> {
    Open(&'a str),
    Close(&'a str, &'a str),
}

/// `walk`'s callback: the open elements' local names (root first) and the node.
pub type OnNode<'f> = dyn FnMut(&[String], Node<'_>) -> Result<(), String> + 'f;

/// Reads a document with the same guards as the camt reader (encodings, bounded runs and depth, no
/// DOCTYPE, only the five predefined entities) and calls `on` with the path of open elements (local
/// names, root first) and each node. For small messages such as pain.002 status reports.
pub fn walk<R: Read>(input: R, limits: Limits, on: &mut OnNode<'_>) -> Result<Encoding, WalkError> {
    use quick_xml::events::Event;
    let (encoding, buffered) =
        prepare(input, limits).map_err(|message| WalkError { byte: None, path: "/".into(), message })?;
    let mut reader = quick_xml::Reader::from_reader(buffered);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<String> = Vec::with_capacity(16);
    let mut text = String::new();
    let mut buf = Vec::with_capacity(1024);
    let error = |stack: &[String], byte: u64, message: String| WalkError {
        byte: Some(byte),
        path: format!("/{}", stack.join("/")),
        message,
    };
    loop {
        let byte = reader.buffer_position();
        let event = match reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(err) => return Err(error(&stack, reader.error_position(), read_error_message(&err))),
        };
        let (open, close) = match &event {
            Event::Start(e) => (Some(e.local_name().as_ref().to_string()), false),
            Event::Empty(e) => (Some(e.local_name().as_ref().to_string()), true),
            Event::End(_) => (None, true),
            Event::Text(t) => {
                text.push_str(&t.xml10_content());
                (None, false)
            }
            Event::CData(t) => {
                text.push_str(&t.xml10_content());
                (None, false)
            }
            Event::GeneralRef(r) => {
                text.extend(resolve_reference(r).map_err(|message| error(&stack, byte, message))?);
                (None, false)
            }
            Event::DocType(_) => {
                let message = "DOCTYPE declarations are refused (they enable entity expansion and external entities)";
                return Err(error(&stack, byte, message.into()));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => (None, false),
            Event::Eof => break,
        };
        if let Some(name) = open {
            stack.push(name);
            if stack.len() > limits.max_depth {
                return Err(error(&stack, byte, format!("elements nested deeper than {} levels", limits.max_depth)));
            }
            text.clear();
            let last = stack.last().expect("pushed");
            on(&stack, Node::Open(last)).map_err(|message| error(&stack, byte, message))?;
        }
        if close {
            let Some(last) = stack.last() else {
                return Err(error(&stack, byte, "closing tag without an open element".into()));
            };
            on(&stack, Node::Close(last, text.trim())).map_err(|message| error(&stack, byte, message))?;
            stack.pop();
            text.clear();
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err(error(&stack, reader.buffer_position(), "the document ends inside an element".into()));
    }
    Ok(encoding)
}

/// What a quick-xml read error means to the user: a guard's refusal, an I/O failure, or malformed XML.
pub(crate) fn read_error_message(err: &quick_xml::Error) -> String {
    match err {
        quick_xml::Error::Io(io) => match io.get_ref().and_then(|inner| inner.downcast_ref::<GuardError>()) {
            Some(guard) => guard.to_string(),
            None => format!("cannot read: {io}"),
        },
        other => format!("malformed XML: {other}"),
    }
}

/// A character reference, or one of the five predefined entities; any other entity is refused, never
/// expanded.
pub(crate) fn resolve_reference(r: &quick_xml::events::BytesRef<'_>) -> Result<Option<char>, String> {
    if r.is_char_ref() {
        return r.resolve_char_ref().map_err(|e| format!("bad character reference: {e}"));
    }
    match r.xml10_content().as_ref() {
        "lt" => Ok(Some('<')),
        "gt" => Ok(Some('>')),
        "amp" => Ok(Some('&')),
        "apos" => Ok(Some('\'')),
        "quot" => Ok(Some('"')),
        other => Err(format!(
            "entity reference &{other}; is not expanded: only the five predefined XML entities are accepted"
        )),
    }
}

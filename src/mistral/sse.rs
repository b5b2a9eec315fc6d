//! An incremental Server-Sent Events parser for Mistral's streams.
//!
//! Completions send data-only events ending with `data: [DONE]`; conversations, audio and
//! workflows send named events (`event: message.output.delta`). The parser handles both,
//! any line ending, comments, and events split across network chunks. It does work linear
//! in the bytes fed (each byte is scanned for a line end once, however the stream is cut
//! into chunks) and refuses an event larger than its limit, so a hostile or broken
//! upstream cannot make it spin or grow without bound.

/// Largest event accepted when no limit is configured.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 8 * 1024 * 1024;

/// One event of a stream.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
    pub id: Option<String>,
}

impl SseEvent {
    /// True for the `[DONE]` sentinel that ends completion streams.
    pub fn is_done_sentinel(&self) -> bool {
        self.data.trim() == "[DONE]"
    }
}

/// An event (its data so far plus the line being read) grew past the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTooLarge {
    pub limit: usize,
}

/// Feed bytes in, take whole events out.
#[derive(Debug)]
pub struct SseParser {
    buffer: Vec<u8>,
    /// Bytes of `buffer` already searched for a line end: a long line arriving in many
    /// chunks is scanned once, not once per chunk.
    scanned: usize,
    current: SseEvent,
    has_fields: bool,
    max_event_bytes: usize,
    /// Bytes examined while looking for line ends, for the linearity test.
    work: u64,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SseParser {
    pub fn new() -> Self {
        Self::with_max_event_bytes(DEFAULT_MAX_EVENT_BYTES)
    }

    /// A parser that refuses any event whose size passes `max_event_bytes`.
    pub fn with_max_event_bytes(max_event_bytes: usize) -> Self {
        Self {
            buffer: Vec::new(),
            scanned: 0,
            current: SseEvent::default(),
            has_fields: false,
            max_event_bytes: max_event_bytes.max(1),
            work: 0,
        }
    }

    /// Adds bytes and returns every event they complete, or an error once the event being
    /// read passes the size limit (the stream cannot be resynchronised after that).
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, EventTooLarge> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut start = 0;
        loop {
            let from = self.scanned.max(start);
            let found = self.buffer[from..]
                .iter()
                .position(|&b| b == b'\n' || b == b'\r');
            self.work += found.map_or(self.buffer.len() - from, |p| p + 1) as u64;
            let Some(pos) = found else {
                self.scanned = self.buffer.len();
                break;
            };
            let end = from + pos;
            let mut next = end + 1;
            if self.buffer[end] == b'\r' {
                match self.buffer.get(end + 1) {
                    Some(b'\n') => next = end + 2,
                    // A lone '\r' at the end may be the first half of "\r\n": wait for more.
                    None => {
                        self.scanned = end;
                        break;
                    }
                    Some(_) => {}
                }
            }
            let line = String::from_utf8_lossy(&self.buffer[start..end]).into_owned();
            start = next;
            self.scanned = next;
            if let Some(event) = self.line(&line) {
                events.push(event);
            }
            if self.current.data.len() > self.max_event_bytes {
                return Err(self.too_large());
            }
        }
        self.buffer.drain(..start);
        self.scanned -= start;
        if self.buffer.len() + self.current.data.len() > self.max_event_bytes {
            return Err(self.too_large());
        }
        Ok(events)
    }

    fn too_large(&mut self) -> EventTooLarge {
        // Drop what was held: the caller abandons the stream.
        self.buffer = Vec::new();
        self.current = SseEvent::default();
        self.scanned = 0;
        EventTooLarge {
            limit: self.max_event_bytes,
        }
    }

    /// Bytes examined so far while looking for line ends.
    pub fn work(&self) -> u64 {
        self.work
    }

    /// Flushes an event left open when the stream closed without a final blank line.
    pub fn finish(&mut self) -> Option<SseEvent> {
        let rest = std::mem::take(&mut self.buffer);
        if !rest.is_empty() {
            let line = String::from_utf8_lossy(&rest).into_owned();
            if let Some(event) = self.line(&line) {
                return Some(event);
            }
        }
        self.dispatch()
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.current.event = Some(value.to_string()),
            "data" => {
                if self.has_data() {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_fields = true;
                return None;
            }
            "id" => self.current.id = Some(value.to_string()),
            _ => return None,
        }
        self.has_fields = true;
        None
    }

    fn has_data(&self) -> bool {
        self.has_fields && !self.current.data.is_empty()
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        if !self.has_fields {
            return None;
        }
        self.has_fields = false;
        Some(std::mem::take(&mut self.current))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl SseParser {
        fn push_ok(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
            self.push(bytes).unwrap()
        }
    }

    #[test]
    fn a_long_line_in_small_chunks_is_scanned_once() {
        let mut p = SseParser::with_max_event_bytes(1 << 24);
        let total = 4 * 1024 * 1024;
        let chunk = vec![b'x'; 1024];
        assert!(p.push_ok(b"data: ").is_empty());
        for _ in 0..total / chunk.len() {
            assert!(p.push_ok(&chunk).is_empty());
        }
        let evs = p.push_ok(b"\n\n");
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0].data.len(), total);
        // Linear: every byte looked at about once, not once per chunk.
        assert!(p.work() <= (total as u64) * 2, "scanned {} bytes", p.work());
    }

    #[test]
    fn many_small_events_are_linear_too() {
        let mut p = SseParser::new();
        let mut n = 0;
        let mut fed = 0u64;
        for _ in 0..10_000 {
            let block = b"data: {\"a\":1}\r\n\r\n";
            for piece in block.chunks(3) {
                fed += piece.len() as u64;
                n += p.push_ok(piece).len();
            }
        }
        assert_eq!(n, 10_000);
        assert!(p.work() <= fed * 2, "scanned {} of {fed} bytes", p.work());
    }

    #[test]
    fn an_event_past_the_limit_is_refused() {
        let mut p = SseParser::with_max_event_bytes(1000);
        assert!(p.push(b"data: ").is_ok());
        let err = p.push(&[b'y'; 2000]).unwrap_err();
        assert_eq!(err.limit, 1000);
        // Many short data lines add up to one event, and count too.
        let mut p = SseParser::with_max_event_bytes(1000);
        let mut refused = false;
        for _ in 0..100 {
            if p.push(b"data: 0123456789abcdef\n").is_err() {
                refused = true;
                break;
            }
        }
        assert!(refused);
        // Events under the limit pass, however many.
        let mut p = SseParser::with_max_event_bytes(1000);
        for _ in 0..1000 {
            assert_eq!(p.push_ok(b"data: 0123456789abcdef\n\n").len(), 1);
        }
    }

    #[test]
    fn data_only_events_and_done() {
        let mut p = SseParser::new();
        let evs = p.push_ok(b"data: {\"a\":1}\n\ndata: [DONE]\n\n");
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].data, "{\"a\":1}");
        assert!(evs[1].is_done_sentinel());
    }

    #[test]
    fn named_events_split_across_chunks_with_crlf() {
        let mut p = SseParser::new();
        assert!(p.push_ok(b"event: message.output.delta\r\nda").is_empty());
        assert!(p.push_ok(b"ta: {\"x\":2}\r").is_empty());
        let evs = p.push_ok(b"\n\r\n: comment\r\n\r\n");
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0].event.as_deref(), Some("message.output.delta"));
        assert_eq!(evs[0].data, "{\"x\":2}");
    }

    #[test]
    fn multi_line_data_and_unterminated_tail() {
        let mut p = SseParser::new();
        assert!(p.push_ok(b"data: a\ndata: b\n").is_empty());
        let last = p.finish().unwrap();
        assert_eq!(last.data, "a\nb");
    }
}

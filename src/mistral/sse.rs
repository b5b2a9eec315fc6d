//! An incremental Server-Sent Events parser for Mistral's streams.
//!
//! Completions send data-only events ending with `data: [DONE]`; conversations, audio and
//! workflows send named events (`event: message.output.delta`). The parser handles both,
//! any line ending, comments, and events split across network chunks.

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

/// Feed bytes in, take whole events out.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
    current: SseEvent,
    has_fields: bool,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes and returns every event they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut start = 0;
        while let Some(pos) = self.buffer[start..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
        {
            let end = start + pos;
            let mut next = end + 1;
            if self.buffer[end] == b'\r' {
                match self.buffer.get(end + 1) {
                    Some(b'\n') => next = end + 2,
                    // A lone '\r' at the end may be the first half of "\r\n": wait for more.
                    None => break,
                    Some(_) => {}
                }
            }
            let line = String::from_utf8_lossy(&self.buffer[start..end]).into_owned();
            start = next;
            if let Some(event) = self.line(&line) {
                events.push(event);
            }
        }
        self.buffer.drain(..start);
        events
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

    #[test]
    fn data_only_events_and_done() {
        let mut p = SseParser::new();
        let evs = p.push(b"data: {\"a\":1}\n\ndata: [DONE]\n\n");
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].data, "{\"a\":1}");
        assert!(evs[1].is_done_sentinel());
    }

    #[test]
    fn named_events_split_across_chunks_with_crlf() {
        let mut p = SseParser::new();
        assert!(p.push(b"event: message.output.delta\r\nda").is_empty());
        assert!(p.push(b"ta: {\"x\":2}\r").is_empty());
        let evs = p.push(b"\n\r\n: comment\r\n\r\n");
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0].event.as_deref(), Some("message.output.delta"));
        assert_eq!(evs[0].data, "{\"x\":2}");
    }

    #[test]
    fn multi_line_data_and_unterminated_tail() {
        let mut p = SseParser::new();
        assert!(p.push(b"data: a\ndata: b\n").is_empty());
        let last = p.finish().unwrap();
        assert_eq!(last.data, "a\nb");
    }
}
